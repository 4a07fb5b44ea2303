//! `POST /v1/chat/completions`: the OpenAI-compatible HTTP face of the engine.
//!
//! It owns request parsing (body capped at 2 MiB; the last `user` message is the prompt),
//! session selection (`x-openclaw-session-key` header, else `user` → `agent:main:openai-<user>`,
//! else a fresh `agent:main:http-<uuid>`), and the two response forms: a single
//! `chat.completion` object, or an SSE stream of `chat.completion.chunk`s ending in
//! `data: [DONE]`. The run is an ordinary engine run (same transcript, same events to WebSocket
//! clients, same tool approvals). A streaming client that disconnects aborts its run. It must
//! never check the Bearer token or the enable switch: the gateway routes here only when
//! `gateway.http.endpoints.chatCompletions.enabled` is true and the token matched.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_protocol::session_key::SessionKey;
use tokio::sync::mpsc;

use super::emit::Observed;
use super::Engine;
use crate::process::clock::now_ms;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The response body type: a full body or an SSE stream.
pub type HttpBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn json_response(status: StatusCode, v: &Value) -> Response<HttpBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn error(status: StatusCode, message: &str, kind: &str) -> Response<HttpBody> {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind}}),
    )
}

fn content_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let t: Vec<&str> = parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!t.is_empty()).then(|| t.join("\n"))
        }
        _ => None,
    }
}

fn session_for(headers: &hyper::HeaderMap, body: &Value) -> Result<SessionKey, String> {
    if let Some(h) = headers
        .get("x-openclaw-session-key")
        .or_else(|| headers.get("x-tether-session-key"))
    {
        let raw = h
            .to_str()
            .map_err(|_| "invalid session key header".to_owned())?;
        return SessionKey::parse(raw).map_err(|e| e.to_string());
    }
    if let Some(user) = body.get("user").and_then(Value::as_str) {
        let clean: String = user
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(64)
            .collect();
        if !clean.is_empty() {
            return SessionKey::parse(&format!("agent:main:openai-{clean}"))
                .map_err(|e| e.to_string());
        }
    }
    SessionKey::parse(&format!(
        "agent:main:http-{}",
        uuid::Uuid::new_v4().simple()
    ))
    .map_err(|e| e.to_string())
}

/// An SSE body fed by a channel; dropping it (client gone) closes the channel.
struct SseBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn chunk(id: &str, model: &str, created: u64, delta: Value, finish: Option<&str>) -> Bytes {
    let v = json!({"id": id, "object": "chat.completion.chunk", "created": created,
        "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {v}\n\n"))
}

impl Engine {
    /// Serves `POST /v1/chat/completions`.
    pub async fn chat_completions<B>(&self, req: Request<B>) -> Response<HttpBody>
    where
        B: Body + Send,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if req.method() != hyper::Method::POST {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "use POST",
                "invalid_request_error",
            );
        }
        let headers = req.headers().clone();
        let bytes = match Limited::new(req.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large or unreadable (max 2 MiB)",
                    "invalid_request_error",
                )
            }
        };
        let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
            return error(
                StatusCode::BAD_REQUEST,
                "body is not JSON",
                "invalid_request_error",
            );
        };
        let Some(messages) = body.get("messages").and_then(Value::as_array) else {
            return error(
                StatusCode::BAD_REQUEST,
                "messages is required",
                "invalid_request_error",
            );
        };
        let Some(prompt) = messages
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|m| m.get("content"))
            .and_then(content_text)
            .filter(|t| !t.trim().is_empty())
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "messages must contain a user message with text",
                "invalid_request_error",
            );
        };
        let key = match session_for(&headers, &body) {
            Ok(k) => k,
            Err(m) => return error(StatusCode::BAD_REQUEST, &m, "invalid_request_error"),
        };
        let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let model = self.summary().default_model;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let run = match self.start_observed(key.clone(), prompt, tx) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, &e.message, "api_error"),
        };
        let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
        let created = now_ms() / 1000;

        if !stream {
            let mut text = String::new();
            while let Some(o) = rx.recv().await {
                match o {
                    Observed::Delta(_) => {}
                    Observed::End {
                        state,
                        text: t,
                        error: err,
                        ..
                    } => {
                        if state == ChatState::Error {
                            return error(
                                StatusCode::BAD_GATEWAY,
                                &err.unwrap_or_else(|| "the run failed".into()),
                                "api_error",
                            );
                        }
                        text = t;
                        let finish = if state == ChatState::Aborted {
                            "abort"
                        } else {
                            "stop"
                        };
                        let v = json!({"id": id, "object": "chat.completion", "created": created,
                            "model": model,
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                "finish_reason": finish}],
                            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                            "session_key": key.to_string()});
                        return json_response(StatusCode::OK, &v);
                    }
                }
            }
            let _ = text;
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the run ended without a result",
                "api_error",
            );
        }

        let (btx, brx) = mpsc::channel::<Bytes>(64);
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let o = tokio::select! {
                    o = rx.recv() => o,
                    _ = btx.closed() => {
                        // The client went away: stop the run it asked for.
                        run.stop("rpc");
                        return;
                    }
                };
                let Some(o) = o else { return };
                let out = match o {
                    Observed::Delta(d) => {
                        let delta = if first {
                            json!({"role": "assistant", "content": d})
                        } else {
                            json!({"content": d})
                        };
                        first = false;
                        vec![chunk(&id, &model, created, delta, None)]
                    }
                    Observed::End {
                        state, error: err, ..
                    } => {
                        let mut v = Vec::new();
                        if state == ChatState::Error {
                            let e = json!({"error": {"message": err.unwrap_or_default(), "type": "api_error"}});
                            v.push(Bytes::from(format!("data: {e}\n\n")));
                        } else {
                            let finish = if state == ChatState::Aborted {
                                "abort"
                            } else {
                                "stop"
                            };
                            v.push(chunk(&id, &model, created, json!({}), Some(finish)));
                        }
                        v.push(Bytes::from_static(b"data: [DONE]\n\n"));
                        v
                    }
                };
                for b in out {
                    if btx.send(b).await.is_err() {
                        // The client went away: stop the run it asked for.
                        run.stop("rpc");
                        return;
                    }
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(SseBody { rx: brx }.boxed())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
    }
}
