//! `health`, `status`, `system-presence`: what the gateway says about itself.
//!
//! `health` answers with the summary of [`crate::methods::health`] (upstream's shape with Tether's facts,
//! the agent engine's summary included); `status` adds process facts, and the sensitive ones
//! (paths, auth mode) only for admins.
//! Read-only: nothing here changes state.

use serde_json::{json, Value};
use tether_protocol::methods::HealthParams;
use tether_protocol::ErrorShape;

use crate::methods::call::CallContext;
use crate::methods::health::{health_summary, rss_bytes};

/// `health {probe?}`: a fresh summary (also stored and broadcast when `probe` is set).
pub async fn health(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: HealthParams = super::params(params)?;
    let summary = health_summary(&ctx.services);
    if p.probe == Some(true) {
        ctx.services.hub().publish_health(summary.clone());
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
        "version": s.boot().version,
        "pid": s.boot().pid,
        "bootId": s.boot().id,
        "generation": s.boot().generation,
        "startedAtMs": s.boot().process_started_at_ms,
        "bootedAtMs": s.boot().started_at_ms,
        "uptimeMs": s.boot().started.elapsed().as_millis() as u64,
        "port": s.boot().addr.port(),
        "protocol": tether_protocol::consts::PROTOCOL_VERSION,
        "connections": s.hub().count(),
        "pendingHandshakes": s.hub().pending_count(),
        "draining": s.is_draining(),
        "activeWork": s.drain().active(),
        "engine": s.engine().summary(),
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
        out["stateDir"] = json!(s.resolver().paths.state_dir.display().to_string());
        out["authMode"] = json!(settings.auth.mode_str());
        out["bind"] = json!(s.boot().addr.ip().to_string());
    }
    Ok(out)
}

/// `system-presence`: the presence table.
pub async fn presence(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    serde_json::to_value(ctx.services.hub().presence_snapshot())
        .map_err(|e| ErrorShape::unavailable(e.to_string(), 500))
}
