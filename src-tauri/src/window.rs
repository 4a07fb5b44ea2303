//! The window's life: creating it locked to the app's own pages, showing it (also when a
//! second launch asks), closing it to the tray or quitting, the paint watchdog, and quitting.
//!
//! It owns the rules a user meets at the window's edges: close hides the window when a tray can
//! bring it back (the setting, or automatically when a tray icon is shown and a tray host is
//! there) and quits otherwise; quit stops the gateway within the supervisor's budget before the
//! process exits; navigation never leaves the bundled UI and no page opens a window; a window
//! that has not painted within the watchdog's time relaunches the app once with WebKitGTK's
//! DMA-BUF renderer off (the blank-window failure of some GPUs and Wayland sessions), and says so
//! in the log and, after the relaunch, in the window. Supervision itself is not decided here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Manager, Runtime, Url, WebviewWindow, WebviewWindowBuilder};
use tether_supervisor::events::{Headline, PhaseName, ProblemCode, StatusEvent};
use tether_supervisor::policy::governor::{BreakerState, GovernorSnapshot};

use crate::bridge::wall_ms;
use crate::desktop::Desktop;
use crate::outlet::{self, AppOutlet, MAIN};
use crate::view::StatusView;

/// Watches the state directory (inotify: nothing runs while nothing changes) and, when it is
/// removed or replaced under the app, says so and quits: the gateway is stopped, and no second
/// Tether can start for the path meanwhile (the instance name outlives the directory).
pub fn watch_state<R: Runtime>(app: &AppHandle<R>) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(8);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|e| e.kind.is_remove() || e.kind.is_modify()) {
            let _ = tx.try_send(());
        }
    })?;
    let d = app.state::<Desktop>();
    watcher.watch(&d.paths.state_dir, notify::RecursiveMode::NonRecursive)?;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while rx.recv().await.is_some() {
            let d = app.state::<Desktop>();
            if let Some(why) = d.state_lost() {
                tracing::error!("{why}: stopping the gateway and quitting");
                outlet::notify_text(&app, &why);
                quit(&app);
                break;
            }
        }
    });
    Ok(watcher)
}

/// Set in the environment of the relaunch after a blank window.
pub const RELAUNCH_ENV: &str = "TETHER_DESKTOP_RELAUNCHED";
/// Overrides the paint watchdog's time, in ms.
pub const PAINT_TIMEOUT_ENV: &str = "TETHER_DESKTOP_PAINT_TIMEOUT_MS";
/// How long a shown window may take to paint its first frame.
pub const PAINT_TIMEOUT: Duration = Duration::from_secs(12);

/// Whether a URL is the app's own page (the bundled UI over Tauri's protocol).
pub fn is_app_url(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// Creates the main window from the config's `main` entry, locked to the app's pages.
pub fn create_main<R: Runtime>(
    app: &AppHandle<R>,
    visible: bool,
) -> tauri::Result<WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .cloned()
        .unwrap_or_default();
    WebviewWindowBuilder::from_config(app, &config)?
        .visible(visible)
        .enable_clipboard_access()
        .on_navigation(|url| {
            let ok = is_app_url(url);
            if !ok {
                tracing::warn!(
                    scheme = url.scheme(),
                    "navigation away from the app refused"
                );
            }
            ok
        })
        .on_new_window(|url, _| {
            tracing::warn!(
                scheme = url.scheme(),
                "a page tried to open a window: refused"
            );
            NewWindowResponse::Deny
        })
        .build()
}

/// Shows, restores and focuses the main window; starts the paint watchdog on its first show.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    let Some(w) = app.get_webview_window(MAIN) else {
        return;
    };
    let _ = w.unminimize();
    let _ = w.show();
    let _ = w.set_focus();
    watch_paint(app);
}

/// Whether closing the window hides it now: the setting, or (automatic) when a tray icon is
/// shown and something displays it.
pub fn closes_to_tray(d: &Desktop) -> bool {
    match d.settings().close_to_tray {
        Some(v) => v,
        None => d.tray_shown.load(Ordering::SeqCst) && crate::tray_host::host_present(),
    }
}

/// The window's close button.
pub fn close_requested<R: Runtime>(window: &tauri::Window<R>, api: &tauri::CloseRequestApi) {
    let app = window.app_handle();
    let d = app.state::<Desktop>();
    if d.quitting.load(Ordering::SeqCst) {
        return;
    }
    api.prevent_close();
    if closes_to_tray(&d) {
        let _ = window.hide();
        tracing::info!("window hidden to the tray");
    } else {
        quit(app);
    }
}

/// Quits: saves the window's place, stops the gateway (within the supervisor's budget), exits.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    let d = app.state::<Desktop>();
    if !d.begin_quit() {
        return;
    }
    tracing::info!("quitting: stopping the gateway");
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.hide();
    }
    {
        use tauri_plugin_window_state::AppHandleExt;
        if let Err(e) = app.save_window_state(crate::app::window_state_flags()) {
            tracing::debug!("window state: {e}");
        }
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<Desktop>().shutdown().await;
        tracing::info!("gateway stopped; bye");
        app.exit(0);
    });
}

fn closed_governor() -> GovernorSnapshot {
    GovernorSnapshot {
        state: BreakerState::Closed,
        reason: String::new(),
        restarts_in_window: 0,
        window_ms: 0,
        max_restarts: 0,
        open_for_ms: 0,
        trips: 0,
        executed_total: 0,
        suppressed_total: 0,
        override_available: false,
    }
}

