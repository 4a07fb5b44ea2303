//! `Backoff`: how long to wait before the next respawn or reconnect, and when to stop trying.
//!
//! It owns the consecutive-failure count and the "paused" state. Delays are capped exponential
//! with **full jitter** (uniform in `0..=ceiling`, from a seeded `SmallRng`), so many
//! supervisors never retry in lockstep. The first retry after a stable run is immediate (a
//! one-off crash recovers at once, as Kubernetes does); the count resets once the gateway has
//! been running for `reset_after`. Failures that need a human (bad token, pairing, protocol
//! mismatch, `retryable:false`) **pause** instead of looping, with the reason kept for display.
//! It is a pure function of its inputs and the instant passed in: it never reads a clock.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::Rng;
use tether_protocol::ErrorShape;

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Ceiling of the second retry's jitter window; doubles each failure after that.
    pub base: Duration,
    /// Largest ceiling.
    pub cap: Duration,
    /// Smallest delay after the first retry, so a tight crash loop cannot spin.
    pub floor: Duration,
    /// Running this long resets the failure count.
    pub reset_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            floor: Duration::from_millis(50),
            reset_after: Duration::from_secs(60),
        }
    }
}

/// What kind of failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Process crash, refused connection, timeout, dropped link: retrying can help.
    Transient {
        /// The peer's `retryAfterMs`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// Credentials, pairing, protocol: retrying cannot help until someone acts.
    NeedsUser {
        /// What the user has to fix.
        reason: String,
    },
}

impl Failure {
    /// Classifies a gateway error: `details.code` that needs a user, or `retryable:false`,
    /// pauses; anything else is transient (honouring `retryAfterMs`).
    pub fn from_error(e: &ErrorShape) -> Failure {
        let needs_user = e.detail_code().is_some_and(|c| c.needs_user_action());
        if needs_user || e.retryable == Some(false) {
            return Failure::NeedsUser {
                reason: e.to_string(),
            };
        }
        Failure::Transient {
            retry_after: e.retry_after_ms.map(Duration::from_millis),
        }
    }
}

/// The decision after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this long; `attempt` counts consecutive failures (1 = first).
    Retry {
        /// Delay before the next try.
        after: Duration,
        /// Consecutive failures so far.
        attempt: u32,
    },
    /// Do not retry until [`Backoff::resume`].
    Paused { reason: String },
}

/// Backoff state.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
    running_since: Option<Instant>,
    paused: Option<String>,
}

