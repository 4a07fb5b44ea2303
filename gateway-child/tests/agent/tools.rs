//! Tool turns: the file tools, exec output streaming, tool-event routing, process-group kill.

use serde_json::{json, Value};
use tether_gateway::methods::bus::{Audience, OutEvent};
use tether_protocol::agent::AgentStream;
use tether_protocol::chat::ChatState;
use tether_protocol::methods::ChatAbortParams;
use tether_protocol::Map;
use tether_testkit::mock_openai::{self, MockToolCall, Reply};

use crate::support::*;

fn call(id: &str, name: &str, args: Value) -> Reply {
    Reply::ToolCalls(vec![MockToolCall::new(id, name, args)])
}

/// Tool results the model got back, from the mock's last request.
fn tool_results(mock: &mock_openai::MockOpenAi) -> Vec<Value> {
    let reqs = mock.requests();
    reqs.last().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect()
}

#[tokio::test]
async fn file_tools_round_trip_with_upstream_event_order() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("workspace");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("hello.txt"),
        "hello from a file in the agent workspace\n",
    )
    .unwrap();
    mock.push(call("call_1", "read", json!({"path": "hello.txt"})));
    mock.push(Reply::Text(vec!["Tool result seen".into()]));
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(7);
    start(&e, &c, "main", "Use a tool now.", "t1").await;
    let fin = rec.terminal("t1").await;
    assert_eq!(fin.state, ChatState::Final);
    assert_eq!(fin.text().unwrap(), "Tool result seen");
    assert_eq!(
        shape(&rec, "t1"),
        [
            "run_status:preparing_workspace",
            "run_status:preparing_context",
            "lifecycle:start",
            "run_status:starting_model",
            "lifecycle:model",
            "item:start",
            "tool:start",
            "tool:result",
            "item:end",
            "lifecycle:model",
            "assistant",
            "usage",
            "lifecycle:end",
        ]
    );
    check_seqs(&rec, "t1");
    let results = tool_results(&mock);
    assert_eq!(results[0]["tool_call_id"], "call_1");
    assert_eq!(
        results[0]["content"],
        "hello from a file in the agent workspace\n"
    );
    // The second request carries the assistant tool call before the result.
    let msgs = mock.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .clone();
    let asst = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(asst["tool_calls"][0]["function"]["name"], "read");

    // Tool events go only to the starting connection (it has the tool-events cap); item
    // events go to everyone.
    for r in rec.all() {
        if let OutEvent::Agent(a) = &r.event {
            match a.stream {
                AgentStream::Tool => assert_eq!(r.audience, Audience::ToolEventsOf(vec![7])),
                _ => assert_eq!(r.audience, Audience::All),
            }
        }
    }
    let item = rec
        .agent("t1")
        .into_iter()
        .find(|a| a.stream == AgentStream::Item)
        .unwrap();
    assert_eq!(item.data["title"], "Read from hello.txt");
    assert_eq!(item.data["itemId"], "tool:call_1");
    assert!(!rec.named("session.tool").is_empty());

    // History: user, assistant tool call, tool result, assistant text.
    let h = full_history(&e, &c, "main").await;
    let roles: Vec<&str> = h.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "toolResult", "assistant"]);
}

