//! Launch profiles: how each kind of gateway is started, configured and signalled.
//!
//! It owns the per-gateway differences, so the rest of the supervisor has one code path:
//! `tether` (our `tether-gateway`: `run --port 0 --state-dir <state>/gateway`, token in
//! `TETHER_GATEWAY_TOKEN`, readiness and port from its `{"event":"ready"}` stdout line, SIGUSR1
//! restarts in-process), `openclaw` (upstream on Node 24: embedding variables
//! `OPENCLAW_NO_RESPAWN=1`, `OPENCLAW_DISABLE_BONJOUR=1`, `OPENCLAW_SKIP_CHANNELS=1`,
//! `OPENCLAW_EXEC_SHELL_SNAPSHOT=0`, isolated `OPENCLAW_STATE_DIR`/`OPENCLAW_CONFIG_PATH`/`HOME`,
//! a generated network-off `openclaw.json`, a free port chosen by Tether, restart signal
//! **SIGUSR2** — never SIGUSR1, which opens Node's inspector) and `custom` (any executable that
//! follows `tether-gateway`'s command line). Our gateway gets the token as the path of the
//! supervisor's 0600 token file (`TETHER_GATEWAY_TOKEN_FILE`) when it reads one, else in
//! `TETHER_GATEWAY_TOKEN`. The environment is built explicitly: the parent's
//! variables minus supervisor markers (PROTOCOL §8.3), `NODE_OPTIONS` and every variable that
//! would override what the profile sets. The token never goes on the command line. Writing the
//! generated config is the only IO here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::policy::exit::Family;
pub use crate::policy::reload::RestartSignal;

/// Which gateway to supervise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayKind {
    /// Our `tether-gateway`.
    Tether,
    /// Upstream OpenClaw.
    OpenClaw,
    /// An executable following `tether-gateway`'s conventions.
    Custom(PathBuf),
}

impl std::str::FromStr for GatewayKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "tether" => GatewayKind::Tether,
            "openclaw" => GatewayKind::OpenClaw,
            path => GatewayKind::Custom(PathBuf::from(path)),
        })
    }
}

impl GatewayKind {
    /// `tether`, `openclaw` or `custom`.
    pub fn label(&self) -> &'static str {
        match self {
            GatewayKind::Tether => "tether",
            GatewayKind::OpenClaw => "openclaw",
            GatewayKind::Custom(_) => "custom",
        }
    }

    /// The exit-code contract.
    pub fn family(&self) -> Family {
        match self {
            GatewayKind::OpenClaw => Family::OpenClaw,
            _ => Family::Tether,
        }
    }
}

/// Environment variables never passed to a child: supervisor markers (a gateway that sees them
/// exits on restart and expects its service manager to respawn it), Node flags, and anything the
/// profile sets itself.
pub const STRIPPED_ENV: &[&str] = &[
    "OPENCLAW_SERVICE_MARKER",
    "OPENCLAW_SERVICE_KIND",
    "OPENCLAW_SYSTEMD_UNIT",
    "OPENCLAW_LAUNCHD_LABEL",
    "OPENCLAW_WINDOWS_TASK_NAME",
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "SYSTEMD_EXEC_PID",
    "LAUNCH_JOB_LABEL",
    "XPC_SERVICE_NAME",
    "NODE_OPTIONS",
    "OPENCLAW_GATEWAY_TOKEN",
    "OPENCLAW_GATEWAY_PASSWORD",
    "OPENCLAW_GATEWAY_PORT",
    "OPENCLAW_STATE_DIR",
    "OPENCLAW_CONFIG_PATH",
    "OPENCLAW_HOME",
    "OPENCLAW_PROFILE",
    "OPENCLAW_ALLOW_MULTI_GATEWAY",
    "TETHER_GATEWAY_TOKEN",
    "TETHER_GATEWAY_TOKEN_FILE",
    "TETHER_STATE_DIR",
    "TETHER_CONFIG",
];

