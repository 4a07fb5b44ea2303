//! The gateway's wall clock: epoch milliseconds for timestamps that go on the wire, into
//! transcripts and into health and presence.
//!
//! It owns only the conversion of `SystemTime::now()` to epoch milliseconds. It must never be
//! used to measure durations or to order events (use `Instant` and the per-run `seq` for that).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
