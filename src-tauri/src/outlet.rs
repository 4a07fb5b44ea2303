//! The bridge's outlet in the real app: the `status` event to the window, the tray, desktop
//! notifications, the chat stream's channel and the gateway log.
//!
//! It owns nothing but the translation: a status becomes a `StatusView` for the webview and a
//! `TrayView` for the tray; an alert becomes a notification when the window is hidden and the
//! user wants notifications; an envelope goes to the channel the page opened (a page that went
//! away loses its channel); a gateway output line goes to `gateway.log`. Everything that leaves
//! for the webview passes the IPC tap.

use tauri::{AppHandle, Emitter, EventTarget, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tether_supervisor::events::{Alert, StatusEvent};
use tether_supervisor::output::Line;
use tether_supervisor::policy::governor::GovernorSnapshot;

use crate::bridge::{wall_ms, Outlet};
use crate::coalesce::StreamEnvelope;
use crate::desktop::Desktop;
use crate::i18n::{self, Label, Lang};
use crate::view::{GatewayStatus, GovernorView, StatusView};

/// The outlet over a Tauri app.
#[derive(Debug)]
pub struct AppOutlet<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> AppOutlet<R> {
    /// An outlet into `app`.
    pub fn new(app: AppHandle<R>) -> Self {
        AppOutlet { app }
    }
}

/// The label of the main window.
pub const MAIN: &str = "main";

/// The language of the shell's own strings now.
pub fn lang(d: &Desktop) -> Lang {
    Lang::resolve(d.settings().language, &d.os_locale)
}

/// Sends the `status` event to the main window (through the tap).
pub fn emit_status<R: Runtime>(app: &AppHandle<R>, view: &StatusView) {
    let d = app.state::<Desktop>();
    d.tap.record("event", "status", view);
    if let Err(e) = app.emit_to(EventTarget::webview_window(MAIN), "status", view) {
        tracing::debug!("status event: {e}");
    }
}

/// Redraws the tray for a status (no-op without a tray).
pub fn draw_tray<R: Runtime>(
    app: &AppHandle<R>,
    status: &StatusEvent,
    governor: &GovernorSnapshot,
) {
    let Some(tray) = app.tray_by_id(crate::tray::TRAY_ID) else {
        return;
    };
    let d = app.state::<Desktop>();
    let view = crate::tray::view(status, governor, wall_ms(), lang(&d));
    if let Err(e) = crate::tray::draw(&tray, &view) {
        tracing::warn!("tray: {e}");
    }
}

fn notify<R: Runtime>(app: &AppHandle<R>, alert: Alert, status: &StatusEvent) {
    let d = app.state::<Desktop>();
    if !d.settings().notifications || d.quitting.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let shown = app
        .get_webview_window(MAIN)
        .and_then(|w| w.is_visible().ok())
        .unwrap_or(false);
    if shown {
        return;
    }
    let l = lang(&d);
    let title = i18n::label(
        l,
        match alert {
            Alert::Crashed => Label::NoticeCrashed,
            Alert::AuthPaused => Label::NoticeAuth,
            Alert::BreakerOpen => Label::NoticeBreaker,
            Alert::Failed => Label::NoticeFailed,
        },
    );
    tracing::info!(?alert, "desktop notification");
    if let Err(e) = app
        .notification()
        .builder()
        .title(title)
        .body(&status.reason)
        .icon("tether")
        .show()
    {
        tracing::warn!("could not show a notification: {e}");
    }
}

/// A notification with the app's name as title (best effort).
pub fn notify_text<R: Runtime>(app: &AppHandle<R>, body: &str) {
    if let Err(e) = app
        .notification()
        .builder()
        .title("Tether")
        .body(body)
        .icon("tether")
        .show()
    {
        tracing::warn!("could not show a notification: {e}");
    }
}

impl<R: Runtime> Outlet for AppOutlet<R> {
    fn status(&self, status: &StatusEvent, governor: &GovernorSnapshot, alert: Option<Alert>) {
        let now = wall_ms();
        let view = StatusView {
            status: GatewayStatus::from_event(status, now),
            governor: GovernorView::from_snapshot(governor, now),
        };
        emit_status(&self.app, &view);
        draw_tray(&self.app, status, governor);
        if let Some(a) = alert {
            notify(&self.app, a, status);
        }
    }

    fn envelope(&self, envelope: &StreamEnvelope) {
        let d = self.app.state::<Desktop>();
        let Ok(mut slot) = d.stream.lock() else {
            return;
        };
        let Some(channel) = slot.as_ref() else { return };
        d.tap.record("channel", "chat_stream", envelope);
        if let Err(e) = channel.send(envelope.clone()) {
            tracing::debug!("the chat stream's page is gone: {e}");
            *slot = None;
        }
    }

    fn gateway_line(&self, line: &Line) {
        let d = self.app.state::<Desktop>();
        let text = if line.repeats > 0 {
            format!("{} (repeated {} times)", line.text, line.repeats)
        } else {
            line.text.clone()
        };
        d.gateway_log.line(wall_ms(), line.level.into(), &text);
    }
}
