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
