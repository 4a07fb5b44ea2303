//! The pages of upstream's Control UI beyond the chat, through the real binary: every method
//! they call gets upstream's shape with Tether's facts (approvals that ended, the allow-always
//! document, token usage from the transcripts, the runs as lanes), or upstream's empty shape for
//! a feature Tether does not have; scopes are upstream's, and writes of absent features stay
//! unsupported.

use anyhow::Result;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tether_testkit::mock_openai::{MockToolCall, Reply};
use tether_testkit::ws::WsClient;

use crate::support::*;

const MAIN: &str = "agent:main:main";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn control_ui_pages_get_truthful_answers_in_upstreams_shapes() -> Result<()> {
    let rig = Rig::start().await?;
    rig.mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "e1",
        "exec",
        json!({"command": "touch kept.txt"}),
    )]));
    rig.mock.push(Reply::words("Made it."));
    let (mut admin, hello) = WsClient::connect(&rig.gw.ws_url(), &rig.admin()).await?;
    for m in [
        "approval.history",
        "exec.approval.grants.list",
        "exec.approvals.get",
        "diagnostics.lanes",
        "transcripts.list",
        "themes.list",
        "tools.github.status",
        "device.pair.list",
        "webSearch.status",
        "doctor.memory.status",
        "update.status",
        "plugins.catalog.browse",
    ] {
        assert!(hello.features.has_method(m), "{m} is not advertised");
    }
    // Served, but as upstream not advertised.
    assert!(!hello.features.has_method("sessions.usage"));

    // Before any approval: no document yet, no history.
    let doc = payload(admin.call("exec.approvals.get", json!({})).await?)?;
    assert_eq!(doc["exists"], false);
    assert_eq!(doc["hash"], format!("missing:{}", sha256_hex(b"")));
    assert_eq!(
        doc["file"],
        json!({"version": 1, "defaults": {}, "agents": {}})
    );
    assert_eq!(
        doc["resolvedDefaults"],
        json!({"security": "allowlist", "ask": "on-miss", "askFallback": "deny",
            "autoAllowSkills": false})
    );
    let history = payload(admin.call("approval.history", json!({"limit": 50})).await?)?;
    assert_eq!(history, json!({"items": []}));

    // A turn whose command is allowed always.
    chat_send(&mut admin, MAIN, "Make a file.", "cu1").await?;
    let req = admin
        .event("exec.approval.requested", D)
        .await?
        .payload
        .unwrap();
    let id = req["id"].as_str().unwrap().to_owned();
    resolve_approval(&mut admin, &id, "allow-always").await?;
    let evs = until_terminal(&mut admin, "cu1").await?;
    assert_eq!(terminal(&evs, "cu1")["state"], "final");

    let history = payload(admin.call("approval.history", json!({"limit": 50})).await?)?;
    let item = &history["items"][0];
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["status"], "allowed");
    assert_eq!(item["decision"], "allow-always");
    assert_eq!(item["reason"], "user");
    assert_eq!(item["presentation"]["kind"], "exec");
    assert_eq!(item["presentation"]["commandText"], "touch kept.txt");
    assert_eq!(
        item["source"],
        json!({"agentId": "main", "sessionKey": MAIN})
    );
    assert_eq!(item["resolver"], json!({"kind": "runtime", "id": "cli"}));
    assert_eq!(item["urlPath"], format!("/approve/{id}"));
    assert!(item["resolvedAtMs"].as_u64() >= item["createdAtMs"].as_u64());
    assert!(history.get("nextCursor").is_none());

    // Allow-always here is an allowlist entry, not a standing grant (those are automations').
    let grants = payload(admin.call("exec.approval.grants.list", json!({})).await?)?;
    assert_eq!(grants, json!({"grants": []}));

    // The decision is in the document now, and the hash is of its bytes.
    let doc = payload(admin.call("exec.approvals.get", json!({})).await?)?;
    let path = rig.gw.state_dir().join("exec-approvals.json");
    assert_eq!(doc["path"], path.display().to_string());
    assert_eq!(doc["exists"], true);
    assert_eq!(doc["hash"], sha256_hex(&std::fs::read(&path)?));
    assert_eq!(
        doc["file"]["agents"]["main"]["allowlist"],
        json!([{"pattern": "touch kept.txt", "source": "allow-always",
            "commandText": "touch kept.txt"}])
    );

    // The turn's tokens, as the mock reported them, in the default window (30 days to today).
    for params in [
        json!({}),
        json!({"agentScope": "all", "groupBy": "family", "limit": 1000}),
    ] {
        let usage = payload(admin.call("sessions.usage", params.clone()).await?)?;
        let row = &usage["sessions"][0];
        assert_eq!(row["key"], MAIN, "{params} {usage}");
        assert_eq!(row["agentId"], "main");
        assert_eq!(row["modelProvider"], "mock");
        assert_eq!(row["model"], "mock-1");
        let u = &row["usage"];
        let input = u["input"].as_u64().unwrap();
        let output = u["output"].as_u64().unwrap();
        assert!(input >= 10, "{u}");
        assert!(output > 0, "{u}");
        assert_eq!(u["totalTokens"], input + output);
        assert_eq!(u["totalCost"], 0.0);
        assert_eq!(u["missingCostEntries"], 1);
        assert_eq!(u["messageCounts"]["user"], 1);
        assert_eq!(u["messageCounts"]["toolCalls"], 1);
        assert_eq!(u["messageCounts"]["toolResults"], 1);
        assert_eq!(u["toolUsage"]["tools"][0]["name"], "exec");
        assert_eq!(usage["totals"]["totalTokens"], input + output);
        let agg = &usage["aggregates"];
        assert_eq!(agg["sessionCount"], 1);
        assert_eq!(agg["byModel"][0]["model"], "mock-1");
        assert_eq!(agg["byModel"][0]["totals"]["totalTokens"], input + output);
        assert_eq!(agg["byAgent"][0]["agentId"], "main");
        assert_eq!(agg["daily"].as_array().map(Vec::len), Some(1));
        assert_eq!(usage["creatorOptions"][0]["key"], "[\"unknown\"]");
    }
    let res = admin
        .call(
            "sessions.usage",
            json!({"startDate": "2026-02-30", "endDate": "2026-03-01"}),
        )
        .await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert!(res.error.unwrap().message.contains("startDate"));

    // Nothing runs now.
    let lanes = payload(admin.call("diagnostics.lanes", json!({})).await?)?;
    assert!(lanes["ts"].is_u64());
    assert_eq!(lanes["lanes"][0]["lane"], "main");
    assert_eq!(lanes["lanes"][0]["activeCount"], 0);
    assert_eq!(lanes["lanes"][0]["queuedCount"], 0);
    assert_eq!(lanes["lanes"][0]["draining"], false);
    assert_eq!(lanes["lanes"][0]["blockedBy"], Value::Null);
    assert_eq!(lanes["dynamic"], Value::Null);

    // Features Tether does not have: upstream's shapes, empty.
    let t = payload(admin.call("transcripts.list", json!({"limit": 50})).await?)?;
    assert_eq!(t, json!({"sessions": [], "nextCursor": null}));
    let themes = payload(admin.call("themes.list", json!({})).await?)?;
    assert_eq!(
        themes["current"],
        json!({"id": "claw", "mode": "system", "scope": "gateway", "overrides": {}})
    );
    assert_eq!(themes["theme"]["id"], "claw");
    assert_eq!(themes["themes"].as_array().map(Vec::len), Some(1));
    let gh = payload(
        admin
            .call(
                "tools.github.status",
                json!({"agentId": "main", "selectedScope": "system"}),
            )
            .await?,
    )?;
    assert_eq!(gh["selected"]["configured"], false);
    assert_eq!(gh["effective"]["credentialState"], "unavailable");
    let devices = payload(admin.call("device.pair.list", json!({})).await?)?;
    assert_eq!(devices, json!({"pending": [], "paired": []}));
    let search = payload(
        admin
            .call("webSearch.status", json!({"agentId": "main"}))
            .await?,
    )?;
    assert_eq!(search["enabled"], false);
    assert_eq!(search["provider"], Value::Null);
    assert_eq!(search["providers"], json!([]));
    assert_eq!(search["route"]["kind"], "unavailable");
    assert_eq!(
        search["model"],
        json!({"provider": "mock", "id": "mock-1", "runtime": "tether",
            "runtimeLabel": "Tether's gateway"})
    );
    let memory = payload(
        admin
            .call("doctor.memory.status", json!({"agentId": "main"}))
            .await?,
    )?;
    assert_eq!(memory["agentId"], "main");
    assert_eq!(memory["embedding"]["ok"], false);
    let update = payload(admin.call("update.status", json!({})).await?)?;
    assert_eq!(update, json!({"sentinel": null, "updateAvailable": null}));
    let catalog = payload(
        admin
            .call(
                "plugins.catalog.browse",
                json!({"intent": "all", "pageSize": 100}),
            )
            .await?,
    )?;
    assert_eq!(catalog, json!({"items": []}));
    // Their writes stay unsupported: nothing pretends to change.
    for (m, p) in [
        ("exec.approvals.set", json!({"file": {"version": 1}})),
        ("exec.approval.grants.revoke", json!({"grantId": "g1"})),
        ("themes.set", json!({"id": "knot"})),
        ("device.pair.approve", json!({"requestId": "x"})),
        ("update.run", json!({})),
    ] {
        let res = admin.call(m, p).await?;
        assert_eq!(code(&res), "UNAVAILABLE", "{m}");
        assert_eq!(
            res.error.unwrap().details.unwrap()["code"],
            "UNSUPPORTED",
            "{m}"
        );
    }

    // Upstream's scopes: a reader gets the read pages, not the admin, approvals or pairing ones.
    let mut reader = rig
        .connect(&opts(rig.token(), &["operator.read"], &[]))
        .await?;
    for m in [
        "sessions.usage",
        "diagnostics.lanes",
        "themes.list",
        "webSearch.status",
        "plugins.catalog.browse",
    ] {
        let res = reader.call(m, json!({})).await?;
        assert!(res.ok, "{m}: {:?}", res.error);
    }
    for (m, scope) in [
        ("exec.approvals.get", "operator.admin"),
        ("update.status", "operator.admin"),
        ("approval.history", "operator.approvals"),
        ("exec.approval.grants.list", "operator.approvals"),
        ("device.pair.list", "operator.pairing"),
    ] {
        let res = reader.call(m, json!({})).await?;
        assert_eq!(code(&res), "FORBIDDEN", "{m}");
        assert_eq!(
            res.error.unwrap().message,
            format!("missing scope: {scope}")
        );
    }
    Ok(())
}

