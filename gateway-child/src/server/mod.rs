//! One run of the gateway on a listener it is handed: [`run`] serves until told to stop or
//! restart, then shuts down in order and returns what should happen next.
//!
//! A run owns its [`Services`] (hub, settings, limits, drain hooks, the agent engine, tasks).
//! Every task it starts is tracked by one `TaskTracker` and stopped through two tokens: `closing`
//! (stop reading, close sockets, stop timers) and `kill` (drop whatever is still writing). Each run
//! builds its own [`Engine`] over the shared state dir (a drained engine stays closed); the
//! previous run's engine has finished every transcript write before the next one starts.
//! Shutdown is always the same sequence: readiness off and no new runs or state changes →
//! drain active work (agent runs, in-flight requests) up to the drain deadline, aborting what is
//! left → let the responses those aborts released go out (up to [`SETTLE`]) → `shutdown
//! {reason, restartExpectedMs}` event → close every socket with 1012 "service restart" → hand
//! the last writers (bounded by their close grace) back to the caller as [`Stragglers`]. Because
//! the drain comes first, a streaming run ends with its `final` (or `aborted`) before clients hear
//! `shutdown`, and `restartExpectedMs` only has to cover the restart itself. The listener is not
//! closed here, so during an in-process restart new connections wait in the kernel backlog.

pub mod drain;
pub mod services;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tether_protocol::events::names;
use tether_protocol::{close, Maybe};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::agent::{Engine, EngineOptions};
use crate::config::reload;
use crate::config::schema::ReloadMode;
use crate::config::settings::{Note, Resolver, Settings};
use crate::methods::bus::{Audience, EventSink};
use crate::methods::health;
use crate::methods::hub::Hub;
use crate::process::clock::now_ms;
use crate::process::listen::Listeners;
use crate::process::logging::LogSink;
pub use crate::server::services::RESTART_EXPECTED;
use crate::server::services::{Boot, Parts, Phase, Services};
use crate::socket::rate_limit::{AuthLimiter, WriteLimiter};

/// How long a stop or restart lets responses released by the drain (an aborted run's `agent`
/// result, a `chat.abort` reply) go out before the sockets close.
pub const SETTLE: Duration = Duration::from_millis(100);
/// How often the health summary is refreshed and broadcast.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(60);
/// How long stragglers (writers still flushing close frames) may take before being dropped.
pub const STRAGGLER_DEADLINE: Duration = Duration::from_secs(6);

/// A request from outside the run (signals, or an embedding program).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Stop: drain and exit.
    Stop,
    /// Restart in-process with the config re-read from disk (refused if it is invalid).
    Restart {
        /// Why (logged).
        reason: String,
    },
}

/// What the run ended with.
#[derive(Debug)]
pub enum Exit {
    /// Stopped for good.
    Stopped,
    /// Run again with these (validated) settings.
    Restart(Box<Settings>),
}

/// A finished run: what to do next, and the tasks still closing sockets.
#[derive(Debug)]
pub struct Finished {
    /// Stop or restart.
    pub exit: Exit,
    /// Writers still flushing their close frames.
    pub stragglers: Stragglers,
}

/// Tasks of a finished run that are still flushing close frames (each bounded by its grace).
#[derive(Debug)]
pub struct Stragglers {
    tasks: TaskTracker,
    kill: CancellationToken,
}

impl Stragglers {
    /// Waits for them up to `deadline`, then drops their sockets.
    pub async fn finish(self, deadline: Duration) {
        if tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_err()
        {
            self.kill.cancel();
            let _ = tokio::time::timeout(Duration::from_millis(200), self.tasks.wait()).await;
        }
    }
}

/// A run failed to start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener is unusable.
    #[error("listener: {0}")]
    Listener(#[source] std::io::Error),
    /// The agent engine could not prepare its state dir.
    #[error("agent engine: {0}")]
    Engine(#[source] crate::agent::EngineError),
}

/// Announced when a run is ready to serve.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The port.
    pub port: u16,
    /// This run's boot id.
    pub boot_id: String,
    /// The process id.
    pub pid: u32,
    /// The hub, as the engine's event sink.
    pub hub: Arc<Hub>,
    /// The run's services.
    pub services: Arc<Services>,
}

