//! `SupervisorHandle`: the public face of the actor — cheap to clone, async verbs, a `oneshot`
//! reply per request — and the types its verbs answer with.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};

use tether_protocol::ErrorShape;

use crate::events::{StatusEvent, SupervisorEvent};
use crate::machine::{Command, Outcome, Refusal};
use crate::metrics::LatencySummary;
use crate::policy::governor::GovernorSnapshot;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No link right now.
    #[error("not connected to the gateway")]
    NotConnected,
    /// No answer in time.
    #[error("{0}: timed out")]
    Timeout(String),
    /// The link went away while the call was pending.
    #[error("{0}: the connection to the gateway was lost")]
    Disconnected(String),
    /// The link's send queue is full.
    #[error("the link is busy")]
    Busy,
    /// The gateway answered with an error.
    #[error("{0}")]
    Gateway(ErrorShape),
    /// The gateway's answer could not be read (e.g. nested too deep to parse).
    #[error("{0}: the gateway's answer could not be read ({1})")]
    Unreadable(String, String),
    /// The supervisor is gone.
    #[error("the supervisor has stopped")]
    Gone,
}

/// Why a command was refused: stable codes, on the wire in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusedCode {
    /// The restart breaker is open; `restart --force` overrides it.
    BreakerOpen,
    /// The reload policy is off.
    ReloadOff,
    /// A gateway Tether did not start, without a restart RPC.
    NotOwned,
    /// The supervisor has stopped.
    Gone,
}

impl RefusedCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusedCode::BreakerOpen => "breaker_open",
            RefusedCode::ReloadOff => "reload_off",
            RefusedCode::NotOwned => "not_owned",
            RefusedCode::Gone => "gone",
        }
    }
}

impl std::fmt::Display for RefusedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Refusal> for RefusedCode {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::BreakerOpen => RefusedCode::BreakerOpen,
            Refusal::ReloadOff => RefusedCode::ReloadOff,
            Refusal::NotOwned => RefusedCode::NotOwned,
        }
    }
}

/// A command's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refused {
    /// Why, for programs.
    pub code: RefusedCode,
    /// Why, and what to do.
    pub message: String,
}

/// `status()`: the current status plus the governor and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Current status.
    pub status: StatusEvent,
    pub governor: GovernorSnapshot,
    pub counters: Value,
    /// Consecutive failures counted by the backoff.
    pub backoff_failures: u32,
    /// Calls waiting for an answer.
    pub pending_calls: usize,
}

/// What the handle asks the actor; each carries its reply.
pub(crate) enum HandleRequest {
    Command(Command, oneshot::Sender<Outcome>),
    Stop(oneshot::Sender<Outcome>),
    Call {
        method: String,
        params: Value,
        timeout: Duration,
        reply: oneshot::Sender<Result<Value, CallError>>,
    },
    Status(oneshot::Sender<Snapshot>),
    Metrics(oneshot::Sender<Metrics>),
    Diagnostics(oneshot::Sender<Value>),
    Shutdown(oneshot::Sender<()>),
}

/// `metrics()`: what a diagnostics view samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// The gateway's pid, when one is known (to sample its memory and CPU).
    pub pid: Option<u32>,
    /// Latency of the gateway calls answered since the previous `metrics()`.
    pub latency: Option<LatencySummary>,
    /// Restarts the governor let through since the supervisor started.
    pub restarts_total: u64,
    /// Successful handshakes since the supervisor started (the first connect included).
    pub connects_total: u64,
    /// Children spawned since the supervisor started.
    pub spawns_total: u64,
}

/// The handle: cheap to clone, async verbs.
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    tx: mpsc::Sender<HandleRequest>,
    events: broadcast::Sender<SupervisorEvent>,
}

impl std::fmt::Debug for HandleRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Request")
    }
}

fn outcome(o: Result<Outcome, oneshot::error::RecvError>) -> Result<String, Refused> {
    match o {
        Ok(Outcome::Accepted(m)) => Ok(m),
        Ok(Outcome::Refused { code, message }) => Err(Refused {
            code: code.into(),
            message,
        }),
        Err(_) => Err(Refused {
            code: RefusedCode::Gone,
            message: "the supervisor has stopped".into(),
        }),
    }
}

impl SupervisorHandle {
    /// A handle on the actor behind `tx`, whose events go out on `events`.
    pub(crate) fn new(
        tx: mpsc::Sender<HandleRequest>,
        events: broadcast::Sender<SupervisorEvent>,
    ) -> Self {
        SupervisorHandle { tx, events }
    }

    async fn command(&self, c: Command) -> Result<String, Refused> {
        let (tx, rx) = oneshot::channel();
        // If the actor is gone the request (and its sender) is dropped: `rx` then says so.
        let _ = self.tx.send(HandleRequest::Command(c, tx)).await;
        outcome(rx.await)
    }

    /// Starts the gateway (also: resume after a pause, retry after a failure; resets the breaker).
    pub async fn start(&self) -> Result<String, Refused> {
        self.command(Command::Start).await
    }

    /// Stops the gateway; returns once it has stopped (bounded by the quit budget).
    pub async fn stop(&self) -> Result<String, Refused> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(HandleRequest::Stop(tx)).await;
        outcome(rx.await)
    }

    /// Restarts the gateway; `force` overrides an open breaker ("restart anyway").
    pub async fn restart(&self, force: bool) -> Result<String, Refused> {
        self.command(Command::Restart { force }).await
    }

    /// Asks for a configuration reload (debounced; carried out per the reload policy).
    pub async fn reload(&self) -> Result<String, Refused> {
        self.command(Command::Reload).await
    }

    /// Calls a gateway method with the default timeout.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        self.call_with_timeout(method, params, Duration::ZERO).await
    }

    /// Calls a gateway method; a zero `timeout` means the default.
    pub async fn call_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(HandleRequest::Call {
                method: method.to_owned(),
                params,
                timeout,
                reply: tx,
            })
            .await
            .map_err(|_| CallError::Gone)?;
        rx.await.map_err(|_| CallError::Gone)?
    }

    /// The current status.
    pub async fn status(&self) -> Option<Snapshot> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(HandleRequest::Status(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Call latency since the previous call of this, the gateway's pid and lifetime counters.
    pub async fn metrics(&self) -> Option<Metrics> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(HandleRequest::Metrics(tx)).await.ok()?;
        rx.await.ok()
    }

    /// The diagnostics export.
    pub async fn diagnostics(&self) -> Option<Value> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(HandleRequest::Diagnostics(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SupervisorEvent> {
        self.events.subscribe()
    }

    /// Stops the gateway and ends the actor.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(HandleRequest::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
