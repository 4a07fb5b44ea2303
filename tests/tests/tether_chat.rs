//! Chat through the supervisor against our own gateway and a scripted OpenAI-compatible
//! provider (`testkit::mock_openai`), across processes: `tether chat` streams a reply and exits
//! 0; a tool turn's status moves running → completed; an exec approval goes requested →
//! resolved over the control socket; `kill -9` of the gateway mid-stream is recovered and the
//! run ends `interrupted` with the partial text; a restart that cuts a run reconciles it through
//! `chat.history`. Waits for events with deadlines, never sleeps to synchronize.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use tether_e2e::{cli, status_pid, wait_gone, write_gateway_config, Supervisor};
use tether_supervisor::events::{ApprovalState, ChatPhase, PhaseName, SupervisorEvent, ToolStatus};
use tether_testkit::mock_openai::{self, MockOpenAi, MockToolCall, Reply};

const BOOT: Duration = Duration::from_secs(60);
const TURN: Duration = Duration::from_secs(60);

fn running(e: &SupervisorEvent) -> bool {
    matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running)
}

struct Rig {
    _rt: tokio::runtime::Runtime,
    mock: MockOpenAi,
    sup: Supervisor,
    pid: u32,
    _dir: tempfile::TempDir,
}

/// A supervisor with our gateway configured for the mock provider; `extra` is merged into the
/// gateway's config (tools, timings).
fn rig(extra: Value) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let rt = tether_e2e::helper_runtime();
    let mock = rt.block_on(mock_openai::start()).unwrap();
    mock.set_default(Reply::words("ok"));
    let mut config = json!({
        "models": {"providers": {"mock": {
            "baseUrl": mock.base_url(), "apiKey": "mock-key", "api": "openai-completions",
            "models": [{"id": "mock-1", "name": "Mock 1"}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    });
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    let state = dir.path().join("state");
    write_gateway_config(&state, &config);
    let mut sup = Supervisor::start(&state, &[], &[]);
    let ev = sup.wait_for("running", BOOT, running);
    let pid = status_pid(&ev).unwrap();
    Rig {
        _rt: rt,
        mock,
        sup,
        pid,
        _dir: dir,
    }
}

fn send(r: &Rig, run: &str, message: &str) {
    let ack = r
        .sup
        .call(
            "chat.send",
            json!({"sessionKey": "agent:main:main", "message": message, "idempotencyKey": run}),
        )
        .unwrap();
    assert_eq!(ack["runId"], run, "{ack}");
}

/// The run's terminal event, whether it already arrived (while waiting for something else) or
/// is still to come.
fn terminal(r: &mut Rig, run: &str) -> tether_supervisor::events::ChatUpdate {
    let run = run.to_owned();
    if let Some(SupervisorEvent::Chat(c)) =
        r.sup.seen.iter().find(
            |e| matches!(e, SupervisorEvent::Chat(c) if c.run_id == run && c.state.is_terminal()),
        )
    {
        return c.clone();
    }
    match r.sup.wait_for(
        "the run's end",
        TURN,
        |e| matches!(e, SupervisorEvent::Chat(c) if c.run_id == run && c.state.is_terminal()),
    ) {
        SupervisorEvent::Chat(c) => c,
        _ => unreachable!(),
    }
}

fn streamed(r: &Rig, run: &str) -> String {
    r.sup
        .seen
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Chat(c) if c.run_id == run => Some(c.delta.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn tether_chat_streams_a_reply_and_exits_0() {
    let mut r = rig(json!({}));
    r.mock.push(Reply::words("Hello from the mock provider."));
    let out = cli(&r.sup.state_dir, &["chat", "Please just say hello."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Hello from the mock provider."
    );
    // The supervisor's own stream saw the same run: increments add up, nothing twice.
    let fin = match r.sup.wait_for(
        "final",
        TURN,
        |e| matches!(e, SupervisorEvent::Chat(c) if c.state == ChatPhase::Final),
    ) {
        SupervisorEvent::Chat(c) => c,
        _ => unreachable!(),
    };
    assert_eq!(fin.text, "Hello from the mock provider.");
    assert_eq!(streamed(&r, &fin.run_id), fin.text);
}

#[test]
fn tether_chat_attaches_files_and_refuses_unreadable_ones() {
    let r = rig(json!({}));
    let files = tempfile::tempdir().unwrap();
    let notes = files.path().join("notes.txt");
    std::fs::write(&notes, "remember the milk\n").unwrap();
    let pdf = files.path().join("paper.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n\xe2\xe3").unwrap();
    r.mock.push(Reply::words("Noted."));
    let out = cli(
        &r.sup.state_dir,
        &[
            "chat",
            "--attach",
            notes.to_str().unwrap(),
            "-a",
            pdf.to_str().unwrap(),
            "What do these say?",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Noted.");
    let body = &r.mock.requests()[0].body;
    let user = body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(user.starts_with("What do these say?\n\n"), "{user}");
    assert!(
        user.contains(
            "[Attached file notes.txt (text/plain, 18 bytes)]\n```\nremember the milk\n```"
        ),
        "{user}"
    );
    assert!(
        user.contains("saved in the workspace at attachments/paper.pdf"),
        "{user}"
    );
    let saved = r
        .sup
        .state_dir
        .join("gateway/workspace/attachments/paper.pdf");
    assert_eq!(std::fs::read(saved).unwrap(), b"%PDF-1.4\n\xe2\xe3");

    // A file that cannot be read: a clear error naming it, and nothing is sent.
    let missing = files.path().join("nope.txt");
    let out = cli(
        &r.sup.state_dir,
        &["chat", "-a", missing.to_str().unwrap(), "hi"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("nope.txt"),
        "{err}"
    );
    assert_eq!(r.mock.request_count(), 1);
}

#[test]
fn a_tool_turn_moves_running_then_completed() {
    let mut r = rig(json!({"tools": {"exec": {"ask": "off"}}}));
    r.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_tool1",
        "exec",
        json!({"command": "echo hello-from-exec"}),
    )]));
    r.mock
        .push(Reply::words("The command printed hello-from-exec."));
    send(&r, "tool-run-1", "run it");
    let done = match r.sup.wait_for("tool done", TURN, |e| {
        matches!(e, SupervisorEvent::Tool(t) if t.run_id == "tool-run-1" && t.status != ToolStatus::Running)
    }) {
        SupervisorEvent::Tool(t) => t,
        _ => unreachable!(),
    };
    assert_eq!(
        (done.name.as_str(), done.status),
        ("exec", ToolStatus::Completed),
        "{done:?}"
    );
    assert!(
        done.summary
            .as_deref()
            .unwrap_or("")
            .contains("hello-from-exec"),
        "{done:?}"
    );
    assert!(done.duration_ms.is_some());
    assert!(
        r.sup
            .seen
            .iter()
            .any(|e| matches!(e, SupervisorEvent::Tool(t)
            if t.tool_call_id == done.tool_call_id && t.status == ToolStatus::Running)),
        "running was shown before completed"
    );
    let fin = terminal(&mut r, "tool-run-1");
    assert_eq!(fin.state, ChatPhase::Final);
    assert_eq!(fin.text, "The command printed hello-from-exec.");
}

#[test]
fn an_exec_approval_round_trips_through_the_supervisor() {
    let mut r = rig(json!({"tools": {"exec": {"ask": "on-miss"}}}));
    r.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_appr1",
        "exec",
        json!({"command": "echo approved-and-ran"}),
    )]));
    r.mock.push(Reply::words("Done."));
    send(&r, "appr-run-1", "run it after asking");
    let asked = match r.sup.wait_for(
        "approval requested",
        TURN,
        |e| matches!(e, SupervisorEvent::Approval(a) if a.state == ApprovalState::Requested),
    ) {
        SupervisorEvent::Approval(a) => a,
        _ => unreachable!(),
    };
    assert!(
        asked
            .command
            .as_deref()
            .unwrap_or("")
            .contains("approved-and-ran"),
        "{asked:?}"
    );
    // Resolve through the control socket's `call`, as a UI would.
    r.sup
        .call(
            "exec.approval.resolve",
            json!({"id": asked.id, "decision": "allow-once"}),
        )
        .unwrap();
    let id = asked.id.clone();
    let resolved = match r.sup.wait_for("approval resolved", TURN, |e| {
        matches!(e, SupervisorEvent::Approval(a) if a.state == ApprovalState::Resolved && a.id == id)
    }) {
        SupervisorEvent::Approval(a) => a,
        _ => unreachable!(),
    };
    assert_eq!(resolved.decision.as_deref(), Some("allow-once"));
    let done = match r.sup.wait_for("tool completed", TURN, |e| {
        matches!(e, SupervisorEvent::Tool(t) if t.run_id == "appr-run-1" && t.status != ToolStatus::Running)
    }) {
        SupervisorEvent::Tool(t) => t,
        _ => unreachable!(),
    };
    assert_eq!(done.status, ToolStatus::Completed, "{done:?}");
    assert!(done
        .summary
        .as_deref()
        .unwrap_or("")
        .contains("approved-and-ran"));
    assert_eq!(terminal(&mut r, "appr-run-1").state, ChatPhase::Final);
}

fn slow_count() -> Reply {
    Reply::Slow(
        [
            "Counting: ",
            "one, ",
            "two, ",
            "three, ",
            "four, ",
            "five, ",
            "six.",
        ]
        .map(String::from)
        .to_vec(),
        Duration::from_millis(400),
    )
}

#[test]
fn kill_9_of_the_gateway_mid_stream_is_recovered_and_the_run_interrupted() {
    let mut r = rig(json!({}));
    r.mock.push(slow_count());
    send(&r, "cut-run-1", "count slowly");
    r.sup.wait_for("first delta", TURN, |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "cut-run-1" && c.state == ChatPhase::Delta)
    });
    let pid = r.pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    r.sup.wait_for("running again", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    });
    let cut = terminal(&mut r, "cut-run-1");
    assert_eq!(cut.state, ChatPhase::Interrupted, "{cut:?}");
    assert!(cut.text.starts_with("Counting:"), "{cut:?}");
    assert!(
        cut.text.starts_with(&streamed(&r, "cut-run-1")),
        "nothing streamed is lost: {cut:?}"
    );
    assert_ne!(
        cut.text, "Counting: one, two, three, four, five, six.",
        "partial, not the whole reply"
    );
    // Exactly one terminal event for the run.
    let ends = r
        .sup
        .seen
        .iter()
        .filter(|e| matches!(e, SupervisorEvent::Chat(c) if c.run_id == "cut-run-1" && c.state.is_terminal()))
        .count();
    assert_eq!(ends, 1);
    assert!(wait_gone(pid, Duration::from_secs(10)));
}

