//! The supervisor against our own gateway, across processes: real `tether run` and real
//! `tether-gateway` binaries, temp state dirs, loopback ports chosen by the kernel. Start →
//! running (ndjson, control socket, CLI); hot reload by RPC and by SIGUSR1 (same pid, new boot);
//! `kill -9` of the child (recovered); a SIGSTOP'd child (heartbeat kills and restarts it);
//! `kill -9` of the supervisor (no orphan); the token kept out of every command line, log, event
//! and export; a foreign port holder (clear error, left alone); attach to a hand-started gateway
//! (adopted but not owned, left running by `stop`; a wrong token is a clear error without a
//! loop); re-adoption of a provable orphan through the ownership ledger, and a stale ledger
//! entry ignored. Tests wait for events with deadlines and never sleep to synchronize.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use tether_e2e::{
    alive, cli, cmdlines_containing, descendants, group_members, status_pid, supervisor_token,
    wait_gone, wait_until, write_gateway_config, SocketEvents, Supervisor,
};
use tether_supervisor::events::{PhaseName, ProblemCode, StatusEvent, SupervisorEvent};
use tether_supervisor::ledger::{self, Entry, Ledger};
use tether_testkit::gateway::{Gateway, GatewayOptions};

const BOOT: Duration = Duration::from_secs(60);

fn running(e: &SupervisorEvent) -> bool {
    matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running)
}

fn status(e: SupervisorEvent) -> StatusEvent {
    match e {
        SupervisorEvent::Status(s) => s,
        other => panic!("not a status event: {other:?}"),
    }
}

fn boot_id(s: &StatusEvent) -> String {
    s.server
        .as_ref()
        .and_then(|x| x.boot_id.clone())
        .expect("hello-ok carries a boot id")
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
}

/// A runtime for the testkit's async gateway launcher.
fn runtime() -> tokio::runtime::Runtime {
    tether_e2e::helper_runtime()
}

fn start(state: &std::path::Path) -> (Supervisor, StatusEvent) {
    let mut sup = Supervisor::start(state, &[], &[]);
    let s = status(sup.wait_for("running", BOOT, running));
    (sup, s)
}

#[test]
fn starts_reports_running_everywhere_and_never_leaks_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut sup, s) = start(&state);
    assert!(s.owned);
    assert_eq!(s.gateway, "tether");
    let pid = s.pid.expect("pid");
    let port = s.port.expect("port");
    let server = s.server.clone().unwrap();
    assert_eq!(server.protocol, 4);
    assert!(server.restart_rpc);
    assert!(alive(pid));

    // The control socket and the CLI tell the same story.
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["status"]["phase"], "running");
    assert_eq!(st["status"]["pid"], pid);
    assert_eq!(st["status"]["port"], port);
    assert_eq!(st["status"]["owned"], true);
    let out = cli(&state, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"]["pid"], pid);
    let out = cli(&state, &["status"]);
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("running") && human.contains(&pid.to_string()),
        "{human}"
    );
    // A gateway call goes through the supervisor's link.
    let health = sup.call("health", json!({})).unwrap();
    assert_eq!(health["ok"], true, "{health}");

    // Events stream over the socket as they do on stdout: an explicit restart shows up in both.
    let mut socket = SocketEvents::subscribe(&state);
    let out = cli(&state, &["restart"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let on_socket = status(socket.wait_for("running after restart", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    }));
    let on_stdout = status(sup.wait_for("running after restart", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    }));
    assert_eq!(on_socket, on_stdout);
    assert!(wait_gone(pid, Duration::from_secs(10)));

    // The token: in no command line, no event, no log line, no export, no gateway log.
    let token = std::fs::read_to_string(state.join("gateway").join("gateway-token")).unwrap();
    let token = token.trim();
    assert!(token.len() >= 32);
    assert!(
        cmdlines_containing(token).is_empty(),
        "token visible in /proc/*/cmdline"
    );
    // Our gateway reads the token from the supervisor's 0600 file: not even its environment
    // (nor the guardian's) holds it.
    let pid2 = on_stdout.pid.unwrap();
    for p in tether_e2e::descendants(sup.child.id()) {
        let environ = std::fs::read(format!("/proc/{p}/environ")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&environ).contains(token),
            "token in the environment of {p}"
        );
    }
    assert!(tether_e2e::descendants(sup.child.id()).contains(&pid2));
    let diagnostics = cli(&state, &["diagnostics"]);
    assert_eq!(diagnostics.status.code(), Some(0));
    assert!(!diagnostics.stdout.is_empty());
    let gateway_logs = state.join("gateway").join("logs");
    let mut texts = vec![
        ("events", sup.raw.lock().unwrap().join("\n")),
        ("supervisor stderr", sup.stderr.lock().unwrap().join("\n")),
        (
            "diagnostics",
            String::from_utf8_lossy(&diagnostics.stdout).into_owned(),
        ),
        ("status", st.to_string()),
        (
            "socket events",
            serde_json::to_string(&socket.seen).unwrap(),
        ),
    ];
    for f in std::fs::read_dir(&gateway_logs)
        .expect("gateway logs")
        .flatten()
    {
        texts.push(("gateway log", std::fs::read_to_string(f.path()).unwrap()));
    }
    for (what, text) in &texts {
        assert!(
            !text.is_empty() || *what == "supervisor stderr",
            "{what} is empty"
        );
        assert!(!text.contains(token), "token in {what}");
    }

    // SIGTERM: the gateway stops gracefully, the supervisor exits 0.
    signal(sup.child.id(), nix::sys::signal::Signal::SIGTERM);
    assert_eq!(sup.child.wait().unwrap().code(), Some(0));
    assert!(!alive(pid2), "the gateway outlived a graceful stop");
}

