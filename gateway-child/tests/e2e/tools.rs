//! Tool turns through the real binary: the file tools and exec in the workspace, tool events
//! only to the connection that started the run with `caps:["tool-events"]`, exec approvals
//! decided over the socket by another connection, and the path-escape battery driven by the
//! model's own tool calls.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};
use tether_testkit::gateway::GatewayOptions;
use tether_testkit::mock_openai::{MockToolCall, Reply};
use tether_testkit::ws::WsClient;

use crate::support::*;

const MAIN: &str = "agent:main:main";

fn tool_events(evs: &[tether_protocol::Event], run: &str, stream: &str) -> Vec<Value> {
    agents(evs, run)
        .into_iter()
        .filter(|p| p["stream"] == stream)
        .collect()
}

#[tokio::test]
async fn tool_turn_sends_tool_events_only_to_the_starting_tool_events_connection() -> Result<()> {
    let rig = Rig::with(json!({"tools": {"exec": {"ask": "off"}}})).await?;
    rig.mock.push(Reply::ToolCalls(vec![
        MockToolCall::new(
            "c1",
            "write",
            json!({"path": "notes/a.txt", "content": "alpha beta"}),
        ),
        MockToolCall::new(
            "c2",
            "edit",
            json!({"path": "notes/a.txt", "oldText": "alpha", "newText": "ALPHA"}),
        ),
        MockToolCall::new("c3", "read", json!({"path": "notes/a.txt"})),
        MockToolCall::new("c4", "ls", json!({"path": "notes"})),
        MockToolCall::new(
            "c5",
            "exec",
            json!({"command": "echo from-exec; cat notes/a.txt"}),
        ),
    ]));
    rig.mock.push(Reply::words("All five tools ran."));
    let mut starter = rig.connect(&rig.tool_operator()).await?;
    // Same session, same scopes, but no `tool-events` cap.
    let mut watcher = rig.connect(&rig.operator()).await?;
    chat_send(&mut starter, MAIN, "use every tool", "tt1").await?;
    let mine = until_terminal(&mut starter, "tt1").await?;
    let theirs = until_terminal(&mut watcher, "tt1").await?;
    assert_eq!(terminal(&mine, "tt1")["state"], "final");

    // Tool start and result for every call, in order, only on the starter.
    let tools = tool_events(&mine, "tt1", "tool");
    let starts: Vec<&str> = tools
        .iter()
        .filter(|p| p["data"]["phase"] == "start")
        .map(|p| p["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["write", "edit", "read", "ls", "exec"]);
    let results: Vec<&Value> = tools
        .iter()
        .filter(|p| p["data"]["phase"] == "result")
        .collect();
    assert_eq!(results.len(), 5);
    assert!(
        results.iter().all(|p| p["data"]["isError"] == false),
        "{results:?}"
    );
    assert!(tool_events(&theirs, "tt1", "tool").is_empty());
    // Both see the items and the exec output.
    for evs in [&mine, &theirs] {
        let items = tool_events(evs, "tt1", "item");
        assert_eq!(
            items
                .iter()
                .filter(|p| p["data"]["phase"] == "start")
                .count(),
            5
        );
        let output = tool_events(evs, "tt1", "command_output");
        assert!(output.iter().any(|p| p["data"]["output"]
            .as_str()
            .unwrap_or("")
            .contains("from-exec")));
    }
    check_run_seqs(&mine, "tt1");

    // The work happened in the workspace, and the model saw the results.
    assert_eq!(
        std::fs::read_to_string(rig.workspace().join("notes/a.txt"))?,
        "ALPHA beta"
    );
    let seen = tool_results(&rig.mock);
    assert_eq!(seen.len(), 5);
    let text = |i: usize| seen[i]["content"].as_str().unwrap_or("").to_owned();
    assert_eq!(text(2), "ALPHA beta");
    assert_eq!(text(3), "a.txt");
    assert!(
        text(4).contains("from-exec") && text(4).contains("ALPHA beta"),
        "{}",
        text(4)
    );
    Ok(())
}

async fn approval_request(c: &mut WsClient) -> Result<Value> {
    Ok(c.event("exec.approval.requested", D)
        .await?
        .payload
        .unwrap())
}

#[tokio::test]
async fn under_ask_always_allow_always_is_not_offered_and_the_run_says_it_waits() -> Result<()> {
    let rig = Rig::with(json!({"tools": {"exec": {"ask": "always"}}})).await?;
    rig.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "w1",
        "exec",
        json!({"command": "touch waited.txt"}),
    )]));
    rig.mock.push(Reply::words("ran it"));
    let mut starter = rig.connect(&rig.tool_operator()).await?;
    let mut approver = rig
        .connect(&opts(rig.token(), &["operator.approvals"], &[]))
        .await?;
    chat_send(&mut starter, MAIN, "touch a file", "aw1").await?;
    let req = approval_request(&mut approver).await?;
    let id = req["id"].as_str().unwrap().to_owned();
    // Every command asks each time, so "allow always" would be a promise the policy breaks.
    assert_eq!(
        req["request"]["allowedDecisions"],
        json!(["allow-once", "deny"])
    );
    assert_eq!(
        req["request"]["unavailableDecisions"],
        json!(["allow-always"])
    );
    let res = approver
        .call(
            "exec.approval.resolve",
            json!({"id": id, "decision": "allow-always"}),
        )
        .await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    let listed = payload(approver.call("exec.approval.list", json!({})).await?)?;
    assert_eq!(
        listed[0]["id"],
        id.as_str(),
        "still pending after the refusal"
    );
    resolve_approval(&mut approver, &id, "allow-once").await?;
    let evs = until_terminal(&mut starter, "aw1").await?;
    assert_eq!(terminal(&evs, "aw1")["state"], "final");
    assert!(rig.workspace().join("waited.txt").exists());
    // The run said it waited for this approval, and when the wait ended, in that order.
    let phases: Vec<(String, Value)> = tool_events(&evs, "aw1", "lifecycle")
        .into_iter()
        .filter(|p| p["data"]["approvalId"] == id.as_str())
        .map(|p| {
            (
                p["data"]["phase"].as_str().unwrap_or("").to_owned(),
                p["data"]["toolCallId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("waiting-approval".to_owned(), json!("w1")),
            ("approval-resolved".to_owned(), json!("w1"))
        ]
    );
    check_run_seqs(&evs, "aw1");
    Ok(())
}

/// `tools.exec.security` as upstream's: `deny` refuses every command before anyone is asked;
/// `allowlist` with `ask: "off"` runs what the allowlist names and refuses the rest. Refused
/// commands never run, no approval is requested, and the model is told why.
#[tokio::test]
async fn exec_security_deny_and_allowlist_without_asking_refuse_unasked() -> Result<()> {
    for (exec, cmd, runs) in [
        (json!({"security": "deny"}), "touch made.txt", false),
        (
            json!({"security": "allowlist", "ask": "off", "allowlist": ["touch made.txt"]}),
            "touch made.txt",
            true,
        ),
        (
            json!({"security": "allowlist", "ask": "off", "allowlist": ["touch made.txt"]}),
            "touch other.txt",
            false,
        ),
    ] {
        let rig = Rig::with(json!({"tools": {"exec": exec}})).await?;
        rig.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
            "s1",
            "exec",
            json!({"command": cmd}),
        )]));
        rig.mock.push(Reply::words("done"));
        let mut starter = rig.connect(&rig.tool_operator()).await?;
        let mut approver = rig
            .connect(&opts(rig.token(), &["operator.approvals"], &[]))
            .await?;
        chat_send(&mut starter, MAIN, "make a file", "sec1").await?;
        let evs = until_terminal(&mut starter, "sec1").await?;
        assert_eq!(terminal(&evs, "sec1")["state"], "final", "{exec}");
        let file = cmd.trim_start_matches("touch ");
        assert_eq!(rig.workspace().join(file).exists(), runs, "{exec} {cmd}");
        let result = tool_events(&evs, "sec1", "tool")
            .into_iter()
            .find(|p| p["data"]["phase"] == "result")
            .unwrap();
        assert_eq!(result["data"]["isError"], !runs, "{exec} {cmd}");
        if !runs {
            let seen = tool_results(&rig.mock);
            let text = seen.last().unwrap()["content"].as_str().unwrap().to_owned();
            assert!(text.contains("tools.exec.security"), "{text}");
        }
        let pending = payload(approver.call("exec.approval.list", json!({})).await?)?;
        assert_eq!(pending, json!([]), "nobody was asked: {exec}");
    }
    Ok(())
}

