//! A mock Anthropic Messages API server (`POST /v1/messages`, SSE).
//!
//! It owns only the Anthropic wire encoding of [`Reply`]s: `message_start`, `content_block_*`
//! events with `text_delta` and `input_json_delta` (tool use), `message_delta` with the stop
//! reason and usage, `message_stop`, and `{type:"error", error:{type,message}}` bodies for
//! errors. Scripting, request logs and cancellation tracking come from
//! [`crate::mock_provider`]. It must never judge the requests it gets.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::mock_provider::{halves, hangup, json_error, sse, text_plan, tool_plan, Scripted, Step};
pub use crate::mock_provider::{MockServer, MockToolCall, Recorded, Reply};

/// Starts a mock Anthropic provider on `127.0.0.1:0`.
pub async fn start() -> std::io::Result<MockAnthropic> {
    Ok(MockAnthropic {
        server: MockServer::start(Arc::new(encode)).await?,
    })
}

/// A running mock Anthropic provider.
#[derive(Debug, Clone)]
pub struct MockAnthropic {
    /// The scripted server (push replies, read requests).
    pub server: MockServer,
}

impl MockAnthropic {
    /// The `baseUrl` to configure: `http://127.0.0.1:<port>` (the client appends `/v1/messages`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}

impl std::ops::Deref for MockAnthropic {
    type Target = MockServer;
    fn deref(&self) -> &MockServer {
        &self.server
    }
}

fn event(name: &str, data: Value) -> Step {
    Step::Chunk(Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
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
    out.steps.push(event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    ));
    out.steps.push(event("ping", json!({"type": "ping"})));
    let (texts, pace, stall) = text_plan(reply);
    let mut index = 0;
    let mut produced = 0usize;
    if !texts.is_empty() {
        out.steps.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}}),
        ));
        for t in texts {
            if let Some(p) = &pace {
                out.steps.push(p.clone());
            }
            produced += t.split_whitespace().count().max(1);
            out.steps.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": t}}),
            ));
        }
        if stall {
            out.steps.push(Step::Stall);
            return out;
        }
        out.steps.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    } else if stall {
        out.steps.push(Step::Stall);
        return out;
    }
    let tools = tool_plan(reply);
    for call in &tools {
        out.steps.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}}),
        ));
        let (a, b) = halves(&call.arguments.to_string());
        for piece in [a, b] {
            out.steps.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        out.steps.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
        produced += 5;
    }
    let stop = if tools.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    out.steps.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": produced}}),
    ));
    out.steps
        .push(event("message_stop", json!({"type": "message_stop"})));
    out
}

/// The error body Anthropic sends for a bad key.
pub fn auth_error_body() -> Value {
    json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
}

/// The error body Anthropic sends when overloaded.
pub fn overloaded_body() -> Value {
    json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
}
