//! Where the shared secret comes from, and keeping it out of sight.
//!
//! The token env vars (`TETHER_GATEWAY_TOKEN`, then `OPENCLAW_GATEWAY_TOKEN`) are read **and
//! removed** from the environment by [`take_from_env`] at the very start of `main`, before any
//! thread exists, so no child process inherits them. In token mode with no token anywhere, a
//! 256-bit token is drawn from the OS RNG into `<state>/gateway-token` (mode 0600); only its path is
//! ever logged. A token can also be handed over in a file (`--token-file` /
//! `TETHER_GATEWAY_TOKEN_FILE`), so no secret sits in the process's argv or environ; that file
//! is refused when group or others may read it. Passwords come from a file (`--password-file`)
//! or the config. Every secret file is opened without blocking and must be a regular file (a FIFO
//! named as a token file is refused at once instead of hanging the start). Nothing in this module
//! may print, log or put a secret into an error message.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use tether_protocol::Secret;

/// Env vars that carry the token, in order of preference.
pub const TOKEN_VARS: [&str; 2] = ["TETHER_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_TOKEN"];
/// Env var upstream uses for a password; removed (passwords come from `--password-file`).
pub const PASSWORD_VAR: &str = "OPENCLAW_GATEWAY_PASSWORD";

/// Secrets taken from the environment at start.
#[derive(Debug, Clone, Default)]
pub struct EnvSecrets {
    /// The token, if one of [`TOKEN_VARS`] was set and non-empty.
    pub token: Option<Secret>,
    /// Which variable it came from.
    pub token_var: Option<&'static str>,
    /// `OPENCLAW_GATEWAY_PASSWORD` was set (and removed, unused).
    pub dropped_password_var: bool,
    /// What [`crate::process::environ::isolate`] did (logged once logging runs).
    pub isolated: Option<crate::process::environ::Isolated>,
}

/// Reads and removes the secret env vars. Call before any thread starts.
pub fn take_from_env() -> EnvSecrets {
    let mut out = EnvSecrets::default();
    for var in TOKEN_VARS {
        if let Some(v) = crate::process::environ::take(var) {
            let v = v.to_string_lossy().trim().to_owned();
            if out.token.is_none() && !v.is_empty() {
                out.token = Some(Secret::new(v));
                out.token_var = Some(var);
            }
        }
    }
    if crate::process::environ::take(PASSWORD_VAR).is_some() {
        out.dropped_password_var = true;
    }
    out
}

/// Longest secret file read.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads a password file: the first line, trimmed. Errors never contain the content.
pub fn read_password_file(path: &Path) -> Result<Secret, String> {
    let (bytes, _) = crate::process::regular_file::read(path, MAX_SECRET_FILE)
        .map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(format!("password file {} is empty", path.display()));
    }
    Ok(Secret::new(first))
}

/// Reads a token file: a regular file, not readable by group or others (checked on the opened
/// file, so a swap after the check is not read), first line trimmed and non-empty. Errors name
/// the file and never contain its content.
pub fn read_token_file(path: &Path) -> Result<Secret, String> {
    use std::io::Read;
    let (file, meta) = crate::process::regular_file::open(path).map_err(|e| match e {
        crate::process::regular_file::OpenError::NotRegular(kind) => {
            format!(
                "token file {} is not a regular file ({kind})",
                path.display()
            )
        }
        e => format!("cannot read token file {}: {e}", path.display()),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "token file {} is readable by group or others (mode {mode:04o}); \
             restrict it with `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(Secret::new(first))
}

/// Whether a file's permissions let other users read it.
pub fn readable_by_others(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

/// A fresh token: 32 bytes from the OS RNG, base64url.
pub fn generate_token() -> std::io::Result<Secret> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Secret::new(tether_protocol::b64::encode(&bytes)))
}

/// How the generated-token file was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFile {
    /// An existing token file was read.
    Read,
    /// A new token was generated and written.
    Generated,
}

/// Reads `<state>/gateway-token`, or generates it (mode 0600) when absent. Anything but a
/// regular file there is an error, never waited on.
pub fn load_or_generate_token(path: &Path) -> std::io::Result<(Secret, TokenFile)> {
    match crate::process::regular_file::read(path, MAX_SECRET_FILE) {
        Ok((bytes, _)) if !String::from_utf8_lossy(&bytes).trim().is_empty() => {
            if readable_by_others(path) {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            let text = String::from_utf8_lossy(&bytes);
            return Ok((Secret::new(text.trim()), TokenFile::Read));
        }
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.is_not_found() => {}
        Err(crate::process::regular_file::OpenError::Io(e)) => return Err(e),
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    }
    let token = generate_token()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(token.expose().as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok((token, TokenFile::Generated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway-token");
        let (t1, how) = load_or_generate_token(&p).unwrap();
        assert_eq!(how, TokenFile::Generated);
        assert!(t1.expose().len() >= 43, "256 bits in base64url");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (t2, how) = load_or_generate_token(&p).unwrap();
        assert_eq!(how, TokenFile::Read);
        assert_eq!(t1, t2);
        assert_ne!(generate_token().unwrap(), generate_token().unwrap());
    }

    #[test]
    fn token_files_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "tok-123\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read_token_file(&p).unwrap_err();
            assert!(e.contains("readable by group or others"), "{e}");
            assert!(e.contains("chmod 600"), "{e}");
            assert!(!e.contains("tok-123"));
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&p).unwrap().expose(), "tok-123");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read_token_file(&p).unwrap().expose(), "tok-123");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_token_file(&empty).unwrap_err().contains("empty"));
        assert!(read_token_file(dir.path()).is_err());
        // A FIFO is refused at once (no writer exists: a plain open would wait forever).
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_token_file(&fifo).unwrap_err();
        assert!(e.contains("not a regular file (a FIFO)"), "{e}");
        assert!(read_password_file(&fifo)
            .unwrap_err()
            .contains("not a regular file"));
        assert!(load_or_generate_token(&fifo).is_err());
        assert!(read_token_file(&dir.path().join("missing"))
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn password_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap().expose(), "hunter2");
        std::fs::write(&p, "\n").unwrap();
        let e = read_password_file(&p).unwrap_err();
        assert!(e.contains("empty"));
        std::fs::write(&p, "topsecret").unwrap();
        let missing = read_password_file(&dir.path().join("nope")).unwrap_err();
        assert!(!missing.contains("topsecret"));
    }
}
