//! The command line, compatible with `openclaw gateway run` for the common flags.
//!
//! `tether-gateway [run] [--port N] [--bind loopback|lan] [--auth token|password|none]
//! [--token T] [--token-file F] [--password-file F] [--allow-unconfigured] [--state-dir D]
//! [--config F]`. clap exits with code 2 on invalid input. Secrets should not come from here:
//! `--token` works but is visible to every local user, so a token file (`--token-file` or
//! `TETHER_GATEWAY_TOKEN_FILE`, mode 0600) or the environment is preferred. This module only
//! parses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::schema::{AuthMode, BindMode};

/// `tether-gateway`.
#[derive(Debug, Parser)]
#[command(
    name = "tether-gateway",
    version,
    about = "Tether's OpenClaw-protocol gateway",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: `run`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `run` also work without the subcommand.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway in the foreground.
    Run(RunArgs),
}

impl Cli {
    /// The `run` arguments, whether or not the subcommand was spelled out.
    pub fn into_run_args(self) -> RunArgs {
        match self.command {
            Some(Command::Run(args)) => args,
            None => self.run,
        }
    }
}

/// `--bind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindArg {
    /// 127.0.0.1 only.
    Loopback,
    /// Every interface (refused without auth).
    Lan,
}

impl From<BindArg> for BindMode {
    fn from(b: BindArg) -> Self {
        match b {
            BindArg::Loopback => BindMode::Loopback,
            BindArg::Lan => BindMode::Lan,
        }
    }
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Shared token.
    Token,
    /// Shared password.
    Password,
    /// No shared secret (loopback only).
    None,
}

impl From<AuthArg> for AuthMode {
    fn from(a: AuthArg) -> Self {
        match a {
            AuthArg::Token => AuthMode::Token,
            AuthArg::Password => AuthMode::Password,
            AuthArg::None => AuthMode::None,
        }
    }
}

/// Flags of `run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Listen port (0 picks a free one). Default: `gateway.port`, else 18789.
    #[arg(long)]
    pub port: Option<u16>,
    /// Interfaces to listen on. Default: `gateway.bind`, else loopback.
    #[arg(long, value_enum)]
    pub bind: Option<BindArg>,
    /// Client authentication mode. Default: `gateway.auth.mode`, else token.
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// Shared token. Visible to other local users: prefer `TETHER_GATEWAY_TOKEN`.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// File holding the shared token (first line; must not be readable by group or others).
    /// Default: `TETHER_GATEWAY_TOKEN_FILE`.
    #[arg(long, value_name = "FILE", env = "TETHER_GATEWAY_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// File holding the shared password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Accepted for compatibility; Tether needs no `gateway.mode`.
    #[arg(long)]
    pub allow_unconfigured: bool,
    /// State directory. Default: `TETHER_STATE_DIR`, else `$XDG_DATA_HOME/tether/gateway`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Config file. Default: `TETHER_CONFIG`, else `<state>/gateway.json`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        Cli::try_parse_from(args).map(Cli::into_run_args)
    }

    #[test]
    fn openclaw_style_flags() {
        let a = parse(&[
            "tether-gateway",
            "run",
            "--port",
            "0",
            "--bind",
            "loopback",
            "--auth",
            "token",
            "--allow-unconfigured",
            "--state-dir",
            "/s",
        ])
        .unwrap();
        assert_eq!(a.port, Some(0));
        assert_eq!(a.bind, Some(BindArg::Loopback));
        assert!(a.allow_unconfigured);
        let a = parse(&["tether-gateway", "--port", "5"]).unwrap();
        assert_eq!(a.port, Some(5));
        let a = parse(&["tether-gateway", "run", "--token-file", "/run/t"]).unwrap();
        assert_eq!(a.token_file, Some(PathBuf::from("/run/t")));
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["tether-gateway", "run", "--bind", "tailnet"][..],
            &["tether-gateway", "run", "--port", "70000"],
            &["tether-gateway", "run", "--nope"],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }
}
