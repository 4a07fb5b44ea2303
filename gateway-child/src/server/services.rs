//! `Services`: one run's shared state, handed to connections and handlers — the hub, the
//! run's identity and phase, settings (hot-swappable), budgets, drain hooks, the agent engine,
//! the run's tasks and its two stop tokens. The run (`server`) builds it; everything below it
//! reads it through its verbs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::agent::Engine;
use crate::config::load::Loaded;
use crate::config::reload::state::ReloadState;
use crate::config::schema::Config;
use crate::config::settings::{Resolver, Settings};
use crate::methods::bus::EventSink;
use crate::methods::hub::Hub;
use crate::process::logging::LogSink;
use crate::process::vitals::EventLoopMonitor;
use crate::server::drain::{ActiveWork, DrainHooks};
use crate::socket::preauth::PreauthBudget;
use crate::socket::rate_limit::{AuthLimiter, WriteLimiter};

/// What clients are told to expect after `shutdown` on a restart: an upper bound for "1012
/// received → `hello-ok` on a new connection". Active work was drained before `shutdown` was
/// sent, so this covers only the restart itself. The listener is kept, so a reconnect waits in
/// the backlog and is served as soon as the next run starts; the benchmark measures ~1–2 ms for
/// that on a 2-core machine, and this bound leaves room for a loaded one.
pub const RESTART_EXPECTED: Duration = Duration::from_millis(250);

/// Identity of one run.
#[derive(Debug, Clone)]
pub struct Boot {
    /// New for every run (process start or in-process restart).
    pub id: String,
    /// When the run started.
    pub started: Instant,
    /// When the run started, epoch ms.
    pub started_at_ms: u64,
    /// When the process started, epoch ms.
    pub process_started_at_ms: u64,
    /// Process id.
    pub pid: u32,
    /// Gateway version.
    pub version: &'static str,
    /// Listen address.
    pub addr: SocketAddr,
    /// Runs before this one in this process.
    pub generation: u32,
}

/// Readiness of the run (`/readyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Setting up.
    Starting,
    /// Serving.
    Ready,
    /// Stopping or restarting.
    Draining,
}

/// A restart decided inside the run (config change, `gateway.restart.request`).
#[derive(Debug)]
pub struct RestartRequest {
    /// Why (logged).
    pub reason: String,
    /// The validated settings to restart with.
    pub settings: Box<Settings>,
}

/// The run's shared state, handed to connections and handlers.
#[derive(Debug)]
pub struct Services {
    /// Connections and event fan-out.
    hub: Arc<Hub>,
    /// This run's identity.
    boot: Boot,
    /// Turns config files into settings.
    resolver: Arc<Resolver>,
    /// Log sink.
    log: LogSink,
    /// Unauthenticated sockets per address.
    preauth: PreauthBudget,
    /// What a stop or restart waits for.
    drain: DrainHooks,
    /// In-flight requests (registered in `drain`).
    requests: Arc<ActiveWork>,
    /// The agent engine of this run (registered in `drain`).
    engine: Engine,
    /// Every task of the run.
    tasks: TaskTracker,
    /// Connections stop reading and close; timers stop.
    closing: CancellationToken,
    /// Writers drop their sockets.
    kill: CancellationToken,
    settings: RwLock<Arc<Settings>>,
    config_tx: watch::Sender<Arc<Config>>,
    limiter: Arc<Mutex<AuthLimiter>>,
    writes: Arc<Mutex<WriteLimiter>>,
    phase: watch::Sender<Phase>,
    restarts: mpsc::Sender<RestartRequest>,
    reload: Mutex<ReloadState>,
    /// The runtime's measured health (sampled by the run's sampler task).
    event_loop: Arc<EventLoopMonitor>,
}

/// What a run hands [`Services::new`].
#[derive(Debug)]
pub struct Parts {
    /// Connections and event fan-out.
    pub hub: Arc<Hub>,
    /// This run's identity.
    pub boot: Boot,
    /// Turns config files into settings.
    pub resolver: Arc<Resolver>,
    /// Log sink.
    pub log: LogSink,
    /// The agent engine of this run.
    pub engine: Engine,
    /// The settings the run starts with.
    pub settings: Settings,
    /// Shared across runs: auth failures.
    pub limiter: Arc<Mutex<AuthLimiter>>,
    /// Shared across runs: control-plane writes.
    pub writes: Arc<Mutex<WriteLimiter>>,
    /// Where [`Services::request_restart`] sends.
    pub restarts: mpsc::Sender<RestartRequest>,
    /// The config file the run starts with.
    pub applied: Arc<Loaded>,
}

