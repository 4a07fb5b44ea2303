//! The tray: a pure view of the supervisor's state, and a thin function that draws it.
//!
//! [`view`] turns a status, the governor and the time into a [`TrayView`]: which icon, the
//! disabled status line ("Gateway running · pid 4242 · up 3 min", or the failure reason), the
//! "restarts held back" line with when one will be allowed, and which of Start / Stop / Restart /
//! Restart anyway / Open Tether / Quit are shown and enabled. It decides nothing about
//! supervision; it only says what the state looks like. [`draw`] builds the menu and sets the
//! icon; [`build`] creates the tray icon once, and only where a tray can exist (see
//! [`crate::tray_host`]), so a desktop without one never panics.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};
use tether_supervisor::events::{Headline, ProblemCode, StatusEvent};
use tether_supervisor::policy::governor::{BreakerState, GovernorSnapshot};

use crate::i18n::{self, Label, Lang};

/// The icon for a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayIconKind {
    /// Running.
    Running,
    /// Starting, restarting, reconnecting, stopping.
    Starting,
    /// Stopped.
    Stopped,
    /// Failed or paused: needs the user.
    Failed,
    /// Restarts held back by the breaker.
    BreakerOpen,
}

impl TrayIconKind {
    /// The PNG (32 px) for the state, made by `icons/make-icons.py`.
    pub fn png(self) -> &'static [u8] {
        match self {
            TrayIconKind::Running => include_bytes!("../../icons/tray/running-32.png"),
            TrayIconKind::Starting => include_bytes!("../../icons/tray/starting-32.png"),
            TrayIconKind::Stopped => include_bytes!("../../icons/tray/stopped-32.png"),
            TrayIconKind::Failed => include_bytes!("../../icons/tray/failed-32.png"),
            TrayIconKind::BreakerOpen => include_bytes!("../../icons/tray/breaker-open-32.png"),
        }
    }
}

/// A menu action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// Start the gateway.
    Start,
    /// Stop it.
    Stop,
    /// Restart it.
    Restart,
    /// Restart past an open breaker.
    RestartAnyway,
    /// Show the window.
    Open,
    /// Quit the app.
    Quit,
}

impl TrayAction {
    const ALL: [TrayAction; 6] = [
        TrayAction::Start,
        TrayAction::Stop,
        TrayAction::Restart,
        TrayAction::RestartAnyway,
        TrayAction::Open,
        TrayAction::Quit,
    ];

    /// The menu item id.
    pub fn id(self) -> &'static str {
        match self {
            TrayAction::Start => "start",
            TrayAction::Stop => "stop",
            TrayAction::Restart => "restart",
            TrayAction::RestartAnyway => "restart-anyway",
            TrayAction::Open => "open",
            TrayAction::Quit => "quit",
        }
    }

    /// The action of a menu item id.
    pub fn from_id(id: &str) -> Option<TrayAction> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }
}

/// One actionable item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayItem {
    /// What it does.
    pub action: TrayAction,
    /// Its text.
    pub label: String,
    /// Whether it can be clicked now.
    pub enabled: bool,
}

/// What the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    /// The icon.
    pub icon: TrayIconKind,
    /// The tooltip / indicator title.
    pub tooltip: String,
    /// The first, disabled line.
    pub status: String,
    /// A second disabled line when restarts are held back.
    pub detail: Option<String>,
    /// Start, Stop, Restart, maybe Restart anyway — then Open and Quit.
    pub items: Vec<TrayItem>,
}

/// Longest status line, in chars (longer reasons are cut with an ellipsis).
const STATUS_CHARS: usize = 90;

fn cut(s: &str, max: usize) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

