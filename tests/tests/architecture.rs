//! The dependency invariants of ARCHITECTURE.md, checked with `cargo tree` (per-package feature
//! resolution for the host target, which is what actually gets built): the supervisor never
//! depends on tauri, the protocol crate stays pure (no async runtime, no IO crates), the gateway
//! never depends on the supervisor (not even for tests), and the test kit never ships.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

/// Package names reachable from `package` through the given edge kinds (`normal`, `dev`).
fn closure(package: &str, edges: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree", "--locked", "-p", package, "-e", edges, "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(
        names.contains(package),
        "unexpected cargo tree output for {package}: {names:?}"
    );
    names
}

#[test]
fn supervisor_does_not_depend_on_tauri() {
    let deps = closure("tether-supervisor", "normal");
    let tauri: Vec<_> = deps.iter().filter(|n| n.starts_with("tauri")).collect();
    assert!(tauri.is_empty(), "supervisor pulls in {tauri:?}");
    assert!(
        deps.contains("tether-protocol"),
        "closure looks wrong: {deps:?}"
    );
}

#[test]
fn protocol_is_pure_data() {
    let deps = closure("tether-protocol", "normal");
    for forbidden in [
        "tokio",
        "mio",
        "socket2",
        "futures-util",
        "hyper",
        "reqwest",
        "tungstenite",
        "notify",
        "nix",
        "libc",
        "getrandom",
        "rand",
    ] {
        assert!(
            !deps.contains(forbidden),
            "tether-protocol must not depend on {forbidden} (closure: {deps:?})"
        );
    }
}

#[test]
fn gateway_does_not_depend_on_supervisor() {
    for edges in ["normal", "normal,dev"] {
        let deps = closure("tether-gateway", edges);
        assert!(
            !deps.contains("tether-supervisor") && !deps.contains("tether-e2e"),
            "tether-gateway reaches the supervisor through {edges} edges"
        );
    }
}

#[test]
fn testkit_is_never_a_runtime_dependency() {
    for package in ["tether-protocol", "tether-gateway", "tether-supervisor"] {
        assert!(
            !closure(package, "normal").contains("tether-testkit"),
            "{package} depends on the test kit outside dev-dependencies"
        );
    }
}
