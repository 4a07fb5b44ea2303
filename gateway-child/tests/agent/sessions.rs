//! Sessions: list rows, `sessions.changed`, reset, delete, history limits, key validation,
//! and recovery of a transcript whose run never ended.

use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{SessionKeyParams, SessionsListParams};
use tether_protocol::{ErrorCode, Map};
use tether_testkit::mock_openai::{self, Reply};

use crate::support::*;

fn key_params(key: &str) -> SessionKeyParams {
    SessionKeyParams {
        key: key.into(),
        reason: None,
        delete_transcript: None,
        extra: Map::new(),
    }
}

#[tokio::test]
async fn list_reset_delete_and_change_events() {
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::Text(vec!["reply".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    let empty = e
        .sessions_list(&c, SessionsListParams::default())
        .await
        .unwrap();
    assert_eq!(empty.count, 0);
    assert_eq!(empty.defaults.unwrap()["model"], "mock-1");

    start(&e, &c, "agent:main:main", "First question about cats", "s1").await;
    rec.terminal("s1").await;
    start(&e, &c, "agent:work:notes", "Notes please", "s2").await;
    rec.terminal("s2").await;

    let l = e
        .sessions_list(
            &c,
            SessionsListParams {
                include_last_message: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(l.count, 2);
    assert_eq!(l.sessions[0].key, "agent:work:notes", "newest first");
    let main = l
        .sessions
        .iter()
        .find(|r| r.key == "agent:main:main")
        .unwrap();
    assert_eq!(
        main.derived_title.as_deref(),
        Some("First question about cats")
    );
    assert_eq!(main.last_message_preview.as_deref(), Some("reply"));
    assert_eq!(main.status.as_deref(), Some("done"));
    assert_eq!(main.model.as_deref(), Some("mock-1"));
    assert_eq!(main.model_provider.as_deref(), Some("mock"));
    assert_eq!(main.kind.as_deref(), Some("direct"));
    let only_work = e
        .sessions_list(
            &c,
            SessionsListParams {
                agent_id: Some("work".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only_work.count, 1);
    let search = e
        .sessions_list(
            &c,
            SessionsListParams {
                search: Some("cats".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(search.sessions[0].key, "agent:main:main");

    let changed = rec.named("sessions.changed");
    let phases: Vec<(String, String)> = changed
        .iter()
        .map(|p| {
            (
                p["sessionKey"].as_str().unwrap().to_owned(),
                p["phase"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(phases.contains(&("agent:main:main".into(), "start".into())));
    assert!(phases.contains(&("agent:main:main".into(), "end".into())));
    assert!(rec.all().iter().filter(|r| matches!(&r.event, tether_gateway::methods::bus::OutEvent::Named { event, .. } if *event == "sessions.changed"))
        .all(|r| r.audience == tether_gateway::methods::bus::Audience::SessionSubscribers));

    let old_id = e
        .chat_history(&c, history("main", None, None))
        .await
        .unwrap()
        .session_id
        .unwrap();
    let r = e.sessions_reset(&c, key_params("main")).await.unwrap();
    assert_ne!(r.session_id, old_id);
    let h = e
        .chat_history(&c, history("main", None, None))
        .await
        .unwrap();
    assert!(h.messages.is_empty());
    let archive = dir.path().join("agents/main/sessions/archive");
    assert_eq!(std::fs::read_dir(&archive).unwrap().count(), 1);
    assert_eq!(
        rec.named("sessions.changed").last().unwrap()["reason"],
        "reset"
    );
    // The reset session works again.
    start(&e, &c, "main", "after reset", "s3").await;
    assert_eq!(rec.terminal("s3").await.state, ChatState::Final);
    assert_eq!(
        e.chat_history(&c, history("main", None, None))
            .await
            .unwrap()
            .messages
            .len(),
        2
    );

    let d = e
        .sessions_delete(&c, key_params("agent:work:notes"))
        .await
        .unwrap();
    assert!(d.deleted);
    assert!(!dir.path().join("agents/work/sessions/notes.jsonl").exists());
    let l = e
        .sessions_list(&c, SessionsListParams::default())
        .await
        .unwrap();
    assert_eq!(l.count, 1);
    assert!(
        !e.sessions_delete(&c, key_params("agent:work:notes"))
            .await
            .unwrap()
            .deleted
    );
}

#[tokio::test]
async fn reset_aborts_a_running_run() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Stall(vec!["working".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    start(&e, &c, "main", "long", "x").await;
    rec.wait_stream("x", tether_protocol::agent::AgentStream::Assistant, 1)
        .await;
    e.sessions_reset(&c, key_params("main")).await.unwrap();
    let t = rec.terminal("x").await;
    assert_eq!(t.stop_reason.as_deref(), Some("reset"));
    assert!(e
        .chat_history(&c, history("main", None, None))
        .await
        .unwrap()
        .messages
        .is_empty());
}

#[tokio::test]
async fn history_limits_and_validation() {
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::Text(vec!["x".repeat(3000)]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    for i in 0..3 {
        start(&e, &c, "main", &format!("q{i}"), &format!("h{i}")).await;
        rec.terminal(&format!("h{i}")).await;
    }
    let h = e
        .chat_history(&c, history("main", Some(2), None))
        .await
        .unwrap();
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.has_more, Some(true));
    assert_eq!(h.total_messages, Some(6));
    assert_eq!(h.messages[0].text(), "q2");
    let h = e
        .chat_history(&c, history("main", None, Some(100)))
        .await
        .unwrap();
    assert!(h.messages[1].text().starts_with(&"x".repeat(100)));
    assert!(h.messages[1].text().ends_with("[truncated]"));
    for (limit, max) in [
        (Some(0), None),
        (Some(1001), None),
        (None, Some(0)),
        (None, Some(500_001)),
    ] {
        let err = e
            .chat_history(&c, history("main", limit, max))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }
    for bad in ["../etc", "agent:..:x", "a/b", "a\u{0}b", ""] {
        let err = e
            .chat_history(&c, history(bad, None, None))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest, "{bad:?}");
        let err = e.chat_send(&c, send(bad, "hi", "k")).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }
    let unknown = e
        .chat_history(&c, history("agent:main:never", None, None))
        .await
        .unwrap();
    assert!(unknown.messages.is_empty());
    assert!(!dir.path().join("agents/main/sessions/never.jsonl").exists());
    let err = e
        .chat_send(&c, send("main", "   ", "k2"))
        .await
        .unwrap_err();
    assert_eq!(err.message, "message or attachment required");
}

#[tokio::test]
async fn a_run_without_an_end_is_recovered_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let lines = [
        json!({"type": "session", "key": "agent:main:main", "sessionId": "s-1", "createdAt": 1, "version": 1}),
        json!({"type": "user", "runId": "r1", "ts": 2, "text": "list files"}),
        json!({"type": "run_start", "runId": "r1", "ts": 3, "provider": "mock", "model": "mock-1"}),
        json!({"type": "delta", "runId": "r1", "text": "Checking"}),
        json!({"type": "tool_call", "runId": "r1", "ts": 4, "id": "c1", "name": "ls", "args": {}}),
    ];
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{\"type\":\"delta\",\"runId\":\"r1\",\"te");
    std::fs::write(sessions.join("main.jsonl"), text).unwrap();

    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec!["fresh".into()]));
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    let h = e
        .chat_history(&c, history("main", None, None))
        .await
        .unwrap();
    let roles: Vec<&str> = h.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "toolResult"]);
    assert_eq!(h.messages[1].text(), "Checking");
    assert_eq!(h.messages[1].extra["interrupted"], true);
    assert_eq!(h.messages[2].extra["isError"], true);
    let raw = std::fs::read_to_string(sessions.join("main.jsonl")).unwrap();
    for line in raw.lines() {
        serde_json::from_str::<Value>(line).expect("every line parses after repair");
    }
    assert!(raw.ends_with('\n'));
    // The session continues normally; the model sees a consistent conversation.
    start(&e, &c, "main", "again", "r2").await;
    assert_eq!(rec.terminal("r2").await.state, ChatState::Final);
    let msgs = mock.requests()[0].body["messages"]
        .as_array()
        .unwrap()
        .clone();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "user"]);
    let l = e
        .sessions_list(&c, SessionsListParams::default())
        .await
        .unwrap();
    assert_eq!(l.sessions[0].status.as_deref(), Some("done"));
}
