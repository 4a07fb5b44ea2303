//! The supervisor's wall clock: epoch milliseconds for journal entries, event timestamps and the
//! start of a phase as users see it. Durations and deadlines use `Instant` (the machine is handed
//! instants; it never reads a clock). The gateway has its own `clock` module: `protocol` holds no
//! clock by design and the gateway may not depend on the supervisor.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
