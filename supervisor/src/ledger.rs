//! The ownership ledger: proof that Tether started a gateway process.
//!
//! It owns `ledger.json` in the supervisor's state directory (0600): the child's pid, its start
//! time (field 22 of `/proc/<pid>/stat`, so a reused pid never matches), executable, port, a
//! SHA-256 prefix of the token it was given, and the owning supervisor's pid and start time. A
//! restarted supervisor uses it to re-adopt its own child and to reap only **provable orphans**:
//! same pid *and* start time, and an owner that is gone. It never kills anything itself and
//! never treats a process it cannot prove as its own.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::profile::write_private;

/// File name in the supervisor state dir.
pub const LEDGER_FILE: &str = "ledger.json";

/// One owned child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Child pid.
    pub pid: u32,
    /// Child start time (clock ticks since boot).
    pub start_time: Option<u64>,
    /// Child executable.
    pub exe: Option<PathBuf>,
    /// Child port, once known.
    pub port: Option<u16>,
    /// First 16 hex chars of SHA-256 of the token the child was given.
    pub token_hash: String,
    /// Which gateway profile.
    pub gateway: String,
    /// Supervisor pid.
    pub owner_pid: u32,
    /// Supervisor start time.
    pub owner_start_time: Option<u64>,
}

/// What an entry proves now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The child runs and its owner is another live supervisor: hands off.
    OwnedByLiveSupervisor,
    /// The child runs, its owner is gone: ours to adopt (or reap).
    Orphan,
    /// The child is gone or the pid was reused: forget the entry.
    Gone,
}

/// The hash recorded for a token.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Start time of a process (field 22 of `/proc/<pid>/stat`), `None` if it does not exist.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Executable of a process.
pub fn proc_exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The ledger file.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// The ledger in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Ledger {
            path: state_dir.join(LEDGER_FILE),
        }
    }

    /// The recorded entry, if any.
    pub fn read(&self) -> Option<Entry> {
        let (bytes, _) = crate::regular_file::read(&self.path, 64 * 1024).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records a child.
    pub fn write(&self, e: &Entry) -> io::Result<()> {
        write_private(&self.path, &serde_json::to_vec_pretty(e)?)
    }

    /// Forgets the child.
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// What `e` proves now; `me` is this supervisor's pid.
    pub fn assess(e: &Entry, me: u32) -> Proof {
        let alive = e.start_time.is_some() && proc_start_time(e.pid) == e.start_time;
        if !alive {
            return Proof::Gone;
        }
        let owner_alive = e.owner_pid != me
            && e.owner_start_time.is_some()
            && proc_start_time(e.owner_pid) == e.owner_start_time;
        if owner_alive {
            Proof::OwnedByLiveSupervisor
        } else {
            Proof::Orphan
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self_is_stable_and_others_absent() {
        let me = std::process::id();
        let a = proc_start_time(me).unwrap();
        assert_eq!(proc_start_time(me), Some(a));
        assert_eq!(proc_start_time(u32::MAX - 1), None);
    }

    #[test]
    fn proofs() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path());
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let e = Entry {
            pid: child.id(),
            start_time: proc_start_time(child.id()),
            exe: proc_exe(child.id()),
            port: Some(1),
            token_hash: token_hash("t"),
            gateway: "tether".into(),
            owner_pid: me,
            owner_start_time: proc_start_time(me),
        };
        l.write(&e).unwrap();
        assert_eq!(l.read().unwrap(), e);
        // Owner is us: from our point of view, an orphan of a previous incarnation is only
        // possible with another pid, so the entry reads as adoptable.
        assert_eq!(Ledger::assess(&e, me), Proof::Orphan);
        // Owned by a live other supervisor (pretend our parent is it).
        assert_eq!(Ledger::assess(&e, me + 1), Proof::OwnedByLiveSupervisor);
        // A reused pid never matches.
        let reused = Entry {
            start_time: Some(1),
            ..e.clone()
        };
        assert_eq!(Ledger::assess(&reused, me), Proof::Gone);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(Ledger::assess(&e, me), Proof::Gone);
        l.clear();
        assert!(l.read().is_none());
    }
}
