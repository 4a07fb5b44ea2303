//! Exit classification: what a child's exit status means for the supervisor.
//!
//! It owns the exit-code contract of each gateway family. `tether-gateway` (and any
//! `--gateway PATH` that follows its conventions): 0 stop, 1 failure, 2 usage, 10 already
//! running (state lock held), 11 port in use, 78 invalid or unsafe config. Upstream OpenClaw:
//! 78 is a config error **or** a second instance on the same state (UPSTREAM-OBSERVED §6), and
//! 0/1 can hide "another gateway is already listening" — so those cases come back as
//! `Probe`, telling the machine to look for a running gateway before concluding. Hints from the
//! child's last output lines refine the verdict. Pure: no IO.

use serde::{Deserialize, Serialize};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitStatus {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Signal number, when a signal killed it.
    pub signal: Option<i32>,
}

impl ExitStatus {
    /// Exited with a code.
    pub fn code(code: i32) -> Self {
        ExitStatus {
            code: Some(code),
            signal: None,
        }
    }

    /// Killed by a signal.
    pub fn signal(sig: i32) -> Self {
        ExitStatus {
            code: None,
            signal: Some(sig),
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exit code {c}"),
            (None, Some(s)) => write!(f, "killed by signal {s}"),
            (None, None) => f.write_str("unknown exit"),
        }
    }
}

/// Which exit-code contract applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `tether-gateway` conventions.
    Tether,
    /// Upstream OpenClaw conventions.
    OpenClaw,
}

/// What the last output lines said, as far as exit handling cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hints {
    /// "already listening", EADDRINUSE, "port N is already in use".
    pub port_in_use: bool,
    /// "already running", lock contention.
    pub already_running: bool,
    /// "invalid config", "unrecognized key", ...
    pub config_invalid: bool,
    /// The child's own words: its last error line (else its last warning), redacted and
    /// without the log prefix. It ends the reason the user sees, so "exit code 78" comes with
    /// the file, line and key the gateway named.
    pub last_error: Option<String>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitClass {
    /// We asked it to stop.
    Requested,
    /// It crashed or failed: respawn through backoff and the governor.
    Crash(String),
    /// Bad configuration: do not loop, show the user.
    ConfigError(String),
    /// The port is taken by someone else: do not loop, show the user.
    PortInUse(String),
    /// Another gateway holds this state: look for it and attach.
    AlreadyRunning(String),
    /// Ambiguous: look for a running gateway first, then decide (`if_none` when none is found).
    Probe {
        /// What to conclude when no gateway answers.
        if_none: Box<ExitClass>,
    },
}

/// Classifies an exit.
pub fn classify(family: Family, status: ExitStatus, requested: bool, hints: Hints) -> ExitClass {
    if requested {
        return ExitClass::Requested;
    }
    let what = match &hints.last_error {
        Some(line) => format!("{status}: {line}"),
        None => status.to_string(),
    };
    match (family, status.code) {
        (Family::Tether, Some(78)) => {
            ExitClass::ConfigError(format!("gateway refused its configuration ({what})"))
        }
        (Family::Tether, Some(10)) => {
            ExitClass::AlreadyRunning(format!("another gateway holds the state lock ({what})"))
        }
        (Family::Tether, Some(11)) => {
            ExitClass::PortInUse(format!("the gateway's port is in use ({what})"))
        }
        (Family::Tether, Some(2)) => ExitClass::ConfigError(format!(
            "the gateway rejected its command line ({what}); is this a tether-gateway compatible binary?"
        )),
        (Family::OpenClaw, Some(78)) => ExitClass::Probe {
            if_none: Box::new(if hints.already_running {
                ExitClass::AlreadyRunning(format!(
                    "another OpenClaw process owns this state ({what})"
                ))
            } else {
                ExitClass::ConfigError(format!("OpenClaw refused its configuration ({what})"))
            }),
        },
        (Family::OpenClaw, Some(0 | 1)) if hints.port_in_use || hints.already_running => {
            ExitClass::Probe {
                if_none: Box::new(ExitClass::PortInUse(format!(
                    "OpenClaw could not listen: the port is in use ({what})"
                ))),
            }
        }
        (_, _) if hints.config_invalid => {
            ExitClass::ConfigError(format!("the gateway reported an invalid config ({what})"))
        }
        _ => ExitClass::Crash(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(family: Family, status: ExitStatus, requested: bool, hints: &Hints, expect: &str) {
        let got = classify(family, status, requested, hints.clone());
        let name = match &got {
            ExitClass::Requested => "requested".to_string(),
            ExitClass::Crash(_) => "crash".into(),
            ExitClass::ConfigError(_) => "config".into(),
            ExitClass::PortInUse(_) => "port".into(),
            ExitClass::AlreadyRunning(_) => "running".into(),
            ExitClass::Probe { if_none } => format!(
                "probe/{}",
                match **if_none {
                    ExitClass::ConfigError(_) => "config",
                    ExitClass::PortInUse(_) => "port",
                    ExitClass::AlreadyRunning(_) => "running",
                    _ => "other",
                }
            ),
        };
        assert_eq!(
            name, expect,
            "{family:?} {status} requested={requested} {hints:?}"
        );
    }

    #[test]
    fn the_childs_last_error_ends_the_reason() {
        let hints = Hints {
            last_error: Some("/s/gateway.json:3:5: gateway.port: invalid type".into()),
            ..Hints::default()
        };
        assert_eq!(
            classify(Family::Tether, ExitStatus::code(78), false, hints.clone()),
            ExitClass::ConfigError(
                "gateway refused its configuration (exit code 78: \
                 /s/gateway.json:3:5: gateway.port: invalid type)"
                    .into()
            )
        );
        let ExitClass::Crash(what) = classify(Family::Tether, ExitStatus::code(1), false, hints)
        else {
            panic!("not a crash");
        };
        assert!(what.ends_with("gateway.port: invalid type"), "{what}");
    }

    #[test]
    fn contracts() {
        let none = Hints::default();
        let port = Hints {
            port_in_use: true,
            ..Hints::default()
        };
        let running = Hints {
            already_running: true,
            ..Hints::default()
        };
        let bad = Hints {
            config_invalid: true,
            ..Hints::default()
        };
        use Family::*;
        check(Tether, ExitStatus::code(0), true, &none, "requested");
        check(Tether, ExitStatus::signal(9), true, &none, "requested");
        check(Tether, ExitStatus::code(0), false, &none, "crash");
        check(Tether, ExitStatus::code(1), false, &none, "crash");
        check(Tether, ExitStatus::signal(9), false, &none, "crash");
        check(Tether, ExitStatus::code(78), false, &none, "config");
        check(Tether, ExitStatus::code(10), false, &none, "running");
        check(Tether, ExitStatus::code(11), false, &none, "port");
        check(Tether, ExitStatus::code(2), false, &none, "config");
        check(Tether, ExitStatus::code(1), false, &bad, "config");
        check(OpenClaw, ExitStatus::code(78), false, &none, "probe/config");
        check(
            OpenClaw,
            ExitStatus::code(78),
            false,
            &running,
            "probe/running",
        );
        check(OpenClaw, ExitStatus::code(1), false, &port, "probe/port");
        check(OpenClaw, ExitStatus::code(0), false, &running, "probe/port");
        check(OpenClaw, ExitStatus::code(1), false, &none, "crash");
        check(OpenClaw, ExitStatus::signal(9), false, &none, "crash");
    }
}
