//! Workspace confinement: the one place a model-supplied path becomes a filesystem path.
//!
//! It owns the rules (SECURITY.md row 15, §4 item 28): relative paths only; no `..`
//! components, NUL bytes, backslashes, `~`, percent-escapes of `.`/`/`/`\`, URL schemes or
//! drive letters, UNC forms, over-long paths or components. Accepted paths are canonicalized
//! and must stay under the canonical workspace root; symlinks are followed only when their
//! target is inside. Files are opened with `O_NOFOLLOW | O_NONBLOCK` and checked against the
//! inode the canonical path named, so a symlink swapped in after the check is not followed and a
//! FIFO never blocks the open. What is opened must be a regular file with a single link: a FIFO,
//! socket or device is refused (reading one would never end), and so is a hard link, because
//! its other name may be outside the workspace (a symlink is checked by where it points; a hard
//! link has no "where", so it cannot be confined). A file is only truncated after these checks
//! passed on the opened descriptor. It must never
//! create, open or stat anything outside the root on behalf of a tool (the only syscalls on a
//! rejected path are on its already-verified ancestors inside the root).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest single component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Why a path was refused or could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    /// The path breaks a syntactic rule.
    #[error("path {0:?} is not allowed: {1}")]
    Refused(String, &'static str),
    /// After resolving symlinks the path leaves the workspace.
    #[error("path {0:?} resolves outside the workspace")]
    Escapes(String),
    /// Not found.
    #[error("path {0:?} does not exist")]
    NotFound(String),
    /// Any other filesystem error.
    #[error("path {0:?}: {1}")]
    Io(String, String),
}

/// The agent workspace: a canonical root directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

fn open_flags() -> i32 {
    (nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY)
        .bits()
}

/// Refuses anything but a regular file with one link (see the module docs).
fn plain_file(meta: &std::fs::Metadata) -> std::io::Result<()> {
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "not a regular file ({}); only regular files can be read or written",
            crate::process::regular_file::kind_of(meta)
        )));
    }
    if meta.nlink() > 1 {
        return Err(std::io::Error::other(
            "the file has other hard links, which may be outside the workspace; refusing it",
        ));
    }
    Ok(())
}

