//! Building, reconfiguring, summarizing and draining the engine.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tether_protocol::ErrorShape;
use tokio_util::task::TaskTracker;

use crate::agent::approvals::Approvals;
use crate::agent::runs::Runs;
use crate::agent::sessions::SessionStore;
use crate::agent::settings::{AgentSettings, ModelChoice};
use crate::agent::*;
use crate::config::schema::Config;
use crate::methods::bus::{ConnId, EventSink};

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
        let settings = AgentSettings::from_config(config, &opts.state_dir);
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
        let s = AgentSettings::from_config(config, &self.inner.opts.state_dir);
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

    pub(in crate::agent) fn check_open(&self) -> Result<(), ErrorShape> {
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

    /// Runs running and waiting now, per session: a session's registered runs are its running
    /// one plus those queued behind it.
    pub fn lanes(&self) -> RunLanes {
        let mut per_session: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (_, run) in self.inner.runs.active(None) {
            *per_session.entry(run.session_key).or_default() += 1;
        }
        let queued = self.inner.sessions.queued();
        let mut lanes = RunLanes {
            sessions: per_session.len(),
            ..RunLanes::default()
        };
        for (key, registered) in per_session {
            let waiting = queued.get(&key).copied().unwrap_or(0).min(registered);
            lanes.running += registered - waiting;
            lanes.queued += waiting;
            if waiting > 0 {
                lanes.sessions_queued += 1;
            }
        }
        lanes
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
}

/// The gateway drains the engine like any other active work: [`Engine::drain`] refuses new
/// runs at once, waits for the running ones until the deadline, aborts the rest and waits for
/// their terminal records, so a transcript is never left mid-write by a stop or restart.
impl crate::server::drain::Drainable for Engine {
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
