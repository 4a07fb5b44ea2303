//! Options: where things live and how a real supervisor is assembled from them.
//!
//! It owns the mapping from user-facing choices (`--gateway tether|openclaw|PATH`, state dir,
//! port, config, reload policy) to a [`SupervisorConfig`] and real [`Deps`]: the supervisor
//! state directory (`TETHER_STATE_DIR`, else `$XDG_DATA_HOME/tether`, else
//! `~/.local/share/tether`), the gateway's own state directory inside it (`gateway/` for ours,
//! so it matches a standalone `tether-gateway`'s default and Tether can attach to one started by
//! hand; `openclaw/` for upstream), finding the gateway executables (`TETHER_GATEWAY_BIN`, next
//! to `tether`, or `PATH`; upstream from `TETHER_UPSTREAM_NODE`/`TETHER_UPSTREAM_OPENCLAW` or
//! the env file `.ci/install-upstream` writes; the `tether` binary that runs the guardian), and
//! loading the token and device identity. It starts nothing by itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::actor::{Deps, SupervisorConfig};
use crate::attach::ProbeContext;
use crate::connector::{HandshakeTimeouts, WsConnector};
use crate::credentials;
use crate::launcher::ProcessLauncher;
use crate::ledger::{self, Ledger};
use crate::machine::MachineConfig;
use crate::profile::{GatewayKind, Profile};
use crate::reload::ReloadMode;
use crate::state_guard::InstanceLock;

/// User-facing choices.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which gateway.
    pub gateway: GatewayKind,
    /// The supervisor's state directory.
    pub state_dir: PathBuf,
    /// A fixed gateway port.
    pub port: Option<u16>,
    /// A gateway config file.
    pub config: Option<PathBuf>,
    /// Reload policy.
    pub reload: ReloadMode,
}

/// The supervisor state directory from the environment.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TETHER_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tether");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/tether")
}

/// The control socket path in a state dir.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("control.sock")
}

/// The gateway's own state directory.
pub fn gateway_state_dir(state_dir: &Path, kind: &GatewayKind) -> PathBuf {
    match kind {
        GatewayKind::OpenClaw => state_dir.join("openclaw"),
        _ => state_dir.join("gateway"),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Finds `tether-gateway`.
pub fn find_tether_gateway() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TETHER_GATEWAY_BIN") {
        return Some(PathBuf::from(p));
    }
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("tether-gateway")))
        .filter(|p| p.is_file());
    sibling.or_else(|| on_path("tether-gateway"))
}

/// Finds the `tether` binary that runs the guardian ([`crate::guard`]): `TETHER_GUARD_BIN`,
/// else this executable when it is `tether`, else a `tether` next to it (or one directory up,
/// from a test or bench executable in `target/<profile>/deps`). `None`: gateways are spawned
/// directly, with `PR_SET_PDEATHSIG` only.
pub fn find_guard() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TETHER_GUARD_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    if exe.file_name().is_some_and(|n| n == "tether") {
        return Some(exe);
    }
    let dir = exe.parent()?;
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("tether"))
        .find(|p| p.is_file());
    found
}

/// The default location of the env file written by `.ci/install-upstream`.
pub fn upstream_env_file() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/tether/upstream/env.sh")
}

/// Finds upstream OpenClaw: `(node, openclaw.mjs)`.
pub fn find_upstream() -> Result<(PathBuf, PathBuf), String> {
    let mut node = std::env::var_os("TETHER_UPSTREAM_NODE").map(PathBuf::from);
    let mut entry = std::env::var_os("TETHER_UPSTREAM_OPENCLAW").map(PathBuf::from);
    let env_file =
        std::env::var_os("TETHER_UPSTREAM_ENV").map_or_else(upstream_env_file, PathBuf::from);
    if node.is_none() || entry.is_none() {
        if let Ok(text) = std::fs::read_to_string(&env_file) {
            for line in text.lines() {
                let line = line.trim().trim_start_matches("export ").trim();
                if let Some((k, v)) = line.split_once('=') {
                    let v = PathBuf::from(v.trim().trim_matches('"').trim_matches('\''));
                    match k.trim() {
                        "TETHER_UPSTREAM_NODE" if node.is_none() => node = Some(v),
                        "TETHER_UPSTREAM_OPENCLAW" if entry.is_none() => entry = Some(v),
                        _ => {}
                    }
                }
            }
        }
    }
    match (node, entry) {
        (Some(n), Some(e)) if n.is_file() && e.is_file() => Ok((n, e)),
        _ => Err(format!(
            "upstream OpenClaw not found: set TETHER_UPSTREAM_NODE and TETHER_UPSTREAM_OPENCLAW, or install it with .ci/install-upstream (env file {})",
            env_file.display()
        )),
    }
}

