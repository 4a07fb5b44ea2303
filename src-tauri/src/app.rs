//! Composition: the process from its first instruction to the Tauri event loop.
//!
//! In order: the command line, logging to rotated files, the instance lock — or, when another Tether holds the
//! state directory, a hand-over (a second app asks the first to show its window and exits 0;
//! next to `tether run` the app explains and exits 9) — the settings, the renderer environment,
//! then the Tauri app: plugins, managed state, commands, the tray (only where one can exist),
//! the window, supervision, the focus listener and the signals that quit. Nothing here decides
//! anything at run time; it only wires.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_window_state::StateFlags;
use tether_supervisor::control::{self, ControlClient, ServerLine};
use tether_supervisor::options::{self, InstanceError};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::desktop::{Desktop, DesktopParts, Paths, RendererInfo};
use crate::logs::{LogSource, RotatingFile, SharedLog};
use crate::settings::{self, Loaded};
use crate::tap::{self, Tap};

/// Exit code: another supervisor (`tether run`) holds the state directory.
pub const EXIT_ALREADY_SUPERVISED: i32 = 9;
/// Exit code: the app could not start (the message says why).
pub const EXIT_ERROR: i32 = 1;

/// The window geometry the window-state plugin keeps (not visibility: the app decides that).
pub fn window_state_flags() -> StateFlags {
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// The command line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    /// Start with the window hidden in the tray (autostart).
    pub hidden: bool,
}

/// Parses the command line; `Err` is what to print (help, version or a usage error) and the
/// exit code.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, (String, i32)> {
    let mut out = Args::default();
    for a in args {
        match a.as_str() {
            "--hidden" => out.hidden = true,
            "--version" | "-V" => {
                return Err((format!("tether-desktop {}", env!("CARGO_PKG_VERSION")), 0))
            }
            "--help" | "-h" => {
                return Err((
                    "tether-desktop: the Tether desktop app (supervises a local AI gateway)\n\n\
                     usage: tether-desktop [--hidden]\n\n  \
                     --hidden   start in the tray, with the window hidden (where a tray exists)\n\n\
                     Environment: TETHER_STATE_DIR (the state directory, shared with `tether`), \
                     TETHER_LOG (log filter, e.g. debug)."
                        .into(),
                    0,
                ))
            }
            other => {
                return Err((
                    format!("tether-desktop: unknown argument {other:?} (try --help)"),
                    2,
                ))
            }
        }
    }
    Ok(out)
}

fn paths() -> Paths {
    let log_dir = crate::logs::default_dir();
    Paths {
        state_dir: options::default_state_dir(),
        config_dir: settings::default_config_dir(),
        export_dir: log_dir
            .parent()
            .map_or_else(|| log_dir.clone(), |p| p.join("diagnostics")),
        log_dir,
        autostart_dir: crate::autostart::default_dir(),
    }
}

fn init_logging(dir: &std::path::Path) -> Option<SharedLog> {
    let file = RotatingFile::open(LogSource::App.path(dir))
        .map_err(|e| {
            eprintln!(
                "tether-desktop: cannot open the log in {}: {e}",
                dir.display()
            )
        })
        .ok();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("TETHER_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,tauri=warn,wry=warn,tao=warn,zbus=warn")
        })
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("TETHER_LOG").unwrap_or_else(|_| "warn".into()),
        ));
    let shared = file.map(SharedLog::new);
    let file_layer = shared.clone().map(|s| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(s)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    shared
}

/// What to do when the lock is held: ask who holds it.
enum Holder {
    /// The desktop app: it was asked to show its window.
    Focused,
    /// `tether run` (or an unknown supervisor).
    Other(String),
}

fn hand_over(dir: &std::path::Path, lock_pid: &str) -> Holder {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Holder::Other(format!("cannot ask the running supervisor: {e}")),
    };
    rt.block_on(async {
        let path = options::socket_path(dir);
        let mut client = match ControlClient::connect(&path).await {
            Ok(c) => c,
            Err(_) => {
                return Holder::Other(format!(
                    "another Tether supervisor (pid {lock_pid}) holds {} but does not answer; \
                     if it is stuck, stop it and open Tether again",
                    dir.display()
                ))
            }
        };
        let (server, pid) = match &client.hello {
            ServerLine::Hello { server, pid, .. } => (server.clone(), pid.to_string()),
            _ => (String::new(), lock_pid.to_owned()),
        };
        if server == control::SERVER_DESKTOP {
            match client.op("focus").await {
                Ok(_) => Holder::Focused,
                Err(e) => Holder::Other(format!(
                    "Tether is already open (pid {pid}) but did not show its window: {e}"
                )),
            }
        } else {
            Holder::Other(format!(
                "Tether already runs without a window (`tether run`, pid {pid}) for {}. \
                 Stop it first (Ctrl-C in its terminal, or `kill {pid}`), then open Tether again; \
                 or drive it with `tether status` and `tether chat`.",
                dir.display()
            ))
        }
    })
}

