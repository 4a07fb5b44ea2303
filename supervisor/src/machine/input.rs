//! What the machine is fed: commands, IO outcomes and ticks.

use std::time::Duration;

use tether_protocol::ErrorShape;

use crate::events::ServerSummary;
use crate::policy::exit::{ExitStatus, Hints};

/// Imperative commands from the handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start (or resume, or retry after a failure): resets the breaker and the pause.
    Start,
    /// Stop, within the quit budget.
    Stop,
    /// Restart; `force` overrides the governor ("restart anyway").
    Restart {
        /// Override the breaker.
        force: bool,
    },
    /// Reload the gateway's configuration (debounced, per policy).
    Reload,
}

/// A gateway found before spawning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Something answers `connect.challenge` there.
    Gateway {
        /// Its port.
        port: u16,
        /// Its pid, when the lock or ledger told.
        pid: Option<u32>,
        /// Tether's ownership ledger proves Tether started it.
        owned: bool,
    },
    /// The configured port is held by something that is not a gateway.
    Foreign {
        /// The port.
        port: u16,
        /// What holds it, when known.
        holder: String,
    },
}

/// Why connecting failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectError {
    /// Nothing listens yet, or the socket broke before the handshake.
    Transport(String),
    /// The gateway is starting: `UNAVAILABLE` or close 1013.
    Unavailable {
        /// The gateway's hint.
        retry_after: Option<Duration>,
    },
    /// The gateway answered `connect` with an error.
    Rejected(ErrorShape),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Transport(s) => write!(f, "transport: {s}"),
            ConnectError::Unavailable { .. } => f.write_str("gateway starting"),
            ConnectError::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

/// What the handshake told about the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// `hello-ok` summary.
    pub server: ServerSummary,
}

/// Inputs: commands, IO outcomes (tagged with generation or connection) and timer ticks.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// From the handle.
    Command(Command),
    /// The pre-spawn probe finished.
    Probed {
        gen: u64,
        /// What it found.
        found: Option<Found>,
    },
    /// The child process exists.
    Spawned {
        gen: u64,
        /// Its pid.
        pid: Option<u32>,
        /// Its port, when chosen before spawning.
        port: Option<u16>,
    },
    /// The child could not be started.
    SpawnFailed { gen: u64, error: String },
    /// The child printed its ready line (also after each in-process restart).
    Ready {
        gen: u64,
        /// The port it listens on.
        port: u16,
    },
    /// The child exited.
    Exited {
        gen: u64,
        status: ExitStatus,
        /// What its last output lines said.
        hints: Hints,
    },
    /// Handshake done.
    Connected {
        conn: u64,
        /// What `hello-ok` said.
        info: LinkInfo,
    },
    /// Handshake failed.
    ConnectFailed { conn: u64, error: ConnectError },
    /// Any frame arrived on the link (liveness).
    Frame { conn: u64 },
    /// A `shutdown` event arrived.
    Shutdown {
        conn: u64,
        /// `restartExpectedMs`: `Some` for an in-process restart, `None` for a stop.
        restart_expected: Option<Duration>,
    },
    /// A pong arrived.
    Pong { conn: u64 },
    /// The link closed.
    LinkClosed {
        conn: u64,
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// A deadline passed (or the actor just wants the machine to look at the time).
    Tick,
}
