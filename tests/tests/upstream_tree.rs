//! Upstream OpenClaw's process tree mid-run: the exec tool's command runs in a process group of
//! its own (upstream's spawn broker starts it `detached`), so killing the gateway's group is not
//! enough. These tests start a long command through a tool turn against the mock provider and
//! check that nothing of the tree survives `tether stop`, a `tether restart`, or a `kill -9` of
//! the supervisor, within seconds. Fails (does not skip) when upstream is not installed.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use tether_e2e::{
    alive, cli, descendants, helper_runtime, pgid_of, status_pid, wait_until,
    write_upstream_mock_config, Supervisor,
};
use tether_supervisor::events::{PhaseName, SupervisorEvent, ToolStatus};
use tether_testkit::mock_openai::{self, MockOpenAi, MockToolCall, Reply};

const BOOT: Duration = Duration::from_secs(120);

fn running(e: &SupervisorEvent) -> bool {
    matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running)
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

struct Setup {
    _rt: tokio::runtime::Runtime,
    mock: MockOpenAi,
    sup: Supervisor,
    gateway: u32,
    _dir: tempfile::TempDir,
}

fn start() -> Setup {
    let up = tether_testkit::upstream::require();
    let dir = tempfile::tempdir().unwrap();
    let rt = helper_runtime();
    let mock = rt.block_on(mock_openai::start()).unwrap();
    mock.set_default(Reply::words("ok"));
    let config = dir.path().join("openclaw.json");
    write_upstream_mock_config(&config, &mock.base_url());
    let mut sup = Supervisor::start(
        &dir.path().join("state"),
        &[
            "--gateway",
            "openclaw",
            "--config",
            config.to_str().unwrap(),
        ],
        &up.env(),
    );
    let ev = sup.wait_for("running", BOOT, running);
    let gateway = status_pid(&ev).unwrap();
    Setup {
        _rt: rt,
        mock,
        sup,
        gateway,
        _dir: dir,
    }
}

/// Starts a tool turn whose command sleeps for minutes and returns the tree below the gateway
/// once the command runs: (pid, pgid, command line) of every descendant.
fn long_tool_run(s: &mut Setup, marker: &str, seconds: u32) -> Vec<(u32, Option<u32>, String)> {
    let command = format!("sleep {seconds}");
    s.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_long1",
        "exec",
        json!({"command": command}),
    )]));
    s.mock.push(Reply::words("done"));
    s.sup
        .call(
            "chat.send",
            json!({"sessionKey":"agent:main:main","message":"run it","idempotencyKey": marker}),
        )
        .unwrap();
    s.sup.wait_for("tool running", BOOT, |e| {
        matches!(e, SupervisorEvent::Tool(t) if t.run_id == marker && t.status == ToolStatus::Running)
    });
    let gateway = s.gateway;
    assert!(
        wait_until(Duration::from_secs(30), || descendants(gateway)
            .iter()
            .any(|&p| cmdline(p).trim() == command)),
        "the tool's command never showed up below the gateway"
    );
    let tree: Vec<_> = descendants(gateway)
        .into_iter()
        .map(|p| (p, pgid_of(p), cmdline(p)))
        .collect();
    eprintln!("tree below the gateway {gateway}: {tree:#?}");
    tree
}

fn survivors(tree: &[(u32, Option<u32>, String)]) -> Vec<&(u32, Option<u32>, String)> {
    tree.iter().filter(|(p, _, _)| alive(*p)).collect()
}

fn assert_tree_gone(what: &str, gateway: u32, tree: &[(u32, Option<u32>, String)]) {
    let t0 = Instant::now();
    let gone = wait_until(Duration::from_secs(10), || {
        !alive(gateway) && survivors(tree).is_empty()
    });
    eprintln!(
        "{what}: gateway and {} descendants gone after {:?}",
        tree.len(),
        t0.elapsed()
    );
    assert!(
        gone,
        "{what}: still running after 10 s: gateway alive={}, descendants {:?}",
        alive(gateway),
        survivors(tree)
    );
}

fn outside_group(gateway: u32, tree: &[(u32, Option<u32>, String)]) -> bool {
    tree.iter().any(|(_, g, _)| *g != Some(gateway))
}

#[test]
fn stop_mid_run_leaves_nothing_of_upstreams_tree() {
    let mut s = start();
    let tree = long_tool_run(&mut s, "tree-stop-1", 301);
    assert!(
        outside_group(s.gateway, &tree),
        "expected a descendant in another process group: {tree:?}"
    );
    let out = cli(&s.sup.state_dir, &["stop"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_tree_gone("stop", s.gateway, &tree);
}

#[test]
fn kill_9_of_the_supervisor_mid_run_leaves_nothing_of_upstreams_tree() {
    let mut s = start();
    let tree = long_tool_run(&mut s, "tree-kill-1", 302);
    assert!(outside_group(s.gateway, &tree), "{tree:?}");
    s.sup.child.kill().unwrap();
    s.sup.child.wait().unwrap();
    assert_tree_gone("kill -9 of the supervisor", s.gateway, &tree);
}
