//! `Machine`: the supervisor's lifecycle as a pure state machine.
//!
//! It owns every decision — probe, spawn, connect, retry, back off, trip the breaker, defer a
//! restart, debounce a reload, declare the link dead, escalate SIGTERM to SIGKILL — and makes
//! them synchronously in [`Machine::step`] from an [`Input`] and an instant, returning
//! [`Effect`]s for the actor to carry out. The phase is an enum that carries what belongs to it
//! (the child's pid, the link's heartbeat, deadlines). Two counters guard against stale
//! callbacks: the **generation** (bumped on every spawn, attach or stop) for process inputs and
//! the **connection** number for link inputs; an input from an older one is dropped and
//! reported. Start, stop and restart are serialized because only this one value decides, one
//! input at a time. It must never do IO, read a clock, sleep or hold a handle: the actor does
//! those, and [`Machine::next_deadline`] tells it when to come back with [`Input::Tick`].

use std::time::{Duration, Instant};

use tether_protocol::ErrorShape;

use crate::backoff::{Backoff, BackoffPolicy, Decision, Failure};
use crate::debounce::Debounce;
use crate::deferral::{self, Deferred, Flush, Settled};
use crate::events::{
    Diagnostic, Headline, PhaseName, ProblemCode, ServerSummary, StatusEvent, SupervisorEvent,
};
use crate::exit::{self, ExitClass, ExitStatus, Family, Hints};
use crate::governor::{GovernorPolicy, RestartCause, RestartGovernor, Verdict};
use crate::heartbeat::{Beat, Heartbeat, HeartbeatPolicy};
use crate::profile::RestartSignal;
use crate::reload::{self, HotCapabilities, ReloadMode, ReloadPlan};
use crate::rng::SplitMix64;

/// Tunables of the machine.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// Exit-code contract.
    pub family: Family,
    /// `tether`, `openclaw` or `custom` (for status events).
    pub gateway_label: String,
    /// The child reports readiness and its port on stdout (ours); otherwise connect by polling.
    pub waits_for_ready_line: bool,
    /// In-process restart signal of the profile.
    pub restart_signal: Option<RestartSignal>,
    /// Respawn/reconnect delays.
    pub backoff: BackoffPolicy,
    /// Restart breaker.
    pub governor: GovernorPolicy,
    /// Link liveness.
    pub heartbeat: HeartbeatPolicy,
    /// `reload` policy.
    pub reload_mode: ReloadMode,
    /// Reload debounce (trailing edge).
    pub reload_debounce: Duration,
    /// Longest a burst of reloads is held.
    pub reload_max_wait: Duration,
    /// Spawn → `hello-ok` deadline.
    pub ready_timeout: Duration,
    /// Pause between connection attempts while the gateway starts.
    pub connect_retry: Duration,
    /// SIGTERM → SIGKILL.
    pub stop_grace: Duration,
    /// The whole stop, SIGKILL included, never takes longer than this.
    pub quit_budget: Duration,
    /// Slack beyond `restartExpectedMs` before an in-process restart counts as hung.
    pub restart_grace: Duration,
    /// Seed of the jitter RNG.
    pub seed: u64,
}

impl MachineConfig {
    /// Defaults for a gateway family.
    pub fn for_family(family: Family, label: &str) -> Self {
        let upstream = family == Family::OpenClaw;
        MachineConfig {
            family,
            gateway_label: label.to_owned(),
            waits_for_ready_line: !upstream,
            restart_signal: Some(if upstream {
                RestartSignal::Usr2
            } else {
                RestartSignal::Usr1
            }),
            backoff: BackoffPolicy::default(),
            governor: GovernorPolicy::default(),
            heartbeat: HeartbeatPolicy::default(),
            reload_mode: ReloadMode::Hybrid,
            reload_debounce: Duration::from_millis(1200),
            reload_max_wait: Duration::from_secs(6),
            // Upstream needs ~7.5 s on 2 cores (up to ~10 s on a fresh state).
            ready_timeout: Duration::from_secs(if upstream { 60 } else { 20 }),
            connect_retry: Duration::from_millis(if upstream { 250 } else { 50 }),
            stop_grace: Duration::from_secs(5),
            quit_budget: Duration::from_secs(8),
            restart_grace: Duration::from_secs(if upstream { 20 } else { 10 }),
            seed: 0,
        }
    }
}

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

/// The status reason while the gateway refuses logins from this machine.
fn rate_limit_reason(wait: Duration) -> String {
    format!(
        "the gateway is up but refuses logins from this machine for now (too many failed \
         attempts, e.g. a client with a stale token): retrying in {} s",
        wait.as_secs().max(1)
    )
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
        /// Generation.
        gen: u64,
        /// What it found.
        found: Option<Found>,
    },
    /// The child process exists.
    Spawned {
        /// Generation.
        gen: u64,
        /// Its pid.
        pid: Option<u32>,
        /// Its port, when chosen before spawning.
        port: Option<u16>,
    },
    /// The child could not be started.
    SpawnFailed {
        /// Generation.
        gen: u64,
        /// Why.
        error: String,
    },
    /// The child printed its ready line (also after each in-process restart).
    Ready {
        /// Generation.
        gen: u64,
        /// The port it listens on.
        port: u16,
    },
    /// The child exited.
    Exited {
        /// Generation.
        gen: u64,
        /// How.
        status: ExitStatus,
        /// What its last output lines said.
        hints: Hints,
    },
    /// Handshake done.
    Connected {
        /// Connection number.
        conn: u64,
        /// What `hello-ok` said.
        info: LinkInfo,
    },
    /// Handshake failed.
    ConnectFailed {
        /// Connection number.
        conn: u64,
        /// Why.
        error: ConnectError,
    },
    /// Any frame arrived on the link (liveness).
    Frame {
        /// Connection number.
        conn: u64,
    },
    /// A `shutdown` event arrived.
    Shutdown {
        /// Connection number.
        conn: u64,
        /// `restartExpectedMs`: `Some` for an in-process restart, `None` for a stop.
        restart_expected: Option<Duration>,
    },
    /// A pong arrived.
    Pong {
        /// Connection number.
        conn: u64,
    },
    /// The link closed.
    LinkClosed {
        /// Connection number.
        conn: u64,
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// A deadline passed (or the actor just wants the machine to look at the time).
    Tick,
}

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
    Probe {
        /// Generation.
        gen: u64,
    },
    /// Spawn the child.
    Spawn {
        /// Generation.
        gen: u64,
    },
    /// Open a link and handshake.
    Connect {
        /// Connection number.
        conn: u64,
        /// Port.
        port: u16,
    },
    /// Close the current link (pending calls fail at once).
    CloseLink,
    /// Signal the owned child's process group.
    Signal {
        /// Generation.
        gen: u64,
        /// Which.
        sig: Sig,
    },
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
    InterruptRuns {
        /// Why.
        reason: String,
    },
    /// The child of this generation is gone: forget its ledger entry.
    Forget {
        /// Generation.
        gen: u64,
    },
    /// Publish an event (and journal it).
    Emit(SupervisorEvent),
    /// A stop finished: wake `stop` callers.
    Stopped,
}

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
enum After {
    Stop,
    Start,
    Restart,
    Respawn(RestartCause),
    Fail(ProblemCode, String),
}

/// The phases, each with what it needs.
#[derive(Debug, Clone)]
enum Phase {
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

/// Counters for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Children spawned.
    pub spawns: u64,
    /// Children that exited.
    pub exits: u64,
    /// Successful handshakes.
    pub connects: u64,
    /// Failed handshakes.
    pub connect_failures: u64,
    /// Links declared dead by the heartbeat.
    pub heartbeat_deaths: u64,
    /// Inputs dropped because they belonged to an older generation or connection.
    pub stale_dropped: u64,
    /// Restart requests deferred while starting.
    pub deferred: u64,
    /// Reload requests coalesced by the debounce.
    pub reloads_coalesced: u64,
}

