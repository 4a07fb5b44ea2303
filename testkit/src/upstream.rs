//! Finding upstream OpenClaw (Node 24 + `openclaw@2026.9.6`) for interop tests.
//!
//! It owns the lookup tests share: `TETHER_UPSTREAM_NODE` and `TETHER_UPSTREAM_OPENCLAW`, or the
//! env file `.ci/install-upstream` writes (`$TETHER_UPSTREAM_ENV`, default
//! `~/.cache/tether/upstream/env.sh`). Interop tests call [`require`], which **fails** with a
//! clear message when upstream is missing: CI installs it, so a silent skip would hide a broken
//! install. [`Upstream::cli`] prepares an isolated command for the upstream `openclaw` CLI
//! (scratch `HOME` and state dir, no respawn, its log file inside the scratch dir, an empty
//! environment otherwise), as `docs/UPSTREAM-CLI.md` §6 advises. [`UpstreamGateway`] runs
//! upstream's own gateway directly (no supervisor) as the reference side of interop tests; the
//! supervisor's `openclaw` launch profile is the other way upstream's gateway gets started.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::gateway::random_token;
use crate::process::{ChildGuard, Stream};

/// Where upstream lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The Node 24 binary.
    pub node: PathBuf,
    /// `node_modules/openclaw/openclaw.mjs`.
    pub openclaw: PathBuf,
}

impl Upstream {
    /// The variables that point a `tether` process at this install.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("TETHER_UPSTREAM_NODE", self.node.clone()),
            ("TETHER_UPSTREAM_OPENCLAW", self.openclaw.clone()),
        ]
    }
}

impl Upstream {
    /// `node openclaw.mjs <args>` with an isolated environment under `scratch` (created):
    /// `HOME=scratch`, `OPENCLAW_STATE_DIR=scratch/.openclaw` holding a config that only moves
    /// the CLI's log file into `scratch`, `TMPDIR=scratch/tmp`, `OPENCLAW_NO_RESPAWN=1`,
    /// `NO_COLOR=1`, `TZ=UTC`, and a minimal `PATH`. Nothing else from the test's environment
    /// leaks in; callers add `OPENCLAW_GATEWAY_URL`/`OPENCLAW_GATEWAY_TOKEN` as they need.
    pub fn cli(&self, scratch: &Path, args: &[&str]) -> std::io::Result<tokio::process::Command> {
        self.cli_with_config(scratch, args, &json!({}))
    }

    /// [`Upstream::cli`] with more in the CLI's own config: the top-level keys of `config` (an
    /// object) next to `logging`. Commands that ignore `OPENCLAW_GATEWAY_URL` (`gateway status`,
    /// `gateway probe`) find a local gateway through `{"gateway": {"port": …}}` here.
    pub fn cli_with_config(
        &self,
        scratch: &Path,
        args: &[&str],
        config: &Value,
    ) -> std::io::Result<tokio::process::Command> {
        let state = scratch.join(".openclaw");
        let tmp = scratch.join("tmp");
        std::fs::create_dir_all(&state)?;
        std::fs::create_dir_all(&tmp)?;
        let mut full = config.clone();
        let Some(obj) = full.as_object_mut() else {
            return Err(std::io::Error::other(
                "the CLI config must be a JSON object",
            ));
        };
        obj.insert(
            "logging".to_owned(),
            json!({"file": scratch.join("openclaw-cli.log")}),
        );
        std::fs::write(state.join("openclaw.json"), full.to_string())?;
        let mut cmd = tokio::process::Command::new(&self.node);
        cmd.arg(&self.openclaw)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", scratch)
            .env("OPENCLAW_STATE_DIR", &state)
            .env("TMPDIR", &tmp)
            .env("OPENCLAW_NO_RESPAWN", "1")
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .current_dir(scratch);
        Ok(cmd)
    }
}

/// The env file's default path.
pub fn env_file() -> PathBuf {
    if let Some(p) = std::env::var_os("TETHER_UPSTREAM_ENV") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/tether/upstream/env.sh")
}

/// Looks for upstream; `Err` says what is missing and how to install it.
pub fn find() -> Result<Upstream, String> {
    let mut node = std::env::var_os("TETHER_UPSTREAM_NODE").map(PathBuf::from);
    let mut openclaw = std::env::var_os("TETHER_UPSTREAM_OPENCLAW").map(PathBuf::from);
    let file = env_file();
    if node.is_none() || openclaw.is_none() {
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                let line = line.trim().trim_start_matches("export ").trim();
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let v = PathBuf::from(v.trim().trim_matches('"').trim_matches('\''));
                match k.trim() {
                    "TETHER_UPSTREAM_NODE" if node.is_none() => node = Some(v),
                    "TETHER_UPSTREAM_OPENCLAW" if openclaw.is_none() => openclaw = Some(v),
                    _ => {}
                }
            }
        }
    }
    match (node, openclaw) {
        (Some(node), Some(openclaw)) if node.is_file() && openclaw.is_file() => Ok(Upstream { node, openclaw }),
        (node, openclaw) => Err(format!(
            "upstream OpenClaw is not installed (node: {node:?}, openclaw: {openclaw:?}, env file: {}). \
             Install it with `.ci/install-upstream` (Node 24 + openclaw 2026.9.6 from the npm registry) \
             or set TETHER_UPSTREAM_NODE and TETHER_UPSTREAM_OPENCLAW.",
            file.display()
        )),
    }
}