#[tokio::test]
async fn exec_approvals_allow_once_and_deny_over_the_socket() -> Result<()> {
    let rig = Rig::start().await?;
    let exec = |id: &str, cmd: &str| {
        Reply::ToolCalls(vec![MockToolCall::new(id, "exec", json!({"command": cmd}))])
    };
    rig.mock.push(exec("e1", "touch allowed.txt"));
    rig.mock.push(Reply::words("ran it"));
    rig.mock.push(exec("e2", "touch denied.txt"));
    rig.mock.push(Reply::words("did not run it"));

    let mut starter = rig.connect(&rig.tool_operator()).await?;
    let mut approver = rig
        .connect(&opts(rig.token(), &["operator.approvals"], &[]))
        .await?;
    let mut outsider = rig.connect(&rig.operator()).await?;

    // Allow once.
    chat_send(&mut starter, MAIN, "touch a file", "ap1").await?;
    let req = approval_request(&mut approver).await?;
    let id = req["id"].as_str().unwrap().to_owned();
    assert!(req.to_string().contains("touch allowed.txt"), "{req}");
    let listed = payload(approver.call("exec.approval.list", json!({})).await?)?;
    assert_eq!(listed[0]["id"], id.as_str());
    // Without operator.approvals: refused, and the request never reached this connection.
    let res = outsider
        .call(
            "exec.approval.resolve",
            json!({"id": id, "decision": "allow-always"}),
        )
        .await?;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = outsider.call("exec.approval.list", json!({})).await?;
    assert_eq!(code(&res), "FORBIDDEN");
    let ok = resolve_approval(&mut approver, &id, "allow-once").await?;
    assert_eq!(ok["decision"], "allow-once");
    let evs = until_terminal(&mut starter, "ap1").await?;
    assert_eq!(terminal(&evs, "ap1")["state"], "final");
    assert!(rig.workspace().join("allowed.txt").exists());
    let resolved = approver
        .event("exec.approval.resolved", D)
        .await?
        .payload
        .unwrap();
    assert_eq!(resolved["id"], id.as_str());

    // Deny.
    chat_send(&mut starter, MAIN, "touch another", "ap2").await?;
    let req = approval_request(&mut approver).await?;
    let id2 = req["id"].as_str().unwrap().to_owned();
    assert_ne!(id, id2, "allow-once is not remembered");
    resolve_approval(&mut approver, &id2, "deny").await?;
    let evs = until_terminal(&mut starter, "ap2").await?;
    assert_eq!(terminal(&evs, "ap2")["state"], "final");
    assert!(!rig.workspace().join("denied.txt").exists());
    let results = tool_results(&rig.mock);
    let denied = results.last().unwrap()["content"].as_str().unwrap();
    assert!(denied.contains("denied"), "{denied}");
    let result = tool_events(&evs, "ap2", "tool")
        .into_iter()
        .find(|p| p["data"]["phase"] == "result")
        .unwrap();
    assert_eq!(result["data"]["isError"], true);

    // The outsider saw the runs but no approval event.
    let seen = until_terminal(&mut outsider, "ap2").await?;
    assert!(seen.iter().all(|e| !e.event.starts_with("exec.approval.")));
    assert!(seen.iter().any(|e| is_terminal(e, "ap1")));
    Ok(())
}

