//! What the machine asks the actor to do.

use crate::events::SupervisorEvent;
use crate::profile::RestartSignal;

/// Signals the actor may send to an owned child's process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// Graceful stop.
    Term,
    /// Forced stop.
    Kill,
    /// In-process restart.
    Restart(RestartSignal),
}

/// Answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; what will happen.
    Accepted(String),
    /// Refused; `code` is stable, `message` human-readable.
    Refused {
        /// e.g. `breaker_open`, `reload_off`, `not_running`.
        code: &'static str,
        /// Why, and what to do.
        message: String,
    },
}

/// What the actor must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Answer the command being processed.
    Reply(Outcome),
    /// Look for a running gateway for this state.
    Probe { gen: u64 },
    /// Spawn the child.
    Spawn { gen: u64 },
    /// Open a link and handshake.
    Connect { conn: u64, port: u16 },
    /// Close the current link (pending calls fail at once).
    CloseLink,
    /// Signal the owned child's process group.
    Signal { gen: u64, sig: Sig },
    /// Send a WebSocket ping.
    Ping,
    /// Call `gateway.restart.request`.
    RequestRestart,
    /// After a reconnect: reconcile runs with `chat.history`; `boot_changed` means the gateway
    /// restarted, so runs still open were cut.
    Reconcile {
        /// The gateway process or boot differs from before the link loss.
        boot_changed: bool,
    },
    /// The gateway is gone for now: runs still open end as interrupted.
    InterruptRuns { reason: String },
    /// The child of this generation is gone: forget its ledger entry.
    Forget { gen: u64 },
    /// Publish an event (and journal it).
    Emit(SupervisorEvent),
    /// A stop finished: wake `stop` callers.
    Stopped,
}
