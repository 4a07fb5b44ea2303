//! Providers: retries, auth failures, the Anthropic wire API, the offline model, local
//! discovery and `models.list`.

use serde_json::{json, Value};
use tether_protocol::agent::AgentStream;
use tether_protocol::chat::{ChatState, ErrorKind};
use tether_testkit::mock_anthropic;
use tether_testkit::mock_openai::{self, MockToolCall, Reply};

use crate::support::*;

#[tokio::test]
async fn server_errors_are_retried_before_anything_streams() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::status(500, mock_openai::server_error_body()));
    mock.push(Reply::Error {
        status: 429,
        body: json!({"error": {"message": "slow down"}}),
        retry_after: Some("0".into()),
    });
    mock.push(Reply::Hangup);
    mock.push(Reply::Text(vec!["recovered".into()]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.state, ChatState::Final);
    assert_eq!(t.text().unwrap(), "recovered");
    assert_eq!(mock.request_count(), 4);
    assert!(rec.chat("r").iter().all(|c| c.state != ChatState::Error));
}

#[tokio::test]
async fn retries_give_up_with_an_error_event() {
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::status(503, mock_openai::server_error_body()));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.state, ChatState::Error);
    assert_eq!(t.error_kind, Some(ErrorKind::Unknown));
    assert!(t.error_message.unwrap().contains("HTTP 503"));
    assert_eq!(mock.request_count(), 4, "one attempt plus three retries");
    let last = rec.agent("r").into_iter().last().unwrap();
    assert_eq!(last.data["phase"], "error");
    check_seqs(&rec, "r");
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_not_waited_for() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Error {
        status: 429,
        body: json!({"error": {"message": "quota"}}),
        retry_after: Some("3600".into()),
    });
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.error_kind, Some(ErrorKind::RateLimit));
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn auth_failure_is_a_clear_error_without_retry() {
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::status(401, mock_openai::auth_error_body()));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&openai_config(&mock.base_url(), Value::Null), dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.state, ChatState::Error);
    assert_eq!(t.error_kind, Some(ErrorKind::Auth));
    let msg = t.error_message.unwrap();
    assert!(
        msg.contains("mock") && msg.contains("apiKey") && msg.contains("Incorrect API key"),
        "{msg}"
    );
    assert!(!msg.contains("mock-key"), "the key leaked into the error");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn unset_env_key_is_an_auth_error_naming_the_variable() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({
        "models": {"providers": {"p": {"baseUrl": mock.base_url(), "apiKey": "${TETHER_TEST_UNSET_KEY_VAR}",
            "models": [{"id": "m"}]}}},
    }));
    let (e, rec) = engine(&cfg, dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.error_kind, Some(ErrorKind::Auth));
    assert!(t
        .error_message
        .unwrap()
        .contains("TETHER_TEST_UNSET_KEY_VAR"));
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn env_key_is_resolved_at_request_time() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec!["ok".into()]));
    std::env::set_var("TETHER_TEST_PROVIDER_KEY", "from-env-123");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({
        "models": {"providers": {"p": {"baseUrl": mock.base_url(), "apiKey": "${TETHER_TEST_PROVIDER_KEY}",
            "models": [{"id": "m"}]}}},
        "agents": {"defaults": {"model": {"primary": "p/m"}}},
    }));
    let (e, rec) = engine(&cfg, dir.path());
    start(&e, &caller(1), "main", "hi", "r").await;
    assert_eq!(rec.terminal("r").await.state, ChatState::Final);
    assert_eq!(
        mock.requests()[0].authorization.as_deref(),
        Some("Bearer from-env-123")
    );
}

fn anthropic_config(base: &str) -> tether_gateway::config::schema::Config {
    config(json!({
        "models": {"providers": {"claude": {"baseUrl": base, "apiKey": "ak", "api": "anthropic-messages",
            "models": [{"id": "claude-test", "maxTokens": 512}]}}},
        "agents": {"defaults": {"model": {"primary": "claude/claude-test"}}},
    }))
}

