//! Params and results of the methods Tether's gateway implements and its supervisor calls.
//!
//! Method names are in [`names`]. Each type keeps unmodelled fields in `extra`, so a result from
//! upstream OpenClaw (which returns far more) parses without loss.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::ChatMessage;
use crate::error::ErrorShape;
use crate::macros::string_enum;
use crate::maybe::Maybe;
use crate::Map;

/// Method names.
pub mod names {
    /// The handshake.
    pub const CONNECT: &str = "connect";
    /// Health summary (always allowed).
    pub const HEALTH: &str = "health";
    /// Gateway status.
    pub const STATUS: &str = "status";
    /// Presence table.
    pub const SYSTEM_PRESENCE: &str = "system-presence";
    /// Redacted config snapshot with hash.
    pub const CONFIG_GET: &str = "config.get";
    /// Merge-patch the config.
    pub const CONFIG_PATCH: &str = "config.patch";
    /// Replace the config.
    pub const CONFIG_APPLY: &str = "config.apply";
    /// Tail the gateway log.
    pub const LOGS_TAIL: &str = "logs.tail";
    /// Subscribe to `sessions.changed` and `session.tool`.
    pub const SESSIONS_SUBSCRIBE: &str = "sessions.subscribe";
    /// Unsubscribe.
    pub const SESSIONS_UNSUBSCRIBE: &str = "sessions.unsubscribe";
    /// List sessions.
    pub const SESSIONS_LIST: &str = "sessions.list";
    /// Clear a session's transcript.
    pub const SESSIONS_RESET: &str = "sessions.reset";
    /// Delete a session.
    pub const SESSIONS_DELETE: &str = "sessions.delete";
    /// Create a session (optionally with its first turn).
    pub const SESSIONS_CREATE: &str = "sessions.create";
    /// v4: ask the gateway to restart itself.
    pub const GATEWAY_RESTART_REQUEST: &str = "gateway.restart.request";
    /// Start a chat run.
    pub const CHAT_SEND: &str = "chat.send";
    /// Abort a chat run.
    pub const CHAT_ABORT: &str = "chat.abort";
    /// Read a session's transcript.
    pub const CHAT_HISTORY: &str = "chat.history";
    /// Run an agent turn (two responses).
    pub const AGENT: &str = "agent";
    /// Wait for a run to end.
    pub const AGENT_WAIT: &str = "agent.wait";
    /// The agent roster (upstream's CLI asks for it when `agent` has no session key).
    pub const AGENTS_LIST: &str = "agents.list";
    /// Configured and reachable models.
    pub const MODELS_LIST: &str = "models.list";
    /// Decide an exec approval.
    pub const EXEC_APPROVAL_RESOLVE: &str = "exec.approval.resolve";
    /// List pending exec approvals.
    pub const EXEC_APPROVAL_LIST: &str = "exec.approval.list";
    /// `chat.startup`.
    pub const CHAT_STARTUP: &str = "chat.startup";
    /// `chat.metadata`.
    pub const CHAT_METADATA: &str = "chat.metadata";
    /// `agent.identity.get`.
    pub const AGENT_IDENTITY_GET: &str = "agent.identity.get";
    /// The tools an agent's runs are offered.
    pub const TOOLS_EFFECTIVE: &str = "tools.effective";
    /// `sessions.describe`.
    pub const SESSIONS_DESCRIBE: &str = "sessions.describe";
    /// `sessions.messages.subscribe`.
    pub const SESSIONS_MESSAGES_SUBSCRIBE: &str = "sessions.messages.subscribe";
    /// `sessions.messages.unsubscribe`.
    pub const SESSIONS_MESSAGES_UNSUBSCRIBE: &str = "sessions.messages.unsubscribe";
    /// `sessions.observer.visibility`.
    pub const SESSIONS_OBSERVER_VISIBILITY: &str = "sessions.observer.visibility";
    /// `sessions.branches.list`.
    pub const SESSIONS_BRANCHES_LIST: &str = "sessions.branches.list";
    /// `sessions.companion.state`.
    pub const SESSIONS_COMPANION_STATE: &str = "sessions.companion.state";
    /// `models.authStatus`.
    pub const MODELS_AUTH_STATUS: &str = "models.authStatus";
    /// `commands.list`.
    pub const COMMANDS_LIST: &str = "commands.list";
    /// `system.info`.
    pub const SYSTEM_INFO: &str = "system.info";
    /// `environments.list`.
    pub const ENVIRONMENTS_LIST: &str = "environments.list";
    /// `artifacts.list`.
    pub const ARTIFACTS_LIST: &str = "artifacts.list";
    /// `usage.status`.
    pub const USAGE_STATUS: &str = "usage.status";
    /// `last-heartbeat`.
    pub const LAST_HEARTBEAT: &str = "last-heartbeat";
    /// `question.list`.
    pub const QUESTION_LIST: &str = "question.list";
    /// `plugin.approval.list`.
    pub const PLUGIN_APPROVAL_LIST: &str = "plugin.approval.list";
    /// `openclaw.approval.list`.
    pub const OPENCLAW_APPROVAL_LIST: &str = "openclaw.approval.list";
    /// `tasks.list`.
    pub const TASKS_LIST: &str = "tasks.list";
    /// `progressCard.get`.
    pub const PROGRESS_CARD_GET: &str = "progressCard.get";
    /// `talk.catalog`.
    pub const TALK_CATALOG: &str = "talk.catalog";
    /// `cron.list`.
    pub const CRON_LIST: &str = "cron.list";
    /// `cron.status`.
    pub const CRON_STATUS: &str = "cron.status";
    /// `cron.runs`.
    pub const CRON_RUNS: &str = "cron.runs";
    /// `node.list`.
    pub const NODE_LIST: &str = "node.list";
    /// `channels.status`.
    pub const CHANNELS_STATUS: &str = "channels.status";
    /// `channels.pairing.list`.
    pub const CHANNELS_PAIRING_LIST: &str = "channels.pairing.list";
    /// `plugins.list`.
    pub const PLUGINS_LIST: &str = "plugins.list";
    /// `skills.status`.
    pub const SKILLS_STATUS: &str = "skills.status";
    /// `skills.library.list`.
    pub const SKILLS_LIBRARY_LIST: &str = "skills.library.list";
    /// `approval.history`: approvals that ended, newest first.
    pub const APPROVAL_HISTORY: &str = "approval.history";
    /// `exec.approval.grants.list`: standing grants (allow-always for an automation).
    pub const EXEC_APPROVAL_GRANTS_LIST: &str = "exec.approval.grants.list";
    /// `exec.approvals.get`: the exec approvals document and the policy in force.
    pub const EXEC_APPROVALS_GET: &str = "exec.approvals.get";
    /// `sessions.usage`: tokens and activity per session over a date range.
    pub const SESSIONS_USAGE: &str = "sessions.usage";
    /// `diagnostics.lanes`: running and waiting work.
    pub const DIAGNOSTICS_LANES: &str = "diagnostics.lanes";
    /// `transcripts.list`: meeting transcripts.
    pub const TRANSCRIPTS_LIST: &str = "transcripts.list";
    /// `themes.list`: the Control UI's themes.
    pub const THEMES_LIST: &str = "themes.list";
    /// `tools.github.status`: the GitHub identity tools use.
    pub const TOOLS_GITHUB_STATUS: &str = "tools.github.status";
    /// `device.pair.list`: pending and paired devices.
    pub const DEVICE_PAIR_LIST: &str = "device.pair.list";
    /// `webSearch.status`: the web search tool's route.
    pub const WEB_SEARCH_STATUS: &str = "webSearch.status";
    /// `doctor.memory.status`: the memory search runtime.
    pub const DOCTOR_MEMORY_STATUS: &str = "doctor.memory.status";
    /// `update.status`: self-update state.
    pub const UPDATE_STATUS: &str = "update.status";
    /// `plugins.catalog.browse`: installable plugins.
    pub const PLUGINS_CATALOG_BROWSE: &str = "plugins.catalog.browse";
}

