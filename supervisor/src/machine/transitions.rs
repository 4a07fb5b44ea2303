//! Shared transitions: entering a phase, spawning, connecting, stopping, respawning.

use std::time::Instant;

use crate::events::DiagnosticCode;
use crate::events::{ProblemCode, SupervisorEvent};
use crate::policy::backoff::{Decision, Failure};
use crate::policy::deferral::{self, Flush, Settled};
use crate::policy::governor::{RestartCause, Verdict};

use super::{diag, After, ChildRef, Dial, Effect, Escalation, Machine, Origin, Phase, Sig};

impl Machine {
    pub(super) fn set(&mut self, phase: Phase, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
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
            Phase::Probing { .. }
            | Phase::Starting { .. }
            | Phase::Reconnecting { .. }
            | Phase::Stopping { .. } => None,
        };
        if let (Some(settled), Some(d)) = (settled, self.deferred) {
            self.deferred = None;
            match deferral::flush(&d, settled) {
                Flush::Execute => {
                    diag(
                        fx,
                        DiagnosticCode::DeferredRestartExecuted,
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
                    DiagnosticCode::DeferredRestartDropped,
                    format!("deferred restart dropped: {why}"),
                ),
            }
        }
    }

    pub(super) fn emit_governor(&self, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::Emit(SupervisorEvent::Governor(
            self.governor.snapshot(now),
        )));
    }

    /// A child was spawned or died: the next link is to a new process.
    pub(super) fn note_respawn(&mut self) {
        if let Some(past) = &mut self.past_link {
            past.respawned = true;
        }
    }

    pub(super) fn new_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    pub(super) fn begin_probe(
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

    pub(super) fn spawn(&mut self, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
        let gen = self.new_gen();
        self.counters.spawns += 1;
        self.note_respawn();
        self.booted_at = Some(now);
        fx.push(Effect::Spawn { gen });
        self.set(
            Phase::Starting {
                child: None,
                port: None,
                origin: Origin::Spawned,
                deadline: now + self.cfg.ready_timeout,
                dial: Dial::Waiting,
            },
            reason,
            now,
            fx,
        );
    }

    pub(super) fn connect(&mut self, port: u16, fx: &mut Vec<Effect>) {
        self.conn += 1;
        fx.push(Effect::Connect {
            conn: self.conn,
            port,
        });
    }

    pub(super) fn fail(
        &mut self,
        problem: ProblemCode,
        reason: String,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
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

    pub(super) fn stopping(
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
        let grace = self.cfg.stop_grace.min(self.cfg.quit_budget);
        self.set(
            Phase::Stopping {
                child,
                escalation: if sig == Sig::Kill {
                    Escalation::Killed
                } else {
                    Escalation::Term {
                        kill_at: now + grace,
                    }
                },
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
    pub(super) fn kill_then_respawn(
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
    pub(super) fn respawn_after_backoff(&mut self, why: &str, now: Instant, fx: &mut Vec<Effect>) {
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
    pub(super) fn respawn(
        &mut self,
        cause: RestartCause,
        why: &str,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
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
}