#[tokio::test]
async fn anthropic_text_and_tool_use() {
    let mock = mock_anthropic::start().await.unwrap();
    mock.push(Reply::TextThenTools(
        vec!["Let me look.".into()],
        vec![MockToolCall::new("toolu_1", "ls", json!({"path": "."}))],
    ));
    mock.push(Reply::Text(vec![
        "The workspace".into(),
        " is empty.".into(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&anthropic_config(&mock.base_url()), dir.path());
    start(&e, &caller(1), "main", "what files?", "r").await;
    let t = rec.terminal("r").await;
    assert_eq!(t.state, ChatState::Final);
    assert_eq!(t.text().unwrap(), "Let me look.\n\nThe workspace is empty.");
    let deltas: String = rec
        .chat("r")
        .iter()
        .filter_map(|c| c.delta_text.clone())
        .collect();
    assert_eq!(deltas, t.text().unwrap());
    let reqs = mock.requests();
    assert_eq!(reqs[0].path, "/v1/messages");
    assert_eq!(reqs[0].api_key.as_deref(), Some("ak"));
    assert_eq!(reqs[0].body["max_tokens"], 512);
    assert_eq!(reqs[0].body["tools"][1]["name"], "ls");
    assert!(reqs[0].body["tools"][1]["input_schema"].is_object());
    let second = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(second[1]["role"], "assistant");
    assert_eq!(second[1]["content"][1]["type"], "tool_use");
    assert_eq!(second[2]["role"], "user");
    assert_eq!(second[2]["content"][0]["type"], "tool_result");
    assert_eq!(second[2]["content"][0]["tool_use_id"], "toolu_1");
    check_seqs(&rec, "r");
}

#[tokio::test]
async fn anthropic_errors_and_abort() {
    let mock = mock_anthropic::start().await.unwrap();
    mock.push(Reply::status(529, mock_anthropic::overloaded_body()));
    mock.push(Reply::Stall(vec!["partial".into()]));
    mock.push(Reply::status(401, mock_anthropic::auth_error_body()));
    let dir = tempfile::tempdir().unwrap();
    let (e, rec) = engine(&anthropic_config(&mock.base_url()), dir.path());
    let c = caller(1);
    start(&e, &c, "main", "hi", "r1").await;
    rec.wait_stream("r1", AgentStream::Assistant, 1).await;
    e.chat_abort(
        &c,
        tether_protocol::methods::ChatAbortParams {
            session_key: "main".into(),
            run_id: None,
            extra: Default::default(),
        },
    )
    .await
    .unwrap();
    assert_eq!(rec.terminal("r1").await.state, ChatState::Aborted);
    mock.wait_cancelled(1).await;
    start(&e, &c, "main", "hi", "r2").await;
    let t = rec.terminal("r2").await;
    assert_eq!(t.error_kind, Some(ErrorKind::Auth));
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn offline_model_explains_and_demonstrates_a_tool_call() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({}));
    let mut opts = options(dir.path());
    opts.config_path = Some(dir.path().join("gateway.json"));
    // A probe target that refuses connections: nothing local answers.
    opts.local_probes = vec![tether_gateway::agent::provider::discovery::LocalProbe {
        kind: tether_gateway::agent::provider::discovery::LocalKind::Ollama,
        origin: "http://127.0.0.1:9".into(),
    }];
    let rec = std::sync::Arc::new(Recorder::default());
    let e = tether_gateway::agent::Engine::new(&cfg, opts, rec.clone()).unwrap();
    start(&e, &caller(1), "main", "hello?", "o1").await;
    let t = rec.terminal("o1").await;
    let text = t.text().unwrap();
    assert!(text.starts_with("I'm tether/offline"), "{text}");
    assert!(text.contains("models.providers") && text.contains("agents.defaults.model.primary"));
    assert!(text.contains(&dir.path().join("gateway.json").display().to_string()));
    assert!(text.contains("no local Ollama at http://127.0.0.1:9"));
    let model = rec
        .agent("o1")
        .into_iter()
        .find(|a| a.data["phase"] == "model")
        .unwrap();
    assert_eq!(model.data["provider"], "tether");
    assert_eq!(model.data["model"], "offline");
    // Deterministic.
    start(&e, &caller(1), "s2", "hello?", "o2").await;
    assert_eq!(rec.terminal("o2").await.text().unwrap(), text);

    std::fs::write(dir.path().join("workspace/readme.md"), "x").unwrap();
    start(
        &e,
        &caller(1),
        "main",
        "Which files are in my workspace?",
        "o3",
    )
    .await;
    let t = rec.terminal("o3").await;
    let text = t.text().unwrap();
    assert!(text.contains("- readme.md"), "{text}");
    let s = shape(&rec, "o3");
    assert!(s.contains(&"tool:start".to_string()) && s.contains(&"item:end".to_string()));
    check_seqs(&rec, "o3");
    assert_eq!(e.summary().default_model, "tether/offline");
    // It is what runs use, so it is listed: the default, built in, with no server to be local.
    let models = e.models_list(&caller(1)).await.unwrap().models;
    assert_eq!(models.len(), 1);
    assert_eq!(
        (models[0].provider.as_str(), models[0].id.as_str()),
        ("tether", "offline")
    );
    assert_eq!(models[0].is_default, Some(true));
    assert_eq!(models[0].tags, Some(vec!["default".to_owned()]));
    assert_eq!(models[0].local, None);
    assert!(!models[0].name.as_deref().unwrap().contains("no provider"));
}

#[tokio::test]
async fn a_local_server_is_discovered_when_nothing_is_configured() {
    let mock = mock_openai::start().await.unwrap();
    mock.push(Reply::Text(vec!["local model here".into()]));
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.local_probes = vec![
        tether_gateway::agent::provider::discovery::LocalProbe {
            kind: tether_gateway::agent::provider::discovery::LocalKind::Ollama,
            origin: "http://127.0.0.1:9".into(),
        },
        tether_gateway::agent::provider::discovery::LocalProbe {
            kind: tether_gateway::agent::provider::discovery::LocalKind::LlamaCpp,
            origin: format!("http://{}", mock.addr()),
        },
    ];
    let rec = std::sync::Arc::new(Recorder::default());
    let e = tether_gateway::agent::Engine::new(&config(json!({})), opts, rec.clone()).unwrap();
    start(&e, &caller(1), "main", "hi", "d").await;
    assert_eq!(rec.terminal("d").await.text().unwrap(), "local model here");
    assert_eq!(mock.requests()[0].body["model"], "mock-local");
    let s = e.summary();
    assert_eq!(s.default_model, "llamacpp/mock-local");
    assert_eq!(s.model_source, "llama.cpp");
    assert!(s.discovery.contains("found a local llama.cpp server"));
    let models = e.models_list(&caller(1)).await.unwrap();
    let ids: Vec<String> = models
        .models
        .iter()
        .map(|m| format!("{}/{}", m.provider, m.id))
        .collect();
    // The offline model is not what runs use here, so it is not offered.
    assert_eq!(ids, ["llamacpp/mock-local"]);
    assert_eq!(models.models[0].is_default, Some(true));
    assert_eq!(models.models[0].local, Some(true));
    assert_eq!(models.models[0].tags, Some(vec!["default".to_owned()]));
}

#[tokio::test]
async fn models_list_marks_reachability_honestly() {
    let mock = mock_openai::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({
        "models": {"providers": {
            "up": {"baseUrl": mock.base_url(), "apiKey": "k", "models": [{"id": "m1", "name": "M1", "contextWindow": 8000}]},
            "down": {"baseUrl": "http://127.0.0.1:9/v1", "models": [{"id": "m2"}]},
            "nokey": {"baseUrl": mock.base_url(), "apiKey": "${TETHER_TEST_NO_SUCH_KEY}", "models": [{"id": "m3"}]}
        }},
        "agents": {"defaults": {"model": {"primary": "up/m1"}}},
    }));
    let (e, _rec) = engine(&cfg, dir.path());
    let l = e.models_list(&caller(1)).await.unwrap();
    let by = |p: &str| l.models.iter().find(|m| m.provider == p).unwrap();
    assert_eq!(by("up").status.as_deref(), Some("ok"));
    assert_eq!(by("up").is_default, Some(true));
    assert_eq!(by("up").context_window, Some(8000));
    assert_eq!(by("down").status.as_deref(), Some("unreachable"));
    assert_eq!(by("down").available, Some(false));
    assert_eq!(by("nokey").status.as_deref(), Some("unconfigured"));
    assert!(by("nokey")
        .reason
        .as_deref()
        .unwrap()
        .contains("TETHER_TEST_NO_SUCH_KEY"));
    // Beside configured providers the offline model is no choice: not listed.
    assert!(
        l.models.iter().all(|m| m.provider != "tether"),
        "{:?}",
        l.models
    );
    assert_eq!(by("up").tags, Some(vec!["default".to_owned()]));
    assert_eq!(by("down").tags, None);
    assert_eq!(by("up").local, Some(true), "the mock listens on 127.0.0.1");
    assert_eq!(by("down").local, Some(true));
    assert_eq!(l.default.as_deref(), Some("up/m1"));
    assert_eq!(
        mock.request_count(),
        0,
        "probes must not consume model requests"
    );
}

#[tokio::test]
async fn a_primary_naming_a_missing_provider_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(json!({"agents": {"defaults": {"model": {"primary": "ghost/model"}}}}));
    let (e, rec) = engine(&cfg, dir.path());
    start(&e, &caller(1), "main", "hi", "g").await;
    let t = rec.terminal("g").await;
    assert_eq!(t.state, ChatState::Error);
    assert!(t.error_message.unwrap().contains("\"ghost\""));
}
