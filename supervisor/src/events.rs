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

use crate::output::Line;
use crate::policy::exit::ExitStatus;
use crate::policy::governor::GovernorSnapshot;

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

/// The phase in one word, as a person would say it: what the tray, the window and notifications
/// show. `starting`/`stopping` read `restarting` when the supervisor is on its way back to a
/// running gateway (a restart, a respawn after a crash, an in-process restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Headline {
    /// Link up.
    Running,
    /// Probing or starting, for the first time since a start.
    Starting,
    /// On the way back: stopping for a restart, waiting to respawn, starting again.
    Restarting,
    /// The link was lost; the gateway may still be there.
    Reconnecting,
    /// Stopping for good.
    Stopping,
    /// Nothing running.
    Stopped,
    /// Needs the user (credentials, pairing).
    Paused,
    /// Gave up until the user acts.
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
    /// The phase in one word ([`Headline`]).
    pub headline: Headline,
    /// Wall-clock epoch ms when this phase began (uptime while running, elapsed time while
    /// starting). Stamped by the actor; 0 when unknown.
    #[serde(default)]
    pub since_ms: u64,
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

/// A status change that deserves the user's attention even when no window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// The gateway died unexpectedly; the supervisor is bringing it back.
    Crashed,
    /// The gateway refused the supervisor's credentials; nothing retries until the user acts.
    AuthPaused,
    /// The restart governor's breaker opened after repeated crashes.
    BreakerOpen,
    /// Supervision gave up for another reason (config error, port in use, spawn failure, …).
    Failed,
}

impl StatusEvent {
    /// What, if anything, `self` (following `prev`) should tell a user who is not looking.
    /// Only transitions alert: the same state reported again never does.
    pub fn alert_after(&self, prev: Option<&StatusEvent>) -> Option<Alert> {
        let was = |p: PhaseName| prev.is_some_and(|s| s.phase == p);
        match self.phase {
            PhaseName::Failed if self.problem == Some(ProblemCode::BreakerOpen) => {
                let already = prev.is_some_and(|s| {
                    s.phase == PhaseName::Failed && s.problem == Some(ProblemCode::BreakerOpen)
                });
                (!already).then_some(Alert::BreakerOpen)
            }
            PhaseName::Failed => (!was(PhaseName::Failed)).then_some(Alert::Failed),
            PhaseName::Paused => (!was(PhaseName::Paused)).then_some(Alert::AuthPaused),
            // A respawn after an exit nobody asked for: straight from a live phase (a restart
            // the user or the machine chose goes through `stopping` first) to a backoff or a
            // new generation starting.
            PhaseName::Backoff | PhaseName::Starting if self.headline == Headline::Restarting => {
                let from_live = prev.is_some_and(|p| {
                    matches!(
                        p.phase,
                        PhaseName::Running | PhaseName::Reconnecting | PhaseName::Starting
                    ) && (self.phase == PhaseName::Backoff || p.generation != self.generation)
                });
                from_live.then_some(Alert::Crashed)
            }
            _ => None,
        }
    }
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
    /// Epoch ms when the call started (from the gateway's event time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// The arguments as pretty JSON, at most [`TOOL_ARGS_MAX`] bytes; sent once, with the
    /// first update that knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// The result text, at most [`TOOL_OUTPUT_MAX`] bytes; sent once, when the call finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `output` was cut at [`TOOL_OUTPUT_MAX`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_truncated: bool,
    /// `error`: what went wrong (the start of the failed call's output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Longest tool arguments carried by a [`ToolUpdate`], in bytes.
pub const TOOL_ARGS_MAX: usize = 16 << 10;
/// Longest tool output carried by a [`ToolUpdate`], in bytes.
pub const TOOL_OUTPUT_MAX: usize = 64 << 10;
/// Longest tool error message carried by a [`ToolUpdate`], in bytes.
pub const TOOL_ERROR_MAX: usize = 2 << 10;

/// `s` cut to at most `max` bytes on a char boundary, and whether it was cut.
pub fn truncate_on_char(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
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
    /// The decisions the gateway offers (`allow-once`, `allow-always`, `deny`); absent: all
    /// three. Under `tools.exec.ask: "always"` there is no `allow-always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_decisions: Option<Vec<String>>,
}

/// What a `diagnostic` is about: stable codes, on the wire in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    /// An IO outcome from an older generation or connection was dropped.
    StaleCallback,
    /// A reload was asked for while the gateway was not running.
    Reload,
    /// The reload policy refused a reload.
    ReloadRefused,
    /// A reload waits for active runs.
    ReloadDeferred,
    /// Debounced config changes fired a reload.
    ReloadFired,
    /// A config change was ignored (reload off).
    ReloadIgnored,
    /// A restart waits for active runs.
    RestartDeferred,
    /// An announced in-process restart did not come back in time.
    RestartOverdue,
    /// A deferred restart was dropped (the gateway went away or a stop came first).
    DeferredRestartDropped,
    /// A deferred restart ran.
    DeferredRestartExecuted,
    /// A stop escalated from SIGTERM to SIGKILL.
    StopEscalated,
    /// A stop gave up waiting for the process.
    StopGaveUp,
    /// A call the supervisor made for itself failed.
    CallFailed,
    /// A frame from the gateway could not be read and was dropped.
    UnreadableFrame,
    /// A restart signal could not be sent.
    SignalFailed,
    /// A code this version does not know (from a newer supervisor).
    #[serde(other)]
    Other,
}