fn snapshot(root: &Path, skip: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(skip) {
                continue;
            }
            let name = p.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(format!("{name}/"), Vec::new());
                stack.push(p);
            } else if meta.file_type().is_symlink() {
                out.insert(
                    name,
                    std::fs::read_link(&p)
                        .unwrap()
                        .display()
                        .to_string()
                        .into_bytes(),
                );
            } else {
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn hostile_tool_paths_from_the_model_never_leave_the_workspace() -> Result<()> {
    // The workspace and its surroundings live in their own dir, apart from the state dir.
    let root = tempfile::tempdir()?;
    let ws = root.path().join("ws");
    std::fs::create_dir_all(ws.join("sub"))?;
    std::fs::create_dir_all(root.path().join("outside"))?;
    let canary = root.path().join("canary.txt");
    std::fs::write(&canary, "CANARY")?;
    std::fs::write(root.path().join("outside/secret.txt"), "SECRET")?;
    std::fs::write(ws.join("inside.txt"), "inside")?;
    std::os::unix::fs::symlink(root.path().join("outside"), ws.join("linkdir"))?;
    std::os::unix::fs::symlink(&canary, ws.join("evil.txt"))?;
    std::os::unix::fs::symlink("../canary.txt", ws.join("sub/rel-evil.txt"))?;
    // A hard link has no "where" to check: refused like an escaping symlink. A FIFO would block
    // whoever opens it: refused at once.
    std::fs::hard_link(root.path().join("outside/secret.txt"), ws.join("hard.txt"))?;
    nix::unistd::mkfifo(&ws.join("pipe"), nix::sys::stat::Mode::S_IRWXU)?;
    let before = snapshot(root.path(), &ws);
    let abs = canary.display().to_string();
    let hostile: Vec<String> = vec![
        "../canary.txt".into(),
        "sub/../../canary.txt".into(),
        "../../etc/passwd".into(),
        "/etc/passwd".into(),
        abs.clone(),
        format!("file://{abs}"),
        "%2e%2e/canary.txt".into(),
        "..\\canary.txt".into(),
        "\\\\127.0.0.1\\share\\x".into(),
        "a\u{0}b.txt".into(),
        "~/canary.txt".into(),
        "linkdir/secret.txt".into(),
        "linkdir/new.txt".into(),
        "evil.txt".into(),
        "sub/rel-evil.txt".into(),
        "hard.txt".into(),
        "pipe".into(),
    ];
    let mut calls = Vec::new();
    for (i, p) in hostile.iter().enumerate() {
        calls.push(MockToolCall::new(
            &format!("r{i}"),
            "read",
            json!({"path": p}),
        ));
        calls.push(MockToolCall::new(
            &format!("w{i}"),
            "write",
            json!({"path": p, "content": "PWNED"}),
        ));
        calls.push(MockToolCall::new(
            &format!("e{i}"),
            "edit",
            json!({"path": p, "oldText": "CANARY", "newText": "PWNED"}),
        ));
        calls.push(MockToolCall::new(
            &format!("l{i}"),
            "ls",
            json!({"path": p}),
        ));
    }
    let n = calls.len();
    let rig = Rig::with_options(
        json!({"agents": {"defaults": {"workspace": ws.display().to_string()}}}),
        GatewayOptions::default(),
    )
    .await?;
    rig.mock.push(Reply::ToolCalls(calls));
    rig.mock.push(Reply::words("nothing escaped"));
    let mut c = rig.connect(&rig.tool_operator()).await?;
    chat_send(&mut c, MAIN, "try to escape", "esc").await?;
    let evs = until_terminal(&mut c, "esc").await?;
    assert_eq!(terminal(&evs, "esc")["state"], "final");

    // Every call failed, nothing outside the workspace was read, written or created.
    let results: Vec<Value> = tool_events(&evs, "esc", "tool")
        .into_iter()
        .filter(|p| p["data"]["phase"] == "result")
        .collect();
    assert_eq!(results.len(), n);
    for r in &results {
        assert_eq!(r["data"]["isError"], true, "{r}");
    }
    let seen = tool_results(&rig.mock);
    assert_eq!(seen.len(), n);
    for m in &seen {
        let id = m["tool_call_id"].as_str().unwrap_or("");
        let content = m["content"].as_str().unwrap_or("");
        if id.starts_with('r') || id.starts_with('l') {
            for leaked in ["CANARY", "SECRET", "root:x:0"] {
                assert!(!content.contains(leaked), "{id}: {content}");
            }
        }
    }
    assert_eq!(snapshot(root.path(), &ws), before);
    assert_eq!(std::fs::read_to_string(&canary)?, "CANARY");
    Ok(())
}

/// The file tools never run on the gateway's async workers, and a FIFO is refused instead of
/// read: with one FIFO per worker thread read in as many sessions at once, the gateway used to
/// stop answering even `/healthz`.
#[tokio::test]
async fn fifos_read_in_every_session_at_once_never_stall_the_gateway() -> Result<()> {
    // One session per worker thread of the gateway (it runs one per core of this machine).
    let n = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 16));
    let rig = Rig::start().await?;
    std::fs::create_dir_all(rig.workspace())?;
    // Each run gets its own script (keyed by its prompt): with one shared queue, a run whose
    // refused read came back fast could take the next run's tool call.
    for i in 0..n {
        nix::unistd::mkfifo(
            &rig.workspace().join(format!("pipe{i}")),
            nix::sys::stat::Mode::S_IRWXU,
        )?;
        let key = format!("read the pipe number {i}.");
        rig.mock.push_for(
            &key,
            Reply::ToolCalls(vec![MockToolCall::new(
                &format!("f{i}"),
                "read",
                json!({"path": format!("pipe{i}")}),
            )]),
        );
        rig.mock.push_for(&key, Reply::words("done"));
    }
    let mut clients = Vec::new();
    for i in 0..n {
        let mut c = rig.connect(&rig.tool_operator()).await?;
        chat_send(
            &mut c,
            &format!("agent:main:fifo-{i}"),
            &format!("read the pipe number {i}."),
            &format!("fifo{i}"),
        )
        .await?;
        clients.push(c);
    }
    // Every read has begun before the probe.
    for (i, c) in clients.iter_mut().enumerate() {
        loop {
            let ev = c.event("agent", D).await?;
            let p = ev.payload.unwrap_or_default();
            if p["runId"] == format!("fifo{i}")
                && p["stream"] == "tool"
                && p["data"]["phase"] == "start"
            {
                break;
            }
        }
    }
    let health = tokio::time::timeout(
        D,
        tether_testkit::ws::http_get(&rig.gw.addr(), "/healthz", &[]),
    )
    .await??;
    assert_eq!(health.status, 200);
    for (i, c) in clients.iter_mut().enumerate() {
        let run = format!("fifo{i}");
        let evs = until_terminal(c, &run).await?;
        assert_eq!(terminal(&evs, &run)["state"], "final");
        let result = tool_events(&evs, &run, "tool")
            .into_iter()
            .find(|p| p["data"]["phase"] == "result")
            .expect("a tool result");
        assert_eq!(result["data"]["isError"], true, "{result}");
        let text = result["data"]["result"]["content"][0]["text"].to_string();
        assert!(text.contains("not a regular file (a FIFO)"), "{text}");
    }
    Ok(())
}

