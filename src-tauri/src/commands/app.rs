//! `app_info`, `ui_ready`, `open_external`, `quit_app`.

use serde::Serialize;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::desktop::{Desktop, RendererInfo};
use crate::error::{IpcError, IpcResult};

/// `Limits`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Longest message in UTF-16 code units (what a textarea counts); the gateway's byte cap
    /// divided by the widest UTF-8 encoding of one unit, so anything within it also fits.
    pub max_message_chars: usize,
    /// Files per message.
    pub max_attachments: usize,
    /// Decoded bytes of all files.
    pub max_attachment_bytes: usize,
    /// Bytes of one image sent to a model.
    pub max_image_bytes: usize,
}

/// The limits the app checks (the gateway's, as upstream 2026.9.6 advertises them).
pub const LIMITS: Limits = Limits {
    max_message_chars: 1_000_000,
    max_attachments: 32,
    max_attachment_bytes: tether_protocol::consts::MAX_ATTACHMENT_BYTES,
    max_image_bytes: tether_protocol::consts::MAX_ATTACHMENT_IMAGE_BYTES,
};

/// `AppInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// App version.
    pub version: &'static str,
    /// OS locale.
    pub os_locale: String,
    /// A tray icon is shown.
    pub tray_available: bool,
    /// Closing the window hides it now.
    pub close_to_tray: bool,
    /// Renderer facts.
    pub renderer: RendererInfo,
    /// Limits.
    pub limits: Limits,
    /// Supervisor state directory.
    pub state_dir: String,
    /// Log directory.
    pub log_dir: String,
}

/// `app_info`.
#[tauri::command]
pub fn app_info(d: State<'_, Desktop>) -> IpcResult<AppInfo> {
    let info = AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        os_locale: d.os_locale.clone(),
        tray_available: d.tray_shown.load(std::sync::atomic::Ordering::SeqCst),
        close_to_tray: crate::window::closes_to_tray(&d),
        renderer: d.renderer.clone(),
        limits: LIMITS,
        state_dir: d.paths.state_dir.display().to_string(),
        log_dir: d.paths.log_dir.display().to_string(),
    };
    d.tap.result("app_info", Ok(info))
}

/// `ui_ready`: the page painted; the paint watchdog can stop waiting.
#[tauri::command]
pub fn ui_ready(d: State<'_, Desktop>) -> IpcResult<()> {
    if !d.painted.swap(true, std::sync::atomic::Ordering::SeqCst) {
        tracing::info!("the window painted its first frame");
    }
    d.painted_signal.notify_one();
    d.tap.result("ui_ready", Ok(()))
}

/// Whether a link may leave the app: http(s) or mailto, one line, at most 4096 chars.
pub fn external_url_ok(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    url.len() <= 4096
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
        && (lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("mailto:"))
        && url.len() > "mailto:".len()
}

/// `open_external`: the system browser opens the link; the app never navigates to it.
#[tauri::command]
pub fn open_external<R: Runtime>(
    app: AppHandle<R>,
    d: State<'_, Desktop>,
    url: String,
) -> IpcResult<()> {
    let r = if external_url_ok(&url) {
        app.opener()
            .open_url(&url, None::<&str>)
            .map_err(|e| IpcError::io(format!("could not open the link: {e}")))
    } else {
        Err(IpcError::invalid(
            "only http, https and mailto links open outside the app",
        ))
    };
    d.tap.result("open_external", r)
}

/// `quit_app`.
#[tauri::command]
pub fn quit_app<R: Runtime>(app: AppHandle<R>, d: State<'_, Desktop>) -> IpcResult<()> {
    crate::window::quit(&app);
    d.tap.result("quit_app", Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_mail_links_leave() {
        assert!(external_url_ok("https://example.com/a?b=c"));
        assert!(external_url_ok("HTTP://example.com"));
        assert!(external_url_ok("mailto:a@example.com"));
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,x",
            "tauri://localhost/",
            "https://a b",
            "https://x\n",
            "mailto:",
            "",
        ] {
            assert!(!external_url_ok(bad), "{bad}");
        }
        assert!(!external_url_ok(&format!("https://x/{}", "a".repeat(5000))));
    }
}
