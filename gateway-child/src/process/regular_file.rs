//! Opening a file by a path someone else may control, without ever blocking on it.
//!
//! `open(2)` on a FIFO waits for a writer, and reading a character device or a socket never
//! ends, so a config, token or password file swapped for one of those would hang whatever opens
//! it (at start, before signals are served). [`open`] opens with `O_NONBLOCK | O_NOCTTY` (which
//! never waits) and then checks the *opened* file with `fstat`: anything but a regular file is
//! refused, so there is no window between a check and the open. For regular files `O_NONBLOCK`
//! changes nothing. This module only opens and checks; what to read and how much is the caller's.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path could not be opened or examined.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// It is a FIFO, socket, device or directory.
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
}

impl OpenError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, OpenError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What kind of non-regular file `meta` describes.
pub fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

fn flags() -> i32 {
    (nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY).bits()
}

/// Opens `path` for reading if, once open, it is a regular file. Never blocks on a FIFO.
pub fn open(path: &Path) -> Result<(File, Metadata), OpenError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular(kind_of(&meta)));
    }
    Ok((file, meta))
}

/// Reads at most `max` bytes of the regular file at `path`.
pub fn read(path: &Path, max: u64) -> Result<(Vec<u8>, Metadata), OpenError> {
    let (file, meta) = open(path)?;
    let mut buf = Vec::new();
    file.take(max).read_to_end(&mut buf)?;
    Ok((buf, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_and_directories_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No writer exists: a plain open would wait forever.
        let e = open(&fifo).unwrap_err();
        assert!(matches!(e, OpenError::NotRegular("a FIFO")), "{e}");
        assert!(matches!(
            open(dir.path()).unwrap_err(),
            OpenError::NotRegular("a directory")
        ));
        assert!(open(&dir.path().join("missing"))
            .unwrap_err()
            .is_not_found());
        let f = dir.path().join("f");
        std::fs::write(&f, "hello").unwrap();
        let (bytes, meta) = read(&f, 3).unwrap();
        assert_eq!(bytes, b"hel");
        assert_eq!(meta.len(), 5);
    }
}
