//! Credentials the supervisor keeps: the gateway token and the device identity.
//!
//! Two files, both mode 0600 inside 0700 directories:
//! - `gateway-token` in the **gateway's** state directory (≥ 128 bits from the OS RNG, generated
//!   once; handed to the child as the path of this file, or in its environment to a gateway that
//!   cannot read one). It is the same file a hand-started `tether-gateway` reads, or generates,
//!   in that directory, so `tether run` and a gateway the user started by hand on the same state
//!   agree on the token without any configuration, and the supervisor can adopt it.
//! - `device.json` in the supervisor's state directory (the Ed25519 seed of Tether's dedicated
//!   backend identity, base64url).
//!
//! Nothing here is ever logged: the token is a [`Secret`] and [`DeviceKey`]'s `Debug` prints only
//! the device id.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tether_protocol::b64;
use tether_protocol::device::DeviceKey;
use tether_protocol::Secret;

use crate::profile::{create_private_dir, write_private};

/// File name of the token, in the gateway's state directory (the gateway's own default).
pub const TOKEN_FILE: &str = "gateway-token";
/// File name of the device identity.
pub const DEVICE_FILE: &str = "device.json";

fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(format!("OS RNG: {e}")))?;
    Ok(b)
}

fn check_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// A small regular file's bytes; `None` when it does not exist. Never blocks on a FIFO.
fn read_regular(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match crate::regular_file::read(path, 64 * 1024) {
        Ok((bytes, _)) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(crate::regular_file::OpenError::Io(e)) => Err(e),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )),
    }
}

/// Where the token lives, given the gateway's state dir.
pub fn token_path(gateway_state: &Path) -> PathBuf {
    gateway_state.join(TOKEN_FILE)
}

/// Loads the gateway token from the gateway's state dir, creating it (256 random bits, hex) on
/// first use.
pub fn load_or_create_token(gateway_state: &Path) -> io::Result<Secret> {
    create_private_dir(gateway_state)?;
    let path = token_path(gateway_state);
    match read_regular(&path) {
        Ok(Some(bytes)) if String::from_utf8_lossy(&bytes).trim().len() >= 32 => {
            check_private(&path)?;
            return Ok(Secret::new(String::from_utf8_lossy(&bytes).trim()));
        }
        Ok(_) => {}
        Err(e) => return Err(e),
    }
    let bytes = random::<32>()?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, token.as_bytes())?;
    Ok(Secret::new(token))
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceFile {
    version: u32,
    device_id: String,
    seed: String,
    created_at_ms: u64,
}

/// Loads the device identity, creating it on first use.
pub fn load_or_create_device(dir: &Path, now_ms: u64) -> io::Result<DeviceKey> {
    create_private_dir(dir)?;
    let path = dir.join(DEVICE_FILE);
    if let Some(bytes) = read_regular(&path)? {
        check_private(&path)?;
        let f: DeviceFile = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        let seed: [u8; 32] = b64::decode(&f.seed)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: bad seed", path.display()),
                )
            })?;
        return Ok(DeviceKey::from_seed(&seed));
    }
    let seed = random::<32>()?;
    let key = DeviceKey::from_seed(&seed);
    let f = DeviceFile {
        version: 1,
        device_id: key.device_id(),
        seed: b64::encode(&seed),
        created_at_ms: now_ms,
    };
    write_private(&path, &serde_json::to_vec_pretty(&f)?)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_is_created_once_private_and_long() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_token(dir.path()).unwrap();
        let b = load_or_create_token(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.expose().len(), 64);
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(format!("{a:?}"), "***");
    }

    #[test]
    fn a_fifo_in_place_of_a_credential_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let gw = dir.path().join("gateway");
        create_private_dir(&gw).unwrap();
        let mode = nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR;
        nix::unistd::mkfifo(&token_path(&gw), mode).unwrap();
        let e = load_or_create_token(&gw).unwrap_err();
        assert!(e.to_string().contains("not a regular file (a FIFO)"), "{e}");
        nix::unistd::mkfifo(&dir.path().join(DEVICE_FILE), mode).unwrap();
        assert!(load_or_create_device(dir.path(), 0).is_err());
    }

    #[test]
    fn device_identity_persists() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_device(dir.path(), 1).unwrap();
        let b = load_or_create_device(dir.path(), 2).unwrap();
        assert_eq!(a.device_id(), b.device_id());
        assert!(!format!("{a:?}").contains(&b64::encode(&a.seed())));
        let mode = std::fs::metadata(dir.path().join(DEVICE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
