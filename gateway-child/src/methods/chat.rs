//! `chat.send`, `chat.abort`, `chat.history`: the chat face of the agent engine.
//!
//! `chat.send` keeps the protocol's one ordering rule: the ack `{runId, status}` is queued on
//! the connection **before** the run may emit anything (the engine holds the run until its
//! `Ack` is dropped, which happens here right after the response was queued). Nothing here
//! judges scopes (dispatch did) or runs anything itself.

use serde_json::Value;
use tether_protocol::methods::{names, ChatAbortParams, ChatHistoryParams, ChatSendParams};
use tether_protocol::ErrorShape;

use super::{encode, params_for};
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

/// `chat.history {sessionKey, limit?, maxChars?}`.
pub async fn history(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: ChatHistoryParams = params_for(names::CHAT_HISTORY, params)?;
    let h = ctx
        .services
        .engine()
        .chat_history(&ctx.caller.for_engine(), p)
        .await?;
    encode(&h)
}