/// A command run by `exec` reads its parent's environment (`/proc/$PPID/environ`, the gateway's
/// as it was started): neither the gateway token nor a provider key given as a variable is
/// there, because the gateway re-executed itself with them moved to memory. `${VAR}` in the
/// config still resolves to the key.
#[tokio::test]
async fn exec_cannot_read_the_token_or_a_provider_key_from_the_gateways_environ() -> Result<()> {
    let opts = GatewayOptions {
        env: vec![("TETHER_TEST_PROVIDER_KEY".into(), MOCK_KEY.into())],
        ..GatewayOptions::default()
    };
    let rig = Rig::with_options(
        json!({
            "tools": {"exec": {"ask": "off"}},
            "models": {"providers": {"mock": {"apiKey": "${TETHER_TEST_PROVIDER_KEY}"}}},
        }),
        opts,
    )
    .await?;
    let token = rig.token().to_owned();
    for leaked in [MOCK_KEY, token.as_str(), "TETHER_TEST_PROVIDER_KEY"] {
        let environ = std::fs::read(format!("/proc/{}/environ", rig.gw.pid))?;
        assert!(
            !String::from_utf8_lossy(&environ).contains(leaked),
            "{leaked} in the gateway's /proc environ"
        );
    }
    rig.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "env1",
        "exec",
        json!({"command": "tr '\\0' '\\n' < /proc/$PPID/environ; echo; env"}),
    )]));
    rig.mock.push(Reply::words("looked"));
    let mut c = rig.connect(&rig.tool_operator()).await?;
    chat_send(&mut c, MAIN, "look at the environment", "env").await?;
    let evs = until_terminal(&mut c, "env").await?;
    assert_eq!(terminal(&evs, "env")["state"], "final");
    let seen = tool_results(&rig.mock);
    let output = seen[0]["content"].as_str().unwrap_or_default();
    assert!(output.contains("PATH="), "the command ran: {output}");
    for leaked in [MOCK_KEY, token.as_str()] {
        assert!(
            !output.contains(leaked),
            "{leaked} readable by exec: {output}"
        );
    }
    // The key still reached the provider, from memory.
    let auth = rig.mock.requests()[0].authorization.clone();
    assert_eq!(auth.as_deref(), Some(format!("Bearer {MOCK_KEY}").as_str()));
    Ok(())
}
