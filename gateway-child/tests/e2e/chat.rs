//! Chat turns through the real binary: the v4 event order with per-run and per-frame seqs,
//! v3 and v4 shapes side by side, idempotent `chat.send`, abort mid-stream, provider retries
//! and auth errors.

use std::sync::Arc;

use anyhow::Result;
use serde_json::{json, Value};
use tether_testkit::mock_openai::{self, Reply};
use tokio::sync::Semaphore;

use crate::support::*;

const MAIN: &str = "agent:main:main";

#[tokio::test]
async fn text_turn_streams_in_upstream_order_with_contiguous_seqs() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Hello from the mock provider."));
    let mut c = rig.connect(&rig.operator()).await?;
    let ack = chat_send(&mut c, MAIN, "Please just say hello.", "t1").await?;
    assert_eq!(ack, json!({"runId": "t1", "status": "started"}));
    let evs = until_terminal(&mut c, "t1").await?;

    let mut got = shape(&evs, "t1");
    got.retain(|s| s != "agent:usage");
    let deltas = got.iter().filter(|s| *s == "chat:delta").count();
    assert_eq!(deltas, 5, "{got:?}");
    let mut want: Vec<String> = [
        "chat:status:preparing_workspace",
        "agent:run_status:preparing_workspace",
        "chat:status:preparing_context",
        "agent:run_status:preparing_context",
        "agent:lifecycle:start",
        "chat:status:starting_model",
        "agent:run_status:starting_model",
        "agent:lifecycle:model",
    ]
    .map(String::from)
    .to_vec();
    for _ in 0..deltas {
        want.push("agent:assistant".into());
        want.push("chat:delta".into());
    }
    want.push("agent:lifecycle:end".into());
    want.push("chat:final".into());
    assert_eq!(got, want);

    // deltaText are increments, message the cumulative text; final carries the whole reply.
    let chat = chats(&evs, "t1");
    let mut so_far = String::new();
    for d in chat.iter().filter(|p| p["state"] == "delta") {
        so_far.push_str(d["deltaText"].as_str().unwrap());
        assert_eq!(message_text(&d["message"]), so_far);
        assert_eq!(d["sessionKey"], MAIN);
    }
    assert_eq!(so_far, "Hello from the mock provider.");
    let fin = terminal(&evs, "t1");
    assert_eq!(fin["state"], "final");
    assert_eq!(fin["stopReason"], "stop");
    assert_eq!(message_text(&fin["message"]), so_far);

    check_run_seqs(&evs, "t1");
    // The only request so far was chat.send: every event since hello-ok is in `evs`.
    check_frame_seqs(&evs, 1);

    // The model really was asked, with the key from the config.
    let reqs = rig.mock.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].authorization.as_deref(),
        Some(format!("Bearer {MOCK_KEY}").as_str())
    );
    assert_eq!(reqs[0].body["stream"], true);
    Ok(())
}

