//! System event payloads (`tick`, `shutdown`, `presence`, `health`, `sessions.changed`,
//! approvals) and the event names.

use serde::{Deserialize, Serialize};

use crate::health::{AgentHealth, ConfigReload, SessionsSummary};
use crate::maybe::Maybe;
use crate::Map;

/// Event names.
pub mod names {
    /// First frame on every socket.
    pub const CONNECT_CHALLENGE: &str = "connect.challenge";
    /// Keepalive.
    pub const TICK: &str = "tick";
    /// Health summary refresh.
    pub const HEALTH: &str = "health";
    /// Presence table change.
    pub const PRESENCE: &str = "presence";
    /// The gateway is stopping or restarting.
    pub const SHUTDOWN: &str = "shutdown";
    /// Chat run output.
    pub const CHAT: &str = "chat";
    /// Agent run events.
    pub const AGENT: &str = "agent";
    /// Session list changes (to `sessions.subscribe` subscribers).
    pub const SESSIONS_CHANGED: &str = "sessions.changed";
    /// A message appended to a session.
    pub const SESSION_MESSAGE: &str = "session.message";
    /// Tool activity of a session (to `sessions.subscribe` subscribers).
    pub const SESSION_TOOL: &str = "session.tool";
    /// How far a UI client's own `chat.send` has got (to that connection only).
    pub const CHAT_SEND_TIMING: &str = "chat.send_timing";
    /// An exec command waits for approval.
    pub const EXEC_APPROVAL_REQUESTED: &str = "exec.approval.requested";
    /// An exec approval was decided.
    pub const EXEC_APPROVAL_RESOLVED: &str = "exec.approval.resolved";
    /// v4: the applied config changed (hot reload, or a rejected file).
    pub const CONFIG_CHANGED: &str = "config.changed";
    /// Update availability (upstream).
    pub const UPDATE_AVAILABLE: &str = "update.available";
    /// Agent heartbeat runs (upstream).
    pub const HEARTBEAT: &str = "heartbeat";
}

/// Versions of the presence and health state, sent with those events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StateVersion {
    /// Presence table version.
    pub presence: u64,
    /// Health summary version.
    pub health: u64,
}

/// `tick` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Server time, epoch ms.
    pub ts: u64,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `shutdown` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shutdown {
    /// `gateway stopping` or `gateway restarting`.
    pub reason: String,
    /// How long until the gateway accepts connections again; `null` or absent when it is
    /// not coming back.
    #[serde(default, skip_serializing_if = "Maybe::is_absent")]
    pub restart_expected_ms: Maybe<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl Shutdown {
    /// Reason used for a stop.
    pub const STOPPING: &'static str = "gateway stopping";
    /// Reason used for a restart.
    pub const RESTARTING: &'static str = "gateway restarting";

    /// Whether the gateway said it will be back.
    pub fn is_restart(&self) -> bool {
        self.restart_expected_ms.get().is_some() || self.reason == Self::RESTARTING
    }
}

/// One connected client in the presence table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// Display name or host label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Client version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Client platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Client device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Client hardware model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// Client mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Why the entry exists (`connect`, `self`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When the entry was last updated, epoch ms.
    pub ts: u64,
    /// Device id, when the client signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Granted roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Client instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `presence` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceEvent {
    /// The whole table.
    pub presence: Vec<PresenceEntry>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `health` payload and `health` method result (the fields Tether reads; the rest is kept).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthSummary {
    /// Overall health.
    pub ok: bool,
    /// When the summary was computed, epoch ms.
    pub ts: u64,
    /// How long computing it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Default agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent_id: Option<String>,
    /// Seconds between the default agent's heartbeat turns (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u64>,
    /// Each agent, with its heartbeat and sessions in a `health` answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentHealth>,
    /// The default agent's session store (in a `health` answer; the broadcast summary may
    /// leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionsSummary>,
    /// Whether saved config files are applied while the gateway runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_reload: Option<ConfigReload>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.changed` payload (the fields Tether reads; the row snapshot stays in `extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChanged {
    /// The session, when one changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// `start`, `end`, `error`, `message`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why, e.g. `reset`, `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// The session's key again (older clients read `key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When the session last changed, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    /// The session's state (`running`, `done`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Title derived from the first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_title: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `session.message` payload: a message the session's transcript gained, with its place and
/// the session's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMessage {
    /// The session.
    pub session_key: String,
    /// Its agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The message (`__openclaw: {id, seq}` in its extra fields).
    pub message: crate::chat::ChatMessage,
    /// The message's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its position in the transcript, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_seq: Option<u64>,
    /// The session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When the session last changed, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    /// `direct`, `group`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A run is going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_active_run: Option<bool>,
    /// The runs going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_run_ids: Option<Vec<String>>,
    /// The session's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The run that wrote the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `exec.approval.requested` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalRequested {
    /// Approval id, for `exec.approval.resolve`.
    pub id: String,
    /// What would run.
    pub request: ExecApprovalRequest,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<u64>,
    /// Epoch ms after which the request is denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// The command an approval is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalRequest {
    /// The command line, exactly as it would run.
    pub command: String,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Session of the run that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Agent of the run that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Run that asked (Tether extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Tool call that asked (Tether extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Decisions the approver may pick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_decisions: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `exec.approval.resolved` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalResolved {
    /// Approval id.
    pub id: String,
    /// `allow-once`, `allow-always`, `deny` (or `expired` when it timed out).
    pub decision: String,
    /// Who decided (connection or client label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.send_timing`: one step of a UI client's `chat.send`, in milliseconds since the request
/// was received, since its answer was sent and since the run's dispatch started. Sent only to
/// the connection that sent it, for its own timing view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSendTiming {
    /// `dispatch-started`, `model-selected`, `agent-run-started`, `first-assistant-event`,
    /// `dispatch-completed`.
    pub phase: String,
    /// The run.
    pub run_id: String,
    /// Its session.
    pub session_key: String,
    /// Its agent.
    pub agent_id: String,
    /// Since the answer to `chat.send` was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_to_phase_ms: Option<f64>,
    /// Since the request was received.
    pub received_to_phase_ms: f64,
    /// Since the run's dispatch started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_started_to_phase_ms: Option<f64>,
    /// `model-selected`: the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `model-selected`: the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shutdown_keeps_null_distinct_from_absent() {
        for v in [
            json!({"reason":"gateway stopping","restartExpectedMs":null}),
            json!({"reason":"gateway stopping"}),
            json!({"reason":"gateway restarting","restartExpectedMs":1500}),
        ] {
            let s: Shutdown = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&s).unwrap(), v);
        }
        let s: Shutdown =
            serde_json::from_value(json!({"reason":"gateway stopping","restartExpectedMs":null}))
                .unwrap();
        assert_eq!(s.restart_expected_ms, Maybe::Null);
        assert!(!s.is_restart());
    }
}
