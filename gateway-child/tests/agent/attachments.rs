//! Attachments: text inlined, files saved in the workspace, images sent to a model that
//! accepts them (OpenAI `image_url` parts, Anthropic `image` blocks) and only with their run,
//! bad ones refused before anything starts.

use base64::Engine as _;
use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{AgentParams, RunStatus};
use tether_protocol::ErrorCode;
use tether_testkit::mock_anthropic;
use tether_testkit::mock_openai::{self, MockToolCall, Reply};

use crate::support::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn with_image_input(base: &str) -> tether_gateway::config::schema::Config {
    config(json!({
        "models": {"providers": {"mock": {"baseUrl": base, "apiKey": "mock-key",
            "api": "openai-completions",
            "models": [{"id": "mock-1", "input": ["text", "image"]}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    }))
}

fn last_user(body: &Value) -> Value {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn images_go_to_a_model_that_accepts_them_with_their_run_only() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "c1",
        "ls",
        json!({"path": "attachments"}),
    )]));
    mock.push(Reply::Text(vec!["A one-pixel PNG.".into()]));
    mock.push(Reply::Text(vec!["Still here.".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&with_image_input(&mock.base_url()), dir.path());
    let mut p = send("main", "What is in these?", "img1");
    p.attachments = Some(vec![
        json!({"fileName": "dot.png", "mimeType": "image/png", "content": b64(PNG)}),
        json!({"fileName": "todo.md", "content": b64(b"- buy milk\n")}),
        json!({"fileName": "paper.pdf", "content": format!("data:application/pdf;base64,{}", b64(b"%PDF-1.4\n\xe2\xe3"))}),
    ]);
    let ack = e.chat_send(&caller(1), p).await.unwrap();
    assert_eq!(ack.value.status, RunStatus::Started);
    drop(ack);
    assert_eq!(rec.terminal("img1").await.state, ChatState::Final);

    let ws = dir.path().join("workspace").join("attachments");
    assert_eq!(std::fs::read(ws.join("dot.png")).unwrap(), PNG);
    assert_eq!(
        std::fs::read(ws.join("paper.pdf")).unwrap(),
        b"%PDF-1.4\n\xe2\xe3"
    );
    assert!(
        !ws.join("todo.md").exists(),
        "small text is inlined, not saved"
    );

    // Both model calls of the run (before and after the tool) carry the image.
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let content = last_user(&r.body)["content"].clone();
        let parts = content.as_array().expect("text and image parts");
        let text = parts[0]["text"].as_str().unwrap();
        assert!(text.starts_with("What is in these?\n\n"), "{text}");
        assert!(
            text.contains("[Attached file todo.md (text/plain, 11 bytes)]\n```\n- buy milk\n```"),
            "{text}"
        );
        assert!(
            text.contains("[Attached image dot.png (image/png, 20 bytes), saved in the workspace at attachments/dot.png]"),
            "{text}"
        );
        assert!(
            text.contains("[Attached file paper.pdf (application/pdf, 11 bytes), saved in the workspace at attachments/paper.pdf]"),
            "{text}"
        );
        assert_eq!(
            parts[1],
            json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", b64(PNG))}})
        );
        assert_eq!(parts.len(), 2);
    }
    // The tool saw the saved files.
    let tool = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tool.contains("dot.png") && tool.contains("paper.pdf"),
        "{tool}"
    );

    // The next run sends the earlier message as text only: images go with their run.
    start(&e, &caller(1), "main", "And now?", "img2").await;
    rec.terminal("img2").await;
    let body = &mock.requests()[2].body;
    let users: Vec<&Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|u| u["content"].is_string()), "{users:?}");
    assert!(users[0]["content"]
        .as_str()
        .unwrap()
        .contains("attachments/dot.png"));

    // History shows what the model was told.
    let h = full_history(&e, &caller(1), "main").await;
    let first = serde_json::to_value(&h).unwrap()["messages"][0].to_string();
    assert!(
        first.contains("buy milk") && first.contains("attachments/dot.png"),
        "{first}"
    );
}

#[tokio::test]
async fn a_model_without_image_input_is_told_the_images_were_only_saved() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let mut p = send("main", "", "img");
    p.attachments = Some(vec![json!({"content": b64(PNG)})]);
    drop(e.chat_send(&caller(1), p).await.unwrap());
    rec.terminal("img").await;
    let body = &mock.requests()[0].body;
    // No image part, and a message that is only the note.
    assert_eq!(
        last_user(body)["content"],
        "[Attached image attachment-1.png (image/png, 20 bytes), saved in the workspace at attachments/attachment-1.png]"
    );
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("the model mock/mock-1 is not configured to accept images"),
        "{system}"
    );
}