/// `health` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthParams {
    /// Force a fresh probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.send` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSendParams {
    /// Session (1..=512 chars).
    pub session_key: String,
    /// The user's message.
    pub message: String,
    /// Becomes the `runId`; repeats are deduplicated.
    pub idempotency_key: String,
    /// Thinking level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Run timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Attachments (`[{type?, mimeType?, fileName?, content: base64}]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Value>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

string_enum! {
    /// `status` of a run acknowledgement.
    pub enum RunStatus {
        /// `chat.send` accepted a new run.
        Started = "started",
        /// `agent` accepted a new run.
        Accepted = "accepted",
        /// A run with this idempotency key is still running.
        InFlight = "in_flight",
        /// A run with this idempotency key already finished.
        Ok = "ok",
        /// The run failed.
        Error = "error",
        /// The run was aborted.
        Aborted = "aborted",
        /// `agent.wait` gave up waiting.
        Timeout = "timeout",
    }
}

/// `chat.send` result: `{runId, status}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunAck {
    /// The run id (the idempotency key).
    pub run_id: String,
    /// `started`, `in_flight`, `ok`, ...
    pub status: RunStatus,
    /// A short outcome, on errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.abort` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatAbortParams {
    /// Session.
    pub session_key: String,
    /// A specific run; all of the session's runs when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.abort` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatAbortResult {
    /// Always true on success.
    pub ok: bool,
    /// Whether anything was running.
    pub aborted: bool,
    /// Runs that were aborted.
    pub run_ids: Vec<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.history` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatHistoryParams {
    /// Session.
    pub session_key: String,
    /// Newest N messages (1..=1000, default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Per-message character cap (1..=500000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u32>,
    /// Runs (idempotency keys) the client sent and wants receipts for: the answer then carries
    /// `inputReceipts` and `inputConsumptions` (upstream's Control UI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_run_ids: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `chat.history` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatHistory {
    /// Canonical session key.
    pub session_key: String,
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
    /// Total messages in the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_messages: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `agent` params (the subset Tether reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentParams {
    /// The message.
    pub message: String,
    /// Becomes the `runId`.
    pub idempotency_key: String,
    /// Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Thinking level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Run timeout in **seconds** (upstream's unit for `agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Extra system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_system_prompt: Option<String>,
    /// Model provider for this run only (with `model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model for this run only: `<model>` with `provider`, or `<provider>/<model>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// First and second `agent` responses, and `agent.wait` results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRunResult {
    /// The run.
    pub run_id: String,
    /// `accepted` first, then `ok`/`error`/`aborted`/`timeout`.
    pub status: RunStatus,
    /// First response: epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<u64>,
    /// Final: `completed`, or the error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Final: the run's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// `agent.wait`: epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// `agent.wait`: epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// `agent.wait`: error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `agent.wait` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentWaitParams {
    /// The run.
    pub run_id: String,
    /// How long to wait (default 30 000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.list` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsListParams {
    /// Max rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only sessions active in the last N minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_minutes: Option<u64>,
    /// Only this agent's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Include the last message preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_last_message: Option<bool>,
    /// Substring filter on key or title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsList {
    /// Epoch ms.
    pub ts: u64,
    /// Where sessions are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Rows returned.
    pub count: u64,
    /// Model defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Value>,
    /// Newest first.
    pub sessions: Vec<SessionRow>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One `sessions.list` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRow {
    /// Canonical key.
    pub key: String,
    /// `direct`, `group`, `global`, `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Epoch ms (may be `null` for a session never used).
    #[serde(default, skip_serializing_if = "Maybe::is_absent")]
    pub updated_at: Maybe<u64>,
    /// Session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Title derived from the first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_title: Option<String>,
    /// Last message, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_preview: Option<String>,
    /// `running`, `done`, `failed`, `killed`, `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// Tokens of the newest run's context (input plus output), when the provider reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// The newest run's input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// The newest run's output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// The context window the session's model has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_tokens: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.reset` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsResetResult {
    /// Always true (a failure is an error).
    pub ok: bool,
    /// Canonical key.
    pub key: String,
    /// The new session id.
    pub session_id: String,
}

