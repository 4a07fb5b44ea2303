//! Path-escape battery (SECURITY.md §4 item 28): every file tool, every hostile path form,
//! symlinks out of the workspace, and the alternate argument names. Nothing outside the
//! workspace may be read, written or created.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_testkit::mock_openai::{self, MockToolCall, Reply};

use crate::support::*;

fn tree(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn hostile_paths_are_refused_by_every_file_tool() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("workspace");
    std::fs::create_dir_all(ws.join("sub")).unwrap();
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    let canary = dir.path().join("canary.txt");
    std::fs::write(&canary, "CANARY").unwrap();
    std::fs::write(dir.path().join("outside/secret.txt"), "SECRET").unwrap();
    std::fs::write(ws.join("inside.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside"), ws.join("linkdir")).unwrap();
    std::os::unix::fs::symlink(&canary, ws.join("evil.txt")).unwrap();
    std::os::unix::fs::symlink("../canary.txt", ws.join("sub/rel-evil.txt")).unwrap();
    std::os::unix::fs::symlink("inside.txt", ws.join("good-link.txt")).unwrap();
    let canary_abs = canary.display().to_string();

    let hostile: Vec<String> = vec![
        "../canary.txt".into(),
        "../../etc/passwd".into(),
        "sub/../../canary.txt".into(),
        "/etc/passwd".into(),
        canary_abs.clone(),
        "file:///etc/passwd".into(),
        format!("file://{canary_abs}"),
        "%2e%2e/canary.txt".into(),
        "%2E%2E%2Fcanary.txt".into(),
        "..\\..\\canary.txt".into(),
        "\\\\127.0.0.1\\c$\\x".into(),
        "//127.0.0.1/share/x".into(),
        "a\u{0}.png".into(),
        "~/canary.txt".into(),
        "C:\\Windows\\win.ini".into(),
        "x/".repeat(2100),
        "linkdir/secret.txt".into(),
        "linkdir/new.txt".into(),
        "evil.txt".into(),
        "sub/rel-evil.txt".into(),
    ];
    let mut calls = Vec::new();
    let mut n = 0;
    for p in &hostile {
        for (tool, args) in [
            ("read", json!({"path": p})),
            ("ls", json!({"path": p})),
            ("write", json!({"path": p, "content": "PWNED"})),
            (
                "edit",
                json!({"path": p, "oldText": "CANARY", "newText": "PWNED"}),
            ),
            ("read", json!({"file_path": p})),
            ("write", json!({"file_path": p, "content": "PWNED"})),
        ] {
            n += 1;
            calls.push(MockToolCall::new(&format!("h{n}"), tool, args));
        }
    }
    // Controls: the same tools work inside, including through an inside symlink.
    calls.push(MockToolCall::new(
        "ok1",
        "read",
        json!({"path": "good-link.txt"}),
    ));
    calls.push(MockToolCall::new(
        "ok2",
        "write",
        json!({"path": "sub/new.txt", "content": "fine"}),
    ));
    calls.push(MockToolCall::new("ok3", "ls", json!({"path": "./sub"})));
    mock.push(Reply::ToolCalls(calls));
    mock.push(Reply::Text(vec!["done".into()]));

    let before_outside = tree(&dir.path().join("outside"));
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "escape", "p").await;
    assert_eq!(rec.terminal("p").await.state, ChatState::Final);

    let results: Vec<Value> = mock.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect();
    assert_eq!(results.len(), n + 3);
    let errors: std::collections::HashMap<String, bool> = rec
        .agent("p")
        .into_iter()
        .filter(|a| a.data["phase"] == "result")
        .map(|a| {
            (
                a.data["toolCallId"].as_str().unwrap().to_owned(),
                a.data["isError"].as_bool().unwrap(),
            )
        })
        .collect();
    for i in 1..=n {
        let id = format!("h{i}");
        assert_eq!(
            errors.get(&id),
            Some(&true),
            "{id} was not refused: {:?}",
            results[i - 1]
        );
        let text = results[i - 1]["content"].as_str().unwrap();
        assert!(
            !text.contains("CANARY") && !text.contains("SECRET"),
            "{id} leaked: {text}"
        );
    }
    for id in ["ok1", "ok2", "ok3"] {
        assert_eq!(errors.get(id), Some(&false), "{id} failed");
    }
    assert_eq!(results[n]["content"], "inside");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "CANARY");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("outside/secret.txt")).unwrap(),
        "SECRET"
    );
    assert_eq!(tree(&dir.path().join("outside")), before_outside);
    let top: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = ["agents", "canary.txt", "outside", "workspace"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(top, expected, "something was created outside the workspace");
    assert!(!Path::new("/etc/PWNED").exists());
}