/// Resolves the launch profile.
pub fn profile(opts: &Options) -> Result<Profile, String> {
    let state = gateway_state_dir(&opts.state_dir, &opts.gateway);
    let (program, leading_args) = match &opts.gateway {
        GatewayKind::Tether => (
            find_tether_gateway().ok_or("tether-gateway not found: build it, put it next to `tether` or on PATH, or set TETHER_GATEWAY_BIN")?,
            Vec::new(),
        ),
        GatewayKind::OpenClaw => {
            let (node, entry) = find_upstream()?;
            (node, vec![entry.into_os_string()])
        }
        GatewayKind::Custom(p) => (p.clone(), Vec::new()),
    };
    // Only our own gateway is asked: a custom executable is run for nothing but the gateway.
    let token_file = (opts.gateway == GatewayKind::Tether
        && crate::profile::reads_token_file(&program))
    .then(|| credentials::token_path(&state));
    Ok(Profile {
        kind: opts.gateway.clone(),
        program,
        leading_args,
        state_dir: state,
        config: opts.config.clone(),
        port: opts.port,
        token_file,
    })
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

/// Builds a real supervisor's configuration and seams. Must run inside a tokio runtime.
pub fn build(opts: &Options) -> Result<(SupervisorConfig, Deps), String> {
    crate::profile::create_private_dir(&opts.state_dir)
        .map_err(|e| format!("cannot create {}: {e}", opts.state_dir.display()))?;
    let profile = profile(opts)?;
    let token = credentials::load_or_create_token(&profile.state_dir)
        .map_err(|e| format!("gateway token: {e}"))?;
    let device = credentials::load_or_create_device(&opts.state_dir, wall_ms())
        .map_err(|e| format!("device identity: {e}"))?;
    let family = opts.gateway.family();
    let mut machine = MachineConfig::for_family(family, opts.gateway.label());
    machine.waits_for_ready_line = profile.reports_ready();
    machine.restart_signal = profile.restart_signal();
    machine.reload_mode = opts.reload;
    machine.seed = crate::rng::SplitMix64::from_os().next_u64();
    let lock_file = match opts.gateway {
        GatewayKind::OpenClaw => None,
        _ => Some(profile.state_dir.join("gateway.lock")),
    };
    let ledger = Ledger::new(&opts.state_dir);
    let mut cfg = SupervisorConfig::new(machine);
    cfg.probe = Some(ProbeContext {
        ledger: ledger.clone(),
        lock_file,
        fixed_port: opts.port,
        challenge_within: Duration::from_millis(1500),
    });
    cfg.ledger = Some(ledger);
    cfg.token_hash = ledger::token_hash(token.expose());
    cfg.secrets = vec![token.expose().to_owned()];
    cfg.state_dir = Some(opts.state_dir.clone());
    let mut launcher = ProcessLauncher::new(profile, token.clone())
        .map_err(|e| format!("cannot start the spawner thread: {e}"))?;
    if let Some(guard) = find_guard() {
        launcher = launcher.with_guard(guard);
    }
    let connector = WsConnector::new(token, device, HandshakeTimeouts::default());
    Ok((
        cfg,
        Deps {
            launcher: Arc::new(launcher),
            connector: Arc::new(connector),
        },
    ))
}

/// Holds `<state>/supervisor.lock` (a kernel `flock`, released when the process dies) and the
/// state directory's instance name, so only one supervisor runs per state directory, even after
/// the directory was removed under a running one ([`crate::state_guard`]). The returned lock
/// also tells when the directory is lost ([`InstanceLock::lost`]).
pub fn lock_instance(state_dir: &Path) -> Result<InstanceLock, String> {
    InstanceLock::acquire(state_dir).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_state_dirs() {
        let s = Path::new("/s");
        assert_eq!(
            gateway_state_dir(s, &GatewayKind::Tether),
            Path::new("/s/gateway")
        );
        assert_eq!(
            gateway_state_dir(s, &GatewayKind::OpenClaw),
            Path::new("/s/openclaw")
        );
        assert_eq!(socket_path(s), Path::new("/s/control.sock"));
    }
}
