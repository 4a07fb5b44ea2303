//! `config.get`, `config.patch`, `config.apply`: reading and writing the config file over RPC.
//!
//! Reads are redacted (every secret → the sentinel) and carry the hash of the file on disk.
//! Writes require that hash as `baseHash` whenever the file exists (no lost updates), restore
//! sentinels from the current file, serialize the result and validate **that text** exactly as
//! the next start would read it (size cap, nesting depth, types, policy), write it atomically
//! (0600), answer the caller, and only then apply through the same reload path as the watcher. A
//! write that could not be loaded again is never made. The file IO (reads, the synced write) runs
//! on the blocking pool, never on an async worker. Writes
//! are budgeted like upstream's control plane (30 per 60 s per method and `deviceId|clientIp`,
//! counted before anything else, refused with retryable `UNAVAILABLE`). Error texts never
//! contain secret values.

use std::sync::Arc;

use serde_json::{json, Value};
use tether_protocol::methods::ConfigWriteParams;
use tether_protocol::ErrorShape;
use tracing::{info, warn};

use crate::config::depth;
use crate::config::load::{self, ConfigError, Loaded};
use crate::config::plan::Action;
use crate::config::redact::{merge_patch, redact, restore};
use crate::config::reload::{self, Source};
use crate::config::settings::{Resolver, Settings};
use crate::config::store::write_atomic;
use crate::methods::call::CallContext;
use crate::process::logging::Clean;
use crate::socket::rate_limit::{WriteLimiter, WRITE_LIMIT_LABEL};

fn warnings(unsupported: &[String]) -> Vec<Value> {
    unsupported
        .iter()
        .map(|k| json!({"path": k, "message": "not supported by Tether; ignored"}))
        .collect()
}

/// `config.get`: the redacted file, its hash, validity and warnings.
pub async fn get(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let s = &ctx.services;
    let resolver = Arc::clone(s.resolver());
    let applied = Arc::clone(&s.reload_state().applied);
    tokio::task::spawn_blocking(move || read_for_get(&resolver, &applied))
        .await
        .map_err(|e| ErrorShape::unavailable(format!("config.get failed: {e}"), 1000))
}

fn read_for_get(resolver: &Resolver, applied: &Loaded) -> Value {
    let path = resolver.paths.config.clone();
    let disk_hash = load::hash_on_disk(&path);
    let (exists, valid, doc, issues, unsupported) = match load::read(&path) {
        Ok(l) => match resolver.resolve(l.clone()) {
            Ok(_) => (l.exists, true, l.doc, vec![], l.unsupported),
            Err(e) => (l.exists, false, l.doc, vec![e.to_json()], l.unsupported),
        },
        Err(e) => (
            disk_hash.is_some(),
            false,
            applied.doc.clone(),
            vec![e.to_json()],
            applied.unsupported.clone(),
        ),
    };
    json!({
        "path": path.display().to_string(),
        "exists": exists,
        "valid": valid,
        "config": redact(&doc),
        "hash": disk_hash,
        "appliedHash": applied.hash,
        "issues": issues,
        "warnings": warnings(&unsupported),
    })
}

/// `config.patch {raw, baseHash}`: merge-patch the file.
pub async fn patch(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    write(ctx, params, true).await
}

/// `config.apply {raw, baseHash}`: replace the file.
pub async fn apply(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    write(ctx, params, false).await
}

fn invalid_config(e: &ConfigError) -> ErrorShape {
    ErrorShape::invalid_request(format!("invalid config: {e}"))
        .with_details(json!({"issues": [e.to_json()]}))
}

fn parse_raw(raw: &str) -> Result<Value, ErrorShape> {
    if raw.len() as u64 > load::MAX_FILE_BYTES {
        return Err(ErrorShape::invalid_request(format!(
            "invalid raw: larger than the {} bytes a config file may have",
            load::MAX_FILE_BYTES
        )));
    }
    // Before the recursive parser: a value nested thousands deep would overflow its stack.
    depth::check_text(raw).map_err(|e| {
        let at =
            e.at.map(|p| format!(" at line {} column {}", p.line, p.column))
                .unwrap_or_default();
        ErrorShape::invalid_request(format!("invalid raw: JSON5{at}: {e}"))
    })?;
    json5::from_str::<Value>(raw).map_err(|e| {
        let json5::Error::Message { msg, location } = &e;
        let summary = msg
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("= "))
            .unwrap_or("syntax error");
        let at = location
            .as_ref()
            .map(|l| format!(" at line {} column {}", l.line, l.column))
            .unwrap_or_default();
        ErrorShape::invalid_request(format!("invalid raw: JSON5{at}: {summary}"))
    })
}

/// Spends one unit of the caller's control-plane write budget for `method`.
fn spend_write_budget(ctx: &CallContext, method: &str) -> Result<(), ErrorShape> {
    let key = WriteLimiter::key(ctx.caller.client.device_id.as_deref(), ctx.caller.ip);
    let spent = ctx
        .services
        .write_limiter()
        .consume(method, &key, std::time::Instant::now());
    spent.map_err(|retry| {
        let retry_ms = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
        warn!(
            method,
            client = %ctx.caller.label(),
            retry_after_ms = retry_ms,
            "control-plane write rate-limited"
        );
        ErrorShape::unavailable(
            format!(
                "rate limit exceeded for {method}; retry after {}s",
                retry_ms.div_ceil(1000)
            ),
            retry_ms,
        )
        .with_details(json!({"method": method, "limit": WRITE_LIMIT_LABEL}))
    })
}

