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

/// A change to the ledger, carried out off the actor's loop by [`Writer`].
#[derive(Debug)]
pub(crate) enum Change {
    /// A child was spawned: record it (its start time and the owner's are read then).
    Record {
        /// The child's pid.
        pid: u32,
        /// Its executable, as the launcher knows it.
        exe: Option<PathBuf>,
        /// Its port, when chosen before spawning.
        port: Option<u16>,
        /// Hash of the token it was given.
        token_hash: String,
        /// `tether`, `openclaw` or `custom`.
        gateway: String,
    },
    /// The child printed its port.
    Port(u16),
    /// The child is gone.
    Clear,
}

impl Change {
    fn apply(self, ledger: &Ledger) {
        match self {
            Change::Record {
                pid,
                exe,
                port,
                token_hash,
                gateway,
            } => {
                let me = std::process::id();
                let _ = ledger.write(&Entry {
                    pid,
                    start_time: proc_start_time(pid),
                    exe,
                    port,
                    token_hash,
                    gateway,
                    owner_pid: me,
                    owner_start_time: proc_start_time(me),
                });
            }
            Change::Port(port) => {
                if let Some(mut e) = ledger.read() {
                    e.port = Some(port);
                    let _ = ledger.write(&e);
                }
            }
            Change::Clear => ledger.clear(),
        }
    }
}

/// The ledger's writer: one task that carries out changes in order, each on the blocking pool,
/// so the actor never waits for the file system. It ends once every sender is dropped and the
/// changes already sent are done.
#[derive(Debug)]
pub(crate) struct Writer {
    // Unbounded but small: a few changes per spawned child.
    tx: tokio::sync::mpsc::UnboundedSender<Change>,
}

impl Writer {
    /// Starts the writer of `ledger` on `tasks`.
    pub(crate) fn spawn(ledger: Ledger, tasks: &tokio_util::task::TaskTracker) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
        tasks.spawn(async move {
            while let Some(change) = rx.recv().await {
                let ledger = ledger.clone();
                let _ = tokio::task::spawn_blocking(move || change.apply(&ledger)).await;
            }
        });
        Writer { tx }
    }

    /// Queues a change.
    pub(crate) fn send(&self, change: Change) {
        let _ = self.tx.send(change);
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

    #[tokio::test]
    async fn the_writer_carries_out_changes_in_order_and_drains_when_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::new(dir.path());
        let tasks = tokio_util::task::TaskTracker::new();
        let writer = Writer::spawn(ledger.clone(), &tasks);
        let me = std::process::id();
        writer.send(Change::Record {
            pid: me,
            exe: None,
            port: None,
            token_hash: "abc".into(),
            gateway: "tether".into(),
        });
        writer.send(Change::Port(4242));
        drop(writer);
        tasks.close();
        tasks.wait().await;
        let e = ledger.read().expect("recorded");
        assert_eq!((e.pid, e.port, e.owner_pid), (me, Some(4242), me));
        assert_eq!(e.start_time, proc_start_time(me));

        let tasks = tokio_util::task::TaskTracker::new();
        let writer = Writer::spawn(ledger.clone(), &tasks);
        writer.send(Change::Clear);
        writer.send(Change::Port(1));
        drop(writer);
        tasks.close();
        tasks.wait().await;
        assert_eq!(ledger.read(), None, "a port for no entry records nothing");
    }
}