impl DiagnosticCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::StaleCallback => "stale_callback",
            DiagnosticCode::Reload => "reload",
            DiagnosticCode::ReloadRefused => "reload_refused",
            DiagnosticCode::ReloadDeferred => "reload_deferred",
            DiagnosticCode::ReloadFired => "reload_fired",
            DiagnosticCode::ReloadIgnored => "reload_ignored",
            DiagnosticCode::RestartDeferred => "restart_deferred",
            DiagnosticCode::RestartOverdue => "restart_overdue",
            DiagnosticCode::DeferredRestartDropped => "deferred_restart_dropped",
            DiagnosticCode::DeferredRestartExecuted => "deferred_restart_executed",
            DiagnosticCode::StopEscalated => "stop_escalated",
            DiagnosticCode::StopGaveUp => "stop_gave_up",
            DiagnosticCode::CallFailed => "call_failed",
            DiagnosticCode::UnreadableFrame => "unreadable_frame",
            DiagnosticCode::SignalFailed => "signal_failed",
            DiagnosticCode::Other => "other",
        }
    }
}

impl std::fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `diagnostic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// What it is about.
    pub code: DiagnosticCode,
    /// Human-readable text.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic.
    pub fn new(code: DiagnosticCode, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
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
    fn diagnostic_codes_are_their_wire_strings_and_unknown_ones_are_other() {
        use DiagnosticCode::*;
        for c in [
            StaleCallback,
            Reload,
            ReloadRefused,
            ReloadDeferred,
            ReloadFired,
            ReloadIgnored,
            RestartDeferred,
            RestartOverdue,
            DeferredRestartDropped,
            DeferredRestartExecuted,
            StopEscalated,
            StopGaveUp,
            CallFailed,
            UnreadableFrame,
            SignalFailed,
        ] {
            let wire = serde_json::to_value(c).expect("encode");
            assert_eq!(wire, serde_json::json!(c.as_str()));
            assert_eq!(
                serde_json::from_value::<DiagnosticCode>(wire).expect("decode"),
                c
            );
        }
        let newer: DiagnosticCode =
            serde_json::from_value(serde_json::json!("a_newer_code")).expect("decode");
        assert_eq!(newer, Other);
    }

    fn status(phase: PhaseName, problem: Option<ProblemCode>) -> StatusEvent {
        StatusEvent {
            phase,
            headline: Headline::Stopped,
            since_ms: 0,
            generation: 1,
            reason: String::new(),
            pid: None,
            port: None,
            owned: true,
            gateway: "tether".into(),
            server: None,
            retry_in_ms: None,
            attempt: None,
            last_exit: None,
            problem,
        }
    }

    #[test]
    fn alerts_fire_on_the_transition_only() {
        let running = status(PhaseName::Running, None);
        let breaker = status(PhaseName::Failed, Some(ProblemCode::BreakerOpen));
        assert_eq!(
            breaker.alert_after(Some(&running)),
            Some(Alert::BreakerOpen)
        );
        assert_eq!(breaker.alert_after(Some(&breaker)), None);
        let config = status(PhaseName::Failed, Some(ProblemCode::ConfigError));
        assert_eq!(config.alert_after(Some(&running)), Some(Alert::Failed));
        assert_eq!(config.alert_after(None), Some(Alert::Failed));
        assert_eq!(
            breaker.alert_after(Some(&config)),
            Some(Alert::BreakerOpen),
            "a config failure that turns into an open breaker is news"
        );
        let paused = status(PhaseName::Paused, Some(ProblemCode::Auth));
        assert_eq!(paused.alert_after(Some(&running)), Some(Alert::AuthPaused));
        assert_eq!(paused.alert_after(Some(&paused)), None);
        assert_eq!(running.alert_after(Some(&paused)), None);
        let stopped = status(PhaseName::Stopped, None);
        assert_eq!(stopped.alert_after(Some(&running)), None);
    }

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
