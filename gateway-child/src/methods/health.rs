//! The health summary (upstream's shape with Tether's facts, the engine's summary included) and
//! the facts it and `status` read about this process. Read-only.

use serde_json::{json, Value};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::events::PresenceEntry;

use tether_protocol::methods::SessionsListParams;

use crate::agent::{Engine, EngineCaller};
use crate::process::clock::now_ms;
use crate::server::services::{Boot, Services};

/// The host name, for the gateway's own presence entry.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The gateway's own presence entry (listed first, as upstream does).
pub fn self_presence(boot: &Boot) -> PresenceEntry {
    PresenceEntry {
        host: Some(host_name()),
        version: Some(boot.version.to_owned()),
        platform: Some(std::env::consts::OS.to_owned()),
        mode: Some("gateway".to_owned()),
        reason: Some("self".to_owned()),
        ts: boot.started_at_ms,
        ..Default::default()
    }
}

/// Resident memory of this process, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    Some(pages * page)
}

/// A fresh health summary.
pub fn health_summary(services: &Services) -> Value {
    let started = std::time::Instant::now();
    let connections = services.hub().count();
    let engine = services.engine().summary();
    let model = engine.default_model.clone();
    json!({
        "ok": true,
        "ts": now_ms(),
        "durationMs": started.elapsed().as_millis() as u64,
        "channels": {},
        "channelOrder": [],
        "channelLabels": {},
        "heartbeatSeconds": 0,
        "defaultAgentId": DEFAULT_AGENT_ID,
        "agents": [{"agentId": DEFAULT_AGENT_ID, "isDefault": true, "model": model}],
        "gateway": {
            "version": services.boot().version,
            "bootId": services.boot().id,
            "uptimeMs": services.boot().started.elapsed().as_millis() as u64,
            "connections": connections,
            "draining": services.is_draining(),
        },
        "engine": engine,
    })
}

/// How many recent sessions the health and status summaries list.
const RECENT: usize = 10;

/// The sessions part of `health` and `status` (upstream's `HealthSessionSummary`): where
/// transcripts live (for admins; `[redacted]` for anyone else, as upstream does), how many
/// sessions there are, and the newest ones with their age.
pub async fn sessions_summary(engine: &Engine, caller: &EngineCaller, admin: bool) -> Value {
    let params = SessionsListParams {
        limit: Some(RECENT as u32),
        ..SessionsListParams::default()
    };
    let (path, count, rows) = match engine.sessions_list(caller, params).await {
        Ok(list) => {
            let total = list
                .extra
                .get("totalCount")
                .and_then(Value::as_u64)
                .unwrap_or(list.count);
            (list.path.unwrap_or_default(), total, list.sessions)
        }
        Err(_) => (String::new(), 0, Vec::new()),
    };
    let now = now_ms();
    let recent: Vec<Value> = rows
        .iter()
        .map(|r| {
            let updated = r.updated_at.get();
            json!({
                "key": r.key,
                "updatedAt": updated,
                "age": updated.map(|u| now.saturating_sub(u)),
            })
        })
        .collect();
    json!({
        "path": if admin { path } else { "[redacted]".to_owned() },
        "count": count,
        "recent": recent,
    })
}

/// The heartbeat block of an agent: Tether's gateway runs no heartbeat turns.
pub fn heartbeat_off() -> Value {
    json!({
        "enabled": false,
        "every": "disabled",
        "everyMs": null,
        "prompt": "",
        "target": "none",
        "ackMaxChars": 0,
    })
}