/// A write validated and on disk, or a no-op.
enum Prepared {
    /// The document equals the file: nothing written.
    Noop { hash: Option<String>, config: Value },
    /// Written; apply these settings.
    Written {
        settings: Box<Settings>,
        next: Value,
    },
}

async fn write(ctx: &CallContext, params: Value, merge: bool) -> Result<Value, ErrorShape> {
    spend_write_budget(
        ctx,
        if merge {
            "config.patch"
        } else {
            "config.apply"
        },
    )?;
    let p: ConfigWriteParams = super::params(params)?;
    let s = Arc::clone(&ctx.services);
    let path = s.resolver().paths.config.clone();
    let resolver = Arc::clone(s.resolver());
    let applied = Arc::clone(&s.reload_state().applied);
    let note = p.note.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&resolver, &applied, &p, merge))
        .await
        .map_err(|e| ErrorShape::unavailable(format!("config write failed: {e}"), 1000))??;
    let (settings, next) = match prepared {
        Prepared::Noop { hash, config } => {
            return Ok(json!({
                "ok": true,
                "noop": true,
                "path": path.display().to_string(),
                "hash": hash,
                "config": config,
                "restart": false,
            }))
        }
        Prepared::Written { settings, next } => (*settings, next),
    };
    let outcome = reload::prepare(&s, &settings, Source::Rpc);
    let restart = outcome.action == Action::Restart;
    info!(
        client = %ctx.caller.label(),
        method = if merge { "config.patch" } else { "config.apply" },
        note = %Clean(note.as_deref().unwrap_or("")),
        action = outcome.action.as_str(),
        changed = ?outcome.plan.changed,
        "config written"
    );
    ctx.responder().respond(Ok(json!({
        "ok": true,
        "path": path.display().to_string(),
        "hash": settings.loaded.hash,
        "config": redact(&next),
        "restart": restart,
        "action": outcome.action.as_str(),
        "changedPaths": outcome.plan.changed,
    })));
    reload::commit(&s, settings, &outcome, Source::Rpc);
    Ok(Value::Null)
}

/// The blocking part of a write: read, merge, restore, serialize, validate the text exactly as
/// it will be read back, write.
fn prepare(
    resolver: &Resolver,
    applied: &Loaded,
    p: &ConfigWriteParams,
    merge: bool,
) -> Result<Prepared, ErrorShape> {
    let path = &resolver.paths.config;
    let disk_hash = load::hash_on_disk(path);
    if let Some(current) = &disk_hash {
        match &p.base_hash {
            None => {
                return Err(ErrorShape::invalid_request(
                    "config base hash required; re-run config.get and retry",
                ))
            }
            Some(h) if h != current => {
                return Err(ErrorShape::invalid_request(
                    "config changed since last load; re-run config.get and retry",
                ))
            }
            Some(_) => {}
        }
    }
    // The document the write starts from, and where redacted values are restored from.
    let (base, restore_from) = match load::read(path) {
        Ok(l) => (l.doc.clone(), l.doc),
        Err(e) if merge => {
            return Err(ErrorShape::invalid_request(format!(
                "the config file is invalid ({e}); fix it or replace it with config.apply"
            )))
        }
        Err(_) => (json!({}), applied.doc.clone()),
    };
    let raw = parse_raw(&p.raw)?;
    if !raw.is_object() {
        return Err(ErrorShape::invalid_request(
            "invalid raw: the config must be a JSON5 object",
        ));
    }
    let mut next = if merge {
        let mut doc = base.clone();
        merge_patch(&mut doc, &raw);
        doc
    } else {
        raw
    };
    restore(&mut next, &restore_from).map_err(|at| {
        ErrorShape::invalid_request(format!(
            "redacted value at {at} has nothing to restore from; send the real value"
        ))
    })?;
    if disk_hash.is_some() && next == base {
        return Ok(Prepared::Noop {
            hash: disk_hash,
            config: redact(&next),
        });
    }
    let mut text = serde_json::to_string_pretty(&next)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid config: {e}")))?;
    text.push('\n');
    if text.len() as u64 > load::MAX_FILE_BYTES {
        return Err(ErrorShape::invalid_request(format!(
            "invalid config: written out it would be {} bytes, more than the {} a config file may have",
            text.len(),
            load::MAX_FILE_BYTES
        )));
    }
    // The text as written, through the same checks a start applies to the file (size after
    // pretty-printing, depth, types, policy): what is written can always be loaded again.
    let loaded = load::parse(path, text.clone()).map_err(|e| invalid_config(&e))?;
    let settings = resolver.resolve(loaded).map_err(|e| invalid_config(&e))?;
    write_atomic(path, text.as_bytes()).map_err(|e| {
        ErrorShape::unavailable(format!("cannot write {}: {e}", path.display()), 1000)
    })?;
    Ok(Prepared::Written {
        settings: Box::new(settings),
        next,
    })
}