#[test]
fn hot_reload_by_rpc_and_by_sigusr1_keeps_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut sup, s) = start(&state);
    let pid = s.pid.unwrap();
    let boot1 = boot_id(&s);

    // `tether reload`: the gateway advertises gateway.restart.request, so the RPC path.
    let out = cli(&state, &["reload"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(sup.wait_for("running after reload", BOOT, |e| {
        matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running && s.server.as_ref().and_then(|x| x.boot_id.as_deref()) != Some(boot1.as_str()))
    }));
    assert_eq!(s.pid, Some(pid), "in-process restart keeps the pid");
    let boot2 = boot_id(&s);

    // SIGUSR1 from outside (the signal path): the supervisor follows the announced restart.
    signal(pid, nix::sys::signal::Signal::SIGUSR1);
    let s = status(sup.wait_for("running after SIGUSR1", BOOT, |e| {
        matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running && s.server.as_ref().and_then(|x| x.boot_id.as_deref()).is_some_and(|b| b != boot1 && b != boot2))
    }));
    assert_eq!(s.pid, Some(pid));
    // Neither was a crash: one spawn only, no governed restart.
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["counters"]["spawns"], 1, "{st}");
    assert_eq!(st["governor"]["executedTotal"], 0, "{st}");
}

/// A local process floods the gateway with a stale token: the whole machine is locked out, but
/// the supervisor's device authenticated before, so after an in-process restart it reconnects at
/// once. It used to be refused, declare that the gateway "did not come back", SIGKILL it and
/// count a crash.
#[test]
fn a_wrong_token_flood_does_not_lock_the_supervisor_out() {
    use tether_testkit::ws::{ConnectOpts, WsClient};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut sup, s) = start(&state);
    let (pid, port) = (s.pid.unwrap(), s.port.unwrap());
    let boot1 = boot_id(&s);
    let token = supervisor_token(&state);
    let url = format!("ws://127.0.0.1:{port}");
    let rt = runtime();
    rt.block_on(async {
        for i in 0..11 {
            let mut c = WsClient::open(&url).await.unwrap();
            let res = c
                .handshake(&ConnectOpts::cli(&format!("stale-{i}")))
                .await
                .unwrap();
            assert!(!res.ok);
        }
        // The machine is locked out: even the right token without the owner's device.
        let mut c = WsClient::open(&url).await.unwrap();
        let res = c.handshake(&ConnectOpts::cli(&token)).await.unwrap();
        let detail = res.error.and_then(|e| e.details).unwrap_or_default();
        assert_eq!(detail["code"], "AUTH_RATE_LIMITED");
    });
    let out = cli(&state, &["reload"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = status(sup.wait_for("running after reload", BOOT, |e| {
        matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running && s.server.as_ref().and_then(|x| x.boot_id.as_deref()) != Some(boot1.as_str()))
    }));
    assert_eq!(s.pid, Some(pid), "the same process, not killed");
    assert!(
        !sup.seen.iter().any(
            |e| matches!(e, SupervisorEvent::Status(s) if s.reason.contains("did not come back"))
        ),
        "{:?}",
        sup.seen
    );
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["counters"]["spawns"], 1, "{st}");
    assert_eq!(st["governor"]["executedTotal"], 0, "{st}");
}

#[test]
fn kill_9_of_the_child_is_recovered_with_a_new_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut sup, s) = start(&state);
    let pid = s.pid.unwrap();
    signal(pid, nix::sys::signal::Signal::SIGKILL);
    let s2 = status(sup.wait_for("running again", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    }));
    assert!(s2.owned);
    assert!(s2.generation > s.generation);
    assert!(alive(s2.pid.unwrap()));
    // The crash was seen as one: its exit, then a respawn.
    assert!(sup
        .seen
        .iter()
        .any(|e| matches!(e, SupervisorEvent::Status(s)
        if s.last_exit.as_ref().is_some_and(|x| x.signal == Some(9)))));
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["governor"]["executedTotal"], 1, "{st}");
}

