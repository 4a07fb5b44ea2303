//! The supervisor's pure policies: each decides one thing from explicit instants and inputs, and
//! the machine composes them. `backoff` (full jitter, paused on auth errors), `heartbeat` (pings
//! and tick silence), `governor` (sliding window and circuit breaker), `debounce` (config-change
//! bursts), `deferral` (restarts that wait for active runs), `reload` (off/hot/restart/hybrid and
//! the restart signal), `exit` (what an exit code means per gateway family).

pub mod backoff;
pub mod debounce;
pub mod deferral;
pub mod exit;
pub mod governor;
pub mod heartbeat;
pub mod reload;
