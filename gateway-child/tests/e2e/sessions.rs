//! Sessions through the real binary: `sessions.list`, `chat.history`, `sessions.reset` and
//! `sessions.delete`, and `sessions.changed` only to connections that subscribed.

use anyhow::Result;
use serde_json::{json, Value};
use tether_testkit::mock_openai::Reply;
use tether_testkit::ws::WsClient;

use crate::support::*;

const MAIN: &str = "agent:main:main";

async fn changed(c: &mut WsClient, pred: impl Fn(&Value) -> bool) -> Result<Value> {
    let evs = events_until(c, |e| {
        e.event == "sessions.changed" && e.payload.as_ref().is_some_and(&pred)
    })
    .await?;
    Ok(evs
        .last()
        .and_then(|e| e.payload.clone())
        .unwrap_or(Value::Null))
}

#[tokio::test]
async fn list_history_reset_and_delete_with_sessions_changed_to_subscribers() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("first answer"));
    rig.mock.push(Reply::words("second answer"));
    let mut admin = rig.connect(&rig.admin()).await?;
    let sub = payload(admin.call("sessions.subscribe", json!({})).await?)?;
    assert_eq!(sub["subscribed"], true);
    let mut quiet = rig.connect(&rig.operator()).await?;

    chat_send(&mut quiet, MAIN, "first question", "s1").await?;
    let end = changed(&mut admin, |p| p["runId"] == "s1" && p["phase"] == "end").await?;
    assert_eq!(end["sessionKey"], MAIN);
    assert_eq!(end["status"], "done");
    let mut heard: Vec<String> = until_terminal(&mut quiet, "s1")
        .await?
        .into_iter()
        .map(|e| e.event)
        .collect();

    let list = payload(admin.call("sessions.list", json!({})).await?)?;
    assert_eq!(list["count"], 1);
    let row = &list["sessions"][0];
    assert_eq!(row["key"], MAIN);
    assert_eq!(row["status"], "done");
    assert_eq!(row["model"], "mock-1");
    assert_eq!(row["modelProvider"], "mock");
    let first_id = row["sessionId"].as_str().unwrap().to_owned();

    let history = payload(
        admin
            .call("chat.history", json!({"sessionKey": MAIN, "limit": 10}))
            .await?,
    )?;
    let msgs = history["messages"].as_array().unwrap();
    let turns: Vec<(String, String)> = msgs
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), message_text(m)))
        .collect();
    assert_eq!(
        turns,
        [
            ("user".to_owned(), "first question".to_owned()),
            ("assistant".to_owned(), "first answer".to_owned())
        ]
    );
    let limited = payload(
        admin
            .call("chat.history", json!({"sessionKey": MAIN, "limit": 1}))
            .await?,
    )?;
    assert_eq!(limited["messages"].as_array().unwrap().len(), 1);
    assert_eq!(limited["hasMore"], true);
    // Upstream's wording for a missing sessionKey.
    let res = admin.call("chat.history", json!({})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert!(res
        .error
        .unwrap()
        .message
        .starts_with("invalid chat.history params"));

    // Reset: admin only; a new session id, an empty history, and an event.
    let res = quiet.call("sessions.reset", json!({"key": MAIN})).await?;
    assert_eq!(code(&res), "FORBIDDEN");
    let reset = payload(admin.call("sessions.reset", json!({"key": MAIN})).await?)?;
    assert_eq!(reset["ok"], true);
    assert_ne!(reset["sessionId"], first_id.as_str());
    changed(&mut admin, |p| p["reason"] == "reset").await?;
    let history = payload(
        admin
            .call("chat.history", json!({"sessionKey": MAIN}))
            .await?,
    )?;
    assert_eq!(history["messages"], json!([]));

    // Delete after another turn.
    chat_send(&mut quiet, MAIN, "second question", "s2").await?;
    heard.extend(
        until_terminal(&mut quiet, "s2")
            .await?
            .into_iter()
            .map(|e| e.event),
    );
    let deleted = payload(admin.call("sessions.delete", json!({"key": MAIN})).await?)?;
    assert_eq!(deleted["deleted"], true);
    changed(&mut admin, |p| p["reason"] == "deleted").await?;
    let list = payload(admin.call("sessions.list", json!({})).await?)?;
    assert_eq!(list["count"], 0);

    // The connection that never subscribed heard none of it.
    heard.extend(quiet_events(&mut quiet).await?);
    assert!(heard.iter().any(|e| e == "chat"));
    assert!(heard.iter().all(|e| e != "sessions.changed"), "{heard:?}");
    Ok(())
}

/// Names of the events a connection received so far (after a round trip that flushes them).
async fn quiet_events(c: &mut WsClient) -> Result<Vec<String>> {
    c.call("health", json!({})).await?;
    Ok(c.stashed()
        .filter_map(|f| match f {
            tether_protocol::Frame::Event(e) => Some(e.event.clone()),
            _ => None,
        })
        .collect())
}

