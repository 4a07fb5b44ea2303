//! Events and the read-side methods: `tick` with a contiguous per-connection `seq`, `presence`,
//! `health`, `status`, `system-presence`, `sessions.subscribe`, `logs.tail` (cursor, rotation),
//! and the slow consumer that is closed while everyone else keeps receiving. (SECURITY §4
//! item 25.)

mod support;

use anyhow::Result;
use serde_json::json;
use support::D;
use tether_testkit::process::Stream;
use tether_testkit::ws::{ConnectOpts, WsClient};

const FAST_TICKS: &str = "{ gateway: { tickIntervalMs: 50 } }";

#[tokio::test]
async fn ticks_arrive_with_a_contiguous_seq_for_every_client() -> Result<()> {
    let gw = support::gateway_with(FAST_TICKS).await?;
    let (mut v4, hello) = support::admin(&gw).await?;
    assert_eq!(hello.policy.tick_interval_ms, 50);
    let (mut v3, _) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(gw.token()?).protocols(3, 3)).await?;
    for c in [&mut v4, &mut v3] {
        let mut last = None;
        let mut ticks = 0;
        while ticks < 5 {
            let f = c.next_frame(D).await?.expect("frame");
            if let tether_protocol::Frame::Event(e) = f {
                let seq = e.seq.expect("every event has a seq");
                if let Some(prev) = last {
                    assert_eq!(seq, prev + 1, "contiguous");
                }
                last = Some(seq);
                if e.event == "tick" {
                    assert!(e.payload.unwrap()["ts"].as_u64().is_some());
                    ticks += 1;
                }
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn presence_health_status_and_subscriptions() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut admin, hello) = support::admin(&gw).await?;
    assert_eq!(
        hello.snapshot.presence.len(),
        1,
        "the gateway itself; CLI clients are not listed"
    );
    let health = admin.event("health", D).await?;
    assert!(health.state_version.is_some());

    let mut opts = ConnectOpts::ui(gw.token()?)
        .scopes(&["operator.read"])
        .with_device();
    opts.display_name = Some("Desk".into());
    let (mut ui, _) = WsClient::connect(&gw.ws_url(), &opts).await?;
    let joined = admin.event("presence", D).await?;
    let list = joined.payload.unwrap()["presence"].clone();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["host"], "Desk");
    assert_eq!(list[1]["mode"], "ui");
    assert!(list[1]["deviceId"].is_string());
    let sv1 = joined.state_version.unwrap().presence;

    let listed = support::payload(admin.call("system-presence", json!({})).await?)?;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["reason"], "self");
    // The gateway's own entry, filled as upstream fills its own.
    let me = &listed[0];
    assert_eq!(me["deviceFamily"], "Linux");
    assert!(
        me["platform"].as_str().unwrap().starts_with("linux "),
        "{me}"
    );
    assert!(
        me["instanceId"].as_str().is_some_and(|i| i.len() == 36),
        "{me}"
    );
    let text = format!(
        "Gateway: {}{} · app {} · mode gateway · reason self",
        me["host"].as_str().unwrap(),
        me["ip"]
            .as_str()
            .map(|ip| format!(" ({ip})"))
            .unwrap_or_default(),
        me["version"].as_str().unwrap()
    );
    assert_eq!(me["text"], text.as_str());

    let health = support::payload(admin.call("health", json!({})).await?)?;
    assert_eq!(health["ok"], true);
    assert_eq!(health["defaultAgentId"], "main");
    assert_eq!(health["gateway"]["connections"], 2);
    assert_eq!(
        health["plugins"],
        json!({"loaded": [], "errors": [], "unavailable": []})
    );
    assert_eq!(health["configReload"], json!({"hotReloadStatus": "active"}));
    // The runtime's measured health, once its first one-second window has closed.
    let mut health = health;
    let deadline = std::time::Instant::now() + D;
    while health.get("eventLoop").is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        health = support::payload(admin.call("health", json!({})).await?)?;
    }
    let ev = &health["eventLoop"];
    assert_eq!(ev["degraded"], false, "{ev}");
    assert!(ev["intervalMs"].as_f64().unwrap() >= 1000.0, "{ev}");
    for key in ["delayP99Ms", "delayMaxMs", "utilization", "cpuCoreRatio"] {
        assert!(ev[key].as_f64().is_some_and(|x| x >= 0.0), "{key}: {ev}");
    }
    // A read-scoped caller sees the session store's path in `health`, as upstream shows it.
    let ui_health = support::payload(ui.call("health", json!({})).await?)?;
    assert!(
        ui_health["sessions"]["path"]
            .as_str()
            .is_some_and(|p| p.starts_with('/')),
        "{ui_health}"
    );

    let status = support::payload(admin.call("status", json!({})).await?)?;
    assert_eq!(status["pid"], gw.pid);
    assert_eq!(status["bootId"], gw.boot_id.as_str());
    assert_eq!(status["connections"], 2);
    assert!(status["processMemory"]["rssBytes"].as_u64().unwrap() > 0);
    assert!(status["configPath"].is_string(), "admin sees paths");
    assert!(
        status["sessions"]["defaults"]["model"].is_string(),
        "admin sees the defaults"
    );
    let ui_status = support::payload(ui.call("status", json!({})).await?)?;
    assert!(ui_status.get("configPath").is_none(), "non-admin does not");
    assert!(ui_status.get("authMode").is_none());
    // Nor the session store, the recent sessions or the model defaults (upstream's status).
    let sessions = &ui_status["sessions"];
    assert_eq!(sessions["recent"], json!([]));
    assert_eq!(sessions["paths"], json!([]));
    assert_eq!(
        sessions["defaults"],
        json!({"model": null, "contextTokens": null})
    );
    assert_eq!(sessions["byAgent"][0]["path"], "[redacted]");
    assert_eq!(sessions["byAgent"][0]["recent"], json!([]));
    assert!(sessions["count"].is_number());
    // Upstream's shapes for what Tether does not have, with Tether's values.
    assert_eq!(ui_status["tasks"]["byStatus"]["timed_out"], 0);
    assert_eq!(ui_status["taskAudit"]["errors"], 0);
    assert_eq!(ui_status["hostDesktop"]["state"], "disabled");
    assert_eq!(ui_status["degradedPlugins"], json!([]));
    assert_eq!(ui_status["degradedSecretOwners"], json!([]));
    assert_eq!(
        ui_status["heartbeat"]["agents"][0]["waitingForRoute"],
        false
    );
    assert!(
        ui_status["eventLoop"]["utilization"].is_number(),
        "{ui_status}"
    );

    let sub = support::payload(ui.call("sessions.subscribe", json!({})).await?)?;
    assert_eq!(sub, json!({"subscribed": true}));
    let unsub = support::payload(ui.call("sessions.unsubscribe", json!({})).await?)?;
    assert_eq!(unsub, json!({"subscribed": false}));

    ui.close().await?;
    let left = admin.event("presence", D).await?;
    assert_eq!(
        left.payload.unwrap()["presence"].as_array().unwrap().len(),
        1
    );
    assert!(left.state_version.unwrap().presence > sv1);
    Ok(())
}

