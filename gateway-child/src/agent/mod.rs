//! The agent engine: sessions, chat runs, model providers, workspace tools with exec
//! approvals, and the OpenAI-compatible HTTP endpoint.
//!
//! It owns everything between a validated, authorized method call and the events it causes.
//! It never sees a socket: every event goes through the [`EventSink`] given at construction
//! (the hub shapes chat events per protocol version, applies scope guards, the `tool-events`
//! cap, slow-consumer policy and frame `seq`). It must never check the caller's scopes in place
//! of the gateway's dispatch table (it only re-checks `operator.approvals` for approvals and
//! run ownership for aborts), and never log a provider key.
//!
//! # API (one async method per protocol method)
//!
//! Every method takes a [`EngineCaller`] (connection, client label, protocol version, `tool-events`
//! cap, granted scopes) and typed params from `tether_protocol::methods`, and returns
//! `Result<T, ErrorShape>`; the gateway puts `T` in the `res` payload or the error in `error`.
//!
//! | method | engine call | result |
//! |---|---|---|
//! | `chat.send` | [`Engine::chat_send`] | [`Ack`]`<RunAck>` |
//! | `chat.abort` | [`Engine::chat_abort`] | `ChatAbortResult` |
//! | `chat.history` | [`Engine::chat_history`] | `ChatHistory` |
//! | `sessions.list` | [`Engine::sessions_list`] | `SessionsList` |
//! | `sessions.reset` | [`Engine::sessions_reset`] | `SessionsResetResult` |
//! | `sessions.delete` | [`Engine::sessions_delete`] | `SessionsDeleteResult` |
//! | `agent` | [`Engine::agent`] | `(`[`Ack`]`<AgentRunResult>, `[`AgentDone`]`)` |
//! | `agent.wait` | [`Engine::agent_wait`] | `AgentRunResult` |
//! | `models.list` | [`Engine::models_list`] | `ModelsList` |
//! | `exec.approval.resolve` | [`Engine::exec_approval_resolve`] | `Value` `{ok, id, decision}` |
//! | `exec.approval.list` | [`Engine::exec_approval_list`] | `Value` `[ExecApprovalRequested]` |
//!
//! **Ack ordering.** `chat.send` and `agent` return an [`Ack`]: the run's first event is held
//! back until the `Ack` is dropped. The gateway serializes `ack.value`, queues the `res` frame
//! on the connection, then drops the `Ack`, so the ack always precedes the run's events.
//!
//! **`agent`'s two responses.** [`Engine::agent`] returns the `accepted` ack and an
//! [`AgentDone`] future; the gateway sends the ack as the first `res`, then awaits the future
//! (in a task) and sends its value, or its error, as a second `res` with the same request id.
//!
//! **Runs.** One run per session at a time: further `chat.send`/`agent` calls for a busy
//! session are **queued** (FIFO, up to [`MAX_QUEUED_PER_SESSION`] waiting; beyond that the
//! call fails with retryable `UNAVAILABLE`). A queued run is acked `started` at once and its
//! events begin when it reaches the front; aborting it removes it from the queue (it emits only
//! `lifecycle end {aborted}` and `chat aborted`). The idempotency key is the run id: a repeat
//! while the run is queued or running returns `in_flight`; after it ended, the cached status
//! (`ok`, `error` or `aborted`) for 5 minutes (1000 entries).
//!
//! **Lifecycle.** [`Engine::apply_settings`] swaps the settings for new runs (running ones
//! keep their snapshot). [`Engine::drain`] refuses new runs, waits for active ones until the
//! deadline, then aborts the rest (`stopReason: "shutdown"`) and waits for their terminal
//! records; an engine that drained stays closed (build a new one for the next generation).
//! [`Engine::connection_closed`] drops a connection from tool-event audiences (its runs keep
//! going). [`Engine::summary`] feeds `health`/`status`. [`Engine::chat_completions`] serves
//! `POST /v1/chat/completions` (the gateway routes to it only when enabled and after checking
//! the Bearer token).

// The methods return the protocol's `ErrorShape` by value: it is the wire contract the gateway
// sends as is, and errors are the rare path.
#![allow(clippy::result_large_err)]

