//! `RestartGovernor`: the circuit breaker that stops restart storms, and says why.
//!
//! It owns the sliding window of recent restarts and the breaker state (`closed` → `open` →
//! `half_open` → `closed`). **What counts**: every restart the supervisor executes — automatic
//! respawns after a crash, a failed start or a heartbeat kill, and explicit `restart`/`reload`
//! restarts (including deferred ones). The first `start` does not count, and neither do the
//! gateway's own in-process restarts (close 1012 with `restartExpectedMs`), which the gateway
//! already spaces out. More than `max_restarts` in `window` opens the breaker for `cooldown`
//! (doubling on each re-trip, up to `max_cooldown`); when it elapses one trial is allowed
//! (`half_open`); a trial that runs for `stable_after` closes it again. An explicit override
//! ("restart anyway", or an explicit `start`) always executes and resets the breaker, like
//! `systemctl reset-failed`. Its state and reason are exposed as a [`GovernorSnapshot`] for
//! events. Pure: instants come from the caller.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovernorPolicy {
    /// Sliding window.
    pub window: Duration,
    /// Restarts allowed in the window; one more opens the breaker.
    pub max_restarts: u32,
    /// How long the breaker stays open the first time.
    pub cooldown: Duration,
    /// Longest cooldown after repeated trips.
    pub max_cooldown: Duration,
    /// Running this long closes a half-open breaker and forgets past trips.
    pub stable_after: Duration,
}

impl Default for GovernorPolicy {
    fn default() -> Self {
        GovernorPolicy {
            window: Duration::from_secs(60),
            max_restarts: 5,
            cooldown: Duration::from_secs(120),
            max_cooldown: Duration::from_secs(30 * 60),
            stable_after: Duration::from_secs(60),
        }
    }
}

/// Why a restart is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// The child exited without being asked.
    Crash,
    /// The child never became ready.
    StartFailed,
    /// The heartbeat declared the link dead.
    Heartbeat,
    /// Someone asked for a restart.
    Explicit,
    /// A reload that needs a full restart.
    Reload,
}

/// Breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Restarts allowed.
    Closed,
    /// Restarts suppressed until the cooldown ends.
    Open,
    /// One trial restart allowed.
    HalfOpen,
}

/// The governor's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Restart now.
    Allow,
    /// Do not restart; `retry_in` is when the breaker lets one trial through.
    Suppress {
        /// Human-readable reason.
        reason: String,
        /// Time until a trial is allowed.
        retry_in: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { trial: bool },
}

/// What the governor shows the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernorSnapshot {
    /// Breaker state.
    pub state: BreakerState,
    /// Why it is in this state.
    pub reason: String,
    /// Restarts inside the window now.
    pub restarts_in_window: u32,
    /// The window, ms.
    pub window_ms: u64,
    /// Restarts allowed in the window.
    pub max_restarts: u32,
    /// Remaining open time, ms (0 unless open).
    pub open_for_ms: u64,
    /// Times the breaker tripped since it last closed for good.
    pub trips: u32,
    /// Restarts executed since the supervisor started.
    pub executed_total: u64,
    /// Restarts suppressed since the supervisor started.
    pub suppressed_total: u64,
    /// Whether "restart anyway" would do something now.
    pub override_available: bool,
}

/// The governor.
#[derive(Debug, Clone)]
pub struct RestartGovernor {
    policy: GovernorPolicy,
    history: VecDeque<Instant>,
    state: State,
    trips: u32,
    reason: String,
    executed_total: u64,
    suppressed_total: u64,
}

