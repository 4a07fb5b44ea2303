//! Chat runs: ack ordering, v4 event order and seq, idempotency, queueing, abort, timeouts.

use std::sync::Arc;

use serde_json::Value;
use tether_protocol::agent::AgentStream;
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{AgentParams, AgentWaitParams, ChatAbortParams, RunStatus};
use tether_protocol::Map;
use tether_testkit::mock_openai::{self, Reply};
use tokio::sync::Semaphore;

use crate::support::*;

#[tokio::test]
async fn text_turn_has_upstream_order_and_contiguous_seq() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec![
        "Hello".into(),
        " from".into(),
        " the mock.".into(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);

    let ack = e
        .chat_send(&c, send("agent:main:main", "Please just say hello.", "r1"))
        .await
        .unwrap();
    assert_eq!(ack.value.run_id, "r1");
    assert_eq!(ack.value.status, RunStatus::Started);
    // Nothing is emitted for the run while the ack is held.
    tokio::task::yield_now().await;
    assert!(rec.agent("r1").is_empty() && rec.chat("r1").is_empty());
    drop(ack);

    let fin = rec.terminal("r1").await;
    assert_eq!(fin.state, ChatState::Final);
    assert_eq!(fin.stop_reason.as_deref(), Some("stop"));
    assert_eq!(fin.text().unwrap(), "Hello from the mock.");
    check_seqs(&rec, "r1");

    assert_eq!(
        shape(&rec, "r1"),
        [
            "run_status:preparing_workspace",
            "run_status:preparing_context",
            "lifecycle:start",
            "run_status:starting_model",
            "lifecycle:model",
            "assistant",
            "assistant",
            "assistant",
            "usage",
            "lifecycle:end",
        ]
    );
    let chats = rec.chat("r1");
    let states: Vec<String> = chats.iter().map(|c| c.state.to_string()).collect();
    assert_eq!(
        states,
        ["status", "status", "status", "delta", "delta", "delta", "final"]
    );
    let deltas: String = chats.iter().filter_map(|c| c.delta_text.clone()).collect();
    assert_eq!(deltas, "Hello from the mock.");
    assert_eq!(chats[4].text().unwrap(), "Hello from");
    // Only chat deltas may be dropped for a slow consumer (they repair themselves).
    for r in rec.all() {
        let delta = matches!(&r.event, tether_gateway::methods::bus::OutEvent::Chat(c) if c.state == ChatState::Delta);
        assert_eq!(
            r.droppable,
            delta
                || matches!(
                    &r.event,
                    tether_gateway::methods::bus::OutEvent::Named { .. }
                )
        );
    }
    // Exactly one terminal event.
    assert_eq!(chats.iter().filter(|c| c.state.is_terminal()).count(), 1);

    // The provider got the conversation and the tools.
    let req = &mock.requests()[0];
    assert_eq!(req.authorization.as_deref(), Some("Bearer mock-key"));
    assert_eq!(req.body["stream"], true);
    assert_eq!(req.body["model"], "mock-1");
    let tools: Vec<&str> = req.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["read", "ls", "write", "edit", "exec"]);
    assert_eq!(
        req.body["messages"].as_array().unwrap().last().unwrap()["content"],
        "Please just say hello."
    );

    let h = full_history(&e, &c, "main").await;
    assert_eq!(h.session_key, "agent:main:main");
    assert_eq!(h.messages.len(), 2);
    assert_eq!(h.messages[0].role, "user");
    assert_eq!(h.messages[1].text(), "Hello from the mock.");
}

