//! One supervisor per state directory, even after the directory is removed under it.
//!
//! It owns the instance lock a supervisor (`tether run`, the desktop app) holds for its whole
//! life: a kernel `flock` on `<state>/supervisor.lock`, and an abstract unix socket named after
//! the directory's canonical path. The file lock alone is not enough: `rm -rf` of the directory
//! removes the file, and the next `tether run` would lock a new file and start a second stack for
//! the same path. The abstract name lives in the kernel, not in the directory, so it stays taken
//! while its holder lives (released when the process dies, like the flock); a second supervisor
//! for the path is refused with the holder's pid. A name held by another user's process (abstract
//! names are visible machine-wide) is ignored with a warning, so nobody can squat a path.
//!
//! It also notices the loss: [`InstanceLock::lost`] resolves when `supervisor.lock` is no longer
//! the file this process locked, or the control socket is gone, so the owner can say so and stop
//! instead of running on unreachable. It never removes or recreates anything itself.

use std::fs::File;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

/// How often [`InstanceLock::lost`] looks.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another supervisor runs for this directory.
    #[error("another tether supervisor already runs for {} (pid {pid}); use `tether status`", dir.display())]
    Held {
        /// The state directory.
        dir: PathBuf,
        /// Its pid, as far as known.
        pid: String,
    },
    /// The directory or lock file could not be used.
    #[error("{0}")]
    Io(String),
}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    dir: PathBuf,
    lock_path: PathBuf,
    lock: Flock<File>,
    _name: Option<UnixListener>,
}

/// The abstract socket name for a state directory (canonical path, hashed).
fn name_for(canonical: &Path) -> Result<SocketAddr, std::io::Error> {
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    SocketAddr::from_abstract_name(format!("tether-supervisor/{hex}").as_bytes())
}

/// The canonical form of `dir`, also when it no longer exists (its parent's canonical form).
fn canonical_of(dir: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(dir) {
        return c;
    }
    match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|p| p.join(name))
            .unwrap_or_else(|_| dir.to_path_buf()),
        _ => dir.to_path_buf(),
    }
}

/// The pid and uid of the process holding `addr`, if a process listens there.
fn holder(addr: &SocketAddr) -> Option<(u32, u32)> {
    let stream = UnixStream::connect_addr(addr).ok()?;
    let cred =
        nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials).ok()?;
    Some((u32::try_from(cred.pid()).unwrap_or(0), cred.uid()))
}

/// The pid of the supervisor holding `state_dir`'s name, when it is one of this user's. Works
/// when the directory (and its control socket) is gone.
pub fn holder_of(state_dir: &Path) -> Option<u32> {
    let (pid, uid) = holder(&name_for(&canonical_of(state_dir)).ok()?)?;
    (uid == nix::unistd::geteuid().as_raw()).then_some(pid)
}

impl InstanceLock {
    /// Creates the directory (private) and takes both locks.
    pub fn acquire(state_dir: &Path) -> Result<InstanceLock, LockError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        crate::profile::create_private_dir(state_dir)
            .map_err(|e| LockError::Io(format!("cannot create {}: {e}", state_dir.display())))?;
        let canonical = canonical_of(state_dir);
        let name = match name_for(&canonical).and_then(|a| UnixListener::bind_addr(&a)) {
            Ok(l) => Some(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                let addr = name_for(&canonical).map_err(|e| LockError::Io(e.to_string()))?;
                match holder(&addr) {
                    Some((pid, uid)) if uid == nix::unistd::geteuid().as_raw() => {
                        return Err(LockError::Held {
                            dir: state_dir.to_path_buf(),
                            pid: pid.to_string(),
                        });
                    }
                    _ => {
                        tracing::warn!(
                            dir = %state_dir.display(),
                            "the instance name of this state directory is held by another user; \
                             relying on the lock file alone"
                        );
                        None
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the instance name; relying on the lock file alone");
                None
            }
        };
        let lock_path = state_dir.join("supervisor.lock");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| LockError::Io(format!("{}: {e}", lock_path.display())))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err(_) => {
                let pid = std::fs::read_to_string(&lock_path).unwrap_or_default();
                return Err(LockError::Held {
                    dir: state_dir.to_path_buf(),
                    pid: pid.trim().to_owned(),
                });
            }
        };
        let _ = lock.set_len(0);
        let _ = writeln!(lock, "{}", std::process::id());
        Ok(InstanceLock {
            dir: state_dir.to_path_buf(),
            lock_path,
            lock,
            _name: name,
        })
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// Why the state directory no longer holds this supervisor, if it does not: the lock file is
    /// gone or another file, or `socket` (the control socket, once served) is gone.
    pub fn check(&self, socket: Option<&Path>) -> Option<String> {
        let mine = self.lock.metadata().ok()?;
        let same = std::fs::symlink_metadata(&self.lock_path)
            .is_ok_and(|m| m.dev() == mine.dev() && m.ino() == mine.ino());
        if !same {
            return Some(format!(
                "the state directory {} was removed or replaced while running (its lock file is gone)",
                self.dir.display()
            ));
        }
        if let Some(sock) = socket {
            if std::fs::symlink_metadata(sock).is_err() {
                return Some(format!(
                    "the control socket {} was removed while running",
                    sock.display()
                ));
            }
        }
        None
    }

    /// Resolves (with the reason) once [`InstanceLock::check`] finds the state lost; looks every
    /// [`CHECK_EVERY`].
    pub async fn lost(&self, socket: Option<&Path>) -> String {
        let mut every = tokio::time::interval(CHECK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Some(why) = self.check(socket) {
                return why;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_state_directory_is_noticed_and_still_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let lock = InstanceLock::acquire(&dir).unwrap();
        let sock = dir.join("control.sock");
        std::fs::write(&sock, "").unwrap();
        assert_eq!(lock.check(Some(&sock)), None);
        // A second supervisor for the path is refused while the first lives.
        assert!(matches!(
            InstanceLock::acquire(&dir),
            Err(LockError::Held { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        let why = lock.check(Some(&sock)).unwrap();
        assert!(why.contains("was removed"), "{why}");
        assert_eq!(holder_of(&dir), Some(std::process::id()));
        // The directory is gone, its lock file with it: still refused, by the name.
        let e = InstanceLock::acquire(&dir).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("(pid {})", std::process::id())),
            "{e}"
        );
        drop(lock);
        let again = InstanceLock::acquire(&dir).unwrap();
        assert_eq!(again.check(None), None);
    }
}
