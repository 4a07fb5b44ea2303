//! The process environment: secrets out of `/proc/<pid>/environ`.
//!
//! Removing a variable with `remove_var` hides it from children, but `/proc/<pid>/environ` keeps
//! showing the environment the process was *started* with, and every command `exec` runs can
//! read its parent's (`cat /proc/$PPID/environ`): the gateway token and any provider key given
//! as a variable would be one command away from the model. So, first thing in `main`, while the
//! process is single-threaded, [`isolate`] moves every variable that is not on a short public list
//! ([`is_public`]: locale, paths, the gateway's own settings, proxies) into an in-memory file
//! (`memfd`) and re-executes the gateway (same pid, same argv) with only the public ones; the new image
//! reads the private ones back into memory and closes the file. `/proc/<pid>/environ` then holds
//! no secret, and `${VAR}` references in the config are resolved from memory by [`var`].
//!
//! The private variables live in one process-wide map, like the environment they replace; this
//! module is its only owner. If re-executing is impossible the gateway runs on (with the
//! variables removed as before) and says so. Commands run with the user's uid can still read
//! what the user can read (the supervisor's or the shell's environment, files): this keeps
//! secrets out of the place a command looks first, it is not a sandbox.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Names the fd of the in-memory file that carries the private variables across the re-exec.
pub const FD_VAR: &str = "TETHER_GATEWAY_PRIVATE_ENV_FD";

static PRIVATE: OnceLock<Mutex<HashMap<OsString, OsString>>> = OnceLock::new();

/// What [`isolate`] did, for one log line once logging runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolated {
    /// Nothing private in the environment.
    Nothing,
    /// This image was re-executed with `n` variables moved to memory.
    Moved(usize),
    /// Re-executing failed; the private variables were only removed (still visible in
    /// `/proc/<pid>/environ`).
    Failed(String),
}

/// Whether a variable stays in the process environment (and so in `/proc/<pid>/environ`).
pub fn is_public(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    const EXACT: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "TMPDIR",
        "PWD",
        "NO_COLOR",
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "INVOCATION_ID",
        "JOURNAL_STREAM",
    ];
    let upper = name.to_ascii_uppercase();
    let secretish = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w));
    // `TETHER_GATEWAY_TOKEN_FILE` names a file, not a secret.
    if name == "TETHER_GATEWAY_TOKEN_FILE" {
        return true;
    }
    !secretish
        && (EXACT.contains(&name)
            || name.starts_with("LC_")
            || name.starts_with("XDG_")
            || name.starts_with("TETHER_"))
}

/// Moves the private variables out of the environment, re-executing the gateway when there are
/// any; in the re-executed image, takes them back from the in-memory file. Call first in `main`,
/// before any thread exists. Returns only when this image is the one that runs.
pub fn isolate() -> Isolated {
    if let Some(fd) = std::env::var_os(FD_VAR) {
        std::env::remove_var(FD_VAR);
        let map = read_fd(&fd).unwrap_or_default();
        let n = map.len();
        let _ = PRIVATE.set(Mutex::new(map));
        return Isolated::Moved(n);
    }
    let private: Vec<(OsString, OsString)> =
        std::env::vars_os().filter(|(k, _)| !is_public(k)).collect();
    if private.is_empty() {
        return Isolated::Nothing;
    }
    let failure = match reexec(&private) {
        Ok(never) => match never {},
        Err(e) => e.to_string(),
    };
    // Still here: keep them in memory anyway and out of children's environments.
    for (k, _) in &private {
        std::env::remove_var(k);
    }
    let _ = PRIVATE.set(Mutex::new(private.into_iter().collect()));
    Isolated::Failed(failure)
}

