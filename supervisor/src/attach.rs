//! Attach: finding a gateway that already runs for this state, before spawning another.
//!
//! It owns the pre-spawn probe. In order: the ownership ledger (a live child of a dead
//! supervisor is an orphan Tether may adopt; a child of a live supervisor is left alone), our
//! gateway's instance lock `<state>/gateway/gateway.lock` (held by a kernel `flock` while the
//! gateway lives; its JSON names the pid and port), and the configured fixed port (a socket that
//! answers `connect.challenge` is a gateway; anything else is a foreign process, named from
//! `/proc` when possible). The probe reports what it found; whether Tether's token is accepted is
//! settled by the handshake that follows. It never signals, kills or writes to anything it finds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::connector::probe_challenge;
use crate::ledger::{Ledger, Proof};
use crate::machine::Found;

/// What the probe needs to know.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// The supervisor's ledger.
    pub ledger: Ledger,
    /// Our gateway's lock file, for the `tether` family.
    pub lock_file: Option<PathBuf>,
    /// A fixed port from the configuration.
    pub fixed_port: Option<u16>,
    /// How long a socket gets to send `connect.challenge`.
    pub challenge_within: Duration,
}

/// The probe's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// What was found.
    pub found: Option<Found>,
    /// A pid the ledger proves Tether started (to adopt).
    pub adopt: Option<u32>,
}

/// The lock file's JSON (our gateway's contract).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    /// Gateway pid.
    pub pid: u32,
    /// Gateway port, once bound.
    pub port: Option<u16>,
}

/// Reads a lock file whose `flock` is held; `None` if absent, unparsable or not held.
pub fn held_lock(path: &Path) -> Option<LockInfo> {
    use nix::fcntl::{Flock, FlockArg};
    let (file, _) = crate::regular_file::open(path).ok()?;
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        // Nobody holds it: stale. Dropping the guard releases it at once.
        Ok(_guard) => None,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            let (bytes, _) = crate::regular_file::read(path, 64 * 1024).ok()?;
            serde_json::from_slice(&bytes).ok()
        }
        Err(_) => None,
    }
}

/// Looks for a running gateway.
pub async fn probe(ctx: &ProbeContext) -> Probed {
    let me = std::process::id();
    if let Some(entry) = ctx.ledger.read() {
        match Ledger::assess(&entry, me) {
            Proof::Gone => ctx.ledger.clear(),
            Proof::OwnedByLiveSupervisor => {
                if let Some(port) = entry.port {
                    return Probed {
                        found: Some(Found::Gateway {
                            port,
                            pid: Some(entry.pid),
                            owned: false,
                        }),
                        adopt: None,
                    };
                }
            }
            Proof::Orphan => {
                if let Some(port) = entry.port {
                    return Probed {
                        found: Some(Found::Gateway {
                            port,
                            pid: Some(entry.pid),
                            owned: true,
                        }),
                        adopt: Some(entry.pid),
                    };
                }
            }
        }
    }
    if let Some(lock) = ctx.lock_file.as_deref().and_then(held_lock) {
        if let Some(port) = lock.port {
            return Probed {
                found: Some(Found::Gateway {
                    port,
                    pid: Some(lock.pid),
                    owned: false,
                }),
                adopt: None,
            };
        }
    }
    if let Some(port) = ctx.fixed_port {
        let listening = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok();
        if listening {
            if probe_challenge(port, ctx.challenge_within).await {
                return Probed {
                    found: Some(Found::Gateway {
                        port,
                        pid: None,
                        owned: false,
                    }),
                    adopt: None,
                };
            }
            let holder = port_holder(port).map_or_else(
                || "another process".to_string(),
                |(pid, name)| format!("{name} (pid {pid})"),
            );
            return Probed {
                found: Some(Found::Foreign { port, holder }),
                adopt: None,
            };
        }
    }
    Probed {
        found: None,
        adopt: None,
    }
}

/// The process listening on a loopback TCP port, from `/proc/net/tcp{,6}` and `/proc/*/fd`
/// (best effort: processes of other users are not visible).
pub fn port_holder(port: u16) -> Option<(u32, String)> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue; // not LISTEN
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if inodes.iter().any(|i| target.as_os_str() == i.as_str()) {
                    let name = std::fs::read_to_string(entry.path().join("comm"))
                        .map(|s| s.trim().to_owned())
                        .unwrap_or_else(|_| "?".into());
                    return Some((pid, name));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_holder_of_a_port() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let (pid, _name) = port_holder(port).unwrap();
        assert_eq!(pid, std::process::id());
    }

    #[test]
    fn held_and_stale_locks() {
        use nix::fcntl::{Flock, FlockArg};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.lock");
        std::fs::write(
            &path,
            r#"{"pid":42,"port":4242,"startedAtMs":1,"version":"x","bootId":"b"}"#,
        )
        .unwrap();
        assert!(held_lock(&path).is_none(), "nobody holds it");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        // flock locks belong to the open file description: a second open in this process
        // conflicts with it just as another process would.
        let _g = Flock::lock(f, FlockArg::LockExclusiveNonblock).unwrap();
        let info = held_lock(&path).unwrap();
        assert_eq!((info.pid, info.port), (42, Some(4242)));
    }
}
