//! The handle's commands: start, stop, restart, reload.

use std::time::Instant;

use crate::events::DiagnosticCode;
use crate::events::ProblemCode;
use crate::policy::deferral::Deferred;
use crate::policy::governor::{RestartCause, Verdict};
use crate::policy::reload::{self, HotCapabilities, ReloadMode, ReloadPlan};

use super::{diag, After, ChildRef, Command, Dial, Effect, Machine, Outcome, Phase, Refusal, Sig};

impl Machine {
    pub(super) fn command(&mut self, c: Command, now: Instant, fx: &mut Vec<Effect>) {
        match c {
            Command::Start => self.start(now, fx),
            Command::Stop => self.stop(now, fx),
            Command::Restart { force } => self.restart(RestartCause::Explicit, force, now, fx),
            Command::Reload => {
                if self.cfg.reload_mode == ReloadMode::Off {
                    fx.push(Effect::Reply(Outcome::Refused {
                        code: Refusal::ReloadOff,
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

    pub(super) fn start(&mut self, now: Instant, fx: &mut Vec<Effect>) {
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
                                dial: Dial::Connecting,
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

    pub(super) fn stop(&mut self, now: Instant, fx: &mut Vec<Effect>) {
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

    pub(super) fn enter_stopped(&mut self, reason: &str, now: Instant, fx: &mut Vec<Effect>) {
        self.new_gen();
        self.conn += 1;
        fx.push(Effect::InterruptRuns {
            reason: "gateway stopped".into(),
        });
        self.set(Phase::Stopped, reason, now, fx);
        fx.push(Effect::Stopped);
    }

    pub(super) fn restart(
        &mut self,
        cause: RestartCause,
        force: bool,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
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
                    DiagnosticCode::RestartDeferred,
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
                        code: Refusal::NotOwned,
                        message: "this gateway was not started by Tether and offers no restart RPC; restart it where it was started".into(),
                    }));
                }
            }
        }
    }

    pub(super) fn suppressed(&mut self, reason: String, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::Reply(Outcome::Refused {
            code: Refusal::BreakerOpen,
            message: format!("{reason}; use restart --force to restart anyway"),
        }));
        self.emit_governor(now, fx);
    }

    pub(super) fn reload_now(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let owned = match &self.phase {
            Phase::Running { child, .. } => child.is_some_and(|c| c.owned && c.pid.is_some()),
            Phase::Probing { .. } | Phase::Starting { .. } | Phase::Reconnecting { .. } => {
                self.deferred = Some(Deferred {
                    cause: RestartCause::Reload,
                    force: false,
                    requested_at: now,
                });
                self.counters.deferred += 1;
                diag(
                    fx,
                    DiagnosticCode::ReloadDeferred,
                    "reload deferred: the gateway is still starting",
                );
                return;
            }
            Phase::Stopped
            | Phase::Backoff { .. }
            | Phase::Stopping { .. }
            | Phase::Paused { .. }
            | Phase::Failed { .. } => {
                diag(
                    fx,
                    DiagnosticCode::ReloadIgnored,
                    "reload ignored: the gateway is not running",
                );
                return;
            }
        };
        let caps = HotCapabilities {
            restart_rpc: self.server.as_ref().is_some_and(|s| s.restart_rpc),
            signal: if owned { self.cfg.restart_signal } else { None },
        };
        match reload::plan(self.cfg.reload_mode, caps) {
            ReloadPlan::Rpc => {
                diag(
                    fx,
                    DiagnosticCode::Reload,
                    "reload: asking the gateway to restart in-process (gateway.restart.request)",
                );
                fx.push(Effect::RequestRestart);
            }
            ReloadPlan::Signal(s) => {
                diag(
                    fx,
                    DiagnosticCode::Reload,
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
            ReloadPlan::Refuse(why) => diag(fx, DiagnosticCode::ReloadRefused, why),
        }
    }
}
