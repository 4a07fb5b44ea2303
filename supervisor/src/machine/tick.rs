//! Deadlines: what a tick does, one function per phase that has any.

use std::time::Instant;

use crate::events::DiagnosticCode;
use crate::events::ProblemCode;
use crate::policy::backoff::{Decision, Failure};
use crate::policy::exit::{ExitStatus, Hints};
use crate::policy::governor::{RestartCause, Verdict};
use crate::policy::heartbeat::Beat;

use super::{diag, After, Dial, Effect, Escalation, Machine, Origin, Phase, Sig};

impl Machine {
    pub(super) fn tick(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        if let Some(n) = self.debounce.poll(now) {
            diag(
                fx,
                DiagnosticCode::ReloadFired,
                format!("reload: {n} request(s) coalesced"),
            );
            self.reload_now(now, fx);
        }
        match &self.phase {
            Phase::Stopped | Phase::Probing { .. } | Phase::Paused { .. } => {}
            Phase::Starting { .. } => self.tick_starting(now, fx),
            Phase::Running { .. } => self.tick_running(now, fx),
            Phase::Reconnecting { .. } => self.tick_reconnecting(now, fx),
            Phase::Backoff { until } => {
                if now >= *until {
                    self.spawn("backoff over: respawning", now, fx);
                }
            }
            Phase::Stopping { .. } => self.tick_stopping(now, fx),
            Phase::Failed { .. } => self.tick_failed(now, fx),
        }
    }

    /// The handshake deadline, then the next connection attempt.
    fn tick_starting(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Starting {
            child,
            port,
            origin,
            deadline,
            dial,
        } = &mut self.phase
        else {
            return;
        };
        if now >= *deadline {
            let (child, origin, port) = (*child, *origin, *port);
            let msg = format!(
                "the gateway did not complete the handshake within {} s",
                self.cfg.ready_timeout.as_secs()
            );
            match (child.filter(|c| c.owned && c.pid.is_some()), origin) {
                (Some(c), _) => {
                    // Counted as a failed start: killed, then respawned through the governor.
                    self.kill_then_respawn(c, RestartCause::StartFailed, &msg, &msg, now, fx);
                }
                (None, Origin::Attached) => self.fail(
                    ProblemCode::NotReady,
                    format!("a gateway answers on port {} but {msg}", port.unwrap_or(0)),
                    now,
                    fx,
                ),
                (None, Origin::Spawned) => self.fail(ProblemCode::NotReady, msg, now, fx),
            }
            return;
        }
        if let (Dial::RetryAt(at), Some(port)) = (*dial, *port) {
            if now >= at {
                *dial = Dial::Connecting;
                self.connect(port, fx);
            }
        }
    }

    /// Closing the breaker once the run is stable, then the heartbeat.
    fn tick_running(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Running {
            child,
            port,
            heartbeat,
            since,
            stable_noted,
        } = &mut self.phase
        else {
            return;
        };
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
                let (child, port) = (*child, *port);
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
                                dial: Dial::RetryAt(now + after.max(self.cfg.connect_retry)),
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

    /// An announced restart that is overdue, then the next connection attempt.
    fn tick_reconnecting(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Reconnecting {
            child,
            port,
            dial,
            deadline,
        } = &mut self.phase
        else {
            return;
        };
        if let Some(d) = *deadline {
            if now >= d && *dial != Dial::Connecting {
                let child = *child;
                *deadline = None;
                const WHY: &str = "the gateway did not come back after its restart";
                match child.filter(|c| c.owned && c.pid.is_some()) {
                    Some(c) => match self.governor.request(RestartCause::Crash, now, false) {
                        Verdict::Allow => {
                            self.emit_governor(now, fx);
                            self.stopping(
                                c,
                                After::Respawn(RestartCause::Crash),
                                Sig::Kill,
                                WHY,
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
                                WHY,
                                now,
                                fx,
                            );
                        }
                    },
                    None => diag(
                        fx,
                        DiagnosticCode::RestartOverdue,
                        "the gateway did not come back when expected; still retrying",
                    ),
                }
                return;
            }
        }
        if let Dial::RetryAt(at) = *dial {
            if now >= at {
                *dial = Dial::Connecting;
                let port = *port;
                self.connect(port, fx);
            }
        }
    }

    /// SIGTERM → SIGKILL, then giving up within the quit budget.
    fn tick_stopping(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Stopping {
            escalation,
            give_up_at,
            ..
        } = &mut self.phase
        else {
            return;
        };
        match *escalation {
            Escalation::Term { kill_at } if now >= kill_at => {
                *escalation = Escalation::Killed;
                fx.push(Effect::Signal {
                    gen: self.gen,
                    sig: Sig::Kill,
                });
                diag(
                    fx,
                    DiagnosticCode::StopEscalated,
                    "the gateway ignored SIGTERM: sent SIGKILL to its process group",
                );
            }
            Escalation::Killed if now >= *give_up_at => {
                diag(
                    fx,
                    DiagnosticCode::StopGaveUp,
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
            Escalation::Term { .. } | Escalation::Killed => {}
        }
    }

    /// The breaker's cooldown: one trial start.
    fn tick_failed(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let Phase::Failed {
            trial_at: Some(at), ..
        } = self.phase
        else {
            return;
        };
        if now < at {
            return;
        }
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