/// What stays fixed across the runs of one process.
pub struct Launch {
    /// Turns the config file into settings.
    pub resolver: Arc<Resolver>,
    /// The log sink (and the file `logs.tail` reads).
    pub log: LogSink,
    /// Process id.
    pub pid: u32,
    /// Process start, epoch ms.
    pub started_at_ms: u64,
    /// Gateway version.
    pub version: &'static str,
    /// The auth-failure limiter (lockouts survive in-process restarts).
    pub limiter: Arc<Mutex<AuthLimiter>>,
    /// The control-plane write budget (`config.patch`/`config.apply`; survives restarts).
    pub writes: Arc<Mutex<WriteLimiter>>,
    /// Called once per run when it is ready (prints the readiness line in `main`).
    pub on_ready: Box<dyn Fn(&Ready) + Send + Sync>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("pid", &self.pid)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

fn log_notes(settings: &Settings) {
    for note in &settings.notes {
        match note {
            Note::Info(m) => info!("{m}"),
            Note::Warn(m) => warn!("{m}"),
        }
    }
}

/// Serves on `listener` until `control` (or the run itself) asks to stop or restart.
pub async fn run(
    listener: &Listeners,
    settings: Settings,
    control: &mut mpsc::Receiver<Control>,
    launch: &Launch,
    generation: u32,
) -> Result<Finished, Error> {
    let addr = listener.local_addr().map_err(Error::Listener)?;
    let boot = Boot {
        id: uuid::Uuid::new_v4().to_string(),
        started: Instant::now(),
        started_at_ms: now_ms(),
        process_started_at_ms: launch.started_at_ms,
        pid: launch.pid,
        version: launch.version,
        addr,
        generation,
    };
    log_notes(&settings);
    let (restarts_tx, mut restarts_rx) = mpsc::channel(4);
    let applied = Arc::clone(&settings.loaded);
    let hub = Hub::new(u64::from(generation) << 40, health::self_presence(&boot));
    let engine = {
        let mut opts = EngineOptions::new(&launch.resolver.paths.state_dir);
        opts.config_path = Some(launch.resolver.paths.config.clone());
        Engine::new(
            settings.config(),
            opts,
            Arc::clone(&hub) as Arc<dyn EventSink>,
        )
        .map_err(Error::Engine)?
    };
    let services = Arc::new(Services::new(Parts {
        hub: Arc::clone(&hub),
        boot,
        resolver: Arc::clone(&launch.resolver),
        log: launch.log.clone(),
        engine,
        settings,
        limiter: Arc::clone(&launch.limiter),
        writes: Arc::clone(&launch.writes),
        restarts: restarts_tx,
        applied,
    }));
    services
        .drain()
        .register("in-flight requests", Arc::clone(services.requests()) as _);
    services
        .drain()
        .register("agent runs", Arc::new(services.engine().clone()) as _);

    spawn_tick(&services);
    spawn_health(&services);
    services.spawn(Arc::clone(services.event_loop()).run(services.closing().clone()));
    if services.settings().reload_mode != ReloadMode::Off {
        services
            .tasks()
            .spawn(reload::watch_loop(Arc::clone(&services)));
    } else {
        services.reload_state().watcher = reload::state::Watcher::Off;
    }
    services.set_phase(Phase::Ready);
    info!(
        addr = %addr,
        boot_id = %services.boot().id,
        generation,
        "gateway ready"
    );
    (launch.on_ready)(&Ready {
        port: addr.port(),
        boot_id: services.boot().id.clone(),
        pid: launch.pid,
        hub: Arc::clone(&hub),
        services: Arc::clone(&services),
    });

    let (exit, reason) = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let services_for_conn = Arc::clone(&services);
                    services.spawn(crate::socket::http::serve_connection(stream, peer, services_for_conn));
                }
                Err(e) => {
                    // Out of file descriptors (or a transient error): back off briefly instead
                    // of spinning on accept.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            ctl = control.recv() => match ctl {
                Some(Control::Stop) | None => break (Exit::Stopped, "stop requested".to_owned()),
                Some(Control::Restart { reason }) => match launch.resolver.load_async().await {
                    Ok(next) => break (Exit::Restart(Box::new(next)), reason),
                    Err(e) => reload::refuse_restart(&services, &e, &reason),
                },
            },
            Some(req) = restarts_rx.recv() => break (Exit::Restart(req.settings), req.reason),
        }
    };
    shutdown(&services, &exit, &reason).await;
    Ok(Finished {
        exit,
        stragglers: Stragglers {
            tasks: services.tasks().clone(),
            kill: services.kill().clone(),
        },
    })
}

