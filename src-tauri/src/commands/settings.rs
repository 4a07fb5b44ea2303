//! `settings_get`, `settings_set`.

use tauri::{AppHandle, Manager, Runtime, State};

use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::settings::{self, AppSettings};

/// `settings_get`.
#[tauri::command]
pub fn settings_get(d: State<'_, Desktop>) -> IpcResult<AppSettings> {
    let mut s = d.settings();
    // What is on disk wins over what was saved: the user may have removed the entry by hand.
    s.autostart = crate::autostart::is_set(&d.paths.autostart_dir);
    d.tap.result("settings_get", Ok(s))
}

/// `settings_set {settings}`: validated, saved, then applied — the autostart entry, the tray's
/// language, and a new supervisor when the gateway source or the reload policy changed.
#[tauri::command]
pub async fn settings_set<R: Runtime>(
    app: AppHandle<R>,
    d: State<'_, Desktop>,
    settings: AppSettings,
) -> IpcResult<AppSettings> {
    let r = async {
        settings.validate()?;
        let before = d.settings();
        if settings.autostart != crate::autostart::is_set(&d.paths.autostart_dir) {
            let exe = std::env::current_exe()
                .map_err(|e| IpcError::io(format!("cannot find this program: {e}")))?;
            crate::autostart::set(&d.paths.autostart_dir, &exe, settings.autostart)
                .map_err(|e| IpcError::io(format!("autostart entry: {e}")))?;
        }
        settings::save(&d.paths.config_dir, &settings)
            .map_err(|e| IpcError::io(format!("cannot save the settings: {e}")))?;
        if let Ok(mut s) = d.settings.lock() {
            *s = settings.clone();
        }
        tracing::info!(
            gateway = settings.gateway_source.kind().label(),
            reload = ?settings.reload,
            "settings saved"
        );
        if before.gateway_source != settings.gateway_source || before.reload != settings.reload {
            // The old gateway stops first; a new one starts from the new settings.
            let app2 = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = crate::window::supervise(&app2).await {
                    tracing::error!("after the settings change: {e}");
                }
            });
        } else if before.language != settings.language {
            crate::window::redraw_tray(&app).await;
        }
        Ok(settings)
    }
    .await;
    let d = app.state::<Desktop>();
    d.tap.result("settings_set", r)
}
