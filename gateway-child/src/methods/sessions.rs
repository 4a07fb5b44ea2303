//! `sessions.subscribe` / `sessions.unsubscribe` (the per-connection flag the hub uses for
//! [`crate::methods::bus::Audience::SessionSubscribers`]: `sessions.changed`, `session.tool`), and
//! `sessions.list` / `sessions.create` / `sessions.reset` / `sessions.delete`, served by the
//! agent engine (which also emits `sessions.changed`). Nothing here touches a transcript
//! itself.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::methods::{
    names, ChatSendParams, SessionKeyParams, SessionsCreateParams, SessionsCreateResult,
    SessionsListParams,
};
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

/// `sessions.create {key?, agentId?, message?|task?, idempotencyKey?, attachments?, …}`: a new
/// session (`agent:<agentId>:dashboard:<uuid>`, or the given key, adopted if it exists) and,
/// with a message, its first turn, started exactly as `chat.send` starts one (the answer is
/// queued before the run may emit). Options that would make the session something Tether's
/// sessions cannot be (a fork, a worktree, a per-session model, …) are refused up front with
/// what they ask for; presentation and lineage hints are accepted and not kept (Tether titles a
/// session by its first message and keeps no session tree). A first turn that cannot start
/// leaves the session created and says why in `runError`.
pub async fn create(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: SessionsCreateParams = params_for(names::SESSIONS_CREATE, params)?;
    let unsupported = p.unsupported();
    if !unsupported.is_empty() {
        return Err(ErrorShape::unsupported(
            names::SESSIONS_CREATE,
            &unsupported.join(", "),
        ));
    }
    let agent = p.agent_id.as_deref().unwrap_or(DEFAULT_AGENT_ID);
    if !agent.eq_ignore_ascii_case(DEFAULT_AGENT_ID) {
        return Err(
            ErrorShape::invalid_request(format!("unknown agent id: {agent}"))
                .with_details(json!({"code": "UNKNOWN_AGENT_ID", "agentId": agent})),
        );
    }
    let key = match &p.key {
        Some(k) => k.clone(),
        None => format!(
            "agent:{}:dashboard:{}",
            DEFAULT_AGENT_ID,
            uuid::Uuid::new_v4()
        ),
    };
    let engine = ctx.services.engine();
    let caller = ctx.caller.for_engine();
    let (session_id, _created) = engine.session_create(&caller, &key).await?;
    let row = engine.session_row(&caller, &key).await?;
    let key = row.as_ref().map_or(key, |r| r.key.clone());
    let message = p.message.or(p.task).unwrap_or_default();
    let has_turn =
        !message.trim().is_empty() || p.attachments.as_ref().is_some_and(|a| !a.is_empty());
    let mut ack = None;
    let mut run_error = None;
    if has_turn {
        let send = ChatSendParams {
            session_key: key.clone(),
            message,
            idempotency_key: p
                .idempotency_key
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            thinking: None,
            timeout_ms: p.timeout_ms,
            attachments: p.attachments,
            extra: tether_protocol::Map::new(),
        };
        match engine.chat_send(&caller, send).await {
            Ok(a) => ack = Some(a),
            Err(e) => run_error = Some(e),
        }
    }
    let entry = match row {
        Some(row) => row,
        None => engine
            .session_row(&caller, &key)
            .await?
            .ok_or_else(|| ErrorShape::unavailable("the new session could not be read back", 0))?,
    };
    let run = ack.as_ref().map(|a| &a.value);
    let result = SessionsCreateResult {
        ok: true,
        key,
        session_id,
        entry,
        run_started: run.is_some_and(|r| r.status == tether_protocol::methods::RunStatus::Started),
        run_id: run.map(|r| r.run_id.clone()),
        status: run.map(|r| r.status.clone()),
        run_error,
    };
    ctx.responder().respond(encode(&result));
    // The answer is queued: the first turn may start emitting now.
    drop(ack);
    Ok(Value::Null)
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