/// The state machine.
#[derive(Debug)]
pub struct Machine {
    cfg: MachineConfig,
    phase: Phase,
    gen: u64,
    conn: u64,
    backoff: Backoff,
    governor: RestartGovernor,
    debounce: Debounce,
    deferred: Option<Deferred>,
    rng: SplitMix64,
    last_exit: Option<ExitStatus>,
    server: Option<ServerSummary>,
    last_boot: Option<(Option<u32>, Option<String>)>,
    booted_at: Option<Instant>,
    expect_restart: Option<Option<Duration>>,
    had_link: bool,
    respawned_since_link: bool,
    /// On the way back to a running gateway (restart, respawn, in-process restart): what
    /// [`Headline::Restarting`] reports. Kept by [`Machine::set`].
    restarting: bool,
    /// When the current phase (by name) began.
    phase_entered: Option<Instant>,
    counters: Counters,
}

impl Machine {
    /// A stopped machine.
    pub fn new(cfg: MachineConfig) -> Self {
        Machine {
            backoff: Backoff::new(cfg.backoff),
            governor: RestartGovernor::new(cfg.governor),
            debounce: Debounce::new(cfg.reload_debounce, cfg.reload_max_wait),
            rng: SplitMix64::new(cfg.seed),
            cfg,
            phase: Phase::Stopped,
            gen: 0,
            conn: 0,
            deferred: None,
            last_exit: None,
            server: None,
            last_boot: None,
            booted_at: None,
            expect_restart: None,
            had_link: false,
            respawned_since_link: false,
            restarting: false,
            phase_entered: None,
            counters: Counters::default(),
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.gen
    }

    /// The current connection number.
    pub fn connection(&self) -> u64 {
        self.conn
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The governor (for snapshots).
    pub fn governor(&self) -> &RestartGovernor {
        &self.governor
    }

    /// Consecutive failures counted by the backoff.
    pub fn backoff_failures(&self) -> u32 {
        self.backoff.failures()
    }

    /// When the current phase began (`None` before the first input).
    pub fn phase_entered(&self) -> Option<Instant> {
        self.phase_entered
    }

    /// The current phase in one word.
    pub fn headline(&self) -> Headline {
        match &self.phase {
            Phase::Stopped => Headline::Stopped,
            Phase::Running { .. } => Headline::Running,
            Phase::Paused { .. } => Headline::Paused,
            Phase::Failed { .. } => Headline::Failed,
            Phase::Backoff { .. } => Headline::Restarting,
            Phase::Reconnecting { .. } if self.expect_restart.is_some() => Headline::Restarting,
            Phase::Reconnecting { .. } => Headline::Reconnecting,
            Phase::Probing { .. } | Phase::Starting { .. } if self.restarting => {
                Headline::Restarting
            }
            Phase::Probing { .. } | Phase::Starting { .. } => Headline::Starting,
            Phase::Stopping { .. } if self.restarting => Headline::Restarting,
            Phase::Stopping { .. } => Headline::Stopping,
        }
    }

    /// The current phase name.
    pub fn phase(&self) -> PhaseName {
        match self.phase {
            Phase::Stopped => PhaseName::Stopped,
            Phase::Probing { .. } => PhaseName::Probing,
            Phase::Starting { .. } => PhaseName::Starting,
            Phase::Running { .. } => PhaseName::Running,
            Phase::Reconnecting { .. } => PhaseName::Reconnecting,
            Phase::Backoff { .. } => PhaseName::Backoff,
            Phase::Stopping { .. } => PhaseName::Stopping,
            Phase::Paused { .. } => PhaseName::Paused,
            Phase::Failed { .. } => PhaseName::Failed,
        }
    }

    /// The status event describing the current phase.
    pub fn status(&self, reason: &str, now: Instant) -> StatusEvent {
        let mut s = StatusEvent {
            phase: self.phase(),
            headline: self.headline(),
            since_ms: 0,
            generation: self.gen,
            reason: reason.to_owned(),
            pid: None,
            port: None,
            owned: false,
            gateway: self.cfg.gateway_label.clone(),
            server: None,
            retry_in_ms: None,
            attempt: None,
            last_exit: self.last_exit,
            problem: None,
        };
        let child_fields = |s: &mut StatusEvent, child: &Option<ChildRef>, port: Option<u16>| {
            s.pid = child.and_then(|c| c.pid);
            s.owned = child.is_some_and(|c| c.owned);
            s.port = port;
        };
        let until = |t: Instant| Some(ms(t.saturating_duration_since(now)));
        match &self.phase {
            Phase::Stopped | Phase::Probing { .. } => {}
            Phase::Starting { child, port, .. } => child_fields(&mut s, child, *port),
            Phase::Running { child, port, .. } => {
                child_fields(&mut s, child, Some(*port));
                s.server = self.server.clone();
            }
            Phase::Reconnecting {
                child,
                port,
                retry_at,
                ..
            } => {
                child_fields(&mut s, child, Some(*port));
                s.retry_in_ms = retry_at.and_then(until);
                s.attempt = Some(self.backoff.failures());
            }
            Phase::Backoff { until: t } => {
                s.retry_in_ms = until(*t);
                s.attempt = Some(self.backoff.failures());
            }
            Phase::Stopping { child, .. } => child_fields(&mut s, &Some(*child), None),
            Phase::Paused {
                child,
                port,
                reason: why,
            } => {
                child_fields(&mut s, child, *port);
                s.problem = Some(ProblemCode::Auth);
                if reason.is_empty() {
                    s.reason = why.clone();
                }
            }
            Phase::Failed {
                problem,
                trial_at,
                reason: why,
            } => {
                s.problem = Some(*problem);
                if reason.is_empty() {
                    s.reason = why.clone();
                }
                s.retry_in_ms = trial_at.and_then(until);
            }
        }
        s
    }

    /// The earliest instant at which a [`Input::Tick`] may change something.
    pub fn next_deadline(&self) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::Stopped | Phase::Probing { .. } | Phase::Paused { .. } => None,
            Phase::Starting {
                deadline, retry_at, ..
            } => Some(retry_at.map_or(*deadline, |r| r.min(*deadline))),
            Phase::Running {
                heartbeat,
                since,
                stable_noted,
                ..
            } => {
                let hb = heartbeat.next_deadline();
                Some(if *stable_noted {
                    hb
                } else {
                    hb.min(*since + self.cfg.governor.stable_after)
                })
            }
            Phase::Reconnecting {
                retry_at, deadline, ..
            } => match (retry_at, deadline) {
                (Some(a), Some(b)) => Some((*a).min(*b)),
                (a, b) => a.or(*b),
            },
            Phase::Backoff { until } => Some(*until),
            Phase::Stopping {
                kill_at,
                killed,
                give_up_at,
                ..
            } => Some(if *killed { *give_up_at } else { *kill_at }),
            Phase::Failed { trial_at, .. } => *trial_at,
        };
        match (phase, self.debounce.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feeds one input at `now`.
    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(stale) = self.stale(&input) {
            self.counters.stale_dropped += 1;
            fx.push(Effect::Emit(SupervisorEvent::Diagnostic(Diagnostic::new(
                "stale_callback",
                stale,
            ))));
            return fx;
        }
        match input {
            Input::Command(c) => self.command(c, now, &mut fx),
            Input::Probed { found, .. } => self.probed(found, now, &mut fx),
            Input::Spawned { pid, port, .. } => self.spawned(pid, port, now, &mut fx),
            Input::SpawnFailed { error, .. } => self.spawn_failed(error, now, &mut fx),
            Input::Ready { port, .. } => self.ready(port, now, &mut fx),
            Input::Exited { status, hints, .. } => self.exited(status, hints, now, &mut fx),
            Input::Connected { info, .. } => self.connected(info, now, &mut fx),
            Input::ConnectFailed { error, .. } => self.connect_failed(error, now, &mut fx),
            Input::Frame { .. } | Input::Pong { .. } => {
                if let Phase::Running { heartbeat, .. } = &mut self.phase {
                    heartbeat.on_frame(now);
                }
            }
            Input::Shutdown {
                restart_expected, ..
            } => {
                if let Phase::Running { heartbeat, .. } = &mut self.phase {
                    heartbeat.on_frame(now);
                }
                self.expect_restart = Some(restart_expected);
            }
            Input::LinkClosed { code, reason, .. } => self.link_closed(code, reason, now, &mut fx),
            Input::Tick => self.tick(now, &mut fx),
        }
        fx
    }

    /// `Some(description)` when the input belongs to an older generation or connection.
    fn stale(&self, input: &Input) -> Option<String> {
        let (what, got, current) = match input {
            Input::Probed { gen, .. }
            | Input::Spawned { gen, .. }
            | Input::SpawnFailed { gen, .. }
            | Input::Ready { gen, .. }
            | Input::Exited { gen, .. } => ("generation", *gen, self.gen),
            Input::Connected { conn, .. }
            | Input::ConnectFailed { conn, .. }
            | Input::Frame { conn }
            | Input::Shutdown { conn, .. }
            | Input::Pong { conn }
            | Input::LinkClosed { conn, .. } => ("connection", *conn, self.conn),
            Input::Command(_) | Input::Tick => return None,
        };
        (got != current).then(|| {
            format!("dropped a stale callback from {what} {got} (current {current}): {input:?}")
                .chars()
                .take(300)
                .collect()
        })
    }

    // ----- transitions ---------------------------------------------------------------------

    fn set(&mut self, phase: Phase, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
        self.restarting = match &phase {
            Phase::Stopping { then, .. } => matches!(then, After::Restart | After::Respawn(_)),
            Phase::Backoff { .. } => true,
            Phase::Probing { .. } | Phase::Starting { .. } | Phase::Reconnecting { .. } => {
                self.restarting
            }
            Phase::Running { .. }
            | Phase::Stopped
            | Phase::Paused { .. }
            | Phase::Failed { .. } => false,
        };
        if self.phase_entered.is_none()
            || std::mem::discriminant(&phase) != std::mem::discriminant(&self.phase)
        {
            self.phase_entered = Some(now);
        }
        self.phase = phase;
        fx.push(Effect::Emit(SupervisorEvent::Status(
            self.status(reason, now),
        )));
        let settled = match &self.phase {
            Phase::Running { .. } => self.booted_at.map(|b| Settled::Running { booted_at: b }),
            Phase::Stopped => Some(Settled::Stopped),
            Phase::Failed { .. } | Phase::Paused { .. } | Phase::Backoff { .. } => {
                Some(Settled::Failed)
            }
            _ => None,
        };
        if let (Some(settled), Some(d)) = (settled, self.deferred) {
            self.deferred = None;
            match deferral::flush(&d, settled) {
                Flush::Execute => {
                    diag(
                        fx,
                        "deferred_restart_executed",
                        "executing the restart deferred while starting",
                    );
                    if d.cause == RestartCause::Reload {
                        self.reload_now(now, fx);
                    } else {
                        self.restart(d.cause, d.force, now, fx);
                    }
                }
                Flush::Drop(why) => diag(
                    fx,
                    "deferred_restart_dropped",
                    format!("deferred restart dropped: {why}"),
                ),
            }
        }
    }

    fn emit_governor(&self, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::Emit(SupervisorEvent::Governor(
            self.governor.snapshot(now),
        )));
    }

