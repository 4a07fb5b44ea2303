//! The handshake: `connect.challenge`, `connect` params and the `hello-ok` reply.
//!
//! A gateway sends `connect.challenge {nonce, ts}` as soon as the socket opens; the client answers
//! with a `connect` request whose params are [`ConnectParams`] (optionally signed with a device
//! key over the nonce, see [`crate::device`]); the gateway replies `hello-ok` ([`HelloOk`]) or an
//! error and a close.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{PresenceEntry, StateVersion};
use crate::macros::string_enum;
use crate::scope::{Role, Scope};
use crate::secret::Secret;
use crate::Map;

string_enum! {
    /// `client.id`: upstream checks it against a fixed list (v4 list).
    pub enum ClientId {
        WebchatUi = "webchat-ui",
        ControlUi = "openclaw-control-ui",
        BrowserCopilot = "openclaw-browser-copilot",
        Tui = "openclaw-tui",
        Webchat = "webchat",
        Cli = "cli",
        GatewayClient = "gateway-client",
        Macos = "openclaw-macos",
        Linux = "openclaw-linux",
        Ios = "openclaw-ios",
        Watchos = "openclaw-watchos",
        Android = "openclaw-android",
        NodeHost = "node-host",
        Worker = "openclaw-worker",
        Test = "test",
        Fingerprint = "fingerprint",
        Probe = "openclaw-probe",
    }
}

string_enum! {
    /// `client.mode` (v4 list).
    pub enum ClientMode {
        Webchat = "webchat",
        Cli = "cli",
        Ui = "ui",
        Backend = "backend",
        Node = "node",
        Worker = "worker",
        Probe = "probe",
        Test = "test",
    }
}

/// `connect.challenge` payload: the nonce a device signature must cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectChallenge {
    /// One nonce per socket (a UUID upstream).
    pub nonce: String,
    /// Server time, epoch ms; clients should sign with this as `signedAt`.
    pub ts: u64,
    /// Fields this version does not model (v4 `capabilities`).
    #[serde(flatten)]
    pub extra: Map,
}

/// `connect` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    /// Lowest protocol version the client speaks.
    pub min_protocol: u32,
    /// Highest protocol version the client speaks.
    pub max_protocol: u32,
    /// Who the client is.
    pub client: ClientInfo,
    /// Capabilities, e.g. `tool-events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<Vec<String>>,
    /// Node role: command allowlist claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Node role: permissions claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Value>,
    /// Node role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// `operator` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Requested scopes; absent means none (default-deny).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// Device identity proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceProof>,
    /// Shared secret or device token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ConnectAuth>,
    /// BCP 47 locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Free-form user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl ConnectParams {
    /// The effective role (`operator` when absent).
    pub fn role(&self) -> Role {
        self.role.clone().unwrap_or_default()
    }

    /// The requested scopes (empty when absent).
    pub fn scopes(&self) -> &[Scope] {
        self.scopes.as_deref().unwrap_or(&[])
    }

    /// Whether the client advertised a capability.
    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps.iter().flatten().any(|c| c == cap)
    }

    /// The highest version in both the client's range and `supported`, if any.
    pub fn negotiate(&self, supported: std::ops::RangeInclusive<u32>) -> Option<u32> {
        let lo = self.min_protocol.max(*supported.start());
        let hi = self.max_protocol.min(*supported.end());
        (lo <= hi).then_some(hi)
    }
}

/// `connect.client`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// One of the known client ids.
    pub id: ClientId,
    /// Label shown in presence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Client version.
    pub version: String,
    /// OS platform; part of the v3 signature.
    pub platform: String,
    /// Device family; part of the v3 signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Hardware model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// One of the known client modes.
    pub mode: ClientMode,
    /// Presence key when no device is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `connect.device`: a signature over the challenge by the client's Ed25519 key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProof {
    /// Lower-case hex SHA-256 of the raw public key.
    pub id: String,
    /// base64url raw 32-byte key (PEM also accepted by gateways).
    pub public_key: String,
    /// base64url 64-byte Ed25519 signature.
    pub signature: String,
    /// Epoch ms the signature claims; must be within ±120 s of the server clock.
    pub signed_at: u64,
    /// The challenge nonce.
    pub nonce: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `connect.auth`. Every value is a [`Secret`].
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    /// The gateway's shared token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// A bootstrap (QR) token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<Secret>,
    /// A per-device token issued at pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<Secret>,
    /// The gateway's shared password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Fields this version does not model (v4 runtime tokens). Never printed: `Debug` of this
    /// struct only names their keys.
    #[serde(flatten)]
    pub extra: Map,
}

