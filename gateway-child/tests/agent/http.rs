//! `POST /v1/chat/completions`, streaming and not.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::{json, Value};
use tether_testkit::mock_openai::{self, Reply};

use crate::support::*;

fn request(body: Value, session: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .header("content-type", "application/json");
    if let Some(s) = session {
        b = b.header("x-openclaw-session-key", s);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

#[tokio::test]
async fn non_streaming_completion() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec!["Hi".into(), " there".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let resp = e
        .chat_completions(request(
            json!({"model": "openclaw", "messages": [
            {"role": "system", "content": "ignored"}, {"role": "user", "content": "Say hi"}]}),
            Some("agent:main:api"),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Hi there");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["model"], "mock/mock-1");
    // It was an ordinary run: WebSocket clients saw it, the transcript has it.
    assert!(!rec.named("sessions.changed").is_empty());
    let h = full_history(&e, &caller(1), "agent:main:api").await;
    assert_eq!(h.messages[0].text(), "Say hi");
}

#[tokio::test]
async fn streaming_completion() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec![
        "One".into(),
        " two".into(),
        " three".into(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let (e, _rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let resp = e
        .chat_completions(request(
            json!({"stream": true, "user": "alice",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "count"}]}]}),
            None,
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let raw = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let events: Vec<&str> = raw.split("\n\n").filter(|s| !s.is_empty()).collect();
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "One two three");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    assert!(dir
        .path()
        .join("agents/main/sessions/openai-alice.jsonl")
        .exists());
}

#[tokio::test]
async fn bad_requests_and_provider_errors() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::status(401, mock_openai::auth_error_body()));
    let dir = tempfile::tempdir().unwrap();
    let (e, _rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let r = e
        .chat_completions(request(json!({"messages": []}), None))
        .await;
    assert_eq!(r.status(), 400);
    let r = e
        .chat_completions(request(
            json!({"messages": [{"role": "user", "content": "x"}]}),
            Some("../bad"),
        ))
        .await;
    assert_eq!(r.status(), 400);
    let big = Request::builder()
        .method("POST")
        .uri("/v1/chat/completions")
        .body(Full::new(Bytes::from(vec![b' '; 3 * 1024 * 1024])))
        .unwrap();
    assert_eq!(e.chat_completions(big).await.status(), 413);
    let r = e
        .chat_completions(request(
            json!({"messages": [{"role": "user", "content": "x"}]}),
            None,
        ))
        .await;
    assert_eq!(r.status(), 502);
    let body: Value =
        serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("credentials"));
}

#[tokio::test]
async fn a_streaming_client_that_leaves_aborts_its_run() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Stall(vec!["start".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let resp = e
        .chat_completions(request(
            json!({"stream": true, "messages": [{"role": "user", "content": "go"}]}),
            Some("agent:main:gone"),
        ))
        .await;
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("start"));
    drop(body);
    mock.wait_cancelled(1).await;
    rec.wait_until("aborted chat", |evs| {
        evs.iter().any(|r| {
            matches!(&r.event,
        tether_gateway::methods::bus::OutEvent::Chat(c) if c.state == tether_protocol::ChatState::Aborted)
        })
    })
    .await;
}
