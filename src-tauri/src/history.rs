//! A session's history as the chat window shows it: turns of text and tool cards.
//!
//! It owns the translation of `chat.history` (either gateway: ours puts `runId`/`stopReason` on
//! the message, upstream puts the run under `__openclaw`) and of `sessions.list` into the
//! webview's `History` and `SessionSummary` (IPC.md). A user message is one text part; an
//! assistant turn gathers the assistant and tool-result messages up to the next user message,
//! with text and tool calls in the order they happened and each call's result attached to its
//! card. Pure functions; output is bounded like the live stream's.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tether_protocol::chat::{ChatMessage, MessageContent};
use tether_protocol::methods::{ChatHistory, SessionRow, SessionsList};
use tether_supervisor::events::{
    truncate_on_char, ToolStatus, TOOL_ARGS_MAX, TOOL_ERROR_MAX, TOOL_OUTPUT_MAX,
};

/// `HistoryTool`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryTool {
    /// Call id.
    pub tool_call_id: String,
    /// Tool name.
    pub name: String,
    /// Final status.
    pub status: ToolStatus,
    /// Pretty JSON arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    /// Result text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `output` was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub output_truncated: bool,
    /// Error text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Duration, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// `HistoryPart`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HistoryPart {
    /// Text.
    Text {
        /// The Markdown.
        text: String,
    },
    /// Consecutive tool calls.
    Tools {
        /// The calls.
        tools: Vec<HistoryTool>,
    },
}

/// How an assistant turn ended, when not plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnState {
    /// Finished.
    Final,
    /// Stopped by the user.
    Aborted,
    /// Failed.
    Error,
    /// Cut by a gateway restart.
    Interrupted,
}

/// `HistoryMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMessage {
    /// Stable within the session.
    pub id: String,
    /// `user` / `assistant`.
    pub role: &'static str,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// The run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Text and tools in order.
    pub parts: Vec<HistoryPart>,
    /// How it ended, when not plainly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<TurnState>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `History`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Session.
    pub session_key: String,
    /// Oldest first.
    pub messages: Vec<HistoryMessage>,
    /// Older messages exist.
    pub has_more: bool,
    /// Runs in flight.
    pub active_run_ids: Vec<String>,
}

