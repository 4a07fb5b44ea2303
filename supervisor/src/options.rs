//! Options: where things live and how a real supervisor is assembled from them.
//!
//! It owns the mapping from user-facing choices (`--gateway tether|openclaw|PATH`, state dir,
//! port, config, reload policy) to a [`SupervisorConfig`] and real [`Deps`]: the supervisor
//! state directory (`TETHER_STATE_DIR`, else `$XDG_DATA_HOME/tether`, else
//! `~/.local/share/tether`), the gateway's own state directory inside it (`gateway/` for ours,
//! so it matches a standalone `tether-gateway`'s default and Tether can attach to one started by
//! hand; `openclaw/` for upstream), finding the gateway executables (`TETHER_GATEWAY_BIN`, next
//! to `tether`, or `PATH`; upstream as users install it, see [`find_upstream_from`]; the `tether`
//! binary that runs the guardian), and loading the token and device identity. It starts nothing
//! by itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::wall_ms;

use crate::actor::{Deps, SupervisorConfig};
use crate::attach::ProbeContext;
use crate::connector::{HandshakeTimeouts, WsConnector};
use crate::credentials;
use crate::launcher::ProcessLauncher;
use crate::ledger::{self, Ledger};
use crate::machine::MachineConfig;
use crate::policy::reload::ReloadMode;
use crate::profile::{GatewayKind, Profile};
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
    /// `openclaw`: an `openclaw` executable (or shim) or its entry file to use; `None` finds
    /// upstream as users install it ([`find_upstream_from`]).
    pub upstream: Option<PathBuf>,
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

/// Finds the `tether` binary that runs the guardian ([`crate::guard`]). The guardian must be a
/// process whose every thread blocks its signals (it waits for `SIGCHLD` with `sigwait`): the
/// desktop app links WebKitGTK, whose JavaScriptCore starts a thread before `main`, so the app
/// always uses `tether`, never itself. `TETHER_GUARD_BIN`,
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

/// The upstream OpenClaw release Tether is tested against.
pub const UPSTREAM_VERSION: &str = "2026.9.6";

/// Upstream OpenClaw could not be found; the message says what was tried and how to install it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "upstream OpenClaw not found ({tried}). Install it with `npm install -g openclaw@{UPSTREAM_VERSION}` \
     (it needs Node 24) so that `openclaw` is on PATH, or set TETHER_UPSTREAM_NODE and \
     TETHER_UPSTREAM_OPENCLAW to the node binary and openclaw.mjs"
)]
pub struct UpstreamNotFound {
    /// What was looked at, and why it did not do.
    pub tried: String,
}

/// Where upstream is looked for: the process environment, as [`find_upstream_from`] reads it.
#[derive(Debug, Clone, Default)]
pub struct UpstreamEnv {
    /// `TETHER_UPSTREAM_NODE` (overrides the node that runs upstream).
    pub node: Option<PathBuf>,
    /// `TETHER_UPSTREAM_OPENCLAW` (overrides the entry script).
    pub entry: Option<PathBuf>,
    /// `PATH`.
    pub path: Option<std::ffi::OsString>,
    /// `HOME` (Volta keeps packages under it).
    pub home: Option<PathBuf>,
    /// The env file `.ci/install-upstream` writes (a last resort).
    pub env_file: PathBuf,
}

impl UpstreamEnv {
    /// Reads the process environment (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        UpstreamEnv {
            node: var("TETHER_UPSTREAM_NODE").map(PathBuf::from),
            entry: var("TETHER_UPSTREAM_OPENCLAW").map(PathBuf::from),
            path: var("PATH"),
            home: var("HOME").map(PathBuf::from),
            env_file: var("TETHER_UPSTREAM_ENV").map_or_else(upstream_env_file, PathBuf::from),
        }
    }
}

/// Finds upstream OpenClaw: `(node, openclaw.mjs)`. See [`find_upstream_from`].
pub fn find_upstream() -> Result<(PathBuf, PathBuf), UpstreamNotFound> {
    find_upstream_from(None)
}

