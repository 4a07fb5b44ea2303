//! Reload policy: how a `reload` request reaches the gateway.
//!
//! It owns the `off|hot|restart|hybrid` choice and turns it, plus what the running gateway can do,
//! into one plan. `hot` asks the gateway to restart in-process (same pid, config re-read from
//! disk): the `gateway.restart.request` RPC when `hello-ok` advertises it, else the profile's
//! restart signal on a process Tether owns — SIGUSR1 for `tether-gateway`, **SIGUSR2 for
//! upstream OpenClaw** (SIGUSR1 opens Node's inspector there and must never be sent).
//! `restart` is a full stop + start through the governor. `hybrid` is hot when possible, else
//! restart. Pure decision; nothing is sent from here.

use serde::{Deserialize, Serialize};

/// An in-process restart signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartSignal {
    /// `tether-gateway`.
    Usr1,
    /// Upstream OpenClaw 2026.9+.
    Usr2,
}

/// `reload` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadMode {
    /// Reload requests are refused.
    Off,
    /// In-process restart only; refused when the gateway cannot do it.
    Hot,
    /// Always a full restart.
    Restart,
    /// In-process when possible, else a full restart.
    #[default]
    Hybrid,
}

impl std::str::FromStr for ReloadMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(ReloadMode::Off),
            "hot" => Ok(ReloadMode::Hot),
            "restart" => Ok(ReloadMode::Restart),
            "hybrid" => Ok(ReloadMode::Hybrid),
            other => Err(format!(
                "unknown reload mode {other:?} (off|hot|restart|hybrid)"
            )),
        }
    }
}

/// What the connected gateway can do for a hot reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotCapabilities {
    /// `hello-ok.features.methods` has `gateway.restart.request`.
    pub restart_rpc: bool,
    /// The signal to send, when Tether owns the process and the profile has one.
    pub signal: Option<RestartSignal>,
}

/// How to carry out a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadPlan {
    /// Call `gateway.restart.request`.
    Rpc,
    /// Signal the owned process.
    Signal(RestartSignal),
    /// Full stop + start.
    Restart,
    /// Do nothing, and say why.
    Refuse(String),
}

/// Chooses the plan.
pub fn plan(mode: ReloadMode, caps: HotCapabilities) -> ReloadPlan {
    let hot = if caps.restart_rpc {
        Some(ReloadPlan::Rpc)
    } else {
        caps.signal.map(ReloadPlan::Signal)
    };
    match (mode, hot) {
        (ReloadMode::Off, _) => ReloadPlan::Refuse("reload policy is off".into()),
        (ReloadMode::Restart, _) => ReloadPlan::Restart,
        (ReloadMode::Hot | ReloadMode::Hybrid, Some(p)) => p,
        (ReloadMode::Hot, None) => ReloadPlan::Refuse(
            "reload policy is hot, but this gateway has no restart RPC and is not Tether's to signal"
                .into(),
        ),
        (ReloadMode::Hybrid, None) => ReloadPlan::Restart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mode: &str, rpc: bool, signal: Option<RestartSignal>, expect: ReloadPlan) {
        let caps = HotCapabilities {
            restart_rpc: rpc,
            signal,
        };
        assert_eq!(plan(mode.parse().unwrap(), caps), expect, "{mode} {caps:?}");
    }

    #[test]
    fn plans() {
        use RestartSignal::*;
        check("hybrid", true, Some(Usr1), ReloadPlan::Rpc);
        check("hybrid", false, Some(Usr2), ReloadPlan::Signal(Usr2));
        check("hybrid", false, None, ReloadPlan::Restart);
        check("hot", false, Some(Usr1), ReloadPlan::Signal(Usr1));
        assert!(matches!(
            plan(
                ReloadMode::Hot,
                HotCapabilities {
                    restart_rpc: false,
                    signal: None
                }
            ),
            ReloadPlan::Refuse(_)
        ));
        check("restart", true, Some(Usr1), ReloadPlan::Restart);
        assert!(matches!(
            plan(
                ReloadMode::Off,
                HotCapabilities {
                    restart_rpc: true,
                    signal: None
                }
            ),
            ReloadPlan::Refuse(_)
        ));
        assert!("sometimes".parse::<ReloadMode>().is_err());
    }
}
