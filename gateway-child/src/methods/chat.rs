//! `chat.send`, `chat.abort`, `chat.history`: the chat face of the agent engine.
//!
//! `chat.send` keeps the protocol's one ordering rule: the ack `{runId, status}` is queued on
//! the connection **before** the run may emit anything (the engine holds the run until its
//! `Ack` is dropped, which happens here right after the response was queued). Nothing here
//! judges scopes (dispatch did) or runs anything itself.

use serde_json::{json, Value};
use tether_protocol::methods::{names, ChatAbortParams, ChatHistoryParams, ChatSendParams};
use tether_protocol::ErrorShape;

use super::{encode, params_for};
use crate::agent::{Engine, EngineCaller};
use crate::methods::call::CallContext;

/// `chat.send {sessionKey, message, idempotencyKey, …}` → `{runId, status}`; events follow.
pub async fn send(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: ChatSendParams = params_for(names::CHAT_SEND, params)?;
    let caller = ctx.caller.for_engine();
    let ack = ctx.services.engine().chat_send(&caller, p).await?;
    ctx.responder().respond(encode(&ack.value));
    // The ack is queued: the run may start emitting now.
    drop(ack);
    Ok(Value::Null)
}

/// `chat.abort {sessionKey, runId?}` → `{ok, aborted, runIds}` after the terminal events.
pub async fn abort(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: ChatAbortParams = params_for(names::CHAT_ABORT, params)?;
    let r = ctx
        .services
        .engine()
        .chat_abort(&ctx.caller.for_engine(), p)
        .await?;
    encode(&r)
}

/// `chat.history {sessionKey, limit?, maxChars?, inputRunIds?}`: the session's messages (each
/// with its `__openclaw` id and seq, as in `session.message`) and the session around them
/// (see [`session_view`]).
pub async fn history(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: ChatHistoryParams = params_for(names::CHAT_HISTORY, params)?;
    session_view(ctx.services.engine(), &ctx.caller.for_engine(), p).await
}

/// `chat.startup {sessionKey, limit?, …}`: what upstream's Control UI loads before it lets a
/// user type: the history with the session around it (as `chat.history`) and the chat
/// metadata. Its `{shortId}` form resolves upstream's short session links, which Tether does
/// not issue: `resolution.ok` is false.
pub async fn startup(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    if params.get("sessionKey").is_none() && params.get("shortId").is_some() {
        return Ok(json!({"resolution": {"ok": false}}));
    }
    let p: ChatHistoryParams = params_for(names::CHAT_STARTUP, params)?;
    let engine = ctx.services.engine();
    let caller = ctx.caller.for_engine();
    let mut out = session_view(engine, &caller, p).await?;
    out["metadata"] = metadata(engine, &caller, json!({})).await?;
    Ok(out)
}

/// The history and the session around it, in upstream's shape: `sessionInfo` (the session's
/// row, or what a first message would create: its key and the default model), whether a run is
/// live (`hasActiveRun`, `activeRunIds`), the model `defaults`, thinking and verbose levels
/// (Tether has neither: `off`), no pending inputs (Tether queues none: a busy session refuses),
/// and, when the client asked about `inputRunIds`, no input receipts for the same reason.
async fn session_view(
    engine: &Engine,
    caller: &EngineCaller,
    p: ChatHistoryParams,
) -> Result<Value, ErrorShape> {
    let wants_receipts = p.input_run_ids.is_some();
    let history = engine.chat_history(caller, p).await?;
    let row = engine.session_row(caller, &history.session_key).await?;
    let defaults = engine.model_defaults();
    let mut info = match row {
        Some(row) => encode(&row)?,
        None => json!({
            "key": history.session_key,
            "kind": "direct",
            "model": defaults.get("model"),
            "modelProvider": defaults.get("modelProvider"),
            "hasActiveRun": false,
            "activeRunIds": [],
        }),
    };
    info["verboseLevel"] = json!("off");
    if info.get("contextTokens").is_none() {
        info["contextTokens"] = defaults
            .get("contextTokens")
            .cloned()
            .unwrap_or(Value::Null);
    }
    let mut out = encode(&history)?;
    out["sessionInfo"] = info;
    out["defaults"] = defaults;
    out["pendingInputs"] = json!({"items": [], "total": 0});
    out["thinkingLevel"] = json!("off");
    out["verboseLevel"] = json!("off");
    if wants_receipts {
        out["inputReceipts"] = json!([]);
        out["inputConsumptions"] = json!([]);
    }
    Ok(out)
}

/// `chat.metadata {}`: the models a chat can use (as `models.list`), no slash commands, and
/// automatic account selection (Tether has one set of provider keys).
pub async fn metadata(
    engine: &Engine,
    caller: &EngineCaller,
    _params: Value,
) -> Result<Value, ErrorShape> {
    let models = engine.models_list(caller).await?.models;
    Ok(json!({
        "models": models,
        "commands": [],
        "swarmEnabled": false,
        "accountSelection": {"kind": "automatic", "label": "Automatic account selection"},
    }))
}
