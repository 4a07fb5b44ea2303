//! Supervisor faults that need no particular gateway: a child that exits at once, and a port
//! held by a foreign process. Real `tether run` processes, temp dirs, 127.0.0.1 only.

use std::io::Write;
use std::time::Duration;

use tether_e2e::Supervisor;
use tether_supervisor::events::{PhaseName, ProblemCode, SupervisorEvent};
use tether_supervisor::policy::governor::BreakerState;

#[test]
fn a_child_that_exits_at_once_opens_the_breaker_without_a_storm() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("runs");
    let script = dir.path().join("crashing-gateway");
    {
        let mut f = std::fs::File::create(&script).unwrap();
        writeln!(
            f,
            "#!/bin/sh\necho run >> \"$CRASH_COUNT\"\necho 'boom: cannot start' >&2\nexit 1"
        )
        .unwrap();
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let state = dir.path().join("state");
    let mut sup = Supervisor::start(
        &state,
        &["--gateway", script.to_str().unwrap()],
        &[("CRASH_COUNT", count.clone())],
    );
    let ev = sup.wait_for(
        "breaker open",
        Duration::from_secs(60),
        |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Open),
    );
    let SupervisorEvent::Governor(g) = ev else {
        unreachable!()
    };
    assert!(g.override_available);
    let failed = sup.wait_for(
        "failed status",
        Duration::from_secs(10),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Failed),
    );
    let SupervisorEvent::Status(s) = failed else {
        unreachable!()
    };
    assert_eq!(s.problem, Some(ProblemCode::BreakerOpen));
    assert!(
        s.retry_in_ms.unwrap_or(0) > 60_000,
        "the trial is minutes away: {s:?}"
    );
    let runs = std::fs::read_to_string(&count).unwrap().lines().count();
    assert_eq!(
        runs, 6,
        "one start and five governed respawns, then nothing"
    );
    // The output was captured and classified.
    assert!(sup
        .seen
        .iter()
        .any(|e| matches!(e, SupervisorEvent::Log(l) if l.text.contains("boom"))));
    let status = sup.control("status", false).unwrap();
    assert_eq!(status["governor"]["state"], "open");
    assert_eq!(status["status"]["lastExit"]["code"], 1);
    // Nothing more was spawned while we looked.
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 6);
    // A plain `tether restart` is refused (exit 4) and spawns nothing; --force restarts.
    let out = tether_e2e::cli(&state, &["restart"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("breaker_open") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 6);
    let out = tether_e2e::cli(&state, &["restart", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    // The forced start ran the script again (a fact only the file records).
    assert!(tether_e2e::wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&count).unwrap().lines().count() >= 7
    }));
    // SIGTERM: the supervisor stops and exits 0.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = sup.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_port_held_by_a_foreign_process_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let never = dir.path().join("never-run");
    let state = dir.path().join("state");
    let mut sup = Supervisor::start(
        &state,
        &[
            "--gateway",
            never.to_str().unwrap(),
            "--port",
            &port.to_string(),
        ],
        &[],
    );
    let ev = sup.wait_for(
        "failed",
        Duration::from_secs(30),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Failed),
    );
    let SupervisorEvent::Status(s) = ev else {
        unreachable!()
    };
    assert_eq!(s.problem, Some(ProblemCode::PortInUse));
    assert!(
        s.reason.contains(&port.to_string()) && s.reason.contains("not a gateway"),
        "{}",
        s.reason
    );
    assert!(
        s.reason.contains(&format!("pid {}", std::process::id())),
        "names the holder: {}",
        s.reason
    );
    assert!(
        !sup.seen
            .iter()
            .any(|e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Starting)),
        "nothing was spawned"
    );
    // The foreign listener is untouched: it still accepts.
    listener.set_nonblocking(false).unwrap();
    let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    drop(c);
}

#[test]
fn cli_reports_no_supervisor_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let tether = tether_e2e::tether_bin();
    let out = std::process::Command::new(tether)
        .arg("status")
        .env("TETHER_STATE_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no supervisor running") && err.contains("tether run"),
        "{err}"
    );
}

/// A gateway config nested 20 000 deep is reported as the config error it is, after one start:
/// no respawns, no breaker (the gateway used to abort on it, six times).
#[test]
fn a_deeply_nested_config_is_a_config_error_not_a_crash_loop() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let gateway_state = state.join("gateway");
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&gateway_state)
            .unwrap();
    }
    std::fs::write(
        gateway_state.join("gateway.json"),
        format!(
            "{{\n  probe: {}1{}\n}}\n",
            "[".repeat(20_000),
            "]".repeat(20_000)
        ),
    )
    .unwrap();
    let mut sup = Supervisor::start(&state, &[], &[]);
    let failed = sup.wait_for(
        "failed status",
        Duration::from_secs(60),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Failed),
    );
    let SupervisorEvent::Status(s) = failed else {
        unreachable!()
    };
    assert_eq!(s.problem, Some(ProblemCode::ConfigError), "{s:?}");
    assert!(
        s.reason.contains("nested more than 64 levels"),
        "{}",
        s.reason
    );
    let mut spawned: Vec<u64> = sup
        .seen
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Status(s) if s.phase == PhaseName::Starting => Some(s.generation),
            _ => None,
        })
        .collect();
    spawned.dedup();
    assert_eq!(spawned.len(), 1, "one start, no respawn: {spawned:?}");
    assert!(!sup
        .seen
        .iter()
        .any(|e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Open)));
}

