//! `agent`, `agent.wait`, `agents.list`: upstream's agent-turn API over the agent engine.
//!
//! `agent` answers twice with the same request id, as upstream does: the `accepted` ack (queued
//! before the run may emit anything), then the final result when the run ends, sent by a task
//! that the run's drain waits for. A repeated idempotency key never starts a second run: while
//! the first is running the ack says `in_flight` and the final result follows; once it ended,
//! only the cached final result is sent. `agents.list` describes the single `main` agent Tether
//! runs (upstream's CLI asks for it when `agent` is called without a session key).

use serde_json::{json, Value};
use tether_protocol::consts::{DEFAULT_AGENT_ID, MAIN_KEY};
use tether_protocol::methods::{names, AgentParams, AgentWaitParams, RunStatus};
use tether_protocol::ErrorShape;

use super::{encode, params_for};
use crate::methods::call::CallContext;

/// `agent {message, idempotencyKey, sessionKey?|agentId?, timeout?, …}`.
pub async fn agent(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: AgentParams = params_for(names::AGENT, params)?;
    let (ack, done) = ctx
        .services
        .engine()
        .agent(&ctx.caller.for_engine(), p)
        .await?;
    if !matches!(ack.value.status, RunStatus::Accepted | RunStatus::InFlight) {
        // The run ended before (same idempotency key): its final result is the only answer.
        drop(ack);
        return done.await.and_then(|r| encode(&r));
    }
    let responder = ctx.responder();
    responder.respond(encode(&ack.value));
    // The ack is queued: the run may start emitting now.
    drop(ack);
    let work = ctx.services.requests().begin();
    ctx.services.spawn(async move {
        let result = done.await.and_then(|r| encode(&r));
        responder.respond(result);
        drop(work);
    });
    Ok(Value::Null)
}

/// `agent.wait {runId, timeoutMs?}`.
pub async fn wait(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: AgentWaitParams = params_for(names::AGENT_WAIT, params)?;
    let r = ctx
        .services
        .engine()
        .agent_wait(&ctx.caller.for_engine(), p)
        .await?;
    encode(&r)
}

/// `agents.list {}`: the one agent, in upstream's shape.
pub async fn agents_list(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let settings = ctx.services.settings();
    let engine_settings = crate::agent::settings::AgentSettings::from_config(
        settings.config(),
        &ctx.services.paths().state_dir,
    );
    let model = ctx.services.engine().summary().default_model;
    Ok(json!({
        "defaultId": DEFAULT_AGENT_ID,
        "ownership": "sole",
        "selectionRequired": false,
        "mainKey": MAIN_KEY,
        "scope": "per-sender",
        "agents": [{
            "id": DEFAULT_AGENT_ID,
            "workspace": engine_settings.workspace.display().to_string(),
            "model": {"primary": model},
        }],
    }))
}

/// `agent.identity.get {agentId?, sessionKey?}`: the one agent's identity. Tether has no
/// identity settings, so it is upstream's default one, said to be the default.
pub async fn identity(_ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    check_agent(&params)?;
    Ok(json!({
        "agentId": DEFAULT_AGENT_ID,
        "name": "Assistant",
        "nameSource": "default",
        "avatar": "A",
        "avatarStatus": "none",
    }))
}

/// `tools.effective {agentId?, sessionKey?}`: the tools the one agent's runs are offered,
/// exactly the list the model gets ([`crate::agent::tools::specs`]), as upstream's one group of
/// built-in tools. Tether has no tool profiles, plugins or per-session overrides, so every
/// session gets the same list; its closest upstream profile is `coding` (files and a shell).
pub async fn tools_effective(_ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    check_agent(&params)?;
    if let Some(key) = params.get("sessionKey").and_then(Value::as_str) {
        tether_protocol::session_key::SessionKey::parse(key)
            .map_err(|e| ErrorShape::invalid_request(e.to_string()))?;
    }
    let tools: Vec<Value> = crate::agent::tools::specs()
        .iter()
        .map(|t| {
            json!({
                "id": t.name,
                "label": tool_label(t.name),
                "description": t.description,
                "rawDescription": t.description,
                "source": "core",
            })
        })
        .collect();
    Ok(json!({
        "agentId": DEFAULT_AGENT_ID,
        "profile": "coding",
        "groups": [{"id": "core", "label": "Built-in tools", "source": "core", "tools": tools}],
    }))
}

/// A tool's name as a person reads it.
fn tool_label(name: &str) -> String {
    match name {
        "ls" => "List files".to_owned(),
        "exec" => "Run command".to_owned(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// `agentId`, when given, must be the one agent.
fn check_agent(params: &Value) -> Result<(), ErrorShape> {
    match params.get("agentId").and_then(Value::as_str) {
        Some(id) if !id.eq_ignore_ascii_case(DEFAULT_AGENT_ID) => Err(ErrorShape::invalid_request(
            format!("unknown agent id: {id}"),
        )
        .with_details(json!({"code": "UNKNOWN_AGENT_ID", "agentId": id}))),
        _ => Ok(()),
    }
}

/// `commands.list`: Tether's agent has no slash commands.
pub fn commands_list() -> Value {
    json!({"commands": []})
}
