//! The unauthorized-call flood guard of one connection.
//!
//! A client that keeps calling methods it may not call is probing, not working: after more than
//! [`LIMIT`] unauthorized replies on one socket the connection is closed with 1008 "repeated
//! unauthorized calls". The guard also decides which of those replies deserve a log line (the
//! first and every hundredth), so a flood cannot flood the log. Pure counting, no IO.

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

#[cfg(test)]
mod tests {
    use super::*;

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
