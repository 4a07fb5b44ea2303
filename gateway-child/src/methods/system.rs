//! `health`, `status`, `system-presence`, `system.info`, `environments.list`,
//! `diagnostics.lanes`: what the gateway says about itself.
//!
//! `health` answers with the summary of [`crate::methods::health`] (upstream's shape with Tether's facts,
//! the agent engine's summary included); `status` adds process facts, and the sensitive ones
//! (paths, auth mode) only for admins. `diagnostics.lanes` shows the agent's runs as upstream's
//! lanes: one `main` lane without a concurrency limit (any number of sessions run at once) and
//! the per-session lanes (one run at a time, the rest wait) summed as `dynamic`.
//! Read-only: nothing here changes state.

use serde_json::{json, Value};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::diagnostics::{CommandLane, DiagnosticsLanes, DynamicLanes, UNLIMITED};
use tether_protocol::health::{
    AgentHeartbeat, AgentSessions, HeartbeatSettings, SessionDefaults, StatusHeartbeat,
    StatusSessions, StatusSummary,
};
use tether_protocol::methods::HealthParams;
use tether_protocol::{ErrorShape, Map};

use crate::methods::call::CallContext;
use crate::methods::health::{
    event_loop, health_summary, rss_bytes, sessions_summary, with_agent_details,
};

/// `health {probe?}`: a fresh summary (also stored and broadcast when `probe` is set).
pub async fn health(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: HealthParams = super::params(params)?;
    let summary = health_summary(&ctx.services);
    if p.probe == Some(true) {
        ctx.services.hub().publish_health(&summary);
    }
    // Upstream's CLI prints each agent's session store; the cached summary that events carry
    // stays without it (it is built on a timer, without a caller).
    let summary =
        with_agent_details(summary, ctx.services.engine(), &ctx.caller.for_engine()).await;
    super::encode(&summary)
}

