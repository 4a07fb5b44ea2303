//! Why the process stops for good, and the exit code that says so.
//!
//! Exit codes are the gateway's contract with whoever started it (the supervisor tells "fix the
//! config" from "try again" from "someone else owns this"): 0 clean stop, 1 unexpected failure or
//! forced stop, 2 invalid command line (clap), 10 another instance holds the state lock, 11 the
//! port is in use, 78 invalid or unsafe config or state directory (`EX_CONFIG`). This module maps errors to codes; it
//! never prints or exits by itself.

use std::fmt;

use crate::config::ConfigError;

/// Clean stop.
pub const EXIT_OK: u8 = 0;
/// Unexpected failure, or a forced stop (second signal).
pub const EXIT_FAILURE: u8 = 1;
/// Invalid command line.
pub const EXIT_USAGE: u8 = 2;
/// Another instance holds the state lock.
pub const EXIT_ALREADY_RUNNING: u8 = 10;
/// The port is in use.
pub const EXIT_PORT_IN_USE: u8 = 11;
/// Invalid or unsafe configuration (sysexits `EX_CONFIG`).
pub const EXIT_CONFIG: u8 = 78;

/// A reason to stop the process with a specific exit code.
#[derive(Debug)]
pub enum Fatal {
    /// The state lock is held by a live gateway.
    AlreadyRunning {
        /// Its pid, when the lock file says.
        pid: Option<u32>,
        /// Its port, when the lock file says.
        port: Option<u16>,
    },
    /// The listen address is taken.
    PortInUse {
        /// The port.
        port: u16,
        /// The full address tried.
        addr: std::net::SocketAddr,
    },
    /// The configuration is invalid or unsafe.
    Config(ConfigError),
    /// The state directory is unsafe to use (exit 78 like an unsafe config).
    UnsafeState(String),
    /// Anything else.
    Other(String),
}

impl Fatal {
    /// The exit code for this reason.
    pub fn exit_code(&self) -> u8 {
        match self {
            Fatal::AlreadyRunning { .. } => EXIT_ALREADY_RUNNING,
            Fatal::PortInUse { .. } => EXIT_PORT_IN_USE,
            Fatal::Config(_) | Fatal::UnsafeState(_) => EXIT_CONFIG,
            Fatal::Other(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::AlreadyRunning { pid, port } => {
                let pid = pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
                let port = port.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
                write!(f, "already running (pid {pid}, port {port})")
            }
            Fatal::PortInUse { port, addr } => {
                write!(f, "port {port} is in use (cannot listen on {addr})")
            }
            Fatal::Config(e) => write!(f, "invalid config: {e}"),
            Fatal::UnsafeState(msg) => f.write_str(msg),
            Fatal::Other(msg) => f.write_str(msg),
        }
    }
}

impl From<ConfigError> for Fatal {
    fn from(e: ConfigError) -> Self {
        Fatal::Config(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let f = Fatal::AlreadyRunning {
            pid: Some(42),
            port: Some(18789),
        };
        assert_eq!(f.to_string(), "already running (pid 42, port 18789)");
        assert_eq!(f.exit_code(), 10);
        let f = Fatal::AlreadyRunning {
            pid: Some(42),
            port: None,
        };
        assert_eq!(f.to_string(), "already running (pid 42, port unknown)");
        let f = Fatal::PortInUse {
            port: 9,
            addr: "127.0.0.1:9".parse().unwrap(),
        };
        assert!(f.to_string().starts_with("port 9 is in use"));
        assert_eq!(f.exit_code(), 11);
        assert_eq!(Fatal::Config(ConfigError::new(None, "x")).exit_code(), 78);
        assert_eq!(Fatal::UnsafeState("x".into()).exit_code(), 78);
        assert_eq!(Fatal::Other("x".into()).exit_code(), 1);
    }
}
