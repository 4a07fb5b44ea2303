//! Finding upstream OpenClaw (Node 24 + `openclaw@2026.9.6`) for interop tests.
//!
//! It owns the lookup tests share: `TETHER_UPSTREAM_NODE` and `TETHER_UPSTREAM_OPENCLAW`, or the
//! env file `.ci/install-upstream` writes (`$TETHER_UPSTREAM_ENV`, default
//! `~/.cache/tether/upstream/env.sh`). Interop tests call [`require`], which **fails** with a
//! clear message when upstream is missing: CI installs it, so a silent skip would hide a broken
//! install. It starts nothing itself (the supervisor's `openclaw` launch profile starts the
//! upstream gateway); [`Upstream::cli`] only prepares an isolated command for the upstream
//! `openclaw` CLI (scratch `HOME` and state dir, no respawn, its log file inside the scratch
//! dir, an empty environment otherwise), as `docs/UPSTREAM-CLI.md` §6 advises.

use std::path::PathBuf;

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
    pub fn cli(
        &self,
        scratch: &std::path::Path,
        args: &[&str],
    ) -> std::io::Result<tokio::process::Command> {
        let state = scratch.join(".openclaw");
        let tmp = scratch.join("tmp");
        std::fs::create_dir_all(&state)?;
        std::fs::create_dir_all(&tmp)?;
        let config = serde_json::json!({"logging": {"file": scratch.join("openclaw-cli.log")}});
        std::fs::write(state.join("openclaw.json"), config.to_string())?;
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
