//! The bridge: the one task that listens to the supervisor and feeds the webview, the tray, the
//! notifications and the gateway log.
//!
//! It owns the flow from `SupervisorHandle::subscribe()` to an [`Outlet`]: status and governor
//! changes go out as one `StatusView` each (with the alert the transition deserves, if any);
//! chat, tool and approval events go through the [`Coalescer`] and leave as one envelope per
//! [`WINDOW`] at most — the timer is armed only while a window is filling, so an idle app has no
//! timer at all; gateway output lines go to the gateway log. When it falls behind the supervisor
//! (the broadcast lagged) or the gateway comes back after a gap, it tells the UI to resync from
//! history. The only other timer redraws the tray's "up 3 min" once a minute while it shows a
//! running gateway or a countdown. It holds no supervision state and makes no supervision
//! decision: it reports what the supervisor decided.

use std::sync::Arc;
use std::time::Duration;

use tether_supervisor::events::{Alert, Headline, StatusEvent, SupervisorEvent};
use tether_supervisor::output::Line;
use tether_supervisor::policy::governor::{BreakerState, GovernorSnapshot};
use tether_supervisor::SupervisorHandle;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::coalesce::{Coalescer, ResyncReason, StreamEnvelope};

/// The longest a chat event waits before it is sent (about one frame).
pub const WINDOW: Duration = Duration::from_millis(16);

/// Where the bridge's output goes (the Tauri app, or a test).
pub trait Outlet: Send + Sync + 'static {
    /// The status or the governor changed (or the tray needs a redraw: `alert` is `None` then).
    fn status(&self, status: &StatusEvent, governor: &GovernorSnapshot, alert: Option<Alert>);
    /// One window of the chat stream.
    fn envelope(&self, envelope: &StreamEnvelope);
    /// A line of the gateway's output.
    fn gateway_line(&self, line: &Line);
}

/// The wall clock, epoch ms.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// When the tray's text next changes by itself: the next whole minute of uptime while running,
/// or the next minute of an open breaker's countdown. `None`: nothing to redraw.
fn next_redraw(status: &StatusEvent, governor: &GovernorSnapshot, now_ms: u64) -> Option<Duration> {
    const MIN: u64 = 60_000;
    if governor.state == BreakerState::Open && governor.open_for_ms > 0 {
        return Some(
            Duration::from_millis(governor.open_for_ms % MIN + 1).min(Duration::from_millis(MIN)),
        );
    }
    if status.headline == Headline::Running && status.since_ms > 0 {
        let up = now_ms.saturating_sub(status.since_ms);
        return Some(Duration::from_millis(MIN - up % MIN));
    }
    None
}

