//! Finding the workspace's built binaries from a test executable.
//!
//! Test executables live in `target/<profile>/deps/`; binaries in `target/<profile>/`. When the
//! binary is missing it is built once (`cargo build -p <pkg> --bin <name>`, same profile) before
//! the path is returned. This module never runs the binary itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use anyhow::{bail, Context, Result};

static BUILD: Mutex<()> = Mutex::new(());

/// The workspace root (the directory above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `target/<profile>` of the running test executable.
pub fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let mut dir = exe
        .parent()
        .context("test executable has no parent directory")?
        .to_path_buf();
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir.pop();
    }
    Ok(dir)
}

/// The path of binary `name` of package `package`, building it first if it is missing.
pub fn binary(package: &str, name: &str) -> Result<PathBuf> {
    let dir = profile_dir()?;
    let path = dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    let _guard = BUILD.lock().unwrap_or_else(PoisonError::into_inner);
    if path.exists() {
        return Ok(path);
    }
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "-p", package, "--bin", name]);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(target) = dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo build for {name}"))?;
    if !status.success() {
        bail!("cargo build -p {package} --bin {name} failed: {status}");
    }
    if !path.exists() {
        bail!("{} still missing after building it", path.display());
    }
    Ok(path)
}
