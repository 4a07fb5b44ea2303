//! `Heartbeat`: is the link to the gateway alive?
//!
//! It owns the liveness bookkeeping of one connected link: when the last frame arrived, when the
//! last WebSocket ping went out and whether it is still unanswered. Two rules declare the link
//! dead: **silence** (no frame at all — the gateway's `tick` arrives every `tickIntervalMs` —
//! for 2 × tickIntervalMs) and a **missed pong** (a ping unanswered for the pong timeout). Pings
//! are paced at `min(ping_interval, tick/2)` and the pong timeout is `min(pong_timeout, tick)`,
//! so a wedged gateway is declared dead within 2 × tickIntervalMs either way. Any inbound frame
//! also counts as an answer. It never reads a clock and never touches the socket: it answers
//! "send a ping now", "dead" or "fine" for the instant it is given.

use std::time::{Duration, Instant};

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatPolicy {
    /// Longest gap between pings (shortened to tick/2 for fast-ticking gateways).
    pub ping_interval: Duration,
    /// Longest wait for a pong (shortened to one tick).
    pub pong_timeout: Duration,
}

impl Default for HeartbeatPolicy {
    fn default() -> Self {
        HeartbeatPolicy {
            ping_interval: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the link was declared dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// No frame for this long (≥ 2 × tick).
    Silence(Duration),
    /// A ping went unanswered for this long.
    MissedPong(Duration),
}

impl std::fmt::Display for Death {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Death::Silence(d) => write!(f, "no frame from the gateway for {} ms", d.as_millis()),
            Death::MissedPong(d) => write!(f, "ping unanswered for {} ms", d.as_millis()),
        }
    }
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Nothing until [`Heartbeat::next_deadline`].
    Idle,
    /// Send a WebSocket ping now (then call [`Heartbeat::on_ping_sent`]).
    Ping,
    /// The link is dead.
    Dead(Death),
}

/// Liveness state of one link.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    silence_limit: Duration,
    ping_every: Duration,
    pong_timeout: Duration,
    last_frame: Instant,
    last_ping: Instant,
    outstanding: Option<Instant>,
}

impl Heartbeat {
    /// A link that came up at `now` with the gateway's tick interval.
    pub fn new(policy: HeartbeatPolicy, tick_interval: Duration, now: Instant) -> Self {
        let tick = tick_interval.max(Duration::from_millis(10));
        Heartbeat {
            silence_limit: tick * 2,
            ping_every: policy.ping_interval.min(tick / 2),
            pong_timeout: policy.pong_timeout.min(tick),
            last_frame: now,
            last_ping: now,
            outstanding: None,
        }
    }

    /// Any frame (event, response, pong) arrived.
    pub fn on_frame(&mut self, now: Instant) {
        self.last_frame = now;
        self.outstanding = None;
    }

    /// A ping went out.
    pub fn on_ping_sent(&mut self, now: Instant) {
        self.last_ping = now;
        if self.outstanding.is_none() {
            self.outstanding = Some(now);
        }
    }

    /// The verdict at `now`.
    pub fn poll(&self, now: Instant) -> Beat {
        let silent = now.saturating_duration_since(self.last_frame);
        if silent >= self.silence_limit {
            return Beat::Dead(Death::Silence(silent));
        }
        if let Some(sent) = self.outstanding {
            let waited = now.saturating_duration_since(sent);
            if waited >= self.pong_timeout {
                return Beat::Dead(Death::MissedPong(waited));
            }
        } else if now.saturating_duration_since(self.last_ping) >= self.ping_every {
            return Beat::Ping;
        }
        Beat::Idle
    }

    /// The next instant at which [`Heartbeat::poll`] may answer differently.
    pub fn next_deadline(&self) -> Instant {
        let silence = self.last_frame + self.silence_limit;
        let other = match self.outstanding {
            Some(sent) => sent + self.pong_timeout,
            None => self.last_ping + self.ping_every,
        };
        silence.min(other)
    }

    /// The silence limit (2 × tick).
    pub fn silence_limit(&self) -> Duration {
        self.silence_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives a heartbeat through `(offset_ms, input)` steps and checks each verdict.
    fn check(tick_ms: u64, steps: &[(u64, &str, Beat)]) {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(HeartbeatPolicy::default(), ms(tick_ms), t0);
        for (at, input, expect) in steps {
            let now = t0 + ms(*at);
            match *input {
                "frame" => hb.on_frame(now),
                "ping" => hb.on_ping_sent(now),
                "poll" => {}
                other => panic!("unknown input {other}"),
            }
            assert_eq!(hb.poll(now), *expect, "at {at} ms after {input}");
        }
    }

    #[test]
    fn frames_keep_the_link_alive() {
        check(
            30_000,
            &[
                (0, "poll", Beat::Idle),
                (14_000, "frame", Beat::Idle),
                (15_000, "poll", Beat::Ping),
                (15_000, "ping", Beat::Idle),
                (15_100, "frame", Beat::Idle),
                (29_000, "poll", Beat::Idle),
            ],
        );
    }

    #[test]
    fn missed_pong_kills_within_the_pong_timeout() {
        check(
            30_000,
            &[
                (15_000, "ping", Beat::Idle),
                (24_999, "poll", Beat::Idle),
                (25_000, "poll", Beat::Dead(Death::MissedPong(ms(10_000)))),
            ],
        );
    }

    #[test]
    fn silence_kills_at_twice_the_tick() {
        // A gateway that answers nothing and a supervisor that never got to ping.
        check(
            1_000,
            &[
                (1_999, "poll", Beat::Ping),
                (2_000, "poll", Beat::Dead(Death::Silence(ms(2_000)))),
            ],
        );
    }

    #[test]
    fn fast_ticks_shorten_ping_and_pong_windows() {
        check(
            200,
            &[
                (100, "poll", Beat::Ping),
                (100, "ping", Beat::Idle),
                (299, "poll", Beat::Idle),
                (300, "poll", Beat::Dead(Death::MissedPong(ms(200)))),
            ],
        );
    }

    #[test]
    fn deadline_is_the_earliest_rule() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(HeartbeatPolicy::default(), ms(30_000), t0);
        assert_eq!(hb.next_deadline(), t0 + ms(15_000));
        hb.on_ping_sent(t0 + ms(15_000));
        assert_eq!(hb.next_deadline(), t0 + ms(25_000));
        assert_eq!(hb.silence_limit(), ms(60_000));
    }
}