#[test]
fn a_restart_that_cuts_a_run_reconciles_it_through_chat_history() {
    // No drain: the restart cuts the run instead of letting it finish.
    let mut r = rig(json!({"gateway": {"drainTimeoutMs": 0}}));
    r.mock.push(slow_count());
    send(&r, "restart-run-1", "count slowly");
    r.sup.wait_for("first delta", TURN, |e| {
        matches!(e, SupervisorEvent::Chat(c) if c.run_id == "restart-run-1" && c.state == ChatPhase::Delta)
    });
    let out = cli(&r.sup.state_dir, &["restart"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = r.pid;
    r.sup.wait_for("running after restart", BOOT, |e| {
        running(e) && status_pid(e).is_some_and(|p| p != pid)
    });
    let end = terminal(&mut r, "restart-run-1");
    // The history the new gateway serves holds what the old one persisted: at least what was
    // streamed; the run is over and says why.
    let seen = streamed(&r, "restart-run-1");
    assert!(end.text.starts_with("Counting:"), "{end:?}");
    assert!(end.text.len() >= seen.len(), "{end:?} vs {seen:?}");
    assert!(
        matches!(end.state, ChatPhase::Interrupted | ChatPhase::Aborted),
        "{end:?}"
    );
    let history = r
        .sup
        .call(
            "chat.history",
            json!({"sessionKey": "agent:main:main", "limit": 10}),
        )
        .unwrap();
    assert!(
        history.to_string().contains("Counting:"),
        "the partial reply was persisted: {history}"
    );
}

#[test]
fn kill_9_of_the_supervisor_mid_tool_run_leaves_nothing_behind() {
    let mut r = rig(json!({"tools": {"exec": {"ask": "off"}}}));
    r.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_long1",
        "exec",
        json!({"command": "sleep 305"}),
    )]));
    send(&r, "long-run-1", "run something long");
    r.sup.wait_for("tool running", TURN, |e| {
        matches!(e, SupervisorEvent::Tool(t) if t.run_id == "long-run-1" && t.status == ToolStatus::Running)
    });
    let cmdline = |p: u32| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default()
    };
    let sup_pid = r.sup.child.id();
    assert!(
        tether_e2e::wait_until(Duration::from_secs(30), || tether_e2e::descendants(sup_pid)
            .iter()
            .any(|&p| cmdline(p).trim() == "sleep 305")),
        "the tool's command never started"
    );
    let tree = tether_e2e::descendants(sup_pid);
    r.sup.child.kill().unwrap();
    r.sup.child.wait().unwrap();
    let t0 = std::time::Instant::now();
    let gone = tether_e2e::wait_until(Duration::from_secs(10), || {
        tree.iter().all(|&p| !tether_e2e::alive(p))
    });
    eprintln!(
        "gateway mid-run: {} processes gone {:?} after the supervisor's kill -9",
        tree.len(),
        t0.elapsed()
    );
    assert!(
        gone,
        "still running: {:?}",
        tree.iter()
            .filter(|&&p| tether_e2e::alive(p))
            .map(|&p| (p, cmdline(p)))
            .collect::<Vec<_>>()
    );
}
