//! The `anthropic-messages` wire API: streaming `POST {baseUrl}/v1/messages`.
//!
//! It owns the request body (system prompt apart; a run's images as base64 `image` blocks before
//! its user text; assistant tool calls as `tool_use` blocks;
//! tool results as `tool_result` blocks in a user message; consecutive same-role messages
//! merged, as the API requires alternation) and the parsing of the event stream
//! (`content_block_*` with `text_delta` / `input_json_delta`, `message_delta`, `error`). It must
//! never put the key anywhere but the `x-api-key` header.

use serde_json::{json, Value};
use tether_protocol::chat::ErrorKind;
use tether_protocol::Secret;
use tokio_util::sync::CancellationToken;

use super::sse::SseParser;
use super::{
    next_chunk, parse_args, send, truncated, ModelRequest, ModelTurn, OnText, ProviderError,
    TurnError, Usage,
};
use crate::agent::transcript::{Msg, ToolCall};

/// Default `max_tokens` (the API requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// API version header value.
pub const API_VERSION: &str = "2023-06-01";

fn push(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut() {
        if last["role"] == role {
            if let Some(arr) = last["content"].as_array_mut() {
                arr.extend(blocks);
                return;
            }
        }
    }
    messages.push(json!({"role": role, "content": blocks}));
}

/// The request body.
pub fn body(req: &ModelRequest<'_>) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for m in req.messages {
        match m {
            Msg::User { run_id, text, .. } => {
                // Images first, then the text, as the Messages API recommends.
                let mut blocks: Vec<Value> = req
                    .images_for(run_id)
                    .iter()
                    .map(|i| {
                        json!({"type": "image", "source": {"type": "base64", "media_type": i.mime, "data": i.data}})
                    })
                    .collect();
                blocks.push(json!({"type": "text", "text": text}));
                push(&mut messages, "user", blocks);
            }
            Msg::Assistant { text, calls, .. } => {
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in calls {
                    let input = match &c.args {
                        Value::Object(_) => c.args.clone(),
                        other => json!({"value": other}),
                    };
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                push(&mut messages, "assistant", blocks);
            }
            Msg::Tool {
                id, text, is_error, ..
            } => push(
                &mut messages,
                "user",
                vec![
                    json!({"type": "tool_result", "tool_use_id": id, "content": text, "is_error": is_error}),
                ],
            ),
        }
    }
    let mut body = json!({
        "model": req.model.model,
        "max_tokens": req.model.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "system": req.system,
        "messages": messages,
        "stream": true,
    });
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    body
}

/// `{baseUrl}/v1/messages`, or `{baseUrl}/messages` when the base already ends in `/v1`.
pub fn url(base: &str) -> String {
    if base.ends_with("/v1") {
        format!("{base}/messages")
    } else {
        format!("{base}/v1/messages")
    }
}

struct Block {
    tool: Option<(String, String)>,
    json: String,
}

/// Streams one turn.
pub async fn stream(
    client: &reqwest::Client,
    req: &ModelRequest<'_>,
    key: Option<Secret>,
    cancel: &CancellationToken,
    on_text: &mut OnText<'_>,
) -> Result<ModelTurn, TurnError> {
    let provider = req.model.provider.as_str();
    let mut builder = client
        .post(url(&req.model.base_url))
        .header("anthropic-version", API_VERSION)
        .header("accept", "text/event-stream")
        .json(&body(req));
    if let Some(k) = &key {
        builder = builder.header("x-api-key", k.expose());
    }
    let mut resp = send(builder, provider, cancel).await?;
    let mut parser = SseParser::default();
    let mut turn = ModelTurn::default();
    let mut blocks: Vec<(u64, Block)> = Vec::new();
    let mut stop: Option<String> = None;
    let mut usage = Usage::default();
    let mut done = false;
    while !done {
        let Some(chunk) = next_chunk(&mut resp, provider, cancel).await? else {
            break;
        };
        let events = parser
            .push(&chunk)
            .map_err(|m| TurnError::Provider(ProviderError::new(ErrorKind::Unknown, m, false)))?;
        for ev in events {
            let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
                continue;
            };
            let kind = v
                .get("type")
                .and_then(Value::as_str)
                .or(ev.event.as_deref())
                .unwrap_or("");
            match kind {
                "message_start" => {
                    if let Some(n) = v
                        .pointer("/message/usage/input_tokens")
                        .and_then(Value::as_u64)
                    {
                        usage.input = n;
                    }
                }
                "content_block_start" => {
                    let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let cb = v.get("content_block").cloned().unwrap_or(Value::Null);
                    let tool =
                        (cb.get("type").and_then(Value::as_str) == Some("tool_use")).then(|| {
                            (
                                cb.get("id")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                cb.get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                            )
                        });
                    blocks.push((
                        index,
                        Block {
                            tool,
                            json: String::new(),
                        },
                    ));
                }
                "content_block_delta" => {
                    let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let d = v.get("delta").cloned().unwrap_or(Value::Null);
                    match d.get("type").and_then(Value::as_str) {
                        Some("text_delta") => {
                            let t = d.get("text").and_then(Value::as_str).unwrap_or("");
                            if !t.is_empty() {
                                turn.text.push_str(t);
                                if !on_text(t) {
                                    return Err(TurnError::Stopped);
                                }
                            }
                        }
                        Some("input_json_delta") => {
                            if let Some((_, b)) = blocks.iter_mut().rev().find(|(i, _)| *i == index)
                            {
                                b.json.push_str(
                                    d.get("partial_json").and_then(Value::as_str).unwrap_or(""),
                                );
                            }
                        }
                        _ => {}
                    }
                }
                "message_delta" => {
                    if let Some(s) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                        stop = Some(s.to_owned());
                    }
                    if let Some(n) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                        usage.output = n;
                    }
                }
                "message_stop" => {
                    done = true;
                }
                "error" => {
                    let etype = v
                        .pointer("/error/type")
                        .and_then(Value::as_str)
                        .unwrap_or("error");
                    let msg = v
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("stream error");
                    let status = match etype {
                        "overloaded_error" => 529,
                        "rate_limit_error" => 429,
                        "authentication_error" => 401,
                        "permission_error" => 403,
                        "invalid_request_error" => 400,
                        _ => 500,
                    };
                    let e = ProviderError::from_status(
                        provider,
                        status,
                        &json!({"error": {"message": msg}}).to_string(),
                        None,
                    );
                    return Err(TurnError::Provider(e));
                }
                _ => {}
            }
        }
    }
    if !done {
        return Err(truncated(provider));
    }
    turn.usage = Some(usage);
    turn.tool_calls = blocks
        .into_iter()
        .filter_map(|(_, b)| {
            let (id, name) = b.tool?;
            Some(ToolCall {
                id: if id.is_empty() {
                    format!("toolu_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
                } else {
                    id
                },
                name,
                args: parse_args(&b.json),
            })
        })
        .collect();
    turn.stop_reason = match stop.as_deref() {
        Some("tool_use") => "tool_calls".into(),
        Some("max_tokens") => "length".into(),
        _ if !turn.tool_calls.is_empty() => "tool_calls".into(),
        _ => "stop".into(),
    };
    Ok(turn)
}
