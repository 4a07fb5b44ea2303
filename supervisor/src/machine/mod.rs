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

mod commands;
mod config;
mod effect;
mod input;
mod outcomes;
mod phase;
mod tick;
mod transitions;

#[cfg(test)]
mod check;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::events::DiagnosticCode;
use crate::events::{
    Diagnostic, Headline, PhaseName, ProblemCode, ServerSummary, StatusEvent, SupervisorEvent,
};
use crate::policy::backoff::Backoff;
use crate::policy::debounce::Debounce;
use crate::policy::deferral::Deferred;
use crate::policy::exit::ExitStatus;
use crate::policy::governor::RestartGovernor;

pub use config::MachineConfig;
pub use effect::{Effect, Outcome, Refusal, Sig};
pub use input::{Command, ConnectError, Found, Input, LinkInfo};
pub use phase::ChildRef;
use phase::{After, Announced, Dial, Escalation, Origin, PastLink, Phase};

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
    rng: SmallRng,
    last_exit: Option<ExitStatus>,
    server: Option<ServerSummary>,
    /// The previous link, once there was one.
    past_link: Option<PastLink>,
    booted_at: Option<Instant>,
    announced: Announced,
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
            rng: SmallRng::seed_from_u64(cfg.seed),
            cfg,
            phase: Phase::Stopped,
            gen: 0,
            conn: 0,
            deferred: None,
            last_exit: None,
            server: None,
            past_link: None,
            booted_at: None,
            announced: Announced::Nothing,
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
            Phase::Reconnecting { .. } if self.announced != Announced::Nothing => {
                Headline::Restarting
            }
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
                child, port, dial, ..
            } => {
                child_fields(&mut s, child, Some(*port));
                s.retry_in_ms = dial.retry_at().and_then(until);
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
            Phase::Starting { deadline, dial, .. } => {
                Some(dial.retry_at().map_or(*deadline, |r| r.min(*deadline)))
            }
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
            Phase::Reconnecting { dial, deadline, .. } => match (dial.retry_at(), *deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Phase::Backoff { until } => Some(*until),
            Phase::Stopping {
                escalation,
                give_up_at,
                ..
            } => Some(match escalation {
                Escalation::Term { kill_at } => *kill_at,
                Escalation::Killed => *give_up_at,
            }),
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
                DiagnosticCode::StaleCallback,
                stale,
            ))));
            return fx;
        }
        match input {
            Input::Command(c) => self.command(c, now, &mut fx),
            Input::Probed { found, .. } => self.probed(found, now, &mut fx),
            Input::Spawned { pid, port, .. } => self.spawned(pid, port, now, &mut fx),
            Input::SpawnFailed { error, .. } => self.spawn_failed(error, now, &mut fx),
            Input::Ready { port, .. } => self.ready(port, &mut fx),
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
                self.announced = match restart_expected {
                    Some(after) => Announced::Restart(after),
                    None => Announced::Stop,
                };
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
}

fn diag(fx: &mut Vec<Effect>, code: DiagnosticCode, message: impl Into<String>) {
    fx.push(Effect::Emit(SupervisorEvent::Diagnostic(Diagnostic::new(
        code, message,
    ))));
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
