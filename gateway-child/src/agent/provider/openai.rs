//! The `openai-completions` wire API: streaming `POST {baseUrl}/chat/completions`.
//!
//! It owns the request body (system + conversation as OpenAI messages, a run's images as
//! `image_url` data-URL parts of its user message, tools as `function` tools, `stream_options.include_usage`), and the parsing of `chat.completion.chunk` events:
//! text deltas go to the callback as they arrive; streamed `tool_calls` are assembled by
//! `index` (id and name first, arguments in pieces). It covers OpenAI, Ollama, llama.cpp,
//! vLLM, LM Studio and OpenRouter. It must never put the key anywhere but the `Authorization`
//! header.

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

/// The request body.
pub fn body(req: &ModelRequest<'_>) -> Value {
    let mut messages = vec![json!({"role": "system", "content": req.system})];
    for m in req.messages {
        match m {
            Msg::User { run_id, text, .. } => {
                let images = req.images_for(run_id);
                let content = if images.is_empty() {
                    json!(text)
                } else {
                    let mut parts = vec![json!({"type": "text", "text": text})];
                    parts.extend(images.iter().map(|i| {
                        json!({"type": "image_url", "image_url": {"url": format!("data:{};base64,{}", i.mime, i.data)}})
                    }));
                    Value::Array(parts)
                };
                messages.push(json!({"role": "user", "content": content}));
            }
            Msg::Assistant { text, calls, .. } => {
                if text.is_empty() && calls.is_empty() {
                    continue;
                }
                let mut msg = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
                if !calls.is_empty() {
                    msg["tool_calls"] = calls
                        .iter()
                        .map(|c| {
                            json!({"id": c.id, "type": "function", "function": {
                                "name": c.name,
                                "arguments": match &c.args { Value::String(s) => s.clone(), v => v.to_string() },
                            }})
                        })
                        .collect();
                }
                messages.push(msg);
            }
            Msg::Tool { id, text, .. } => {
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}))
            }
        }
    }
    let mut body = json!({
        "model": req.model.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
        body["tool_choice"] = json!("auto");
    }
    if let Some(max) = req.model.max_tokens {
        body["max_tokens"] = json!(max);
    }
    body
}

/// Most tool calls accepted in one turn (a larger `index` is folded into the last).
pub const MAX_TOOL_CALLS: usize = 1024;

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    args: String,
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
    let url = format!("{}/chat/completions", req.model.base_url);
    let mut builder = client
        .post(&url)
        .header("accept", "text/event-stream")
        .json(&body(req));
    if let Some(k) = &key {
        builder = builder.bearer_auth(k.expose());
    }
    let mut resp = send(builder, provider, cancel).await?;
    let mut parser = SseParser::default();
    let mut turn = ModelTurn::default();
    let mut calls: Vec<PartialCall> = Vec::new();
    let mut finish: Option<String> = None;
    let mut done = false;
    while !done {
        let Some(chunk) = next_chunk(&mut resp, provider, cancel).await? else {
            break;
        };
        let events = parser
            .push(&chunk)
            .map_err(|m| TurnError::Provider(ProviderError::new(ErrorKind::Unknown, m, false)))?;
        for ev in events {
            if ev.data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
                continue;
            };
            if let Some(err) = v.get("error") {
                let msg = err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("stream error")
                    .to_owned();
                let mut e = ProviderError::from_status(
                    provider,
                    500,
                    &json!({"error": {"message": msg}}).to_string(),
                    None,
                );
                e.message = format!("provider {provider} reported an error mid-stream: {msg}");
                return Err(TurnError::Provider(e));
            }
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                turn.usage = Some(Usage {
                    input: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
                    output: u
                        .get("completion_tokens")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                });
            }
            let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
                continue;
            };
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                finish = Some(f.to_owned());
            }
            let Some(delta) = choice.get("delta") else {
                continue;
            };
            if let Some(t) = delta.get("content").and_then(Value::as_str) {
                if !t.is_empty() {
                    turn.text.push_str(t);
                    if !on_text(t) {
                        return Err(TurnError::Stopped);
                    }
                }
            }
            if let Some(tcs) = delta.get("tool_calls").and_then(Value::as_array) {
                for tc in tcs {
                    // Some servers omit `index`: a call with an id starts a new entry.
                    let idx = match tc.get("index").and_then(Value::as_u64) {
                        Some(i) => usize::try_from(i).unwrap_or(usize::MAX).min(MAX_TOOL_CALLS),
                        None if tc.get("id").is_some() => calls.len(),
                        None => calls.len().saturating_sub(1),
                    };
                    while calls.len() <= idx {
                        calls.push(PartialCall::default());
                    }
                    let c = &mut calls[idx];
                    if let Some(id) = tc.get("id").and_then(Value::as_str) {
                        c.id = id.to_owned();
                    }
                    if let Some(f) = tc.get("function") {
                        if let Some(n) = f.get("name").and_then(Value::as_str) {
                            c.name.push_str(n);
                        }
                        match f.get("arguments") {
                            Some(Value::String(a)) => c.args.push_str(a),
                            Some(v @ Value::Object(_)) => c.args.push_str(&v.to_string()),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    if !done && finish.is_none() {
        return Err(truncated(provider));
    }
    turn.tool_calls = calls
        .into_iter()
        .filter(|c| !c.name.is_empty())
        .map(|c| ToolCall {
            id: if c.id.is_empty() {
                format!("call_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
            } else {
                c.id
            },
            name: c.name,
            args: parse_args(&c.args),
        })
        .collect();
    turn.stop_reason = match finish.as_deref() {
        Some("tool_calls") | Some("function_call") => "tool_calls".into(),
        Some("length") => "length".into(),
        _ if !turn.tool_calls.is_empty() => "tool_calls".into(),
        _ => "stop".into(),
    };
    Ok(turn)
}
