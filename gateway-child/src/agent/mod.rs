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
//! Every method takes a [`Caller`] (connection, client label, protocol version, `tool-events`
//! cap, granted scopes) and typed params from `tether_protocol::methods`, and returns
//! `Result<T, ErrorShape>`; the gateway puts `T` in the `res` payload or the error in `error`.
//!
//! | method | engine call | result |
//! |---|---|---|
//! | `chat.send` | [`Engine::chat_send`] | [`Ack`]`<RunAck>` |
//! | `chat.abort` | [`Engine::chat_abort`] | `ChatAbortResult` |
//! | `chat.history` | [`Engine::chat_history`] | `ChatHistory` |
//! | `sessions.list` | [`Engine::sessions_list`] | `SessionsList` |
//! | `sessions.reset` | [`Engine::sessions_reset`] | `Value` `{ok, key, sessionId}` |
//! | `sessions.delete` | [`Engine::sessions_delete`] | `Value` `{ok, key, deleted}` |
//! | `agent` | [`Engine::agent`] | `(`[`Ack`]`<AgentRunResult>, `[`AgentDone`]`)` |
//! | `agent.wait` | [`Engine::agent_wait`] | `AgentRunResult` |
//! | `models.list` | [`Engine::models_list`] | `ModelsList` |
//! | `exec.approval.resolve` | [`Engine::exec_approval_resolve`] | `Value` `{ok, id, decision}` |
//! | `exec.approval.list` | [`Engine::exec_approval_list`] | `Value` `{approvals: [ExecApprovalRequested]}` |
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
pub mod emit;
pub mod http;
pub mod provider;
pub mod run;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod tools;
pub mod transcript;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{
    AgentParams, AgentRunResult, AgentWaitParams, ChatAbortParams, ChatAbortResult, ChatHistory,
    ChatHistoryParams, ChatSendParams, ExecApprovalResolveParams, ModelEntry, ModelsList, RunAck,
    RunStatus, SessionKeyParams, SessionRow, SessionsList, SessionsListParams,
};
use tether_protocol::session_key::SessionKey;
use tether_protocol::{ErrorCode, ErrorShape, Map, Maybe, Scope};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{ConnId, EventSink};
use crate::clock::now_ms;
use crate::config::schema::{Config, ProviderApi};
use approvals::Approvals;
use provider::discovery::{self, LocalProbe};
use provider::offline::OfflineInfo;
use provider::retry::RetryPolicy;
use provider::ToolSpec;
use run::{RunKind, RunSpec};
use runs::{ActiveRun, Lookup, RunOutcome, Runs};
use sessions::SessionStore;
use settings::{ModelChoice, Settings};

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
pub struct Caller {
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
}