pub mod allowlist;
pub mod approvals;
pub mod attachments;
pub mod completions;
pub mod emit;
mod engine;
pub mod provider;
pub mod run;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod tools;
pub mod transcript;
pub mod usage;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tether_protocol::methods::AgentRunResult;
use tether_protocol::session_key::SessionKey;
use tether_protocol::{ErrorShape, Scope};
use tokio::sync::oneshot;
use tokio_util::task::TaskTracker;

use crate::methods::bus::{ConnId, EventSink};
use approvals::Approvals;
use provider::discovery::{self, LocalProbe};
use provider::offline::OfflineInfo;
use provider::retry::RetryPolicy;
use provider::ToolSpec;
use runs::Runs;
use sessions::SessionStore;
use settings::{AgentSettings, ModelChoice};

/// Runs that may wait behind the running one in a session.
pub const MAX_QUEUED_PER_SESSION: usize = 8;
/// `chat.history` default and maximum `limit`.
pub const HISTORY_DEFAULT_LIMIT: u32 = 200;
/// `chat.history` maximum `limit`.
pub const HISTORY_MAX_LIMIT: u32 = 1000;
/// `chat.history` maximum `maxChars`.
pub const HISTORY_MAX_CHARS: u32 = 500_000;
/// A history entry larger than this (serialized) is replaced by a placeholder.
pub const HISTORY_ENTRY_MAX_BYTES: usize = 512 * 1024;
/// `chat.history` total budget.
pub const HISTORY_TOTAL_MAX_BYTES: usize = 6 * 1024 * 1024;
/// Longest `chat.send` message accepted (bytes).
pub const MAX_MESSAGE_BYTES: usize = 5_000_000;
/// How long a local-server discovery result is reused.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(30);

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineCaller {
    /// The connection (`None` for HTTP).
    pub conn: Option<ConnId>,
    /// Client label for logs and `resolvedBy` (e.g. `cli`, `openclaw-control-ui`).
    pub client: String,
    /// Negotiated protocol version (3 or 4).
    pub protocol: u32,
    /// Whether the connection advertised `caps:["tool-events"]`.
    pub tool_events: bool,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// An operator UI (upstream's Control UI, or any `webchat`-mode client): its `chat.send`
    /// runs report their steps to it as `chat.send_timing`.
    pub operator_ui: bool,
}

impl EngineCaller {
    fn has(&self, scope: Scope) -> bool {
        scope.is_satisfied_by(&self.scopes)
    }
}

/// A response value whose run starts only when this is dropped (after the gateway queued the
/// `res` frame).
#[derive(Debug)]
pub struct Ack<T> {
    /// The response payload.
    pub value: T,
    release: Option<oneshot::Sender<()>>,
}

impl<T> Ack<T> {
    fn new(value: T, release: Option<oneshot::Sender<()>>) -> Self {
        Ack { value, release }
    }

    /// Releases the run now (same as dropping).
    pub fn release(mut self) -> T
    where
        T: Clone,
    {
        if let Some(r) = self.release.take() {
            let _ = r.send(());
        }
        self.value.clone()
    }
}

impl<T> Drop for Ack<T> {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            let _ = r.send(());
        }
    }
}

/// `agent`'s second response: resolves when the run ends.
pub type AgentDone = Pin<Box<dyn Future<Output = Result<AgentRunResult, ErrorShape>> + Send>>;

/// Construction options besides the config.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The gateway's state dir (transcripts, workspace default, approvals).
    pub state_dir: PathBuf,
    /// The config file path, shown by the offline model.
    pub config_path: Option<PathBuf>,
    /// Local servers probed when nothing is configured (default: Ollama 11434, llama.cpp 8080).
    pub local_probes: Vec<LocalProbe>,
    /// Provider retry policy.
    pub retry: RetryPolicy,
}

