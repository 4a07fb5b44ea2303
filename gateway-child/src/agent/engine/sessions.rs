//! `sessions.list`, `sessions.create` (its session; the first turn is `chat.send`'s),
//! `sessions.reset`, `sessions.delete`.

use serde_json::{json, Value};
use tether_protocol::methods::{
    SessionKeyParams, SessionRow, SessionsDeleteResult, SessionsList, SessionsListParams,
    SessionsResetResult,
};
use tether_protocol::{ErrorShape, Map, Maybe};

use crate::agent::settings::ModelChoice;
use crate::agent::*;
use crate::process::clock::now_ms;

impl Engine {
    pub(in crate::agent) fn defaults_value(&self) -> Value {
        let s = self.inner.settings();
        match s.configured_model() {
            Ok(Some(m)) => {
                json!({"modelProvider": m.provider, "model": m.model, "contextTokens": m.context_window})
            }
            _ => {
                let d = self
                    .inner
                    .discovered
                    .lock()
                    .ok()
                    .and_then(|d| d.as_ref().and_then(|d| d.choice.clone()))
                    .unwrap_or_else(ModelChoice::offline);
                json!({"modelProvider": d.provider, "model": d.model, "contextTokens": d.context_window})
            }
        }
    }

    /// The model defaults sessions start with (`sessions.list`'s `defaults`): provider, model,
    /// context window.
    pub fn model_defaults(&self) -> Value {
        self.defaults_value()
    }

    /// The agent's workspace, as configured.
    pub fn workspace(&self) -> std::path::PathBuf {
        self.inner.settings().workspace.clone()
    }

    /// One session's row as `sessions.list` shows it, or `None` when it has no transcript.
    pub async fn session_row(
        &self,
        caller: &EngineCaller,
        key: &str,
    ) -> Result<Option<SessionRow>, ErrorShape> {
        let key = parse_key(key)?.to_string();
        let params = SessionsListParams {
            limit: Some(10_000),
            ..SessionsListParams::default()
        };
        let list = self.sessions_list(caller, params).await?;
        Ok(list.sessions.into_iter().find(|r| r.key == key))
    }

    /// `sessions.list`: sessions with a transcript, newest first.
    pub async fn sessions_list(
        &self,
        _caller: &EngineCaller,
        params: SessionsListParams,
    ) -> Result<SessionsList, ErrorShape> {
        let now = now_ms();
        let include_last = params.include_last_message.unwrap_or(false);
        let search = params.search.as_deref().map(str::to_lowercase);
        let mut rows: Vec<SessionRow> = Vec::new();
        let context_tokens = self
            .defaults_value()
            .get("contextTokens")
            .and_then(Value::as_u64);
        self.inner.sessions.visit_all(|s| {
            if !s.persisted() {
                return;
            }
            if let Some(a) = &params.agent_id {
                if s.key.agent_id() != a.to_ascii_lowercase() {
                    return;
                }
            }
            let updated = s.replay.updated_at;
            if let (Some(min), Some(u)) = (params.active_minutes, updated) {
                if now.saturating_sub(u) > min.saturating_mul(60_000) {
                    return;
                }
            }
            let title = s.derived_title();
            if let Some(q) = &search {
                let hay = format!("{} {}", s.key, title.clone().unwrap_or_default()).to_lowercase();
                if !hay.contains(q) {
                    return;
                }
            }
            let status = match (&s.running, &s.replay.last_end) {
                (Some(_), _) => Some("running".to_owned()),
                (None, Some((state, reason))) => Some(status_label(state, reason.as_deref())),
                _ => None,
            };
            let mut extra = Map::new();
            extra.insert("agentId".into(), json!(s.key.agent_id()));
            extra.insert("messageCount".into(), json!(s.msgs().len()));
            // What upstream's clients read to tell a live run from a finished one.
            extra.insert("hasActiveRun".into(), json!(s.running.is_some()));
            extra.insert(
                "activeRunIds".into(),
                json!(s.running.iter().collect::<Vec<_>>()),
            );
            if let Some(last) = s.msgs().last() {
                extra.insert("lastRunId".into(), json!(last.run_id()));
            }
            rows.push(SessionRow {
                key: s.key.to_string(),
                kind: Some("direct".into()),
                updated_at: updated.map(Maybe::Value).unwrap_or(Maybe::Null),
                session_id: Some(s.id.clone()),
                label: None,
                display_name: None,
                derived_title: title,
                last_message_preview: if include_last { s.last_preview() } else { None },
                status,
                model: s.replay.last_model.as_ref().map(|(_, m)| m.clone()),
                model_provider: s.replay.last_model.as_ref().map(|(p, _)| p.clone()),
                total_tokens: s.replay.last_usage.map(|[i, o]| i + o),
                input_tokens: s.replay.last_usage.map(|[i, _]| i),
                output_tokens: s.replay.last_usage.map(|[_, o]| o),
                context_tokens,
                extra,
            });
        });
        rows.sort_by(|a, b| {
            b.updated_at
                .get()
                .cmp(&a.updated_at.get())
                .then_with(|| a.key.cmp(&b.key))
        });
        let limit = params.limit.unwrap_or(100).clamp(1, 10_000) as usize;
        let total = rows.len();
        rows.truncate(limit);
        let mut extra = Map::new();
        extra.insert("totalCount".into(), json!(total));
        extra.insert("hasMore".into(), json!(total > rows.len()));
        Ok(SessionsList {
            ts: now,
            path: Some(self.inner.sessions.dir().display().to_string()),
            count: rows.len() as u64,
            defaults: Some(self.defaults_value()),
            sessions: rows,
            extra,
        })
    }

