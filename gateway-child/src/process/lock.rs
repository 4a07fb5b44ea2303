//! The instance lock: one gateway per state directory, held by the kernel.
//!
//! `<state>/gateway.lock` is locked with `flock` (via `File::try_lock`) for the whole life of the
//! process, in-process restarts included; the kernel drops the lock when the process dies, even by
//! `kill -9`, so there is never a stale lock to wait for. The file's content is informational JSON
//! for whoever wants to find the running gateway:
//! `{"pid":N,"port":P|null,"startedAtMs":T,"version":"..","bootId":".."}`, rewritten in place
//! when the port is known and on every restart. The file is never deleted (deleting a lock file
//! races with a starting instance); whether it is live is decided by the lock, not the file. A
//! busy lock is retried for ~50 ms so a reader's brief shared-lock probe is not mistaken for a
//! running gateway.
//!
//! A lock file can be removed with its directory (`rm -rf` of the state directory), and the next
//! gateway would lock a new file for the same path. So the lock also holds an abstract unix socket
//! named after the state directory's canonical path: it lives in the kernel, not the directory,
//! and is released when the process dies. A gateway that finds the name held by another process
//! of the same user exits 10 naming that pid; a name held by another user is ignored.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Extra lock attempts when the lock is busy (a prober's shared lock is released at once).
const LOCK_ATTEMPTS: u32 = 5;
/// Pause between lock attempts.
const LOCK_RETRY_GAP: std::time::Duration = std::time::Duration::from_millis(10);

/// The lock file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    /// Process id.
    pub pid: u32,
    /// Listen port, once bound.
    pub port: Option<u16>,
    /// Process start, epoch ms.
    pub started_at_ms: u64,
    /// Gateway version.
    pub version: String,
    /// Current boot id (changes on every in-process restart).
    pub boot_id: String,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it; its lock file content, if readable.
    #[error("lock is held by another process")]
    Held(Option<LockInfo>),
    /// The file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The held lock. Dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
    info: LockInfo,
    written_len: u64,
    _name: Option<std::os::unix::net::UnixListener>,
}

/// Takes the abstract instance name of the directory holding `lock_path`: `Ok(None)` when it
/// cannot be used (held by another user, or unavailable), `Err(pid)` when another process of
/// this user holds it.
fn take_name(lock_path: &Path) -> Result<Option<std::os::unix::net::UnixListener>, u32> {
    use sha2::{Digest, Sha256};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    let dir = lock_path.parent().unwrap_or(lock_path);
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let Ok(addr) = SocketAddr::from_abstract_name(format!("tether-gateway/{hex}").as_bytes())
    else {
        return Ok(None);
    };
    match UnixListener::bind_addr(&addr) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let holder = UnixStream::connect_addr(&addr).ok().and_then(|s| {
                nix::sys::socket::getsockopt(&s, nix::sys::socket::sockopt::PeerCredentials).ok()
            });
            match holder {
                Some(c) if c.uid() == nix::unistd::geteuid().as_raw() => {
                    Err(u32::try_from(c.pid()).unwrap_or(0))
                }
                _ => Ok(None),
            }
        }
        Err(_) => Ok(None),
    }
}

impl InstanceLock {
    /// Takes the lock without waiting and writes `info`.
    pub fn acquire(path: &Path, info: LockInfo) -> Result<InstanceLock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err)?;
        // A reader probing liveness with a brief shared lock must not make a starting gateway
        // give up: retry a few times over ~50 ms before concluding someone else owns it.
        let mut attempts = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if attempts < LOCK_ATTEMPTS => {
                    attempts += 1;
                    std::thread::sleep(LOCK_RETRY_GAP);
                }
                Err(TryLockError::WouldBlock) => return Err(LockError::Held(read(path))),
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        // The file is ours; is the directory's name too (it outlives a removed lock file)?
        let name = take_name(path).map_err(|pid| {
            LockError::Held(Some(LockInfo {
                pid,
                port: None,
                started_at_ms: 0,
                version: String::new(),
                boot_id: String::new(),
            }))
        })?;
        let written_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut lock = InstanceLock {
            file,
            info,
            written_len,
            _name: name,
        };
        lock.write().map_err(io_err)?;
        Ok(lock)
    }

    /// The current content.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Records a new port and boot id.
    pub fn update(&mut self, port: Option<u16>, boot_id: &str) -> std::io::Result<()> {
        self.info.port = port;
        boot_id.clone_into(&mut self.info.boot_id);
        self.write()
    }

    /// Rewrites the content in place. The new text is padded with spaces to at least the old
    /// length, so a concurrent reader sees either the old JSON or the new one, never a mix.
    fn write(&mut self) -> std::io::Result<()> {
        let mut text = serde_json::to_string(&self.info).map_err(std::io::Error::other)?;
        text.push('\n');
        let len = text.len() as u64;
        if len < self.written_len {
            let pad = usize::try_from(self.written_len - len).unwrap_or(0);
            text.insert_str(text.len() - 1, &" ".repeat(pad));
        }
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.set_len(text.len() as u64)?;
        self.written_len = text.len() as u64;
        Ok(())
    }
}

/// Reads a lock file's content (whether or not it is held).
pub fn read(path: &Path) -> Option<LockInfo> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(port: Option<u16>) -> LockInfo {
        LockInfo {
            pid: std::process::id(),
            port,
            started_at_ms: 1,
            version: "0.1.0".into(),
            boot_id: "b1".into(),
        }
    }

    #[test]
    fn second_acquire_sees_the_first_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.lock");
        let mut first = InstanceLock::acquire(&path, info(None)).unwrap();
        first.update(Some(18789), "b2").unwrap();
        match InstanceLock::acquire(&path, info(None)) {
            Err(LockError::Held(Some(held))) => {
                assert_eq!(held.port, Some(18789));
                assert_eq!(held.boot_id, "b2");
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        let again = InstanceLock::acquire(&path, info(Some(1))).unwrap();

        assert_eq!(read(&path).unwrap(), *again.info());
    }

    #[test]
    fn a_removed_lock_file_does_not_let_a_second_instance_in() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("gateway.lock");
        let first = InstanceLock::acquire(&path, info(None)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        match InstanceLock::acquire(&path, info(None)) {
            Err(LockError::Held(Some(held))) => assert_eq!(held.pid, std::process::id()),
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(InstanceLock::acquire(&path, info(None)).is_ok());
    }

    #[test]
    fn the_format_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.lock");
        let mut l = InstanceLock::acquire(&path, info(Some(40000))).unwrap();
        // Shorter content after longer content stays valid JSON.
        l.update(Some(1), "b").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"pid": std::process::id(), "port": 1, "startedAtMs": 1,
                               "version": "0.1.0", "bootId": "b"})
        );
        l.update(None, "b").unwrap();
        assert_eq!(read(&path).unwrap().port, None);
    }
}
