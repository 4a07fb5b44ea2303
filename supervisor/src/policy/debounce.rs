//! `Debounce`: coalesces bursts of requests (config reloads) into one action.
//!
//! It owns the first and last request instants of the current burst. It fires `delay` after
//! the last request (trailing edge), but never later than `max_wait` after the first one, so a
//! steady stream of requests still gets served. It only answers "fire now, covering N
//! requests" for the instant it is given: it never sleeps and never reads a clock.

use std::time::{Duration, Instant};

/// A trailing-edge debouncer with a maximum wait.
#[derive(Debug, Clone)]
pub struct Debounce {
    delay: Duration,
    max_wait: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
    count: u32,
}

impl Debounce {
    /// `delay` after the last request, at most `max_wait` after the first.
    pub fn new(delay: Duration, max_wait: Duration) -> Self {
        Debounce {
            delay,
            max_wait: max_wait.max(delay),
            first: None,
            last: None,
            count: 0,
        }
    }

    /// A request arrived.
    pub fn request(&mut self, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.count = self.count.saturating_add(1);
    }

    /// When the pending burst fires, if one is pending.
    pub fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + self.delay).min(first + self.max_wait))
    }

    /// Fires if the deadline has passed: returns how many requests were coalesced.
    pub fn poll(&mut self, now: Instant) -> Option<u32> {
        if now < self.deadline()? {
            return None;
        }
        let n = self.count;
        self.cancel();
        Some(n)
    }

    /// Drops the pending burst.
    pub fn cancel(&mut self) {
        self.first = None;
        self.last = None;
        self.count = 0;
    }

    /// Whether a burst is pending.
    pub fn is_pending(&self) -> bool {
        self.first.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(at_ms, "req" | "poll", expect)`: `expect` is what `poll` returns after the step.
    fn check(delay: u64, max: u64, steps: &[(u64, &str, Option<u32>)]) {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(delay), Duration::from_millis(max));
        for (at, what, expect) in steps {
            let now = t0 + Duration::from_millis(*at);
            if *what == "req" {
                d.request(now);
            }
            assert_eq!(d.poll(now), *expect, "at {at} ms ({what})");
        }
    }

    #[test]
    fn burst_coalesces_to_one() {
        check(
            300,
            3000,
            &[
                (0, "req", None),
                (100, "req", None),
                (250, "req", None),
                (549, "poll", None),
                (550, "poll", Some(3)),
                (2000, "poll", None),
            ],
        );
    }

    #[test]
    fn steady_stream_still_fires_at_max_wait() {
        let mut steps: Vec<(u64, &str, Option<u32>)> =
            (0..5).map(|i| (i * 200, "req", None)).collect();
        steps.push((1000, "req", Some(6)));
        steps.push((1200, "req", None));
        steps.push((1499, "poll", None));
        steps.push((1500, "poll", Some(1)));
        check(300, 1000, &steps);
    }

    #[test]
    fn deadline_reports_the_pending_fire_time() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(300), Duration::from_millis(1000));
        assert_eq!(d.deadline(), None);
        d.request(t0);
        assert_eq!(d.deadline(), Some(t0 + Duration::from_millis(300)));
        assert!(d.is_pending());
        d.cancel();
        assert!(!d.is_pending());
    }
}
