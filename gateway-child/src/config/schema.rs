//! The typed configuration: the subset of upstream's `openclaw.json` (JSON5) that Tether
//! supports, plus a few Tether-only keys. An existing `openclaw.json` loads as is: keys this
//! schema does not know are reported as warnings by the loader (one per key), never as errors.
//!
//! This module only declares shapes and defaults. Loading, validation, redaction, hashing and
//! reload planning live beside it in `config/`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tether_protocol::Secret;

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// `gateway.*`: listener, auth, reload.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// `models.*`: model providers.
    #[serde(default)]
    pub models: ModelsConfig,
    /// `agents.*`: agent defaults (model, workspace).
    #[serde(default)]
    pub agents: AgentsConfig,
    /// `tools.*`: tool policy (exec approvals).
    #[serde(default)]
    pub tools: ToolsConfig,
}

/// `gateway.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayConfig {
    /// Upstream's guard (`local`); accepted, not required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Listen port (default 18789; `0` picks a free port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `loopback` (default) or `lan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<BindMode>,
    /// Client authentication.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Config hot reload.
    #[serde(default)]
    pub reload: ReloadConfig,
    /// Browser origins allowed to open the WebSocket.
    #[serde(default)]
    pub control_ui: ControlUiConfig,
    /// Optional HTTP endpoints on the gateway port.
    #[serde(default)]
    pub http: HttpConfig,
    /// Tether: handshake deadline (default 10 000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_timeout_ms: Option<u64>,
    /// Tether: `tick` interval (default 30 000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_interval_ms: Option<u64>,
    /// Tether: how long a stop or restart waits for active runs (default 30 000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_timeout_ms: Option<u64>,
}

/// `gateway.bind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindMode {
    /// 127.0.0.1 (and ::1 when available).
    Loopback,
    /// 0.0.0.0: every interface. Refused without auth.
    Lan,
}

/// `gateway.auth.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    /// `token` (default), `password` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AuthMode>,
    /// Shared token. Prefer the `TETHER_GATEWAY_TOKEN` environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Shared password. Prefer `--password-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// `gateway.auth.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Shared token.
    Token,
    /// Shared password.
    Password,
    /// No shared secret (loopback only).
    None,
}

/// `gateway.reload.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadConfig {
    /// `off`, `hot`, `restart` or `hybrid` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ReloadMode>,
    /// Debounce for file changes (default 300 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce_ms: Option<u64>,
}

/// `gateway.reload.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReloadMode {
    /// Ignore file changes.
    Off,
    /// Apply hot changes; log and ignore changes that need a restart.
    Hot,
    /// Restart in-process on every change.
    Restart,
    /// Hot when possible, restart in-process when needed.
    Hybrid,
}

/// `gateway.controlUi.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlUiConfig {
    /// Exact browser origins allowed to connect (e.g. `tauri://localhost`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// A directory of upstream's Control UI assets (e.g. an installed openclaw's
    /// `dist/control-ui`) to serve at `/`. Nothing is served without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// `false` stops serving `root` without forgetting it (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `gateway.http.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpConfig {
    /// Optional endpoints.
    #[serde(default)]
    pub endpoints: HttpEndpoints,
}

/// `gateway.http.endpoints.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpEndpoints {
    /// `POST /v1/chat/completions` (off by default).
    #[serde(default)]
    pub chat_completions: EndpointToggle,
}

/// An endpoint switch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointToggle {
    /// Whether the endpoint is served.
    #[serde(default)]
    pub enabled: bool,
}

/// `models.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsConfig {
    /// Providers by id (`<id>/<model>` names a model).
    #[serde(default)]
    pub providers: std::collections::BTreeMap<String, ProviderConfig>,
}

/// `models.providers.<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfig {
    /// API base URL, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// Literal key or `${ENV_VAR}`; resolved when a request is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Wire API (default `openai-completions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ProviderApi>,
    /// Models this provider serves.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
}

/// `models.providers.<id>.api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProviderApi {
    /// OpenAI chat completions (OpenAI, Ollama, llama.cpp, vLLM, LM Studio, OpenRouter).
    #[serde(rename = "openai-completions")]
    OpenAiCompletions,
    /// Anthropic Messages API.
    #[serde(rename = "anthropic-messages")]
    AnthropicMessages,
}

/// One model of a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelConfig {
    /// Model id as the provider knows it.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Max output tokens per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Whether it reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<bool>,
    /// Input kinds it accepts (`"text"`, `"image"`); images are sent only to a model that
    /// lists `"image"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<String>>,
}

/// `agents.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentsConfig {
    /// Defaults for every agent.
    #[serde(default)]
    pub defaults: AgentDefaults,
}

/// `agents.defaults.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentDefaults {
    /// Model selection.
    #[serde(default)]
    pub model: AgentModel,
    /// Directory the tools are confined to (default `<state>/workspace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<PathBuf>,
    /// Run timeout in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

/// `agents.defaults.model`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentModel {
    /// `<provider>/<model>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
}

/// `tools.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolsConfig {
    /// The `exec` tool.
    #[serde(default)]
    pub exec: ExecToolConfig,
}

/// `tools.exec.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecToolConfig {
    /// When to ask for approval: `always`, `on-miss` (default: unless allowlisted) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<ExecAsk>,
    /// Which commands may run at all: `deny` (none), `allowlist` (allowlisted ones, others
    /// only as `ask` allows) or `full`. Unset, `ask` alone decides (see
    /// [`ExecSecurity::implied_by`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<ExecSecurity>,
    /// Commands that run without approval (see the engine's allowlist rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist: Vec<String>,
    /// Per-command timeout in seconds (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Output cap in bytes (default 64 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
    /// Tether: how long an approval request waits for a decision before it is denied
    /// (default 120 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u64>,
}

/// `tools.exec.security` (upstream's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecSecurity {
    /// No command runs: `exec` is refused before anyone is asked.
    Deny,
    /// Allowlisted commands (and those allowed always) run; the rest are asked about under
    /// `on-miss` / `always` and refused under `off`.
    Allowlist,
    /// Any command may run; only `ask: always` asks.
    Full,
}

impl ExecSecurity {
    /// The security Tether's `ask` alone has always meant, in upstream's terms: `on-miss` asks
    /// for what the allowlist misses (`allowlist`), `always` asks before everything and `off`
    /// runs everything (`full`).
    pub fn implied_by(ask: ExecAsk) -> Self {
        match ask {
            ExecAsk::OnMiss => Self::Allowlist,
            ExecAsk::Always | ExecAsk::Off => Self::Full,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allowlist => "allowlist",
            Self::Full => "full",
        }
    }
}

/// `tools.exec.ask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecAsk {
    /// Every command needs approval.
    Always,
    /// Commands not on the allowlist need approval.
    OnMiss,
    /// No approval (the workspace confinement still applies to file tools).
    Off,
}