    pub(in crate::agent) async fn stop_session_runs(&self, key: &str, reason: &str) {
        for (_, a) in self.inner.runs.active(Some(key)) {
            a.stop(reason);
            let mut rx = a.done.clone();
            let _ = rx.wait_for(|o| o.is_some()).await;
        }
    }

    pub(in crate::agent) fn announce(&self, key: &str, reason: &str) {
        self.inner.sink.emit(
            crate::methods::bus::OutEvent::Named {
                event: tether_protocol::events::names::SESSIONS_CHANGED,
                payload: serde_json::to_value(tether_protocol::events::SessionsChanged {
                    session_key: Some(key.to_owned()),
                    phase: None,
                    reason: Some(reason.to_owned()),
                    run_id: None,
                    ts: Some(now_ms()),
                    key: Some(key.to_owned()),
                    updated_at: None,
                    status: None,
                    derived_title: None,
                    extra: Map::new(),
                })
                .unwrap_or_default(),
            },
            crate::methods::bus::Audience::SessionSubscribers,
            true,
        );
    }

    /// `sessions.create`'s session: the session at `key` gets its transcript file now (so it
    /// is listed before its first message) unless it has one. Returns its session id and
    /// whether it was created (an existing session is adopted, as upstream does). Announced
    /// to session subscribers as `sessions.changed {reason: "create"}`.
    pub async fn session_create(
        &self,
        _caller: &EngineCaller,
        key: &str,
    ) -> Result<(String, bool), ErrorShape> {
        let key = parse_key(key)?;
        self.check_open()?;
        let slot = self.inner.sessions.get(&key).map_err(internal)?;
        let (id, created) = {
            let mut s = slot.lock();
            let created = s.create_file().map_err(internal)?;
            (s.id.clone(), created)
        };
        if created {
            self.announce(&key.to_string(), "create");
        }
        Ok((id, created))
    }

    /// `sessions.reset`: aborts the session's runs (`stopReason: "reset"`), archives its
    /// transcript and starts a new session id.
    pub async fn sessions_reset(
        &self,
        _caller: &EngineCaller,
        params: SessionKeyParams,
    ) -> Result<SessionsResetResult, ErrorShape> {
        let key = parse_key(&params.key)?;
        let ks = key.to_string();
        self.stop_session_runs(&ks, "reset").await;
        let slot = self.inner.sessions.get(&key).map_err(internal)?;
        let _held = slot.run_lock.lock().await;
        let id = self.inner.sessions.reset(&slot).map_err(internal)?;
        self.announce(&ks, params.reason.as_deref().unwrap_or("reset"));
        Ok(SessionsResetResult {
            ok: true,
            key: ks,
            session_id: id,
        })
    }

    /// `sessions.delete`: aborts the session's runs and forgets it; the transcript is deleted
    /// (`deleteTranscript`, default true) or archived.
    pub async fn sessions_delete(
        &self,
        _caller: &EngineCaller,
        params: SessionKeyParams,
    ) -> Result<SessionsDeleteResult, ErrorShape> {
        let key = parse_key(&params.key)?;
        let ks = key.to_string();
        self.stop_session_runs(&ks, "deleted").await;
        let Some(slot) = self.inner.sessions.existing(&key).map_err(internal)? else {
            return Ok(SessionsDeleteResult {
                ok: true,
                key: ks,
                deleted: false,
            });
        };
        let _held = slot.run_lock.lock().await;
        let had_transcript = slot.lock().persisted();
        self.inner
            .sessions
            .delete(&slot, params.delete_transcript.unwrap_or(true))
            .map_err(internal)?;
        if had_transcript {
            self.announce(&ks, "deleted");
        }
        Ok(SessionsDeleteResult {
            ok: true,
            key: ks,
            deleted: had_transcript,
        })
    }
}
