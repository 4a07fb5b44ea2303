//! The shapes the webview sees (IPC.md), and their translation from the supervisor's.
//!
//! It owns every struct that crosses to the webview besides the stream envelopes (`bridge`),
//! each `camelCase` like `ui/src/api.ts`. Translation is where secrets and transport details are
//! dropped: the gateway's port never crosses (the page must not know where the gateway listens),
//! and relative times become absolute epoch ms so the page can count down without asking again.
//! Pure functions: the caller passes the wall clock.

use serde::Serialize;
use tether_supervisor::events::{
    ApprovalUpdate, Headline, PhaseName, ProblemCode, ServerSummary, StatusEvent,
};
use tether_supervisor::policy::exit::ExitStatus;
use tether_supervisor::policy::governor::{BreakerState, GovernorSnapshot};
use tether_supervisor::Snapshot;

/// `GatewayStatus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// Phase.
    pub phase: PhaseName,
    /// Phase in one word.
    pub headline: Headline,
    /// Generation.
    pub generation: u64,
    /// Why.
    pub reason: String,
    /// Gateway pid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Tether started it.
    pub owned: bool,
    /// `tether` / `openclaw` / `custom`.
    pub gateway: String,
    /// What `hello-ok` said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerSummary>,
    /// Epoch ms of the next attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// Consecutive failed attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// How the last child exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<ExitInfo>,
    /// The problem, in failed/paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemCode>,
    /// Epoch ms when the phase began.
    pub since_ms: u64,
}

impl GatewayStatus {
    /// From a status event received at `now_ms`.
    pub fn from_event(s: &StatusEvent, now_ms: u64) -> Self {
        GatewayStatus {
            phase: s.phase,
            headline: s.headline,
            generation: s.generation,
            reason: s.reason.clone(),
            pid: s.pid,
            owned: s.owned,
            gateway: s.gateway.clone(),
            server: s.server.clone(),
            retry_at_ms: s.retry_in_ms.map(|ms| now_ms.saturating_add(ms)),
            attempt: s.attempt,
            last_exit: s.last_exit.map(ExitInfo::from),
            problem: s.problem,
            since_ms: s.since_ms,
        }
    }
}

/// `ExitInfo`: how a process ended, absent fields omitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitInfo {
    /// Exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Killing signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl From<ExitStatus> for ExitInfo {
    fn from(e: ExitStatus) -> Self {
        ExitInfo {
            code: e.code,
            signal: e.signal,
        }
    }
}

/// `Governor`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernorView {
    /// Breaker state.
    pub state: BreakerState,
    /// Why.
    pub reason: String,
    /// Restarts in the window now.
    pub restarts_in_window: u32,
    /// The window, ms.
    pub window_ms: u64,
    /// Restarts allowed in the window.
    pub max_restarts: u32,
    /// Epoch ms when an open breaker allows a restart again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_until_ms: Option<u64>,
    /// Trips since it last closed for good.
    pub trips: u32,
    /// Restarts executed.
    pub executed_total: u64,
    /// Restarts suppressed.
    pub suppressed_total: u64,
    /// "Restart anyway" would do something.
    pub override_available: bool,
}

impl GovernorView {
    /// From a governor snapshot taken at `now_ms`.
    pub fn from_snapshot(g: &GovernorSnapshot, now_ms: u64) -> Self {
        GovernorView {
            state: g.state,
            reason: g.reason.clone(),
            restarts_in_window: g.restarts_in_window,
            window_ms: g.window_ms,
            max_restarts: g.max_restarts,
            open_until_ms: (g.state == BreakerState::Open)
                .then(|| now_ms.saturating_add(g.open_for_ms)),
            trips: g.trips,
            executed_total: g.executed_total,
            suppressed_total: g.suppressed_total,
            override_available: g.override_available,
        }
    }
}

/// `StatusView`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// Status.
    pub status: GatewayStatus,
    /// Governor.
    pub governor: GovernorView,
}

impl StatusView {
    /// From a supervisor snapshot taken at `now_ms`.
    pub fn from_snapshot(s: &Snapshot, now_ms: u64) -> Self {
        StatusView {
            status: GatewayStatus::from_event(&s.status, now_ms),
            governor: GovernorView::from_snapshot(&s.governor, now_ms),
        }
    }
}

/// `ApprovalMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", rename = "approval")]
pub struct ApprovalMessage {
    /// `requested` / `resolved`.
    pub state: tether_supervisor::events::ApprovalState,
    /// Approval id.
    pub id: String,
    /// The command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The decision, once resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Epoch ms of expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// The decisions offered; absent: all three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_decisions: Option<Vec<String>>,
}

impl From<&ApprovalUpdate> for ApprovalMessage {
    fn from(a: &ApprovalUpdate) -> Self {
        ApprovalMessage {
            state: a.state,
            id: a.id.clone(),
            command: a.command.clone(),
            cwd: a.cwd.clone(),
            session_key: a.session_key.clone(),
            run_id: a.run_id.clone(),
            decision: a.decision.clone(),
            expires_at_ms: a.expires_at_ms,
            allowed_decisions: a.allowed_decisions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> StatusEvent {
        StatusEvent {
            phase: PhaseName::Backoff,
            headline: Headline::Restarting,
            since_ms: 1_000,
            generation: 3,
            reason: "gateway exited unexpectedly".into(),
            pid: Some(42),
            port: Some(40123),
            owned: true,
            gateway: "tether".into(),
            server: None,
            retry_in_ms: Some(500),
            attempt: Some(2),
            last_exit: Some(ExitStatus::signal(9)),
            problem: None,
        }
    }

    #[test]
    fn the_port_never_crosses_and_times_become_absolute() {
        let v = serde_json::to_value(GatewayStatus::from_event(&event(), 10_000)).unwrap();
        assert_eq!(v["retryAtMs"], 10_500);
        assert_eq!(v["headline"], "restarting");
        assert_eq!(v["sinceMs"], 1_000);
        assert_eq!(v["lastExit"], json!({"signal": 9}));
        let text = v.to_string();
        assert!(!text.contains("40123"), "{text}");
        assert!(v.get("port").is_none());
        assert!(v.get("retryInMs").is_none());
    }
}
