//! The machine's tunables.

use std::time::Duration;

use crate::policy::backoff::BackoffPolicy;
use crate::policy::exit::Family;
use crate::policy::governor::GovernorPolicy;
use crate::policy::heartbeat::HeartbeatPolicy;
use crate::policy::reload::ReloadMode;
use crate::policy::reload::RestartSignal;

/// Tunables of the machine.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// Exit-code contract.
    pub family: Family,
    /// `tether`, `openclaw` or `custom` (for status events).
    pub gateway_label: String,
    /// The child reports readiness and its port on stdout (ours); otherwise connect by polling.
    pub waits_for_ready_line: bool,
    /// In-process restart signal of the profile.
    pub restart_signal: Option<RestartSignal>,
    /// Respawn/reconnect delays.
    pub backoff: BackoffPolicy,
    /// Restart breaker.
    pub governor: GovernorPolicy,
    /// Link liveness.
    pub heartbeat: HeartbeatPolicy,
    /// `reload` policy.
    pub reload_mode: ReloadMode,
    /// Reload debounce (trailing edge).
    pub reload_debounce: Duration,
    /// Longest a burst of reloads is held.
    pub reload_max_wait: Duration,
    /// Spawn → `hello-ok` deadline.
    pub ready_timeout: Duration,
    /// Pause between connection attempts while the gateway starts.
    pub connect_retry: Duration,
    /// SIGTERM → SIGKILL.
    pub stop_grace: Duration,
    /// The whole stop, SIGKILL included, never takes longer than this.
    pub quit_budget: Duration,
    /// Slack beyond `restartExpectedMs` before an in-process restart counts as hung.
    pub restart_grace: Duration,
    /// Seed of the jitter RNG.
    pub seed: u64,
}

impl MachineConfig {
    /// Defaults for a gateway family.
    pub fn for_family(family: Family, label: &str) -> Self {
        let upstream = family == Family::OpenClaw;
        MachineConfig {
            family,
            gateway_label: label.to_owned(),
            waits_for_ready_line: !upstream,
            restart_signal: Some(if upstream {
                RestartSignal::Usr2
            } else {
                RestartSignal::Usr1
            }),
            backoff: BackoffPolicy::default(),
            governor: GovernorPolicy::default(),
            heartbeat: HeartbeatPolicy::default(),
            reload_mode: ReloadMode::Hybrid,
            reload_debounce: Duration::from_millis(1200),
            reload_max_wait: Duration::from_secs(6),
            // Upstream needs ~7.5 s on 2 cores (up to ~10 s on a fresh state).
            ready_timeout: Duration::from_secs(if upstream { 60 } else { 20 }),
            connect_retry: Duration::from_millis(if upstream { 250 } else { 50 }),
            stop_grace: Duration::from_secs(5),
            quit_budget: Duration::from_secs(8),
            restart_grace: Duration::from_secs(if upstream { 20 } else { 10 }),
            seed: 0,
        }
    }
}
