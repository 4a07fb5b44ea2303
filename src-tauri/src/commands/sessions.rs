//! `sessions_list`, `session_history`, `session_new`, `session_delete`.

use serde::Serialize;
use serde_json::json;
use tauri::State;
use tether_protocol::methods::{names, ChatHistory, SessionsList};

use super::decode;
use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::history::{self, History, SessionSummary};

/// How many sessions the sidebar lists.
const LIST_LIMIT: u32 = 200;
/// The most messages one history call returns.
const HISTORY_LIMIT: u32 = 1000;

/// `sessions_list`.
#[tauri::command]
pub async fn sessions_list(d: State<'_, Desktop>) -> IpcResult<Vec<SessionSummary>> {
    let r = async {
        let v = d
            .handle()
            .await?
            .call(
                names::SESSIONS_LIST,
                json!({"limit": LIST_LIMIT, "includeLastMessage": true, "includeDerivedTitles": true}),
            )
            .await?;
        let list: SessionsList = decode(names::SESSIONS_LIST, v)?;
        Ok(history::sessions(&list))
    }
    .await;
    d.tap.result("sessions_list", r)
}

/// `session_history {sessionKey, limit}`.
#[tauri::command]
pub async fn session_history(
    d: State<'_, Desktop>,
    session_key: String,
    limit: u32,
) -> IpcResult<History> {
    let r = async {
        let key = super::session_key(&session_key)?;
        if !(1..=HISTORY_LIMIT).contains(&limit) {
            return Err(IpcError::invalid(format!("limit: 1–{HISTORY_LIMIT}")));
        }
        // Ask for more raw messages than turns: a turn spans several (tool calls, results).
        let raw = (limit * 4).min(HISTORY_LIMIT * 4);
        let v = d
            .handle()
            .await?
            .call(
                names::CHAT_HISTORY,
                json!({"sessionKey": key, "limit": raw}),
            )
            .await?;
        let h: ChatHistory = decode(names::CHAT_HISTORY, v)?;
        Ok(history::history(&h, limit as usize))
    }
    .await;
    d.tap.result("session_history", r)
}

/// `{sessionKey}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSession {
    /// The new key.
    pub session_key: String,
}

/// A fresh session key: `agent:main:desktop-<12 hex>`.
pub fn fresh_key() -> String {
    let hex: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(12)
        .collect();
    format!("agent:main:desktop-{hex}")
}

/// `session_new`.
#[tauri::command]
pub fn session_new(d: State<'_, Desktop>) -> IpcResult<NewSession> {
    d.tap.result(
        "session_new",
        Ok(NewSession {
            session_key: fresh_key(),
        }),
    )
}

/// `session_delete {sessionKey}`.
#[tauri::command]
pub async fn session_delete(d: State<'_, Desktop>, session_key: String) -> IpcResult<()> {
    let r = async {
        let key = super::session_key(&session_key)?;
        d.handle()
            .await?
            .call(
                names::SESSIONS_DELETE,
                json!({"key": key, "deleteTranscript": true}),
            )
            .await?;
        Ok(())
    }
    .await;
    d.tap.result("session_delete", r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::session_key;

    #[test]
    fn fresh_keys_are_valid_and_distinct() {
        let a = fresh_key();
        assert!(
            a.starts_with("agent:main:desktop-") && a.len() == "agent:main:desktop-".len() + 12
        );
        assert_eq!(session_key(&a).unwrap(), a);
        assert_ne!(a, fresh_key());
    }
}