    fn new_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    fn begin_probe(
        &mut self,
        on_none: Option<(ProblemCode, String)>,
        reason: &str,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let gen = self.new_gen();
        fx.push(Effect::Probe { gen });
        self.set(Phase::Probing { on_none }, reason, now, fx);
    }

    fn spawn(&mut self, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
        let gen = self.new_gen();
        self.counters.spawns += 1;
        self.respawned_since_link = true;
        self.booted_at = Some(now);
        fx.push(Effect::Spawn { gen });
        self.set(
            Phase::Starting {
                child: None,
                port: None,
                attached: false,
                deadline: now + self.cfg.ready_timeout,
                connecting: false,
                retry_at: None,
            },
            reason,
            now,
            fx,
        );
    }

    fn connect(&mut self, port: u16, fx: &mut Vec<Effect>) {
        self.conn += 1;
        fx.push(Effect::Connect {
            conn: self.conn,
            port,
        });
    }

    fn fail(&mut self, problem: ProblemCode, reason: String, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::InterruptRuns {
            reason: reason.clone(),
        });
        self.set(
            Phase::Failed {
                problem,
                reason: reason.clone(),
                trial_at: None,
            },
            &reason,
            now,
            fx,
        );
    }

    fn stopping(
        &mut self,
        child: ChildRef,
        then: After,
        sig: Sig,
        reason: &str,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::CloseLink);
        fx.push(Effect::Signal { gen: self.gen, sig });
        let killed = sig == Sig::Kill;
        let grace = self.cfg.stop_grace.min(self.cfg.quit_budget);
        self.set(
            Phase::Stopping {
                child,
                kill_at: now + grace,
                killed,
                give_up_at: now + self.cfg.quit_budget,
                then,
            },
            reason,
            now,
            fx,
        );
    }

    /// Kills an owned child that cannot go on, and respawns it if the governor allows (with
    /// `allowed` as the reason), else fails with the breaker open (with `suppressed`).
    fn kill_then_respawn(
        &mut self,
        child: ChildRef,
        cause: RestartCause,
        allowed: &str,
        suppressed: &str,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let verdict = self.governor.request(cause, now, false);
        self.emit_governor(now, fx);
        match verdict {
            Verdict::Allow => {
                self.stopping(child, After::Respawn(cause), Sig::Kill, allowed, now, fx);
            }
            Verdict::Suppress { reason, .. } => self.stopping(
                child,
                After::Fail(ProblemCode::BreakerOpen, reason),
                Sig::Kill,
                suppressed,
                now,
                fx,
            ),
        }
    }

    /// Respawn now, or after the backoff's delay, or pause, as the backoff decides (the governor
    /// has already allowed it).
    fn respawn_after_backoff(&mut self, why: &str, now: Instant, fx: &mut Vec<Effect>) {
        self.restarting = true;
        match self.backoff.on_failure(
            &Failure::Transient { retry_after: None },
            now,
            &mut self.rng,
        ) {
            Decision::Retry { after, .. } if after.is_zero() => {
                self.spawn(&format!("respawning at once: {why}"), now, fx);
            }
            Decision::Retry { after, attempt } => self.set(
                Phase::Backoff { until: now + after },
                &format!("{why}; respawn {attempt} in {} ms", after.as_millis()),
                now,
                fx,
            ),
            Decision::Paused { reason } => self.set(
                Phase::Paused {
                    child: None,
                    port: None,
                    reason: reason.clone(),
                },
                &reason,
                now,
                fx,
            ),
        }
    }

    /// Respawn after a failure, through the governor and the backoff.
    fn respawn(&mut self, cause: RestartCause, why: &str, now: Instant, fx: &mut Vec<Effect>) {
        match self.governor.request(cause, now, false) {
            Verdict::Allow => {
                self.emit_governor(now, fx);
                self.respawn_after_backoff(why, now, fx);
            }
            Verdict::Suppress { reason, retry_in } => {
                self.emit_governor(now, fx);
                fx.push(Effect::InterruptRuns {
                    reason: format!("{why}; {reason}"),
                });
                self.set(
                    Phase::Failed {
                        problem: ProblemCode::BreakerOpen,
                        reason: reason.clone(),
                        trial_at: Some(now + retry_in),
                    },
                    &format!("{why}; restarts suppressed: {reason}"),
                    now,
                    fx,
                );
            }
        }
    }

    // ----- commands ------------------------------------------------------------------------

    fn command(&mut self, c: Command, now: Instant, fx: &mut Vec<Effect>) {
        match c {
            Command::Start => self.start(now, fx),
            Command::Stop => self.stop(now, fx),
            Command::Restart { force } => self.restart(RestartCause::Explicit, force, now, fx),
            Command::Reload => {
                if self.cfg.reload_mode == ReloadMode::Off {
                    fx.push(Effect::Reply(Outcome::Refused {
                        code: "reload_off",
                        message: "reload policy is off".into(),
                    }));
                    return;
                }
                if self.debounce.is_pending() {
                    self.counters.reloads_coalesced += 1;
                }
                self.debounce.request(now);
                fx.push(Effect::Reply(Outcome::Accepted(format!(
                    "reload scheduled ({} ms debounce, policy {:?})",
                    self.cfg.reload_debounce.as_millis(),
                    self.cfg.reload_mode
                ))));
            }
        }
    }

    fn start(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let reply =
            |fx: &mut Vec<Effect>, m: &str| fx.push(Effect::Reply(Outcome::Accepted(m.into())));
        match &mut self.phase {
            Phase::Stopped | Phase::Failed { .. } | Phase::Backoff { .. } => {
                reply(fx, "starting");
                self.governor.reset();
                self.backoff.resume();
                self.emit_governor(now, fx);
                self.begin_probe(None, "start requested", now, fx);
            }
            Phase::Paused { child, port, .. } => {
                reply(fx, "resuming");
                self.backoff.resume();
                match (child.as_ref().copied(), *port) {
                    (child @ Some(_), Some(port)) => {
                        self.connect(port, fx);
                        self.set(
                            Phase::Reconnecting {
                                child,
                                port,
                                retry_at: None,
                                connecting: true,
                                deadline: None,
                            },
                            "resumed by the user",
                            now,
                            fx,
                        );
                    }
                    _ => self.begin_probe(None, "resumed by the user", now, fx),
                }
            }
            Phase::Stopping { then, .. } => {
                *then = After::Start;
                reply(fx, "will start once the stop completes");
            }
            Phase::Probing { .. }
            | Phase::Starting { .. }
            | Phase::Running { .. }
            | Phase::Reconnecting { .. } => reply(fx, "already started"),
        }
    }

    fn stop(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        self.debounce.cancel();
        fx.push(Effect::Reply(Outcome::Accepted("stopping".into())));
        let owned_child = |c: &Option<ChildRef>| c.filter(|c| c.owned && c.pid.is_some());
        match &mut self.phase {
            Phase::Stopped => fx.push(Effect::Stopped),
            Phase::Stopping { then, .. } => *then = After::Stop,
            Phase::Starting { child, .. }
            | Phase::Running { child, .. }
            | Phase::Reconnecting { child, .. }
            | Phase::Paused { child, .. } => {
                match (owned_child(child), *child) {
                    (Some(c), _) => {
                        fx.push(Effect::InterruptRuns {
                            reason: "gateway stopped by the user".into(),
                        });
                        self.stopping(c, After::Stop, Sig::Term, "stop requested", now, fx)
                    }
                    (None, Some(_)) => {
                        // Never kill a process Tether did not start: just let go of it.
                        fx.push(Effect::CloseLink);
                        self.enter_stopped("stop requested (the gateway was not started by Tether and keeps running)", now, fx);
                    }
                    (None, None) => {
                        // A spawn still in flight comes back stale and the actor kills it.
                        fx.push(Effect::CloseLink);
                        self.enter_stopped("stop requested", now, fx);
                    }
                }
            }
            Phase::Probing { .. } | Phase::Backoff { .. } | Phase::Failed { .. } => {
                self.enter_stopped("stop requested", now, fx)
            }
        }
    }

    fn enter_stopped(&mut self, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
        self.new_gen();
        self.conn += 1;
        fx.push(Effect::InterruptRuns {
            reason: "gateway stopped".into(),
        });
        self.set(Phase::Stopped, reason, now, fx);
        fx.push(Effect::Stopped);
    }

    fn restart(&mut self, cause: RestartCause, force: bool, now: Instant, fx: &mut Vec<Effect>) {
        let accept = |fx: &mut Vec<Effect>, m: String| fx.push(Effect::Reply(Outcome::Accepted(m)));
        match &mut self.phase {
            // The breaker is open: a plain restart asks the governor like any restart would
            // (the user's override is `force`, or `start`, which resets it).
            Phase::Failed {
                problem: ProblemCode::BreakerOpen,
                ..
            } if !force => match self.governor.request(cause, now, false) {
                Verdict::Allow => {
                    accept(fx, "not running: starting (breaker trial)".into());
                    self.backoff.resume();
                    self.emit_governor(now, fx);
                    self.begin_probe(None, "restart requested while not running", now, fx);
                }
                Verdict::Suppress { reason, .. } => self.suppressed(reason, now, fx),
            },
            Phase::Stopped | Phase::Failed { .. } | Phase::Paused { child: None, .. } => {
                accept(fx, "not running: starting".into());
                if force {
                    self.governor.request(cause, now, true);
                } else {
                    self.governor.reset();
                }
                self.backoff.resume();
                self.emit_governor(now, fx);
                self.begin_probe(None, "restart requested while not running", now, fx);
            }
            Phase::Probing { .. } | Phase::Starting { .. } | Phase::Reconnecting { .. } => {
                let force = force || self.deferred.is_some_and(|d| d.force);
                self.deferred = Some(Deferred {
                    cause,
                    force,
                    requested_at: now,
                });
                self.counters.deferred += 1;
                accept(fx, "deferred until the gateway is up".into());
                diag(
                    fx,
                    "restart_deferred",
                    "restart deferred: the gateway is still starting",
                );
            }
            Phase::Stopping { then, .. } => {
                if *then == After::Stop {
                    *then = After::Start;
                }
                accept(fx, "will start once the stop completes".into());
            }
            Phase::Backoff { .. } => match self.governor.request(cause, now, force) {
                Verdict::Allow => {
                    accept(fx, "respawning now".into());
                    self.emit_governor(now, fx);
                    self.spawn("restart requested during backoff", now, fx);
                }
                Verdict::Suppress { reason, .. } => self.suppressed(reason, now, fx),
            },
            Phase::Paused { child: Some(c), .. } | Phase::Running { child: Some(c), .. }
                if c.owned && c.pid.is_some() =>
            {
                let c = *c;
                match self.governor.request(cause, now, force) {
                    Verdict::Allow => {
                        accept(fx, "restarting".into());
                        self.emit_governor(now, fx);
                        fx.push(Effect::InterruptRuns {
                            reason: "gateway restarted".into(),
                        });
                        self.stopping(
                            c,
                            After::Restart,
                            Sig::Term,
                            &format!("{cause:?} restart").to_lowercase(),
                            now,
                            fx,
                        );
                    }
                    Verdict::Suppress { reason, .. } => self.suppressed(reason, now, fx),
                }
            }
            Phase::Running { .. } | Phase::Paused { .. } => {
                let rpc = self.server.as_ref().is_some_and(|s| s.restart_rpc);
                if rpc && matches!(self.phase, Phase::Running { .. }) {
                    match self.governor.request(cause, now, force) {
                        Verdict::Allow => {
                            accept(fx, "asked the gateway to restart itself".into());
                            self.emit_governor(now, fx);
                            fx.push(Effect::RequestRestart);
                        }
                        Verdict::Suppress { reason, .. } => self.suppressed(reason, now, fx),
                    }
                } else {
                    fx.push(Effect::Reply(Outcome::Refused {
                        code: "not_owned",
                        message: "this gateway was not started by Tether and offers no restart RPC; restart it where it was started".into(),
                    }));
                }
            }
        }
    }

    fn suppressed(&mut self, reason: String, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::Reply(Outcome::Refused {
            code: "breaker_open",
            message: format!("{reason}; use restart --force to restart anyway"),
        }));
        self.emit_governor(now, fx);
    }

    fn reload_now(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let (owned, running) = match &self.phase {
            Phase::Running { child, .. } => {
                (child.is_some_and(|c| c.owned && c.pid.is_some()), true)
            }
            _ => (false, false),
        };
        if !running {
            if matches!(
                self.phase,
                Phase::Probing { .. } | Phase::Starting { .. } | Phase::Reconnecting { .. }
            ) {
                self.deferred = Some(Deferred {
                    cause: RestartCause::Reload,
                    force: false,
                    requested_at: now,
                });
                self.counters.deferred += 1;
                diag(
                    fx,
                    "reload_deferred",
                    "reload deferred: the gateway is still starting",
                );
            } else {
                diag(
                    fx,
                    "reload_ignored",
                    "reload ignored: the gateway is not running",
                );
            }
            return;
        }
        let caps = HotCapabilities {
            restart_rpc: self.server.as_ref().is_some_and(|s| s.restart_rpc),
            signal: if owned { self.cfg.restart_signal } else { None },
        };
        match reload::plan(self.cfg.reload_mode, caps) {
            ReloadPlan::Rpc => {
                diag(
                    fx,
                    "reload",
                    "reload: asking the gateway to restart in-process (gateway.restart.request)",
                );
                fx.push(Effect::RequestRestart);
            }
            ReloadPlan::Signal(s) => {
                diag(
                    fx,
                    "reload",
                    format!("reload: in-process restart by signal {s:?}"),
                );
                fx.push(Effect::Signal {
                    gen: self.gen,
                    sig: Sig::Restart(s),
                });
            }
            ReloadPlan::Restart => {
                // Full restart; replies of `restart` are not wanted here.
                let mut inner = Vec::new();
                self.restart(RestartCause::Reload, false, now, &mut inner);
                fx.extend(inner.into_iter().filter(|e| !matches!(e, Effect::Reply(_))));
            }
            ReloadPlan::Refuse(why) => diag(fx, "reload_refused", why),
        }
    }

    // ----- IO outcomes ---------------------------------------------------------------------

    fn probed(&mut self, found: Option<Found>, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Probing { on_none } = &self.phase else {
            return;
        };
        let on_none = on_none.clone();
        match found {
            None => match on_none {
                None => self.spawn("no running gateway found: spawning", now, fx),
                Some((problem, reason)) => self.fail(problem, reason, now, fx),
            },
            Some(Found::Foreign { port, holder }) => self.fail(
                ProblemCode::PortInUse,
                format!("port {port} is in use by {holder}, which is not a gateway; Tether will not touch it. Free the port or choose another one"),
                now,
                fx,
            ),
            Some(Found::Gateway { port, pid, owned }) => {
                self.booted_at = None;
                self.connect(port, fx);
                let who = pid.map_or(String::new(), |p| format!(" (pid {p})"));
                self.set(
                    Phase::Starting {
                        child: Some(ChildRef { pid, owned }),
                        port: Some(port),
                        attached: true,
                        deadline: now + self.cfg.ready_timeout.min(Duration::from_secs(15)),
                        connecting: true,
                        retry_at: None,
                    },
                    &format!("found a running gateway on port {port}{who}: attaching"),
                    now,
                    fx,
                );
            }
        }
    }

    fn spawned(&mut self, pid: Option<u32>, port: Option<u16>, now: Instant, fx: &mut Vec<Effect>) {
        let wait_ready = self.cfg.waits_for_ready_line;
        let mut connect_to = None;
        if let Phase::Starting {
            child,
            port: p,
            connecting,
            ..
        } = &mut self.phase
        {
            *child = Some(ChildRef { pid, owned: true });
            *p = port;
            if let (Some(port), false) = (port, wait_ready) {
                *connecting = true;
                connect_to = Some(port);
            }
        }
        if let Some(port) = connect_to {
            self.connect(port, fx);
        }
        let pid_s = pid.map_or("?".into(), |p| p.to_string());
        fx.push(Effect::Emit(SupervisorEvent::Status(
            self.status(&format!("spawned pid {pid_s}"), now),
        )));
    }

    fn spawn_failed(&mut self, error: String, now: Instant, fx: &mut Vec<Effect>) {
        if matches!(self.phase, Phase::Starting { .. }) {
            self.fail(
                ProblemCode::SpawnFailed,
                format!("could not start the gateway: {error}"),
                now,
                fx,
            );
        }
    }

    fn ready(&mut self, port: u16, now: Instant, fx: &mut Vec<Effect>) {
        let _ = now;
        let go = match &mut self.phase {
            Phase::Starting {
                port: p,
                connecting,
                ..
            } => {
                *p = Some(port);
                !std::mem::replace(connecting, true)
            }
            Phase::Reconnecting {
                port: p,
                connecting,
                retry_at,
                ..
            } => {
                *p = port;
                *retry_at = None;
                !std::mem::replace(connecting, true)
            }
            _ => false,
        };
        if go {
            self.connect(port, fx);
        }
    }

    fn connected(&mut self, info: LinkInfo, now: Instant, fx: &mut Vec<Effect>) {
        let (child, port) = match &self.phase {
            Phase::Starting {
                child,
                port: Some(port),
                ..
            } => (*child, *port),
            Phase::Reconnecting { child, port, .. } => (*child, *port),
            _ => {
                fx.push(Effect::CloseLink);
                return;
            }
        };
        self.counters.connects += 1;
        let boot = (child.and_then(|c| c.pid), info.server.boot_id.clone());
        let boot_changed =
            self.respawned_since_link || self.last_boot.as_ref().is_some_and(|b| *b != boot);
        if self.last_boot.as_ref().is_some_and(|b| b.1 != boot.1) {
            // An in-process restart: a new boot of the same process.
            self.booted_at = Some(now);
        }
        if self.booted_at.is_none() {
            self.booted_at = Some(now);
        }
        let tick = Duration::from_millis(info.server.tick_interval_ms.max(10));
        let first = !self.had_link;
        self.had_link = true;
        self.respawned_since_link = false;
        self.last_boot = Some(boot);
        self.expect_restart = None;
        self.server = Some(info.server);
        self.backoff.on_running(now);
        if !first {
            fx.push(Effect::Reconcile { boot_changed });
        }
        self.set(
            Phase::Running {
                child,
                port,
                since: now,
                heartbeat: Heartbeat::new(self.cfg.heartbeat, tick, now),
                stable_noted: false,
            },
            "connected: hello-ok",
            now,
            fx,
        );
    }

    fn connect_failed(&mut self, error: ConnectError, now: Instant, fx: &mut Vec<Effect>) {
        self.counters.connect_failures += 1;
        let retry_hint = match &error {
            ConnectError::Unavailable { retry_after } => *retry_after,
            ConnectError::Rejected(e) => e.retry_after_ms.map(Duration::from_millis),
            ConnectError::Transport(_) => None,
        };
        let needs_user = match &error {
            ConnectError::Rejected(e) => match Failure::from_error(e) {
                Failure::NeedsUser { reason } => Some(reason),
                Failure::Transient { .. } => None,
            },
            _ => None,
        };
        // A refusal is an answer: the gateway is alive, whatever else is wrong. A rate limit in
        // particular (repeated wrong tokens from this machine, e.g. a stale client retrying)
        // must never read as a dead gateway: wait it out and say so.
        let answered = matches!(error, ConnectError::Rejected(_));
        let rate_limited = matches!(&error, ConnectError::Rejected(e)
            if e.detail_code() == Some(tether_protocol::DetailCode::AuthRateLimited));
        match &mut self.phase {
            Phase::Starting {
                child,
                port,
                attached,
                connecting,
                retry_at,
                deadline,
            } => {
                *connecting = false;
                if let Some(reason) = needs_user {
                    let (child, port, attached) = (*child, *port, *attached);
                    if attached && !child.is_some_and(|c| c.owned) {
                        let who = child
                            .and_then(|c| c.pid)
                            .map_or(String::new(), |p| format!(" (pid {p})"));
                        let msg = format!(
                            "a gateway is already running for this state on port {}{who} but does not accept Tether's credentials: {reason}",
                            port.unwrap_or(0)
                        );
                        self.fail(ProblemCode::AlreadyRunning, msg, now, fx);
                    } else {
                        self.backoff.on_failure(
                            &Failure::NeedsUser {
                                reason: reason.clone(),
                            },
                            now,
                            &mut self.rng,
                        );
                        self.set(
                            Phase::Paused {
                                child,
                                port,
                                reason: reason.clone(),
                            },
                            &format!("paused: {reason}"),
                            now,
                            fx,
                        );
                    }
                    return;
                }
                let wait = retry_hint
                    .unwrap_or(self.cfg.connect_retry)
                    .max(self.cfg.connect_retry);
                *retry_at = Some(now + wait);
                if answered {
                    // Not a failed start: the handshake deadline waits for the retry.
                    *deadline = (*deadline).max(now + wait + self.cfg.ready_timeout);
                }
                if rate_limited {
                    let reason = rate_limit_reason(wait);
                    fx.push(Effect::Emit(SupervisorEvent::Status(
                        self.status(&reason, now),
                    )));
                }
            }
            Phase::Reconnecting {
                child,
                port,
                retry_at,
                connecting,
                deadline,
            } => {
                *connecting = false;
                if let Some(reason) = needs_user {
                    let (child, port) = (Some(*child).flatten(), *port);
                    self.backoff.on_failure(
                        &Failure::NeedsUser {
                            reason: reason.clone(),
                        },
                        now,
                        &mut self.rng,
                    );
                    self.set(
                        Phase::Paused {
                            child,
                            port: Some(port),
                            reason: reason.clone(),
                        },
                        &format!("paused: {reason}"),
                        now,
                        fx,
                    );
                    return;
                }
                if answered {
                    // The gateway came back; it just did not let us in yet.
                    *deadline = None;
                }
                let wait = if deadline.is_some() {
                    retry_hint
                        .unwrap_or(self.cfg.connect_retry)
                        .max(self.cfg.connect_retry)
                } else {
                    match self.backoff.on_failure(
                        &Failure::Transient {
                            retry_after: retry_hint,
                        },
                        now,
                        &mut self.rng,
                    ) {
                        Decision::Retry { after, .. } => after.max(self.cfg.connect_retry),
                        Decision::Paused { .. } => self.cfg.backoff.cap,
                    }
                };
                let expected = deadline.is_some();
                *retry_at = Some(now + wait);
                // While an announced restart is under way, refusals are expected: stay quiet.
                if rate_limited {
                    let reason = rate_limit_reason(wait);
                    fx.push(Effect::Emit(SupervisorEvent::Status(
                        self.status(&reason, now),
                    )));
                } else if !expected {
                    fx.push(Effect::Emit(SupervisorEvent::Status(
                        self.status(&format!("reconnect failed: {error}"), now),
                    )));
                }
            }
            _ => {}
        }
    }

    fn link_closed(
        &mut self,
        code: Option<u16>,
        reason: String,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Phase::Running { child, port, .. } = &self.phase else {
            return;
        };
        let (child, port) = (*child, *port);
        let expected = self.expect_restart.take();
        let (deadline, why) = match expected {
            Some(Some(after)) => (
                Some(now + after + self.cfg.restart_grace),
                format!(
                    "gateway restarting in-process (expected back in {} ms)",
                    after.as_millis()
                ),
            ),
            _ if code == Some(tether_protocol::close::SERVICE_RESTART) && expected.is_none() => (
                Some(now + self.cfg.restart_grace),
                format!("link closed with 1012 ({reason})"),
            ),
            _ => (
                None,
                format!(
                    "link lost (code {}, {reason})",
                    code.map_or("none".into(), |c| c.to_string())
                ),
            ),
        };
        // Poll at the connect-retry pace; a ready line from our gateway (printed again after an
        // in-process restart, possibly before this close is seen) connects at once instead.
        let retry_at = Some(now + self.cfg.connect_retry);
        self.set(
            Phase::Reconnecting {
                child,
                port,
                retry_at,
                connecting: false,
                deadline,
            },
            &why,
            now,
            fx,
        );
    }

    fn exited(&mut self, status: ExitStatus, hints: Hints, now: Instant, fx: &mut Vec<Effect>) {
        self.counters.exits += 1;
        self.last_exit = Some(status);
        fx.push(Effect::Forget { gen: self.gen });
        if let Phase::Stopping { then, .. } = &self.phase {
            let then = then.clone();
            match then {
                After::Stop => self.enter_stopped(&format!("gateway stopped ({status})"), now, fx),
                After::Start => {
                    self.governor.reset();
                    self.backoff.resume();
                    self.spawn(
                        &format!("gateway stopped ({status}); starting again"),
                        now,
                        fx,
                    );
                }
                After::Restart => {
                    self.respawned_since_link = true;
                    self.restarting = true;
                    self.spawn(&format!("gateway stopped ({status}); restarting"), now, fx);
                }
                After::Respawn(cause) => {
                    self.respawned_since_link = true;
                    let why = format!("gateway killed ({status}) after {cause:?}").to_lowercase();
                    self.respawn_after_backoff(&why, now, fx);
                }
                After::Fail(problem, reason) => self.fail(problem, reason, now, fx),
            }
            return;
        }
        let starting = matches!(self.phase, Phase::Starting { .. });
        let live = matches!(
            self.phase,
            Phase::Starting { .. }
                | Phase::Running { .. }
                | Phase::Reconnecting { .. }
                | Phase::Paused { .. }
        );
        if !live {
            return;
        }
        fx.push(Effect::CloseLink);
        self.respawned_since_link = true;
        match exit::classify(self.cfg.family, status, false, hints) {
            ExitClass::Requested => {}
            ExitClass::Crash(what) => {
                let cause = if starting {
                    RestartCause::StartFailed
                } else {
                    RestartCause::Crash
                };
                let why = if starting {
                    format!("gateway exited before it was ready ({what})")
                } else {
                    format!("gateway exited unexpectedly ({what})")
                };
                self.respawn(cause, &why, now, fx);
            }
            ExitClass::ConfigError(m) => self.fail(ProblemCode::ConfigError, m, now, fx),
            ExitClass::PortInUse(m) => self.fail(ProblemCode::PortInUse, m, now, fx),
            ExitClass::AlreadyRunning(m) => self.begin_probe(
                Some((ProblemCode::AlreadyRunning, m)),
                "gateway says another one holds this state: looking for it",
                now,
                fx,
            ),
            ExitClass::Probe { if_none } => {
                let (problem, m) = match *if_none {
                    ExitClass::PortInUse(m) => (ProblemCode::PortInUse, m),
                    ExitClass::AlreadyRunning(m) => (ProblemCode::AlreadyRunning, m),
                    ExitClass::ConfigError(m) => (ProblemCode::ConfigError, m),
                    other => (ProblemCode::ConfigError, format!("{other:?}")),
                };
                self.begin_probe(Some((problem, m)), &format!("gateway exited ({status}): checking for another instance before concluding"), now, fx);
            }
        }
    }

    fn tick(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        if let Some(n) = self.debounce.poll(now) {
            diag(
                fx,
                "reload_fired",
                format!("reload: {n} request(s) coalesced"),
            );
            self.reload_now(now, fx);
        }
        match &mut self.phase {
            Phase::Stopped | Phase::Probing { .. } | Phase::Paused { .. } => {}
            Phase::Starting {
                child,
                port,
                attached,
                deadline,
                connecting,
                retry_at,
            } => {
                if now >= *deadline {
                    let (child, attached, port) = (*child, *attached, *port);
                    let msg = format!(
                        "the gateway did not complete the handshake within {} s",
                        self.cfg.ready_timeout.as_secs()
                    );
                    match child.filter(|c| c.owned && c.pid.is_some()) {
                        Some(c) => {
                            // Counted as a failed start: killed, then respawned through the governor.
                            self.kill_then_respawn(
                                c,
                                RestartCause::StartFailed,
                                &msg,
                                &msg,
                                now,
                                fx,
                            );
                        }
                        None if attached => self.fail(
                            ProblemCode::NotReady,
                            format!("a gateway answers on port {} but {msg}", port.unwrap_or(0)),
                            now,
                            fx,
                        ),
                        None => self.fail(ProblemCode::NotReady, msg, now, fx),
                    }
                    return;
                }
                if let (Some(at), false, Some(port)) = (*retry_at, *connecting, *port) {
                    if now >= at {
                        *retry_at = None;
                        *connecting = true;
                        self.connect(port, fx);
                    }
                }
            }
            Phase::Running {
                child,
                heartbeat,
                since,
                stable_noted,
                ..
            } => {
                if !*stable_noted && now >= *since + self.cfg.governor.stable_after {
                    *stable_noted = true;
                    let since = *since;
                    if self.governor.on_stable(since, now) {
                        self.emit_governor(now, fx);
                    }
                    return;
                }
                match heartbeat.poll(now) {
                    Beat::Idle => {}
                    Beat::Ping => {
                        heartbeat.on_ping_sent(now);
                        fx.push(Effect::Ping);
                    }
                    Beat::Dead(death) => {
                        self.counters.heartbeat_deaths += 1;
                        let child = *child;
                        let why = format!("heartbeat: {death}");
                        match child.filter(|c| c.owned && c.pid.is_some()) {
                            Some(c) => self.kill_then_respawn(
                                c,
                                RestartCause::Heartbeat,
                                &format!("{why}: killing the wedged gateway"),
                                &why,
                                now,
                                fx,
                            ),
                            None => {
                                fx.push(Effect::CloseLink);
                                let Phase::Running { port, .. } = &self.phase else {
                                    return;
                                };
                                let port = *port;
                                let after = match self.backoff.on_failure(
                                    &Failure::Transient { retry_after: None },
                                    now,
                                    &mut self.rng,
                                ) {
                                    Decision::Retry { after, .. } => after,
                                    Decision::Paused { .. } => self.cfg.backoff.cap,
                                };
                                self.conn += 1;
                                self.set(
                                    Phase::Reconnecting {
                                        child,
                                        port,
                                        retry_at: Some(now + after.max(self.cfg.connect_retry)),
                                        connecting: false,
                                        deadline: None,
                                    },
                                    &format!("{why}: reconnecting"),
                                    now,
                                    fx,
                                );
                            }
                        }
                    }
                }
            }
            Phase::Reconnecting {
                child,
                port,
                retry_at,
                connecting,
                deadline,
            } => {
                if let Some(d) = *deadline {
                    if now >= d && !*connecting {
                        let child = *child;
                        *deadline = None;
                        match child.filter(|c| c.owned && c.pid.is_some()) {
                            Some(c) => match self.governor.request(RestartCause::Crash, now, false)
                            {
                                Verdict::Allow => {
                                    self.emit_governor(now, fx);
                                    self.stopping(
                                        c,
                                        After::Respawn(RestartCause::Crash),
                                        Sig::Kill,
                                        "the gateway did not come back after its restart",
                                        now,
                                        fx,
                                    );
                                }
                                Verdict::Suppress { reason, .. } => {
                                    self.emit_governor(now, fx);
                                    self.stopping(
                                        c,
                                        After::Fail(ProblemCode::BreakerOpen, reason),
                                        Sig::Kill,
                                        "the gateway did not come back after its restart",
                                        now,
                                        fx,
                                    );
                                }
                            },
                            None => diag(
                                fx,
                                "restart_overdue",
                                "the gateway did not come back when expected; still retrying",
                            ),
                        }
                        return;
                    }
                }
                if let (Some(at), false) = (*retry_at, *connecting) {
                    if now >= at {
                        *retry_at = None;
                        *connecting = true;
                        let port = *port;
                        self.connect(port, fx);
                    }
                }
            }
            Phase::Backoff { until } => {
                if now >= *until {
                    self.spawn("backoff over: respawning", now, fx);
                }
            }
            Phase::Stopping {
                kill_at,
                killed,
                give_up_at,
                ..
            } => {
                if !*killed && now >= *kill_at {
                    *killed = true;
                    fx.push(Effect::Signal {
                        gen: self.gen,
                        sig: Sig::Kill,
                    });
                    diag(
                        fx,
                        "stop_escalated",
                        "the gateway ignored SIGTERM: sent SIGKILL to its process group",
                    );
                } else if *killed && now >= *give_up_at {
                    diag(
                        fx,
                        "stop_gave_up",
                        "the gateway did not exit within the quit budget; giving up waiting",
                    );
                    self.exited(
                        ExitStatus {
                            code: None,
                            signal: None,
                        },
                        Hints::default(),
                        now,
                        fx,
                    );
                }
            }
            Phase::Failed { trial_at, .. } => {
                if let Some(at) = *trial_at {
                    if now >= at {
                        match self.governor.request(RestartCause::Crash, now, false) {
                            Verdict::Allow => {
                                self.emit_governor(now, fx);
                                self.spawn("breaker cooldown over: trial start", now, fx);
                            }
                            Verdict::Suppress { retry_in, .. } => {
                                if let Phase::Failed { trial_at, .. } = &mut self.phase {
                                    *trial_at = Some(now + retry_in);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn diag(fx: &mut Vec<Effect>, code: &str, message: impl Into<String>) {
    fx.push(Effect::Emit(SupervisorEvent::Diagnostic(Diagnostic::new(
        code, message,
    ))));
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MachineConfig {
        MachineConfig::for_family(Family::Tether, "tether")
    }

    fn info(boot: &str) -> LinkInfo {
        LinkInfo {
            server: ServerSummary {
                version: "t".into(),
                protocol: 4,
                boot_id: Some(boot.into()),
                tick_interval_ms: 1000,
                main_session_key: None,
                restart_rpc: false,
            },
        }
    }

    fn has(fx: &[Effect], pred: impl Fn(&Effect) -> bool) -> bool {
        fx.iter().any(pred)
    }

    /// Drives the machine to Running with gen 1 / conn 1.
    fn running(m: &mut Machine, t: Instant) {
        m.step(Input::Command(Command::Start), t);
        m.step(
            Input::Probed {
                gen: 1,
                found: None,
            },
            t,
        );
        m.step(
            Input::Spawned {
                gen: 2,
                pid: Some(100),
                port: None,
            },
            t,
        );
        let fx = m.step(Input::Ready { gen: 2, port: 5000 }, t);
        assert!(has(&fx, |e| matches!(
            e,
            Effect::Connect {
                conn: 1,
                port: 5000
            }
        )));
        m.step(
            Input::Connected {
                conn: 1,
                info: info("b1"),
            },
            t,
        );
        assert_eq!(m.phase(), PhaseName::Running);
    }

    #[test]
    fn start_probes_spawns_waits_ready_connects() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        let fx = m.step(Input::Command(Command::Start), t);
        assert!(has(&fx, |e| matches!(e, Effect::Probe { gen: 1 })));
        let fx = m.step(
            Input::Probed {
                gen: 1,
                found: None,
            },
            t,
        );
        assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 2 })));
        running(&mut Machine::new(cfg()), t);
    }

    fn statuses(fx: &[Effect]) -> Vec<StatusEvent> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Emit(SupervisorEvent::Status(s)) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn headlines_say_starting_first_and_restarting_on_the_way_back() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        let fx = m.step(Input::Command(Command::Start), t);
        assert_eq!(statuses(&fx)[0].headline, Headline::Starting);
        m.step(
            Input::Probed {
                gen: 1,
                found: None,
            },
            t,
        );
        assert_eq!(
            m.headline(),
            Headline::Starting,
            "a first start is not a restart"
        );
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        assert_eq!(m.headline(), Headline::Running);
        // A crash: respawned at once, straight to starting, and that start is a restart.
        let crash = m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::signal(9),
                hints: Hints::default(),
            },
            t,
        );
        let s = statuses(&crash);
        assert_eq!(s.last().unwrap().phase, PhaseName::Starting);
        assert_eq!(s.last().unwrap().headline, Headline::Restarting);
        // Back up: running again, and the flag is gone.
        m.step(
            Input::Spawned {
                gen: 3,
                pid: Some(101),
                port: None,
            },
            t,
        );
        m.step(Input::Ready { gen: 3, port: 5000 }, t);
        m.step(
            Input::Connected {
                conn: 2,
                info: info("b2"),
            },
            t,
        );
        assert_eq!(m.headline(), Headline::Running);
        // The user's restart: stopping (for a restart), then starting, both "restarting".
        let fx = m.step(Input::Command(Command::Restart { force: false }), t);
        assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Restarting);
        let fx = m.step(
            Input::Exited {
                gen: 3,
                status: ExitStatus::signal(15),
                hints: Hints::default(),
            },
            t,
        );
        assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Restarting);
        // The user's stop is "stopping", then "stopped"; a start after it is a plain start.
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        let fx = m.step(Input::Command(Command::Stop), t);
        assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Stopping);
        let fx = m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::code(0),
                hints: Hints::default(),
            },
            t,
        );
        assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Stopped);
        let fx = m.step(Input::Command(Command::Start), t);
        assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Starting);
    }

    #[test]
    fn the_phase_start_moves_only_when_the_phase_changes() {
        let t0 = Instant::now();
        let mut m = Machine::new(cfg());
        assert_eq!(m.phase_entered(), None);
        m.step(Input::Command(Command::Start), t0);
        assert_eq!(m.phase_entered(), Some(t0));
        let t1 = t0 + Duration::from_millis(5);
        m.step(
            Input::Probed {
                gen: 1,
                found: None,
            },
            t1,
        );
        assert_eq!(m.phase_entered(), Some(t1), "probing → starting");
        let t2 = t1 + Duration::from_millis(5);
        m.step(
            Input::Spawned {
                gen: 2,
                pid: Some(7),
                port: None,
            },
            t2,
        );
        assert_eq!(
            m.phase_entered(),
            Some(t1),
            "still starting: the same phase"
        );
    }

    #[test]
    fn a_crash_alerts_and_a_requested_restart_does_not() {
        use crate::events::Alert;
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        let before = m.status("", t);
        let crash = statuses(&m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::signal(9),
                hints: Hints::default(),
            },
            t,
        ));
        assert_eq!(crash[0].alert_after(Some(&before)), Some(Alert::Crashed));
        // Reported again (same phase, same generation): no second alert.
        assert_eq!(crash[0].alert_after(Some(&crash[0])), None);
        m.step(
            Input::Spawned {
                gen: 3,
                pid: Some(101),
                port: None,
            },
            t,
        );
        m.step(Input::Ready { gen: 3, port: 5000 }, t);
        m.step(
            Input::Connected {
                conn: 2,
                info: info("b2"),
            },
            t,
        );
        let mut prev = m.status("", t);
        let mut steps = statuses(&m.step(Input::Command(Command::Restart { force: false }), t));
        steps.extend(statuses(&m.step(
            Input::Exited {
                gen: 3,
                status: ExitStatus::signal(15),
                hints: Hints::default(),
            },
            t,
        )));
        for s in steps {
            assert_eq!(s.alert_after(Some(&prev)), None, "{s:?}");
            prev = s;
        }
    }

    #[test]
    fn stale_generation_is_dropped() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        let fx = m.step(
            Input::Exited {
                gen: 1,
                status: ExitStatus::code(1),
                hints: Hints::default(),
            },
            t,
        );
        assert!(has(
            &fx,
            |e| matches!(e, Effect::Emit(SupervisorEvent::Diagnostic(d)) if d.code == "stale_callback")
        ));
        assert_eq!(m.phase(), PhaseName::Running);
        assert_eq!(m.counters().stale_dropped, 1);
    }

    #[test]
    fn crash_respawns_at_once_then_backs_off() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        let fx = m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::signal(9),
                hints: Hints::default(),
            },
            t,
        );
        assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 3 })));
        let fx = m.step(
            Input::Exited {
                gen: 3,
                status: ExitStatus::code(1),
                hints: Hints::default(),
            },
            t,
        );
        assert_eq!(m.phase(), PhaseName::Backoff);
        assert!(!has(&fx, |e| matches!(e, Effect::Spawn { .. })));
        let until = m.next_deadline().unwrap();
        let fx = m.step(Input::Tick, until);
        assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 4 })));
    }

    #[test]
    fn config_error_does_not_loop() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::code(78),
                hints: Hints::default(),
            },
            t,
        );
        assert_eq!(m.phase(), PhaseName::Failed);
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.status("", t).problem, Some(ProblemCode::ConfigError));
    }

    #[test]
    fn stop_escalates_within_the_quit_budget() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        running(&mut m, t);
        let fx = m.step(Input::Command(Command::Stop), t);
        assert!(has(&fx, |e| matches!(
            e,
            Effect::Signal { sig: Sig::Term, .. }
        )));
        let kill_at = m.next_deadline().unwrap();
        assert_eq!(kill_at, t + Duration::from_secs(5));
        let fx = m.step(Input::Tick, kill_at);
        assert!(has(&fx, |e| matches!(
            e,
            Effect::Signal { sig: Sig::Kill, .. }
        )));
        let give_up = m.next_deadline().unwrap();
        assert_eq!(give_up, t + Duration::from_secs(8));
        let fx = m.step(Input::Tick, give_up);
        assert!(has(&fx, |e| matches!(e, Effect::Stopped)));
        assert_eq!(m.phase(), PhaseName::Stopped);
    }

    #[test]
    fn never_kills_an_attached_foreign_gateway() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        m.step(Input::Command(Command::Start), t);
        m.step(
            Input::Probed {
                gen: 1,
                found: Some(Found::Gateway {
                    port: 7,
                    pid: Some(9),
                    owned: false,
                }),
            },
            t,
        );
        m.step(
            Input::Connected {
                conn: 1,
                info: info("x"),
            },
            t,
        );
        assert_eq!(m.phase(), PhaseName::Running);
        let fx = m.step(Input::Command(Command::Stop), t);
        assert!(!has(&fx, |e| matches!(e, Effect::Signal { .. })));
        assert_eq!(m.phase(), PhaseName::Stopped);
    }

    #[test]
    fn foreign_port_holder_is_a_clear_failure() {
        let t = Instant::now();
        let mut m = Machine::new(cfg());
        m.step(Input::Command(Command::Start), t);
        let fx = m.step(
            Input::Probed {
                gen: 1,
                found: Some(Found::Foreign {
                    port: 80,
                    holder: "pid 5".into(),
                }),
            },
            t,
        );
        assert!(!has(&fx, |e| matches!(
            e,
            Effect::Spawn { .. } | Effect::Signal { .. }
        )));
        assert_eq!(m.status("", t).problem, Some(ProblemCode::PortInUse));
    }

    #[test]
    fn upstream_78_probes_before_concluding() {
        let t = Instant::now();
        let mut c = cfg();
        c.family = Family::OpenClaw;
        c.waits_for_ready_line = false;
        let mut m = Machine::new(c);
        m.step(Input::Command(Command::Start), t);
        m.step(
            Input::Probed {
                gen: 1,
                found: None,
            },
            t,
        );
        m.step(
            Input::Spawned {
                gen: 2,
                pid: Some(5),
                port: Some(7000),
            },
            t,
        );
        let fx = m.step(
            Input::Exited {
                gen: 2,
                status: ExitStatus::code(78),
                hints: Hints::default(),
            },
            t,
        );
        assert!(has(&fx, |e| matches!(e, Effect::Probe { gen: 3 })));
        m.step(
            Input::Probed {
                gen: 3,
                found: None,
            },
            t,
        );
        assert_eq!(m.status("", t).problem, Some(ProblemCode::ConfigError));
    }
}