/// A resolved profile: everything needed to build a command line.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The kind.
    pub kind: GatewayKind,
    /// Executable (node for upstream).
    pub program: PathBuf,
    /// Arguments before the profile's own (the `openclaw.mjs` entry for upstream).
    pub leading_args: Vec<OsString>,
    /// The gateway's own state directory.
    pub state_dir: PathBuf,
    /// A config file the user chose (merged into the generated one for upstream).
    pub config: Option<PathBuf>,
    /// A fixed port; otherwise ours picks its own (`--port 0`) and upstream gets a free one.
    pub port: Option<u16>,
    /// The token's file (0600), handed over as `TETHER_GATEWAY_TOKEN_FILE` instead of the token
    /// itself in `TETHER_GATEWAY_TOKEN`, for a `tether-gateway` that reads one (see
    /// [`reads_token_file`]); then no secret is in the gateway's environment at all.
    pub token_file: Option<PathBuf>,
}

/// Whether the `tether-gateway` at `program` takes its token from a file
/// (`TETHER_GATEWAY_TOKEN_FILE`): its `run --help` mentions `--token-file`. Older binaries only
/// read `TETHER_GATEWAY_TOKEN`. Runs the program once, bounded to two seconds.
pub fn reads_token_file(program: &Path) -> bool {
    use std::io::Read;
    let Ok(mut child) = std::process::Command::new(program)
        .args(["run", "--help"])
        .env_remove("TETHER_GATEWAY_TOKEN")
        .env_remove("TETHER_GATEWAY_TOKEN_FILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return false;
    };
    let Some(mut out) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return false;
    };
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.by_ref().take(256 * 1024).read_to_string(&mut text);
        text
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    reader.join().is_ok_and(|t| t.contains("--token-file"))
}

/// A command ready to spawn.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// Executable.
    pub program: PathBuf,
    /// Arguments (never a secret).
    pub args: Vec<OsString>,
    /// Variables to set on top of the filtered parent environment.
    pub env: Vec<(OsString, OsString)>,
    /// Variables to remove.
    pub env_remove: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The port, if known before the child reports it.
    pub port: Option<u16>,
}

impl Profile {
    /// Whether readiness and the port come from a `{"event":"ready"}` stdout line.
    pub fn reports_ready(&self) -> bool {
        !matches!(self.kind, GatewayKind::OpenClaw)
    }

    /// The in-process restart signal.
    pub fn restart_signal(&self) -> Option<RestartSignal> {
        match self.kind {
            GatewayKind::OpenClaw => Some(RestartSignal::Usr2),
            _ => Some(RestartSignal::Usr1),
        }
    }

    /// Whether this profile needs a port chosen before spawning.
    pub fn needs_port(&self) -> bool {
        matches!(self.kind, GatewayKind::OpenClaw) || self.port.is_some()
    }

