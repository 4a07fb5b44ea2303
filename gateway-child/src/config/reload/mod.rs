//! Applying config changes to a running gateway: the same path for the file watcher, for
//! `config.patch`/`config.apply` and for a restart signal.
//!
//! A candidate config is resolved and validated first; an invalid one is refused with its file,
//! line and reason — in the log and in a `config.changed {valid:false, error}` event — and the last
//! good config keeps running. A valid one is compared with the applied one ([`plan`]) and, per
//! `gateway.reload.mode`, applied live (the agent engine gets the new `models`/`agents`/`tools`
//! through `Engine::apply_settings` before the change is announced; running turns keep the
//! settings they started with) or by an in-process restart. When the shared secret changes, connections
//! that authenticated with the old one are closed with 4001 "gateway auth changed" first.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use tether_protocol::close;
use tether_protocol::events::names;
use tracing::{debug, info, warn};

pub mod state;

use crate::config::load::{self, ConfigError, Loaded};
use crate::config::plan::{plan, Action, Plan};
use crate::config::settings::Settings;
use crate::config::watch::{watch, Debounce};
use crate::methods::bus::Audience;
use crate::server::services::Services;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The config file changed on disk.
    File,
    /// `config.patch` / `config.apply`.
    Rpc,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Rpc => "rpc",
        }
    }
}

/// The outcome of applying a change.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// The action taken (RPC writes always apply: `off`/`hot` become a restart when needed).
    pub action: Action,
}

fn unsupported_union(a: &Loaded, b: &Loaded) -> Vec<String> {
    let mut all: Vec<String> = a
        .unsupported
        .iter()
        .chain(&b.unsupported)
        .cloned()
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Plans the move to validated settings without applying anything.
pub fn prepare(services: &Services, next: &Settings, source: Source) -> Outcome {
    let current = services.settings();
    let applied = Arc::clone(&services.reload_state().applied);
    let unsupported = unsupported_union(&applied, &next.loaded);
    let plan = plan(
        &applied.doc,
        &next.loaded.doc,
        &unsupported,
        current.reload_mode,
    );
    let needs_anything = !plan.hot.is_empty() || !plan.restart.is_empty();
    let action = match (source, plan.action) {
        (Source::Rpc, Action::Off | Action::RestartSkipped) if needs_anything => Action::Restart,
        (_, a) => a,
    };
    Outcome { plan, action }
}

/// Applies validated settings as planned by [`prepare`]. A restart is requested from the run,
/// not performed here.
pub fn commit(services: &Arc<Services>, next: Settings, outcome: &Outcome, source: Source) {
    let current = services.settings();
    let plan = &outcome.plan;
    {
        let mut st = services.reload_state();
        st.applied = Arc::clone(&next.loaded);
        st.last_error = None;
        st.refused_hash = None;
    }
    let hash = next.loaded.hash.clone();
    let event = |action: Action| {
        json!({
            "valid": true,
            "source": source.as_str(),
            "hash": hash,
            "action": action.as_str(),
            "changedPaths": plan.changed,
        })
    };
    match outcome.action {
        Action::Nothing => {
            debug!(changed = ?plan.changed, "config changed; nothing to apply");
        }
        Action::Off => {
            info!(changed = ?plan.changed, "config changed; reload mode is off, not applied");
        }
        action @ (Action::Hot | Action::RestartSkipped) => {
            if action == Action::RestartSkipped {
                warn!(
                    needs_restart = ?plan.restart,
                    "config change needs a restart; reload mode is hot, so only live keys were applied"
                );
            }
            info!(hot = ?plan.hot, "config applied live");
            let merged = Settings {
                loaded: Arc::clone(&next.loaded),
                reload_mode: next.reload_mode,
                reload_debounce: next.reload_debounce,
                allowed_origins: next.allowed_origins.clone(),
                notes: Vec::new(),
                ..(*current).clone()
            };
            // The engine takes the new models/agents/tools before anyone hears of the change,
            // so the next run after `config.changed` already uses them.
            services.engine().apply_settings(merged.config());
            services.set_settings(Arc::new(merged));
            broadcast(services, event(action));
        }
        Action::Restart => {
            info!(restart = ?plan.restart, hot = ?plan.hot, "config change needs a restart");
            broadcast(services, event(Action::Restart));
            let fingerprint = next.auth.fingerprint();
            if fingerprint != current.auth.fingerprint() {
                services.hub().close_stale_auth(
                    &fingerprint,
                    close::AUTH_CHANGED,
                    close::REASON_AUTH_CHANGED,
                );
            }
            services.request_restart(
                format!("config change ({})", source.as_str()),
                Box::new(next),
            );
        }
    }
}

/// Plans and applies validated settings.
pub fn apply(services: &Arc<Services>, next: Settings, source: Source) -> Outcome {
    let outcome = prepare(services, &next, source);
    commit(services, next, &outcome, source);
    outcome
}

fn broadcast(services: &Services, payload: Value) {
    services
        .hub()
        .broadcast(names::CONFIG_CHANGED, &payload, None, &Audience::All, false);
}

/// Refuses an invalid config: logs why and tells clients; the last good config keeps running.
pub fn refuse(services: &Services, error: &ConfigError, hash: Option<String>, source: Source) {
    warn!(
        error = %error,
        "config change refused; keeping the last good config"
    );
    {
        let mut st = services.reload_state();
        st.last_error = Some(error.clone());
        st.refused_hash = hash.clone();
    }
    broadcast(
        services,
        json!({
            "valid": false,
            "source": source.as_str(),
            "hash": hash,
            "error": error.to_json(),
        }),
    );
}

/// A restart signal arrived but the config on disk is invalid: keep running.
pub fn refuse_restart(services: &Services, error: &ConfigError, reason: &str) {
    warn!(
        reason = %crate::process::logging::Clean(reason),
        "restart refused: the config on disk is invalid"
    );
    refuse(
        services,
        error,
        load::hash_on_disk(&services.paths().config),
        Source::File,
    );
}

/// Re-reads the config file after the watcher fired (the file IO on the blocking pool).
async fn reload_from_disk(services: &Arc<Services>) {
    let path = services.paths().config.clone();
    let hash = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || load::hash_on_disk(&path))
            .await
            .unwrap_or(None)
    };
    {
        let st = services.reload_state();
        if hash == st.applied.hash {
            return;
        }
        if hash.is_some() && hash == st.refused_hash {
            return;
        }
        if hash.is_none() && st.applied.exists {
            warn!(path = %path.display(), "config file removed; keeping the running config");
            return;
        }
    }
    match services.resolver().load_async().await {
        Ok(next) => {
            apply(services, next, Source::File);
        }
        Err(e) => refuse(services, &e, hash, Source::File),
    }
}

/// Watches the config file and applies changes, debounced, until the run closes.
pub async fn watch_loop(services: Arc<Services>) {
    let path = services.paths().config.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let _watcher = match watch(&path, tx) {
        Ok(w) => {
            services.reload_state().watcher = state::Watcher::Watching;
            w
        }
        Err(e) => {
            services.reload_state().watcher = state::Watcher::Unavailable;
            warn!(error = %e, "config watcher unavailable; file changes will not be applied");
            return;
        }
    };
    let mut debounce = Debounce::new(services.settings().reload_debounce);
    loop {
        let due = debounce.due();
        let sleep = async {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = services.closing().cancelled() => return,
            Some(()) = rx.recv() => {
                debounce.set_delay(services.settings().reload_debounce);
                debounce.poke(Instant::now());
            }
            () = sleep => {
                if debounce.fire(Instant::now()) {
                    reload_from_disk(&services).await;
                }
            }
        }
    }
}
