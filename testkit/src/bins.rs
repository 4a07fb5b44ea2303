//! Finding the workspace's built binaries from a test executable.
//!
//! Test executables live in `target/<profile>/deps/`; binaries in `target/<profile>/`. The first
//! time a test process asks for a binary, `cargo build -p <pkg> --bin <name>` runs (same profile
//! and target dir): a no-op when the binary is fresh, a rebuild when it is stale or missing. So a
//! suite run on its own (`cargo test -p tether-e2e`) never exercises an old build of another
//! package's binary. This module never runs the binary itself.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use anyhow::{bail, Context, Result};

/// Binaries already brought up to date by this process.
static ENSURED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

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

/// The path of binary `name` of package `package`, built or rebuilt first if it is stale or
/// missing (checked once per test process).
pub fn binary(package: &str, name: &str) -> Result<PathBuf> {
    let dir = profile_dir()?;
    let path = dir.join(name);
    let mut ensured = ENSURED.lock().unwrap_or_else(PoisonError::into_inner);
    let ensured = ensured.get_or_insert_with(HashSet::new);
    if ensured.contains(&path) {
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
        .args(["build", "--quiet", "-p", package, "--bin", name]);
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
    ensured.insert(path.clone());
    Ok(path)
}
