//! A lean parse of the frame a relay sees by the thousand: the `chat` event.
//!
//! [`parse_chat_frame`] turns the text of a `chat` event frame straight into a [`ChatEvent`]
//! without the generic route (text → `serde_json::Value` tree → [`Frame`] → `ChatEvent` through
//! a `#[serde(flatten)]` catch-all, which buffers every field twice and dominated the
//! supervisor's relay profile). The envelope and the message content are borrowed as raw JSON,
//! and the message's text blocks are joined into one [`MessageContent::Text`].
//!
//! The result is deliberately **lossy** and meant for readers of the text and the run state:
//! the envelope `seq`, the payload's unmodelled fields and the non-text content blocks are
//! dropped, never guessed. Anything that is not a well-formed `chat` event returns `None`, so a
//! caller falls back to [`Frame::parse`] and can only get the same answer faster. Keeping this
//! beside the typed `ChatEvent` keeps the wire format defined in one crate.
//!
//! [`Frame`]: crate::Frame
//! [`Frame::parse`]: crate::Frame::parse

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::chat::{ChatEvent, ChatMessage, ChatState, ErrorKind, MessageContent};
use crate::events::names;
use crate::Map;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanChat<'a> {
    run_id: String,
    session_key: String,
    #[serde(default)]
    seq: Option<u64>,
    state: ChatState,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default)]
    delta_text: Option<String>,
    #[serde(default)]
    replace: Option<bool>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    error_kind: Option<ErrorKind>,
    #[serde(default)]
    agent_id: Option<String>,
}

#[derive(Deserialize)]
struct LeanMessage<'a> {
    role: String,
    #[serde(borrow)]
    content: &'a RawValue,
    #[serde(default)]
    timestamp: Option<u64>,
}

#[derive(Deserialize)]
struct LeanBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

fn message(raw: &RawValue) -> Option<ChatMessage> {
    let m: LeanMessage<'_> = serde_json::from_str(raw.get()).ok()?;
    let content = m.content.get().trim_start();
    let text = if content.starts_with('"') {
        serde_json::from_str::<String>(content).ok()?
    } else {
        let blocks: Vec<LeanBlock<'_>> = serde_json::from_str(content).ok()?;
        let mut text = String::new();
        for b in blocks.iter().filter(|b| b.kind == "text") {
            if let Some(t) = &b.text {
                text.push_str(t);
            }
        }
        text
    };
    Some(ChatMessage {
        role: m.role,
        content: MessageContent::Text(text),
        timestamp: m.timestamp,
        extra: Map::new(),
    })
}

/// The `chat` event in `text`, if `text` is one (lossy, see the module doc); `None` otherwise.
pub fn parse_chat_frame(text: &str) -> Option<ChatEvent> {
    // Cheap reject before any parsing: most other frames are not chat events.
    if !text.contains("\"chat\"") {
        return None;
    }
    let env: Envelope<'_> = serde_json::from_str(text).ok()?;
    if env.kind != "event" || env.event.as_deref() != Some(names::CHAT) {
        return None;
    }
    let c: LeanChat<'_> = serde_json::from_str(env.payload?.get()).ok()?;
    let message = match c.message {
        Some(raw) if raw.get() != "null" => Some(message(raw)?),
        _ => None,
    };
    Some(ChatEvent {
        run_id: c.run_id,
        session_key: c.session_key,
        seq: c.seq,
        state: c.state,
        message,
        delta_text: c.delta_text,
        replace: c.replace,
        phase: c.phase,
        stop_reason: c.stop_reason,
        error_message: c.error_message,
        error_kind: c.error_kind,
        agent_id: c.agent_id,
        extra: Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;

    /// What the generic route makes of the same frame, reduced to what the normalizer reads.
    fn generic(text: &str) -> Option<ChatEvent> {
        let Ok(Frame::Event(mut e)) = Frame::parse(text) else {
            return None;
        };
        if e.event != names::CHAT {
            return None;
        }
        let mut c: ChatEvent = serde_json::from_value(e.payload.take()?).ok()?;
        c.extra = Map::new();
        if let Some(m) = &mut c.message {
            *m = ChatMessage {
                role: m.role.clone(),
                content: MessageContent::Text(m.text()),
                timestamp: m.timestamp,
                extra: Map::new(),
            };
        }
        Some(c)
    }

    fn check(text: &str) {
        assert_eq!(parse_chat_frame(text), generic(text), "{text}");
    }

    #[test]
    fn same_result_as_the_generic_route() {
        // v4 delta (upstream transcript s2_chat.jsonl), v3 cumulative, final with escapes,
        // string content, error, status, and frames that are not chat events.
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"920306b0","sessionKey":"agent:main:main","agentId":"main","seq":7,"state":"delta","deltaText":" from","message":{"role":"assistant","content":[{"type":"text","text":"Hello from"}],"timestamp":1795288751836}},"seq":19}"#,
        );
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"r","sessionKey":"s","seq":2,"state":"delta","message":{"role":"assistant","content":[{"type":"thinking","thinking":"x"},{"type":"text","text":"a\"b\\nc é"},{"type":"text","text":"!"}]}}}"#,
        );
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"r","sessionKey":"s","state":"final","stopReason":"stop","message":{"role":"assistant","content":"plain \u00e9","usage":{"in":1},"__openclaw":{"x":1}},"spawnedBy":"y"}}"#,
        );
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"r","sessionKey":"s","state":"error","errorMessage":"boom","errorKind":"rate_limit","message":null}}"#,
        );
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"r","sessionKey":"s","seq":1,"state":"status","phase":"preparing_context"}}"#,
        );
        check(
            r#"{"type":"event","event":"chat","payload":{"runId":"r","sessionKey":"s","state":"something_new"}}"#,
        );
        assert_eq!(
            parse_chat_frame(r#"{"type":"event","event":"agent","payload":{"runId":"chat"}}"#),
            None
        );
        assert_eq!(
            parse_chat_frame(r#"{"type":"res","id":"chat","ok":true,"payload":{}}"#),
            None
        );
        assert_eq!(
            parse_chat_frame(r#"{"type":"event","event":"chat","payload":{"sessionKey":"s"}}"#),
            None,
            "malformed: the generic route decides"
        );
        assert_eq!(parse_chat_frame("not json \"chat\""), None);
    }
}
