//! The phases and what each one carries.

use std::time::{Duration, Instant};

use crate::events::ProblemCode;
use crate::policy::governor::RestartCause;
use crate::policy::heartbeat::Heartbeat;

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

/// How the gateway being started came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// This supervisor spawned it.
    Spawned,
    /// The probe found it running.
    Attached,
}

/// Where a link attempt stands while starting or reconnecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dial {
    /// No attempt yet: waiting for the spawn or the ready line.
    Waiting,
    /// A handshake is under way.
    Connecting,
    /// The next attempt is due at this instant.
    RetryAt(Instant),
}

impl Dial {
    /// When the next attempt is due, if one is scheduled.
    pub(super) fn retry_at(self) -> Option<Instant> {
        match self {
            Dial::RetryAt(at) => Some(at),
            Dial::Waiting | Dial::Connecting => None,
        }
    }
}

/// How far a stop has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escalation {
    /// SIGTERM sent; SIGKILL follows at this instant.
    Term { kill_at: Instant },
    /// SIGKILL sent.
    Killed,
}

/// What the gateway announced with its last `shutdown` event on the current link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Announced {
    /// Nothing.
    Nothing,
    /// A stop (no `restartExpectedMs`).
    Stop,
    /// An in-process restart, back in about this long.
    Restart(Duration),
}

/// What the last link told, kept to judge the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PastLink {
    /// The pid and boot id the gateway had then.
    pub(super) boot: (Option<u32>, Option<String>),
    /// A child was spawned (or died) since: the next link is to a new process.
    pub(super) respawned: bool,
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
        origin: Origin,
        deadline: Instant,
        dial: Dial,
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
        dial: Dial,
        deadline: Option<Instant>,
    },
    Backoff {
        until: Instant,
    },
    Stopping {
        child: ChildRef,
        escalation: Escalation,
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
