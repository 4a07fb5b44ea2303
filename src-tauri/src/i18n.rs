//! The few strings the shell itself shows — the tray menu and desktop notifications — in
//! English, Simplified Chinese and Thai.
//!
//! It owns [`Lang`] (chosen from the settings or the OS locale) and one function per message,
//! each an exhaustive `match` over the languages, so a missing translation does not compile.
//! Everything else the user reads is the webview's (ui/src/i18n). Free text from the gateway or
//! the supervisor (a failure reason) is shown as it comes.

use crate::settings::Language;

/// A language the shell speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
    /// Thai.
    Th,
}

impl Lang {
    /// The language for a setting, `auto` resolved from the OS locale (`LC_ALL`, `LC_MESSAGES`,
    /// `LANG`, in that order, as `zh_CN.UTF-8` or `th_TH`).
    pub fn resolve(setting: Language, os_locale: &str) -> Lang {
        match setting {
            Language::En => Lang::En,
            Language::ZhCn => Lang::ZhCn,
            Language::Th => Lang::Th,
            Language::Auto => Lang::from_locale(os_locale),
        }
    }

    /// The language of a locale tag (`zh-CN`, `zh_CN.UTF-8`, `th`, …); English otherwise.
    pub fn from_locale(tag: &str) -> Lang {
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("zh") {
            Lang::ZhCn
        } else if lower.starts_with("th") {
            Lang::Th
        } else {
            Lang::En
        }
    }
}

/// The OS locale as a BCP 47 tag (`zh_CN.UTF-8` → `zh-CN`); `en-US` when none is set.
pub fn os_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty() && v != "C" && v != "POSIX" && !v.starts_with("C."))
        .map(|v| {
            let base = v.split(['.', '@']).next().unwrap_or("en_US");
            base.replace('_', "-")
        })
        .unwrap_or_else(|| "en-US".into())
}

/// A duration in whole units, for "up 3 min".
pub fn duration(lang: Lang, ms: u64) -> String {
    let s = ms / 1000;
    let (n, unit) = if s < 60 {
        (s, 0)
    } else if s < 3600 {
        (s / 60, 1)
    } else if s < 86_400 {
        (s / 3600, 2)
    } else {
        (s / 86_400, 3)
    };
    match (lang, unit) {
        (Lang::En, 0) => format!("{n} s"),
        (Lang::En, 1) => format!("{n} min"),
        (Lang::En, 2) => format!("{n} h"),
        (Lang::En, _) => format!("{n} d"),
        (Lang::ZhCn, 0) => format!("{n} 秒"),
        (Lang::ZhCn, 1) => format!("{n} 分钟"),
        (Lang::ZhCn, 2) => format!("{n} 小时"),
        (Lang::ZhCn, _) => format!("{n} 天"),
        (Lang::Th, 0) => format!("{n} วินาที"),
        (Lang::Th, 1) => format!("{n} นาที"),
        (Lang::Th, 2) => format!("{n} ชั่วโมง"),
        (Lang::Th, _) => format!("{n} วัน"),
    }
}

/// How long a gateway has been up, in whole minutes or more (the tray redraws once a minute).
pub fn uptime(lang: Lang, ms: u64) -> String {
    if ms >= 60_000 {
        return duration(lang, ms);
    }
    match lang {
        Lang::En => "<1 min".into(),
        Lang::ZhCn => "不到 1 分钟".into(),
        Lang::Th => "ไม่ถึง 1 นาที".into(),
    }
}

/// Tray menu items and fixed phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Start the gateway.
    Start,
    /// Stop the gateway.
    Stop,
    /// Restart the gateway.
    Restart,
    /// Restart past the breaker.
    RestartAnyway,
    /// Show the window.
    Open,
    /// Quit the app.
    Quit,
    /// Status: running.
    Running,
    /// Status: starting.
    Starting,
    /// Status: restarting.
    Restarting,
    /// Status: reconnecting.
    Reconnecting,
    /// Status: stopping.
    Stopping,
    /// Status: stopped.
    Stopped,
    /// Status: paused.
    Paused,
    /// Status: failed.
    Failed,
    /// "up" before a duration.
    Up,
    /// Restarts held back by the breaker.
    HeldBack,
    /// A restart will be allowed in …
    AllowedIn,
    /// Notification: the gateway crashed.
    NoticeCrashed,
    /// Notification: paused on credentials.
    NoticeAuth,
    /// Notification: the breaker opened.
    NoticeBreaker,
    /// Notification: supervision failed.
    NoticeFailed,
}

