//! `chat` events: the user-facing stream of a run.
//!
//! A run emits `delta`s while the assistant writes, then exactly one terminal event: `final`,
//! `aborted` or `error`. `message` is always the **cumulative** assistant text so far. Protocol v4
//! adds `deltaText` (the increment), `replace` (the text was rewritten, not extended), the
//! `status` state with a `phase`, and `agentId`; [`ChatEvent::for_protocol`] strips those for v3
//! clients.

use serde::{Deserialize, Serialize};

use crate::macros::string_enum;
use crate::Map;

string_enum! {
    /// `chat.state`.
    pub enum ChatState {
        /// More text (cumulative `message`).
        Delta = "delta",
        /// The run finished.
        Final = "final",
        /// The run was aborted.
        Aborted = "aborted",
        /// The run failed.
        Error = "error",
        /// v4: the run is preparing (`phase`).
        Status = "status",
    }
}

impl ChatState {
    /// `final`, `aborted` and `error` end a run.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ChatState::Final | ChatState::Aborted | ChatState::Error
        )
    }
}

string_enum! {
    /// `chat.errorKind`.
    pub enum ErrorKind {
        Refusal = "refusal",
        Timeout = "timeout",
        RateLimit = "rate_limit",
        ContextLength = "context_length",
        /// Tether: the provider rejected the credentials.
        Auth = "auth",
        Unknown = "unknown",
    }
}

/// `chat` event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatEvent {
    /// The run (for `chat.send`, its `idempotencyKey`).
    pub run_id: String,
    /// Canonical session key.
    pub session_key: String,
    /// The run's agent-event sequence number at this point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// What happened.
    pub state: ChatState,
    /// Cumulative assistant message so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessage>,
    /// v4: the increment this delta adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_text: Option<String>,
    /// v4: the text was replaced rather than extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// v4 `status`: `preparing_workspace`, `preparing_context`, `starting_model`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why the run stopped (`stop`, `rpc`, `timeout`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// `error`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `error`: what kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// v4: the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl ChatEvent {
    /// A bare event of a state; fill the rest with struct update syntax.
    pub fn new(
        run_id: impl Into<String>,
        session_key: impl Into<String>,
        state: ChatState,
    ) -> Self {
        ChatEvent {
            run_id: run_id.into(),
            session_key: session_key.into(),
            seq: None,
            state,
            message: None,
            delta_text: None,
            replace: None,
            phase: None,
            stop_reason: None,
            error_message: None,
            error_kind: None,
            agent_id: None,
            extra: Map::new(),
        }
    }

    /// The cumulative assistant text, if the event carries a message.
    pub fn text(&self) -> Option<String> {
        self.message.as_ref().map(ChatMessage::text)
    }

    /// The event as a client of `protocol` should see it: unchanged for v4; for v3 the v4-only
    /// fields are removed and `status` events are not sent at all (`None`).
    pub fn for_protocol(&self, protocol: u32) -> Option<ChatEvent> {
        if protocol >= 4 {
            return Some(self.clone());
        }
        if self.state == ChatState::Status {
            return None;
        }
        let mut e = self.clone();
        e.delta_text = None;
        e.replace = None;
        e.phase = None;
        e.agent_id = None;
        e.extra.remove("spawnedBy");
        Some(e)
    }
}

/// A transcript or chat message: `{role, content, timestamp}` plus whatever else it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `user`, `assistant`, `toolResult`, ...
    pub role: String,
    /// A string or an array of content blocks.
    pub content: MessageContent,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Fields this version does not model (`__openclaw`, `usage`, `stopReason`, ...).
    #[serde(flatten)]
    pub extra: Map,
}

impl ChatMessage {
    /// An assistant message with one text block.
    pub fn assistant_text(text: impl Into<String>, timestamp: u64) -> Self {
        ChatMessage {
            role: "assistant".into(),
            content: MessageContent::Blocks(vec![ContentBlock::text(text)]),
            timestamp: Some(timestamp),
            extra: Map::new(),
        }
    }

    /// The text of all text blocks, concatenated.
    pub fn text(&self) -> String {
        match &self.content {
            MessageContent::Text(s) => s.clone(),
            MessageContent::Blocks(blocks) => blocks
                .iter()
                .filter(|b| b.kind == "text")
                .filter_map(|b| b.text.as_deref())
                .collect(),
        }
    }
}

/// Message content: a plain string or content blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text (user messages).
    Text(String),
    /// Content blocks (assistant messages, tool calls, tool results).
    Blocks(Vec<ContentBlock>),
}

/// One content block: `{type:"text", text}`, `{type:"toolCall", ...}`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentBlock {
    /// Block type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock {
            kind: "text".into(),
            text: Some(text.into()),
            extra: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v3_view_drops_status_and_v4_fields() {
        let mut delta = ChatEvent::new("r", "agent:main:main", ChatState::Delta);
        delta.message = Some(ChatMessage::assistant_text("Hello wor", 1));
        delta.delta_text = Some("wor".into());
        delta.agent_id = Some("main".into());
        let v3 = delta.for_protocol(3).unwrap();
        assert_eq!(v3.delta_text, None);
        assert_eq!(v3.agent_id, None);
        assert_eq!(v3.text().unwrap(), "Hello wor");
        assert_eq!(delta.for_protocol(4).unwrap(), delta);

        let mut status = ChatEvent::new("r", "k", ChatState::Status);
        status.phase = Some("starting_model".into());
        assert!(status.for_protocol(3).is_none());
        assert!(status.for_protocol(4).is_some());
    }

    #[test]
    fn message_text_joins_text_blocks_only() {
        let m: ChatMessage = serde_json::from_value(json!({
            "role":"assistant",
            "content":[{"type":"text","text":"a"},{"type":"toolCall","id":"c"},{"type":"text","text":"b"}]
        }))
        .unwrap();
        assert_eq!(m.text(), "ab");
        let u: ChatMessage = serde_json::from_value(json!({"role":"user","content":"hi"})).unwrap();
        assert_eq!(u.text(), "hi");
    }

    #[test]
    fn terminal_states() {
        assert!(ChatState::Final.is_terminal());
        assert!(ChatState::Aborted.is_terminal());
        assert!(ChatState::Error.is_terminal());
        assert!(!ChatState::Delta.is_terminal());
        assert!(!ChatState::Status.is_terminal());
    }
}