impl EngineOptions {
    /// Defaults for a state dir.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        EngineOptions {
            state_dir: state_dir.into(),
            config_path: None,
            local_probes: discovery::default_probes(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Engine construction failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The state dir could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// Which path.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// For `health`/`status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineSummary {
    /// Runs running or queued.
    pub active_runs: usize,
    /// Sessions with a transcript.
    pub sessions: usize,
    /// `<provider>/<model>` new runs would use (discovery not re-probed).
    pub default_model: String,
    /// `configured`, `ollama`, `llama.cpp`, `offline`, or `invalid`.
    pub model_source: String,
    /// What local discovery found last.
    pub discovery: String,
    /// Pending exec approvals.
    pub pending_approvals: usize,
    /// Whether the engine is draining (refusing new runs).
    pub draining: bool,
}

/// The allow-always decisions in force and the file that keeps them
/// ([`Engine::allow_always`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AllowAlways {
    /// The document's path.
    pub path: PathBuf,
    /// `(command, cwd)`, oldest first.
    pub entries: Vec<(String, String)>,
}

/// Runs now, as lanes ([`Engine::lanes`]): sessions run one run at a time, and any number of
/// sessions run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunLanes {
    /// Runs running.
    pub running: usize,
    /// Runs waiting behind the running one of their session.
    pub queued: usize,
    /// Sessions with a run running or waiting.
    pub sessions: usize,
    /// Sessions with a run waiting.
    pub sessions_queued: usize,
}

/// What `drain` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DrainReport {
    /// Runs that ended by themselves before the deadline.
    pub completed: usize,
    /// Runs aborted at the deadline.
    pub aborted: usize,
}

struct Discovered {
    at: Instant,
    choice: Option<ModelChoice>,
    note: String,
}

/// Shared engine state.
pub struct Inner {
    sink: Arc<dyn EventSink>,
    settings: RwLock<Arc<AgentSettings>>,
    opts: EngineOptions,
    sessions: SessionStore,
    runs: Runs,
    approvals: Approvals,
    http: reqwest::Client,
    retry: RetryPolicy,
    tool_specs: Vec<ToolSpec>,
    tasks: TaskTracker,
    draining: std::sync::atomic::AtomicBool,
    discovered: Mutex<Option<Discovered>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state_dir", &self.opts.state_dir)
            .finish()
    }
}

/// The agent engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

fn internal(e: impl std::fmt::Display) -> ErrorShape {
    ErrorShape::unavailable(format!("session store error: {e}"), 1000)
}

fn parse_key(raw: &str) -> Result<SessionKey, ErrorShape> {
    SessionKey::parse(raw).map_err(|e| ErrorShape::invalid_request(e.to_string()))
}

/// `sessions.list` status for a run end (`done`, `failed`, `killed`, `timeout`).
pub(crate) fn status_label(state: &str, reason: Option<&str>) -> String {
    match (state, reason) {
        ("final", _) => "done",
        ("error", _) => "failed",
        (_, Some("timeout")) => "timeout",
        _ => "killed",
    }
    .into()
}

impl Inner {
    fn settings(&self) -> Arc<AgentSettings> {
        self.settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The model for a new run: configured, else a discovered local server, else offline.
    async fn resolve_model(&self, settings: &AgentSettings) -> Result<ModelChoice, String> {
        if let Some(m) = settings.configured_model()? {
            return Ok(m);
        }
        let cached = self.discovered.lock().ok().and_then(|d| {
            d.as_ref()
                .filter(|d| d.at.elapsed() < DISCOVERY_TTL)
                .map(|d| d.choice.clone())
        });
        if let Some(c) = cached {
            return Ok(c.unwrap_or_else(ModelChoice::offline));
        }
        let (choice, note) = discovery::discover(&self.http, &self.opts.local_probes).await;
        tracing::info!(found = %note, "local model discovery");
        if let Ok(mut d) = self.discovered.lock() {
            *d = Some(Discovered {
                at: Instant::now(),
                choice: choice.clone(),
                note,
            });
        }
        Ok(choice.unwrap_or_else(ModelChoice::offline))
    }

    fn discovery_note(&self) -> String {
        self.discovered
            .lock()
            .ok()
            .and_then(|d| d.as_ref().map(|d| d.note.clone()))
            .unwrap_or_default()
    }

    fn offline_info(&self, settings: &AgentSettings) -> OfflineInfo {
        OfflineInfo {
            config_path: self
                .opts
                .config_path
                .as_ref()
                .map(|p| format!("`{}`", p.display())),
            workspace: settings.workspace.display().to_string(),
            discovery_note: self.discovery_note(),
        }
    }
}