/// `system.info` (the Control UI's Systems page and its "Gateway activity"): this host and this
/// process as they are: pid and port, memory, the disk the state is on, the same instance id
/// as the gateway's presence entry, and once the sampler's first window has closed, the
/// measured event loop (CPU share and timer delay).
#[tokio::test]
async fn system_info_describes_this_host_and_process() -> Result<()> {
    let rig = Rig::start().await?;
    let mut c = rig.connect(&rig.operator()).await?;
    let info = payload(c.call("system.info", json!({})).await?)?;
    assert_eq!(info["pid"], rig.gw.pid);
    assert_eq!(info["port"], rig.gw.port);
    assert_eq!(info["platform"], "linux");
    assert!(info["cpuCount"].as_u64().is_some_and(|n| n >= 1), "{info}");
    assert!(info["processMemory"]["rssBytes"]
        .as_u64()
        .is_some_and(|n| n > 0));
    let total = info["diskTotalBytes"].as_u64().unwrap_or(0);
    let available = info["diskAvailableBytes"].as_u64().unwrap_or(u64::MAX);
    assert!(total > 0 && available <= total, "{info}");
    assert_eq!(info["disks"][0]["totalBytes"], total);
    let mount = info["disks"][0]["path"].as_str().unwrap_or_default();
    assert!(
        rig.gw.state_dir().canonicalize()?.starts_with(mount),
        "{mount}"
    );
    assert_eq!(
        info["diskPath"],
        rig.gw.state_dir().display().to_string().as_str()
    );
    let presence = payload(c.call("system-presence", json!({})).await?)?;
    let me = presence
        .as_array()
        .and_then(|p| p.iter().find(|e| e["mode"] == "gateway"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(info["processInstanceId"], me["instanceId"], "{presence}");

    // The event loop is measured in one-second windows: it is absent until the first closes.
    // There is no event for that, so ask again (bounded) until it is there.
    let deadline = std::time::Instant::now() + D;
    let event_loop = loop {
        let info = payload(c.call("system.info", json!({})).await?)?;
        if info["eventLoop"].is_object() {
            break info["eventLoop"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no eventLoop: {info}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(event_loop["delayP99Ms"].as_f64().is_some(), "{event_loop}");
    assert!(
        event_loop["cpuCoreRatio"].as_f64().is_some(),
        "{event_loop}"
    );
    // Degraded or not depends on the machine's load right now: only its shape is checked.
    assert!(event_loop["degraded"].is_boolean(), "{event_loop}");
    Ok(())
}
