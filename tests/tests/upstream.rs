//! Interop with upstream OpenClaw 2026.9.6 on Node 24, through the same code path as our
//! gateway: start, call, chat (text and a tool turn against the mock OpenAI-compatible
//! provider), hot reload (in-process restart), explicit restart, `kill -9` of the child
//! mid-stream (recovered, run marked interrupted), stop, and `kill -9` of the supervisor (no
//! orphan). Fails (does not skip) when upstream is not installed: CI installs it with
//! `.ci/install-upstream`.

use std::time::Duration;

use serde_json::json;
use tether_e2e::{
    cmdlines_containing, helper_runtime, status_pid, wait_gone, write_upstream_mock_config,
    Supervisor,
};
use tether_supervisor::events::{ChatPhase, PhaseName, SupervisorEvent, ToolStatus};
use tether_testkit::mock_openai::{self, MockToolCall, Reply};

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
    // The mock provider runs on its own runtime for the whole test.
    let rt = helper_runtime();
    let mock = rt.block_on(mock_openai::start()).unwrap();
    mock.set_default(Reply::words("ok"));
    let config = dir.path().join("openclaw.json");
    write_upstream_mock_config(&config, &mock.base_url());
    let mut sup = Supervisor::start(
        &state,
        &[
            "--gateway",
            "openclaw",
            "--config",
            config.to_str().unwrap(),
        ],
        &up.env(),
    );

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
    let token = std::fs::read_to_string(state.join("openclaw").join("gateway-token")).unwrap();
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
    // Chat, text turn: cumulative text plus increments, ending `final`.
    mock.push(Reply::words("Hello from the mock provider."));
    let ack = sup.call("chat.send", json!({"sessionKey":"agent:main:main","message":"Please just say hello.","idempotencyKey":"interop-run-1"})).unwrap();
    assert_eq!(ack["runId"], "interop-run-1");
    let ev = sup.wait_for("final of the text turn", Duration::from_secs(120), |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "interop-run-1" && c.state.is_terminal())
    });
    let SupervisorEvent::Chat(fin) = ev else {
        unreachable!()
    };
    assert_eq!(fin.state, ChatPhase::Final, "{fin:?}");
    assert_eq!(fin.text, "Hello from the mock provider.");
    let streamed: String = sup
        .seen
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Chat(c) if c.run_id == "interop-run-1" => Some(c.delta.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        streamed, fin.text,
        "increments add up to the text, nothing duplicated or lost"
    );

    // Chat, tool turn: the exec tool runs (no approval upstream) and its status moves forward.
    mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_interop1",
        "exec",
        json!({"command": "echo hello-from-exec"}),
    )]));
    mock.push(Reply::words("The command printed hello-from-exec."));
    sup.call(
        "chat.send",
        json!({"sessionKey":"agent:main:main","message":"run it","idempotencyKey":"interop-run-2"}),
    )
    .unwrap();
    let ev = sup.wait_for("tool completed", Duration::from_secs(120), |e| {
        matches!(e, SupervisorEvent::Tool(t) if t.run_id == "interop-run-2" && t.status != ToolStatus::Running)
    });
    let SupervisorEvent::Tool(tool) = ev else {
        unreachable!()
    };
    assert_eq!(
        (tool.name.as_str(), tool.status),
        ("exec", ToolStatus::Completed),
        "{tool:?}"
    );
    assert!(
        tool.summary
            .as_deref()
            .unwrap_or("")
            .contains("hello-from-exec"),
        "{tool:?}"
    );
    assert!(tool.duration_ms.is_some());
    sup.wait_for("final of the tool turn", Duration::from_secs(120), |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "interop-run-2" && c.state == ChatPhase::Final)
    });

    // `tether chat` streams the reply through the control socket and exits 0 on final.
    mock.push(Reply::words("Streamed to the terminal."));
    let out = std::process::Command::new(tether_e2e::tether_bin())
        .args(["chat", "say something"])
        .env("TETHER_STATE_DIR", &state)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Streamed to the terminal."
    );
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
    // kill -9 of the child mid-stream: recovered with a new process, the run marked interrupted.
    mock.push(Reply::Slow(
        ["Counting: ", "one, ", "two, ", "three, ", "four, ", "five."]
            .map(String::from)
            .to_vec(),
        Duration::from_millis(700),
    ));
    sup.call("chat.send", json!({"sessionKey":"agent:main:main","message":"count slowly","idempotencyKey":"interop-run-3"})).unwrap();
    sup.wait_for("first delta", Duration::from_secs(120), |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "interop-run-3" && c.state == ChatPhase::Delta)
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid2 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let ev = sup.wait_for("running after kill -9", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid2)
    });
    let pid3 = status_pid(&ev).unwrap();
    let ev = sup.wait_for("interrupted run", Duration::from_secs(60), |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "interop-run-3" && c.state.is_terminal())
    });
    let SupervisorEvent::Chat(cut) = ev else {
        unreachable!()
    };
    assert_eq!(cut.state, ChatPhase::Interrupted, "{cut:?}");
    assert!(cut.text.starts_with("Counting:"), "{cut:?}");
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
    assert!(
        !sup.raw.lock().unwrap().iter().any(|l| l.contains(&token)),
        "token in events"
    );
}

/// `tether run --gateway openclaw` finds upstream the way users install it: `openclaw` on PATH
/// (here an `npm install -g` layout, then a pnpm shell shim), resolved to its entry and the
/// `node` that runs it, with no TETHER_UPSTREAM_* variables.
#[test]
fn upstream_on_path_is_found_without_the_variables() {
    let up = tether_testkit::upstream::require();
    let dir = tempfile::tempdir().unwrap();
    // npm -g / nvm: <prefix>/bin/openclaw is a symlink to the entry, node beside it.
    let npm_bin = dir.path().join("npm/bin");
    std::fs::create_dir_all(&npm_bin).unwrap();
    std::os::unix::fs::symlink(&up.openclaw, npm_bin.join("openclaw")).unwrap();
    std::os::unix::fs::symlink(&up.node, npm_bin.join("node")).unwrap();
    // pnpm: a shell shim naming the entry; node on PATH.
    let pnpm = dir.path().join("pnpm");
    let node_dir = dir.path().join("node-bin");
    std::fs::create_dir_all(&pnpm).unwrap();
    std::fs::create_dir_all(&node_dir).unwrap();
    std::os::unix::fs::symlink(&up.node, node_dir.join("node")).unwrap();
    let shim = pnpm.join("openclaw");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nbasedir=$(dirname \"$0\")\nexec node \"{}\" \"$@\"\n",
            up.openclaw.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for (name, path) in [
        ("npm", std::env::join_paths([&npm_bin]).unwrap()),
        ("pnpm", std::env::join_paths([&pnpm, &node_dir]).unwrap()),
    ] {
        let state = dir.path().join(format!("state-{name}"));
        let mut sup = Supervisor::start(
            &state,
            &["--gateway", "openclaw"],
            &[
                (
                    "PATH",
                    std::path::PathBuf::from(format!("{}:/usr/bin:/bin", path.to_string_lossy())),
                ),
                ("TETHER_UPSTREAM_NODE", "".into()),
                ("TETHER_UPSTREAM_OPENCLAW", "".into()),
                ("TETHER_UPSTREAM_ENV", dir.path().join("no-env.sh")),
            ],
        );
        let ev = sup.wait_for(&format!("running ({name})"), BOOT, running);
        let SupervisorEvent::Status(s) = &ev else {
            unreachable!()
        };
        assert_eq!(s.server.as_ref().unwrap().version, "2026.9.6", "{name}");
    }
}
