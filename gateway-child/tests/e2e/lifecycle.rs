//! The engine across the gateway's lifecycle, through the real binary: SIGTERM and SIGUSR1
//! drain a streaming run to its `final` before `shutdown` and 1012; the transcript survives
//! `kill -9` mid-stream; a hot reload of `models.providers` switches the next run's provider.

use std::sync::Arc;

use anyhow::Result;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use tether_protocol::Event;
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, Reply};
use tether_testkit::process::Stream;
use tokio::sync::Semaphore;

use crate::support::*;

const MAIN: &str = "agent:main:main";

fn position(evs: &[Event], pred: impl Fn(&Event) -> bool) -> Option<usize> {
    evs.iter().position(pred)
}

fn is_delta(e: &Event) -> bool {
    e.event == "chat" && e.payload.as_ref().is_some_and(|p| p["state"] == "delta")
}

/// Starts a paced run and waits for its first delta; returns the gate.
async fn paced_run(
    rig: &Rig,
    c: &mut tether_testkit::ws::WsClient,
    run: &str,
) -> Result<Arc<Semaphore>> {
    let gate = Arc::new(Semaphore::new(1));
    rig.mock.push(Reply::Paced(
        ["one", " two", " three", " four"]
            .map(String::from)
            .to_vec(),
        gate.clone(),
    ));
    chat_send(c, MAIN, "count to four", run).await?;
    events_until(c, is_delta).await?;
    Ok(gate)
}

#[tokio::test]
async fn sigterm_drains_a_streaming_run_to_final_before_shutdown() -> Result<()> {
    let mut rig = Rig::start().await?;
    let mut c = rig.connect(&rig.operator()).await?;
    let mut late = rig.connect(&rig.operator()).await?;
    let gate = paced_run(&rig, &mut c, "term").await?;
    rig.gw.process.signal(Signal::SIGTERM)?;
    rig.gw
        .process
        .wait_for_line(Stream::Stderr, |l| l.contains("gateway stopping"), D)
        .await?;
    // Draining: no new runs, but the running one goes on.
    let res = late
        .call("chat.send", send_params("agent:main:other", "more", "late"))
        .await?;
    assert_eq!(code(&res), "UNAVAILABLE");
    assert_eq!(res.error.unwrap().retryable, Some(true));
    gate.add_permits(3);
    let evs = events_until(&mut c, |e| e.event == "shutdown").await?;
    let fin = position(&evs, |e| is_terminal(e, "term")).expect("final before shutdown");
    assert_eq!(terminal(&evs, "term")["state"], "final");
    assert_eq!(
        message_text(&terminal(&evs, "term")["message"]),
        "one two three four"
    );
    assert!(fin < evs.len() - 1);
    assert_eq!(
        evs.last().unwrap().payload.clone().unwrap(),
        json!({"reason": "gateway stopping", "restartExpectedMs": null})
    );
    assert_eq!(c.closed(D).await?, (1012, "service restart".into()));
    assert_eq!(rig.gw.process.wait_exit(D).await?.code(), Some(0));
    Ok(())
}

#[tokio::test]
async fn sigusr1_drains_the_run_then_restarts_and_clients_come_back() -> Result<()> {
    let mut rig = Rig::start().await?;
    let old_boot = rig.gw.boot_id.clone();
    let mut c = rig.connect(&rig.operator()).await?;
    let gate = paced_run(&rig, &mut c, "usr1").await?;
    rig.gw.process.signal(Signal::SIGUSR1)?;
    rig.gw
        .process
        .wait_for_line(Stream::Stderr, |l| l.contains("gateway restarting"), D)
        .await?;
    gate.add_permits(3);
    let evs = events_until(&mut c, |e| e.event == "shutdown").await?;
    assert!(position(&evs, |e| is_terminal(e, "usr1")).is_some());
    assert_eq!(terminal(&evs, "usr1")["state"], "final");
    let shutdown = evs.last().unwrap().payload.clone().unwrap();
    assert_eq!(shutdown["reason"], "gateway restarting");
    assert!(shutdown["restartExpectedMs"].as_u64().unwrap() > 0);
    assert_eq!(c.closed(D).await?.0, 1012);

    // Back on the same process, with the transcript intact and no duplicate.
    let ready = rig.gw.wait_ready_again(D).await?;
    assert_ne!(ready.boot_id, old_boot);
    let mut c = rig.connect(&rig.operator()).await?;
    let history = payload(c.call("chat.history", json!({"sessionKey": MAIN})).await?)?;
    let texts = history_texts(&history);
    assert_eq!(texts, ["count to four", "one two three four"]);
    // The new generation's engine runs turns on the same session.
    rig.mock.push(Reply::words("after the restart"));
    chat_send(&mut c, MAIN, "again", "usr1-b").await?;
    let evs = until_terminal(&mut c, "usr1-b").await?;
    assert_eq!(
        message_text(&terminal(&evs, "usr1-b")["message"]),
        "after the restart"
    );
    // The drained run's idempotency key is still known to the new generation: no second run.
    let again = payload(
        c.call("chat.send", send_params(MAIN, "count to four", "usr1"))
            .await?,
    )?;
    assert_eq!(again, json!({"runId": "usr1", "status": "ok"}));
    assert_eq!(rig.mock.request_count(), 2);
    Ok(())
}