/// A message has one identity wherever a client meets it: `session.message` and `chat.history`
/// give each the same `__openclaw {id, seq, runId}`, and the user's message carries the
/// idempotency key `<runId>:user` by which upstream's Control UI matches the copy it showed
/// while sending (without these it showed every message two or three times). The history also
/// says whether a run is live, and answers `inputRunIds` with (no) receipts.
#[tokio::test]
async fn history_and_session_message_give_each_message_one_identity() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Identity reply."));
    let mut c = rig.connect(&rig.operator()).await?;
    let sub = payload(
        c.call("sessions.messages.subscribe", json!({"key": MAIN}))
            .await?,
    )?;
    assert_eq!(sub["subscribed"], true);
    chat_send(&mut c, MAIN, "Who am I?", "id1").await?;
    let evs = events_until(&mut c, |e| {
        e.event == "session.message"
            && e.payload
                .as_ref()
                .is_some_and(|p| p["message"]["role"] == "assistant")
    })
    .await?;
    until_terminal(&mut c, "id1").await?;
    let heard: Vec<Value> = evs
        .iter()
        .filter(|e| e.event == "session.message")
        .filter_map(|e| e.payload.clone())
        .map(|p| p["message"].clone())
        .collect();
    assert_eq!(heard.len(), 2, "{heard:?}");

    let history = payload(
        c.call(
            "chat.history",
            json!({"sessionKey": MAIN, "inputRunIds": ["id1"]}),
        )
        .await?,
    )?;
    let messages = history["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 2, "{history}");
    let session_id = history["sessionId"].as_str().unwrap_or_default().to_owned();
    assert!(!session_id.is_empty(), "{history}");
    for (i, (event, stored)) in heard.iter().zip(&messages).enumerate() {
        let seq = i + 1;
        assert_eq!(
            stored["__openclaw"], event["__openclaw"],
            "message {seq}: the event and the history disagree"
        );
        assert_eq!(stored["__openclaw"]["id"], format!("{session_id}:{seq}"));
        assert_eq!(stored["__openclaw"]["seq"], seq);
        assert_eq!(stored["__openclaw"]["runId"], "id1");
    }
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["idempotencyKey"], "id1:user");
    assert_eq!(messages[0]["__openclaw"]["idempotencyKey"], "id1:user");
    assert_eq!(messages[1]["role"], "assistant");
    assert!(messages[1].get("idempotencyKey").is_none(), "{history}");
    assert!(messages[1]["__openclaw"].get("idempotencyKey").is_none());

    // The session around the messages: the run is over; receipts only when asked for.
    assert_eq!(history["sessionInfo"]["key"], MAIN);
    assert_eq!(history["sessionInfo"]["hasActiveRun"], false);
    assert_eq!(history["sessionInfo"]["activeRunIds"], json!([]));
    assert_eq!(history["sessionInfo"]["lastRunId"], "id1");
    assert_eq!(history["inputReceipts"], json!([]));
    assert_eq!(history["pendingInputs"]["total"], 0);
    let plain = payload(c.call("chat.history", json!({"sessionKey": MAIN})).await?)?;
    assert!(plain.get("inputReceipts").is_none(), "{plain}");
    assert_eq!(plain["messages"], history["messages"]);

    // A page of the newest message still numbers it by its place in the whole transcript.
    let newest = payload(
        c.call("chat.history", json!({"sessionKey": MAIN, "limit": 1}))
            .await?,
    )?;
    assert_eq!(newest["messages"][0]["__openclaw"]["seq"], 2, "{newest}");
    Ok(())
}

#[tokio::test]
async fn v3_and_v4_clients_each_get_their_shape_of_one_run() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("one two three"));
    let mut v3 = rig
        .connect(&opts(rig.token(), &["operator.read"], &[]).protocols(3, 3))
        .await?;
    let mut v4 = rig
        .connect(&opts(rig.token(), &["operator.read"], &[]))
        .await?;
    let mut sender = rig.connect(&rig.operator()).await?;
    chat_send(&mut sender, MAIN, "count", "v1").await?;

    let old = until_terminal(&mut v3, "v1").await?;
    let new = until_terminal(&mut v4, "v1").await?;
    let old_chat = chats(&old, "v1");
    let new_chat = chats(&new, "v1");
    // v3: cumulative deltas without deltaText, no status events.
    assert!(
        old_chat.iter().all(|p| p["state"] != "status"),
        "{old_chat:?}"
    );
    let old_deltas: Vec<String> = old_chat
        .iter()
        .filter(|p| p["state"] == "delta")
        .map(|p| {
            assert!(p.get("deltaText").is_none(), "{p}");
            message_text(&p["message"])
        })
        .collect();
    assert_eq!(old_deltas, ["one", "one two", "one two three"]);
    // v4: the same run with status phases and increments.
    assert_eq!(
        new_chat.iter().filter(|p| p["state"] == "status").count(),
        3
    );
    let new_deltas: Vec<&str> = new_chat
        .iter()
        .filter(|p| p["state"] == "delta")
        .map(|p| p["deltaText"].as_str().unwrap())
        .collect();
    assert_eq!(new_deltas, ["one", " two", " three"]);
    assert_eq!(
        message_text(&terminal(&old, "v1")["message"]),
        "one two three"
    );
    assert_eq!(
        message_text(&terminal(&new, "v1")["message"]),
        "one two three"
    );
    Ok(())
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_in_flight_then_ok_and_runs_once() -> Result<()> {
    let rig = Rig::start().await?;
    let gate = Arc::new(Semaphore::new(0));
    rig.mock
        .push(Reply::Paced(vec!["a".into(), "b".into()], gate.clone()));
    let mut c = rig.connect(&rig.operator()).await?;
    let first = chat_send(&mut c, MAIN, "hi", "idem-1").await?;
    assert_eq!(first["status"], "started");
    wait_requests(&rig.mock, 1).await?;
    let again = payload(
        c.call("chat.send", send_params(MAIN, "hi", "idem-1"))
            .await?,
    )?;
    assert_eq!(again, json!({"runId": "idem-1", "status": "in_flight"}));
    gate.add_permits(2);
    until_terminal(&mut c, "idem-1").await?;
    let after = payload(
        c.call("chat.send", send_params(MAIN, "hi", "idem-1"))
            .await?,
    )?;
    assert_eq!(after, json!({"runId": "idem-1", "status": "ok"}));
    assert_eq!(rig.mock.request_count(), 1);
    let history = payload(c.call("chat.history", json!({"sessionKey": MAIN})).await?)?;
    let users = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .count();
    assert_eq!(users, 1);
    Ok(())
}

