//! Builds the app's Tauri context from the top-level `tauri.conf.json` and generates one
//! permission per command (`allow-<command>`), which the `main` capability grants.

/// Every command of `src/lib.rs`'s handler, by name.
const COMMANDS: &[&str] = &[
    "app_info",
    "ui_ready",
    "open_external",
    "quit_app",
    "status_get",
    "gateway_start",
    "gateway_stop",
    "gateway_restart",
    "chat_stream",
    "chat_send",
    "chat_abort",
    "approval_resolve",
    "approvals_pending",
    "sessions_list",
    "session_history",
    "session_new",
    "session_delete",
    "settings_get",
    "settings_set",
    "models_get",
    "provider_save",
    "provider_delete",
    "default_model_set",
    "provider_test",
    "diagnostics_get",
    "diagnostics_export",
    "reveal_path",
    "metrics_sample",
    "logs_read",
];

fn main() {
    let dist = std::path::Path::new("../ui/dist/index.html");
    if !dist.exists() {
        panic!(
            "the UI is not built: run `npm --prefix ui install && npm --prefix ui run build` \
             (or ./run-tether, which does everything) before building tether-desktop"
        );
    }
    // Files added to the UI are not seen by the context macro's own tracking.
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=../icons/tray");
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build: {e:#}");
    }
}