/// `sessions.delete` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsDeleteResult {
    /// Always true (a failure is an error).
    pub ok: bool,
    /// Canonical key.
    pub key: String,
    /// Whether a transcript existed and was deleted or archived.
    pub deleted: bool,
}

/// `sessions.reset` / `sessions.delete` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionKeyParams {
    /// Session.
    pub key: String,
    /// `reset`: `new` or `reset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `delete`: also delete the transcript file (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_transcript: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.create` params (the subset Tether serves; see [`SessionsCreateParams::unsupported`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsCreateParams {
    /// The key to create or adopt; a new `agent:<agentId>:dashboard:<uuid>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The agent of a new key (default: the default agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// A first message: the session's first turn starts right away (as `chat.send`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Upstream's other name for a first message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The first turn's run id (idempotency key); a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The first turn's timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The first turn's attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Value>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl SessionsCreateParams {
    /// Options upstream defines that would make the new session something Tether's sessions
    /// cannot be (a fork, a worktree, a per-session model or runtime, a project, a catalog
    /// entry, an incognito or shared session), each with what it asks for. Presentation and
    /// lineage hints (`label`, `displayName`, `titleSource`, `category`, `parentSessionKey`,
    /// `emitCommandHooks`, `succeedsParent`, `visibility`) do not change what the session
    /// does and are not in this list.
    pub fn unsupported(&self) -> Vec<&'static str> {
        const OPTIONS: [(&str, &str); 12] = [
            ("fork", "forking a session"),
            ("forkFrom", "forking a session"),
            ("worktree", "git worktrees"),
            ("model", "a model per session"),
            ("agentRuntime", "agent runtimes"),
            ("contextWindow", "a context window per session"),
            ("thinkingLevel", "thinking levels"),
            ("fastMode", "fast mode"),
            ("permissionMode", "permission modes per session"),
            ("toolOverrides", "tool overrides per session"),
            ("projectId", "projects"),
            ("catalogId", "session catalogs"),
        ];
        let set = |v: &Value| !(v.is_null() || *v == Value::Bool(false));
        let mut out: Vec<&'static str> = OPTIONS
            .iter()
            .filter(|(k, _)| self.extra.get(*k).is_some_and(set))
            .map(|(_, what)| *what)
            .collect();
        if self.extra.get("incognito").is_some_and(set) {
            out.push("incognito sessions");
        }
        out.dedup();
        out
    }
}

