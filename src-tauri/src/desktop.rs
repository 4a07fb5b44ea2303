//! `Desktop`: what the shell holds for the app's lifetime — paths, the user's settings, the
//! current supervisor's handle, the chat stream's channel, the IPC tap — and how the supervisor
//! is started, switched and stopped.
//!
//! It owns the composition of one supervisor per state directory for the app: the instance
//! lock (taken before anything else runs, so `tether run` on the same state refuses), the
//! supervisor built from the settings exactly as `tether run --gateway …` builds it, the control
//! socket served as `tether-desktop` (so `tether status|chat|restart` drive the app, and a second
//! launch can ask this one to show its window), and the bridge task. A new gateway source or
//! reload policy replaces the supervisor (the old one stops its gateway first). State about the
//! gateway lives in the supervisor; this holds a handle, never a copy.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tauri::ipc::Channel;
use tether_supervisor::control::{self, ControlServer, Host};
use tether_supervisor::metrics::ProcessSampler;
use tether_supervisor::options::{self, Options};
use tether_supervisor::state_guard::InstanceLock;
use tether_supervisor::SupervisorHandle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::coalesce::StreamEnvelope;
use crate::error::{IpcError, IpcResult};
use crate::logs::SharedLog;
use crate::settings::AppSettings;
use crate::tap::Tap;

/// Where the app keeps things.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The supervisor state directory (the same as `tether run`'s).
    pub state_dir: PathBuf,
    /// `desktop.json` lives here.
    pub config_dir: PathBuf,
    /// Rotated logs.
    pub log_dir: PathBuf,
    /// XDG autostart entries.
    pub autostart_dir: PathBuf,
    /// Diagnostics exports.
    pub export_dir: PathBuf,
}

/// How the webview is rendered, for diagnostics and the blank-window banner.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RendererInfo {
    /// WebKitGTK version.
    pub webkit_version: String,
    /// `x11`, `wayland` or `unknown`.
    pub session_type: String,
    /// The DMA-BUF renderer is off.
    pub dmabuf_disabled: bool,
    /// This process is the relaunch after a blank first window.
    pub relaunched_after_blank: bool,
}

/// One running supervisor and what serves it.
struct Supervised {
    handle: SupervisorHandle,
    join: JoinHandle<()>,
    _control: ControlServer,
    bridge: JoinHandle<()>,
}

/// The shell's state (Tauri-managed).
pub struct Desktop {
    /// Paths.
    pub paths: Paths,
    /// The user's settings.
    pub settings: Mutex<AppSettings>,
    /// The OS locale (BCP 47).
    pub os_locale: String,
    /// Renderer facts.
    pub renderer: RendererInfo,
    /// The IPC tap.
    pub tap: Tap,
    /// The gateway log.
    pub gateway_log: SharedLog,
    /// The chat stream's channel, once the page opened it.
    pub stream: Mutex<Option<Channel<StreamEnvelope>>>,
    /// Samples the gateway process for diagnostics.
    pub sampler: Mutex<ProcessSampler>,
    /// Files `diagnostics_export` wrote (only these may be revealed).
    pub exports: Mutex<Vec<PathBuf>>,
    /// A tray icon exists.
    pub tray_shown: AtomicBool,
    /// The page painted.
    pub painted: AtomicBool,
    /// Wakes the paint watchdog.
    pub painted_signal: tokio::sync::Notify,
    /// The paint watchdog was started.
    pub paint_watch: AtomicBool,
    /// Quit has begun.
    pub quitting: AtomicBool,
    /// Why no supervisor runs (it could not be built), shown as a failed status.
    pub setup_error: Mutex<Option<String>>,
    /// `focus` requests from the control socket (a second launch).
    pub focus_tx: mpsc::Sender<()>,
    current: tokio::sync::Mutex<Option<Supervised>>,
    lock: InstanceLock,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// Everything [`Desktop::new`] needs.
#[derive(Debug)]
pub struct DesktopParts {
    /// Paths.
    pub paths: Paths,
    /// Settings as loaded.
    pub settings: AppSettings,
    /// OS locale.
    pub os_locale: String,
    /// Renderer facts.
    pub renderer: RendererInfo,
    /// The tap.
    pub tap: Tap,
    /// The gateway log.
    pub gateway_log: SharedLog,
    /// The instance lock, already held.
    pub lock: InstanceLock,
    /// Where focus requests go.
    pub focus_tx: mpsc::Sender<()>,
}

impl Desktop {
    /// The state around an instance lock that is already held.
    pub fn new(p: DesktopParts) -> Self {
        Desktop {
            paths: p.paths,
            settings: Mutex::new(p.settings),
            os_locale: p.os_locale,
            renderer: p.renderer,
            tap: p.tap,
            gateway_log: p.gateway_log,
            stream: Mutex::new(None),
            sampler: Mutex::new(ProcessSampler::new()),
            exports: Mutex::new(Vec::new()),
            tray_shown: AtomicBool::new(false),
            painted: AtomicBool::new(false),
            painted_signal: tokio::sync::Notify::new(),
            paint_watch: AtomicBool::new(false),
            quitting: AtomicBool::new(false),
            setup_error: Mutex::new(None),
            focus_tx: p.focus_tx,
            current: tokio::sync::Mutex::new(None),
            lock: p.lock,
        }
    }

