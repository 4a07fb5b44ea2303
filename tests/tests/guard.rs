//! The guardian (`tether __guard PROGRAM ARGS…`) on its own, with shell scripts as gateways: it
//! exits the way its child did, it takes down descendants that left the child's process group
//! and session once the child is gone, and on SIGTERM (what the supervisor's death sends it) it
//! bounds even a child that ignores SIGTERM.

#![allow(clippy::unwrap_used)]

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use tether_e2e::{alive, tether_bin, wait_until};

fn guard(script: &str) -> Command {
    let mut c = Command::new(tether_bin());
    c.args(["__guard", "/bin/sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn exits_the_way_its_child_did() {
    let out = guard("echo out; echo err >&2; exit 7").output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let out = guard("kill -9 $$").output().unwrap();
    assert_eq!(out.status.signal(), Some(9));
    let out = guard("kill -TERM $$").output().unwrap();
    assert_eq!(out.status.signal(), Some(15));
    let out = Command::new(tether_bin())
        .args(["__guard", "/nonexistent/gateway"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/gateway"));
}

#[test]
fn takes_down_detached_descendants_when_the_child_exits() {
    // The child starts a process in a new session (its own group too), prints its pid, exits.
    let out = guard("setsid sleep 303 >/dev/null 2>&1 & echo $!; exit 0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || !alive(pid)),
        "detached descendant {pid} survived its gateway"
    );
}

#[test]
fn sigterm_is_bounded_even_for_a_child_that_ignores_it() {
    let mut g = guard("trap '' TERM; setsid sleep 304 & echo $!; while :; do sleep 1; done")
        .spawn()
        .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(g.stdout.take().unwrap());
        r.read_line(&mut line).unwrap();
    }
    let detached: u32 = line.trim().parse().unwrap();
    assert!(alive(detached));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(g.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = g.wait().unwrap();
    // The child ignored SIGTERM, so the guardian killed it after its grace and mirrors that.
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert!(wait_until(Duration::from_secs(5), || !alive(detached)));
}