#[tokio::test]
async fn anthropic_gets_image_blocks_before_the_text() {
    let mock = mock_anthropic::start().await.unwrap();
    mock.push(Reply::Text(vec!["A dot.".into()]));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({
        "models": {"providers": {"claude": {"baseUrl": mock.base_url(), "apiKey": "ak",
            "api": "anthropic-messages",
            "models": [{"id": "claude-test", "input": ["text", "image"]}]}}},
        "agents": {"defaults": {"model": {"primary": "claude/claude-test"}}},
    }));
    let (e, rec) = engine(&cfg, dir.path());
    let mut p = send("main", "Describe it.", "a1");
    p.attachments = Some(vec![json!({"fileName": "dot.png", "content": b64(PNG)})]);
    drop(e.chat_send(&caller(1), p).await.unwrap());
    assert_eq!(rec.terminal("a1").await.text().unwrap(), "A dot.");
    let body = &mock.requests()[0].body;
    let blocks = body["messages"][0]["content"].as_array().unwrap();
    assert_eq!(
        blocks[0],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}})
    );
    assert_eq!(blocks[1]["type"], "text");
    assert!(blocks[1]["text"]
        .as_str()
        .unwrap()
        .starts_with("Describe it.\n\n[Attached image dot.png"));
}

#[tokio::test]
async fn bad_attachments_fail_the_call_and_start_nothing() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let cases = [
        (json!({"content": "not base64 at all!"}), "not valid base64"),
        (json!({"fileName": "x"}), "has no content"),
        (
            json!({"content": b64(&vec![b'a'; 19_464_192])}),
            "larger than 19464192 bytes",
        ),
    ];
    for (i, (att, why)) in cases.into_iter().enumerate() {
        let mut p = send("main", "hi", &format!("bad{i}"));
        p.attachments = Some(vec![json!({"content": b64(b"fine")}), att]);
        let err = e.chat_send(&caller(1), p).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.message.contains(why), "{}", err.message);
    }
    // Nothing ran, nothing was written, and the key is still free.
    assert_eq!(mock.request_count(), 0);
    assert!(rec.all().is_empty());
    assert!(!dir.path().join("workspace").join("attachments").exists());
    assert_eq!(start(&e, &caller(1), "main", "hi", "bad0").await, "started");
    rec.terminal("bad0").await;
}

#[tokio::test]
async fn the_agent_method_takes_attachments_too() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let params: AgentParams = serde_json::from_value(json!({
        "message": "", "idempotencyKey": "ag",
        "attachments": [{"fileName": "a.txt", "content": b64(b"alpha")}],
    }))
    .unwrap();
    let (ack, done) = e.agent(&caller(1), params).await.unwrap();
    drop(ack);
    assert_eq!(done.await.unwrap().status, RunStatus::Ok);
    rec.terminal("ag").await;
    let user = last_user(&mock.requests()[0].body)["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        user,
        "[Attached file a.txt (text/plain, 5 bytes)]\n```\nalpha\n```"
    );
    let bad: AgentParams = serde_json::from_value(json!({
        "message": "hi", "idempotencyKey": "ag2", "attachments": [{"content": "%%"}],
    }))
    .unwrap();
    let err = e.agent(&caller(1), bad).await.err().unwrap();
    assert!(err.message.contains("not valid base64"), "{}", err.message);
}

#[tokio::test]
async fn a_workspace_that_cannot_be_opened_fails_the_run_but_keeps_the_message() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let cfg = config(json!({
        "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": "k",
            "models": [{"id": "mock-1"}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"},
            "workspace": file.join("ws")}},
    }));
    let (e, rec) = engine(&cfg, dir.path());
    let mut p = send("main", "keep me", "ws1");
    p.attachments = Some(vec![json!({"content": b64(b"\0\x01")})]);
    drop(e.chat_send(&caller(1), p).await.unwrap());
    let end = rec.terminal("ws1").await;
    assert_eq!(end.state, ChatState::Error);
    let msg = end.error_message.clone().unwrap_or_default();
    assert!(msg.contains("could not open the workspace"), "{msg}");
    assert_eq!(mock.request_count(), 0);
    let h = full_history(&e, &caller(1), "main").await;
    let first = serde_json::to_value(&h).unwrap()["messages"][0].to_string();
    assert!(first.contains("keep me"), "{first}");
}