fn run_id(m: &ChatMessage) -> Option<String> {
    m.extra
        .get("runId")
        .or_else(|| m.extra.get("__openclaw").and_then(|o| o.get("runId")))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn text_of(m: &ChatMessage) -> String {
    m.text()
}

fn state_of(m: &ChatMessage) -> Option<TurnState> {
    if m.extra.get("interrupted").and_then(Value::as_bool) == Some(true) {
        return Some(TurnState::Interrupted);
    }
    match m.extra.get("stopReason").and_then(Value::as_str)? {
        "interrupted" => Some(TurnState::Interrupted),
        "aborted" | "abort" | "cancelled" => Some(TurnState::Aborted),
        "error" => Some(TurnState::Error),
        _ => None,
    }
}

fn bounded(s: &str, max: usize) -> (String, bool) {
    let (cut, truncated) = truncate_on_char(s, max);
    (cut.to_owned(), truncated)
}

/// The history view of `chat.history`.
pub fn history(h: &ChatHistory, limit: usize) -> History {
    // Results by call id, to attach them to their cards.
    let results: HashMap<&str, &ChatMessage> = h
        .messages
        .iter()
        .filter(|m| m.role == "toolResult")
        .filter_map(|m| Some((m.extra.get("toolCallId")?.as_str()?, m)))
        .collect();
    let active: Vec<String> = h
        .extra
        .get("sessionInfo")
        .and_then(|s| s.get("activeRunIds"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut out: Vec<HistoryMessage> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut id_for = |run: &Option<String>, role: &str, at: Option<u64>| {
        let base = match run {
            Some(r) => format!("{r}:{role}"),
            None => format!("t{}:{role}", at.unwrap_or(0)),
        };
        let n = counts.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}:{n}")
        }
    };
    for m in &h.messages {
        match m.role.as_str() {
            "user" => {
                let run = run_id(m);
                out.push(HistoryMessage {
                    id: id_for(&run, "user", m.timestamp),
                    role: "user",
                    at_ms: m.timestamp,
                    run_id: run,
                    parts: vec![HistoryPart::Text { text: text_of(m) }],
                    state: None,
                    error_message: None,
                });
            }
            "assistant" => {
                let run = run_id(m);
                let continues = out.last().is_some_and(|last| {
                    last.role == "assistant" && (last.run_id == run || run.is_none())
                });
                if !continues {
                    out.push(HistoryMessage {
                        id: id_for(&run, "assistant", m.timestamp),
                        role: "assistant",
                        at_ms: m.timestamp,
                        run_id: run.clone(),
                        parts: Vec::new(),
                        state: None,
                        error_message: None,
                    });
                }
                let Some(turn) = out.last_mut() else { continue };
                if let Some(s) = state_of(m) {
                    turn.state = Some(s);
                }
                if let Some(e) = m.extra.get("errorMessage").and_then(Value::as_str) {
                    turn.error_message = Some(bounded(e, TOOL_ERROR_MAX).0);
                }
                let blocks = match &m.content {
                    MessageContent::Text(t) => {
                        push_text(&mut turn.parts, t);
                        continue;
                    }
                    MessageContent::Blocks(b) => b,
                };
                for b in blocks {
                    match b.kind.as_str() {
                        "text" => push_text(&mut turn.parts, b.text.as_deref().unwrap_or("")),
                        "toolCall" | "tool_use" => {
                            let id = b.extra.get("id").and_then(Value::as_str).unwrap_or("");
                            let name = b
                                .extra
                                .get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("tool");
                            let args = b
                                .extra
                                .get("arguments")
                                .or_else(|| b.extra.get("input"))
                                .map(|a| {
                                    let pretty =
                                        serde_json::to_string_pretty(a).unwrap_or_default();
                                    bounded(&pretty, TOOL_ARGS_MAX).0
                                });
                            let tool =
                                tool_card(id, name, args, results.get(id).copied(), &run, &active);
                            match turn.parts.last_mut() {
                                Some(HistoryPart::Tools { tools }) => tools.push(tool),
                                _ => turn.parts.push(HistoryPart::Tools { tools: vec![tool] }),
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let skip = out.len().saturating_sub(limit);
    let trimmed = skip > 0;
    History {
        session_key: h.session_key.clone(),
        messages: out.split_off(skip),
        has_more: trimmed || h.has_more == Some(true),
        active_run_ids: active,
    }
}

fn push_text(parts: &mut Vec<HistoryPart>, t: &str) {
    if t.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(HistoryPart::Text { text }) => {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push_str("\n\n");
            }
            text.push_str(t);
        }
        _ => parts.push(HistoryPart::Text { text: t.to_owned() }),
    }
}

fn tool_card(
    id: &str,
    name: &str,
    args: Option<String>,
    result: Option<&ChatMessage>,
    run: &Option<String>,
    active: &[String],
) -> HistoryTool {
    let Some(r) = result else {
        let running = run.as_ref().is_some_and(|r| active.contains(r));
        return HistoryTool {
            tool_call_id: id.to_owned(),
            name: name.to_owned(),
            status: if running {
                ToolStatus::Running
            } else {
                ToolStatus::Error
            },
            args,
            output: None,
            output_truncated: false,
            error: (!running).then(|| "no result was recorded for this call".to_owned()),
            duration_ms: None,
        };
    };
    let is_error = r.extra.get("isError").and_then(Value::as_bool) == Some(true);
    let text = text_of(r);
    let (output, output_truncated) = bounded(&text, TOOL_OUTPUT_MAX);
    HistoryTool {
        tool_call_id: id.to_owned(),
        name: name.to_owned(),
        status: if is_error {
            ToolStatus::Error
        } else {
            ToolStatus::Completed
        },
        args,
        error: is_error.then(|| bounded(&text, TOOL_ERROR_MAX).0),
        output: Some(output),
        output_truncated,
        duration_ms: r
            .extra
            .get("details")
            .and_then(|d| d.get("durationMs"))
            .and_then(Value::as_u64),
    }
}

/// `SessionSummary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    /// Key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Last activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at_ms: Option<u64>,
    /// Last message, shortened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// A run is in flight.
    pub active: bool,
}

/// Longest title, in chars.
const TITLE_CHARS: usize = 80;
/// Longest preview, in chars.
const PREVIEW_CHARS: usize = 160;

fn short(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = flat.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// Markdown as plain words, for a one-line preview: no heading, quote or list markers, no
/// emphasis or code marks.
fn plain(md: &str) -> String {
    md.lines()
        .map(|l| {
            let l = l.trim_start();
            let l = l.trim_start_matches(['#', '>']).trim_start();
            let l = l
                .strip_prefix("- ")
                .or_else(|| l.strip_prefix("* "))
                .unwrap_or(l);
            l.replace(['*', '`'], "")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn summary(row: &SessionRow) -> SessionSummary {
    let preview = row
        .last_message_preview
        .as_deref()
        .map(|p| short(&plain(p), PREVIEW_CHARS));
    let title = [&row.label, &row.display_name, &row.derived_title]
        .into_iter()
        .flatten()
        .map(|t| t.trim())
        .find(|t| !t.is_empty())
        .map(|t| short(t, TITLE_CHARS))
        .or_else(|| preview.as_deref().map(|p| short(p, TITLE_CHARS)))
        .unwrap_or_else(|| row.key.clone());
    let active = row.status.as_deref() == Some("running")
        || row.extra.get("hasActiveRun").and_then(Value::as_bool) == Some(true);
    SessionSummary {
        key: row.key.clone(),
        title,
        updated_at_ms: row.updated_at.clone().into_option(),
        preview,
        active,
    }
}

/// The session list, newest activity first.
pub fn sessions(list: &SessionsList) -> Vec<SessionSummary> {
    let mut v: Vec<SessionSummary> = list.sessions.iter().map(summary).collect();
    v.sort_by(|a, b| {
        b.updated_at_ms
            .cmp(&a.updated_at_ms)
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> ChatHistory {
        serde_json::from_value(json!({
            "sessionKey": "agent:main:main",
            "messages": [
                {"role": "user", "content": "What files are in my workspace?", "timestamp": 1, "runId": "r1"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "toolCall", "id": "c1", "name": "ls", "arguments": {"path": "."}}
                ], "timestamp": 2, "runId": "r1"},
                {"role": "toolResult", "toolCallId": "c1", "toolName": "ls", "isError": false,
                 "content": [{"type": "text", "text": "notes.txt\nphoto.png"}], "timestamp": 3, "runId": "r1"},
                {"role": "assistant", "content": [{"type": "text", "text": "Two files."}], "timestamp": 4, "runId": "r1"},
                {"role": "user", "content": "Delete them", "timestamp": 5, "runId": "r2"},
                {"role": "assistant", "content": [
                    {"type": "toolCall", "id": "c2", "name": "exec", "arguments": {"command": "rm *"}}
                ], "timestamp": 6, "runId": "r2", "stopReason": "interrupted", "interrupted": true},
                {"role": "toolResult", "toolCallId": "c2", "toolName": "exec", "isError": true,
                 "content": [{"type": "text", "text": "interrupted: the gateway stopped before this tool finished"}], "runId": "r2"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn turns_gather_text_and_tools_in_order() {
        let h = history(&ours(), 100);
        assert_eq!(h.messages.len(), 4);
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(
            v["messages"][0],
            json!({"id": "r1:user", "role": "user", "atMs": 1, "runId": "r1",
            "parts": [{"kind": "text", "text": "What files are in my workspace?"}]})
        );
        let turn = &v["messages"][1];
        assert_eq!(turn["id"], "r1:assistant");
        assert_eq!(
            turn["parts"][0],
            json!({"kind": "text", "text": "Let me look."})
        );
        assert_eq!(turn["parts"][1]["tools"][0]["name"], "ls");
        assert_eq!(turn["parts"][1]["tools"][0]["status"], "completed");
        assert_eq!(
            turn["parts"][1]["tools"][0]["output"],
            "notes.txt\nphoto.png"
        );
        assert_eq!(
            turn["parts"][1]["tools"][0]["args"],
            "{\n  \"path\": \".\"\n}"
        );
        assert_eq!(
            turn["parts"][2],
            json!({"kind": "text", "text": "Two files."})
        );
        let cut = &v["messages"][3];
        assert_eq!(cut["state"], "interrupted");
        assert_eq!(cut["parts"][0]["tools"][0]["status"], "error");
        assert!(!h.has_more);
    }

    #[test]
    fn upstream_runs_and_windowing() {
        let h: ChatHistory = serde_json::from_value(json!({
            "sessionKey": "agent:main:main",
            "hasMore": false,
            "messages": [
                {"role": "user", "content": "hi", "__openclaw": {"runId": "u1"}},
                {"role": "assistant", "content": [{"type": "text", "text": "hello"}], "__openclaw": {"runId": "u1"}},
                {"role": "user", "content": "more", "__openclaw": {"runId": "u2"}},
                {"role": "assistant", "content": [{"type": "toolCall", "id": "k", "name": "read", "arguments": {}}],
                 "__openclaw": {"runId": "u2"}}
            ],
            "sessionInfo": {"activeRunIds": ["u2"]}
        }))
        .unwrap();
        let all = history(&h, 10);
        assert_eq!(all.messages[1].run_id.as_deref(), Some("u1"));
        assert_eq!(all.active_run_ids, ["u2"]);
        let HistoryPart::Tools { tools } = &all.messages[3].parts[0] else {
            panic!()
        };
        assert_eq!(
            tools[0].status,
            ToolStatus::Running,
            "no result yet and the run is active"
        );
        let last2 = history(&h, 2);
        assert_eq!(last2.messages.len(), 2);
        assert!(last2.has_more);
        assert_eq!(
            last2.messages[0].id, all.messages[2].id,
            "ids do not depend on the window"
        );
    }

    #[test]
    fn huge_tool_output_is_bounded() {
        let big = "x".repeat(TOOL_OUTPUT_MAX * 2);
        let h: ChatHistory = serde_json::from_value(json!({
            "sessionKey": "s",
            "messages": [
                {"role": "assistant", "content": [{"type": "toolCall", "id": "c", "name": "read", "arguments": {}}]},
                {"role": "toolResult", "toolCallId": "c", "content": [{"type": "text", "text": big}]}
            ]
        }))
        .unwrap();
        let v = history(&h, 10);
        let HistoryPart::Tools { tools } = &v.messages[0].parts[0] else {
            panic!()
        };
        assert_eq!(tools[0].output.as_ref().unwrap().len(), TOOL_OUTPUT_MAX);
        assert!(tools[0].output_truncated);
    }

    #[test]
    fn session_titles_fall_back_sensibly() {
        let list: SessionsList = serde_json::from_value(json!({
            "ts": 1, "count": 3,
            "sessions": [
                {"key": "agent:main:a", "updatedAt": 5, "label": "Trip plans"},
                {"key": "agent:main:b", "updatedAt": 9, "lastMessagePreview": "  What   files are\nin my workspace?  "},
                {"key": "agent:main:c", "updatedAt": null}
            ]
        }))
        .unwrap();
        let s = sessions(&list);
        assert_eq!(
            s.iter().map(|x| x.title.as_str()).collect::<Vec<_>>(),
            [
                "What files are in my workspace?",
                "Trip plans",
                "agent:main:c"
            ]
        );
        assert_eq!(s[2].updated_at_ms, None);
        let p = short(
            &plain("## Findings\n\nThe **workspace** is `empty`:\n- one\n> two"),
            80,
        );
        assert_eq!(p, "Findings The workspace is empty: one two");
    }
}