/// `status`: process and gateway facts.
pub async fn status(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let s = &ctx.services;
    let settings = s.settings();
    let reload_json = {
        let reload = s.reload_state();
        json!({
            "mode": format!("{:?}", settings.reload_mode).to_lowercase(),
            "appliedHash": reload.applied.hash,
            "lastError": reload.last_error.as_ref().map(|e| e.to_json()),
        })
    };
    let mut out = json!({
        "ok": true,
        "version": s.boot().version,
        "pid": s.boot().pid,
        "bootId": s.boot().id,
        "generation": s.boot().generation,
        "startedAtMs": s.boot().process_started_at_ms,
        "bootedAtMs": s.boot().started_at_ms,
        "uptimeMs": s.boot().started.elapsed().as_millis() as u64,
        "port": s.boot().addr.port(),
        "protocol": tether_protocol::consts::PROTOCOL_VERSION,
        "connections": s.hub().count(),
        "pendingHandshakes": s.hub().pending_count(),
        "draining": s.is_draining(),
        "activeWork": s.drain().active(),
        "engine": s.engine().summary(),
        "processMemory": {"rssBytes": rss_bytes()},
        "policy": {
            "maxPayload": settings.limits.max_payload,
            "maxBufferedBytes": settings.limits.max_buffered,
            "tickIntervalMs": settings.limits.tick_interval.as_millis() as u64,
        },
        "reload": reload_json,
    });
    // What upstream's CLI reads from `status` (its `--json` output and its summary). Without
    // admin, upstream's summary keeps the counts only: no store path, no recent sessions, no
    // model defaults.
    let admin = ctx.caller.is_admin();
    let sessions = sessions_summary(s.engine(), &ctx.caller.for_engine()).await;
    let (sessions, defaults) = if admin {
        let d = s.engine().model_defaults();
        let defaults = SessionDefaults {
            model: d.get("model").and_then(Value::as_str).map(str::to_owned),
            context_tokens: d.get("contextTokens").and_then(Value::as_u64),
            extra: Map::new(),
        };
        (sessions, defaults)
    } else {
        (sessions.redacted(), SessionDefaults::default())
    };
    // Heartbeats are off, so no agent waits for a delivery route.
    let off = HeartbeatSettings::off();
    let typed = StatusSummary {
        runtime_version: Some(s.boot().version.to_owned()),
        sessions: StatusSessions {
            paths: if admin {
                vec![sessions.path.clone()]
            } else {
                Vec::new()
            },
            count: sessions.count,
            defaults,
            recent: sessions.recent.clone(),
            by_agent: vec![AgentSessions {
                agent_id: DEFAULT_AGENT_ID.to_owned(),
                store: sessions,
            }],
            extra: Map::new(),
        },
        heartbeat: StatusHeartbeat {
            default_agent_id: DEFAULT_AGENT_ID.to_owned(),
            agents: vec![AgentHeartbeat {
                agent_id: DEFAULT_AGENT_ID.to_owned(),
                enabled: off.enabled,
                every: off.every,
                every_ms: off.every_ms,
                waiting_for_route: false,
                extra: Map::new(),
            }],
            extra: Map::new(),
        },
        extra: Map::new(),
    };
    if let (Value::Object(out), Value::Object(typed)) = (&mut out, super::encode(&typed)?) {
        out.extend(typed);
    }
    out["channelSummary"] = json!([]);
    out["queuedSystemEvents"] = json!([]);
    // Upstream's empty task registry and its audit: Tether runs no background tasks.
    out["tasks"] = json!({
        "total": 0, "active": 0, "terminal": 0, "failures": 0,
        "byStatus": {"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "timed_out": 0,
                     "cancelled": 0, "lost": 0},
        "byRuntime": {"subagent": 0, "acp": 0, "cli": 0, "cron": 0},
    });
    out["taskAudit"] = json!({
        "total": 0, "warnings": 0, "errors": 0,
        "byCode": {"stale_queued": 0, "stale_running": 0, "lost": 0, "delivery_failed": 0,
                   "missing_cleanup": 0, "inconsistent_timestamps": 0},
    });
    // No desktop lab (upstream's disabled shape, its default port), no plugins, and no secret
    // references that could fail to resolve (a `${ENV}` key missing is `models.authStatus`'s).
    out["hostDesktop"] = json!({"enabled": false, "state": "disabled", "port": 5900});
    out["degradedPlugins"] = json!([]);
    out["degradedSecretOwners"] = json!([]);
    if let Some(event_loop) = event_loop(s) {
        out["eventLoop"] = event_loop;
    }
    out["cliProjection"] = json!({
        "agents": {
            "defaultId": DEFAULT_AGENT_ID,
            "ownership": "sole",
            "selectionRequired": false,
            "rows": [{"id": DEFAULT_AGENT_ID}],
        },
    });
    if admin {
        out["configPath"] = json!(settings.loaded.path.display().to_string());
        out["stateDir"] = json!(s.resolver().paths.state_dir.display().to_string());
        out["authMode"] = json!(settings.auth.mode_str());
        out["bind"] = json!(s.boot().addr.ip().to_string());
    }
    Ok(out)
}

/// `system-presence`: the presence table.
pub async fn presence(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    serde_json::to_value(ctx.services.hub().presence_snapshot())
        .map_err(|e| ErrorShape::unavailable(e.to_string(), 500))
}

/// `system.info {}`: the machine the gateway runs on, read from the kernel (`/proc`) and the
/// process. Upstream's `nodeVersion` is left out: this gateway is not a Node program.
pub async fn info(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let s = &ctx.services;
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let hostname = read("/proc/sys/kernel/hostname").trim().to_owned();
    let release = read("/proc/sys/kernel/osrelease").trim().to_owned();
    let meminfo = read("/proc/meminfo");
    let kib = |name: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |k| k * 1024)
    };
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|r| r.split_once(':'))
        .map(|(_, m)| m.trim().to_owned());
    let load: Vec<f64> = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    let started_ms = s.boot().process_started_at_ms;
    let mut out = json!({
        "machineName": hostname,
        "hostname": hostname,
        "platform": std::env::consts::OS,
        "release": release,
        "arch": arch,
        "osLabel": format!("Linux {release}"),
        "port": s.boot().addr.port(),
        "pid": s.boot().pid,
        "uptimeMs": crate::process::clock::now_ms().saturating_sub(started_ms),
        "cpuCount": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "memoryTotalBytes": kib("MemTotal:"),
        "memoryFreeBytes": kib("MemAvailable:"),
        "processMemory": {"rssBytes": rss_bytes()},
        "runtime": format!("tether-gateway {}", s.boot().version),
    });
    if let Some(m) = cpu_model {
        out["cpuModel"] = json!(m);
    }
    if load.len() == 3 {
        out["loadAverage"] = json!(load);
    }
    out["processInstanceId"] = json!(crate::methods::health::instance_id());
    // The Control UI's "Gateway activity" reads CPU and event-loop delay from here.
    if let Some(e) = event_loop(s) {
        out["eventLoop"] = e;
    }
    // The disk the state lives on (where transcripts and logs grow).
    let state_dir = &s.resolver().paths.state_dir;
    if let Ok(st) = nix::sys::statvfs::statvfs(state_dir.as_path()) {
        let block = st.fragment_size();
        let total = st.blocks().saturating_mul(block);
        let available = st.blocks_available().saturating_mul(block);
        let mount = mount_point(state_dir);
        out["disks"] = json!([{"path": mount, "totalBytes": total, "availableBytes": available}]);
        out["diskTotalBytes"] = json!(total);
        out["diskAvailableBytes"] = json!(available);
        out["diskPath"] = json!(state_dir.display().to_string());
    }
    Ok(out)
}

