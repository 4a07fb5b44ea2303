//! The health summary (upstream's shape with Tether's facts, the engine's summary included) and
//! the facts it and `status` read about this process. Read-only.

use serde_json::{json, Value};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::events::{HealthSummary, PresenceEntry};
use tether_protocol::health::{
    AgentHealth, ConfigReload, HeartbeatSettings, RecentSession, SessionsSummary,
};
use tether_protocol::methods::SessionsListParams;
use tether_protocol::Map;

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

/// This process's presence instance id: one per process, kept across in-process restarts (as
/// upstream keeps one per gateway process).
pub(crate) fn instance_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| uuid::Uuid::new_v4().to_string())
}

/// The kernel release (`uname -r`), if readable.
fn os_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The machine's primary LAN IPv4, as upstream picks it: the addresses of interfaces that are up
/// and running and not loopback, `en0`'s, then `eth0`'s, else the first one listed. `None`
/// when there is none (upstream then shows the host name in its place; Tether shows nothing).
fn primary_ipv4() -> Option<String> {
    use nix::net::if_::InterfaceFlags;
    let addrs: Vec<(String, std::net::Ipv4Addr)> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|a| {
            a.flags
                .contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING)
                && !a.flags.contains(InterfaceFlags::IFF_LOOPBACK)
        })
        .filter_map(|a| {
            let ip = a.address.as_ref()?.as_sockaddr_in()?.ip();
            Some((a.interface_name, ip))
        })
        .collect();
    pick_ipv4(&addrs).map(|ip| ip.to_string())
}

/// `en0`, then `eth0`, then the first address (upstream's order).
fn pick_ipv4(addrs: &[(String, std::net::Ipv4Addr)]) -> Option<std::net::Ipv4Addr> {
    ["en0", "eth0"]
        .iter()
        .find_map(|name| addrs.iter().find(|(n, _)| n == name))
        .or_else(|| addrs.first())
        .map(|(_, ip)| *ip)
}

/// The hardware model, as upstream reads it on Linux (DMI product name, else the device tree's
/// model), at most 64 characters.
fn model_identifier() -> Option<String> {
    [
        "/sys/devices/virtual/dmi/id/product_name",
        "/proc/device-tree/model",
    ]
    .iter()
    .find_map(|f| {
        let raw = std::fs::read_to_string(f).ok()?;
        let m: String = raw.trim().trim_end_matches('\0').chars().take(64).collect();
        (!m.is_empty()).then_some(m)
    })
}

/// The gateway's own presence entry (listed first, as upstream does), filled as upstream fills
/// its own: host, primary LAN address, version, `<os> <kernel release>`, device family, hardware
/// model, mode and reason, the process's instance id and the one-line `text`.
pub fn self_presence(boot: &Boot) -> PresenceEntry {
    self_presence_of(
        boot,
        host_name(),
        primary_ipv4(),
        os_release(),
        model_identifier(),
    )
}

