//! `SupervisorEvent`: the one event model everything downstream sees.
//!
//! It owns the JSON shapes the CLI prints with `--events ndjson`, the control socket streams and
//! the desktop app will render: `status`, `chat`, `tool`, `approval`, `governor`, `log`,
//! `diagnostic` and `gateway` (pass-through of gateway events Tether does not model). Each
//! serializes with its `type` field first, camelCase fields, durations in milliseconds with an
//! `Ms` suffix. Events are past-tense facts; nothing here carries a secret (tokens never enter an
//! event; child output is redacted before it becomes a `log` event).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exit::ExitStatus;
use crate::governor::GovernorSnapshot;
use crate::output::Line;

/// Every event the supervisor publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SupervisorEvent {
    /// The lifecycle phase changed (or its details did).
    Status(StatusEvent),
    /// Chat text of a run: cumulative and incremental.
    Chat(ChatUpdate),
    /// A tool call's status moved forward.
    Tool(ToolUpdate),
    /// An approval was requested or resolved.
    Approval(ApprovalUpdate),
    /// The restart governor's state.
    Governor(GovernorSnapshot),
    /// A line of the child's output (classified, de-duplicated, redacted).
    Log(Line),
    /// Something worth knowing that is not a phase change.
    Diagnostic(Diagnostic),
    /// A gateway event Tether passes through unchanged (`health`, `presence`, `sessions.changed`, ...).
    Gateway(GatewayEvent),
}

impl SupervisorEvent {
    /// The `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            SupervisorEvent::Status(_) => "status",
            SupervisorEvent::Chat(_) => "chat",
            SupervisorEvent::Tool(_) => "tool",
            SupervisorEvent::Approval(_) => "approval",
            SupervisorEvent::Governor(_) => "governor",
            SupervisorEvent::Log(_) => "log",
            SupervisorEvent::Diagnostic(_) => "diagnostic",
            SupervisorEvent::Gateway(_) => "gateway",
        }
    }
}

/// Lifecycle phase names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    /// Nothing running, nothing planned.
    Stopped,
    /// Looking for a gateway that already runs for this state.
    Probing,
    /// Child spawned (or gateway found), handshake not done yet.
    Starting,
    /// Link up: `hello-ok` received.
    Running,
    /// Link lost; the gateway may still be there.
    Reconnecting,
    /// Waiting before a respawn.
    Backoff,
    /// Stopping the child.
    Stopping,
    /// Needs the user (credentials, pairing); not retrying.
    Paused,
    /// Gave up (config error, port in use, breaker open) until the user acts.
    Failed,
}

/// What kind of problem a `failed`/`paused` status reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The gateway refused its configuration (exit 78).
    ConfigError,
    /// The port is held by another process.
    PortInUse,
    /// Another gateway holds this state and does not accept Tether's token.
    AlreadyRunning,
    /// Credentials, pairing or protocol: needs the user.
    Auth,
    /// The restart governor suppressed restarts.
    BreakerOpen,
    /// The gateway binary could not be started.
    SpawnFailed,
    /// The gateway never completed the handshake.
    NotReady,
}

/// `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusEvent {
    /// Phase.
    pub phase: PhaseName,
    /// Child generation (bumped on every spawn or attach).
    pub generation: u64,
    /// Why the phase changed.
    pub reason: String,
    /// Gateway process id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Gateway port, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Whether Tether started (and may stop) the gateway process.
    pub owned: bool,
    /// Which gateway is supervised: `tether`, `openclaw` or `custom`.
    pub gateway: String,
    /// What the connected gateway said about itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSummary>,
    /// Time until the next attempt, in backoff or reconnecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    /// Consecutive failed attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// How the last child exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<ExitStatus>,
    /// The problem, in `failed` and `paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemCode>,
}

/// What `hello-ok` told us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSummary {
    /// Gateway version.
    pub version: String,
    /// Negotiated protocol.
    pub protocol: u32,
    /// Boot id (new on every process start or in-process restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// `policy.tickIntervalMs`.
    pub tick_interval_ms: u64,
    /// `snapshot.sessionDefaults.mainSessionKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_session_key: Option<String>,
    /// Whether `gateway.restart.request` is advertised.
    pub restart_rpc: bool,
}

/// `chat.state` as Tether reports it: the gateway's states plus `interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatPhase {
    /// v4 preparation status (`phase` says which).
    Status,
    /// More text.
    Delta,
    /// Finished.
    Final,
    /// Aborted.
    Aborted,
    /// Failed.
    Error,
    /// Cut by a gateway restart or crash: the text is what survived.
    Interrupted,
}

impl ChatPhase {
    /// Whether the run ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ChatPhase::Final | ChatPhase::Aborted | ChatPhase::Error | ChatPhase::Interrupted
        )
    }
}

/// `chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatUpdate {
    /// Run id.
    pub run_id: String,
    /// Session.
    pub session_key: String,
    /// What happened.
    pub state: ChatPhase,
    /// The whole assistant text so far.
    pub text: String,
    /// What this event added (the whole text when `replace`).
    pub delta: String,
    /// The text was rewritten rather than extended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
    /// The run's sequence number, when the gateway sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// `status`: preparation phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why the run stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// `error`/`interrupted`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `error`: the gateway's kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

/// Tool status: only ever moves forward, `running` → `completed` → `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// Started, not finished.
    Running,
    /// Finished.
    Completed,
    /// Failed.
    Error,
}

/// `tool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUpdate {
    /// Run id.
    pub run_id: String,
    /// Tool call id.
    pub tool_call_id: String,
    /// Tool name.
    pub name: String,
    /// Status.
    pub status: ToolStatus,
    /// Session, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Wall time, once finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// First two non-empty output lines, joined by " / ", at most 160 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// Approval state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for a decision.
    Requested,
    /// Decided (or expired).
    Resolved,
}

/// `approval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalUpdate {
    /// Requested or resolved.
    pub state: ApprovalState,
    /// Approval id (for `exec.approval.resolve`).
    pub id: String,
    /// The command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The decision, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Epoch ms after which the request expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
}

/// `diagnostic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Stable machine-readable code, e.g. `stale_callback`, `restart_deferred`.
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// `gateway`: an event passed through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayEvent {
    /// The gateway's event name.
    pub event: String,
    /// Its payload.
    #[serde(default)]
    pub payload: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_field_comes_first_and_round_trips() {
        let e = SupervisorEvent::Chat(ChatUpdate {
            run_id: "r".into(),
            session_key: "agent:main:main".into(),
            state: ChatPhase::Delta,
            text: "Hello wor".into(),
            delta: "wor".into(),
            replace: false,
            seq: Some(3),
            phase: None,
            stop_reason: None,
            error_message: None,
            error_kind: None,
        });
        let s = serde_json::to_string(&e).unwrap();
        assert!(s.starts_with(r#"{"type":"chat","runId":"r""#), "{s}");
        assert!(!s.contains("replace"));
        let back: SupervisorEvent = serde_json::from_str(&s).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.kind(), "chat");
    }
}