/// The tray's view of a status and governor at `now_ms`.
pub fn view(
    status: &StatusEvent,
    governor: &GovernorSnapshot,
    now_ms: u64,
    lang: Lang,
) -> TrayView {
    let t = |l| i18n::label(lang, l);
    let breaker =
        governor.state == BreakerState::Open || status.problem == Some(ProblemCode::BreakerOpen);
    let icon = match status.headline {
        Headline::Running => TrayIconKind::Running,
        Headline::Starting | Headline::Restarting | Headline::Reconnecting | Headline::Stopping => {
            TrayIconKind::Starting
        }
        Headline::Stopped => TrayIconKind::Stopped,
        Headline::Failed if breaker => TrayIconKind::BreakerOpen,
        Headline::Failed | Headline::Paused => TrayIconKind::Failed,
    };
    let line = match status.headline {
        Headline::Running => {
            let mut s = t(Label::Running).to_owned();
            if let Some(pid) = status.pid {
                s.push_str(&format!(" · pid {pid}"));
            }
            if status.since_ms > 0 {
                let up = i18n::uptime(lang, now_ms.saturating_sub(status.since_ms));
                s.push_str(&format!(" · {} {up}", t(Label::Up)));
            }
            s
        }
        Headline::Starting => t(Label::Starting).to_owned(),
        Headline::Restarting => t(Label::Restarting).to_owned(),
        Headline::Reconnecting => t(Label::Reconnecting).to_owned(),
        Headline::Stopping => t(Label::Stopping).to_owned(),
        Headline::Stopped => t(Label::Stopped).to_owned(),
        Headline::Paused => format!("{}: {}", t(Label::Paused), status.reason),
        Headline::Failed => format!("{}: {}", t(Label::Failed), status.reason),
    };
    let status_line = cut(&line, STATUS_CHARS);
    let detail = governor.override_available.then(|| {
        let mut s = format!("{}: {}", t(Label::HeldBack), governor.reason);
        if governor.open_for_ms > 0 {
            s.push_str(&format!(
                " · {} {}",
                t(Label::AllowedIn),
                i18n::duration(lang, governor.open_for_ms.max(1000))
            ));
        }
        cut(&s, STATUS_CHARS)
    });
    use tether_supervisor::events::PhaseName as P;
    let phase = status.phase;
    let can_start = matches!(phase, P::Stopped | P::Failed | P::Paused);
    let can_stop = !matches!(phase, P::Stopped | P::Stopping);
    let can_restart = !breaker
        && matches!(
            phase,
            P::Running | P::Reconnecting | P::Paused | P::Backoff | P::Stopped | P::Failed
        );
    let item = |action, label, enabled| TrayItem {
        action,
        label: t(label).to_owned(),
        enabled,
    };
    let mut items = vec![
        item(TrayAction::Start, Label::Start, can_start),
        item(TrayAction::Stop, Label::Stop, can_stop),
        item(TrayAction::Restart, Label::Restart, can_restart),
    ];
    if governor.override_available {
        items.push(item(TrayAction::RestartAnyway, Label::RestartAnyway, true));
    }
    items.push(item(TrayAction::Open, Label::Open, true));
    items.push(item(TrayAction::Quit, Label::Quit, true));
    TrayView {
        icon,
        tooltip: format!("Tether — {status_line}"),
        status: status_line,
        detail,
        items,
    }
}

/// The id of the tray icon.
pub const TRAY_ID: &str = "tether";

/// Creates the tray icon showing `v`. Call only where [`crate::tray_host::appindicator_loads`]
/// said yes: the tray library is loaded on first use and a missing one aborts the process.
pub fn build<R: Runtime>(app: &AppHandle<R>, v: &TrayView) -> tauri::Result<TrayIcon<R>> {
    let menu = menu(app, v)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(v.icon.png())?)
        .tooltip(&v.tooltip)
        .title("Tether")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .build(app)
}

/// Redraws the tray for `v`.
pub fn draw<R: Runtime>(tray: &TrayIcon<R>, v: &TrayView) -> tauri::Result<()> {
    let menu = menu(tray.app_handle(), v)?;
    tray.set_menu(Some(menu))?;
    tray.set_icon(Some(Image::from_bytes(v.icon.png())?))?;
    tray.set_tooltip(Some(&v.tooltip))?;
    Ok(())
}