#[test]
fn a_sigstopped_child_is_declared_dead_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // A fast tick: the supervisor's heartbeat follows the gateway's advertised tickIntervalMs.
    write_gateway_config(&state, &json!({"gateway": {"tickIntervalMs": 200}}));
    let (mut sup, s) = start(&state);
    assert_eq!(s.server.as_ref().unwrap().tick_interval_ms, 200);
    let pid = s.pid.unwrap();
    signal(pid, nix::sys::signal::Signal::SIGSTOP);
    let dead = status(sup.wait_for(
        "heartbeat death",
        BOOT,
        |e| matches!(e, SupervisorEvent::Status(s) if s.reason.starts_with("heartbeat:")),
    ));
    assert!(dead.reason.contains("wedged"), "{}", dead.reason);
    let s2 = status(sup.wait_for("running again", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    }));
    assert!(s2.owned);
    assert!(
        wait_gone(pid, Duration::from_secs(10)),
        "the wedged gateway was not killed"
    );
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["counters"]["heartbeatDeaths"], 1, "{st}");
}

#[test]
fn kill_9_of_the_supervisor_leaves_no_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (mut sup, s) = start(&state);
    let pid = s.pid.unwrap();
    assert_eq!(tether_e2e::pgid_of(pid), Some(pid), "its own process group");
    // Everything below the supervisor: the guardian and the gateway.
    let tree = descendants(sup.child.id());
    assert!(tree.contains(&pid) && tree.len() >= 2, "{tree:?}");
    sup.child.kill().unwrap();
    sup.child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || group_members(pid).is_empty()
            && tree.iter().all(|&p| !alive(p))),
        "outlived a kill -9 of their supervisor: group {:?}, tree {:?}",
        group_members(pid),
        tree.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
    );
    // A new supervisor on the same state starts afresh: the ledger names a dead child.
    let (_sup2, s2) = start(&state);
    assert!(s2.owned);
    assert_ne!(s2.pid, Some(pid));
}

#[test]
fn a_port_held_by_a_foreign_process_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut sup = Supervisor::start(&state, &["--port", &port.to_string()], &[]);
    let s = status(sup.wait_for(
        "failed",
        BOOT,
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Failed),
    ));
    assert_eq!(s.problem, Some(ProblemCode::PortInUse));
    assert!(
        s.reason.contains(&port.to_string())
            && s.reason.contains(&format!("pid {}", std::process::id())),
        "{}",
        s.reason
    );
    assert!(!sup.seen.iter().any(|e| status_pid(e).is_some()));
    let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    drop(c);
}

#[test]
fn a_hand_started_gateway_is_adopted_not_owned_and_survives_stop() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let token = supervisor_token(&state);
    let rt = runtime();
    let gw = rt
        .block_on(Gateway::spawn(GatewayOptions {
            token: Some(token),
            state_dir: Some(state.join("gateway")),
            ..GatewayOptions::default()
        }))
        .unwrap();
    let (mut sup, s) = start(&state);
    assert!(!s.owned, "{s:?}");
    assert_eq!((s.pid, s.port), (Some(gw.pid), Some(gw.port)));
    assert_eq!(boot_id(&s), gw.boot_id);
    assert!(sup.call("health", json!({})).unwrap()["ok"] == true);

    let out = cli(&state, &["stop"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sup.wait_for(
        "stopped",
        BOOT,
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Stopped),
    );
    assert!(alive(gw.pid), "stop killed a gateway Tether did not start");
    // It still serves: a fresh `start` attaches to the same process again.
    assert_eq!(cli(&state, &["start"]).status.code(), Some(0));
    let s = status(sup.wait_for("running again", BOOT, running));
    assert_eq!((s.pid, s.owned), (Some(gw.pid), false));
    // Not even a kill -9 of the supervisor takes it down.
    sup.child.kill().unwrap();
    sup.child.wait().unwrap();
    assert!(alive(gw.pid));
    let probe = std::net::TcpStream::connect(("127.0.0.1", gw.port));
    assert!(probe.is_ok(), "the gateway stopped listening");
}

