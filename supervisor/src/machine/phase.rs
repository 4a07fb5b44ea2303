//! The phases and what each one carries.

use std::time::Instant;

use crate::events::ProblemCode;
use crate::governor::RestartCause;
use crate::heartbeat::Heartbeat;

/// The child as the machine knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildRef {
    /// Pid, when known.
    pub pid: Option<u32>,
    /// Tether started it (or its ledger proves so): it may be signalled.
    pub owned: bool,
}

/// What to do once the child has exited during `Stopping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum After {
    Stop,
    Start,
    Restart,
    Respawn(RestartCause),
    Fail(ProblemCode, String),
}

/// The phases, each with what it needs.
#[derive(Debug, Clone)]
pub(super) enum Phase {
    Stopped,
    Probing {
        on_none: Option<(ProblemCode, String)>,
    },
    Starting {
        child: Option<ChildRef>,
        port: Option<u16>,
        attached: bool,
        deadline: Instant,
        connecting: bool,
        retry_at: Option<Instant>,
    },
    Running {
        child: Option<ChildRef>,
        port: u16,
        since: Instant,
        heartbeat: Heartbeat,
        stable_noted: bool,
    },
    Reconnecting {
        child: Option<ChildRef>,
        port: u16,
        retry_at: Option<Instant>,
        connecting: bool,
        deadline: Option<Instant>,
    },
    Backoff {
        until: Instant,
    },
    Stopping {
        child: ChildRef,
        kill_at: Instant,
        killed: bool,
        give_up_at: Instant,
        then: After,
    },
    Paused {
        child: Option<ChildRef>,
        port: Option<u16>,
        reason: String,
    },
    Failed {
        problem: ProblemCode,
        reason: String,
        trial_at: Option<Instant>,
    },
}