impl Services {
    /// A run's services, starting (not ready), with empty budgets and fresh tokens.
    pub fn new(p: Parts) -> Self {
        let (config_tx, _) = watch::channel(Arc::new(p.settings.config().clone()));
        Services {
            hub: p.hub,
            boot: p.boot,
            resolver: p.resolver,
            log: p.log,
            preauth: PreauthBudget::new(),
            drain: DrainHooks::new(),
            requests: ActiveWork::new(),
            engine: p.engine,
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
            kill: CancellationToken::new(),
            settings: RwLock::new(Arc::new(p.settings)),
            config_tx,
            limiter: p.limiter,
            writes: p.writes,
            phase: watch::channel(Phase::Starting).0,
            restarts: p.restarts,
            reload: Mutex::new(ReloadState::new(p.applied)),
            event_loop: EventLoopMonitor::new(),
        }
    }

    /// Connections and event fan-out.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// This run's identity.
    pub fn boot(&self) -> &Boot {
        &self.boot
    }

    /// Turns config files into settings.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// The state directory, home of transcripts, logs and the device registry.
    pub fn paths(&self) -> &crate::process::paths::Paths {
        &self.resolver.paths
    }

    /// The run's log sink.
    pub fn log(&self) -> &LogSink {
        &self.log
    }

    /// Unauthenticated sockets per address.
    pub fn preauth(&self) -> &PreauthBudget {
        &self.preauth
    }

    /// What a stop or restart waits for.
    pub fn drain(&self) -> &DrainHooks {
        &self.drain
    }

    /// In-flight requests (registered in the drain hooks).
    pub fn requests(&self) -> &Arc<ActiveWork> {
        &self.requests
    }

    /// The agent engine of this run.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `task` as one of the run's tasks: shutdown waits for it.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(task)
    }

    /// Every task of the run (the run closes and waits for it on shutdown).
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Cancelled when connections should stop reading and close, and timers stop.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Cancelled when writers should drop their sockets.
    pub fn kill(&self) -> &CancellationToken {
        &self.kill
    }

    /// Moves the readiness phase on (`/readyz`, refusing new work once draining).
    pub fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// The settings in effect.
    pub fn settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the settings in effect (hot reload) and tells config subscribers.
    pub fn set_settings(&self, settings: Arc<Settings>) {
        let config = Arc::new(settings.config().clone());
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        self.config_tx.send_replace(config);
    }

    /// The config in effect, updated on every hot reload (for the agent engine).
    pub fn config(&self) -> watch::Receiver<Arc<Config>> {
        self.config_tx.subscribe()
    }

    /// The auth-failure limiter.
    pub fn limiter(&self) -> MutexGuard<'_, AuthLimiter> {
        self.limiter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The control-plane write budget.
    pub fn write_limiter(&self) -> MutexGuard<'_, WriteLimiter> {
        self.writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The readiness phase.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// True once a stop or restart has begun: new work is refused.
    pub fn is_draining(&self) -> bool {
        self.phase() == Phase::Draining
    }

    /// Asks the run to restart with validated settings (after the caller answered its client).
    pub fn request_restart(&self, reason: impl Into<String>, settings: Box<Settings>) {
        let req = RestartRequest {
            reason: reason.into(),
            settings,
        };
        if self.restarts.try_send(req).is_err() {
            info!("a restart is already pending");
        }
    }

    /// Reload bookkeeping.
    pub fn reload_state(&self) -> MutexGuard<'_, ReloadState> {
        self.reload.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hash of the config file the run has applied.
    pub fn applied_hash(&self) -> Option<String> {
        self.reload_state().applied.hash.clone()
    }

    /// The runtime's measured health (`eventLoop` of `health` and `status`).
    pub fn event_loop(&self) -> &Arc<EventLoopMonitor> {
        &self.event_loop
    }

    /// The hub as the engine's event sink.
    pub fn event_sink(&self) -> Arc<dyn EventSink> {
        Arc::clone(&self.hub) as Arc<dyn EventSink>
    }
}
