//! `POST /v1/chat/completions` through the real binary: absent unless enabled; when enabled,
//! a Bearer token is required (never from the query string) and counts toward the auth-failure
//! limiter; streaming and non-streaming replies come from the same engine runs.

use anyhow::Result;
use serde_json::{json, Value};
use tether_testkit::mock_openai::Reply;
use tether_testkit::ws::{http, HttpReply};

use crate::support::*;

async fn post(addr: &str, path: &str, auth: Option<&str>, body: &Value) -> Result<HttpReply> {
    let body = body.to_string();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    http(addr, &req).await
}

fn ask(stream: bool) -> Value {
    json!({"model": "tether", "stream": stream, "user": "e2e",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Say hi"}]})
}

#[tokio::test]
async fn chat_completions_is_absent_unless_enabled() -> Result<()> {
    let rig = Rig::start().await?;
    let bearer = format!("Bearer {}", rig.token());
    let r = post(
        &rig.gw.addr(),
        "/v1/chat/completions",
        Some(&bearer),
        &ask(false),
    )
    .await?;
    assert_eq!(r.status, 404);
    assert_eq!(rig.mock.request_count(), 0);
    Ok(())
}

#[tokio::test]
async fn chat_completions_needs_the_bearer_and_streams_or_not() -> Result<()> {
    let rig = Rig::with(
        json!({"gateway": {"http": {"endpoints": {"chatCompletions": {"enabled": true}}}}}),
    )
    .await?;
    let addr = rig.gw.addr();
    let url = "/v1/chat/completions";
    let token = rig.token().to_owned();

    // No credentials, a wrong one, or the right one in the query string: 401, nothing ran.
    for (path, auth) in [
        (url.to_owned(), None),
        (url.to_owned(), Some("Bearer wrong-token".to_owned())),
        (format!("{url}?token={token}"), None),
        (url.to_owned(), Some(format!("Basic {token}"))),
    ] {
        let r = post(&addr, &path, auth.as_deref(), &ask(false)).await?;
        assert_eq!(r.status, 401, "{path} {auth:?}");
        let body = r.json()?;
        assert_eq!(body["error"]["type"], "unauthorized");
        assert!(body["error"]["message"].is_string());
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    assert_eq!(rig.mock.request_count(), 0);

    // Non-streaming.
    rig.mock.push(Reply::words("Hi over HTTP"));
    let bearer = format!("Bearer {token}");
    let r = post(&addr, url, Some(&bearer), &ask(false)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json()?;
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Hi over HTTP");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    // Streaming: chunks, a finish chunk, then [DONE].
    rig.mock.push(Reply::words("Streamed over HTTP"));
    let r = post(&addr, url, Some(&bearer), &ask(true)).await?;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/event-stream"));
    let body = dechunk(&r.body);
    let datas: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(datas.last(), Some(&"[DONE]"), "{body}");
    let mut text = String::new();
    let mut finish = None;
    for d in &datas[..datas.len() - 1] {
        let v: Value = serde_json::from_str(d)?;
        assert_eq!(v["object"], "chat.completion.chunk");
        if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_owned());
        }
    }
    assert_eq!(text, "Streamed over HTTP");
    assert_eq!(finish.as_deref(), Some("stop"));

    // The HTTP runs are ordinary sessions: `user` picks agent:main:openai-<user>.
    let mut c = rig.connect(&rig.admin()).await?;
    let history = payload(
        c.call(
            "chat.history",
            json!({"sessionKey": "agent:main:openai-e2e"}),
        )
        .await?,
    )?;
    let texts = history_texts(&history);
    assert_eq!(
        texts,
        ["Say hi", "Hi over HTTP", "Say hi", "Streamed over HTTP"]
    );
    Ok(())
}

#[tokio::test]
async fn wrong_bearers_count_toward_the_auth_lockout() -> Result<()> {
    let rig = Rig::with(
        json!({"gateway": {"http": {"endpoints": {"chatCompletions": {"enabled": true}}}}}),
    )
    .await?;
    let addr = rig.gw.addr();
    for _ in 0..10 {
        let r = post(
            &addr,
            "/v1/chat/completions",
            Some("Bearer nope"),
            &ask(false),
        )
        .await?;
        assert_eq!(r.status, 401);
    }
    // Locked out now, even with the right token — on HTTP and on the WebSocket alike.
    let bearer = format!("Bearer {}", rig.token());
    let r = post(&addr, "/v1/chat/completions", Some(&bearer), &ask(false)).await?;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert!(rig.connect(&rig.admin()).await.is_err());
    assert_eq!(rig.mock.request_count(), 0);
    Ok(())
}

/// Undoes HTTP/1.1 chunked transfer encoding (the SSE body is chunked).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_owned();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if n == 0 || after.len() < n {
            return out;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}