impl Workspace {
    /// Opens (creating if needed) the workspace at `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Workspace> {
        std::fs::create_dir_all(dir)?;
        Ok(Workspace {
            root: dir.canonicalize()?,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks the syntax of `input` and returns its normal components.
    pub fn check(input: &str) -> Result<Vec<String>, PathError> {
        let refuse = |why| Err(PathError::Refused(shorten(input), why));
        if input.contains('\0') {
            return refuse("contains a NUL byte");
        }
        if input.len() > MAX_PATH_BYTES {
            return refuse("too long");
        }
        if input.chars().any(|c| c.is_control()) {
            return refuse("contains control characters");
        }
        if input.starts_with('/') {
            return refuse("absolute paths are not allowed; use a path relative to the workspace");
        }
        if input.contains('\\') {
            return refuse("backslashes are not allowed");
        }
        if input.starts_with('~') {
            return refuse("home-directory paths are not allowed");
        }
        let lower = input.to_ascii_lowercase();
        if ["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|e| lower.contains(e))
        {
            return refuse("percent-escaped path characters are not allowed");
        }
        if has_scheme(input) {
            return refuse("URLs and drive letters are not allowed");
        }
        let mut parts = Vec::new();
        for c in Path::new(input).components() {
            match c {
                Component::Normal(p) => {
                    let s = p.to_str().unwrap_or_default();
                    if s.len() > MAX_COMPONENT_BYTES {
                        return refuse("a path component is too long");
                    }
                    parts.push(s.to_owned());
                }
                Component::CurDir => {}
                Component::ParentDir => return refuse("'..' components are not allowed"),
                Component::RootDir | Component::Prefix(_) => {
                    return refuse("absolute paths are not allowed")
                }
            }
        }
        Ok(parts)
    }

    fn contain(&self, input: &str, canon: PathBuf) -> Result<PathBuf, PathError> {
        if canon.starts_with(&self.root) {
            Ok(canon)
        } else {
            Err(PathError::Escapes(shorten(input)))
        }
    }

    /// Resolves an existing path (file or directory) inside the workspace. An empty input or
    /// `.` is the root.
    pub fn resolve_existing(&self, input: &str) -> Result<PathBuf, PathError> {
        let parts = Self::check(input)?;
        let mut p = self.root.clone();
        // Walk component by component so that nothing beyond an escaping symlink is touched.
        for part in &parts {
            p.push(part);
            let canon = match p.canonicalize() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(PathError::NotFound(shorten(input)))
                }
                Err(e) => return Err(PathError::Io(shorten(input), e.to_string())),
            };
            p = self.contain(input, canon)?;
        }
        Ok(p)
    }

    /// Resolves a path for writing: every existing ancestor must resolve inside the workspace;
    /// missing directories are created (inside). Returns the canonical parent joined with the
    /// final name (which may or may not exist; if it does, it is resolved like any other).
    pub fn resolve_for_write(&self, input: &str) -> Result<PathBuf, PathError> {
        let parts = Self::check(input)?;
        let Some((name, dirs)) = parts.split_last() else {
            return Err(PathError::Refused(
                shorten(input),
                "a file name is required",
            ));
        };
        let mut p = self.root.clone();
        for part in dirs {
            p.push(part);
            match p.symlink_metadata() {
                Ok(_) => {
                    let canon = p
                        .canonicalize()
                        .map_err(|e| PathError::Io(shorten(input), e.to_string()))?;
                    p = self.contain(input, canon)?;
                    if !p.is_dir() {
                        return Err(PathError::Io(shorten(input), "not a directory".into()));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&p)
                        .map_err(|e| PathError::Io(shorten(input), e.to_string()))?;
                }
                Err(e) => return Err(PathError::Io(shorten(input), e.to_string())),
            }
        }
        p.push(name);
        match p.symlink_metadata() {
            Ok(_) => {
                let canon = p
                    .canonicalize()
                    .map_err(|_| PathError::Escapes(shorten(input)))?;
                self.contain(input, canon)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(p),
            Err(e) => Err(PathError::Io(shorten(input), e.to_string())),
        }
    }

    /// Opens a resolved path for reading without following a final symlink or blocking, and
    /// checks that the opened file is the one the canonical path named, a regular file with a
    /// single link.
    pub fn open_read(&self, canon: &Path) -> std::io::Result<File> {
        let before = std::fs::symlink_metadata(canon)?;
        plain_file(&before)?;
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(open_flags())
            .open(canon)?;
        same_inode(&f, &before)?;
        plain_file(&f.metadata()?)?;
        Ok(f)
    }

    /// Opens a resolved path for writing (created if missing) without following a final symlink
    /// or blocking, checks the opened file (inside, regular, a single link), and only then
    /// truncates it.
    pub fn open_write(&self, canon: &Path) -> std::io::Result<File> {
        match std::fs::symlink_metadata(canon) {
            Ok(meta) => plain_file(&meta)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(open_flags())
            .open(canon)?;
        plain_file(&f.metadata()?)?;
        // The parent was verified; re-check the file itself landed inside.
        let real = canon.canonicalize()?;
        if !real.starts_with(&self.root) {
            return Err(std::io::Error::other("file resolved outside the workspace"));
        }
        f.set_len(0)?;
        Ok(f)
    }

    /// The path relative to the root, for display.
    pub fn display(&self, canon: &Path) -> String {
        match canon.strip_prefix(&self.root) {
            Ok(r) if r.as_os_str().is_empty() => ".".into(),
            Ok(r) => r.display().to_string(),
            Err(_) => canon.display().to_string(),
        }
    }
}

fn same_inode(f: &File, before: &std::fs::Metadata) -> std::io::Result<()> {
    let after = f.metadata()?;
    if after.dev() != before.dev() || after.ino() != before.ino() {
        return Err(std::io::Error::other("file changed while opening"));
    }
    Ok(())
}

/// `scheme:` at the start (`file:`, `http:`, `c:`), or `//` (UNC / network path) anywhere.
fn has_scheme(s: &str) -> bool {
    if s.contains("//") || s.contains("://") {
        return true;
    }
    let Some(colon) = s.find(':') else {
        return false;
    };
    let head = &s[..colon];
    !head.is_empty()
        && head.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !head.contains('/')
}

fn shorten(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(120)
        .collect();
    if s.chars().count() > 120 {
        format!("{clean}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_rules() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "..",
            "file:///etc/passwd",
            "http://x/y",
            "C:\\x",
            "c:x",
            "\\\\host\\share",
            "//host/share",
            "a\0b",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "..\\..\\x",
            "~/x",
            "a\nb",
        ] {
            assert!(Workspace::check(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Workspace::check(&"a/".repeat(600)).is_err());
        assert!(Workspace::check(&"a".repeat(300)).is_err());
        for good in [
            "a.txt",
            "./a.txt",
            "dir/sub/file",
            "",
            ".",
            "weird name.md",
            "notes/v1.2.txt",
        ] {
            assert!(Workspace::check(good).is_ok(), "{good:?} refused");
        }
    }
}
