//! The app's own settings: which gateway to supervise, the reload policy, window and login
//! behaviour, language, theme, notifications.
//!
//! It owns `AppSettings`, its validation, and its file `$XDG_CONFIG_HOME/tether/desktop.json`
//! (else `~/.config/tether/desktop.json`), written atomically with mode 0600. A file that does
//! not parse is never overwritten silently: it is kept beside as `desktop.json.bad-<ms>` and the
//! defaults are used, and the log says so. It never holds a secret (provider keys live in the
//! gateway's own config, written through the gateway) and never decides anything about
//! supervision: it only says what the user chose.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tether_supervisor::policy::reload::ReloadMode;
use tether_supervisor::profile::GatewayKind;

use crate::error::IpcError;

/// The gateway to supervise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum GatewaySource {
    /// The `tether-gateway` installed beside the app.
    Bundled,
    /// Upstream OpenClaw: `path` is an `openclaw` executable or its entry file; absent: found on
    /// PATH (or through `TETHER_UPSTREAM_*`).
    Openclaw {
        /// Where it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
    },
    /// Any executable that follows `tether-gateway`'s conventions.
    Custom {
        /// Absolute path of the executable.
        path: PathBuf,
    },
}

impl GatewaySource {
    /// The supervisor's name for it.
    pub fn kind(&self) -> GatewayKind {
        match self {
            GatewaySource::Bundled => GatewayKind::Tether,
            GatewaySource::Openclaw { .. } => GatewayKind::OpenClaw,
            GatewaySource::Custom { path } => GatewayKind::Custom(path.clone()),
        }
    }
}

/// UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    /// Follow the OS locale.
    #[serde(rename = "auto")]
    Auto,
    /// English.
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// Thai.
    #[serde(rename = "th")]
    Th,
}

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the OS.
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// Everything the user can set in the app (IPC.md `AppSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSettings {
    /// Which gateway.
    pub gateway_source: GatewaySource,
    /// Reload policy.
    pub reload: ReloadMode,
    /// Close hides to the tray; `None` = automatic (on when a tray is shown).
    pub close_to_tray: Option<bool>,
    /// Start at login.
    pub autostart: bool,
    /// UI language.
    pub language: Language,
    /// Theme.
    pub theme: Theme,
    /// Desktop notifications while the window is hidden.
    pub notifications: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            gateway_source: GatewaySource::Bundled,
            reload: ReloadMode::Hybrid,
            close_to_tray: None,
            autostart: false,
            language: Language::Auto,
            theme: Theme::System,
            notifications: true,
        }
    }
}

/// Longest path accepted in a setting.
const MAX_PATH: usize = 4096;

impl AppSettings {
    /// Checks what a user sent: paths absolute, existing, and for a custom gateway executable.
    pub fn validate(&self) -> Result<(), IpcError> {
        let check = |p: &Path, what: &str| -> Result<(), IpcError> {
            let s = p.as_os_str();
            if s.is_empty() || s.len() > MAX_PATH || s.as_encoded_bytes().contains(&0) {
                return Err(IpcError::invalid(format!("{what}: not a usable path")));
            }
            if !p.is_absolute() {
                return Err(IpcError::invalid(format!(
                    "{what}: use an absolute path ({} is relative)",
                    p.display()
                )));
            }
            let meta = std::fs::metadata(p)
                .map_err(|e| IpcError::invalid(format!("{what}: {}: {e}", p.display())))?;
            if !meta.is_file() {
                return Err(IpcError::invalid(format!(
                    "{what}: {} is not a file",
                    p.display()
                )));
            }
            Ok(())
        };
        match &self.gateway_source {
            GatewaySource::Bundled | GatewaySource::Openclaw { path: None } => Ok(()),
            GatewaySource::Openclaw { path: Some(p) } => check(p, "OpenClaw"),
            GatewaySource::Custom { path } => {
                check(path, "custom gateway")?;
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if mode & 0o111 == 0 {
                    return Err(IpcError::invalid(format!(
                        "custom gateway: {} is not executable (chmod +x it)",
                        path.display()
                    )));
                }
                Ok(())
            }
        }
    }
}

/// The settings file of a config directory.
pub fn settings_path(config_dir: &Path) -> PathBuf {
    config_dir.join("desktop.json")
}