fn menu<R: Runtime>(app: &AppHandle<R>, v: &TrayView) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        "status",
        &v.status,
        false,
        None::<&str>,
    )?)?;
    if let Some(d) = &v.detail {
        menu.append(&MenuItem::with_id(app, "detail", d, false, None::<&str>)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    for item in &v.items {
        if item.action == TrayAction::Open {
            menu.append(&PredefinedMenuItem::separator(app)?)?;
        }
        menu.append(&MenuItem::with_id(
            app,
            item.action.id(),
            &item.label,
            item.enabled,
            None::<&str>,
        )?)?;
    }
    Ok(menu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_supervisor::events::PhaseName;

    fn status(phase: PhaseName, headline: Headline) -> StatusEvent {
        StatusEvent {
            phase,
            headline,
            since_ms: 1_000,
            generation: 2,
            reason: "gateway exited unexpectedly (exit code 1)".into(),
            pid: Some(4242),
            port: Some(1),
            owned: true,
            gateway: "tether".into(),
            server: None,
            retry_in_ms: None,
            attempt: None,
            last_exit: None,
            problem: None,
        }
    }

    fn closed() -> GovernorSnapshot {
        GovernorSnapshot {
            state: BreakerState::Closed,
            reason: "ok".into(),
            restarts_in_window: 0,
            window_ms: 60_000,
            max_restarts: 5,
            open_for_ms: 0,
            trips: 0,
            executed_total: 0,
            suppressed_total: 0,
            override_available: false,
        }
    }

    fn enabled(v: &TrayView) -> Vec<&'static str> {
        v.items
            .iter()
            .filter(|i| i.enabled)
            .map(|i| i.action.id())
            .collect()
    }

    #[test]
    fn running_says_pid_and_uptime_and_offers_stop_and_restart() {
        let v = view(
            &status(PhaseName::Running, Headline::Running),
            &closed(),
            181_000,
            Lang::En,
        );
        assert_eq!(v.icon, TrayIconKind::Running);
        assert_eq!(v.status, "Gateway running · pid 4242 · up 3 min");
        assert_eq!(v.detail, None);
        assert_eq!(enabled(&v), ["stop", "restart", "open", "quit"]);
        let zh = view(
            &status(PhaseName::Running, Headline::Running),
            &closed(),
            181_000,
            Lang::ZhCn,
        );
        assert_eq!(zh.status, "网关运行中 · pid 4242 · 已运行 3 分钟");
        assert_eq!(zh.items[0].label, "启动网关");
    }

    #[test]
    fn stopped_offers_start_and_failed_says_why() {
        let v = view(
            &status(PhaseName::Stopped, Headline::Stopped),
            &closed(),
            0,
            Lang::En,
        );
        assert_eq!(
            (v.icon, v.status.as_str()),
            (TrayIconKind::Stopped, "Gateway stopped")
        );
        assert_eq!(enabled(&v), ["start", "restart", "open", "quit"]);
        let mut f = status(PhaseName::Failed, Headline::Failed);
        f.problem = Some(ProblemCode::ConfigError);
        f.reason = format!("exit code 78: invalid config: {}", "x".repeat(200));
        let v = view(&f, &closed(), 0, Lang::En);
        assert_eq!(v.icon, TrayIconKind::Failed);
        assert!(v
            .status
            .starts_with("Failed: exit code 78: invalid config: xxx"));
        assert!(v.status.ends_with('…') && v.status.chars().count() <= STATUS_CHARS + 1);
        assert_eq!(enabled(&v), ["start", "stop", "restart", "open", "quit"]);
    }

    #[test]
    fn an_open_breaker_holds_restart_back_and_offers_restart_anyway() {
        let mut f = status(PhaseName::Failed, Headline::Failed);
        f.problem = Some(ProblemCode::BreakerOpen);
        let g = GovernorSnapshot {
            state: BreakerState::Open,
            reason: "6 restarts within 60 s (crash last)".into(),
            open_for_ms: 125_000,
            override_available: true,
            ..closed()
        };
        let v = view(&f, &g, 0, Lang::En);
        assert_eq!(v.icon, TrayIconKind::BreakerOpen);
        assert_eq!(
            v.detail.as_deref(),
            Some("Restarts held back: 6 restarts within 60 s (crash last) · next allowed in 2 min")
        );
        assert_eq!(
            enabled(&v),
            ["start", "stop", "restart-anyway", "open", "quit"]
        );
        let th = view(&f, &g, 0, Lang::Th);
        assert!(th.items.iter().any(|i| i.label == "รีสตาร์ตต่อไป"));
    }

    #[test]
    fn transitions_show_the_busy_icon_and_no_second_start() {
        for (phase, headline, line) in [
            (PhaseName::Starting, Headline::Starting, "Gateway starting…"),
            (
                PhaseName::Backoff,
                Headline::Restarting,
                "Gateway restarting…",
            ),
            (
                PhaseName::Reconnecting,
                Headline::Reconnecting,
                "Reconnecting to the gateway…",
            ),
            (PhaseName::Stopping, Headline::Stopping, "Gateway stopping…"),
        ] {
            let v = view(&status(phase, headline), &closed(), 0, Lang::En);
            assert_eq!((v.icon, v.status.as_str()), (TrayIconKind::Starting, line));
            assert!(!enabled(&v).contains(&"start"), "{phase:?}");
        }
        let v = view(
            &status(PhaseName::Stopping, Headline::Stopping),
            &closed(),
            0,
            Lang::En,
        );
        assert_eq!(enabled(&v), ["open", "quit"]);
    }

    #[test]
    fn menu_ids_round_trip() {
        for a in TrayAction::ALL {
            assert_eq!(TrayAction::from_id(a.id()), Some(a));
        }
        assert_eq!(TrayAction::from_id("status"), None);
    }
}