/// Shows `message` in a small native dialog (when a display is there) and on stderr.
fn tell_user(message: &str) {
    eprintln!("tether-desktop: {message}");
    if gtk::init().is_ok() {
        use gtk::prelude::*;
        let dialog = gtk::MessageDialog::new(
            None::<&gtk::Window>,
            gtk::DialogFlags::MODAL,
            gtk::MessageType::Info,
            gtk::ButtonsType::Close,
            message,
        );
        dialog.set_title("Tether");
        dialog.run();
        dialog.close();
    }
}

fn renderer_info() -> RendererInfo {
    #[allow(unsafe_code)]
    // SAFETY: these WebKitGTK calls only return compile-time constants of the loaded library.
    let version = unsafe {
        format!(
            "{}.{}.{}",
            webkit2gtk_sys::webkit_get_major_version(),
            webkit2gtk_sys::webkit_get_minor_version(),
            webkit2gtk_sys::webkit_get_micro_version()
        )
    };
    let session_type = match std::env::var("XDG_SESSION_TYPE").as_deref() {
        Ok("wayland") => "wayland",
        Ok("x11") => "x11",
        _ if std::env::var_os("WAYLAND_DISPLAY").is_some() => "wayland",
        _ if std::env::var_os("DISPLAY").is_some() => "x11",
        _ => "unknown",
    };
    RendererInfo {
        webkit_version: version,
        session_type: session_type.into(),
        dmabuf_disabled: std::env::var("WEBKIT_DISABLE_DMABUF_RENDERER").is_ok_and(|v| v == "1"),
        relaunched_after_blank: std::env::var_os(crate::window::RELAUNCH_ENV).is_some(),
    }
}

fn wall_ms() -> u64 {
    crate::bridge::wall_ms()
}

/// The app's `main`. Returns the exit code.
pub fn main() -> i32 {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err((text, code)) => {
            if code == 0 {
                println!("{text}");
            } else {
                eprintln!("{text}");
            }
            return code;
        }
    };
    let paths = paths();
    let app_log = init_logging(&paths.log_dir);
    if options::find_guard().is_none() {
        tracing::warn!(
            "`tether` is not installed next to tether-desktop: the gateway runs without its \
             guardian, so a crash of the app may leave the gateway's tool processes behind"
        );
    }
    let lock = match options::lock_instance(&paths.state_dir) {
        Ok(l) => l,
        Err(InstanceError::Held { dir, pid }) => {
            return match hand_over(&dir, &pid) {
                Holder::Focused => {
                    tracing::info!("Tether is already open: asked it to show its window");
                    0
                }
                Holder::Other(message) => {
                    tell_user(&message);
                    EXIT_ALREADY_SUPERVISED
                }
            };
        }
        Err(e) => {
            tell_user(&format!("cannot start: {e}"));
            return EXIT_ERROR;
        }
    };
    let loaded = settings::load(&paths.config_dir, wall_ms()).unwrap_or_else(|e| {
        tracing::error!("cannot read the settings: {e}; using the defaults");
        Loaded::Missing
    });
    if let Loaded::Invalid { error, kept } = &loaded {
        tracing::error!(
            "the settings file did not parse ({error}); it was kept as {} and the defaults are used",
            kept.display()
        );
    }
    let tap = match Tap::open(std::env::var_os(tap::ENV).map(PathBuf::from).as_deref()) {
        Ok(t) => t,
        Err(e) => {
            tell_user(&format!("{}: {e}", tap::ENV));
            return EXIT_ERROR;
        }
    };
    let gateway_log = match RotatingFile::open(LogSource::Gateway.path(&paths.log_dir)) {
        Ok(f) => SharedLog::new(f),
        Err(e) => {
            tell_user(&format!(
                "cannot open the gateway log in {}: {e}",
                paths.log_dir.display()
            ));
            return EXIT_ERROR;
        }
    };
    drop(app_log);
    let renderer = renderer_info();
    if renderer.relaunched_after_blank {
        tracing::warn!("relaunched with the DMA-BUF renderer off after a blank window");
        crate::window::reap_inherited();
    }
    let (focus_tx, focus_rx) = tokio::sync::mpsc::channel(4);
    let desktop = Desktop::new(DesktopParts {
        paths,
        settings: loaded.settings(),
        os_locale: crate::i18n::os_locale(),
        renderer,
        tap,
        gateway_log,
        lock,
        focus_tx,
    });
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "tether-desktop starting"
    );
    run_tauri(desktop, args, focus_rx)
}

