//! What a run has applied and what it last refused (kept in `Services`).

use std::sync::Arc;

use crate::config::load::{ConfigError, Loaded};

/// What the run has applied, and the last refusal.
#[derive(Debug)]
pub struct ReloadState {
    /// The config file as last applied (its hash is `appliedConfigHash`).
    pub applied: Arc<Loaded>,
    /// The last refused config, if the file is still that one.
    pub last_error: Option<ConfigError>,
    /// Hash of the refused file, so it is reported once.
    pub refused_hash: Option<String>,
}

impl ReloadState {
    /// State for a run that started with `applied`.
    pub fn new(applied: Arc<Loaded>) -> Self {
        ReloadState {
            applied,
            last_error: None,
            refused_hash: None,
        }
    }
}