impl std::fmt::Debug for ConnectAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectAuth")
            .field("token", &self.token)
            .field("bootstrap_token", &self.bootstrap_token)
            .field("device_token", &self.device_token)
            .field("password", &self.password)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConnectAuth {
    /// The token a device signature covers: the first non-empty of `token`, `deviceToken`,
    /// `bootstrapToken`, else "".
    pub fn signature_token(&self) -> &str {
        [&self.token, &self.device_token, &self.bootstrap_token]
            .into_iter()
            .flatten()
            .map(Secret::expose)
            .find(|t| !t.is_empty())
            .unwrap_or("")
    }
}

/// The `hello-ok` payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk {
    /// Always `"hello-ok"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The negotiated protocol version.
    pub protocol: u32,
    /// Server identity.
    pub server: ServerInfo,
    /// Methods and events this gateway implements.
    pub features: Features,
    /// State at connect time.
    pub snapshot: Snapshot,
    /// Canvas host URL (upstream only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canvas_host_url: Option<String>,
    /// Granted role and scopes (always present in v4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HelloAuth>,
    /// Limits the client must respect.
    pub policy: Policy,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `hello-ok.server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Gateway version.
    pub version: String,
    /// This connection's id.
    pub conn_id: String,
    /// v4: a new id per process start or in-process restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `hello-ok.features`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// Methods this gateway advertises.
    pub methods: Vec<String>,
    /// Events this gateway may send.
    pub events: Vec<String>,
    /// v4: what the server can do beyond its methods (upstream's CLI requires
    /// `published-model-catalog` before it calls `models.list`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl Features {
    /// Whether a method is advertised.
    pub fn has_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    /// Whether a capability is advertised.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// `hello-ok.snapshot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Connected clients.
    #[serde(default)]
    pub presence: Vec<PresenceEntry>,
    /// Cached health summary (`{}` until the first probe).
    #[serde(default)]
    pub health: Value,
    /// Versions of presence and health.
    #[serde(default)]
    pub state_version: StateVersion,
    /// Milliseconds since the gateway (re)started.
    #[serde(default)]
    pub uptime_ms: u64,
    /// Default session keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_defaults: Option<SessionDefaults>,
    /// Admin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Admin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
    /// Admin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<String>,
    /// v4: hash of the config the gateway is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_config_hash: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `snapshot.sessionDefaults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDefaults {
    /// e.g. `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent_id: Option<String>,
    /// e.g. `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_key: Option<String>,
    /// e.g. `agent:main:main`.
    pub main_session_key: String,
    /// e.g. `per-sender`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `hello-ok.auth`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    /// Granted role.
    pub role: Role,
    /// Granted (effective) scopes.
    pub scopes: Vec<Scope>,
    /// Issued to paired devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<Secret>,
    /// When the device token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at_ms: Option<u64>,
    /// Fields this version does not model (v4 `method`, `recoveryScope`).
    #[serde(flatten)]
    pub extra: Map,
}

/// `hello-ok.policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Largest frame the gateway accepts.
    pub max_payload: u64,
    /// Outbound buffer above which the client is dropped.
    pub max_buffered_bytes: u64,
    /// Interval of `tick` events.
    pub tick_interval_ms: u64,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(min: u32, max: u32) -> ConnectParams {
        serde_json::from_value(json!({
            "minProtocol": min, "maxProtocol": max,
            "client": {"id":"cli","version":"1","platform":"linux","mode":"cli"}
        }))
        .unwrap()
    }

    #[test]
    fn negotiates_highest_common_version() {
        assert_eq!(params(3, 4).negotiate(3..=4), Some(4));
        assert_eq!(params(3, 3).negotiate(3..=4), Some(3));
        assert_eq!(params(4, 9).negotiate(3..=4), Some(4));
        assert_eq!(params(1, 2).negotiate(3..=4), None);
        assert_eq!(params(5, 6).negotiate(3..=4), None);
        assert_eq!(params(4, 3).negotiate(3..=4), None);
    }

    #[test]
    fn defaults_and_signature_token_order() {
        let p = params(3, 4);
        assert_eq!(p.role(), Role::Operator);
        assert!(p.scopes().is_empty());
        assert!(!p.has_cap("tool-events"));
        let auth = ConnectAuth {
            token: Some(Secret::new("")),
            device_token: Some(Secret::new("dev")),
            bootstrap_token: Some(Secret::new("boot")),
            ..Default::default()
        };
        assert_eq!(auth.signature_token(), "dev");
        assert_eq!(ConnectAuth::default().signature_token(), "");
    }

    #[test]
    fn auth_debug_hides_secrets() {
        let auth = ConnectAuth {
            token: Some(Secret::new("super-secret")),
            ..Default::default()
        };
        assert!(!format!("{auth:?}").contains("super-secret"));
    }
}