    /// Builds the command for `port` (`None` lets a `tether` gateway pick one) with `token`.
    /// For upstream this writes the generated config (0600) first.
    pub fn command(&self, port: Option<u16>, token: &str) -> std::io::Result<LaunchSpec> {
        let mut env_remove: Vec<OsString> = STRIPPED_ENV.iter().map(OsString::from).collect();
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        let mut args = self.leading_args.clone();
        match self.kind {
            GatewayKind::Tether | GatewayKind::Custom(_) => {
                args.extend(["run", "--port"].map(OsString::from));
                args.push(port.unwrap_or(0).to_string().into());
                args.push("--state-dir".into());
                args.push(self.state_dir.clone().into_os_string());
                if let Some(c) = &self.config {
                    args.push("--config".into());
                    args.push(c.clone().into_os_string());
                }
                match &self.token_file {
                    Some(f) => env.push(("TETHER_GATEWAY_TOKEN_FILE".into(), f.clone().into())),
                    None => env.push(("TETHER_GATEWAY_TOKEN".into(), token.into())),
                }
            }
            GatewayKind::OpenClaw => {
                let port = port.ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "upstream needs a port")
                })?;
                let home = self.state_dir.join("home");
                let state = home.join(".openclaw");
                let config_path = state.join("openclaw.json");
                create_private_dir(&state)?;
                create_private_dir(&self.state_dir.join("logs"))?;
                let user = match &self.config {
                    Some(p) => Some(read_json(p)?),
                    None => None,
                };
                let config = upstream_config(user, port, token, &self.state_dir);
                write_private(&config_path, &serde_json::to_vec_pretty(&config)?)?;
                args.extend(["gateway", "run", "--port"].map(OsString::from));
                args.push(port.to_string().into());
                args.extend(["--bind", "loopback", "--auth", "token"].map(OsString::from));
                for (k, v) in [
                    ("OPENCLAW_NO_RESPAWN", "1"),
                    ("OPENCLAW_DISABLE_BONJOUR", "1"),
                    ("OPENCLAW_SKIP_CHANNELS", "1"),
                    ("OPENCLAW_EXEC_SHELL_SNAPSHOT", "0"),
                    ("NO_COLOR", "1"),
                ] {
                    env.push((k.into(), v.into()));
                }
                env.push(("HOME".into(), home.clone().into_os_string()));
                env.push(("OPENCLAW_STATE_DIR".into(), state.into_os_string()));
                env.push(("OPENCLAW_CONFIG_PATH".into(), config_path.into_os_string()));
                env.push(("OPENCLAW_GATEWAY_TOKEN".into(), token.into()));
                env_remove.retain(|k| k != "HOME");
                // Node must be first on PATH for any `node`/`npm` the gateway runs itself.
                if let Some(dir) = self.program.parent() {
                    let mut path = OsString::from(dir);
                    if let Some(old) = std::env::var_os("PATH") {
                        path.push(":");
                        path.push(old);
                    }
                    env.push(("PATH".into(), path));
                }
            }
        }
        create_private_dir(&self.state_dir)?;
        Ok(LaunchSpec {
            program: self.program.clone(),
            args,
            env,
            env_remove,
            cwd: self.state_dir.clone(),
            port,
        })
    }
}

/// The network-off upstream config: the user's file (if any) with Tether's keys forced on top.
pub fn upstream_config(user: Option<Value>, port: u16, token: &str, state_dir: &Path) -> Value {
    let mut config = match user {
        Some(Value::Object(m)) => Value::Object(m),
        _ => json!({}),
    };
    let forced = json!({
        "gateway": {
            "mode": "local",
            "port": port,
            "bind": "loopback",
            "auth": {"mode": "token", "token": token},
        },
        "update": {"checkOnStart": false},
        "models": {"catalogRefresh": {"enabled": false}},
        "logging": {"file": state_dir.join("logs").join("openclaw.log").to_string_lossy()},
    });
    merge(&mut config, forced);
    config
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn read_json(path: &Path) -> std::io::Result<Value> {
    let text = match crate::regular_file::read(path, 16 << 20) {
        Ok((bytes, _)) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(crate::regular_file::OpenError::Io(e)) => return Err(e),
        Err(e) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            ))
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: {e} (Tether reads upstream configs as plain JSON)",
                path.display()
            ),
        )
    })
}

/// Creates a directory (and parents) readable by the owner only. One that already exists must be
/// owned by this user and not writable by group or others (it holds tokens, keys and the control
/// socket: such a directory is refused with how to fix it); one others may read is restricted to
/// 0700, and that is logged.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "state directory {} is owned by another user (uid {}); refusing to use it",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "state directory {} is writable by group or others (mode {mode:04o}): another \
                 user could replace the token, keys or control socket in it; restrict it with \
                 `chmod 700 {}`",
                dir.display(),
                dir.display()
            ),
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        tracing::warn!(
            dir = %dir.display(),
            "state directory was readable by others (mode {mode:04o}); restricted it to 0700"
        );
    }
    Ok(())
}