/// The mount point `path` is on: the longest mount in `/proc/self/mounts` that contains it
/// (`/` when that cannot be read).
fn mount_point(path: &std::path::Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        // The kernel escapes spaces and the like in mount points as octal (`\040`).
        .map(|m| m.replace("\\040", " "))
        .filter(|m| path.starts_with(m))
        .max_by_key(String::len)
        .unwrap_or_else(|| "/".to_owned())
}

/// `environments.list {projection?}`: the one place agents run here, this gateway's host.
pub async fn environments(_ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    if params.get("projection").and_then(Value::as_str) == Some("profiles") {
        return Ok(json!({"environments": []}));
    }
    Ok(json!({"environments": [{
        "id": "gateway",
        "type": "local",
        "label": "Gateway local",
        "status": "available",
        "platform": std::env::consts::OS,
        "sessionHost": true,
        "trust": "persistent",
        "capabilities": ["agent.run", "sessions", "tools", "workspace"],
    }]}))
}

/// `diagnostics.lanes {}`: the engine's runs now. Nothing waits in `main` (it has no limit);
/// runs wait only behind the running run of their own session. `draining` is the gateway's
/// (it refuses new runs while it stops or restarts).
pub async fn lanes(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let s = &ctx.services;
    super::encode(&lanes_of(
        s.engine().lanes(),
        s.is_draining(),
        crate::process::clock::now_ms(),
    ))
}

fn lanes_of(runs: crate::agent::RunLanes, draining: bool, ts: u64) -> DiagnosticsLanes {
    let n = |x: usize| x as u64;
    DiagnosticsLanes {
        ts,
        lanes: vec![CommandLane {
            lane: "main".into(),
            queued_count: 0,
            active_count: n(runs.running),
            max_concurrent: UNLIMITED,
            draining,
            generation: 0,
            blocked_by: None,
            extra: Map::new(),
        }],
        dynamic: (runs.sessions > 0).then(|| DynamicLanes {
            lane_count: n(runs.sessions),
            active_count: n(runs.running),
            queued_count: n(runs.queued),
            queued_lane_count: n(runs.sessions_queued),
        }),
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::RunLanes;

    #[test]
    fn runs_show_as_an_unlimited_main_lane_and_session_lanes() {
        let idle = lanes_of(RunLanes::default(), false, 7);
        assert_eq!(idle.ts, 7);
        assert_eq!(idle.lanes.len(), 1);
        assert_eq!(idle.lanes[0].lane, "main");
        assert_eq!(idle.lanes[0].active_count, 0);
        assert_eq!(idle.lanes[0].max_concurrent, UNLIMITED);
        assert_eq!(idle.dynamic, None);
        let busy = lanes_of(
            RunLanes {
                running: 2,
                queued: 3,
                sessions: 2,
                sessions_queued: 1,
            },
            true,
            7,
        );
        assert_eq!(busy.lanes[0].active_count, 2);
        assert_eq!(busy.lanes[0].queued_count, 0);
        assert!(busy.lanes[0].draining);
        assert_eq!(
            busy.dynamic,
            Some(DynamicLanes {
                lane_count: 2,
                active_count: 2,
                queued_count: 3,
                queued_lane_count: 1,
            })
        );
    }
}