fn reexec(private: &[(OsString, OsString)]) -> std::io::Result<std::convert::Infallible> {
    use std::os::unix::process::CommandExt;
    // Not close-on-exec: the re-executed image inherits it (and closes it at once).
    let memfd =
        nix::sys::memfd::memfd_create(c"tether-private-env", nix::sys::memfd::MFdFlags::empty())
            .map_err(std::io::Error::from)?;
    let mut file = std::fs::File::from(memfd);
    for (k, v) in private {
        file.write_all(k.as_bytes())?;
        file.write_all(b"=")?;
        file.write_all(v.as_bytes())?;
        file.write_all(b"\0")?;
    }
    file.rewind()?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut args = std::env::args_os();
    let argv0 = args
        .next()
        .unwrap_or_else(|| OsString::from("tether-gateway"));
    // The binary by its own path, so the process keeps its name (`comm`, what `ps` and `pgrep`
    // show); `/proc/self/exe` only when that path is gone (replaced by an upgrade).
    let program = std::env::current_exe()
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| "/proc/self/exe".into());
    let err = std::process::Command::new(program)
        .arg0(argv0)
        .args(args)
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| is_public(k)))
        .env(FD_VAR, fd.to_string())
        .exec();
    drop(file);
    Err(err)
}

fn read_fd(fd: &OsStr) -> Option<HashMap<OsString, OsString>> {
    let n: i32 = fd.to_str()?.parse().ok()?;
    // A new descriptor for the same file (no unsafe adoption of the raw number), then the
    // inherited one is closed so no child can find it.
    let mut file = std::fs::File::open(format!("/proc/self/fd/{n}")).ok();
    let _ = nix::unistd::close(n);
    let mut bytes = Vec::new();
    file.as_mut()?.read_to_end(&mut bytes).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|kv| !kv.is_empty())
            .filter_map(|kv| {
                let eq = kv.iter().position(|b| *b == b'=')?;
                Some((
                    OsString::from_vec(kv[..eq].to_vec()),
                    OsString::from_vec(kv[eq + 1..].to_vec()),
                ))
            })
            .collect(),
    )
}

/// A variable of the environment the gateway was started with: the private ones first (kept in
/// memory), then the process environment.
pub fn var(name: &str) -> Option<String> {
    let private = PRIVATE.get().and_then(|m| {
        m.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(OsStr::new(name))
            .cloned()
    });
    private
        .and_then(|v| v.into_string().ok())
        .or_else(|| std::env::var(name).ok())
}

/// Takes a variable out for good (the token variables: read once, then forgotten).
pub fn take(name: &str) -> Option<OsString> {
    let private = PRIVATE.get().and_then(|m| {
        m.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(OsStr::new(name))
    });
    let public = std::env::var_os(name);
    std::env::remove_var(name);
    private.or(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_unknown_variables_are_private() {
        for public in [
            "PATH",
            "HOME",
            "LC_ALL",
            "XDG_DATA_HOME",
            "TETHER_STATE_DIR",
            "TETHER_LOG",
            "TETHER_GATEWAY_TOKEN_FILE",
            "HTTPS_PROXY",
        ] {
            assert!(is_public(OsStr::new(public)), "{public}");
        }
        for private in [
            "TETHER_GATEWAY_TOKEN",
            "OPENCLAW_GATEWAY_TOKEN",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "MY_PROVIDER",
            "AWS_SECRET_ACCESS_KEY",
            "TETHER_TEST_KEY",
            "GITHUB_TOKEN",
        ] {
            assert!(!is_public(OsStr::new(private)), "{private}");
        }
    }

    #[test]
    fn the_private_file_round_trips() {
        let memfd =
            nix::sys::memfd::memfd_create(c"t", nix::sys::memfd::MFdFlags::empty()).unwrap();
        let mut f = std::fs::File::from(memfd);
        f.write_all(b"A=1\0B=x=y\0\0EMPTY=\0").unwrap();
        f.rewind().unwrap();
        // Read through a duplicate so the test's own descriptor stays valid.
        let dup = nix::unistd::dup(&f).unwrap();
        let n = std::os::fd::IntoRawFd::into_raw_fd(dup);
        let map = read_fd(OsStr::new(&n.to_string())).unwrap();
        assert_eq!(map.get(OsStr::new("A")), Some(&OsString::from("1")));
        assert_eq!(map.get(OsStr::new("B")), Some(&OsString::from("x=y")));
        assert_eq!(map.get(OsStr::new("EMPTY")), Some(&OsString::new()));
    }
}