#[tokio::test]
async fn logs_tail_pages_with_a_cursor_and_notices_truncation() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut c, _) = support::admin(&gw).await?;
    let first = support::payload(c.call("logs.tail", json!({"limit": 50})).await?)?;
    let lines = first["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .any(|l| l.as_str().unwrap().contains("gateway ready")));
    // Each line is upstream's JSON log record (what its `openclaw logs` formats).
    let ready: serde_json::Value = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l.as_str().unwrap()).unwrap())
        .find(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("gateway ready"))
        })
        .unwrap();
    assert_eq!(ready["_meta"]["logLevelName"], "INFO");
    assert!(ready["time"].as_str().unwrap().ends_with('Z'), "{ready}");
    // The file itself stays readable text.
    let file = std::fs::read_to_string(gw.log_path())?;
    assert!(
        file.lines().any(|l| l.contains(" INFO gateway ready")),
        "{file}"
    );
    assert!(first["file"]
        .as_str()
        .unwrap()
        .ends_with("logs/gateway.log"));
    let cursor = first["cursor"].as_u64().unwrap();

    // New lines after the cursor, and only those.
    let (_, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(gw.token()?)).await?;
    gw.process
        .wait_for_line(
            Stream::Stderr,
            |l| l.contains("client=openclaw-linux/ui"),
            D,
        )
        .await?;
    let next = support::payload(c.call("logs.tail", json!({"cursor": cursor})).await?)?;
    let new_lines = next["lines"].as_array().unwrap();
    assert!(new_lines
        .iter()
        .any(|l| l.as_str().unwrap().contains("openclaw-linux/ui")));
    assert!(!new_lines
        .iter()
        .any(|l| l.as_str().unwrap().contains("gateway ready")));
    assert!(next.get("reset").is_none());
    // Limits are honoured.
    let one = support::payload(
        c.call("logs.tail", json!({"limit": 1, "maxBytes": 100000}))
            .await?,
    )?;
    assert_eq!(one["lines"].as_array().unwrap().len(), 1);

    // Truncated under the cursor: reset.
    let cursor = next["cursor"].as_u64().unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(gw.log_path())?;
    let after = support::payload(c.call("logs.tail", json!({"cursor": cursor})).await?)?;
    assert_eq!(after["reset"], true);
    Ok(())
}

#[tokio::test]
async fn a_slow_consumer_is_closed_and_others_keep_receiving() -> Result<()> {
    let gw = support::gateway_with(FAST_TICKS).await?;
    let (mut watcher, _) = support::admin(&gw).await?;
    let (mut slow, _) = support::admin(&gw).await?;
    // Pipeline big responses and read none of them.
    let big_id = "q".repeat(1024 * 1024);
    for i in 0..40 {
        slow.send_request(&format!("{big_id}{i}"), "health", json!({}))
            .await?;
    }
    gw.process
        .wait_for_line(Stream::Stderr, |l| l.contains("closing slow consumer"), D)
        .await?;
    // The other client was never held up: ticks keep coming, in order.
    let a = watcher.event("tick", D).await?.seq.unwrap();
    let b = watcher.event("tick", D).await?.seq.unwrap();
    let c = watcher.event("tick", D).await?.seq.unwrap();
    assert!(a < b && b < c);
    // The slow client gets what was already on the wire, then 1008 "slow consumer".
    assert_eq!(slow.closed(D).await?, (1008, "slow consumer".into()));
    let status = support::payload(watcher.call("status", json!({})).await?)?;
    assert_eq!(status["connections"], 1);
    Ok(())
}
