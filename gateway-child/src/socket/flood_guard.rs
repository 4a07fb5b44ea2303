//! The flood guards of one connection: unauthorized calls and pings.
//!
//! A client that keeps calling methods it may not call is probing, not working: after more than
//! [`LIMIT`] unauthorized replies on one socket the connection is closed with 1008 "repeated
//! unauthorized calls". The guard also decides which of those replies deserve a log line (the
//! first and every hundredth), so a flood cannot flood the log. A client that sends more than
//! [`MAX_PINGS_PER_SECOND`] WebSocket pings within one second is flooding (SECURITY §4 item 21):
//! [`PingGuard`] says so and the connection is closed with 1008 "ping flood", so its pongs never
//! crowd out other clients' traffic. Pure counting over instants the caller passes, no IO, no
//! clock.

/// Unauthorized replies tolerated on one connection; the next one closes it.
pub const LIMIT: u32 = 10;

/// What to do after an unauthorized reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Log this one (first, then every 100th).
    pub log: bool,
    /// Close the connection after sending the reply.
    pub close: bool,
    /// How many unauthorized replies this connection has had.
    pub count: u32,
}

/// Counts unauthorized replies on one connection.
#[derive(Debug, Default, Clone)]
pub struct FloodGuard {
    count: u32,
}

impl FloodGuard {
    /// A guard with no strikes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one unauthorized reply.
    pub fn on_unauthorized(&mut self) -> Verdict {
        self.count = self.count.saturating_add(1);
        Verdict {
            log: self.count == 1 || self.count.is_multiple_of(100),
            close: self.count > LIMIT,
            count: self.count,
        }
    }
}

/// Pings tolerated from one connection within one second.
pub const MAX_PINGS_PER_SECOND: u32 = 64;

/// Counts one connection's pings in fixed one-second windows.
#[derive(Debug, Default, Clone)]
pub struct PingGuard {
    window: Option<std::time::Instant>,
    count: u32,
}

impl PingGuard {
    /// A guard with no pings seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a ping at `now`; false when it exceeds the budget (close the connection).
    pub fn on_ping(&mut self, now: std::time::Instant) -> bool {
        let fresh = self.window.is_none_or(|start| {
            now.saturating_duration_since(start) >= std::time::Duration::from_secs(1)
        });
        if fresh {
            self.window = Some(now);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= MAX_PINGS_PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn pings_are_bounded_per_second() {
        let t0 = Instant::now();
        let mut g = PingGuard::new();
        for i in 0..MAX_PINGS_PER_SECOND {
            assert!(g.on_ping(t0 + Duration::from_micros(u64::from(i))));
        }
        assert!(!g.on_ping(t0 + Duration::from_millis(500)));
        // A new second, a new budget: a steady keepalive is never refused.
        let mut g = PingGuard::new();
        for s in 0..100u64 {
            assert!(g.on_ping(t0 + Duration::from_secs(s)));
        }
        let mut g = PingGuard::new();
        for i in 0..MAX_PINGS_PER_SECOND {
            assert!(g.on_ping(t0 + Duration::from_millis(u64::from(i))));
        }
        assert!(g.on_ping(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn closes_after_more_than_ten_and_logs_sparingly() {
        let mut g = FloodGuard::new();
        let verdicts: Vec<Verdict> = (0..11).map(|_| g.on_unauthorized()).collect();
        assert!(verdicts[..10].iter().all(|v| !v.close));
        assert!(verdicts[10].close);
        assert_eq!(verdicts.iter().filter(|v| v.log).count(), 1);
        let mut g = FloodGuard::new();
        let logged = (0..250).filter(|_| g.on_unauthorized().log).count();
        assert_eq!(logged, 3); // 1st, 100th, 200th
    }
}