fn self_presence_of(
    boot: &Boot,
    host: String,
    ip: Option<String>,
    release: Option<String>,
    model: Option<String>,
) -> PresenceEntry {
    let os = std::env::consts::OS;
    let family = match os {
        "linux" => "Linux",
        "macos" => "Mac",
        "windows" => "Windows",
        other => other,
    };
    let text = format!(
        "Gateway: {host}{} · app {} · mode gateway · reason self",
        ip.as_ref().map(|ip| format!(" ({ip})")).unwrap_or_default(),
        boot.version
    );
    PresenceEntry {
        host: Some(host),
        ip,
        version: Some(boot.version.to_owned()),
        platform: Some(release.map_or_else(|| os.to_owned(), |r| format!("{os} {r}"))),
        device_family: Some(family.to_owned()),
        model_identifier: model,
        mode: Some("gateway".to_owned()),
        reason: Some("self".to_owned()),
        instance_id: Some(instance_id().to_owned()),
        text: Some(text),
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

/// A fresh health summary: upstream's shape with Tether's facts. `eventLoop` when a window has
/// been measured ([`crate::process::vitals`]); `plugins` empty (Tether loads none);
/// `configReload` once the run knows whether its config file is watched. The agents carry no
/// heartbeat or sessions here (the summary is also built on a timer, without a caller): the
/// `health` method adds them ([`with_agent_details`]).
pub fn health_summary(services: &Services) -> HealthSummary {
    let started = std::time::Instant::now();
    let connections = services.hub().count();
    let engine = services.engine().summary();
    let model = engine.default_model.clone();
    let config_reload = services
        .reload_state()
        .hot_reload_status(services.settings().reload_mode)
        .map(|status| ConfigReload {
            hot_reload_status: status.to_owned(),
            extra: Map::new(),
        });
    let mut extra = object(json!({
        "channels": {},
        "channelOrder": [],
        "channelLabels": {},
        "gateway": {
            "version": services.boot().version,
            "bootId": services.boot().id,
            "uptimeMs": services.boot().started.elapsed().as_millis() as u64,
            "connections": connections,
            "draining": services.is_draining(),
        },
        "engine": engine,
        "plugins": {"loaded": [], "errors": [], "unavailable": []},
    }));
    if let Some(event_loop) = event_loop(services) {
        extra.insert("eventLoop".to_owned(), event_loop);
    }
    let agent = object(json!({ "model": model }));
    HealthSummary {
        ok: true,
        ts: now_ms(),
        duration_ms: Some(started.elapsed().as_millis() as u64),
        default_agent_id: Some(DEFAULT_AGENT_ID.to_owned()),
        heartbeat_seconds: Some(0),
        agents: vec![AgentHealth {
            agent_id: DEFAULT_AGENT_ID.to_owned(),
            is_default: true,
            heartbeat: None,
            sessions: None,
            extra: agent,
        }],
        sessions: None,
        config_reload,
        extra,
    }
}

/// `summary` as the `health` method answers `caller`: every agent with its heartbeat (off:
/// Tether's gateway runs no heartbeat turns) and its session store, and the default agent's
/// store at the top, as upstream's CLI prints them.
pub async fn with_agent_details(
    mut summary: HealthSummary,
    engine: &Engine,
    caller: &EngineCaller,
) -> HealthSummary {
    let sessions = sessions_summary(engine, caller).await;
    for a in &mut summary.agents {
        a.heartbeat = Some(HeartbeatSettings::off());
        a.sessions = Some(sessions.clone());
    }
    summary.sessions = Some(sessions);
    summary
}

/// A JSON object's fields (none for anything else).
fn object(value: Value) -> Map {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The runtime's last measured window as upstream's `eventLoop`, if there is one.
pub fn event_loop(services: &Services) -> Option<Value> {
    services
        .event_loop()
        .snapshot()
        .and_then(|h| serde_json::to_value(h).ok())
}

/// How many recent sessions the health and status summaries list.
const RECENT: usize = 10;

/// The sessions part of `health` and `status` (upstream's `HealthSessionSummary`): where
/// transcripts live, how many sessions there are, and the newest ones with their age. `health`
/// answers it as is, as upstream does for any caller; `status` shows callers without admin
/// its [`SessionsSummary::redacted`] form.
pub async fn sessions_summary(engine: &Engine, caller: &EngineCaller) -> SessionsSummary {
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
    let recent = rows
        .iter()
        .map(|r| {
            let updated = r.updated_at.get();
            RecentSession {
                key: r.key.clone(),
                updated_at: updated,
                age: updated.map(|u| now.saturating_sub(u)),
                extra: Map::new(),
            }
        })
        .collect();
    SessionsSummary {
        path,
        count,
        recent,
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn boot() -> Boot {
        Boot {
            id: "b".into(),
            started: std::time::Instant::now(),
            started_at_ms: 7,
            process_started_at_ms: 5,
            pid: 1,
            version: "0.1.0",
            addr: "127.0.0.1:1".parse().unwrap(),
            generation: 0,
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_gateways_own_presence_is_filled_as_upstream_fills_it() {
        let p = self_presence_of(
            &boot(),
            "vm".into(),
            Some("192.0.2.2".into()),
            Some("6.1.0".into()),
            None,
        );
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!({
                "host": "vm",
                "ip": "192.0.2.2",
                "version": "0.1.0",
                "platform": "linux 6.1.0",
                "deviceFamily": "Linux",
                "mode": "gateway",
                "reason": "self",
                "instanceId": instance_id(),
                "text": "Gateway: vm (192.0.2.2) · app 0.1.0 · mode gateway · reason self",
                "ts": 7,
            })
        );
        // Without a LAN address or a kernel release, nothing is made up.
        let p = self_presence_of(&boot(), "vm".into(), None, None, Some("M1".into()));
        assert_eq!(p.ip, None);
        assert_eq!(p.platform.as_deref(), Some(std::env::consts::OS));
        assert_eq!(p.model_identifier.as_deref(), Some("M1"));
        assert_eq!(
            p.text.as_deref(),
            Some("Gateway: vm · app 0.1.0 · mode gateway · reason self")
        );
        // One instance id per process, across runs.
        assert_eq!(self_presence(&boot()).instance_id, p.instance_id);
    }

    #[test]
    fn the_primary_address_prefers_en0_then_eth0_then_the_first() {
        let a = |n: &str, last: u8| (n.to_owned(), Ipv4Addr::new(10, 0, 0, last));
        assert_eq!(pick_ipv4(&[]), None);
        assert_eq!(
            pick_ipv4(&[a("wlan0", 1), a("eth0", 2)]),
            Some(Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(
            pick_ipv4(&[a("eth0", 2), a("en0", 3)]),
            Some(Ipv4Addr::new(10, 0, 0, 3))
        );
        assert_eq!(
            pick_ipv4(&[a("wlan0", 1), a("docker0", 4)]),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
    }
}