#[test]
fn a_gateway_started_by_hand_with_no_token_setup_is_adopted() {
    // The user runs `tether-gateway run` on the default state with no token anywhere: it
    // generates `<state>/gateway-token`. A later `tether run` on the same state reads that same
    // file, so it connects and adopts the gateway instead of failing on credentials.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let rt = runtime();
    let gw = rt
        .block_on(Gateway::spawn(GatewayOptions {
            token: None,
            state_dir: Some(state.join("gateway")),
            ..GatewayOptions::default()
        }))
        .unwrap();
    let generated = std::fs::read_to_string(state.join("gateway").join("gateway-token")).unwrap();
    assert!(generated.trim().len() >= 32);
    let (sup, s) = start(&state);
    assert_eq!(
        (s.pid, s.port, s.owned),
        (Some(gw.pid), Some(gw.port), false),
        "{s:?}"
    );
    assert_eq!(sup.call("health", json!({})).unwrap()["ok"], true);
    // The supervisor used the gateway's file as it was: it did not rotate it.
    assert_eq!(supervisor_token(&state), generated.trim());
}

#[test]
fn a_hand_started_gateway_with_another_token_is_a_clear_error_without_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _ours = supervisor_token(&state);
    let rt = runtime();
    let gw = rt
        .block_on(Gateway::spawn(GatewayOptions {
            state_dir: Some(state.join("gateway")),
            ..GatewayOptions::default()
        }))
        .unwrap();
    let mut sup = Supervisor::start(&state, &[], &[]);
    let s = status(sup.wait_for(
        "failed",
        BOOT,
        |e| matches!(e, SupervisorEvent::Status(s) if matches!(s.phase, PhaseName::Failed | PhaseName::Paused | PhaseName::Running)),
    ));
    assert_eq!(s.phase, PhaseName::Failed, "{s:?}");
    assert_eq!(s.problem, Some(ProblemCode::AlreadyRunning));
    assert!(
        s.reason.contains("already running")
            && s.reason.contains(&gw.port.to_string())
            && s.reason.contains(&format!("pid {}", gw.pid))
            && s.reason.contains("credentials"),
        "{}",
        s.reason
    );
    // Not a loop: nothing is scheduled, one attempt was made, nothing was spawned or killed.
    assert_eq!(s.retry_in_ms, None);
    let st = sup.control("status", false).unwrap();
    assert_eq!(st["status"]["phase"], "failed");
    assert_eq!(st["counters"]["connectFailures"], 1, "{st}");
    assert_eq!(st["counters"]["spawns"], 0, "{st}");
    assert!(alive(gw.pid));
    let again = sup.control("status", false).unwrap();
    assert_eq!(again["counters"], st["counters"]);
}

fn ledger_entry(gw: &Gateway, token: &str, owner_pid: u32, owner_start: Option<u64>) -> Entry {
    Entry {
        pid: gw.pid,
        start_time: ledger::proc_start_time(gw.pid),
        exe: ledger::proc_exe(gw.pid),
        port: Some(gw.port),
        token_hash: ledger::token_hash(token),
        gateway: "tether".into(),
        owner_pid,
        owner_start_time: owner_start,
    }
}

/// A pid that certainly belongs to no live supervisor: a process that already exited.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn a_provable_orphan_is_readopted_as_owned_and_a_stale_entry_is_ignored() {
    let rt = runtime();
    // Orphan: the ledger proves Tether started this process (pid and start time match) and its
    // owner is gone, so the new supervisor adopts it as its own — and `stop` stops it.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let token = supervisor_token(&state);
    let mut gw = rt
        .block_on(Gateway::spawn(GatewayOptions {
            token: Some(token.clone()),
            state_dir: Some(state.join("gateway")),
            ..GatewayOptions::default()
        }))
        .unwrap();
    Ledger::new(&state)
        .write(&ledger_entry(&gw, &token, dead_pid(), Some(1)))
        .unwrap();
    let (mut sup, s) = start(&state);
    assert_eq!((s.pid, s.owned), (Some(gw.pid), true), "{s:?}");
    assert_eq!(cli(&state, &["stop"]).status.code(), Some(0));
    sup.wait_for(
        "stopped",
        BOOT,
        |e| matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Stopped),
    );
    let exit = rt.block_on(gw.process.wait_exit(BOOT)).unwrap();
    assert_eq!(exit.code(), Some(0), "stopped gracefully");
    drop(sup);

    // Stale: same pid, another start time (a reused pid) proves nothing — the gateway is
    // attached through its lock file and stays someone else's.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let token = supervisor_token(&state);
    let gw = rt
        .block_on(Gateway::spawn(GatewayOptions {
            token: Some(token.clone()),
            state_dir: Some(state.join("gateway")),
            ..GatewayOptions::default()
        }))
        .unwrap();
    let mut entry = ledger_entry(&gw, &token, dead_pid(), Some(1));
    entry.start_time = entry.start_time.map(|t| t + 1);
    Ledger::new(&state).write(&entry).unwrap();
    let (_sup, s) = start(&state);
    assert_eq!((s.pid, s.owned), (Some(gw.pid), false), "{s:?}");
    assert_eq!(cli(&state, &["stop"]).status.code(), Some(0));
    assert!(alive(gw.pid));
}
