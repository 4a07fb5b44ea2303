//! Interop with upstream OpenClaw 2026.9.6 on Node 24, through the same code path as our
//! gateway: start, call, chat, hot reload (in-process restart), explicit restart, `kill -9` of
//! the child, stop, and `kill -9` of the supervisor. Fails (does not skip) when upstream is not
//! installed: CI installs it with `.ci/install-upstream`.

use std::time::Duration;

use serde_json::json;
use tether_e2e::{cmdlines_containing, status_pid, wait_gone, Supervisor};
use tether_supervisor::events::{PhaseName, SupervisorEvent};

const BOOT: Duration = Duration::from_secs(120);

fn running(e: &SupervisorEvent) -> bool {
    matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running)
}

fn boot_id(e: &SupervisorEvent) -> Option<String> {
    match e {
        SupervisorEvent::Status(s) => s.server.as_ref().and_then(|x| x.boot_id.clone()),
        _ => None,
    }
}

#[test]
fn upstream_openclaw_lifecycle_through_one_code_path() {
    let t0 = std::time::Instant::now();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", t0.elapsed().as_secs_f64());
    let up = tether_testkit::upstream::require();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut sup = Supervisor::start(&state, &["--gateway", "openclaw"], &up.env());

    // Start: readiness is hello-ok, after upstream's UNAVAILABLE/1013 startup refusals.
    let ev = sup.wait_for("running", BOOT, running);
    let SupervisorEvent::Status(s) = &ev else {
        unreachable!()
    };
    let server = s.server.clone().unwrap();
    assert_eq!(server.protocol, 4);
    assert_eq!(server.version, "2026.9.6");
    assert!(server.restart_rpc);
    let pid1 = s.pid.unwrap();
    let boot1 = boot_id(&ev).unwrap();

    step("started");
    // The token never reaches a command line or the supervisor's output.
    let token = std::fs::read_to_string(state.join("gateway.token")).unwrap();
    assert!(token.len() >= 32);
    assert!(
        cmdlines_containing(&token).is_empty(),
        "token visible in /proc/*/cmdline"
    );
    assert!(
        !sup.raw.lock().unwrap().iter().any(|l| l.contains(&token)),
        "token in events"
    );
    assert!(
        !sup.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&token)),
        "token in logs"
    );

    step("token checks");
    // Calls go through the supervisor's link.
    let health = sup.call("health", json!({})).unwrap();
    assert_eq!(health["ok"], true);

    step("health");
    // Chat: upstream has no provider configured here, so the run fails — but the whole path
    // (chat.send ack, chat events, normalization to a terminal `chat` event) is exercised.
    let ack = sup.call("chat.send", json!({"sessionKey":"agent:main:main","message":"hello","idempotencyKey":"interop-run-1"})).unwrap();
    assert_eq!(ack["runId"], "interop-run-1");
    sup.wait_for("terminal chat event", Duration::from_secs(90), |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "interop-run-1" && c.state.is_terminal())
    });

    step("chat");
    // Hot reload: gateway.restart.request (advertised) → same pid, new boot.
    sup.control("reload", false).unwrap();
    let ev = sup.wait_for("running after reload", BOOT, |e| {
        running(e) && boot_id(e).is_some_and(|b| b != boot1)
    });
    assert_eq!(
        status_pid(&ev),
        Some(pid1),
        "in-process restart keeps the pid"
    );

    step("reload");
    // Explicit restart: a new process.
    sup.control("restart", false).unwrap();
    let ev = sup.wait_for("running after restart", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid1)
    });
    let pid2 = status_pid(&ev).unwrap();
    assert!(wait_gone(pid1, Duration::from_secs(10)));

    step("restart");
    // kill -9 of the child: recovered with a new process.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid2 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let ev = sup.wait_for("running after kill -9", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid2)
    });
    let pid3 = status_pid(&ev).unwrap();

    step("kill -9 recovered");
    // Stop: graceful, and the process is gone.
    sup.control("stop", false).unwrap();
    sup.wait_for(
        "stopped",
        Duration::from_secs(30),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Stopped),
    );
    assert!(wait_gone(pid3, Duration::from_secs(10)));

    step("stopped");
    // Start again, then kill -9 the supervisor: the gateway must not outlive it.
    sup.control("start", false).unwrap();
    let ev = sup.wait_for("running again", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid3)
    });
    let pid4 = status_pid(&ev).unwrap();
    sup.child.kill().unwrap();
    let _ = sup.child.wait();
    assert!(
        wait_gone(pid4, Duration::from_secs(30)),
        "gateway {pid4} outlived a kill -9 of its supervisor"
    );
    step("no orphan");
}
