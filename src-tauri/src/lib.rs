//! `tether-desktop`: Tether's desktop app — the supervisor with a window, a tray and a chat.
//!
//! A thin shell (DESIGN §7): it translates between Tauri and the headless supervisor's handle
//! and draws the tray. Every decision about the gateway's life is the supervisor's; this crate
//! composes it (`app`, `desktop`), bridges its events to the webview (`bridge`, `coalesce`,
//! `outlet`), serves the webview's commands (`commands`, `view`, `history`, `providers`,
//! `error`, `tap`), and owns the desktop's edges (`window`, `tray`, `tray_host`, `settings`,
//! `autostart`, `logs`, `redact`, `i18n`). The contract with the webview is `IPC.md`.

pub mod app;
pub mod autostart;
pub mod bridge;
pub mod coalesce;
pub mod commands;
pub mod desktop;
pub mod error;
pub mod history;
pub mod i18n;
pub mod logs;
pub mod outlet;
pub mod providers;
pub mod redact;
pub mod settings;
pub mod tap;
pub mod tray;
pub mod tray_host;
pub mod view;
pub mod window;

/// Every command the webview may call, in `IPC.md`'s order. `build.rs` lists the same names to
/// generate one permission per command; the `main` capability grants them to the main window.
pub fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static
{
    tauri::generate_handler![
        commands::app::app_info,
        commands::app::ui_ready,
        commands::app::open_external,
        commands::app::quit_app,
        commands::gateway::status_get,
        commands::gateway::gateway_start,
        commands::gateway::gateway_stop,
        commands::gateway::gateway_restart,
        commands::chat::chat_stream,
        commands::chat::chat_send,
        commands::chat::chat_abort,
        commands::chat::approval_resolve,
        commands::chat::approvals_pending,
        commands::sessions::sessions_list,
        commands::sessions::session_history,
        commands::sessions::session_new,
        commands::sessions::session_delete,
        commands::settings::settings_get,
        commands::settings::settings_set,
        commands::models::models_get,
        commands::models::provider_save,
        commands::models::provider_delete,
        commands::models::default_model_set,
        commands::models::provider_test,
        commands::diagnostics::diagnostics_get,
        commands::diagnostics::diagnostics_export,
        commands::diagnostics::reveal_path,
        commands::diagnostics::metrics_sample,
        commands::diagnostics::logs_read,
    ]
}