/// Runs until the supervisor is gone (or the task is aborted).
pub async fn run(handle: SupervisorHandle, outlet: Arc<dyn Outlet>) {
    let mut events = handle.subscribe();
    let Some(snap) = handle.status().await else {
        return;
    };
    let mut status = snap.status;
    let mut governor = snap.governor;
    let mut seen_running = status.headline == Headline::Running;
    outlet.status(&status, &governor, None);
    let mut coalescer = Coalescer::new();
    let mut flush_at: Option<Instant> = None;
    let mut redraw_at = next_redraw(&status, &governor, wall_ms()).map(|d| Instant::now() + d);
    loop {
        let flush = async {
            match flush_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let redraw = async {
            match redraw_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(SupervisorEvent::Status(s)) => {
                    let alert = s.alert_after(Some(&status));
                    if s.headline == Headline::Running && status.headline != Headline::Running && seen_running {
                        coalescer.resync(ResyncReason::Reconnected);
                    }
                    seen_running |= s.headline == Headline::Running;
                    status = s;
                    outlet.status(&status, &governor, alert);
                    redraw_at = next_redraw(&status, &governor, wall_ms()).map(|d| Instant::now() + d);
                }
                Ok(SupervisorEvent::Governor(g)) => {
                    governor = g;
                    outlet.status(&status, &governor, None);
                    redraw_at = next_redraw(&status, &governor, wall_ms()).map(|d| Instant::now() + d);
                }
                Ok(SupervisorEvent::Log(line)) => outlet.gateway_line(&line),
                Ok(ev) => {
                    coalescer.push(&ev);
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the bridge fell behind the supervisor: asking the UI to resync");
                    coalescer.resync(ResyncReason::Lagged);
                    if let Some(snap) = handle.status().await {
                        status = snap.status;
                        governor = snap.governor;
                        outlet.status(&status, &governor, None);
                    }
                }
                Err(RecvError::Closed) => break,
            },
            () = flush => {
                flush_at = None;
                if let Some(env) = coalescer.take() {
                    outlet.envelope(&env);
                }
            }
            () = redraw => {
                outlet.status(&status, &governor, None);
                redraw_at = next_redraw(&status, &governor, wall_ms()).map(|d| Instant::now() + d);
            }
        }
        if !coalescer.is_empty() && flush_at.is_none() {
            flush_at = Some(Instant::now() + WINDOW);
        }
        if coalescer.is_full() {
            flush_at = None;
            if let Some(env) = coalescer.take() {
                outlet.envelope(&env);
            }
        }
    }
    if let Some(env) = coalescer.take() {
        outlet.envelope(&env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tether_supervisor::events::{ChatPhase, PhaseName};
    use tether_supervisor::policy::exit::ExitStatus;
    use tether_supervisor::testing::World;

    #[derive(Default)]
    struct Recorder {
        statuses: Mutex<Vec<(Headline, Option<Alert>)>>,
        envelopes: Mutex<Vec<StreamEnvelope>>,
        notify: tokio::sync::Notify,
    }

    impl Outlet for Recorder {
        fn status(&self, s: &StatusEvent, _g: &GovernorSnapshot, alert: Option<Alert>) {
            self.statuses.lock().unwrap().push((s.headline, alert));
            self.notify.notify_waiters();
        }
        fn envelope(&self, e: &StreamEnvelope) {
            self.envelopes.lock().unwrap().push(e.clone());
            self.notify.notify_waiters();
        }
        fn gateway_line(&self, _line: &Line) {}
    }

    impl Recorder {
        async fn until(&self, what: &str, pred: impl Fn(&Self) -> bool) {
            let wait = async {
                loop {
                    let n = self.notify.notified();
                    if pred(self) {
                        return;
                    }
                    n.await;
                }
            };
            if tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .is_err()
            {
                panic!("timed out waiting for {what}");
            }
        }
    }

    fn chat(run: &str, seq: u64, state: &str, text: &str) -> serde_json::Value {
        serde_json::json!({"runId": run, "sessionKey": "agent:main:main", "seq": seq, "state": state,
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]}})
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_deltas_reaches_the_outlet_as_few_envelopes_and_a_crash_alerts() {
        let world = World::new();
        let (handle, _join) = tether_supervisor::spawn(
            tether_supervisor::SupervisorConfig::new(
                tether_supervisor::machine::MachineConfig::for_family(
                    tether_supervisor::policy::exit::Family::Tether,
                    "tether",
                ),
            ),
            world.deps(),
        );
        let rec = Arc::new(Recorder::default());
        let bridge = tokio::spawn(run(handle.clone(), rec.clone()));
        handle.start().await.unwrap();
        rec.until("running", |r| {
            r.statuses
                .lock()
                .unwrap()
                .iter()
                .any(|(h, _)| *h == Headline::Running)
        })
        .await;
        let mut text = String::new();
        // In bursts the fake link's queue (64) takes whole, as a real link delivers them.
        for i in 1..=500u64 {
            text.push_str(&format!("w{i} "));
            world.event(0, "chat", chat("r1", i, "delta", &text));
            if i % 50 == 0 {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        world.event(0, "chat", chat("r1", 501, "final", &text));
        rec.until("the final text", |r| {
            r.envelopes.lock().unwrap().iter().flat_map(|e| &e.messages).any(|m| {
                matches!(m, crate::coalesce::StreamMessage::Run(b) if b.state == ChatPhase::Final)
            })
        })
        .await;
        let envs = rec.envelopes.lock().unwrap().clone();
        assert!(envs.len() < 10, "{} envelopes for 501 events", envs.len());
        let assembled: String = envs
            .iter()
            .flat_map(|e| &e.messages)
            .filter_map(|m| match m {
                crate::coalesce::StreamMessage::Run(b) => Some(b.append.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(assembled, text, "nothing lost, in order");
        assert!(envs.windows(2).all(|w| w[1].seq == w[0].seq + 1));

        world.exit(0, ExitStatus::signal(9));
        rec.until("the crash alert", |r| {
            r.statuses
                .lock()
                .unwrap()
                .iter()
                .any(|(_, a)| *a == Some(Alert::Crashed))
        })
        .await;
        rec.until("running again", |r| {
            r.statuses
                .lock()
                .unwrap()
                .iter()
                .rev()
                .take(1)
                .any(|(h, _)| *h == Headline::Running)
        })
        .await;
        rec.until("the resync after the gap", |r| {
            r.envelopes.lock().unwrap().iter().flat_map(|e| &e.messages).any(|m| {
                matches!(m, crate::coalesce::StreamMessage::Resync(x) if x.reason == ResyncReason::Reconnected)
            })
        })
        .await;
        handle.shutdown().await;
        drop(handle);
        bridge.abort();
        let _ = bridge.await;
        let s = rec.statuses.lock().unwrap();
        assert_eq!(s.iter().filter(|(_, a)| a.is_some()).count(), 1, "{s:?}");
    }

    #[test]
    fn the_tray_redraws_on_the_minute_only_when_something_counts() {
        let g = GovernorSnapshot {
            state: BreakerState::Closed,
            reason: String::new(),
            restarts_in_window: 0,
            window_ms: 60_000,
            max_restarts: 5,
            open_for_ms: 0,
            trips: 0,
            executed_total: 0,
            suppressed_total: 0,
            override_available: false,
        };
        let mut s: StatusEvent = serde_json::from_value(serde_json::json!({
            "phase": "running", "headline": "running", "sinceMs": 1_000, "generation": 1,
            "reason": "", "owned": true, "gateway": "tether"
        }))
        .unwrap();
        assert_eq!(
            next_redraw(&s, &g, 1_000 + 61_000),
            Some(Duration::from_millis(59_000))
        );
        s.phase = PhaseName::Stopped;
        s.headline = Headline::Stopped;
        assert_eq!(next_redraw(&s, &g, 5_000), None);
        let open = GovernorSnapshot {
            state: BreakerState::Open,
            open_for_ms: 125_000,
            ..g
        };
        assert_eq!(
            next_redraw(&s, &open, 0),
            Some(Duration::from_millis(5_001))
        );
    }
}