/// `$XDG_CONFIG_HOME/tether`, else `~/.config/tether`.
pub fn default_config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("tether");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".config/tether")
}

/// What loading found.
#[derive(Debug, PartialEq)]
pub enum Loaded {
    /// The file's settings.
    Found(AppSettings),
    /// No file yet: defaults.
    Missing,
    /// The file did not parse: defaults, and the file was moved aside to `kept`.
    Invalid {
        /// Why.
        error: String,
        /// Where the unreadable file is now.
        kept: PathBuf,
    },
}

impl Loaded {
    /// The settings to use.
    pub fn settings(&self) -> AppSettings {
        match self {
            Loaded::Found(s) => s.clone(),
            _ => AppSettings::default(),
        }
    }
}

/// Loads the settings of `config_dir`; `now_ms` names a moved-aside bad file.
pub fn load(config_dir: &Path, now_ms: u64) -> std::io::Result<Loaded> {
    let path = settings_path(config_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
        Err(e) => return Err(e),
    };
    match serde_json::from_str::<AppSettings>(&text) {
        Ok(s) => Ok(Loaded::Found(s)),
        Err(e) => {
            let kept = config_dir.join(format!("desktop.json.bad-{now_ms}"));
            std::fs::rename(&path, &kept)?;
            Ok(Loaded::Invalid {
                error: e.to_string(),
                kept,
            })
        }
    }
}

/// Saves atomically (temp file, fsync, rename), mode 0600, in a 0700 directory.
pub fn save(config_dir: &Path, settings: &AppSettings) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
    tether_supervisor::profile::create_private_dir(config_dir)?;
    tether_supervisor::profile::write_private(&settings_path(config_dir), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape_matches_ipc_md() {
        let s = AppSettings {
            gateway_source: GatewaySource::Openclaw { path: None },
            ..AppSettings::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({
                "gatewaySource": {"kind": "openclaw"},
                "reload": "hybrid",
                "closeToTray": null,
                "autostart": false,
                "language": "auto",
                "theme": "system",
                "notifications": true
            })
        );
        let back: AppSettings = serde_json::from_value(json!({
            "gatewaySource": {"kind": "custom", "path": "/opt/gw"},
            "reload": "off", "closeToTray": true, "autostart": true,
            "language": "zh-CN", "theme": "dark", "notifications": false
        }))
        .unwrap();
        assert_eq!(back.language, Language::ZhCn);
        assert_eq!(
            back.gateway_source.kind(),
            GatewayKind::Custom(PathBuf::from("/opt/gw"))
        );
        assert!(serde_json::from_value::<AppSettings>(json!({"bogus": 1})).is_err());
    }

    #[test]
    fn validation_names_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let custom = |p: &str| AppSettings {
            gateway_source: GatewaySource::Custom { path: p.into() },
            ..AppSettings::default()
        };
        assert!(custom("relative/gw")
            .validate()
            .unwrap_err()
            .message
            .contains("absolute"));
        assert!(custom("/no/such/gw")
            .validate()
            .unwrap_err()
            .message
            .contains("/no/such/gw"));
        let file = dir.path().join("gw");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        let err = custom(file.to_str().unwrap()).validate().unwrap_err();
        assert!(err.message.contains("not executable"), "{err:?}");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        custom(file.to_str().unwrap()).validate().unwrap();
        let d = custom(dir.path().to_str().unwrap()).validate().unwrap_err();
        assert!(d.message.contains("not a file"));
        AppSettings::default().validate().unwrap();
    }

    #[test]
    fn a_bad_file_is_kept_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), 1).unwrap(), Loaded::Missing);
        let s = AppSettings {
            autostart: true,
            ..AppSettings::default()
        };
        save(dir.path(), &s).unwrap();
        assert_eq!(load(dir.path(), 1).unwrap(), Loaded::Found(s));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(settings_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(settings_path(dir.path()), "{ not json").unwrap();
        let Loaded::Invalid { kept, .. } = load(dir.path(), 42).unwrap() else {
            panic!("expected invalid");
        };
        assert_eq!(kept, dir.path().join("desktop.json.bad-42"));
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "{ not json");
        assert_eq!(load(dir.path(), 43).unwrap(), Loaded::Missing);
    }
}