#[tokio::test]
async fn the_transcript_survives_kill_9_mid_stream() -> Result<()> {
    let mut rig = Rig::start().await?;
    let mut c = rig.connect(&rig.operator()).await?;
    let gate = Arc::new(Semaphore::new(3));
    rig.mock.push(Reply::Paced(
        ["alpha", " beta", " gamma", " delta", " epsilon"]
            .map(String::from)
            .to_vec(),
        gate.clone(),
    ));
    chat_send(&mut c, MAIN, "stream then die", "k9").await?;
    let evs = events_until(&mut c, |e| {
        is_delta(e)
            && e.payload
                .as_ref()
                .is_some_and(|p| p["deltaText"] == " gamma")
    })
    .await?;
    let streamed: String = chats(&evs, "k9")
        .iter()
        .filter(|p| p["state"] == "delta")
        .map(|p| p["deltaText"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(streamed, "alpha beta gamma");
    rig.gw.process.signal(Signal::SIGKILL)?;
    rig.gw.process.wait_exit(D).await?;

    // Every transcript line is whole JSON.
    let agents_dir = rig.gw.state_dir().join("agents");
    let mut files = Vec::new();
    let mut stack = vec![agents_dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty());
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        assert!(text.ends_with('\n'), "{} ends mid-line", f.display());
        for line in text.lines() {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("corrupt line in {}: {e}: {line}", f.display()));
        }
    }

    // A new gateway on the same state dir has everything that was streamed.
    let again = Gateway::spawn(GatewayOptions {
        state_dir: Some(rig.gw.state_dir().to_path_buf()),
        token: rig.gw.token.clone(),
        ..GatewayOptions::default()
    })
    .await?;
    let (mut c, _) = tether_testkit::ws::WsClient::connect(
        &again.ws_url(),
        &opts(rig.token(), &["operator.read"], &[]),
    )
    .await?;
    let history = payload(c.call("chat.history", json!({"sessionKey": MAIN})).await?)?;
    let msgs = history["messages"].as_array().unwrap();
    assert_eq!(message_text(&msgs[0]), "stream then die");
    let assistant: String = msgs[1..]
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(message_text)
        .collect();
    assert!(
        assistant.starts_with("alpha beta gamma"),
        "history after kill -9: {history}"
    );
    drop(gate);
    Ok(())
}

#[tokio::test]
async fn a_hot_reload_of_the_provider_applies_to_the_next_run() -> Result<()> {
    let rig = Rig::start().await?;
    let mut c = rig.connect(&rig.admin()).await?;
    rig.mock.push(Reply::words("from the first provider"));
    chat_send(&mut c, MAIN, "one", "hot1").await?;
    let evs = until_terminal(&mut c, "hot1").await?;
    assert_eq!(
        message_text(&terminal(&evs, "hot1")["message"]),
        "from the first provider"
    );

    let second = mock_openai::start().await?;
    second.push(Reply::words("from the second provider"));
    let cfg = config(&second.base_url(), &json!({}));
    let path = rig.gw.config_path();
    let tmp = path.with_extension("tmp-e2e");
    std::fs::write(&tmp, cfg.to_string())?;
    std::fs::rename(&tmp, &path)?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], true);
    assert_eq!(ev["action"], "hot");
    assert!(ev["changedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().starts_with("models.providers")));

    chat_send(&mut c, MAIN, "two", "hot2").await?;
    let evs = until_terminal(&mut c, "hot2").await?;
    assert_eq!(
        message_text(&terminal(&evs, "hot2")["message"]),
        "from the second provider"
    );
    assert_eq!(rig.mock.request_count(), 1);
    assert_eq!(second.request_count(), 1);
    // Same process, same run of the gateway: no restart happened.
    let status = payload(c.call("status", json!({})).await?)?;
    assert_eq!(status["bootId"], rig.gw.boot_id.as_str());
    assert_eq!(status["engine"]["defaultModel"], "mock/mock-1");
    Ok(())
}
