//! `health`, `status`, `system-presence`: what the gateway says about itself.
//!
//! The health summary keeps upstream's shape (`ok`, `ts`, `durationMs`, `channels`, `agents`,
//! `defaultAgentId`, …) with Tether's facts, including the agent engine's summary (`engine`:
//! active runs, sessions, the model new runs use and where it comes from, pending approvals);
//! `status` adds process facts, and the sensitive ones (paths, auth mode) only for admins.
//! Read-only: nothing here changes state.

use serde_json::{json, Value};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::events::PresenceEntry;
use tether_protocol::methods::HealthParams;
use tether_protocol::ErrorShape;

use crate::call::CallContext;
use crate::clock::now_ms;
use crate::services::{Boot, Services};

/// The host name, for the gateway's own presence entry.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The gateway's own presence entry (listed first, as upstream does).
pub fn self_presence(boot: &Boot) -> PresenceEntry {
    PresenceEntry {
        host: Some(host_name()),
        version: Some(boot.version.to_owned()),
        platform: Some(std::env::consts::OS.to_owned()),
        mode: Some("gateway".to_owned()),
        reason: Some("self".to_owned()),
        ts: boot.started_at_ms,
        ..Default::default()
    }
}

/// Resident memory of this process, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    Some(pages * page)
}

/// A fresh health summary.
pub fn health_summary(services: &Services) -> Value {
    let started = std::time::Instant::now();
    let connections = services.hub.count();
    let engine = services.engine.summary();
    let model = engine.default_model.clone();
    json!({
        "ok": true,
        "ts": now_ms(),
        "durationMs": started.elapsed().as_millis() as u64,
        "channels": {},
        "channelOrder": [],
        "channelLabels": {},
        "heartbeatSeconds": 0,
        "defaultAgentId": DEFAULT_AGENT_ID,
        "agents": [{"agentId": DEFAULT_AGENT_ID, "isDefault": true, "model": model}],
        "gateway": {
            "version": services.boot.version,
            "bootId": services.boot.id,
            "uptimeMs": services.boot.started.elapsed().as_millis() as u64,
            "connections": connections,
            "draining": services.is_draining(),
        },
        "engine": engine,
    })
}

/// `health {probe?}`: a fresh summary (also stored and broadcast when `probe` is set).
pub async fn health(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: HealthParams = super::params(params)?;
    let summary = health_summary(&ctx.services);
    if p.probe == Some(true) {
        ctx.services.hub.publish_health(summary.clone());
    }
    Ok(summary)
}

/// `status`: process and gateway facts.
pub async fn status(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let s = &ctx.services;
    let settings = s.settings();
    let reload = s.reload_state();
    let mut out = json!({
        "ok": true,
        "version": s.boot.version,
        "pid": s.boot.pid,
        "bootId": s.boot.id,
        "generation": s.boot.generation,
        "startedAtMs": s.boot.process_started_at_ms,
        "bootedAtMs": s.boot.started_at_ms,
        "uptimeMs": s.boot.started.elapsed().as_millis() as u64,
        "port": s.boot.addr.port(),
        "protocol": tether_protocol::consts::PROTOCOL_VERSION,
        "connections": s.hub.count(),
        "pendingHandshakes": s.hub.pending_count(),
        "draining": s.is_draining(),
        "activeWork": s.drain.active(),
        "engine": s.engine.summary(),
        "processMemory": {"rssBytes": rss_bytes()},
        "policy": {
            "maxPayload": settings.limits.max_payload,
            "maxBufferedBytes": settings.limits.max_buffered,
            "tickIntervalMs": settings.limits.tick_interval.as_millis() as u64,
        },
        "reload": {
            "mode": format!("{:?}", settings.reload_mode).to_lowercase(),
            "appliedHash": reload.applied.hash,
            "lastError": reload.last_error.as_ref().map(|e| e.to_json()),
        },
    });
    drop(reload);
    if ctx.caller.is_admin() {
        out["configPath"] = json!(settings.loaded.path.display().to_string());
        out["stateDir"] = json!(s.resolver.paths.state_dir.display().to_string());
        out["authMode"] = json!(settings.auth.mode_str());
        out["bind"] = json!(s.boot.addr.ip().to_string());
    }
    Ok(out)
}

/// `system-presence`: the presence table.
pub async fn presence(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    serde_json::to_value(ctx.services.hub.presence_snapshot())
        .map_err(|e| ErrorShape::unavailable(e.to_string(), 500))
}