/// `sessions.create` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsCreateResult {
    /// Always true.
    pub ok: bool,
    /// The session's canonical key.
    pub key: String,
    /// Its session id.
    pub session_id: String,
    /// Its row, as `sessions.list` has it.
    pub entry: SessionRow,
    /// Whether a first turn started.
    pub run_started: bool,
    /// The first turn's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The first turn's ack status (`started`, `in_flight`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// Why the first turn did not start (the session exists all the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_error: Option<ErrorShape>,
}

/// `models.list` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsList {
    /// Models.
    pub models: Vec<ModelEntry>,
    /// Tether: the model new sessions use, `provider/model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelEntry {
    /// Model id within the provider.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Provider id.
    pub provider: String,
    /// Context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    /// Whether it reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<bool>,
    /// What it takes as input (`text`, `image`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<String>>,
    /// Whether a run can use it now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    /// Tether: `ok`, `unconfigured` (its key is missing) or `unreachable` (its server did not
    /// answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tether: why it is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tether: whether new sessions use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Tether: how a local model was found (`ollama`, `llama.cpp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Tether: built into the gateway (`tether/offline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<bool>,
    /// Whether its server is on this machine or the local network (upstream's rule: the base
    /// URL's host is `localhost`, a loopback or unspecified address, or ends in `.local`);
    /// absent for a model without a base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
    /// Upstream's role tags (`default`, …); absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

string_enum! {
    /// `exec.approval.resolve` decision.
    pub enum ApprovalDecision {
        AllowOnce = "allow-once",
        AllowAlways = "allow-always",
        Deny = "deny",
    }
}

/// `exec.approval.resolve` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecApprovalResolveParams {
    /// Approval id.
    pub id: String,
    /// The decision.
    pub decision: ApprovalDecision,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `config.get` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSnapshot {
    /// Config file path.
    pub path: String,
    /// Whether the file exists.
    pub exists: bool,
    /// Whether the file parses and validates.
    pub valid: bool,
    /// The redacted config.
    #[serde(default)]
    pub config: Value,
    /// Hash of the file on disk; pass it back as `baseHash` when writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Validation problems.
    #[serde(default)]
    pub issues: Vec<Value>,
    /// Warnings (unsupported keys, ...).
    #[serde(default)]
    pub warnings: Vec<Value>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `config.patch` / `config.apply` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigWriteParams {
    /// JSON5 text: a merge patch (`config.patch`) or the whole config (`config.apply`).
    pub raw: String,
    /// The `hash` from `config.get`; required when the file exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_hash: Option<String>,
    /// Note for the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `logs.tail` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsTailParams {
    /// Byte offset from a previous call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Max lines (≤ 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Max bytes (≤ 1 000 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `logs.tail` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsTail {
    /// Log file path.
    pub file: String,
    /// Pass back to continue.
    pub cursor: u64,
    /// File size.
    pub size: u64,
    /// Lines read.
    pub lines: Vec<String>,
    /// More was available than returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// The file was rotated or truncated since `cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `gateway.restart.request` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartRequestParams {
    /// Why (logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Delay before the restart starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}