async fn shutdown(services: &Arc<Services>, exit: &Exit, reason: &str) {
    // 1. Readiness off: `/readyz` says 503, dispatch refuses methods that start work or change
    //    state, and the engine stops taking runs as soon as its drain begins (below).
    services.set_phase(Phase::Draining);
    let restarting = matches!(exit, Exit::Restart(_));
    let drain_timeout = services.settings().limits.drain_timeout;
    info!(
        restarting,
        reason = %crate::process::logging::Clean(reason),
        active_work = services.drain().active(),
        "gateway {}",
        if restarting { "restarting" } else { "stopping" }
    );
    // 2. Drain: running turns stream to their end (or are aborted at the deadline with their
    //    terminal event), in-flight requests finish.
    let report = services.drain().drain(drain_timeout).await;
    if !report.completed {
        warn!(
            still_active = ?report.still_active,
            "drain deadline passed; remaining work was aborted"
        );
    }
    // Responses the aborts released (an `agent` result, a `chat.abort` reply) go out first.
    let _ = services.drain().settle(SETTLE).await;
    // 3. Announce. Work is over, so a restart only has the restart itself left to do.
    let expected = if restarting {
        Maybe::Value(u64::try_from(RESTART_EXPECTED.as_millis()).unwrap_or(u64::MAX))
    } else {
        Maybe::Null
    };
    let shutdown = tether_protocol::events::Shutdown {
        reason: if restarting {
            tether_protocol::events::Shutdown::RESTARTING
        } else {
            tether_protocol::events::Shutdown::STOPPING
        }
        .to_owned(),
        restart_expected_ms: expected,
        extra: tether_protocol::Map::new(),
    };
    let payload = serde_json::to_value(&shutdown).unwrap_or_else(|_| json!({}));
    services
        .hub()
        .broadcast(names::SHUTDOWN, &payload, None, &Audience::All, false);
    // 4. Close every socket first, then tell readers and timers to stop: a reader that stops
    //    first must not leave the registry before its socket got the 1012.
    services
        .hub()
        .close_all(close::SERVICE_RESTART, close::REASON_SERVICE_RESTART);
    services.closing().cancel();
    services.tasks().close();
}

fn spawn_tick(services: &Arc<Services>) {
    let s = Arc::clone(services);
    services.spawn(async move {
        let period = s.settings().limits.tick_interval;
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = s.closing().cancelled() => return,
                _ = interval.tick() => {
                    s.hub().broadcast(names::TICK, &json!({"ts": now_ms()}), None, &Audience::All, true);
                }
            }
        }
    });
}

fn spawn_health(services: &Arc<Services>) {
    let s = Arc::clone(services);
    services.spawn(async move {
        let mut interval = tokio::time::interval(HEALTH_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = s.closing().cancelled() => return,
                _ = interval.tick() => {
                    // Housekeeping rides on the same minute: unload idle sessions, then hand
                    // the heap memory freed since the last minute back to the system.
                    s.engine().evict_idle_sessions();
                    crate::process::memory::release_free_heap();
                    let summary = health::health_summary(&s);
                    s.hub().publish_health(&summary);
                }
            }
        }
    });
}
