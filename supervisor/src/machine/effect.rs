//! What the machine asks the actor to do.

use crate::events::SupervisorEvent;
use crate::policy::reload::RestartSignal;

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
        /// Why, for programs.
        code: Refusal,
        /// Why, and what to do.
        message: String,
    },
}

/// Why the machine refused a command (its wire name is [`Refusal::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `breaker_open`: the restart breaker is open; `restart --force` overrides it.
    BreakerOpen,
    /// `reload_off`: the reload policy is off.
    ReloadOff,
    /// `not_owned`: a gateway Tether did not start, without a restart RPC.
    NotOwned,
}

impl Refusal {
    /// The stable code clients branch on.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::BreakerOpen => "breaker_open",
            Refusal::ReloadOff => "reload_off",
            Refusal::NotOwned => "not_owned",
        }
    }
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