/// The text of a label.
pub fn label(lang: Lang, l: Label) -> &'static str {
    use Label::*;
    match lang {
        Lang::En => match l {
            Start => "Start gateway",
            Stop => "Stop gateway",
            Restart => "Restart gateway",
            RestartAnyway => "Restart anyway",
            Open => "Open Tether",
            Quit => "Quit Tether",
            Running => "Gateway running",
            Starting => "Gateway starting…",
            Restarting => "Gateway restarting…",
            Reconnecting => "Reconnecting to the gateway…",
            Stopping => "Gateway stopping…",
            Stopped => "Gateway stopped",
            Paused => "Paused",
            Failed => "Failed",
            Up => "up",
            HeldBack => "Restarts held back",
            AllowedIn => "next allowed in",
            NoticeCrashed => "The gateway crashed; Tether is restarting it",
            NoticeAuth => "The gateway refused Tether's credentials",
            NoticeBreaker => "The gateway keeps crashing; restarts are on hold",
            NoticeFailed => "The gateway could not be started",
        },
        Lang::ZhCn => match l {
            Start => "启动网关",
            Stop => "停止网关",
            Restart => "重启网关",
            RestartAnyway => "仍然重启",
            Open => "打开 Tether",
            Quit => "退出 Tether",
            Running => "网关运行中",
            Starting => "网关启动中…",
            Restarting => "网关重启中…",
            Reconnecting => "正在重新连接网关…",
            Stopping => "网关停止中…",
            Stopped => "网关已停止",
            Paused => "已暂停",
            Failed => "失败",
            Up => "已运行",
            HeldBack => "已暂缓重启",
            AllowedIn => "下次可重启于",
            NoticeCrashed => "网关崩溃了，Tether 正在重启它",
            NoticeAuth => "网关拒绝了 Tether 的凭据",
            NoticeBreaker => "网关反复崩溃，已暂停自动重启",
            NoticeFailed => "无法启动网关",
        },
        Lang::Th => match l {
            Start => "เริ่มเกตเวย์",
            Stop => "หยุดเกตเวย์",
            Restart => "รีสตาร์ตเกตเวย์",
            RestartAnyway => "รีสตาร์ตต่อไป",
            Open => "เปิด Tether",
            Quit => "ออกจาก Tether",
            Running => "เกตเวย์กำลังทำงาน",
            Starting => "เกตเวย์กำลังเริ่ม…",
            Restarting => "เกตเวย์กำลังรีสตาร์ต…",
            Reconnecting => "กำลังเชื่อมต่อเกตเวย์ใหม่…",
            Stopping => "เกตเวย์กำลังหยุด…",
            Stopped => "เกตเวย์หยุดแล้ว",
            Paused => "หยุดชั่วคราว",
            Failed => "ล้มเหลว",
            Up => "ทำงานมา",
            HeldBack => "ระงับการรีสตาร์ตไว้",
            AllowedIn => "รีสตาร์ตได้อีกใน",
            NoticeCrashed => "เกตเวย์ขัดข้อง Tether กำลังรีสตาร์ต",
            NoticeAuth => "เกตเวย์ปฏิเสธข้อมูลรับรองของ Tether",
            NoticeBreaker => "เกตเวย์ขัดข้องซ้ำ ๆ จึงพักการรีสตาร์ตไว้",
            NoticeFailed => "ไม่สามารถเริ่มเกตเวย์ได้",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_resolve() {
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::ZhCn);
        assert_eq!(Lang::from_locale("zh-TW"), Lang::ZhCn);
        assert_eq!(Lang::from_locale("th_TH"), Lang::Th);
        assert_eq!(Lang::from_locale("de_DE"), Lang::En);
        assert_eq!(Lang::resolve(Language::Th, "zh_CN"), Lang::Th);
        assert_eq!(Lang::resolve(Language::Auto, "zh_CN"), Lang::ZhCn);
    }

    #[test]
    fn durations_pick_one_unit() {
        assert_eq!(duration(Lang::En, 59_999), "59 s");
        assert_eq!(duration(Lang::En, 180_000), "3 min");
        assert_eq!(duration(Lang::En, 7_200_000), "2 h");
        assert_eq!(duration(Lang::ZhCn, 180_000), "3 分钟");
        assert_eq!(duration(Lang::Th, 90_000_000), "1 วัน");
        assert_eq!(uptime(Lang::En, 59_000), "<1 min");
        assert_eq!(uptime(Lang::En, 61_000), "1 min");
    }

    #[test]
    fn every_label_differs_between_languages() {
        use Label::*;
        let all = [
            Start,
            Stop,
            Restart,
            RestartAnyway,
            Open,
            Quit,
            Running,
            Starting,
            Restarting,
            Reconnecting,
            Stopping,
            Stopped,
            Paused,
            Failed,
            Up,
            HeldBack,
            AllowedIn,
            NoticeCrashed,
            NoticeAuth,
            NoticeBreaker,
            NoticeFailed,
        ];
        for l in all {
            let (en, zh, th) = (label(Lang::En, l), label(Lang::ZhCn, l), label(Lang::Th, l));
            assert!(!en.is_empty() && !zh.is_empty() && !th.is_empty());
            assert!(en != zh && en != th, "{l:?} is not translated");
        }
    }
}