impl Caller {
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
    settings: RwLock<Arc<Settings>>,
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
    fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The model for a new run: configured, else a discovered local server, else offline.
    async fn resolve_model(&self, settings: &Settings) -> Result<ModelChoice, String> {
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

    fn offline_info(&self, settings: &Settings) -> OfflineInfo {
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

/// `agent {provider?, model?}`: the run's own model, checked before the run is accepted.
fn run_model(settings: &Settings, p: &AgentParams) -> Result<Option<(String, String)>, ErrorShape> {
    let (provider, model) = match (p.provider.as_deref(), p.model.as_deref()) {
        (None, None) => return Ok(None),
        (Some(pr), Some(m)) => (pr.to_owned(), m.to_owned()),
        (None, Some(m)) => match m.split_once('/') {
            Some((pr, m)) => (pr.to_owned(), m.to_owned()),
            None => {
                return Err(ErrorShape::invalid_request(format!(
                    "model {m:?} needs a provider: pass provider, or model as <provider>/<model>"
                )))
            }
        },
        (Some(_), None) => {
            return Err(ErrorShape::invalid_request("provider needs a model"));
        }
    };
    if provider.is_empty() || model.is_empty() || provider.len() > 128 || model.len() > 256 {
        return Err(ErrorShape::invalid_request(
            "provider and model must be 1..128 and 1..256 characters",
        ));
    }
    settings
        .model_by_ref(&provider, &model)
        .map_err(ErrorShape::invalid_request)?;
    Ok(Some((provider, model)))
}

impl Engine {
    /// Builds an engine over `state_dir` (created if missing) emitting into `sink`.
    pub fn new(
        config: &Config,
        opts: EngineOptions,
        sink: Arc<dyn EventSink>,
    ) -> Result<Engine, EngineError> {
        let agents = opts.state_dir.join("agents");
        std::fs::create_dir_all(&agents).map_err(|source| EngineError::Io {
            path: agents.clone(),
            source,
        })?;
        let settings = Settings::from_config(config, &opts.state_dir);
        let approvals = Approvals::new(opts.state_dir.join("exec-approvals.json"), sink.clone());
        Ok(Engine {
            inner: Arc::new(Inner {
                sink,
                settings: RwLock::new(Arc::new(settings)),
                sessions: SessionStore::new(agents),
                runs: Runs::default(),
                approvals,
                http: provider::http_client(),
                retry: opts.retry,
                tool_specs: tools::specs(),
                tasks: TaskTracker::new(),
                draining: std::sync::atomic::AtomicBool::new(false),
                discovered: Mutex::new(None),
                opts,
            }),
        })
    }

    /// Drops idle sessions from memory now (see [`SessionStore::evict_idle`]); returns how
    /// many. The server calls it once a minute; starting a run calls it too.
    pub fn evict_idle_sessions(&self) -> usize {
        let store = &self.inner.sessions;
        let n = store.evict_idle(
            Instant::now(),
            sessions::EVICT_IDLE_AFTER,
            sessions::MAX_IDLE_LOADED,
        );
        if n > 0 {
            tracing::debug!(
                dropped = n,
                loaded = store.loaded(),
                "idle sessions unloaded"
            );
        }
        n
    }

    /// Hot reload: new runs use `config`; running ones keep the settings they started with.
    /// Discovery is re-probed on the next run.
    pub fn apply_settings(&self, config: &Config) {
        let s = Settings::from_config(config, &self.inner.opts.state_dir);
        if let Ok(mut w) = self.inner.settings.write() {
            *w = Arc::new(s);
        }
        if let Ok(mut d) = self.inner.discovered.lock() {
            *d = None;
        }
    }

    /// Whether `POST /v1/chat/completions` is enabled in the current settings.
    pub fn chat_completions_enabled(&self) -> bool {
        self.inner.settings().http_chat_completions
    }

    fn check_open(&self) -> Result<(), ErrorShape> {
        if self
            .inner
            .draining
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(ErrorShape::unavailable(
                "gateway is shutting down; retry after it restarts",
                1500,
            ));
        }
        Ok(())
    }

    /// Registers and spawns a run; the returned sender releases it.
    fn start(
        &self,
        caller: &Caller,
        spec: RunSpec,
    ) -> Result<(ActiveRun, oneshot::Sender<()>), Lookup> {
        let settings = self.inner.settings();
        self.evict_idle_sessions();
        let slot = match self.inner.sessions.get(&spec.key) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "session load failed");
                return Err(Lookup::Unknown);
            }
        };
        let (done_tx, done_rx) = watch::channel(None);
        let tool_conns = match (caller.conn, caller.tool_events) {
            (Some(c), true) => vec![c],
            _ => Vec::new(),
        };
        let active = ActiveRun {
            session_key: spec.key.to_string(),
            cancel: CancellationToken::new(),
            reason: Arc::new(Mutex::new(None)),
            owner_conn: caller.conn,
            owner_client: caller.client.clone(),
            tool_conns: Arc::new(Mutex::new(tool_conns)),
            done: done_rx,
            accepted_at: now_ms(),
        };
        self.inner.runs.insert(&spec.run_id, active.clone())?;
        // Counted until the run holds the session's run lock (decremented by the driver).
        slot.queued
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (release_tx, release_rx) = oneshot::channel();
        let inner = self.inner.clone();
        let a = active.clone();
        tracing::info!(
            run = %crate::logging::Clean(&spec.run_id),
            session = %spec.key,
            client = %crate::logging::Clean(&caller.client),
            "run accepted"
        );
        self.inner.tasks.spawn(run::drive(
            inner, spec, a, settings, slot, release_rx, done_tx,
        ));
        Ok((active, release_tx))
    }

    /// Looks a run id up in the registry, else in the session's transcript: a run of an earlier
    /// gateway generation or process (the registry does not survive a restart) is still the
    /// same run, so repeating its idempotency key after a restart never runs it twice. A
    /// recalled run is cached like a finished one.
    fn lookup_or_recall(&self, key: &SessionKey, run_id: &str) -> Lookup {
        match self.inner.runs.lookup(run_id) {
            Lookup::Unknown => match self.recall(key, run_id) {
                Some(o) => {
                    self.inner.runs.finish(run_id, o.clone());
                    Lookup::Done(o)
                }
                None => Lookup::Unknown,
            },
            found => found,
        }
    }

    /// Rebuilds a finished run's outcome from the session's transcript.
    fn recall(&self, key: &SessionKey, run_id: &str) -> Option<Arc<RunOutcome>> {
        let slot = self.inner.sessions.existing(key).ok()??;
        let s = slot.lock();
        let mut started_at = None;
        let mut ended_at = 0;
        let mut text = String::new();
        let mut stop: Option<String> = None;
        for m in s.msgs() {
            match m {
                transcript::Msg::User { run_id: r, ts, .. } if r == run_id => {
                    started_at = Some(*ts);
                    ended_at = *ts;
                }
                transcript::Msg::Assistant {
                    run_id: r,
                    ts,
                    text: t,
                    stop: st,
                    ..
                } if r == run_id => {
                    if !t.is_empty() {
                        if !text.is_empty() {
                            text.push_str("\n\n");
                        }
                        text.push_str(t);
                    }
                    if st.is_some() {
                        stop.clone_from(st);
                    }
                    ended_at = *ts;
                }
                _ => {}
            }
        }
        let started_at = started_at?;
        let state = match stop.as_deref() {
            None => ChatState::Final,
            Some("aborted") => ChatState::Aborted,
            Some(_) => ChatState::Error,
        };
        let error = (state == ChatState::Error)
            .then(|| format!("the run ended {}", stop.as_deref().unwrap_or("abnormally")));
        Some(Arc::new(RunOutcome {
            state,
            stop_reason: Some(stop.unwrap_or_else(|| "stop".into())),
            error,
            error_kind: None,
            text,
            started_at,
            ended_at,
            provider: None,
            model: None,
            session_id: Some(s.id.clone()),
            usage: None,
        }))
    }

    fn busy(&self, key: &SessionKey) -> Result<(), ErrorShape> {
        if let Ok(Some(slot)) = self.inner.sessions.existing(key) {
            let waiting = slot.queued.load(std::sync::atomic::Ordering::SeqCst);
            if waiting >= MAX_QUEUED_PER_SESSION {
                return Err(ErrorShape::unavailable(
                    format!("session {key} is busy: {waiting} runs are already queued"),
                    2000,
                ));
            }
        }
        Ok(())
    }

    fn cached_status(o: &RunOutcome) -> RunStatus {
        match o.state {
            ChatState::Final => RunStatus::Ok,
            ChatState::Aborted => RunStatus::Aborted,
            _ => RunStatus::Error,
        }
    }

    /// `chat.send`: validates, registers the run and returns `{runId, status:"started"}` (or
    /// the idempotent status). The run's events start when the [`Ack`] is dropped.
    pub async fn chat_send(
        &self,
        caller: &Caller,
        params: ChatSendParams,
    ) -> Result<Ack<RunAck>, ErrorShape> {
        let key = parse_key(&params.session_key)?;
        let run_id = params.idempotency_key.trim().to_owned();
        if run_id.is_empty() || run_id.len() > 256 {
            return Err(ErrorShape::invalid_request(
                "idempotencyKey must be 1..256 characters",
            ));
        }
        let ack = |status| RunAck {
            run_id: run_id.clone(),
            status,
            summary: None,
            extra: Map::new(),
        };
        match self.lookup_or_recall(&key, &run_id) {
            Lookup::Active(_) => return Ok(Ack::new(ack(RunStatus::InFlight), None)),
            Lookup::Done(o) => return Ok(Ack::new(ack(Self::cached_status(&o)), None)),
            Lookup::Unknown => {}
        }
        if params.message.trim().is_empty() && params.attachments.as_ref().is_none_or(Vec::is_empty)
        {
            return Err(ErrorShape::invalid_request(
                "message or attachment required",
            ));
        }
        if params.message.len() > MAX_MESSAGE_BYTES {
            return Err(ErrorShape::invalid_request(format!(
                "message is larger than {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        if params.message.trim() == "/stop" {
            let r = self
                .chat_abort(
                    caller,
                    ChatAbortParams {
                        session_key: params.session_key.clone(),
                        run_id: None,
                        extra: Map::new(),
                    },
                )
                .await?;
            let mut a = ack(RunStatus::Ok);
            a.extra.insert("ok".into(), json!(true));
            a.extra.insert("aborted".into(), json!(r.aborted));
            a.extra.insert("runIds".into(), json!(r.run_ids));
            return Ok(Ack::new(a, None));
        }
        self.check_open()?;
        self.busy(&key)?;
        let settings = self.inner.settings();
        let timeout = params
            .timeout_ms
            .filter(|t| *t > 0)
            .map(Duration::from_millis)
            .unwrap_or(settings.run_timeout);
        let attachments = attachments::parse(params.attachments.as_deref())
            .map_err(ErrorShape::invalid_request)?;
        let spec = RunSpec {
            run_id: run_id.clone(),
            key,
            message: params.message,
            attachments: attachments.into(),
            kind: RunKind::Chat,
            timeout,
            extra_system_prompt: None,
            observer: None,
            model: None,
        };
        match self.start(caller, spec) {
            Ok((_, release)) => Ok(Ack::new(ack(RunStatus::Started), Some(release))),
            Err(Lookup::Active(_)) => Ok(Ack::new(ack(RunStatus::InFlight), None)),
            Err(Lookup::Done(o)) => Ok(Ack::new(ack(Self::cached_status(&o)), None)),
            Err(Lookup::Unknown) => Err(internal("could not open the session")),
        }
    }

    /// `chat.abort`: aborts the session's runs (or one of them). Only the connection or client
    /// that started a run, or an admin, may abort it.
    pub async fn chat_abort(
        &self,
        caller: &Caller,
        params: ChatAbortParams,
    ) -> Result<ChatAbortResult, ErrorShape> {
        let key = parse_key(&params.session_key)?.to_string();
        let mut targets = self.inner.runs.active(Some(&key));
        if let Some(id) = &params.run_id {
            match self.inner.runs.lookup(id) {
                Lookup::Active(a) if a.session_key != key => {
                    return Err(ErrorShape::invalid_request(
                        "runId does not match sessionKey",
                    ))
                }
                Lookup::Done(_) | Lookup::Unknown => targets.clear(),
                Lookup::Active(_) => targets.retain(|(rid, _)| rid == id),
            }
        }
        let allowed = |a: &ActiveRun| {
            caller.has(Scope::Admin)
                || (caller.conn.is_some() && a.owner_conn == caller.conn)
                || a.owner_client == caller.client
        };
        if params.run_id.is_some() && targets.iter().any(|(_, a)| !allowed(a)) {
            return Err(ErrorShape::invalid_request("unauthorized"));
        }
        let mut run_ids = Vec::new();
        for (id, a) in targets {
            if allowed(&a) {
                a.stop("rpc");
                run_ids.push(id);
            }
        }
        // Wait for the terminal events so callers see them before the response.
        for id in &run_ids {
            if let Lookup::Active(a) = self.inner.runs.lookup(id) {
                let mut rx = a.done.clone();
                let _ = rx.wait_for(|o| o.is_some()).await;
            }
        }
        Ok(ChatAbortResult {
            ok: true,
            aborted: !run_ids.is_empty(),
            run_ids,
            extra: Map::new(),
        })
    }

    /// `chat.history`.
    pub async fn chat_history(
        &self,
        _caller: &Caller,
        params: ChatHistoryParams,
    ) -> Result<ChatHistory, ErrorShape> {
        let key = parse_key(&params.session_key)?;
        let limit = params.limit.unwrap_or(HISTORY_DEFAULT_LIMIT);
        if !(1..=HISTORY_MAX_LIMIT).contains(&limit) {
            return Err(ErrorShape::invalid_request(format!(
                "limit must be 1..{HISTORY_MAX_LIMIT}"
            )));
        }
        let max_chars = match params.max_chars {
            Some(m) if !(1..=HISTORY_MAX_CHARS).contains(&m) => {
                return Err(ErrorShape::invalid_request(format!(
                    "maxChars must be 1..{HISTORY_MAX_CHARS}"
                )))
            }
            m => m.map(|m| m as usize),
        };
        let slot = self.inner.sessions.existing(&key).map_err(internal)?;
        let Some(slot) = slot else {
            return Ok(ChatHistory {
                session_key: key.to_string(),
                session_id: None,
                messages: Vec::new(),
                has_more: Some(false),
                total_messages: Some(0),
                extra: Map::new(),
            });
        };
        let (msgs, session_id) = {
            let s = slot.lock();
            let total = s.msgs().len();
            let from = total.saturating_sub(limit as usize);
            (s.msgs()[from..].to_vec(), s.id.clone())
        };
        let total = slot.lock().msgs().len();
        let mut out = Vec::with_capacity(msgs.len());
        let mut bytes = 0usize;
        let mut has_more = total > msgs.len();
        for m in msgs.iter().rev() {
            let mut chat = m.to_chat();
            if let Some(max) = max_chars {
                truncate_message(&mut chat, max);
            }
            let size = serde_json::to_vec(&chat).map(|v| v.len()).unwrap_or(0);
            if size > HISTORY_ENTRY_MAX_BYTES {
                chat = placeholder(&chat, size);
            }
            let size = serde_json::to_vec(&chat).map(|v| v.len()).unwrap_or(0);
            if bytes + size > HISTORY_TOTAL_MAX_BYTES {
                has_more = true;
                break;
            }
            bytes += size;
            out.push(chat);
        }
        out.reverse();
        Ok(ChatHistory {
            session_key: key.to_string(),
            session_id: Some(session_id),
            messages: out,
            has_more: Some(has_more),
            total_messages: Some(total as u64),
            extra: Map::new(),
        })
    }

    fn defaults_value(&self) -> Value {
        let s = self.inner.settings();
        match s.configured_model() {
            Ok(Some(m)) => {
                json!({"modelProvider": m.provider, "model": m.model, "contextTokens": m.context_window})
            }
            _ => {
                let d = self
                    .inner
                    .discovered
                    .lock()
                    .ok()
                    .and_then(|d| d.as_ref().and_then(|d| d.choice.clone()))
                    .unwrap_or_else(ModelChoice::offline);
                json!({"modelProvider": d.provider, "model": d.model, "contextTokens": d.context_window})
            }
        }
    }

    /// `sessions.list`: sessions with a transcript, newest first.
    pub async fn sessions_list(
        &self,
        _caller: &Caller,
        params: SessionsListParams,
    ) -> Result<SessionsList, ErrorShape> {
        let now = now_ms();
        let include_last = params.include_last_message.unwrap_or(false);
        let search = params.search.as_deref().map(str::to_lowercase);
        let mut rows: Vec<SessionRow> = Vec::new();
        self.inner.sessions.visit_all(|s| {
            if !s.persisted() {
                return;
            }
            if let Some(a) = &params.agent_id {
                if s.key.agent_id() != a.to_ascii_lowercase() {
                    return;
                }
            }
            let updated = s.replay.updated_at;
            if let (Some(min), Some(u)) = (params.active_minutes, updated) {
                if now.saturating_sub(u) > min.saturating_mul(60_000) {
                    return;
                }
            }
            let title = s.derived_title();
            if let Some(q) = &search {
                let hay = format!("{} {}", s.key, title.clone().unwrap_or_default()).to_lowercase();
                if !hay.contains(q) {
                    return;
                }
            }
            let status = match (&s.running, &s.replay.last_end) {
                (Some(_), _) => Some("running".to_owned()),
                (None, Some((state, reason))) => Some(status_label(state, reason.as_deref())),
                _ => None,
            };
            let mut extra = Map::new();
            extra.insert("agentId".into(), json!(s.key.agent_id()));
            extra.insert("messageCount".into(), json!(s.msgs().len()));
            rows.push(SessionRow {
                key: s.key.to_string(),
                kind: Some("direct".into()),
                updated_at: updated.map(Maybe::Value).unwrap_or(Maybe::Null),
                session_id: Some(s.id.clone()),
                label: None,
                display_name: None,
                derived_title: title,
                last_message_preview: if include_last { s.last_preview() } else { None },
                status,
                model: s.replay.last_model.as_ref().map(|(_, m)| m.clone()),
                model_provider: s.replay.last_model.as_ref().map(|(p, _)| p.clone()),
                extra,
            });
        });
        rows.sort_by(|a, b| {
            b.updated_at
                .get()
                .cmp(&a.updated_at.get())
                .then_with(|| a.key.cmp(&b.key))
        });
        let limit = params.limit.unwrap_or(100).clamp(1, 10_000) as usize;
        let total = rows.len();
        rows.truncate(limit);
        let mut extra = Map::new();
        extra.insert("totalCount".into(), json!(total));
        extra.insert("hasMore".into(), json!(total > rows.len()));
        Ok(SessionsList {
            ts: now,
            path: Some(self.inner.sessions.dir().display().to_string()),
            count: rows.len() as u64,
            defaults: Some(self.defaults_value()),
            sessions: rows,
            extra,
        })
    }

    async fn stop_session_runs(&self, key: &str, reason: &str) {
        for (_, a) in self.inner.runs.active(Some(key)) {
            a.stop(reason);
            let mut rx = a.done.clone();
            let _ = rx.wait_for(|o| o.is_some()).await;
        }
    }

    fn announce(&self, key: &str, reason: &str) {
        self.inner.sink.emit(
            crate::bus::OutEvent::Named {
                event: tether_protocol::events::names::SESSIONS_CHANGED,
                payload: json!({"sessionKey": key, "key": key, "reason": reason, "ts": now_ms()}),
            },
            crate::bus::Audience::SessionSubscribers,
            true,
        );
    }

    /// `sessions.reset`: aborts the session's runs (`stopReason: "reset"`), archives its
    /// transcript and starts a new session id.
    pub async fn sessions_reset(
        &self,
        _caller: &Caller,
        params: SessionKeyParams,
    ) -> Result<Value, ErrorShape> {
        let key = parse_key(&params.key)?;
        let ks = key.to_string();
        self.stop_session_runs(&ks, "reset").await;
        let slot = self.inner.sessions.get(&key).map_err(internal)?;
        let _held = slot.run_lock.lock().await;
        let id = self.inner.sessions.reset(&slot).map_err(internal)?;
        self.announce(&ks, params.reason.as_deref().unwrap_or("reset"));
        Ok(json!({"ok": true, "key": ks, "sessionId": id}))
    }

    /// `sessions.delete`: aborts the session's runs and forgets it; the transcript is deleted
    /// (`deleteTranscript`, default true) or archived.
    pub async fn sessions_delete(
        &self,
        _caller: &Caller,
        params: SessionKeyParams,
    ) -> Result<Value, ErrorShape> {
        let key = parse_key(&params.key)?;
        let ks = key.to_string();
        self.stop_session_runs(&ks, "deleted").await;
        let Some(slot) = self.inner.sessions.existing(&key).map_err(internal)? else {
            return Ok(json!({"ok": true, "key": ks, "deleted": false}));
        };
        let _held = slot.run_lock.lock().await;
        let had_transcript = slot.lock().persisted();
        self.inner
            .sessions
            .delete(&slot, params.delete_transcript.unwrap_or(true))
            .map_err(internal)?;
        if had_transcript {
            self.announce(&ks, "deleted");
        }
        Ok(json!({"ok": true, "key": ks, "deleted": had_transcript}))
    }

    /// `agent`: the `accepted` ack and a future of the final result (see the module docs).
    pub async fn agent(
        &self,
        caller: &Caller,
        params: AgentParams,
    ) -> Result<(Ack<AgentRunResult>, AgentDone), ErrorShape> {
        let raw_key = params
            .session_key
            .clone()
            .unwrap_or_else(|| match &params.agent_id {
                Some(a) => format!("agent:{a}:main"),
                None => tether_protocol::consts::MAIN_SESSION_KEY.to_owned(),
            });
        let key = parse_key(&raw_key)?;
        let run_id = params.idempotency_key.trim().to_owned();
        if run_id.is_empty() || run_id.len() > 256 {
            return Err(ErrorShape::invalid_request(
                "idempotencyKey must be 1..256 characters",
            ));
        }
        let accepted = |status: RunStatus, at: u64| {
            let mut extra = Map::new();
            extra.insert("sessionKey".into(), json!(key.to_string()));
            extra.insert("agentId".into(), json!(key.agent_id()));
            AgentRunResult {
                run_id: run_id.clone(),
                status,
                accepted_at: Some(at),
                summary: None,
                result: None,
                started_at: None,
                ended_at: None,
                error: None,
                extra,
            }
        };
        let existing = self.lookup_or_recall(&key, &run_id);
        let (ack, rx) = match existing {
            Lookup::Active(a) => (
                Ack::new(accepted(RunStatus::InFlight, a.accepted_at), None),
                a.done.clone(),
            ),
            Lookup::Done(o) => {
                let (_tx, rx) = watch::channel(Some(o.clone()));
                (
                    Ack::new(accepted(Self::cached_status(&o), o.ended_at), None),
                    rx,
                )
            }
            Lookup::Unknown => {
                let raw = params.extra.get("attachments").and_then(Value::as_array);
                let attachments = attachments::parse(raw.map(Vec::as_slice))
                    .map_err(ErrorShape::invalid_request)?;
                if params.message.trim().is_empty() && attachments.is_empty() {
                    return Err(ErrorShape::invalid_request("message required"));
                }
                if params.message.len() > MAX_MESSAGE_BYTES {
                    return Err(ErrorShape::invalid_request(format!(
                        "message is larger than {MAX_MESSAGE_BYTES} bytes"
                    )));
                }
                self.check_open()?;
                self.busy(&key)?;
                let timeout = params
                    .timeout
                    .filter(|t| *t > 0)
                    .map(Duration::from_secs)
                    .unwrap_or(self.inner.settings().run_timeout);
                let model = run_model(&self.inner.settings(), &params)?;
                let spec = RunSpec {
                    run_id: run_id.clone(),
                    key: key.clone(),
                    message: params.message.clone(),
                    attachments: attachments.into(),
                    kind: RunKind::Agent,
                    timeout,
                    extra_system_prompt: params.extra_system_prompt.clone(),
                    observer: None,
                    model,
                };
                match self.start(caller, spec) {
                    Ok((a, release)) => (
                        Ack::new(accepted(RunStatus::Accepted, a.accepted_at), Some(release)),
                        a.done.clone(),
                    ),
                    Err(Lookup::Active(a)) => (
                        Ack::new(accepted(RunStatus::InFlight, a.accepted_at), None),
                        a.done.clone(),
                    ),
                    Err(Lookup::Done(o)) => {
                        let (_tx, rx) = watch::channel(Some(o.clone()));
                        (
                            Ack::new(accepted(Self::cached_status(&o), o.ended_at), None),
                            rx,
                        )
                    }
                    Err(Lookup::Unknown) => return Err(internal("could not open the session")),
                }
            }
        };
        let rid = run_id.clone();
        let done: AgentDone = Box::pin(async move {
            let mut rx = rx;
            let outcome = match rx.wait_for(|o| o.is_some()).await {
                Ok(o) => o.clone(),
                Err(_) => None,
            };
            let Some(o) = outcome else {
                return Err(ErrorShape::unavailable("the run was lost", 1000));
            };
            agent_final(&rid, &o)
        });
        Ok((ack, done))
    }

    /// `agent.wait`: waits up to `timeoutMs` (default 30 s) for a run to end.
    pub async fn agent_wait(
        &self,
        caller: &Caller,
        params: AgentWaitParams,
    ) -> Result<AgentRunResult, ErrorShape> {
        let timeout =
            Duration::from_millis(params.timeout_ms.unwrap_or(30_000).min(24 * 3_600_000));
        let wait_result = |o: &RunOutcome| AgentRunResult {
            run_id: params.run_id.clone(),
            status: Self::cached_status(o),
            accepted_at: None,
            summary: None,
            result: None,
            started_at: Some(o.started_at),
            ended_at: Some(o.ended_at),
            error: o.error.clone(),
            extra: Map::new(),
        };
        match self.inner.runs.lookup(&params.run_id) {
            Lookup::Done(o) => Ok(wait_result(&o)),
            Lookup::Active(a) => {
                let mut rx = a.done.clone();
                let waited = tokio::time::timeout(timeout, rx.wait_for(|o| o.is_some()))
                    .await
                    .map(|r| r.map(|o| o.clone()));
                match waited {
                    Ok(Ok(o)) => match o {
                        Some(o) => Ok(wait_result(&o)),
                        None => Err(ErrorShape::unavailable("the run was lost", 1000)),
                    },
                    Ok(Err(_)) => Err(ErrorShape::unavailable("the run was lost", 1000)),
                    Err(_) => Ok(AgentRunResult {
                        run_id: params.run_id.clone(),
                        status: RunStatus::Timeout,
                        accepted_at: None,
                        summary: None,
                        result: None,
                        started_at: None,
                        ended_at: None,
                        error: None,
                        extra: Map::new(),
                    }),
                }
            }
            Lookup::Unknown => {
                let msg = format!(
                    "no run {:?} (unknown, or finished more than 5 minutes ago)",
                    params.run_id
                );
                Err(if caller.protocol >= 4 {
                    ErrorShape::new(ErrorCode::AgentResultNotFound, msg)
                } else {
                    ErrorShape::invalid_request(msg)
                })
            }
        }
    }

    /// `models.list`: configured models (marked `available` when their server answers and any
    /// `${ENV}` key is set), discovered local models, and `tether/offline`.
    pub async fn models_list(&self, _caller: &Caller) -> Result<ModelsList, ErrorShape> {
        let s = self.inner.settings();
        let default = match s.configured_model() {
            Ok(Some(m)) => Some(m.label()),
            Ok(None) => self.inner.resolve_model(&s).await.ok().map(|m| m.label()),
            Err(_) => None,
        };
        let mut models = Vec::new();
        let mut checks = Vec::new();
        for p in s.providers.values() {
            let api = p.api.unwrap_or(ProviderApi::OpenAiCompletions);
            let base = p.base_url.trim_end_matches('/').to_owned();
            let http = self.inner.http.clone();
            checks.push(async move { discovery::reachable(&http, &base, api).await });
        }
        let reach: Vec<bool> = futures_util::future::join_all(checks).await;
        for ((pid, p), reachable) in s.providers.iter().zip(reach) {
            let key_state = settings::resolve_api_key(p.api_key.as_ref());
            let (status, reason) = match (&key_state, reachable) {
                (Err(m), _) => ("unconfigured", Some(m.clone())),
                (Ok(_), false) => (
                    "unreachable",
                    Some(format!("{} did not answer", p.base_url)),
                ),
                (Ok(_), true) => ("ok", None),
            };
            for m in &p.models {
                let label = format!("{pid}/{}", m.id);
                let mut extra = Map::new();
                extra.insert("available".into(), json!(status == "ok"));
                extra.insert("status".into(), json!(status));
                if let Some(r) = &reason {
                    extra.insert("reason".into(), json!(r));
                }
                extra.insert(
                    "isDefault".into(),
                    json!(default.as_deref() == Some(label.as_str())),
                );
                if let Some(input) = &m.input {
                    extra.insert("input".into(), json!(input));
                }
                models.push(ModelEntry {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    provider: pid.clone(),
                    context_window: m.context_window,
                    reasoning: m.reasoning,
                    extra,
                });
            }
        }
        let discovered = self
            .inner
            .discovered
            .lock()
            .ok()
            .and_then(|d| d.as_ref().and_then(|d| d.choice.clone()));
        if let Some(d) = discovered.filter(|_| s.providers.is_empty()) {
            let mut extra = Map::new();
            extra.insert("available".into(), json!(true));
            extra.insert("status".into(), json!("ok"));
            extra.insert("source".into(), json!(d.source.as_str()));
            extra.insert(
                "isDefault".into(),
                json!(default.as_deref() == Some(d.label().as_str())),
            );
            models.push(ModelEntry {
                id: d.model.clone(),
                name: None,
                provider: d.provider.clone(),
                context_window: None,
                reasoning: None,
                extra,
            });
        }
        let mut extra = Map::new();
        extra.insert("available".into(), json!(true));
        extra.insert("status".into(), json!("ok"));
        extra.insert("builtin".into(), json!(true));
        extra.insert(
            "isDefault".into(),
            json!(default.as_deref() == Some("tether/offline")),
        );
        models.push(ModelEntry {
            id: settings::OFFLINE_MODEL.into(),
            name: Some("Tether offline (no provider configured)".into()),
            provider: settings::OFFLINE_PROVIDER.into(),
            context_window: None,
            reasoning: Some(false),
            extra,
        });
        let mut extra = Map::new();
        if let Some(d) = default {
            extra.insert("default".into(), json!(d));
        }
        Ok(ModelsList { models, extra })
    }

    /// `exec.approval.resolve` (the gateway checks `operator.approvals`; re-checked here).
    pub async fn exec_approval_resolve(
        &self,
        caller: &Caller,
        params: ExecApprovalResolveParams,
    ) -> Result<Value, ErrorShape> {
        if !caller.has(Scope::Approvals) {
            return Err(ErrorShape::missing_scope(
                caller.protocol,
                Scope::Approvals.as_str(),
            ));
        }
        let by = match caller.conn {
            Some(c) => format!("{} (conn {c})", caller.client),
            None => caller.client.clone(),
        };
        self.inner.approvals.resolve(&by, &params)
    }

    /// `exec.approval.list`: pending requests.
    pub async fn exec_approval_list(&self, caller: &Caller) -> Result<Value, ErrorShape> {
        if !caller.has(Scope::Approvals) {
            return Err(ErrorShape::missing_scope(
                caller.protocol,
                Scope::Approvals.as_str(),
            ));
        }
        Ok(json!({"approvals": self.inner.approvals.list()}))
    }

    /// A connection closed: it stops receiving tool events (its runs continue).
    pub fn connection_closed(&self, conn: ConnId) {
        self.inner.runs.forget_conn(conn);
    }

    /// For `health`/`status`.
    pub fn summary(&self) -> EngineSummary {
        let s = self.inner.settings();
        let (model, source) = match s.configured_model() {
            Ok(Some(m)) => (m.label(), m.source.as_str().to_owned()),
            Ok(None) => {
                let d = self
                    .inner
                    .discovered
                    .lock()
                    .ok()
                    .and_then(|d| d.as_ref().and_then(|d| d.choice.clone()))
                    .unwrap_or_else(ModelChoice::offline);
                (d.label(), d.source.as_str().to_owned())
            }
            Err(_) => (s.primary.clone().unwrap_or_default(), "invalid".into()),
        };
        let persisted = std::fs::read_dir(self.inner.sessions.dir())
            .map(|agents| {
                agents
                    .flatten()
                    .filter_map(|a| std::fs::read_dir(a.path().join("sessions")).ok())
                    .map(|files| {
                        files
                            .flatten()
                            .filter(|f| {
                                f.path().extension().and_then(|e| e.to_str()) == Some("jsonl")
                            })
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        EngineSummary {
            active_runs: self.inner.runs.active_count(),
            sessions: persisted,
            default_model: model,
            model_source: source,
            discovery: self.inner.discovery_note(),
            pending_approvals: self.inner.approvals.pending_count(),
            draining: self
                .inner
                .draining
                .load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Stops taking runs, waits for active ones until `deadline`, then aborts the rest with
    /// `stopReason: "shutdown"` and waits for their terminal records.
    pub async fn drain(&self, deadline: tokio::time::Instant) -> DrainReport {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.tasks.close();
        let before = self.inner.runs.active_count();
        if tokio::time::timeout_at(deadline, self.inner.tasks.wait())
            .await
            .is_ok()
        {
            return DrainReport {
                completed: before,
                aborted: 0,
            };
        }
        let rest = self.inner.runs.active(None);
        for (_, a) in &rest {
            a.stop("shutdown");
        }
        self.inner.tasks.wait().await;
        DrainReport {
            completed: before.saturating_sub(rest.len()),
            aborted: rest.len(),
        }
    }

    /// Runs running or queued now.
    pub fn active_runs(&self) -> usize {
        self.inner.runs.active_count()
    }

    /// Resolves when no run is running or queued (new runs started meanwhile are waited for
    /// too). Refuses nothing and aborts nothing: see [`Engine::drain`] for that.
    pub async fn wait_idle(&self) {
        loop {
            let active = self.inner.runs.active(None);
            if active.is_empty() {
                return;
            }
            for (_, a) in active {
                let mut rx = a.done.clone();
                let _ = rx.wait_for(|o| o.is_some()).await;
            }
        }
    }

    /// Starts a run for the HTTP endpoint with an observer; returns the run's cancel handle.
    pub(crate) fn start_observed(
        &self,
        key: SessionKey,
        message: String,
        observer: tokio::sync::mpsc::UnboundedSender<emit::Observed>,
    ) -> Result<ActiveRun, ErrorShape> {
        self.check_open()?;
        self.busy(&key)?;
        let run_id = format!("http-{}", uuid::Uuid::new_v4());
        let spec = RunSpec {
            run_id,
            key,
            message,
            attachments: Arc::from([]),
            kind: RunKind::Http,
            timeout: self.inner.settings().run_timeout,
            extra_system_prompt: None,
            observer: Some(observer),
            model: None,
        };
        let caller = Caller {
            conn: None,
            client: "http".into(),
            protocol: 4,
            tool_events: false,
            scopes: Vec::new(),
        };
        match self.start(&caller, spec) {
            Ok((a, release)) => {
                let _ = release.send(());
                Ok(a)
            }
            Err(_) => Err(internal("could not start the run")),
        }
    }
}

/// The gateway drains the engine like any other active work: [`Engine::drain`] refuses new
/// runs at once, waits for the running ones until the deadline, aborts the rest and waits for
/// their terminal records, so a transcript is never left mid-write by a stop or restart.
impl crate::drain::Drainable for Engine {
    fn active(&self) -> usize {
        self.active_runs()
    }

    fn wait_idle(&self) -> futures_util::future::BoxFuture<'_, ()> {
        Box::pin(Engine::wait_idle(self))
    }

    fn abort(&self) {
        for (_, a) in self.inner.runs.active(None) {
            a.stop("shutdown");
        }
    }

    fn drain(&self, deadline: tokio::time::Instant) -> futures_util::future::BoxFuture<'_, bool> {
        Box::pin(async move {
            let report = Engine::drain(self, deadline).await;
            if report.aborted > 0 {
                tracing::warn!(
                    aborted = report.aborted,
                    completed = report.completed,
                    "drain deadline passed: runs aborted"
                );
            }
            report.aborted == 0
        })
    }
}

/// `agent`'s final response for an outcome: `ok` with the reply as `result.payloads`, `aborted`
/// likewise, and an error shape for a failed run.
fn agent_final(run_id: &str, o: &RunOutcome) -> Result<AgentRunResult, ErrorShape> {
    let result = run::agent_result(run_id, o);
    let (status, summary) = match o.state {
        ChatState::Final => (RunStatus::Ok, "completed".to_owned()),
        ChatState::Aborted => (
            RunStatus::Aborted,
            format!(
                "aborted ({})",
                o.stop_reason.clone().unwrap_or_else(|| "rpc".into())
            ),
        ),
        _ => {
            let msg = o.error.clone().unwrap_or_else(|| "the run failed".into());
            let mut e = ErrorShape::unavailable(msg.clone(), 1000);
            e.retryable = Some(false);
            e.retry_after_ms = None;
            e.details = Some(json!({"runId": run_id, "status": "error", "summary": msg,
                "errorKind": o.error_kind}));
            return Err(e);
        }
    };
    Ok(AgentRunResult {
        run_id: run_id.to_owned(),
        status,
        accepted_at: None,
        summary: Some(summary),
        result: Some(result),
        started_at: Some(o.started_at),
        ended_at: Some(o.ended_at),
        error: None,
        extra: Map::new(),
    })
}

fn truncate_message(m: &mut tether_protocol::ChatMessage, max: usize) {
    use tether_protocol::MessageContent;
    let cut = |s: &mut String| {
        if s.chars().count() > max {
            let kept: String = s.chars().take(max).collect();
            *s = format!("{kept}\n…[truncated]");
        }
    };
    match &mut m.content {
        MessageContent::Text(t) => cut(t),
        MessageContent::Blocks(bs) => {
            for b in bs {
                if let Some(t) = &mut b.text {
                    cut(t);
                }
            }
        }
    }
}

fn placeholder(m: &tether_protocol::ChatMessage, size: usize) -> tether_protocol::ChatMessage {
    let mut extra = Map::new();
    extra.insert("omitted".into(), json!(true));
    if let Some(r) = m.extra.get("runId") {
        extra.insert("runId".into(), r.clone());
    }
    tether_protocol::ChatMessage {
        role: m.role.clone(),
        content: tether_protocol::MessageContent::Blocks(vec![
            tether_protocol::ContentBlock::text(format!(
                "[message omitted from history: {size} bytes]"
            )),
        ]),
        timestamp: m.timestamp,
        extra,
    }
}
