//! A mock OpenAI-compatible chat-completions server (`POST /v1/chat/completions`, SSE).
//!
//! It owns only the OpenAI wire encoding of [`Reply`]s: `chat.completion.chunk` events with
//! text deltas, streamed `tool_calls` (id and name first, arguments in two pieces), a usage
//! chunk and `data: [DONE]`; errors as `{error:{message,type}}` with an optional `Retry-After`.
//! Scripting, request logs and cancellation tracking come from [`crate::mock_provider`]. It
//! must never judge the requests it gets: tests read [`MockServer::requests`] and decide.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::mock_provider::{halves, hangup, json_error, sse, text_plan, tool_plan, Scripted, Step};
pub use crate::mock_provider::{MockServer, MockToolCall, Recorded, Reply};

/// Starts a mock OpenAI-compatible provider on `127.0.0.1:0`.
pub async fn start() -> std::io::Result<MockOpenAi> {
    Ok(MockOpenAi {
        server: MockServer::start(Arc::new(encode)).await?,
    })
}

/// A running mock OpenAI-compatible provider.
#[derive(Debug, Clone)]
pub struct MockOpenAi {
    /// The scripted server (push replies, read requests).
    pub server: MockServer,
}

impl MockOpenAi {
    /// The `baseUrl` to configure: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }
}

impl std::ops::Deref for MockOpenAi {
    type Target = MockServer;
    fn deref(&self) -> &MockServer {
        &self.server
    }
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Step {
    let v = json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    Step::Chunk(Bytes::from(format!("data: {v}\n\n")))
}

fn encode(reply: &Reply, request: &Value) -> Scripted {
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock")
        .to_owned();
    match reply {
        Reply::Error {
            status,
            body,
            retry_after,
        } => return json_error(*status, body, retry_after.as_deref()),
        Reply::Hangup => return hangup(),
        _ => {}
    }
    let mut out = sse(200, None);
    let (texts, pace, stall) = text_plan(reply);
    let mut first = true;
    let mut produced = 0usize;
    for t in texts {
        if let Some(p) = &pace {
            out.steps.push(p.clone());
        }
        let delta = if first {
            json!({"role": "assistant", "content": t})
        } else {
            json!({"content": t})
        };
        first = false;
        produced += t.split_whitespace().count().max(1);
        out.steps.push(chunk(&model, delta, None));
    }
    if stall {
        out.steps.push(Step::Stall);
        return out;
    }
    let tools = tool_plan(reply);
    for (i, call) in tools.iter().enumerate() {
        out.steps.push(chunk(
            &model,
            json!({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": ""}}]}),
            None,
        ));
        let (a, b) = halves(&call.arguments.to_string());
        for piece in [a, b] {
            out.steps.push(chunk(
                &model,
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                None,
            ));
        }
        produced += 5;
    }
    let finish = if tools.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    out.steps.push(chunk(&model, json!({}), Some(finish)));
    let usage = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 10, "completion_tokens": produced, "total_tokens": 10 + produced},
    });
    out.steps
        .push(Step::Chunk(Bytes::from(format!("data: {usage}\n\n"))));
    out.steps
        .push(Step::Chunk(Bytes::from_static(b"data: [DONE]\n\n")));
    out
}

/// The `models.providers.<id>` block of an OpenClaw-style config (upstream's `openclaw.json`,
/// Tether's `gateway.json`) for a mock at `base_url`: one text model, `mock-1`, 32k context,
/// zero cost, the chat-completions API.
pub fn provider_config(base_url: &str) -> Value {
    json!({
        "baseUrl": base_url, "apiKey": "mock-key", "api": "openai-completions",
        "models": [{"id": "mock-1", "name": "Mock 1", "reasoning": false, "input": ["text"],
                    "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                    "contextWindow": 32000, "maxTokens": 1024}],
    })
}

/// The error body OpenAI sends for a bad key.
pub fn auth_error_body() -> Value {
    json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
}

/// A generic server error body.
pub fn server_error_body() -> Value {
    json!({"error": {"message": "The server had an error while processing your request", "type": "server_error"}})
}