#[tokio::test]
async fn abort_mid_stream_cancels_the_provider_stream() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::Stall(vec!["partial answer".into()]));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "talk forever", "ab1").await?;
    events_until(&mut c, |e| {
        e.event == "chat" && e.payload.as_ref().is_some_and(|p| p["state"] == "delta")
    })
    .await?;
    let res = payload(
        c.call("chat.abort", json!({"sessionKey": MAIN, "runId": "ab1"}))
            .await?,
    )?;
    assert_eq!(res, json!({"ok": true, "aborted": true, "runIds": ["ab1"]}));
    let evs = until_terminal(&mut c, "ab1").await?;
    let end = terminal(&evs, "ab1");
    assert_eq!(end["state"], "aborted");
    assert_eq!(end["stopReason"], "rpc");
    assert_eq!(message_text(&end["message"]), "partial answer");
    // The provider saw its stream abandoned.
    tokio::time::timeout(D, rig.mock.wait_cancelled(1)).await?;
    Ok(())
}

#[tokio::test]
async fn provider_500_is_retried_then_succeeds() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock
        .push(Reply::status(500, mock_openai::server_error_body()));
    rig.mock.push(Reply::words("recovered fine"));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "hello", "r500").await?;
    let evs = until_terminal(&mut c, "r500").await?;
    let end = terminal(&evs, "r500");
    assert_eq!(end["state"], "final", "{end}");
    assert_eq!(message_text(&end["message"]), "recovered fine");
    assert_eq!(rig.mock.request_count(), 2);
    Ok(())
}

#[tokio::test]
async fn provider_401_is_an_auth_error_that_never_shows_the_key() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock
        .set_default(Reply::status(401, mock_openai::auth_error_body()));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "hello", "r401").await?;
    let evs = until_terminal(&mut c, "r401").await?;
    let end = terminal(&evs, "r401");
    assert_eq!(end["state"], "error");
    assert_eq!(end["errorKind"], "auth");
    assert!(end["errorMessage"].as_str().is_some_and(|m| !m.is_empty()));
    let all: Vec<Value> = evs.iter().filter_map(|e| e.payload.clone()).collect();
    assert!(!json!(all).to_string().contains(MOCK_KEY));
    // Auth failures are not retried.
    assert_eq!(rig.mock.request_count(), 1);
    let status = payload(c.call("status", json!({})).await?)?;
    assert!(!status.to_string().contains(MOCK_KEY));
    Ok(())
}

#[tokio::test]
async fn agent_answers_twice_and_a_resent_key_never_runs_twice() -> Result<()> {
    let rig = Rig::start().await?;
    let gate = Arc::new(Semaphore::new(0));
    rig.mock.push(Reply::Paced(
        vec!["one".into(), " two".into()],
        gate.clone(),
    ));
    // As upstream's CLI connects: `cli/cli`, `caps:[]`, only operator.write.
    let cli = opts(rig.token(), &["operator.write"], &[]);
    let params = json!({"message": "hi", "sessionKey": MAIN, "deliver": false,
        "timeout": 60, "idempotencyKey": "ag-1"});
    let mut a = rig.connect(&cli).await?;
    a.send_request("2:a", "agent", params.clone()).await?;
    let first = payload(a.response("2:a", D).await?)?;
    assert_eq!(first["status"], "accepted");
    assert_eq!(first["runId"], "ag-1");
    assert_eq!(first["sessionKey"], MAIN);
    assert_eq!(first["agentId"], "main");
    assert!(first["acceptedAt"].is_u64());
    wait_requests(&rig.mock, 1).await?;

    // The CLI re-sends the same request on a new connection after a transient close.
    a.close().await?;
    let mut b = rig.connect(&cli).await?;
    b.send_request("2:b", "agent", params.clone()).await?;
    let again = payload(b.response("2:b", D).await?)?;
    assert_eq!(again["status"], "in_flight");
    gate.add_permits(2);
    let fin = payload(b.response("2:b", D).await?)?;
    assert_eq!(fin["status"], "ok");
    assert_eq!(fin["summary"], "completed");
    assert_eq!(fin["result"]["payloads"][0]["text"], "one two");
    let waited = payload(b.call("agent.wait", json!({"runId": "ag-1"})).await?)?;
    assert_eq!(waited["status"], "ok");
    // After the end, the same key gets the final result at once, still without a new run.
    b.send_request("2:c", "agent", params).await?;
    let cached = payload(b.response("2:c", D).await?)?;
    assert_eq!(cached["status"], "ok");
    assert_eq!(cached["result"]["payloads"][0]["text"], "one two");
    assert_eq!(rig.mock.request_count(), 1);
    Ok(())
}

