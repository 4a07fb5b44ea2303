//! IO outcomes: probe, spawn, ready line, handshake, link close, exit.

use std::time::{Duration, Instant};

use crate::events::{ProblemCode, SupervisorEvent};
use crate::policy::backoff::{Decision, Failure};
use crate::policy::exit::{self, ExitClass, ExitStatus, Hints};
use crate::policy::governor::RestartCause;
use crate::policy::heartbeat::Heartbeat;

use super::{
    After, Announced, ChildRef, ConnectError, Dial, Effect, Found, LinkInfo, Machine, Origin,
    PastLink, Phase,
};

/// The status reason while the gateway refuses logins from this machine.
fn rate_limit_reason(wait: Duration) -> String {
    format!(
        "the gateway is up but refuses logins from this machine for now (too many failed \
         attempts, e.g. a client with a stale token): retrying in {} s",
        wait.as_secs().max(1)
    )
}

impl Machine {
    pub(super) fn probed(&mut self, found: Option<Found>, now: Instant, fx: &mut Vec<Effect>) {
        let on_none = match &self.phase {
            Phase::Probing { on_none } => on_none.clone(),
            Phase::Stopped
            | Phase::Starting { .. }
            | Phase::Running { .. }
            | Phase::Reconnecting { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => return,
        };
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
                        origin: Origin::Attached,
                        deadline: now + self.cfg.ready_timeout.min(Duration::from_secs(15)),
                        dial: Dial::Connecting,
                    },
                    &format!("found a running gateway on port {port}{who}: attaching"),
                    now,
                    fx,
                );
            }
        }
    }

    pub(super) fn spawned(
        &mut self,
        pid: Option<u32>,
        port: Option<u16>,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let wait_ready = self.cfg.waits_for_ready_line;
        let mut connect_to = None;
        match &mut self.phase {
            Phase::Starting {
                child,
                port: p,
                dial,
                ..
            } => {
                *child = Some(ChildRef { pid, owned: true });
                *p = port;
                if let (Some(port), false) = (port, wait_ready) {
                    *dial = Dial::Connecting;
                    connect_to = Some(port);
                }
            }
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Running { .. }
            | Phase::Reconnecting { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => {}
        }
        if let Some(port) = connect_to {
            self.connect(port, fx);
        }
        let pid_s = pid.map_or("?".into(), |p| p.to_string());
        fx.push(Effect::Emit(SupervisorEvent::Status(
            self.status(&format!("spawned pid {pid_s}"), now),
        )));
    }

    pub(super) fn spawn_failed(&mut self, error: String, now: Instant, fx: &mut Vec<Effect>) {
        match self.phase {
            Phase::Starting { .. } => self.fail(
                ProblemCode::SpawnFailed,
                format!("could not start the gateway: {error}"),
                now,
                fx,
            ),
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Running { .. }
            | Phase::Reconnecting { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => {}
        }
    }

    pub(super) fn ready(&mut self, port: u16, fx: &mut Vec<Effect>) {
        let go = match &mut self.phase {
            Phase::Starting { port: p, dial, .. } => {
                *p = Some(port);
                std::mem::replace(dial, Dial::Connecting) != Dial::Connecting
            }
            Phase::Reconnecting { port: p, dial, .. } => {
                *p = port;
                std::mem::replace(dial, Dial::Connecting) != Dial::Connecting
            }
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Running { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => false,
        };
        if go {
            self.connect(port, fx);
        }
    }

    pub(super) fn connected(&mut self, info: LinkInfo, now: Instant, fx: &mut Vec<Effect>) {
        let (child, port) = match &self.phase {
            Phase::Starting {
                child,
                port: Some(port),
                ..
            } => (*child, *port),
            Phase::Reconnecting { child, port, .. } => (*child, *port),
            Phase::Starting { port: None, .. }
            | Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Running { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => {
                fx.push(Effect::CloseLink);
                return;
            }
        };
        self.counters.connects += 1;
        let boot = (child.and_then(|c| c.pid), info.server.boot_id.clone());
        let past = self.past_link.take();
        let boot_changed = past.as_ref().is_some_and(|p| p.respawned || p.boot != boot);
        if past.as_ref().is_some_and(|p| p.boot.1 != boot.1) {
            // An in-process restart: a new boot of the same process.
            self.booted_at = Some(now);
        }
        if self.booted_at.is_none() {
            self.booted_at = Some(now);
        }
        let tick = Duration::from_millis(info.server.tick_interval_ms.max(10));
        let first = past.is_none();
        self.past_link = Some(PastLink {
            boot,
            respawned: false,
        });
        self.announced = Announced::Nothing;
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

    pub(super) fn connect_failed(
        &mut self,
        error: ConnectError,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
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
            ConnectError::Transport(_) | ConnectError::Unavailable { .. } => None,
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
                origin,
                dial,
                deadline,
            } => {
                if let Some(reason) = needs_user {
                    let (child, port, origin) = (*child, *port, *origin);
                    if origin == Origin::Attached && !child.is_some_and(|c| c.owned) {
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
                *dial = Dial::RetryAt(now + wait);
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
                dial,
                deadline,
            } => {
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
                *dial = Dial::RetryAt(now + wait);
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
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Running { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => {}
        }
    }

    pub(super) fn link_closed(
        &mut self,
        code: Option<u16>,
        reason: String,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let (child, port) = match &self.phase {
            Phase::Running { child, port, .. } => (*child, *port),
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Starting { .. }
            | Phase::Reconnecting { .. }
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => return,
        };
        let (deadline, why) = match std::mem::replace(&mut self.announced, Announced::Nothing) {
            Announced::Restart(after) => (
                Some(now + after + self.cfg.restart_grace),
                format!(
                    "gateway restarting in-process (expected back in {} ms)",
                    after.as_millis()
                ),
            ),
            Announced::Nothing if code == Some(tether_protocol::close::SERVICE_RESTART) => (
                Some(now + self.cfg.restart_grace),
                format!("link closed with 1012 ({reason})"),
            ),
            Announced::Nothing | Announced::Stop => (
                None,
                format!(
                    "link lost (code {}, {reason})",
                    code.map_or("none".into(), |c| c.to_string())
                ),
            ),
        };
        // Poll at the connect-retry pace; a ready line from our gateway (printed again after an
        // in-process restart, possibly before this close is seen) connects at once instead.
        self.set(
            Phase::Reconnecting {
                child,
                port,
                dial: Dial::RetryAt(now + self.cfg.connect_retry),
                deadline,
            },
            &why,
            now,
            fx,
        );
    }

    pub(super) fn exited(
        &mut self,
        status: ExitStatus,
        hints: Hints,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        self.counters.exits += 1;
        self.last_exit = Some(status);
        fx.push(Effect::Forget { gen: self.gen });
        let starting = match &self.phase {
            Phase::Stopping { then, .. } => {
                let then = then.clone();
                self.exited_while_stopping(then, status, now, fx);
                return;
            }
            Phase::Starting { .. } => true,
            Phase::Running { .. } | Phase::Reconnecting { .. } | Phase::Paused { .. } => false,
            Phase::Stopped
            | Phase::Probing { .. }
            | Phase::Backoff { .. }
            | Phase::Failed { .. } => return,
        };
        fx.push(Effect::CloseLink);
        self.note_respawn();
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

    /// The child exited during `Stopping`: do what was planned for afterwards.
    fn exited_while_stopping(
        &mut self,
        then: After,
        status: ExitStatus,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
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
                self.note_respawn();
                self.restarting = true;
                self.spawn(&format!("gateway stopped ({status}); restarting"), now, fx);
            }
            After::Respawn(cause) => {
                self.note_respawn();
                let why = format!("gateway killed ({status}) after {cause:?}").to_lowercase();
                self.respawn_after_backoff(&why, now, fx);
            }
            After::Fail(problem, reason) => self.fail(problem, reason, now, fx),
        }
    }
}
