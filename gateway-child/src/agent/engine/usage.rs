//! `sessions.usage`: every session's activity, read from its transcript.

use tether_protocol::session_key::SessionKey;

use crate::agent::usage::{read_activity, SessionActivity};
use crate::agent::*;

impl Engine {
    /// The activity of every session with a transcript (only `agent`'s when given, only the
    /// session `key` when given), read on the blocking pool, one file at a time. A transcript
    /// that cannot be read is left out and logged.
    pub async fn sessions_activity(
        &self,
        agent: Option<String>,
        key: Option<SessionKey>,
    ) -> Vec<SessionActivity> {
        let engine = self.clone();
        let read = move || {
            let mut out = Vec::new();
            for (k, path) in engine.inner.sessions.transcripts() {
                if agent.as_deref().is_some_and(|a| k.agent_id() != a) {
                    continue;
                }
                if key.as_ref().is_some_and(|want| *want != k) {
                    continue;
                }
                match read_activity(&k, &path) {
                    Ok(Some(a)) => out.push(a),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(key = %k, error = %e, "could not read transcript"),
                }
            }
            out
        };
        tokio::task::spawn_blocking(read).await.unwrap_or_default()
    }
}