/// Like [`find`], but panics with the reason: interop tests must not pass without upstream.
pub fn require() -> Upstream {
    find().unwrap_or_else(|e| panic!("{e}"))
}

/// How long upstream's gateway may take to print `[gateway] ready`: 7–14 s on 2 idle cores, much
/// more on a loaded machine.
pub const GATEWAY_READY_DEADLINE: Duration = Duration::from_secs(180);

/// Upstream's gateway, run directly (no supervisor) as `docs/UPSTREAM-CLI.md` §7 does: scratch
/// HOME and state dir (private), a free loopback port, token auth with the token by environment,
/// no respawn, no Bonjour or channels, update checks and model catalog refresh off, its log file
/// inside the scratch dir. Needs ~900 MB. Killed (its whole process group) on drop.
#[derive(Debug)]
pub struct UpstreamGateway {
    /// The gateway process.
    pub process: ChildGuard,
    /// Its loopback port.
    pub port: u16,
    token: String,
    dir: tempfile::TempDir,
}

impl UpstreamGateway {
    /// Writes the config and spawns `openclaw gateway run`; returns at once (see
    /// [`UpstreamGateway::wait_ready`]). `config` (an object) is merged over the base config,
    /// key by key at any depth; tests put their `models.providers` and `agents` there, the same
    /// blocks they give Tether's gateway.
    pub fn start(up: &Upstream, config: &Value) -> Result<UpstreamGateway> {
        let dir = tempfile::Builder::new()
            .prefix("tether-upstream-gw-")
            .tempdir()?;
        let home = dir.path().join("home");
        let state = home.join(".openclaw");
        let tmp = dir.path().join("tmp");
        private_dir(&state)?;
        private_dir(&tmp)?;
        let port = free_port()?;
        let token = random_token();
        let mut full = json!({
            "gateway": {"mode": "local", "port": port, "bind": "loopback",
                        "auth": {"mode": "token", "token": token}},
            "update": {"checkOnStart": false},
            "models": {"mode": "merge", "catalogRefresh": {"enabled": false}},
            "logging": {"file": dir.path().join("openclaw.log")},
        });
        merge(&mut full, config);
        let config_path = state.join("openclaw.json");
        write_private(&config_path, &serde_json::to_vec_pretty(&full)?)?;
        let node_dir = up.node.parent().context("node has a directory")?;
        let mut cmd = tokio::process::Command::new(&up.node);
        cmd.arg(&up.openclaw)
            .args(["gateway", "run", "--port", &port.to_string()])
            .args(["--bind", "loopback", "--auth", "token"])
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", node_dir.display()))
            .env("HOME", &home)
            .env("OPENCLAW_STATE_DIR", &state)
            .env("OPENCLAW_CONFIG_PATH", &config_path)
            .env("OPENCLAW_GATEWAY_TOKEN", &token)
            .env("OPENCLAW_NO_RESPAWN", "1")
            .env("OPENCLAW_DISABLE_BONJOUR", "1")
            .env("OPENCLAW_SKIP_CHANNELS", "1")
            .env("OPENCLAW_EXEC_SHELL_SNAPSHOT", "0")
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .env("TMPDIR", &tmp)
            .current_dir(dir.path());
        let process = ChildGuard::spawn(&mut cmd)?;
        Ok(UpstreamGateway {
            process,
            port,
            token,
            dir,
        })
    }

    /// Waits for upstream's own readiness line (`… [gateway] ready`, after its HTTP server,
    /// channels and sidecars have started).
    pub async fn wait_ready(&self) -> Result<()> {
        self.process
            .wait_for_line(
                Stream::Stdout,
                |l| l.trim_end().ends_with("[gateway] ready"),
                GATEWAY_READY_DEADLINE,
            )
            .await
            .with_context(|| {
                format!(
                    "upstream's gateway never became ready; stderr:\n{}",
                    self.process.lines(Stream::Stderr).join("\n")
                )
            })?;
        Ok(())
    }

    /// The shared token (give it to clients by environment, never on a command line).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The gateway's own log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("openclaw.log")
    }
}

/// `patch`'s keys over `base`'s, objects merged recursively, anything else replaced.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// A loopback port nobody listens on right now (upstream needs its port up front).
pub fn free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}