/// Writes a file readable by the owner only (atomically: temp file + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dirs_others_may_write_are_refused_and_readable_ones_restricted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        create_private_dir(&dir).unwrap();
        let set = |m| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(m)).unwrap();
        for open in [0o777, 0o775, 0o1777] {
            set(open);
            let e = create_private_dir(&dir).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("chmod 700"), "{e}");
        }
        set(0o755);
        create_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    fn profile(kind: GatewayKind, dir: &Path) -> Profile {
        Profile {
            kind,
            program: PathBuf::from("/opt/node/bin/node"),
            leading_args: vec!["openclaw.mjs".into()],
            state_dir: dir.join("gw"),
            config: None,
            port: None,
            token_file: None,
        }
    }

    #[test]
    fn token_never_in_argv_and_markers_stripped() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [GatewayKind::Tether, GatewayKind::OpenClaw] {
            let spec = profile(kind.clone(), dir.path())
                .command(Some(4242), "tok-123456")
                .unwrap();
            assert!(spec
                .args
                .iter()
                .all(|a| !a.to_string_lossy().contains("tok-123456")));
            assert!(spec.env_remove.iter().any(|k| k == "INVOCATION_ID"));
            assert!(spec.env_remove.iter().any(|k| k == "NODE_OPTIONS"));
            assert!(spec.env.iter().any(|(_, v)| v == "tok-123456"));
        }
    }

    #[test]
    fn a_token_file_replaces_the_token_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = profile(GatewayKind::Tether, dir.path());
        p.token_file = Some(dir.path().join("gateway-token"));
        let spec = p.command(None, "tok-123456").unwrap();
        assert!(spec.env.iter().all(|(_, v)| v != "tok-123456"));
        assert!(spec
            .env
            .iter()
            .any(|(k, v)| k == "TETHER_GATEWAY_TOKEN_FILE"
                && v.to_string_lossy().ends_with("gateway-token")));
        assert!(spec.env_remove.iter().any(|k| k == "TETHER_GATEWAY_TOKEN"));
    }

    #[test]
    fn upstream_gets_embedding_env_and_network_off_config() {
        let dir = tempfile::tempdir().unwrap();
        let p = profile(GatewayKind::OpenClaw, dir.path());
        let spec = p.command(Some(4242), "tok").unwrap();
        let get = |k: &str| {
            spec.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("OPENCLAW_NO_RESPAWN").as_deref(), Some("1"));
        assert_eq!(get("OPENCLAW_DISABLE_BONJOUR").as_deref(), Some("1"));
        assert_eq!(get("OPENCLAW_SKIP_CHANNELS").as_deref(), Some("1"));
        assert_eq!(get("OPENCLAW_EXEC_SHELL_SNAPSHOT").as_deref(), Some("0"));
        let cfg_path = PathBuf::from(get("OPENCLAW_CONFIG_PATH").unwrap());
        let cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
        assert_eq!(cfg["update"]["checkOnStart"], false);
        assert_eq!(cfg["models"]["catalogRefresh"]["enabled"], false);
        assert_eq!(cfg["gateway"]["mode"], "local");
        assert_eq!(cfg["gateway"]["port"], 4242);
        assert!(cfg["logging"]["file"]
            .as_str()
            .unwrap()
            .starts_with(&*p.state_dir.to_string_lossy()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cfg_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(p.restart_signal(), Some(RestartSignal::Usr2));
        assert!(!p.reports_ready());
    }

    #[test]
    fn user_config_is_kept_under_forced_keys() {
        let user = json!({"models":{"providers":{"mock":{"baseUrl":"http://127.0.0.1:1/v1"}},"catalogRefresh":{"enabled":true}},"gateway":{"port":1}});
        let cfg = upstream_config(Some(user), 5, "t", Path::new("/s"));
        assert_eq!(
            cfg["models"]["providers"]["mock"]["baseUrl"],
            "http://127.0.0.1:1/v1"
        );
        assert_eq!(cfg["models"]["catalogRefresh"]["enabled"], false);
        assert_eq!(cfg["gateway"]["port"], 5);
    }
}