#[tokio::test]
async fn write_edit_ls_and_errors() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    mock.push(Reply::ToolCalls(vec![
        MockToolCall::new(
            "c1",
            "write",
            json!({"path": "notes/a.txt", "content": "one two two"}),
        ),
        MockToolCall::new(
            "c2",
            "edit",
            json!({"path": "notes/a.txt", "oldText": "one", "newText": "ONE"}),
        ),
        MockToolCall::new(
            "c3",
            "edit",
            json!({"path": "notes/a.txt", "oldText": "two", "newText": "2"}),
        ),
        MockToolCall::new(
            "c4",
            "edit",
            json!({"path": "notes/a.txt", "oldText": "two", "newText": "2", "replaceAll": true}),
        ),
        MockToolCall::new("c5", "ls", json!({"path": "notes"})),
        MockToolCall::new("c6", "ls", json!({})),
        MockToolCall::new("c7", "read", json!({"path": "missing.txt"})),
        MockToolCall::new("c8", "frobnicate", json!({})),
        MockToolCall::new(
            "c9",
            "edit",
            json!({"path": "notes/a.txt", "oldText": "absent", "newText": "x"}),
        ),
    ]));
    mock.push(Reply::Text(vec!["done".into()]));
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "files", "w1").await;
    assert_eq!(rec.terminal("w1").await.state, ChatState::Final);
    let content = std::fs::read_to_string(dir.path().join("workspace/notes/a.txt")).unwrap();
    assert_eq!(content, "ONE 2 2");
    let results = tool_results(&mock);
    let text = |i: usize| results[i]["content"].as_str().unwrap().to_owned();
    assert!(text(0).starts_with("Wrote 11 bytes"), "{}", text(0));
    assert!(text(1).starts_with("Replaced 1 occurrence"));
    assert!(text(2).contains("matches 2 times"), "{}", text(2));
    assert!(text(3).starts_with("Replaced 2 occurrences"));
    assert_eq!(text(4), "a.txt");
    assert_eq!(text(5), "notes/");
    assert!(text(6).contains("does not exist"));
    assert!(text(7).contains("unknown tool"));
    assert!(text(8).contains("not found"));
    let failed: Vec<String> = rec
        .agent("w1")
        .into_iter()
        .filter(|a| {
            a.stream == AgentStream::Tool
                && a.data["phase"] == "result"
                && a.data["isError"] == true
        })
        .map(|a| a.data["toolCallId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failed, ["c3", "c7", "c8", "c9"]);
}

#[tokio::test]
async fn exec_streams_command_output_and_caps_it() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    mock.push(call(
        "e1",
        "exec",
        json!({"title": "echo test", "command": "echo hello-from-exec; echo done; pwd; env"}),
    ));
    mock.push(call(
        "e2",
        "exec",
        json!({"command": "head -c 5000 /dev/zero | tr '\\0' x; exit 3"}),
    ));
    mock.push(Reply::Text(vec!["ok".into()]));
    std::env::set_var("TETHER_TEST_SECRET_TOKEN", "s3cr3t-value");
    let cfg = openai_config(
        &mock.base_url(),
        json!({"exec": {"ask": "off", "maxOutputBytes": 1000}}),
    );
    let (e, rec) = engine(&cfg, dir.path());
    start(&e, &caller(1), "main", "run it", "x1").await;
    assert_eq!(rec.terminal("x1").await.state, ChatState::Final);
    let results = tool_results(&mock);
    let out = results[0]["content"].as_str().unwrap();
    assert!(out.starts_with("hello-from-exec\ndone\n"), "{out}");
    let ws = dir.path().join("workspace").canonicalize().unwrap();
    assert!(out.contains(&ws.display().to_string()));
    assert!(!out.contains("s3cr3t-value"), "secret leaked into exec env");
    assert!(!out.contains("TETHER_TEST_SECRET_TOKEN"));
    let capped = results[1]["content"].as_str().unwrap();
    assert!(capped.contains("[output truncated at 1000 bytes]"));
    assert!(capped.contains("[exit code 3]"));
    assert!(capped.len() < 1200);

    let s: Vec<String> = shape(&rec, "x1");
    let first_exec: Vec<&str> = s
        .iter()
        .map(String::as_str)
        .skip_while(|x| *x != "item:start")
        .take_while(|x| *x != "lifecycle:model")
        .collect();
    assert_eq!(first_exec.first(), Some(&"item:start"));
    assert!(first_exec.contains(&"tool:update"));
    assert!(first_exec.contains(&"command_output:delta"));
    assert_eq!(
        &first_exec[first_exec.len() - 3..],
        ["tool:result", "item:end", "command_output:end"]
    );
    let end = rec
        .agent("x1")
        .into_iter()
        .find(|a| a.stream == AgentStream::CommandOutput && a.data["phase"] == "end")
        .unwrap();
    assert_eq!(end.data["exitCode"], 0);
    assert_eq!(end.data["itemId"], "command:e1");
    assert_eq!(end.data["title"], "command echo test");
    check_seqs(&rec, "x1");
}