/// The status when no supervisor runs: failed with the reason it could not be built.
pub fn unsupervised_status(d: &Desktop) -> StatusEvent {
    let reason = d
        .setup_error
        .lock()
        .ok()
        .and_then(|e| e.clone())
        .unwrap_or_else(|| "the supervisor is not running".into());
    StatusEvent {
        phase: PhaseName::Failed,
        headline: Headline::Failed,
        since_ms: wall_ms(),
        generation: 0,
        reason,
        pid: None,
        port: None,
        owned: false,
        gateway: d.settings().gateway_source.kind().label().into(),
        server: None,
        retry_in_ms: None,
        attempt: None,
        last_exit: None,
        problem: Some(ProblemCode::SpawnFailed),
    }
}

/// [`unsupervised_status`] as the webview sees it.
pub fn unsupervised_view(d: &Desktop) -> StatusView {
    let now = wall_ms();
    StatusView {
        status: crate::view::GatewayStatus::from_event(&unsupervised_status(d), now),
        governor: crate::view::GovernorView::from_snapshot(&closed_governor(), now),
    }
}

/// (Re)starts supervision from the settings; when that is impossible the window and the tray
/// say why.
pub async fn supervise<R: Runtime>(app: &AppHandle<R>) -> Result<(), String> {
    let d = app.state::<Desktop>();
    let outlet = Arc::new(AppOutlet::new(app.clone()));
    let r = d.supervise(outlet).await;
    if r.is_err() {
        let status = unsupervised_status(&d);
        outlet::emit_status(app, &unsupervised_view(&d));
        outlet::draw_tray(app, &status, &closed_governor());
    }
    r
}

/// Redraws the tray from the supervisor's current status (after a language change).
pub async fn redraw_tray<R: Runtime>(app: &AppHandle<R>) {
    let d = app.state::<Desktop>();
    match d.handle().await {
        Ok(h) => {
            if let Some(s) = h.status().await {
                outlet::draw_tray(app, &s.status, &s.governor);
            }
        }
        Err(_) => outlet::draw_tray(app, &unsupervised_status(&d), &closed_governor()),
    }
}

/// Starts the paint watchdog once, for a shown window: if the page does not report its first
/// frame in time, relaunch without the DMA-BUF renderer (once; a relaunched app only logs).
pub fn watch_paint<R: Runtime>(app: &AppHandle<R>) {
    let d = app.state::<Desktop>();
    if d.painted.load(Ordering::SeqCst) || d.paint_watch.swap(true, Ordering::SeqCst) {
        return;
    }
    let timeout = std::env::var(PAINT_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(PAINT_TIMEOUT, Duration::from_millis);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let d = app.state::<Desktop>();
        let painted = tokio::time::timeout(timeout, async {
            while !d.painted.load(Ordering::SeqCst) {
                d.painted_signal.notified().await;
            }
        })
        .await
        .is_ok();
        if painted {
            return;
        }
        if d.renderer.relaunched_after_blank || d.renderer.dmabuf_disabled {
            tracing::error!(
                "the window has not painted within {timeout:?} even with the DMA-BUF renderer off; \
                 the tray and `tether status` still work. Try WEBKIT_DISABLE_COMPOSITING_MODE=1"
            );
            return;
        }
        tracing::error!(
            "the window has not painted within {timeout:?}: relaunching with the DMA-BUF renderer off \
             (WEBKIT_DISABLE_DMABUF_RENDERER=1)"
        );
        d.quitting.store(true, Ordering::SeqCst);
        d.shutdown().await;
        let err = relaunch_without_dmabuf();
        tracing::error!("the relaunch failed: {err}");
        app.exit(1);
    });
}

/// Set in the relaunch's environment: the pids of the children the process had (WebKit's), which
/// the relaunch reaps as they exit.
pub const REAP_ENV: &str = "TETHER_DESKTOP_REAP";

/// This process's children now.
fn children() -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Replaces this process with itself, same arguments, DMA-BUF renderer off. Returns only on
/// failure. Everything this process held (the instance lock among it) closes on exec; its
/// children (WebKit's processes) exit when their sockets close, and the relaunch reaps them.
fn relaunch_without_dmabuf() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return e,
    };
    let reap: Vec<String> = children().iter().map(u32::to_string).collect();
    std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env(RELAUNCH_ENV, "blank-window")
        .env(REAP_ENV, reap.join(","))
        .exec()
}

/// In a relaunch: waits for (reaps) the children the process had before the exec, on a thread
/// of its own, each by pid, so no other child's exit is taken.
pub fn reap_inherited() {
    let Ok(list) = std::env::var(REAP_ENV) else {
        return;
    };
    let pids: Vec<i32> = list.split(',').filter_map(|p| p.parse().ok()).collect();
    if pids.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("reap-inherited".into())
        .spawn(move || {
            for pid in pids {
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot reap the processes of the previous launch: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_app_origin_is_navigable() {
        let ok = |u: &str| is_app_url(&Url::parse(u).unwrap());
        assert!(ok("tauri://localhost/index.html"));
        assert!(ok("http://tauri.localhost/#/settings"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("http://localhost:8080/"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("tauri://evil/"));
        assert!(!ok("data:text/html,<b>x</b>"));
    }
}