impl RestartGovernor {
    /// A closed breaker with an empty window.
    pub fn new(policy: GovernorPolicy) -> Self {
        RestartGovernor {
            policy,
            history: VecDeque::new(),
            state: State::Closed,
            trips: 0,
            reason: "no restarts yet".into(),
            executed_total: 0,
            suppressed_total: 0,
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some(first) = self.history.front() {
            if now.saturating_duration_since(*first) >= self.policy.window {
                self.history.pop_front();
            } else {
                break;
            }
        }
    }

    fn cooldown(&self) -> Duration {
        let shift = self.trips.min(16);
        self.policy
            .cooldown
            .saturating_mul(1u32 << shift)
            .min(self.policy.max_cooldown)
    }

    fn record(&mut self, now: Instant, why: String) -> Verdict {
        self.history.push_back(now);
        self.executed_total += 1;
        self.reason = why;
        Verdict::Allow
    }

    fn trip(&mut self, now: Instant, why: String) -> Verdict {
        let cooldown = self.cooldown();
        self.trips = self.trips.saturating_add(1);
        self.state = State::Open {
            until: now + cooldown,
        };
        self.reason = why;
        self.suppressed_total += 1;
        Verdict::Suppress {
            reason: self.reason.clone(),
            retry_in: cooldown,
        }
    }

    /// Asks to restart at `now`. `force` is the explicit override.
    pub fn request(&mut self, cause: RestartCause, now: Instant, force: bool) -> Verdict {
        self.prune(now);
        if force {
            self.history.clear();
            self.state = State::Closed;
            self.trips = 0;
            return self.record(
                now,
                format!(
                    "{} restart forced by the user (breaker reset)",
                    label(cause)
                ),
            );
        }
        match self.state {
            State::Open { until } if now < until => {
                self.suppressed_total += 1;
                Verdict::Suppress {
                    reason: self.reason.clone(),
                    retry_in: until - now,
                }
            }
            State::Open { .. } | State::HalfOpen { trial: false } => {
                self.state = State::HalfOpen { trial: true };
                self.record(
                    now,
                    format!("cooldown over: trial {} restart", label(cause)),
                )
            }
            State::HalfOpen { trial: true } => self.trip(
                now,
                format!(
                    "trial restart failed ({}): breaker open again",
                    label(cause)
                ),
            ),
            State::Closed => {
                if self.history.len() >= self.policy.max_restarts as usize {
                    self.trip(
                        now,
                        format!(
                            "{} restarts within {} s ({} last): breaker open",
                            self.history.len() + 1,
                            self.policy.window.as_secs(),
                            label(cause)
                        ),
                    )
                } else {
                    self.record(now, format!("{} restart", label(cause)))
                }
            }
        }
    }

    /// The gateway has been running since `since`; at `now` a half-open breaker whose trial ran
    /// `stable_after` closes. Returns true when the state changed.
    pub fn on_stable(&mut self, since: Instant, now: Instant) -> bool {
        if now.saturating_duration_since(since) < self.policy.stable_after {
            return false;
        }
        // Trips are counted from the first trip until the breaker closes: a closed breaker has
        // none, an open or half-open one has some.
        if matches!(self.state, State::Closed) {
            return false;
        }
        self.state = State::Closed;
        self.trips = 0;
        self.reason = "gateway stable: breaker closed".into();
        true
    }

    /// An explicit `start` by the user: reset like the override, without recording a restart.
    pub fn reset(&mut self) {
        self.history.clear();
        self.state = State::Closed;
        self.trips = 0;
        self.reason = "reset by an explicit start".into();
    }

    /// When an open breaker lets a trial through.
    pub fn open_until(&self) -> Option<Instant> {
        match self.state {
            State::Open { until } => Some(until),
            _ => None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &GovernorPolicy {
        &self.policy
    }

    /// What the user should see at `now`.
    pub fn snapshot(&self, now: Instant) -> GovernorSnapshot {
        let in_window = self
            .history
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < self.policy.window)
            .count();
        let (state, open_for) = match self.state {
            State::Closed => (BreakerState::Closed, Duration::ZERO),
            State::Open { until } => (BreakerState::Open, until.saturating_duration_since(now)),
            State::HalfOpen { .. } => (BreakerState::HalfOpen, Duration::ZERO),
        };
        GovernorSnapshot {
            state,
            reason: self.reason.clone(),
            restarts_in_window: u32::try_from(in_window).unwrap_or(u32::MAX),
            window_ms: ms(self.policy.window),
            max_restarts: self.policy.max_restarts,
            open_for_ms: ms(open_for),
            trips: self.trips,
            executed_total: self.executed_total,
            suppressed_total: self.suppressed_total,
            override_available: state != BreakerState::Closed,
        }
    }
}

fn label(cause: RestartCause) -> &'static str {
    match cause {
        RestartCause::Crash => "crash",
        RestartCause::StartFailed => "failed-start",
        RestartCause::Heartbeat => "heartbeat",
        RestartCause::Explicit => "explicit",
        RestartCause::Reload => "reload",
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// `(at_s, action, expect_allow)`; action is `crash`, `explicit`, `force` or `stable:<since_s>`.
    fn check(steps: &[(u64, &str, bool)]) -> RestartGovernor {
        let t0 = Instant::now();
        let mut g = RestartGovernor::new(GovernorPolicy::default());
        for (at, action, expect) in steps {
            let now = t0 + secs(*at);
            let allowed = if let Some(since) = action.strip_prefix("stable:") {
                let since: u64 = since.parse().unwrap();
                g.on_stable(t0 + secs(since), now)
            } else {
                let (cause, force) = match *action {
                    "crash" => (RestartCause::Crash, false),
                    "explicit" => (RestartCause::Explicit, false),
                    "force" => (RestartCause::Explicit, true),
                    other => panic!("unknown action {other}"),
                };
                g.request(cause, now, force) == Verdict::Allow
            };
            assert_eq!(
                allowed,
                *expect,
                "at {at} s: {action}: {:?}",
                g.snapshot(now)
            );
        }
        g
    }

    #[test]
    fn five_in_a_minute_then_open() {
        let g = check(&[
            (0, "crash", true),
            (1, "crash", true),
            (2, "crash", true),
            (3, "explicit", true),
            (4, "crash", true),
            (5, "crash", false),
            (6, "explicit", false),
        ]);
        let snap = g.snapshot(Instant::now());
        assert_eq!(snap.state, BreakerState::Open);
        assert!(snap.reason.contains("breaker open"), "{}", snap.reason);
        assert!(snap.override_available);
        assert_eq!(snap.suppressed_total, 2);
        assert_eq!(snap.executed_total, 5);
    }

    #[test]
    fn window_slides() {
        check(&[
            (0, "crash", true),
            (10, "crash", true),
            (20, "crash", true),
            (30, "crash", true),
            (40, "crash", true),
            (61, "crash", true), // the one at 0 s has left the window
            (62, "crash", false),
        ]);
    }

    #[test]
    fn cooldown_then_trial_then_close_when_stable() {
        let t0 = Instant::now();
        let g = check(&[
            (0, "crash", true),
            (1, "crash", true),
            (2, "crash", true),
            (3, "crash", true),
            (4, "crash", true),
            (5, "crash", false), // open until 125
            (124, "crash", false),
            (125, "crash", true), // half-open trial
            (200, "stable:126", true),
            (201, "crash", true),
        ]);
        assert_eq!(g.snapshot(t0 + secs(201)).state, BreakerState::Closed);
    }

    #[test]
    fn failed_trial_doubles_the_cooldown() {
        let t0 = Instant::now();
        let g = check(&[
            (0, "crash", true),
            (1, "crash", true),
            (2, "crash", true),
            (3, "crash", true),
            (4, "crash", true),
            (5, "crash", false),   // open 120 s
            (125, "crash", true),  // trial
            (126, "crash", false), // trial failed: open 240 s
            (365, "crash", false),
            (366, "crash", true),
        ]);
        assert_eq!(g.snapshot(t0 + secs(366)).state, BreakerState::HalfOpen);
    }

    #[test]
    fn override_always_executes_and_resets() {
        let t0 = Instant::now();
        let g = check(&[
            (0, "crash", true),
            (1, "crash", true),
            (2, "crash", true),
            (3, "crash", true),
            (4, "crash", true),
            (5, "crash", false),
            (6, "force", true),
            (7, "crash", true),
        ]);
        let snap = g.snapshot(t0 + secs(7));
        assert_eq!(snap.state, BreakerState::Closed);
        assert_eq!(snap.restarts_in_window, 2);
        assert!(!snap.override_available);
    }

    #[test]
    fn short_run_does_not_close() {
        check(&[(10, "stable:0", false)]);
    }

    /// Five restarts at 0..4 s and a sixth at 5 s that trips the breaker (open until 125 s).
    fn tripped(t0: Instant) -> RestartGovernor {
        let mut g = RestartGovernor::new(GovernorPolicy::default());
        for at in 0..5 {
            assert_eq!(
                g.request(RestartCause::Crash, t0 + secs(at), false),
                Verdict::Allow
            );
        }
        assert!(matches!(
            g.request(RestartCause::Crash, t0 + secs(5), false),
            Verdict::Suppress { .. }
        ));
        g
    }

    #[test]
    fn a_trial_stable_for_exactly_stable_after_closes_and_forgets_the_trips() {
        let t0 = Instant::now();
        let mut g = tripped(t0);
        // The trial at 125 s fails at 126 s: open for 240 s (the doubled cooldown).
        assert_eq!(
            g.request(RestartCause::Crash, t0 + secs(125), false),
            Verdict::Allow
        );
        assert!(matches!(
            g.request(RestartCause::Crash, t0 + secs(126), false),
            Verdict::Suppress { retry_in, .. } if retry_in == secs(240)
        ));
        assert_eq!(g.snapshot(t0 + secs(126)).trips, 2);
        assert_eq!(
            g.request(RestartCause::Crash, t0 + secs(366), false),
            Verdict::Allow
        );
        // Stable for one second less than `stable_after`: nothing changes.
        assert!(!g.on_stable(t0 + secs(366), t0 + secs(425)));
        assert_eq!(g.snapshot(t0 + secs(425)).state, BreakerState::HalfOpen);
        // Exactly `stable_after`: closed, trips forgotten.
        assert!(g.on_stable(t0 + secs(366), t0 + secs(426)));
        let snap = g.snapshot(t0 + secs(426));
        assert_eq!(snap.state, BreakerState::Closed);
        assert_eq!(snap.trips, 0);
        assert_eq!(snap.reason, "gateway stable: breaker closed");
        // Forgotten trips: the next trip opens for the first cooldown again, not 480 s.
        for at in 500..505 {
            assert_eq!(
                g.request(RestartCause::Crash, t0 + secs(at), false),
                Verdict::Allow
            );
        }
        assert!(matches!(
            g.request(RestartCause::Crash, t0 + secs(505), false),
            Verdict::Suppress { retry_in, .. } if retry_in == secs(120)
        ));
    }

    #[test]
    fn stability_of_a_closed_breaker_without_trips_changes_nothing() {
        let t0 = Instant::now();
        let mut g = RestartGovernor::new(GovernorPolicy::default());
        g.request(RestartCause::Crash, t0, false);
        let before = g.snapshot(t0 + secs(100));
        assert!(!g.on_stable(t0, t0 + secs(100)));
        assert_eq!(g.snapshot(t0 + secs(100)), before);
        assert_eq!(before.reason, "crash restart");
    }

    #[test]
    fn stability_while_open_closes_the_breaker() {
        let t0 = Instant::now();
        let mut g = tripped(t0);
        assert!(g.on_stable(t0, t0 + secs(60)));
        assert_eq!(g.snapshot(t0 + secs(60)).state, BreakerState::Closed);
        assert_eq!(g.open_until(), None);
    }

    #[test]
    fn an_explicit_start_closes_the_breaker_and_empties_the_window() {
        let t0 = Instant::now();
        let mut g = tripped(t0);
        g.reset();
        let snap = g.snapshot(t0 + secs(6));
        assert_eq!(snap.state, BreakerState::Closed);
        assert_eq!(snap.restarts_in_window, 0);
        assert_eq!(snap.trips, 0);
        assert_eq!(snap.reason, "reset by an explicit start");
        assert!(!snap.override_available);
        // Not counted as a restart.
        assert_eq!(snap.executed_total, 5);
        assert_eq!(snap.suppressed_total, 1);
        assert_eq!(g.open_until(), None);
        assert_eq!(
            g.request(RestartCause::Crash, t0 + secs(6), false),
            Verdict::Allow
        );
    }

    #[test]
    fn open_until_is_the_end_of_the_cooldown_only_while_open() {
        let t0 = Instant::now();
        assert_eq!(
            RestartGovernor::new(GovernorPolicy::default()).open_until(),
            None
        );
        let mut g = tripped(t0);
        assert_eq!(g.open_until(), Some(t0 + secs(125)));
        g.request(RestartCause::Crash, t0 + secs(125), false);
        assert_eq!(g.snapshot(t0 + secs(125)).state, BreakerState::HalfOpen);
        assert_eq!(g.open_until(), None);
    }

    #[test]
    fn the_snapshot_reports_milliseconds_and_leaves_the_window_at_its_edge() {
        let t0 = Instant::now();
        let g = tripped(t0);
        let snap = g.snapshot(t0 + secs(25));
        assert_eq!(snap.window_ms, 60_000);
        assert_eq!(snap.max_restarts, 5);
        assert_eq!(snap.open_for_ms, 100_000);
        assert_eq!(snap.restarts_in_window, 5);
        assert!(snap.override_available);
        assert_eq!(
            snap.reason,
            "6 restarts within 60 s (crash last): breaker open"
        );
        // The restart at 0 s leaves the window at exactly 60 s.
        assert_eq!(g.snapshot(t0 + secs(59)).restarts_in_window, 5);
        assert_eq!(g.snapshot(t0 + secs(60)).restarts_in_window, 4);
        assert_eq!(g.snapshot(t0 + secs(64)).restarts_in_window, 0);
        // Open for nothing once the cooldown is over, though still open until asked.
        assert_eq!(g.snapshot(t0 + secs(200)).open_for_ms, 0);
        assert_eq!(g.snapshot(t0 + secs(200)).state, BreakerState::Open);
    }

    #[test]
    fn a_restart_leaves_the_window_at_exactly_its_length() {
        let t0 = Instant::now();
        let mut g = RestartGovernor::new(GovernorPolicy::default());
        for at in 0..5 {
            g.request(RestartCause::Crash, t0 + secs(at), false);
        }
        // At 60 s the one at 0 s has left: five in the window again, allowed.
        assert_eq!(
            g.request(RestartCause::Crash, t0 + secs(60), false),
            Verdict::Allow
        );
    }

    #[test]
    fn reasons_name_the_cause() {
        let t0 = Instant::now();
        let mut g = RestartGovernor::new(GovernorPolicy::default());
        let cases = [
            (RestartCause::Crash, "crash restart"),
            (RestartCause::StartFailed, "failed-start restart"),
            (RestartCause::Heartbeat, "heartbeat restart"),
            (RestartCause::Explicit, "explicit restart"),
            (RestartCause::Reload, "reload restart"),
        ];
        for (cause, reason) in cases {
            g.reset();
            g.request(cause, t0, false);
            assert_eq!(g.snapshot(t0).reason, reason);
        }
        g.request(RestartCause::Heartbeat, t0, true);
        assert_eq!(
            g.snapshot(t0).reason,
            "heartbeat restart forced by the user (breaker reset)"
        );
        let mut g = tripped(t0);
        g.request(RestartCause::StartFailed, t0 + secs(125), false);
        assert_eq!(
            g.snapshot(t0 + secs(125)).reason,
            "cooldown over: trial failed-start restart"
        );
        g.request(RestartCause::Reload, t0 + secs(126), false);
        assert_eq!(
            g.snapshot(t0 + secs(126)).reason,
            "trial restart failed (reload): breaker open again"
        );
    }

    #[test]
    fn the_cooldown_doubles_up_to_its_cap() {
        let t0 = Instant::now();
        let policy = GovernorPolicy {
            max_restarts: 0,
            cooldown: secs(10),
            max_cooldown: secs(35),
            ..GovernorPolicy::default()
        };
        let mut g = RestartGovernor::new(policy);
        let mut now = t0;
        let mut cooldowns = Vec::new();
        for _ in 0..4 {
            match g.request(RestartCause::Crash, now, false) {
                Verdict::Suppress { retry_in, .. } => {
                    cooldowns.push(retry_in.as_secs());
                    now += retry_in;
                }
                Verdict::Allow => panic!("a closed breaker with max_restarts 0 allows nothing"),
            }
            // The trial, then its failure a second later.
            assert_eq!(g.request(RestartCause::Crash, now, false), Verdict::Allow);
            now += secs(1);
        }
        assert_eq!(cooldowns, [10, 20, 35, 35]);
        assert_eq!(g.policy().max_cooldown, secs(35));
    }
}