/// SECURITY §4 item 26, small: many clients chat at once, each on its own session, while every
/// client also receives everyone else's events. Every `chat.send` gets its ack before its
/// events, every run ends `final` with its full reply and contiguous per-run seqs, and every
/// turn lands in its own session's transcript.
#[tokio::test]
async fn many_clients_chatting_at_once_lose_nothing() -> Result<()> {
    const CLIENTS: usize = 16;
    const TURNS: usize = 3;
    let rig = Rig::start().await?;
    rig.mock
        .set_default(Reply::words("a steady reply of several words"));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(rig.connect(&rig.operator()).await?);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                let key = format!("agent:main:many-{i}");
                for k in 0..TURNS {
                    let run = format!("many-{i}-{k}");
                    let ack = chat_send(&mut c, &key, &format!("question {k}"), &run).await?;
                    anyhow::ensure!(ack["status"] == "started", "{run}: {ack}");
                    let evs = until_terminal(&mut c, &run).await?;
                    check_run_seqs(&evs, &run);
                    let end = terminal(&evs, &run);
                    anyhow::ensure!(end["state"] == "final", "{run}: {end}");
                    anyhow::ensure!(
                        message_text(&end["message"]) == "a steady reply of several words",
                        "{run}: {end}"
                    );
                }
                Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }

    let mut admin = rig.connect(&rig.admin()).await?;
    let list = payload(
        admin
            .call("sessions.list", json!({"search": "many-", "limit": 100}))
            .await?,
    )?;
    let rows = list["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), CLIENTS, "{list}");
    for row in &rows {
        assert_eq!(row["messageCount"], 2 * TURNS, "{row}");
        assert_eq!(row["status"], "done", "{row}");
    }
    Ok(())
}

#[tokio::test]
async fn a_large_image_over_the_socket_reaches_the_model_and_the_workspace() -> Result<()> {
    use base64::Engine as _;
    let rig = Rig::with(json!({"models": {"providers": {"mock": {
        "models": [{"id": "mock-1", "input": ["text", "image"]}]}}}}))
    .await?;
    rig.mock.push(Reply::words("A big picture."));
    // 3 MB: a PNG signature then filler, 4 MB of base64 in one frame.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let data = base64::engine::general_purpose::STANDARD.encode(&png);
    let mut c = rig.connect(&rig.operator()).await?;
    let mut params = send_params(MAIN, "Look.", "big");
    params["attachments"] =
        json!([{"fileName": "big.png", "mimeType": "image/png", "content": data}]);
    let ack = payload(c.call("chat.send", params).await?)?;
    assert_eq!(ack["status"], "started");
    let evs = until_terminal(&mut c, "big").await?;
    assert_eq!(terminal(&evs, "big")["state"], "final");
    assert_eq!(
        std::fs::read(rig.workspace().join("attachments/big.png"))?,
        png
    );
    let body = &rig.mock.requests()[0].body;
    let user = body["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(
        user["content"][1]["image_url"]["url"]
            .as_str()
            .map(str::len),
        Some("data:image/png;base64,".len() + data.len())
    );
    // A bad one is refused with the reason, and nothing runs.
    let mut params = send_params(MAIN, "Again.", "bad");
    params["attachments"] = json!([{"fileName": "x.png", "content": "@@not base64@@"}]);
    let res = c.call("chat.send", params).await?;
    assert!(
        res.error
            .as_ref()
            .is_some_and(|e| e.message.contains("not valid base64")),
        "{res:?}"
    );
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert_eq!(rig.mock.request_count(), 1);
    Ok(())
}