/// Finds upstream OpenClaw: `(node, entry script)`, where `explicit` (an `openclaw` executable,
/// npm/pnpm shim, or entry file chosen by the user) comes first. Then, in order:
/// `TETHER_UPSTREAM_NODE` + `TETHER_UPSTREAM_OPENCLAW` (overrides); the first `openclaw` on `PATH`
/// as users install it (`npm install -g`, pnpm, nvm, Volta), its shim resolved to the JS entry
/// and the `node` that runs it; the env file of `.ci/install-upstream`. `TETHER_UPSTREAM_NODE`
/// alone overrides the node for whatever entry is found.
pub fn find_upstream_from(explicit: Option<&Path>) -> Result<(PathBuf, PathBuf), UpstreamNotFound> {
    find_upstream_in(explicit, &UpstreamEnv::from_process())
}

/// [`find_upstream_from`] with the environment given (for tests).
pub fn find_upstream_in(
    explicit: Option<&Path>,
    env: &UpstreamEnv,
) -> Result<(PathBuf, PathBuf), UpstreamNotFound> {
    let mut tried = Vec::new();
    if let Some(p) = explicit {
        return resolve_openclaw(p, env).map_err(|why| UpstreamNotFound {
            tried: format!("{}: {why}", p.display()),
        });
    }
    if let Some(entry) = &env.entry {
        match resolve_openclaw(entry, env) {
            Ok(found) => return Ok(found),
            Err(why) => tried.push(format!(
                "TETHER_UPSTREAM_OPENCLAW {}: {why}",
                entry.display()
            )),
        }
    }
    match on_path_in("openclaw", env.path.as_deref()) {
        Some(shim) => match resolve_openclaw(&shim, env) {
            Ok(found) => return Ok(found),
            Err(why) => tried.push(format!("{}: {why}", shim.display())),
        },
        None => tried.push("no `openclaw` on PATH".to_owned()),
    }
    if let Ok(text) = std::fs::read_to_string(&env.env_file) {
        let (mut node, mut entry) = (None, None);
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ").trim();
            if let Some((k, v)) = line.split_once('=') {
                let v = PathBuf::from(v.trim().trim_matches('"').trim_matches('\''));
                match k.trim() {
                    "TETHER_UPSTREAM_NODE" => node = Some(v),
                    "TETHER_UPSTREAM_OPENCLAW" => entry = Some(v),
                    _ => {}
                }
            }
        }
        if let (Some(node), Some(entry)) = (env.node.clone().or(node), entry) {
            if is_executable(&node) && entry.is_file() {
                return Ok((node, entry));
            }
        }
    }
    Err(UpstreamNotFound {
        tried: tried.join("; "),
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path_in(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// The first bytes of a file, as text (for shebangs and shims; never more than 64 KiB).
fn head_of(p: &Path) -> Option<String> {
    let (bytes, _) = crate::regular_file::read(p, 64 * 1024).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn is_js(p: &Path) -> bool {
    if p.extension()
        .is_some_and(|e| e == "mjs" || e == "js" || e == "cjs")
    {
        return true;
    }
    head_of(p).is_some_and(|t| {
        t.lines()
            .next()
            .is_some_and(|l| l.starts_with("#!") && l.contains("node"))
    })
}

/// The JS entry a shell-script shim (pnpm, npm's cmd-shim, asdf-style) runs: the first quoted or
/// bare word naming `node_modules/openclaw/….{mjs,js,cjs}`, with `$basedir`/`$(dirname "$0")`
/// meaning the shim's directory.
fn entry_from_shim(text: &str, shim_dir: &Path) -> Option<PathBuf> {
    let base = shim_dir.to_string_lossy();
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| w.contains("node_modules/openclaw/"))
        .map(|w| {
            w.replace("${basedir}", &base)
                .replace("$basedir", &base)
                .replace("$(dirname \"$0\")", &base)
        })
        .find(|w| {
            let p = Path::new(w);
            p.is_absolute()
                && p.extension()
                    .is_some_and(|e| e == "mjs" || e == "js" || e == "cjs")
        })
        .map(PathBuf::from)
}

/// Resolves an `openclaw` executable, shim or entry file to `(node, entry)`.
fn resolve_openclaw(p: &Path, env: &UpstreamEnv) -> Result<(PathBuf, PathBuf), String> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let real = std::fs::canonicalize(&p).map_err(|e| e.to_string())?;
    let shim_dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    let entry = if is_js(&real) {
        real.clone()
    } else if let Some(e) = head_of(&real)
        .filter(|t| t.starts_with("#!"))
        .and_then(|t| entry_from_shim(&t, &shim_dir))
    {
        e
    } else {
        // A binary shim (Volta) or an unknown launcher: the package where a global install puts it.
        let mut candidates = vec![shim_dir.join("../lib/node_modules/openclaw/openclaw.mjs")];
        if let Some(home) = &env.home {
            candidates.push(home.join(
                ".volta/tools/image/packages/openclaw/lib/node_modules/openclaw/openclaw.mjs",
            ));
        }
        candidates
            .into_iter()
            .find(|c| c.is_file())
            .ok_or("not a JavaScript entry or a shim Tether can read")?
    };
    let entry = std::fs::canonicalize(&entry).map_err(|e| format!("{}: {e}", entry.display()))?;
    if let Some(pkg) = entry.parent().map(|d| d.join("package.json")) {
        // Upstream's package.json is over 100 KB: read it whole (within reason).
        if let Ok((bytes, _)) = crate::regular_file::read(&pkg, 4 << 20) {
            let name = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_owned));
            if name.as_deref() != Some("openclaw") {
                return Err(format!(
                    "{} is not the openclaw package's entry",
                    entry.display()
                ));
            }
        }
    }
    // The node that runs it: the override, one next to the shim (npm -g prefix, nvm, pnpm), or
    // the first on PATH.
    let node = env
        .node
        .clone()
        .or_else(|| Some(shim_dir.join("node")).filter(|n| is_executable(n)))
        .or_else(|| on_path_in("node", env.path.as_deref()))
        .ok_or("no `node` found next to it or on PATH (set TETHER_UPSTREAM_NODE)")?;
    if !is_executable(&node) {
        return Err(format!("{} is not an executable node", node.display()));
    }
    Ok((node, entry))
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
            let (node, entry) =
                find_upstream_from(opts.upstream.as_deref()).map_err(|e| e.to_string())?;
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
    // The jitter's seed: predictable jitter if the OS RNG fails is harmless, never unsafe.
    let mut seed = [0u8; 8];
    machine.seed = match getrandom::fill(&mut seed) {
        Ok(()) => u64::from_le_bytes(seed),
        Err(_) => 0x5eed_7e7e_5eed_7e7e,
    };
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

/// Why [`lock_instance`] failed: another supervisor holds the state directory, or it could
/// not be used.
pub use crate::state_guard::LockError as InstanceError;

/// Holds `<state>/supervisor.lock` (a kernel `flock`, released when the process dies) and the
/// state directory's instance name, so only one supervisor runs per state directory, even after
/// the directory was removed under a running one ([`crate::state_guard`]). The returned lock
/// also tells when the directory is lost ([`InstanceLock::lost`]).
pub fn lock_instance(state_dir: &Path) -> Result<InstanceLock, InstanceError> {
    InstanceLock::acquire(state_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// An installed openclaw package under `modules` (`…/node_modules`): its entry.
    fn package(modules: &Path) -> PathBuf {
        let pkg = modules.join("openclaw");
        std::fs::create_dir_all(&pkg).unwrap();
        // As large as upstream's (142 KB).
        let padding = "x".repeat(150_000);
        std::fs::write(
            pkg.join("package.json"),
            format!(r#"{{"name":"openclaw","version":"2026.9.6","description":"{padding}"}}"#),
        )
        .unwrap();
        let entry = pkg.join("openclaw.mjs");
        executable(&entry, "#!/usr/bin/env node\nimport './dist/index.js';\n");
        entry.canonicalize().unwrap()
    }

    fn env(path: &[&Path]) -> UpstreamEnv {
        UpstreamEnv {
            path: Some(std::env::join_paths(path).unwrap()),
            env_file: PathBuf::from("/nonexistent/env.sh"),
            ..UpstreamEnv::default()
        }
    }

    #[test]
    fn openclaw_on_path_is_found_as_npm_nvm_and_pnpm_install_it() {
        let tmp = tempfile::tempdir().unwrap();
        // npm install -g (and nvm): <prefix>/bin/openclaw -> ../lib/node_modules/openclaw/openclaw.mjs,
        // with the node that installed it next to it.
        let prefix = tmp.path().join("npm");
        let entry = package(&prefix.join("lib/node_modules"));
        let bin = prefix.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(
            "../lib/node_modules/openclaw/openclaw.mjs",
            bin.join("openclaw"),
        )
        .unwrap();
        executable(&bin.join("node"), "#!/bin/sh\n");
        let other = tmp.path().join("usr-bin");
        executable(&other.join("node"), "#!/bin/sh\n");
        assert_eq!(
            find_upstream_in(None, &env(&[&other, &bin])).unwrap(),
            (bin.join("node"), entry.clone())
        );
        // TETHER_UPSTREAM_NODE overrides the node; TETHER_UPSTREAM_OPENCLAW the entry.
        let mut e = env(&[&bin]);
        e.node = Some(other.join("node"));
        assert_eq!(
            find_upstream_in(None, &e).unwrap(),
            (other.join("node"), entry.clone())
        );

        // pnpm: a shell shim naming the entry under $basedir; node from PATH.
        let pnpm = tmp.path().join("pnpm");
        let pnpm_entry = package(&pnpm.join("global/5/node_modules"));
        executable(
            &pnpm.join("openclaw"),
            "#!/bin/sh\nbasedir=$(dirname \"$(echo \"$0\" | sed -e 's,\\\\,/,g')\")\n\
             if [ -x \"$basedir/node\" ]; then\n  exec \"$basedir/node\"  \"$basedir/global/5/node_modules/openclaw/openclaw.mjs\" \"$@\"\n\
             else\n  exec node  \"$basedir/global/5/node_modules/openclaw/openclaw.mjs\" \"$@\"\nfi\n",
        );
        assert_eq!(
            find_upstream_in(None, &env(&[&pnpm, &other])).unwrap(),
            (other.join("node"), pnpm_entry)
        );

        // An explicit path wins: the shim or the entry itself.
        assert_eq!(
            find_upstream_in(Some(&bin.join("openclaw")), &env(&[&other])).unwrap(),
            (bin.join("node"), entry.clone())
        );
        assert_eq!(
            find_upstream_in(Some(&entry), &env(&[&other])).unwrap().1,
            entry
        );
    }

    #[test]
    fn a_missing_upstream_says_how_to_install_it() {
        let tmp = tempfile::tempdir().unwrap();
        let e = find_upstream_in(None, &env(&[tmp.path()])).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("npm install -g openclaw@2026.9.6"), "{text}");
        assert!(text.contains("TETHER_UPSTREAM_NODE"), "{text}");
        assert!(text.contains("no `openclaw` on PATH"), "{text}");
        // Something named openclaw that is not the package is refused, saying why.
        let bin = tmp.path().join("bin");
        let fake = tmp.path().join("lib/node_modules/openclaw");
        std::fs::create_dir_all(&fake).unwrap();
        std::fs::write(fake.join("package.json"), r#"{"name":"not-openclaw"}"#).unwrap();
        executable(&fake.join("openclaw.mjs"), "#!/usr/bin/env node\n");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(fake.join("openclaw.mjs"), bin.join("openclaw")).unwrap();
        executable(&bin.join("node"), "#!/bin/sh\n");
        let text = find_upstream_in(None, &env(&[&bin]))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("is not the openclaw package's entry"),
            "{text}"
        );
    }

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
