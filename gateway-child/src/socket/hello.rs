//! The `hello-ok` payload: what a client learns once its `connect` is granted (server, the
//! methods and events on offer, the snapshot, its own role and scopes, the limits).

use tether_protocol::connect::{
    Features, HelloAuth, HelloOk, Policy, ServerInfo, SessionDefaults, Snapshot,
};
use tether_protocol::consts::{DEFAULT_AGENT_ID, MAIN_KEY, MAIN_SESSION_KEY};
use tether_protocol::{Map, Scope};

use crate::methods::dispatch;
use crate::methods::hub::EVENTS;
use crate::server::services::Services;
use crate::socket::handshake::Grant;

/// The server capabilities this gateway has: `models.list` answers in upstream's published
/// catalog shape (`{models: [{id, name, provider, available, …}]}`).
pub const CAPABILITIES: &[&str] = &["published-model-catalog"];

/// The `hello-ok` payload for a grant.
pub fn hello_ok(services: &Services, grant: &Grant, conn: u64) -> HelloOk {
    let settings = services.settings();
    let admin = grant.scopes.contains(&Scope::Admin);
    let boot = &services.boot();
    HelloOk {
        kind: "hello-ok".to_owned(),
        protocol: grant.protocol,
        server: ServerInfo {
            version: boot.version.to_owned(),
            conn_id: conn.to_string(),
            boot_id: Some(boot.id.clone()),
            extra: Map::new(),
        },
        features: Features {
            methods: dispatch::Method::advertised(),
            events: EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            capabilities: CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
            extra: Map::new(),
        },
        snapshot: Snapshot {
            presence: services.hub().presence_snapshot(),
            health: services.hub().health_snapshot(),
            state_version: services.hub().state_version(),
            uptime_ms: u64::try_from(boot.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            session_defaults: Some(SessionDefaults {
                default_agent_id: Some(DEFAULT_AGENT_ID.to_owned()),
                main_key: Some(MAIN_KEY.to_owned()),
                main_session_key: MAIN_SESSION_KEY.to_owned(),
                scope: Some("per-sender".to_owned()),
                extra: Map::new(),
            }),
            config_path: admin.then(|| settings.loaded.path.display().to_string()),
            state_dir: admin.then(|| services.paths().state_dir.display().to_string()),
            auth_mode: admin.then(|| settings.auth.mode_str().to_owned()),
            applied_config_hash: services.applied_hash(),
            extra: Map::new(),
        },
        canvas_host_url: None,
        auth: Some(HelloAuth {
            role: grant.role.clone(),
            scopes: grant.scopes.clone(),
            device_token: None,
            issued_at_ms: None,
            extra: Map::new(),
        }),
        policy: Policy {
            max_payload: settings.limits.max_payload as u64,
            max_buffered_bytes: settings.limits.max_buffered as u64,
            tick_interval_ms: u64::try_from(settings.limits.tick_interval.as_millis())
                .unwrap_or(u64::MAX),
            extra: attachment_policy(),
        },
        extra: Map::new(),
    }
}

/// `policy.attachments`: what `chat.send` accepts, so a client can check before sending.
fn attachment_policy() -> Map {
    use crate::agent::attachments::{MAX_IMAGE_BYTES, MAX_TOTAL_BYTES};
    let mut m = Map::new();
    m.insert(
        "attachments".into(),
        serde_json::json!({"maxBytes": MAX_TOTAL_BYTES, "maxImageBytes": MAX_IMAGE_BYTES}),
    );
    m
}
