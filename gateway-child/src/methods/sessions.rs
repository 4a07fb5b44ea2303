//! `sessions.subscribe` / `sessions.unsubscribe` (the per-connection flag the hub uses for
//! [`crate::methods::bus::Audience::SessionSubscribers`]: `sessions.changed`, `session.tool`), and
//! `sessions.list` / `sessions.reset` / `sessions.delete`, served by the agent engine (which
//! also emits `sessions.changed`). Nothing here touches a transcript itself.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use tether_protocol::methods::{names, SessionKeyParams, SessionsListParams};
use tether_protocol::ErrorShape;

use super::{encode, params_for};
use crate::agent::{Engine, EngineCaller};
use crate::methods::call::CallContext;

/// Turns the subscription on or off for the calling connection.
pub async fn subscribe(ctx: &CallContext, _params: Value, on: bool) -> Result<Value, ErrorShape> {
    let conn = ctx
        .services
        .hub()
        .get(ctx.caller.conn)
        .ok_or_else(|| ErrorShape::unavailable("connection is closing", 0))?;
    conn.subscribed.store(on, Ordering::Relaxed);
    Ok(json!({ "subscribed": on }))
}

/// `sessions.list {limit?, search?, agentId?, activeMinutes?, includeLastMessage?}`.
pub async fn list(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: SessionsListParams = params_for(names::SESSIONS_LIST, params)?;
    encode(&engine.sessions_list(caller, p).await?)
}

/// `sessions.reset {key, reason?}`: aborts its runs, archives the transcript, new session id.
pub async fn reset(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: SessionKeyParams = params_for(names::SESSIONS_RESET, params)?;
    encode(&engine.sessions_reset(caller, p).await?)
}

/// `sessions.delete {key, deleteTranscript?}`: aborts its runs and forgets the session.
pub async fn delete(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: SessionKeyParams = params_for(names::SESSIONS_DELETE, params)?;
    encode(&engine.sessions_delete(caller, p).await?)
}

/// `sessions.describe {key}`: the session's row, or `null` when it has no transcript.
pub async fn describe(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: SessionKeyParams = params_for(names::SESSIONS_DESCRIBE, params)?;
    let row = engine.session_row(caller, &p.key).await?;
    Ok(json!({ "session": row }))
}

/// `sessions.messages.subscribe {key}` / `unsubscribe`: the connection hears the session's
/// changes. The answer carries the canonical key, which upstream's Control UI adopts.
pub async fn messages_subscribe(
    ctx: &CallContext,
    params: Value,
    on: bool,
) -> Result<Value, ErrorShape> {
    let name = if on {
        names::SESSIONS_MESSAGES_SUBSCRIBE
    } else {
        names::SESSIONS_MESSAGES_UNSUBSCRIBE
    };
    let p: SessionKeyParams = params_for(name, params)?;
    let key = tether_protocol::session_key::SessionKey::parse(&p.key)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid session key: {e}")))?
        .to_string();
    let conn = ctx
        .services
        .hub()
        .get(ctx.caller.conn)
        .ok_or_else(|| ErrorShape::unavailable("connection is closing", 0))?;
    conn.watch(&key, on);
    Ok(json!({ "subscribed": on, "key": key }))
}

/// `sessions.observer.visibility {visible}`: upstream tells its observer whether a UI is
/// looking; Tether has no observer, and nothing changes either way.
pub fn observer_visibility(params: Value) -> Result<Value, ErrorShape> {
    match params.get("visible") {
        Some(Value::Bool(_)) => Ok(json!({"ok": true})),
        _ => Err(ErrorShape::invalid_request(
            "invalid sessions.observer.visibility params: visible must be a boolean",
        )),
    }
}