/// What upstream's Control UI calls before its chat is usable, through the real binary:
/// `hello-ok` advertises the methods it gates on and the model-catalog capability;
/// `chat.startup` carries the history, the session's row and the defaults; the agent has an
/// identity; `sessions.describe` finds the session; following a session answers with its
/// canonical key. Methods upstream defines for features Tether lacks are `UNSUPPORTED`, and a
/// name nobody defines is `unknown method` for a reader too.
#[tokio::test]
async fn upstream_control_ui_startup_calls_are_answered() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Startup reply MARK-1a2b."));
    let (mut c, hello) =
        tether_testkit::ws::WsClient::connect(&rig.gw.ws_url(), &rig.admin()).await?;
    for m in [
        "chat.startup",
        "chat.history",
        "chat.send",
        "agent.identity.get",
    ] {
        assert!(hello.features.has_method(m), "{m} is not advertised");
    }
    assert!(!hello.features.has_method("cron.add"));
    assert!(hello.features.has_capability("published-model-catalog"));

    // Before any turn: no history, a row made from the defaults.
    let empty = payload(
        c.call("chat.startup", json!({"sessionKey": MAIN, "limit": 80}))
            .await?,
    )?;
    assert_eq!(empty["messages"], json!([]));
    assert_eq!(empty["sessionInfo"]["key"], MAIN);
    assert_eq!(empty["sessionInfo"]["hasActiveRun"], false);
    assert!(empty["defaults"]["model"].is_string(), "{empty}");

    // A second dashboard follows the session before the turn.
    let mut watcher = rig.connect(&rig.operator()).await?;
    let sub = payload(
        watcher
            .call("sessions.messages.subscribe", json!({"key": MAIN}))
            .await?,
    )?;
    assert_eq!(sub, json!({"subscribed": true, "key": MAIN}));

    chat_send(&mut c, MAIN, "Hello from the dashboard.", "ui1").await?;
    until_terminal(&mut c, "ui1").await?;
    // It hears the user's message, then the assistant's, each with its place in the
    // transcript.
    let heard = events_until(&mut watcher, |e| {
        e.event == "session.message"
            && e.payload
                .as_ref()
                .is_some_and(|p| p["message"]["role"] == "assistant")
    })
    .await?;
    let messages: Vec<Value> = heard
        .iter()
        .filter(|e| e.event == "session.message")
        .filter_map(|e| e.payload.clone())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["message"]["role"], "user");
    assert_eq!(messages[0]["messageSeq"], 1);
    assert_eq!(messages[0]["hasActiveRun"], true);
    assert_eq!(messages[1]["messageSeq"], 2);
    assert_eq!(messages[1]["hasActiveRun"], false);
    assert_eq!(messages[1]["sessionKey"], MAIN);
    assert_eq!(
        message_text(&messages[1]["message"]),
        "Startup reply MARK-1a2b."
    );
    let startup = payload(
        c.call("chat.startup", json!({"sessionKey": MAIN, "limit": 80}))
            .await?,
    )?;
    assert_eq!(
        history_texts(&startup),
        ["Hello from the dashboard.", "Startup reply MARK-1a2b."]
    );
    assert_eq!(startup["sessionInfo"]["key"], MAIN);
    assert!(startup["sessionInfo"]["sessionId"].is_string(), "{startup}");
    assert_eq!(startup["pendingInputs"]["total"], 0);
    assert!(startup["metadata"]["models"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    let short = payload(
        c.call("chat.startup", json!({"shortId": "x1", "agentId": "main"}))
            .await?,
    )?;
    assert_eq!(short["resolution"]["ok"], false);

    let id = payload(c.call("agent.identity.get", json!({})).await?)?;
    assert_eq!(id["agentId"], "main");
    assert!(id["name"].is_string());
    let res = c
        .call("agent.identity.get", json!({"agentId": "ops"}))
        .await?;
    assert_eq!(code(&res), "INVALID_REQUEST");

    let described = payload(c.call("sessions.describe", json!({"key": MAIN})).await?)?;
    assert_eq!(described["session"]["key"], MAIN);
    // The turn's tokens as the provider reported them (the mock: 10 in, a few out), which
    // upstream's TUI shows in its footer.
    let row = &described["session"];
    assert_eq!(row["inputTokens"], 10, "{row}");
    let out = row["outputTokens"].as_u64().expect("output tokens");
    assert!(out > 0, "{row}");
    assert_eq!(row["totalTokens"], 10 + out);
    let none = payload(
        c.call("sessions.describe", json!({"key": "agent:main:nobody"}))
            .await?,
    )?;
    assert_eq!(none["session"], Value::Null);
    let unsub = payload(
        watcher
            .call("sessions.messages.unsubscribe", json!({"key": MAIN}))
            .await?,
    )?;
    assert_eq!(unsub, json!({"subscribed": false, "key": MAIN}));

    // A feature Tether does not have: truthful, not retryable, and named.
    let res = c.call("cron.add", json!({"name": "nightly"})).await?;
    assert_eq!(code(&res), "UNAVAILABLE");
    let err = res.error.expect("an error");
    assert_eq!(err.details.as_ref().unwrap()["code"], "UNSUPPORTED");
    assert_eq!(err.retryable, None);
    assert!(err.message.contains("cron"), "{}", err.message);
    let jobs = payload(c.call("cron.list", json!({})).await?)?;
    assert_eq!(jobs["jobs"], json!([]));
    assert_eq!(jobs["total"], 0);

    // An unknown name is unknown for a reader as for an admin.
    let mut reader = rig
        .connect(&opts(rig.token(), &["operator.read"], &[]))
        .await?;
    let res = reader.call("no.such.method", json!({})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert_eq!(res.error.unwrap().message, "unknown method: no.such.method");
    Ok(())
}

/// `sessions.create` (what upstream's Control UI's "New conversation" calls): a new session is
/// listed before its first message; with a message its first turn runs as `chat.send`'s would;
/// an existing key is adopted; options Tether's sessions cannot honour are refused up front
/// and create nothing.
#[tokio::test]
async fn sessions_create_makes_a_listed_session_and_can_start_its_first_turn() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("First turn reply MARK-c1."));
    let (mut c, hello) = WsClient::connect(&rig.gw.ws_url(), &rig.operator()).await?;
    assert!(hello.features.has_method("sessions.create"));
    payload(c.call("sessions.subscribe", json!({})).await?)?;

    let empty = payload(
        c.call("sessions.create", json!({"agentId": "main"}))
            .await?,
    )?;
    let key = empty["key"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with("agent:main:dashboard:"), "{empty}");
    assert_eq!(empty["ok"], true);
    assert_eq!(empty["runStarted"], false);
    assert_eq!(empty["entry"]["key"], key.as_str());
    assert_eq!(empty["entry"]["sessionId"], empty["sessionId"]);
    let announced = changed(&mut c, |p| p["sessionKey"] == key.as_str()).await?;
    assert_eq!(announced["reason"], "create");
    let list = payload(c.call("sessions.list", json!({})).await?)?;
    let keys: Vec<&str> = list["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(keys, [key.as_str()], "listed before its first message");

    // With a first message: the turn starts, answered before its events.
    let with_turn = payload(
        c.call(
            "sessions.create",
            json!({"message": "Start here.", "idempotencyKey": "c1"}),
        )
        .await?,
    )?;
    assert_eq!(with_turn["runStarted"], true, "{with_turn}");
    assert_eq!(with_turn["runId"], "c1");
    assert_eq!(with_turn["status"], "started");
    let second = with_turn["key"].as_str().unwrap_or_default().to_owned();
    assert_ne!(second, key);
    until_terminal(&mut c, "c1").await?;
    let history = payload(
        c.call("chat.history", json!({"sessionKey": second}))
            .await?,
    )?;
    assert_eq!(
        history_texts(&history),
        ["Start here.", "First turn reply MARK-c1."]
    );

    // An existing key is adopted: same session, nothing reset.
    let adopted = payload(c.call("sessions.create", json!({"key": second})).await?)?;
    assert_eq!(adopted["key"], second.as_str());
    assert_eq!(adopted["sessionId"], with_turn["sessionId"]);
    assert_eq!(adopted["entry"]["messageCount"], 2);

    // What Tether's sessions cannot be is refused, naming it, and creates nothing.
    let res = c
        .call("sessions.create", json!({"fork": true, "model": "x/y"}))
        .await?;
    assert_eq!(code(&res), "UNAVAILABLE");
    let err = res.error.clone().expect("an error");
    assert!(
        err.message.contains("forking a session") && err.message.contains("a model per session"),
        "{}",
        err.message
    );
    assert_eq!(
        err.details.as_ref().map(|d| d["code"].clone()),
        Some(json!("UNSUPPORTED"))
    );
    let res = c.call("sessions.create", json!({"agentId": "ops"})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    let list = payload(c.call("sessions.list", json!({})).await?)?;
    assert_eq!(list["count"], 2, "{list}");

    // A reader may not create sessions.
    let mut reader = rig
        .connect(&opts(rig.token(), &["operator.read"], &[]))
        .await?;
    let res = reader.call("sessions.create", json!({})).await?;
    assert_eq!(code(&res), "FORBIDDEN", "{res:?}");
    Ok(())
}