/// A response the supervisor cannot parse (nested deeper than its parser allows) fails the call
/// it answers at once, with a clear error and a diagnostic, instead of vanishing until the call
/// times out.
#[test]
fn an_unreadable_response_fails_its_call_with_a_clear_error() {
    let rt = tether_e2e::helper_runtime();
    let fake = tether_e2e::FakeGateway::start(
        &rt,
        std::sync::Arc::new(|method, id| {
            if method == "config.get" {
                let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
                format!(r#"{{"type":"res","id":"{id}","ok":true,"payload":{{"config":{deep}}}}}"#)
            } else {
                format!(r#"{{"type":"res","id":"{id}","ok":true,"payload":{{"ok":true}}}}"#)
            }
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut sup = Supervisor::start(&state, &["--port", &fake.port.to_string()], &[]);
    sup.wait_for(
        "running",
        Duration::from_secs(30),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running),
    );
    assert_eq!(
        sup.call("health", serde_json::json!({})).unwrap(),
        serde_json::json!({"ok": true})
    );
    let err = sup.call("config.get", serde_json::json!({})).unwrap_err();
    assert!(
        err.contains("bad_response") && err.contains("could not be read"),
        "{err}"
    );
    assert!(err.contains("config.get"), "{err}");
    let diag = sup.wait_for(
        "diagnostic",
        Duration::from_secs(10),
        |e| matches!(e, SupervisorEvent::Diagnostic(d) if d.code == tether_supervisor::events::DiagnosticCode::UnreadableFrame),
    );
    let SupervisorEvent::Diagnostic(d) = diag else {
        unreachable!()
    };
    assert!(
        d.message.contains("the answer to config.get"),
        "{}",
        d.message
    );
    // The link is still up.
    assert!(sup.call("health", serde_json::json!({})).is_ok());

    // A control request that does not parse is answered with its id (it used to get id null,
    // and a client waiting for its id waited forever).
    let answer = rt.block_on(async {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let s = tokio::net::UnixStream::connect(state.join("control.sock"))
            .await
            .unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = tokio::io::BufReader::new(r).lines();
        let _hello = lines.next_line().await.unwrap();
        w.write_all(b"{\"op\":\"call\",\"id\":11,\"method\":\"health\",\"timeoutMs\":-5}\n")
            .await
            .unwrap();
        lines.next_line().await.unwrap().unwrap()
    });
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["id"], 11, "{answer}");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["error"]["code"], "bad_request");
}

/// `rm -rf` of the state directory under a running supervisor: a second `tether run` for the
/// same path is refused (the lock file is gone, the instance name is not), `tether status`
/// says what happened, and the first supervisor notices, says so and stops its gateway instead
/// of running on unreachable. It used to leave both stacks running.
#[test]
fn a_removed_state_directory_never_gets_a_second_stack() {
    use nix::sys::signal::Signal;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut first = Supervisor::start(&state, &[], &[]);
    let ev = first.wait_for(
        "running",
        Duration::from_secs(60),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running),
    );
    let gateway = tether_e2e::status_pid(&ev).unwrap();
    let first_pid = first.child.id();
    let signal = |sig| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(first_pid as i32), sig).unwrap();
    };
    // Frozen, the first supervisor cannot notice anything yet.
    signal(Signal::SIGSTOP);
    std::fs::remove_dir_all(&state).unwrap();
    let mut second = Supervisor::start(&state, &[], &[]);
    assert!(
        tether_e2e::wait_until(Duration::from_secs(30), || second
            .child
            .try_wait()
            .unwrap()
            .is_some()),
        "a second stack started"
    );
    // Refused with the "already supervised" exit code, naming the holder.
    assert_eq!(second.child.wait().unwrap().code(), Some(9));
    let err = second.stderr.lock().unwrap().join("\n");
    assert!(
        err.contains("already supervises") && err.contains(&format!("(pid {first_pid})")),
        "{err}"
    );
    let out = tether_e2e::cli(&state, &["status"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("control socket is gone"), "{err}");
    // Thawed, the first notices, says so, stops its gateway and exits.
    signal(Signal::SIGCONT);
    assert!(tether_e2e::wait_until(Duration::from_secs(60), || first
        .child
        .try_wait()
        .unwrap()
        .is_some()));
    assert_eq!(first.child.wait().unwrap().code(), Some(1));
    let err = first.stderr.lock().unwrap().join("\n");
    assert!(
        err.contains("was removed") && err.contains("stopping"),
        "{err}"
    );
    assert!(tether_e2e::wait_gone(gateway, Duration::from_secs(30)));
    // Then the path is free for one new stack.
    let mut third = Supervisor::start(&state, &[], &[]);
    third.wait_for(
        "running",
        Duration::from_secs(60),
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running),
    );
}

/// `tether run --gateway openclaw` without upstream installed says how a user installs it (it
/// used to ask for two environment variables and a CI script).
#[test]
fn a_missing_upstream_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let mut sup = Supervisor::start(
        &state,
        &["--gateway", "openclaw"],
        &[
            ("PATH", empty.clone()),
            ("TETHER_UPSTREAM_NODE", "".into()),
            ("TETHER_UPSTREAM_OPENCLAW", "".into()),
            ("TETHER_UPSTREAM_ENV", dir.path().join("no-env.sh")),
        ],
    );
    assert!(tether_e2e::wait_until(Duration::from_secs(30), || sup
        .child
        .try_wait()
        .unwrap()
        .is_some()));
    assert_eq!(sup.child.wait().unwrap().code(), Some(1));
    let err = sup.stderr.lock().unwrap().join("\n");
    assert!(
        err.contains("npm install -g openclaw@2026.9.6") && err.contains("no `openclaw` on PATH"),
        "{err}"
    );
}
