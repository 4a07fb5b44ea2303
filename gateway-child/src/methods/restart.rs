//! `gateway.restart.request {reason?, delayMs?}`: an in-process restart on request.
//!
//! The config on disk is validated first (an invalid file refuses the restart, with the reason);
//! the reply goes out **before** the restart begins, and the restart itself goes through the run's
//! normal sequence (shutdown event, drain, 1012). The delay is clamped to 0–60 000 ms and the
//! config is read again when it fires.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tether_protocol::methods::RestartRequestParams;
use tether_protocol::ErrorShape;
use tracing::info;

use crate::config::reload;
use crate::methods::call::CallContext;
use crate::process::logging::Clean;
use crate::server::services::{Services, RESTART_EXPECTED};

/// Longest delay accepted.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// Schedules a restart.
pub async fn request(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: RestartRequestParams = super::params(params)?;
    let delay = Duration::from_millis(p.delay_ms.unwrap_or(0)).min(MAX_DELAY);
    let reason = p
        .reason
        .unwrap_or_else(|| "gateway.restart.request".to_owned());
    let services = Arc::clone(&ctx.services);
    let settings = services.resolver().load_async().await.map_err(|e| {
        ErrorShape::invalid_request(format!("restart refused: invalid config: {e}"))
            .with_details(json!({"issues": [e.to_json()]}))
    })?;
    let drain = services.settings().limits.drain_timeout;
    let expected = RESTART_EXPECTED
        + if services.drain().active() > 1 {
            drain
        } else {
            Duration::ZERO
        };
    ctx.responder().respond(Ok(json!({
        "ok": true,
        "scheduled": true,
        "delayMs": delay.as_millis() as u64,
        "restartExpectedMs": expected.as_millis() as u64,
    })));
    info!(
        client = %ctx.caller.label(),
        reason = %Clean(&reason),
        delay_ms = delay.as_millis() as u64,
        "restart requested"
    );
    if delay.is_zero() {
        services.request_restart(reason, Box::new(settings));
    } else {
        let s = Arc::clone(&services);
        services
            .tasks()
            .spawn(async move { fire_later(s, delay, reason).await });
    }
    Ok(Value::Null)
}

async fn fire_later(services: Arc<Services>, delay: Duration, reason: String) {
    tokio::select! {
        () = services.closing().cancelled() => {}
        () = tokio::time::sleep(delay) => match services.resolver().load_async().await {
            Ok(settings) => services.request_restart(reason, Box::new(settings)),
            Err(e) => reload::refuse_restart(&services, &e, &reason),
        },
    }
}