    /// A copy of the settings.
    pub fn settings(&self) -> AppSettings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The current supervisor's handle.
    pub async fn handle(&self) -> IpcResult<SupervisorHandle> {
        match self.current.lock().await.as_ref() {
            Some(s) => Ok(s.handle.clone()),
            None => Err(IpcError::new(
                crate::error::ErrorCode::Gone,
                self.setup_error
                    .lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or_else(|| "the supervisor is not running".into()),
            )),
        }
    }

    /// Whether a supervisor runs.
    pub async fn supervising(&self) -> bool {
        self.current.lock().await.is_some()
    }

    fn options(&self) -> Options {
        let s = self.settings();
        Options {
            gateway: s.gateway_source.kind(),
            state_dir: self.paths.state_dir.clone(),
            port: None,
            config: None,
            reload: s.reload,
            upstream: match &s.gateway_source {
                crate::settings::GatewaySource::Openclaw { path } => path.clone(),
                _ => None,
            },
        }
    }

    /// Starts a supervisor for the current settings (replacing a running one, whose gateway is
    /// stopped first), serves the control socket and starts the bridge into `outlet`. A
    /// supervisor that cannot be built (no gateway executable, say) leaves the reason in
    /// [`Desktop::setup_error`] and the outlet told.
    pub async fn supervise(&self, outlet: Arc<dyn crate::bridge::Outlet>) -> Result<(), String> {
        let mut current = self.current.lock().await;
        if let Some(old) = current.take() {
            stop(old).await;
        }
        let opts = self.options();
        let built = options::build(&opts);
        let (cfg, deps) = match built {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("cannot supervise {}: {e}", opts.gateway.label());
                if let Ok(mut s) = self.setup_error.lock() {
                    *s = Some(e.clone());
                }
                return Err(e);
            }
        };
        if let Ok(mut s) = self.setup_error.lock() {
            *s = None;
        }
        let (handle, join) = tether_supervisor::spawn(cfg, deps);
        let host = Host {
            name: control::SERVER_DESKTOP.into(),
            focus: Some(self.focus_tx.clone()),
        };
        let control =
            match control::serve_as(&options::socket_path(&opts.state_dir), handle.clone(), host)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    handle.shutdown().await;
                    let msg = format!("cannot serve the control socket: {e}");
                    if let Ok(mut s) = self.setup_error.lock() {
                        *s = Some(msg.clone());
                    }
                    return Err(msg);
                }
            };
        let bridge = tokio::spawn(crate::bridge::run(handle.clone(), outlet));
        if let Err(e) = handle.start().await {
            tracing::warn!("start: {e}");
        }
        *current = Some(Supervised {
            handle,
            join,
            _control: control,
            bridge,
        });
        Ok(())
    }

    /// Stops the gateway and the supervisor (bounded by the supervisor's quit budget).
    pub async fn shutdown(&self) {
        if let Some(old) = self.current.lock().await.take() {
            stop(old).await;
        }
    }

    /// Why this app no longer holds its state directory (removed or replaced under it), if so.
    /// Only the lock file counts: the control socket disappears for a moment whenever the
    /// supervisor is replaced.
    pub fn state_lost(&self) -> Option<String> {
        self.lock.check(None)
    }

    /// Quit has begun (the first caller gets `true`).
    pub fn begin_quit(&self) -> bool {
        !self.quitting.swap(true, Ordering::SeqCst)
    }
}

/// Stops one supervisor: its gateway first, then the actor, the control socket and the bridge.
async fn stop(s: Supervised) {
    // The supervisor bounds the stop by its quit budget; this bound is only against a bug.
    let bound = std::time::Duration::from_secs(15);
    if tokio::time::timeout(bound, s.handle.shutdown())
        .await
        .is_err()
    {
        tracing::error!("the supervisor did not stop within {bound:?}");
    }
    drop(s.handle);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), s.join).await;
    s.bridge.abort();
}
