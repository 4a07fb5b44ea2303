//! Model providers: one streamed model turn, whatever the wire API.
//!
//! It owns the provider-neutral request ([`ModelRequest`]), the result of a turn
//! ([`ModelTurn`]: text, tool calls, stop reason, usage), error classification into the
//! protocol's `errorKind`s, and the retry loop: jittered backoff on 429/5xx/connection errors,
//! honouring `Retry-After`, **only while nothing has been streamed**; 401/403 and other 4xx are
//! never retried. The wire formats live in `openai.rs` and `anthropic.rs`, the built-in model in
//! `offline.rs`, local-server discovery in `discovery.rs`. It must never log request bodies or
//! headers (they carry keys), and never emit events itself: text goes to the caller's callback.

pub mod anthropic;
pub mod discovery;
pub mod offline;
pub mod openai;
pub mod retry;
pub mod sse;

use std::time::Duration;

use serde_json::Value;
use tether_protocol::chat::ErrorKind;
use tokio_util::sync::CancellationToken;

use super::settings::{resolve_api_key, ModelChoice};
use super::transcript::{Msg, ToolCall};
use crate::config::schema::ProviderApi;
use retry::RetryPolicy;

/// A tool as the model sees it.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// JSON schema of the arguments.
    pub parameters: Value,
}

/// One model call.
#[derive(Debug)]
pub struct ModelRequest<'a> {
    /// The model.
    pub model: &'a ModelChoice,
    /// System prompt.
    pub system: &'a str,
    /// Conversation so far (already trimmed to the context budget).
    pub messages: &'a [Msg],
    /// Tools offered.
    pub tools: &'a [ToolSpec],
    /// Facts the offline model reports.
    pub offline: &'a offline::OfflineInfo,
    /// Images attached to the user message of run `.0` (empty unless the model accepts
    /// images); they go with that message only.
    pub images: (&'a str, &'a [crate::agent::attachments::Image]),
}

impl ModelRequest<'_> {
    /// The images that go with a user message of run `run_id`.
    pub fn images_for(&self, run_id: &str) -> &[crate::agent::attachments::Image] {
        if self.images.0 == run_id {
            self.images.1
        } else {
            &[]
        }
    }
}

/// Token usage of a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
}

/// What one model call produced.
#[derive(Debug, Clone, Default)]
pub struct ModelTurn {
    /// All text streamed in this turn.
    pub text: String,
    /// Tool calls, complete.
    pub tool_calls: Vec<ToolCall>,
    /// Provider's stop reason, normalised (`stop`, `tool_calls`, `length`, ...).
    pub stop_reason: String,
    /// Usage, when reported.
    pub usage: Option<Usage>,
}

/// A classified provider failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    /// For `chat.errorKind`.
    pub kind: ErrorKind,
    /// Human-readable, never containing a key.
    pub message: String,
    /// Whether a retry may help.
    pub retryable: bool,
    /// Server's `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    fn new(kind: ErrorKind, message: impl Into<String>, retryable: bool) -> Self {
        ProviderError {
            kind,
            message: message.into(),
            retryable,
            retry_after: None,
        }
    }

    /// From an HTTP error status and its body.
    pub fn from_status(
        provider: &str,
        status: u16,
        body: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let detail = error_detail(body);
        let lower = detail.to_ascii_lowercase();
        let (kind, retryable, what) = match status {
            401 | 403 => (
                ErrorKind::Auth,
                false,
                "rejected the credentials (check models.providers.<id>.apiKey)",
            ),
            429 => (ErrorKind::RateLimit, true, "is rate limiting requests"),
            408 | 504 => (ErrorKind::Timeout, true, "timed out"),
            500..=599 => (ErrorKind::Unknown, true, "had a server error"),
            _ if lower.contains("context")
                && (lower.contains("length")
                    || lower.contains("window")
                    || lower.contains("too long")) =>
            {
                (
                    ErrorKind::ContextLength,
                    false,
                    "says the conversation is too long for the model",
                )
            }
            _ => (ErrorKind::Unknown, false, "refused the request"),
        };
        let mut e = ProviderError::new(
            kind,
            format!("provider {provider} {what} (HTTP {status}): {detail}"),
            retryable,
        );
        e.retry_after = retry_after;
        e
    }
}

/// Extracts a readable message from an error body (OpenAI and Anthropic shapes, or text).
fn error_detail(body: &str) -> String {
    let v: Option<Value> = serde_json::from_str(body).ok();
    let msg = v.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let s = msg.unwrap_or_else(|| body.trim().to_owned());
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(300).collect();
    if out.is_empty() {
        out = "no details".into();
    }
    out
}

/// Why a turn did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnError {
    /// The run was cancelled (abort or timeout); the stream was dropped.
    Cancelled,
    /// The text callback asked to stop (the transcript could not be written).
    Stopped,
    /// The provider failed.
    Provider(ProviderError),
}

/// Text callback: gets each increment; returns false to stop the turn.
pub type OnText<'a> = dyn FnMut(&str) -> bool + Send + 'a;

