//! Spawning the real `tether-gateway` for a test: a temp state dir, port 0, a token passed by
//! environment (never argv), and a wait for its stdout readiness line.
//!
//! The returned [`Gateway`] owns the process (group killed on drop) and the state dir, and exposes
//! port, pid, boot id and paths. It does not judge the gateway's behaviour.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::Command;

use crate::bins;
use crate::process::{ChildGuard, Stream};

/// How long a gateway may take to print its readiness line.
pub const READY_DEADLINE: Duration = Duration::from_secs(30);

/// How to start a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Token passed in `TETHER_GATEWAY_TOKEN` (`None`: no token env var at all).
    pub token: Option<String>,
    /// JSON5 text written to `<state>/gateway.json` before start.
    pub config: Option<String>,
    /// Extra arguments after `run --port <port> --state-dir <dir>`.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Use this state dir instead of a fresh temp dir.
    pub state_dir: Option<PathBuf>,
    /// `--port` (default 0).
    pub port: u16,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            token: Some(random_token()),
            config: None,
            args: Vec::new(),
            env: Vec::new(),
            state_dir: None,
            port: 0,
        }
    }
}

impl GatewayOptions {
    /// Defaults with this config file content.
    pub fn with_config(config: &str) -> Self {
        GatewayOptions {
            config: Some(config.to_owned()),
            ..Self::default()
        }
    }
}

/// A fresh random token (hex, 128 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The readiness line the gateway prints on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyLine {
    /// Listen port.
    pub port: u16,
    /// Process id.
    pub pid: u32,
    /// Boot id of the run.
    pub boot_id: String,
}

impl ReadyLine {
    /// Parses a stdout line; `None` if it is not a readiness line.
    pub fn parse(line: &str) -> Option<ReadyLine> {
        let v: Value = serde_json::from_str(line).ok()?;
        if v.get("event")?.as_str()? != "ready" {
            return None;
        }
        Some(ReadyLine {
            port: u16::try_from(v.get("port")?.as_u64()?).ok()?,
            pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
            boot_id: v.get("bootId")?.as_str()?.to_owned(),
        })
    }
}

/// A prepared gateway command and its state dir.
#[derive(Debug)]
pub struct Prepared {
    /// The command (spawn it with [`ChildGuard::spawn`]).
    pub command: Command,
    /// The state dir.
    pub state_dir: PathBuf,
    /// Keeps a temp state dir alive.
    pub temp: Option<TempDir>,
    /// The token given by env.
    pub token: Option<String>,
}

/// Builds the command for `opts` and writes its config file.
pub fn prepare(opts: &GatewayOptions) -> Result<Prepared> {
    let bin = bins::binary("tether-gateway", "tether-gateway")?;
    let (temp, state_dir) = match &opts.state_dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::Builder::new()
                .prefix("tether-gw-")
                .tempdir()
                .context("creating a state dir")?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    if let Some(cfg) = &opts.config {
        // Private, as the gateway requires of a state directory that already exists.
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .recursive(true)
            .create(&state_dir)?;
        std::fs::write(state_dir.join("gateway.json"), cfg).context("writing config")?;
    }
    let mut command = Command::new(bin);
    command
        .arg("run")
        .arg("--port")
        .arg(opts.port.to_string())
        .arg("--state-dir")
        .arg(&state_dir)
        .args(&opts.args)
        .env_remove("TETHER_GATEWAY_TOKEN")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .env_remove("TETHER_STATE_DIR")
        .env_remove("TETHER_CONFIG")
        .env("TETHER_LOG", "info");
    if let Some(t) = &opts.token {
        command.env("TETHER_GATEWAY_TOKEN", t);
    }
    for (k, v) in &opts.env {
        command.env(k, v);
    }
    Ok(Prepared {
        command,
        state_dir,
        temp,
        token: opts.token.clone(),
    })
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    /// The process.
    pub process: ChildGuard,
    /// Listen port.
    pub port: u16,
    /// Process id.
    pub pid: u32,
    /// Boot id of the current run.
    pub boot_id: String,
    /// The token given by env.
    pub token: Option<String>,
    state_dir: PathBuf,
    ready_seen: usize,
    _temp: Option<TempDir>,
}

impl Gateway {
    /// Spawns a gateway and waits for its readiness line.
    pub async fn spawn(opts: GatewayOptions) -> Result<Gateway> {
        let mut p = prepare(&opts)?;
        let process = ChildGuard::spawn(&mut p.command)?;
        let (index, line) = process
            .wait_for_line_from(
                Stream::Stdout,
                0,
                |l| ReadyLine::parse(l).is_some(),
                READY_DEADLINE,
            )
            .await
            .with_context(|| {
                format!(
                    "gateway never became ready; stderr:\n{}",
                    process.lines(Stream::Stderr).join("\n")
                )
            })?;
        let ready = ReadyLine::parse(&line).context("readiness line")?;
        Ok(Gateway {
            port: ready.port,
            pid: ready.pid,
            boot_id: ready.boot_id,
            token: p.token,
            state_dir: p.state_dir,
            ready_seen: index + 1,
            process,
            _temp: p.temp,
        })
    }

    /// Waits for the next readiness line (after an in-process restart) and records it.
    pub async fn wait_ready_again(&mut self, deadline: Duration) -> Result<ReadyLine> {
        let (index, line) = self
            .process
            .wait_for_line_from(
                Stream::Stdout,
                self.ready_seen,
                |l| ReadyLine::parse(l).is_some(),
                deadline,
            )
            .await?;
        self.ready_seen = index + 1;
        let ready = ReadyLine::parse(&line).context("readiness line")?;
        if ready.pid != self.pid {
            bail!("readiness line from another pid: {ready:?}");
        }
        self.port = ready.port;
        self.boot_id.clone_from(&ready.boot_id);
        Ok(ready)
    }

    /// `ws://127.0.0.1:<port>/`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The state dir.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `<state>/gateway.json`.
    pub fn config_path(&self) -> PathBuf {
        self.state_dir.join("gateway.json")
    }

    /// `<state>/logs/gateway.log`.
    pub fn log_path(&self) -> PathBuf {
        self.state_dir.join("logs").join("gateway.log")
    }

    /// `<state>/gateway.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.state_dir.join("gateway.lock")
    }

    /// The token, or an error if none was given.
    pub fn token(&self) -> Result<&str> {
        self.token
            .as_deref()
            .context("gateway started without a token")
    }
}