impl Backoff {
    /// Fresh state.
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff {
            policy,
            failures: 0,
            running_since: None,
            paused: None,
        }
    }

    /// The gateway became usable at `now`.
    pub fn on_running(&mut self, now: Instant) {
        self.running_since = Some(now);
    }

    /// A failure at `now`: how long to wait, or pause.
    pub fn on_failure(&mut self, failure: &Failure, now: Instant, rng: &mut SmallRng) -> Decision {
        if let Some(since) = self.running_since.take() {
            if now.saturating_duration_since(since) >= self.policy.reset_after {
                self.failures = 0;
            }
        }
        match failure {
            Failure::NeedsUser { reason } => {
                self.paused = Some(reason.clone());
                Decision::Paused {
                    reason: reason.clone(),
                }
            }
            Failure::Transient { retry_after } => {
                let n = self.failures;
                self.failures = self.failures.saturating_add(1);
                let jittered = if n == 0 {
                    Duration::ZERO
                } else {
                    let ceiling = self.ceiling(n);
                    let ms = rng
                        .random_range(0..=u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX));
                    Duration::from_millis(ms).max(self.policy.floor)
                };
                let after = retry_after.map_or(jittered, |hint| jittered.max(hint));
                Decision::Retry {
                    after,
                    attempt: self.failures,
                }
            }
        }
    }

    /// The jitter ceiling of the `n`-th consecutive failure (n ≥ 1): `base · 2^(n-1)`, capped.
    pub fn ceiling(&self, n: u32) -> Duration {
        let shift = n.saturating_sub(1).min(20);
        self.policy
            .base
            .saturating_mul(1u32 << shift)
            .min(self.policy.cap)
    }

    /// Why retries are paused, if they are.
    pub fn paused(&self) -> Option<&str> {
        self.paused.as_deref()
    }

    /// The user acted (new token, explicit start): clear the pause and the count.
    pub fn resume(&mut self) {
        self.paused = None;
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use tether_protocol::error::{DetailCode, ErrorCode};

    fn transient() -> Failure {
        Failure::Transient { retry_after: None }
    }

    fn after(d: Decision) -> Duration {
        match d {
            Decision::Retry { after, .. } => after,
            Decision::Paused { reason } => panic!("paused: {reason}"),
        }
    }

    #[test]
    fn first_retry_is_immediate_then_jitter_within_doubling_ceilings() {
        let t0 = Instant::now();
        let mut b = Backoff::new(BackoffPolicy::default());
        let mut rng = SmallRng::seed_from_u64(7);
        assert_eq!(
            after(b.on_failure(&transient(), t0, &mut rng)),
            Duration::ZERO
        );
        let expect_ceilings = [500u64, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        for ceiling in expect_ceilings {
            let d = after(b.on_failure(&transient(), t0, &mut rng));
            assert!(d <= Duration::from_millis(ceiling), "{d:?} > {ceiling}");
            assert!(d >= Duration::from_millis(50));
        }
    }

    #[test]
    fn full_jitter_spreads_delays() {
        let t0 = Instant::now();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let mut b = Backoff::new(BackoffPolicy::default());
            b.on_failure(&transient(), t0, &mut rng);
            for _ in 0..3 {
                b.on_failure(&transient(), t0, &mut rng);
            }
            seen.insert(after(b.on_failure(&transient(), t0, &mut rng)));
        }
        assert!(
            seen.len() > 40,
            "jitter should rarely repeat: {}",
            seen.len()
        );
    }

    #[test]
    fn same_seed_same_delays() {
        let t0 = Instant::now();
        let run = |seed| {
            let mut b = Backoff::new(BackoffPolicy::default());
            let mut rng = SmallRng::seed_from_u64(seed);
            (0..6)
                .map(|_| after(b.on_failure(&transient(), t0, &mut rng)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(99), run(99));
    }

    #[test]
    fn stable_run_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Backoff::new(BackoffPolicy::default());
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..4 {
            b.on_failure(&transient(), t0, &mut rng);
        }
        b.on_running(t0 + Duration::from_secs(1));
        // Crashed after 10 s: not stable, the count goes on.
        assert!(
            after(b.on_failure(&transient(), t0 + Duration::from_secs(11), &mut rng))
                > Duration::ZERO
        );
        assert_eq!(b.failures(), 5);
        b.on_running(t0 + Duration::from_secs(20));
        // Crashed after 60 s of running: immediate again.
        let d = b.on_failure(&transient(), t0 + Duration::from_secs(80), &mut rng);
        assert_eq!(
            d,
            Decision::Retry {
                after: Duration::ZERO,
                attempt: 1
            }
        );
    }

    #[test]
    fn retry_after_hint_is_a_minimum() {
        let t0 = Instant::now();
        let mut b = Backoff::new(BackoffPolicy::default());
        let mut rng = SmallRng::seed_from_u64(3);
        let f = Failure::Transient {
            retry_after: Some(Duration::from_millis(500)),
        };
        assert_eq!(
            after(b.on_failure(&f, t0, &mut rng)),
            Duration::from_millis(500)
        );
    }

    fn check_class(e: ErrorShape, expect_pause: bool) {
        let f = Failure::from_error(&e);
        assert_eq!(matches!(f, Failure::NeedsUser { .. }), expect_pause, "{e}");
    }

    #[test]
    fn auth_and_pairing_pause_transport_retries() {
        let mismatch = ErrorShape::invalid_request("unauthorized: gateway token mismatch")
            .with_details(serde_json::json!({"code": DetailCode::AuthTokenMismatch}));
        check_class(mismatch.clone(), true);
        check_class(
            ErrorShape::new(ErrorCode::NotPaired, "pairing required")
                .with_details(serde_json::json!({"code":"PAIRING_REQUIRED","requestId":"r"})),
            true,
        );
        check_class(ErrorShape::unavailable("gateway starting", 500), false);
        let mut not_retryable = ErrorShape::new(ErrorCode::Unavailable, "no");
        not_retryable.retryable = Some(false);
        check_class(not_retryable, true);
        check_class(
            ErrorShape::invalid_request("slow down")
                .with_details(serde_json::json!({"code":"AUTH_RATE_LIMITED"})),
            false,
        );

        let t0 = Instant::now();
        let mut b = Backoff::new(BackoffPolicy::default());
        let mut rng = SmallRng::seed_from_u64(3);
        let d = b.on_failure(&Failure::from_error(&mismatch), t0, &mut rng);
        assert!(
            matches!(d, Decision::Paused { ref reason } if reason.contains("AUTH_TOKEN_MISMATCH"))
        );
        assert!(b.paused().is_some());
        b.resume();
        assert!(b.paused().is_none());
    }
}
