//! Deadlines: what a tick does in each phase.

use std::time::Instant;

use crate::backoff::{Decision, Failure};
use crate::events::ProblemCode;
use crate::exit::{ExitStatus, Hints};
use crate::governor::{RestartCause, Verdict};
use crate::heartbeat::Beat;

use super::{diag, After, Effect, Machine, Phase, Sig};

impl Machine {
    pub(super) fn tick(&mut self, now: Instant, fx: &mut Vec<Effect>) {
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