#[tokio::test]
async fn tool_events_need_the_cap() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    mock.push(call("c1", "ls", json!({})));
    mock.push(Reply::Text(vec!["ok".into()]));
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let mut c = caller(3);
    c.tool_events = false;
    start(&e, &c, "main", "ls", "n1").await;
    rec.terminal("n1").await;
    let tool_audiences: Vec<Audience> = rec
        .all()
        .into_iter()
        .filter(|r| matches!(&r.event, OutEvent::Agent(a) if a.stream == AgentStream::Tool))
        .map(|r| r.audience)
        .collect();
    assert!(!tool_audiences.is_empty());
    assert!(tool_audiences
        .iter()
        .all(|a| *a == Audience::ToolEventsOf(vec![])));
}

fn alive(pid: i32) -> bool {
    u32::try_from(pid).is_ok_and(tether_testkit::process::alive)
}

/// Polls an OS condition that produces no event (process exit of a grandchild), bounded.
async fn eventually_dead(pid: i32) -> bool {
    for _ in 0..500 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn abort_kills_the_tool_process_group() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    mock.push(call(
        "k1",
        "exec",
        json!({"command": "sleep 1000 & echo $! > bg.pid; echo started; wait"}),
    ));
    let cfg = openai_config(&mock.base_url(), json!({"exec": {"ask": "off"}}));
    let (e, rec) = engine(&cfg, dir.path());
    let c = caller(1);
    start(&e, &c, "main", "long", "k").await;
    rec.wait_until("exec output", |evs| {
        evs.iter().any(|r| {
            matches!(&r.event, OutEvent::Agent(a) if a.stream == AgentStream::CommandOutput
            && a.data["output"].as_str().unwrap_or("").contains("started"))
        })
    })
    .await;
    let update = rec
        .agent("k")
        .into_iter()
        .find(|a| a.stream == AgentStream::Tool && a.data["phase"] == "update")
        .unwrap();
    let shell = update.data["partialResult"]["details"]["pid"]
        .as_i64()
        .unwrap() as i32;
    let bg: i32 = std::fs::read_to_string(dir.path().join("workspace/bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(shell) && alive(bg));
    e.chat_abort(
        &c,
        ChatAbortParams {
            session_key: "main".into(),
            run_id: None,
            extra: Map::new(),
        },
    )
    .await
    .unwrap();
    let t = rec.terminal("k").await;
    assert_eq!(t.state, ChatState::Aborted);
    assert!(
        eventually_dead(bg).await,
        "background process {bg} survived the abort"
    );
    assert!(
        eventually_dead(shell).await,
        "shell {shell} survived the abort"
    );
    let result = rec
        .agent("k")
        .into_iter()
        .find(|a| a.stream == AgentStream::Tool && a.data["phase"] == "result")
        .unwrap();
    assert_eq!(result.data["isError"], true);
    assert_eq!(result.data["result"]["details"]["exitReason"], "aborted");
}

#[tokio::test]
async fn exec_timeout_kills_the_command() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    mock.push(call(
        "s1",
        "exec",
        json!({"command": "echo before; sleep 1000", "timeout": 1}),
    ));
    mock.push(Reply::Text(vec!["ok".into()]));
    let cfg = openai_config(
        &mock.base_url(),
        json!({"exec": {"ask": "off", "timeoutSeconds": 60}}),
    );
    let (e, rec) = engine(&cfg, dir.path());
    start(&e, &caller(1), "main", "slow", "s").await;
    assert_eq!(rec.terminal("s").await.state, ChatState::Final);
    let out = tool_results(&mock)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(out.starts_with("before"), "{out}");
    assert!(out.contains("timed out after 1 s"), "{out}");
}