/// The HTTP client for providers (no overall timeout: streams are long; cancellation and the
/// run timeout bound them).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(8)
        .user_agent(concat!("tether-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Runs one model turn with retries. Retries happen only while `on_text` has not been called.
pub async fn stream_turn(
    client: &reqwest::Client,
    req: &ModelRequest<'_>,
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    on_text: &mut OnText<'_>,
) -> Result<ModelTurn, TurnError> {
    let mut retry = 0;
    loop {
        let mut streamed = false;
        let result = {
            let mut cb = |t: &str| {
                streamed = true;
                on_text(t)
            };
            one_attempt(client, req, cancel, &mut cb).await
        };
        match result {
            Err(TurnError::Provider(e)) if e.retryable && !streamed => {
                let Some(delay) = policy.delay(retry, e.retry_after, jitter()) else {
                    return Err(TurnError::Provider(e));
                };
                tracing::info!(
                    provider = %req.model.provider,
                    retry = retry + 1,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %crate::process::logging::Clean(&e.message),
                    "retrying model request"
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => return Err(TurnError::Cancelled),
                }
                retry += 1;
            }
            other => return other,
        }
    }
}

async fn one_attempt(
    client: &reqwest::Client,
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    on_text: &mut OnText<'_>,
) -> Result<ModelTurn, TurnError> {
    let Some(api) = req.model.api else {
        return offline::stream(req, cancel, on_text).await;
    };
    let key = resolve_api_key(req.model.api_key.as_ref())
        .map_err(|m| TurnError::Provider(ProviderError::new(ErrorKind::Auth, m, false)))?;
    match api {
        ProviderApi::OpenAiCompletions => openai::stream(client, req, key, cancel, on_text).await,
        ProviderApi::AnthropicMessages => {
            anthropic::stream(client, req, key, cancel, on_text).await
        }
    }
}

/// Sends a request and returns the response if its status is a success, else the classified
/// error. Cancellation drops the request.
pub(crate) async fn send(
    builder: reqwest::RequestBuilder,
    provider: &str,
    cancel: &CancellationToken,
) -> Result<reqwest::Response, TurnError> {
    let resp = tokio::select! {
        r = builder.send() => r,
        _ = cancel.cancelled() => return Err(TurnError::Cancelled),
    };
    let resp = resp.map_err(|e| TurnError::Provider(transport_error(provider, &e)))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
    let body = tokio::select! {
        b = resp.text() => b.unwrap_or_default(),
        _ = cancel.cancelled() => return Err(TurnError::Cancelled),
    };
    Err(TurnError::Provider(ProviderError::from_status(
        provider,
        status,
        &body,
        retry_after,
    )))
}

/// Reads the next body chunk, or `None` at the end.
pub(crate) async fn next_chunk(
    resp: &mut reqwest::Response,
    provider: &str,
    cancel: &CancellationToken,
) -> Result<Option<bytes::Bytes>, TurnError> {
    tokio::select! {
        c = resp.chunk() => c.map_err(|e| TurnError::Provider(transport_error(provider, &e))),
        _ = cancel.cancelled() => Err(TurnError::Cancelled),
    }
}

fn transport_error(provider: &str, e: &reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unknown
    };
    // reqwest's Display includes the URL but never headers; strip the query just in case.
    let mut text = e.to_string();
    if let Some(i) = text.find('?') {
        text.truncate(i);
    }
    ProviderError::new(
        kind,
        format!("could not reach provider {provider}: {text}"),
        true,
    )
}

/// A stream that ended early is retryable (nothing was streamed if the caller retries).
pub(crate) fn truncated(provider: &str) -> TurnError {
    TurnError::Provider(ProviderError::new(
        ErrorKind::Unknown,
        format!("provider {provider} ended the stream before finishing the reply"),
        true,
    ))
}

/// A uniform random fraction in `[0, 1)` for jitter.
fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Deepest tool-call arguments kept as JSON. The arguments travel inside frames (tool events,
/// `chat.history`) several levels deep, and every frame must stay within
/// [`tether_protocol::frame::MAX_DEPTH`], or the supervisor could not read it.
pub const MAX_ARGS_DEPTH: usize = 32;

/// Parses a tool call's JSON argument text; invalid JSON, and JSON nested deeper than
/// [`MAX_ARGS_DEPTH`], is kept as a string so the tool can report it.
pub(crate) fn parse_args(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Object(Default::default());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) if crate::config::depth::value_depth(&v) <= MAX_ARGS_DEPTH => v,
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_arguments_nested_too_deep_stay_a_string() {
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(30), "]".repeat(30));
        assert!(super::parse_args(&ok).is_object());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            super::parse_args(&deep),
            serde_json::Value::String(deep.clone())
        );
    }

    use super::*;

    #[test]
    fn status_classification() {
        let e = ProviderError::from_status("p", 401, r#"{"error":{"message":"bad key"}}"#, None);
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(!e.retryable);
        assert!(e.message.contains("bad key"));
        assert!(ProviderError::from_status("p", 503, "", None).retryable);
        let r = ProviderError::from_status("p", 429, "", Some(Duration::from_secs(1)));
        assert_eq!(r.kind, ErrorKind::RateLimit);
        assert!(r.retryable);
        let c = ProviderError::from_status(
            "p",
            400,
            r#"{"error":{"message":"maximum context length is 8192 tokens"}}"#,
            None,
        );
        assert_eq!(c.kind, ErrorKind::ContextLength);
        assert!(!ProviderError::from_status("p", 404, "nope", None).retryable);
    }

    #[test]
    fn jitter_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
