//! What a run has applied and what it last refused (kept in `Services`).

use std::sync::Arc;

use crate::config::load::{ConfigError, Loaded};
use crate::config::schema::ReloadMode;

/// Whether the run watches its config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watcher {
    /// The watcher is being set up.
    Starting,
    /// File changes reach the run.
    Watching,
    /// The watcher could not be set up (logged): file changes are not seen.
    Unavailable,
    /// Not watched: the run started with `gateway.reload.mode: off`.
    Off,
}

/// What the run has applied, and the last refusal.
#[derive(Debug)]
pub struct ReloadState {
    /// The config file as last applied (its hash is `appliedConfigHash`).
    pub applied: Arc<Loaded>,
    /// The last refused config, if the file is still that one.
    pub last_error: Option<ConfigError>,
    /// Hash of the refused file, so it is reported once.
    pub refused_hash: Option<String>,
    /// Whether the config file is watched.
    pub watcher: Watcher,
}

impl ReloadState {
    /// State for a run that started with `applied`.
    pub fn new(applied: Arc<Loaded>) -> Self {
        ReloadState {
            applied,
            last_error: None,
            refused_hash: None,
            watcher: Watcher::Starting,
        }
    }

    /// Upstream's `configReload.hotReloadStatus`: `active` while a saved file is applied on its
    /// own (watched, and the reload mode in effect is not `off`), `disabled` when it is not (the
    /// watcher failed, the run started with `off`, or the mode is `off` now); `None` while the
    /// watcher is still being set up (upstream also says nothing before its watcher is ready).
    pub fn hot_reload_status(&self, mode: ReloadMode) -> Option<&'static str> {
        match (self.watcher, mode) {
            (Watcher::Starting, _) => None,
            (Watcher::Watching, ReloadMode::Off) | (Watcher::Unavailable | Watcher::Off, _) => {
                Some("disabled")
            }
            (Watcher::Watching, _) => Some("active"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_reload_is_active_only_while_watched_and_not_off() {
        let loaded = Loaded {
            path: "gateway.json".into(),
            exists: false,
            text: None,
            hash: None,
            doc: serde_json::json!({}),
            config: crate::config::schema::Config::default(),
            unsupported: Vec::new(),
        };
        let mut st = ReloadState::new(Arc::new(loaded));
        assert_eq!(st.hot_reload_status(ReloadMode::Hybrid), None);
        st.watcher = Watcher::Watching;
        for mode in [ReloadMode::Hybrid, ReloadMode::Hot, ReloadMode::Restart] {
            assert_eq!(st.hot_reload_status(mode), Some("active"));
        }
        assert_eq!(st.hot_reload_status(ReloadMode::Off), Some("disabled"));
        for w in [Watcher::Unavailable, Watcher::Off] {
            st.watcher = w;
            assert_eq!(st.hot_reload_status(ReloadMode::Hybrid), Some("disabled"));
        }
    }
}