fn run_tauri(desktop: Desktop, args: Args, mut focus_rx: tokio::sync::mpsc::Receiver<()>) -> i32 {
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(window_state_flags())
                .build(),
        )
        .manage(desktop)
        .invoke_handler(crate::handler())
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == crate::outlet::MAIN {
                    crate::window::close_requested(window, api);
                }
            }
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            let d = app.state::<Desktop>();
            let tray = crate::tray_host::appindicator_loads();
            if tray {
                let starting: tether_supervisor::events::StatusEvent = crate::window::unsupervised_status(&d);
                let view = crate::tray::view(
                    &tether_supervisor::events::StatusEvent {
                        phase: tether_supervisor::events::PhaseName::Starting,
                        headline: tether_supervisor::events::Headline::Starting,
                        problem: None,
                        ..starting
                    },
                    &tether_supervisor::policy::governor::GovernorSnapshot {
                        state: tether_supervisor::policy::governor::BreakerState::Closed,
                        reason: String::new(),
                        restarts_in_window: 0,
                        window_ms: 0,
                        max_restarts: 0,
                        open_for_ms: 0,
                        trips: 0,
                        executed_total: 0,
                        suppressed_total: 0,
                        override_available: false,
                    },
                    wall_ms(),
                    crate::outlet::lang(&d),
                );
                match crate::tray::build(&handle, &view) {
                    Ok(_) => d.tray_shown.store(true, Ordering::SeqCst),
                    Err(e) => tracing::warn!("no tray icon: {e}"),
                }
            } else {
                tracing::warn!(
                    "no tray icon: libayatana-appindicator3 is not installed; the window is the way in"
                );
            }
            let hidden = args.hidden
                && d.tray_shown.load(Ordering::SeqCst)
                && crate::tray_host::host_present();
            crate::window::create_main(&handle, !hidden)?;
            if !hidden {
                crate::window::watch_paint(&handle);
            }
            match crate::window::watch_state(&handle) {
                Ok(w) => {
                    app.manage(StateWatch(w));
                }
                Err(e) => tracing::warn!("cannot watch the state directory: {e}"),
            }
            let h = handle.clone();
            handle.on_menu_event(move |app, event| crate::app::menu_event(app, event.id().as_ref()));
            tauri::async_runtime::spawn(async move {
                if let Err(e) = crate::window::supervise(&h).await {
                    tracing::error!("{e}");
                }
            });
            let h = handle.clone();
            tauri::async_runtime::spawn(async move {
                while focus_rx.recv().await.is_some() {
                    tracing::info!("another launch asked for the window");
                    crate::window::show_main(&h);
                }
            });
            let h = handle.clone();
            tauri::async_runtime::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::hangup()),
                ) else {
                    tracing::error!("cannot install signal handlers");
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                    _ = hup.recv() => {}
                }
                tracing::info!("signal received: quitting");
                crate::window::quit(&h);
            });
            Ok(())
        });
    let app = match builder.build(tauri::generate_context!("../tauri.conf.json")) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tether-desktop: cannot start the app: {e}");
            return EXIT_ERROR;
        }
    };
    app.run(|app, event| {
        if let RunEvent::ExitRequested {
            code: None, api, ..
        } = &event
        {
            // The last window closed without a quit (close-to-tray hid it, or the page asked):
            // stay in the tray. A quit passes a code.
            if !app.state::<Desktop>().quitting.load(Ordering::SeqCst) {
                api.prevent_exit();
            }
        }
    });
    0
}

/// Keeps the state directory's watcher alive for the app's life.
struct StateWatch(#[allow(dead_code)] notify::RecommendedWatcher);

/// A tray menu item was clicked.
pub fn menu_event<R: tauri::Runtime>(app: &tauri::AppHandle<R>, id: &str) {
    use crate::tray::TrayAction;
    let Some(action) = TrayAction::from_id(id) else {
        return;
    };
    tracing::info!(?action, "tray");
    match action {
        TrayAction::Open => crate::window::show_main(app),
        TrayAction::Quit => crate::window::quit(app),
        TrayAction::Start | TrayAction::Stop | TrayAction::Restart | TrayAction::RestartAnyway => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let d = app.state::<Desktop>();
                if action == TrayAction::Start && !d.supervising().await {
                    if let Err(e) = crate::window::supervise(&app).await {
                        tracing::error!("{e}");
                    }
                    return;
                }
                let Ok(h) = d.handle().await else { return };
                let r = match action {
                    TrayAction::Start => h.start().await,
                    TrayAction::Stop => h.stop().await,
                    TrayAction::Restart => h.restart(false).await,
                    _ => h.restart(true).await,
                };
                if let Err(e) = r {
                    tracing::warn!("tray {action:?}: {e}");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let p = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
        assert_eq!(p(&[]), Ok(Args { hidden: false }));
        assert_eq!(p(&["--hidden"]), Ok(Args { hidden: true }));
        assert_eq!(p(&["--version"]).unwrap_err().1, 0);
        assert_eq!(p(&["--help"]).unwrap_err().1, 0);
        let (msg, code) = p(&["--bogus"]).unwrap_err();
        assert_eq!(code, 2);
        assert!(msg.contains("--bogus"));
    }
}