#[tokio::test]
async fn idempotent_repeats_report_in_flight_then_ok() {
    let mock = mock_openai::start().await.unwrap();
    let gate = Arc::new(Semaphore::new(0));
    mock.push(Reply::Paced(vec!["a".into(), "b".into()], gate.clone()));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    assert_eq!(start(&e, &c, "main", "hi", "k1").await, "started");
    assert_eq!(start(&e, &c, "main", "hi", "k1").await, "in_flight");
    gate.add_permits(2);
    rec.terminal("k1").await;
    assert_eq!(start(&e, &c, "main", "hi again", "k1").await, "ok");
    assert_eq!(mock.request_count(), 1);
    let w = e
        .agent_wait(
            &c,
            AgentWaitParams {
                run_id: "k1".into(),
                timeout_ms: Some(1000),
                extra: Map::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(w.status, RunStatus::Ok);
    assert!(w.started_at.is_some() && w.ended_at.is_some());
    let missing = e
        .agent_wait(
            &c,
            AgentWaitParams {
                run_id: "nope".into(),
                timeout_ms: Some(10),
                extra: Map::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        missing.code,
        tether_protocol::ErrorCode::AgentResultNotFound
    );
}

#[tokio::test]
async fn one_run_per_session_queues_fifo() {
    let mock = mock_openai::start().await.unwrap();
    let gate = Arc::new(Semaphore::new(0));
    mock.push(Reply::Paced(vec!["first".into()], gate.clone()));
    mock.push(Reply::Text(vec!["third".into()]));
    mock.push(Reply::Text(vec!["second".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    start(&e, &c, "main", "one", "q1").await;
    rec.wait_stream("q1", AgentStream::Lifecycle, 2).await;
    assert_eq!(start(&e, &c, "main", "two", "q2").await, "started");
    // Another session is not blocked by the queue.
    start(&e, &c, "other", "three", "q3").await;
    rec.terminal("q3").await;
    assert!(
        rec.agent("q2").is_empty(),
        "queued run emitted before its turn"
    );
    gate.add_permits(1);
    rec.terminal("q2").await;
    let all = rec.all();
    let pos = |run: &str, terminal: bool| {
        all.iter()
            .position(|r| match &r.event {
                tether_gateway::methods::bus::OutEvent::Chat(c) => {
                    c.run_id == run && (!terminal || c.state.is_terminal())
                }
                tether_gateway::methods::bus::OutEvent::Agent(a) => !terminal && a.run_id == run,
                _ => false,
            })
            .unwrap()
    };
    assert!(pos("q1", true) < pos("q2", false));
    assert_eq!(rec.chat("q2").last().unwrap().text().unwrap(), "second");
    check_seqs(&rec, "q2");
}

#[tokio::test]
async fn queue_is_bounded() {
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::Stall(vec!["x".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    start(&e, &c, "main", "m", "b0").await;
    rec.wait_stream("b0", AgentStream::Assistant, 1).await;
    for i in 1..=tether_gateway::agent::MAX_QUEUED_PER_SESSION {
        assert_eq!(
            start(&e, &c, "main", "m", &format!("b{i}")).await,
            "started"
        );
    }
    let err = e
        .chat_send(&c, send("main", "m", "overflow"))
        .await
        .unwrap_err();
    assert_eq!(err.code, tether_protocol::ErrorCode::Unavailable);
    assert!(err.message.contains("busy"));
    let r = e
        .chat_abort(
            &c,
            ChatAbortParams {
                session_key: "main".into(),
                run_id: None,
                extra: Map::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        r.run_ids.len(),
        1 + tether_gateway::agent::MAX_QUEUED_PER_SESSION
    );
    for i in 0..=tether_gateway::agent::MAX_QUEUED_PER_SESSION {
        assert_eq!(
            rec.terminal(&format!("b{i}")).await.state,
            ChatState::Aborted
        );
    }
}

#[tokio::test]
async fn abort_mid_stream_cancels_the_provider_stream() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Stall(vec!["Partial".into(), " answer".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    start(&e, &c, "main", "go", "a1").await;
    rec.wait_stream("a1", AgentStream::Assistant, 2).await;
    // Someone else's connection may not abort it.
    let mut stranger = caller(2);
    stranger.client = "other".into();
    stranger.scopes = vec![tether_protocol::Scope::Write];
    let denied = e
        .chat_abort(
            &stranger,
            ChatAbortParams {
                session_key: "main".into(),
                run_id: Some("a1".into()),
                extra: Map::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(denied.message, "unauthorized");
    let mismatch = e
        .chat_abort(
            &c,
            ChatAbortParams {
                session_key: "other".into(),
                run_id: Some("a1".into()),
                extra: Map::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(mismatch.message, "runId does not match sessionKey");

    let r = e
        .chat_abort(
            &c,
            ChatAbortParams {
                session_key: "agent:main:main".into(),
                run_id: Some("a1".into()),
                extra: Map::new(),
            },
        )
        .await
        .unwrap();
    assert!(r.ok && r.aborted);
    assert_eq!(r.run_ids, ["a1"]);
    let t = rec.terminal("a1").await;
    assert_eq!(t.state, ChatState::Aborted);
    assert_eq!(t.stop_reason.as_deref(), Some("rpc"));
    assert_eq!(t.text().unwrap(), "Partial answer");
    mock.wait_cancelled(1).await;
    let end = rec.agent("a1").into_iter().last().unwrap();
    assert_eq!(end.data["phase"], "end");
    assert_eq!(end.data["aborted"], true);
    check_seqs(&rec, "a1");
    // The partial answer is in the transcript, marked.
    let h = full_history(&e, &c, "main").await;
    assert_eq!(h.messages[1].text(), "Partial answer");
    assert_eq!(h.messages[1].extra["stopReason"], "rpc");
    // Nothing left to abort.
    let again = e
        .chat_abort(
            &c,
            ChatAbortParams {
                session_key: "main".into(),
                run_id: None,
                extra: Map::new(),
            },
        )
        .await
        .unwrap();
    assert!(!again.aborted);
}

#[tokio::test]
async fn run_timeout_aborts_with_reason_timeout() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Stall(vec!["slow".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let mut p = send("main", "go", "t1");
    p.timeout_ms = Some(200);
    drop(e.chat_send(&caller(1), p).await.unwrap());
    let t = rec.terminal("t1").await;
    assert_eq!(t.state, ChatState::Aborted);
    assert_eq!(t.stop_reason.as_deref(), Some("timeout"));
    mock.wait_cancelled(1).await;

    // agents.defaults.timeoutSeconds applies when the call gives none.
    let mut cfg = openai_config(&mock.base_url(), Value::Null);
    cfg.agents.defaults.timeout_seconds = Some(1);
    e.apply_settings(&cfg);
    mock.push(Reply::Stall(vec!["slow".into()]));
    start(&e, &caller(1), "main", "go", "t2").await;
    assert_eq!(
        rec.terminal("t2").await.stop_reason.as_deref(),
        Some("timeout")
    );
}

#[tokio::test]
async fn agent_method_returns_accepted_then_final() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec!["Hello".into(), " agent".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let c = caller(1);
    let params: AgentParams = serde_json::from_value(serde_json::json!({
        "message": "Please just say hello again.", "sessionKey": "agent:main:main",
        "deliver": false, "timeout": 600, "idempotencyKey": "ag1"
    }))
    .unwrap();
    let (ack, done) = e.agent(&c, params.clone()).await.unwrap();
    assert_eq!(ack.value.status, RunStatus::Accepted);
    assert_eq!(ack.value.run_id, "ag1");
    assert!(ack.value.accepted_at.is_some());
    assert_eq!(ack.value.extra["sessionKey"], "agent:main:main");
    drop(ack);
    let fin = done.await.unwrap();
    assert_eq!(fin.status, RunStatus::Ok);
    assert_eq!(fin.summary.as_deref(), Some("completed"));
    let result = fin.result.unwrap();
    assert_eq!(result["payloads"][0]["text"], "Hello agent");
    assert_eq!(result["meta"]["agentMeta"]["provider"], "mock");
    // Agent runs have no v4 status phases (as upstream).
    assert!(rec.chat("ag1").iter().all(|c| c.state != ChatState::Status));
    assert_eq!(shape(&rec, "ag1")[0], "lifecycle:start");
    check_seqs(&rec, "ag1");
    // A repeat returns the cached outcome and a done future that resolves at once.
    let (ack2, done2) = e.agent(&c, params).await.unwrap();
    assert_eq!(ack2.value.status, RunStatus::Ok);
    assert_eq!(done2.await.unwrap().status, RunStatus::Ok);
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn agent_method_failure_is_an_error_response() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::status(401, mock_openai::auth_error_body()));
    let dir = tempfile::tempdir().unwrap();
    let (e, _rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    let params: AgentParams =
        serde_json::from_value(serde_json::json!({"message": "hi", "idempotencyKey": "ag2"}))
            .unwrap();
    let (ack, done) = e.agent(&caller(1), params).await.unwrap();
    drop(ack);
    let err = done.await.unwrap_err();
    assert!(err.message.contains("credentials"), "{err:?}");
    assert_eq!(err.details.unwrap()["errorKind"], "auth");
}

#[tokio::test]
async fn drain_aborts_what_is_left_at_the_deadline() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Stall(vec!["working".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "long job", "d1").await;
    rec.wait_stream("d1", AgentStream::Assistant, 1).await;
    let report = e
        .drain(tokio::time::Instant::now() + std::time::Duration::from_millis(50))
        .await;
    assert_eq!(report.aborted, 1);
    let t = rec.terminal("d1").await;
    assert_eq!(t.stop_reason.as_deref(), Some("shutdown"));
    let err = e
        .chat_send(&caller(1), send("main", "more", "d2"))
        .await
        .unwrap_err();
    assert_eq!(err.code, tether_protocol::ErrorCode::Unavailable);
    assert!(e.summary().draining);
    // The transcript ends with the aborted run's terminal record.
    let file = std::fs::read_to_string(dir.path().join("agents/main/sessions/main.jsonl")).unwrap();
    let last: Value = serde_json::from_str(file.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "run_end");
    assert_eq!(last["stopReason"], "shutdown");
}

#[tokio::test]
async fn drain_waits_for_runs_that_finish_in_time() {
    let mock = mock_openai::start().await.unwrap();
    let gate = Arc::new(Semaphore::new(0));
    mock.push(Reply::Paced(vec!["done".into()], gate.clone()));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "job", "d3").await;
    rec.wait_stream("d3", AgentStream::Lifecycle, 2).await;
    let e2 = e.clone();
    let drain = tokio::spawn(async move {
        e2.drain(tokio::time::Instant::now() + super::support::DEADLINE)
            .await
    });
    gate.add_permits(1);
    let report = drain.await.unwrap();
    assert_eq!((report.completed, report.aborted), (1, 0));
    assert_eq!(rec.terminal("d3").await.state, ChatState::Final);
}

#[tokio::test]
async fn hot_reload_applies_to_new_runs_only() {
    let a = mock_openai::start().await.unwrap();
    let b = mock_openai::start().await.unwrap();
    let gate = Arc::new(Semaphore::new(0));
    a.push(Reply::Paced(vec!["from A".into()], gate.clone()));
    b.push(Reply::Text(vec!["from B".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&a.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "s1", "x", "h1").await;
    rec.wait_stream("h1", AgentStream::Lifecycle, 2).await;
    e.apply_settings(&openai_config(&b.base_url(), Value::Null));
    start(&e, &caller(1), "s2", "y", "h2").await;
    assert_eq!(rec.terminal("h2").await.text().unwrap(), "from B");
    gate.add_permits(1);
    assert_eq!(rec.terminal("h1").await.text().unwrap(), "from A");
    assert_eq!((a.request_count(), b.request_count()), (1, 1));
}

#[tokio::test]
async fn agent_method_runs_the_model_it_names() {
    // Two providers: the default points at a mock that is never asked; the run names the other.
    let unused = mock_openai::start().await.unwrap();
    let named = mock_openai::start().await.unwrap();
    named.push(Reply::Text(vec!["ok".into()]));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(serde_json::json!({
        "models": {"providers": {
            "main": {"baseUrl": unused.base_url(), "apiKey": "k", "models": [{"id": "m1"}]},
            "probe": {"baseUrl": named.base_url(), "apiKey": "k", "models": [{"id": "p1"}]}
        }},
        "agents": {"defaults": {"model": {"primary": "main/m1"}}}
    }));
    let (e, _rec) = engine(&cfg, dir.path());
    let run = |id: &str, extra: Value| {
        let mut v = serde_json::json!({"message": "say ok", "idempotencyKey": id,
            "sessionKey": "agent:main:probe"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<AgentParams>(v).unwrap()
    };
    let (ack, done) = e
        .agent(
            &caller(1),
            run(
                "m1",
                serde_json::json!({"provider": "probe", "model": "p1"}),
            ),
        )
        .await
        .unwrap();
    drop(ack);
    let fin = done.await.unwrap();
    assert_eq!(
        fin.result.unwrap()["meta"]["agentMeta"]["provider"],
        "probe"
    );
    assert_eq!((named.request_count(), unused.request_count()), (1, 0));
    // `<provider>/<model>` in `model` alone works too; an unknown provider is refused up front.
    named.push(Reply::Text(vec!["ok".into()]));
    let (ack, done) = e
        .agent(
            &caller(1),
            run("m2", serde_json::json!({"model": "probe/p1"})),
        )
        .await
        .unwrap();
    drop(ack);
    done.await.unwrap();
    assert_eq!(named.request_count(), 2);
    let err = e
        .agent(
            &caller(1),
            run("m3", serde_json::json!({"model": "nope/x"})),
        )
        .await
        .err()
        .unwrap();
    assert!(err.message.contains("\"nope\""), "{err:?}");
    let err = e
        .agent(&caller(1), run("m4", serde_json::json!({"model": "p1"})))
        .await
        .err()
        .unwrap();
    assert!(err.message.contains("needs a provider"), "{err:?}");
    assert_eq!(unused.request_count(), 0);
}