/// `tools.effective` lists exactly the tools the model is offered: the same names as in the
/// provider request of a turn, with their descriptions.
#[tokio::test]
async fn tools_effective_lists_the_tools_the_model_is_offered() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Tools reply."));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "Which tools?", "te1").await?;
    until_terminal(&mut c, "te1").await?;
    let offered: Vec<String> = rig
        .mock
        .requests()
        .last()
        .and_then(|r| r.body["tools"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    assert!(!offered.is_empty(), "the provider request offered no tools");

    let eff = payload(
        c.call(
            "tools.effective",
            json!({"agentId": "main", "sessionKey": MAIN}),
        )
        .await?,
    )?;
    assert_eq!(eff["agentId"], "main");
    let groups = eff["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 1, "{eff}");
    let listed: Vec<String> = groups[0]["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(listed, offered);
    for t in groups[0]["tools"].as_array().into_iter().flatten() {
        assert!(t["label"].as_str().is_some_and(|l| !l.is_empty()), "{t}");
        assert!(
            t["description"].as_str().is_some_and(|d| d.len() > 10),
            "{t}"
        );
    }
    let res = c.call("tools.effective", json!({"agentId": "ops"})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    Ok(())
}

/// A UI client (upstream's Control UI) hears how far its own `chat.send` has got, as
/// `chat.send_timing`: dispatch started, the run started, its model, the first assistant
/// output, dispatch completed, each timed from the request, and the answer says how long it
/// took. Nobody else hears them, and other clients' sends have none.
#[tokio::test]
async fn a_ui_clients_send_reports_its_steps_to_it_alone() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Timed reply."));
    rig.mock.push(Reply::words("Untimed reply."));
    let mut ui_opts = rig.operator().with_device();
    ui_opts.client_id = "openclaw-control-ui".into();
    ui_opts.client_mode = "webchat".into();
    let mut ui = rig.connect(&ui_opts).await?;
    let mut other = rig.connect(&rig.admin()).await?;

    let ack = chat_send(&mut ui, MAIN, "Time me.", "tm1").await?;
    assert!(
        ack["serverTiming"]["receivedToAckMs"].as_f64().is_some(),
        "{ack}"
    );
    let evs = until_terminal(&mut ui, "tm1").await?;
    // dispatch-completed follows the terminal event.
    let evs = [
        evs,
        events_until(&mut ui, |e| {
            e.event == "chat.send_timing"
                && e.payload
                    .as_ref()
                    .is_some_and(|p| p["phase"] == "dispatch-completed")
        })
        .await?,
    ]
    .concat();
    let steps: Vec<Value> = evs
        .iter()
        .filter(|e| e.event == "chat.send_timing")
        .filter_map(|e| e.payload.clone())
        .collect();
    let phases: Vec<&str> = steps.iter().filter_map(|s| s["phase"].as_str()).collect();
    assert_eq!(
        phases,
        [
            "dispatch-started",
            "agent-run-started",
            "model-selected",
            "first-assistant-event",
            "dispatch-completed"
        ]
    );
    let mut last = 0.0;
    for s in &steps {
        assert_eq!(s["runId"], "tm1");
        assert_eq!(s["sessionKey"], MAIN);
        let since = s["receivedToPhaseMs"].as_f64().unwrap_or(-1.0);
        assert!(since >= last, "steps go backwards: {steps:?}");
        last = since;
        assert!(s["ackToPhaseMs"].as_f64().is_some(), "{s}");
        assert!(s["dispatchStartedToPhaseMs"].as_f64().is_some(), "{s}");
    }
    assert_eq!(steps[2]["provider"], "mock");

    // A CLI client's send: no timing, no serverTiming; and the other client heard none of it.
    let ack = chat_send(&mut other, MAIN, "Do not time me.", "tm2").await?;
    assert!(ack.get("serverTiming").is_none(), "{ack}");
    let evs = until_terminal(&mut other, "tm2").await?;
    assert!(
        !evs.iter().any(|e| e.event == "chat.send_timing"),
        "{:?}",
        evs.iter().map(|e| &e.event).collect::<Vec<_>>()
    );
    Ok(())
}
