//! Event normalization: gateway frames in, [`SupervisorEvent`]s out, with run continuity.
//!
//! It owns the per-run and per-tool state that turns two protocol versions and two gateways into
//! one stream: chat text as **cumulative text plus increment** (v4 `deltaText` when present,
//! otherwise derived from the cumulative `message` of v3; a non-prefix rewrite becomes
//! `replace`), **deduplicated by (runId, seq)** and never repeated after a terminal state; tool
//! status merged from `agent` `tool` and `item` streams by toolCallId, only ever moving forward
//! (`running` < `completed` < `error`, anchors b14) with duration and a two-line summary;
//! approvals from `exec.approval.*`; other gateway events passed through (`tick` dropped). Across
//! link losses it keeps open runs; [`Normalizer::reconcile`] compares them with `chat.history`
//! after a reconnect and ends the runs a restart cut as `interrupted`, with the longest text
//! known, so nothing already streamed is lost or duplicated. Pure: no IO, no clock (callers pass
//! epoch milliseconds for events that carry no timestamp).

use std::collections::{HashMap, VecDeque};

use serde_json::Value;
use tether_protocol::agent::{AgentData, ToolPhase};
use tether_protocol::events::{names, ExecApprovalRequested, ExecApprovalResolved};
use tether_protocol::methods::ChatHistory;
use tether_protocol::{AgentEvent, ChatEvent, ChatState, Event};

use crate::events::{
    truncate_on_char, ApprovalState, ApprovalUpdate, ChatPhase, ChatUpdate, GatewayEvent,
    SupervisorEvent, ToolStatus, ToolUpdate, TOOL_ARGS_MAX, TOOL_ERROR_MAX, TOOL_OUTPUT_MAX,
};

/// Finished runs remembered for deduplication.
const FINISHED_RUNS: usize = 256;
/// Tool summary length cap, in chars.
const SUMMARY_CHARS: usize = 160;

#[derive(Debug, Clone, Default)]
struct Run {
    session_key: String,
    text: String,
    last_seq: Option<u64>,
    terminal: bool,
}

#[derive(Debug, Clone)]
struct Tool {
    name: String,
    status: ToolStatus,
    started_ms: Option<u64>,
    duration_ms: Option<u64>,
    summary: Option<String>,
}

/// The normalizer.
#[derive(Debug, Default)]
pub struct Normalizer {
    runs: HashMap<String, Run>,
    finished: VecDeque<String>,
    tools: HashMap<(String, String), Tool>,
}

impl Normalizer {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// One gateway event; `now_ms` stands in for missing timestamps.
    pub fn on_event(&mut self, ev: &Event, now_ms: u64) -> Vec<SupervisorEvent> {
        self.on_owned_event(ev.clone(), now_ms)
    }

    /// Like [`Normalizer::on_event`], taking the event by value (no payload copy on the hot path).
    pub fn on_owned_event(&mut self, mut ev: Event, now_ms: u64) -> Vec<SupervisorEvent> {
        if ev.event == names::CHAT {
            let payload = ev.payload.take().unwrap_or(Value::Null);
            return match serde_json::from_value::<ChatEvent>(payload) {
                Ok(c) => self.on_chat(c).into_iter().collect(),
                Err(_) => Vec::new(),
            };
        }
        let ev = &ev;
        match ev.event.as_str() {
            names::AGENT => match ev.payload_as::<AgentEvent>() {
                Ok(a) => self.on_agent(&a, now_ms).into_iter().collect(),
                Err(_) => Vec::new(),
            },
            names::EXEC_APPROVAL_REQUESTED => ev
                .payload_as::<ExecApprovalRequested>()
                .ok()
                .map(|r| {
                    SupervisorEvent::Approval(ApprovalUpdate {
                        state: ApprovalState::Requested,
                        id: r.id,
                        command: Some(r.request.command),
                        cwd: r.request.cwd,
                        session_key: r.request.session_key,
                        run_id: r.request.run_id,
                        decision: None,
                        expires_at_ms: r.expires_at_ms,
                        allowed_decisions: r.request.allowed_decisions,
                    })
                })
                .into_iter()
                .collect(),
            names::EXEC_APPROVAL_RESOLVED => ev
                .payload_as::<ExecApprovalResolved>()
                .ok()
                .map(|r| {
                    SupervisorEvent::Approval(ApprovalUpdate {
                        state: ApprovalState::Resolved,
                        id: r.id,
                        command: None,
                        cwd: None,
                        session_key: None,
                        run_id: None,
                        decision: Some(r.decision),
                        expires_at_ms: None,
                        allowed_decisions: None,
                    })
                })
                .into_iter()
                .collect(),
            names::TICK | names::CONNECT_CHALLENGE => Vec::new(),
            _ => vec![SupervisorEvent::Gateway(GatewayEvent {
                event: ev.event.clone(),
                payload: ev.payload.clone().unwrap_or(Value::Null),
            })],
        }
    }

    fn finish(&mut self, run_id: &str) {
        self.finished.push_back(run_id.to_owned());
        while self.finished.len() > FINISHED_RUNS {
            if let Some(old) = self.finished.pop_front() {
                self.runs.remove(&old);
                self.tools.retain(|(r, _), _| *r != old);
            }
        }
    }

    /// A `chat` event payload already parsed (the relay's hot path).
    pub fn on_chat_event(&mut self, c: ChatEvent) -> Option<SupervisorEvent> {
        self.on_chat(c)
    }

    fn on_chat(&mut self, c: ChatEvent) -> Option<SupervisorEvent> {
        let run = self.runs.entry(c.run_id.clone()).or_insert_with(|| Run {
            session_key: c.session_key.clone(),
            ..Run::default()
        });
        if run.terminal {
            return None;
        }
        // Dedupe key (runId, seq, state): upstream's terminal event reuses the seq of the last
        // delta (transcripts/s2_chat.jsonl: `delta 16` then `final 16`), so the seq rule applies
        // to non-terminal events and a terminal one is a duplicate only once the run has ended.
        if !c.state.is_terminal() {
            if let (Some(seq), Some(last)) = (c.seq, run.last_seq) {
                if seq <= last {
                    return None;
                }
            }
            if c.seq.is_some() {
                run.last_seq = c.seq;
            }
        }
        let state = match c.state {
            ChatState::Status => ChatPhase::Status,
            ChatState::Delta => ChatPhase::Delta,
            ChatState::Final => ChatPhase::Final,
            ChatState::Aborted => ChatPhase::Aborted,
            ChatState::Error => ChatPhase::Error,
            ChatState::Other(_) => return None,
        };
        let cumulative = c.message.as_ref().map(|m| m.text());
        let (text, delta, replace) = match (&cumulative, &c.delta_text, c.replace == Some(true)) {
            (Some(full), _, true) => (full.clone(), full.clone(), true),
            (None, Some(inc), true) => (inc.clone(), inc.clone(), true),
            (Some(full), Some(inc), false)
                if full.ends_with(inc.as_str()) && full.starts_with(&run.text) =>
            {
                (full.clone(), full[run.text.len()..].to_owned(), false)
            }
            (Some(full), _, false) => match full.strip_prefix(run.text.as_str()) {
                Some(rest) => (full.clone(), rest.to_owned(), false),
                // A final/aborted without the streamed text keeps what we have.
                None if full.is_empty() => (run.text.clone(), String::new(), false),
                None => (full.clone(), full.clone(), true),
            },
            (None, Some(inc), false) => (format!("{}{inc}", run.text), inc.clone(), false),
            (None, None, _) => (run.text.clone(), String::new(), false),
        };
        if state == ChatPhase::Delta && delta.is_empty() && !replace {
            return None;
        }
        run.text = text.clone();
        let session_key = run.session_key.clone();
        if state.is_terminal() {
            run.terminal = true;
            let id = c.run_id.clone();
            self.finish(&id);
        }
        Some(SupervisorEvent::Chat(ChatUpdate {
            run_id: c.run_id,
            session_key,
            state,
            text,
            delta,
            replace,
            seq: c.seq,
            phase: c.phase,
            stop_reason: c.stop_reason,
            error_message: c.error_message,
            error_kind: c.error_kind.map(|k| k.as_str().to_owned()),
        }))
    }

    fn on_agent(&mut self, a: &AgentEvent, now_ms: u64) -> Option<SupervisorEvent> {
        let ts = a.ts.unwrap_or(now_ms);
        let (call_id, name, status, output, duration, args) = match a.data().ok()? {
            AgentData::Tool(t) => {
                let status = match t.phase {
                    ToolPhase::Start | ToolPhase::Update => ToolStatus::Running,
                    ToolPhase::Result if t.is_error == Some(true) => ToolStatus::Error,
                    ToolPhase::Result => ToolStatus::Completed,
                    ToolPhase::Other(_) => return None,
                };
                let source = t.result.as_ref().or(t.partial_result.as_ref());
                let duration = source
                    .and_then(|r| {
                        r.pointer("/details/durationMs")
                            .or_else(|| r.pointer("/details/duration"))
                    })
                    .and_then(Value::as_u64);
                let output = source.map(result_text).or(t.meta.clone());
                let args = t.args.as_ref().map(pretty_args);
                (t.tool_call_id, t.name, status, output, duration, args)
            }
            AgentData::Item(i) if matches!(i.kind.as_deref(), Some("tool" | "command")) => {
                let call_id = i.tool_call_id.clone()?;
                let status = match i.status.as_deref() {
                    Some("completed" | "success" | "done") => ToolStatus::Completed,
                    Some("failed" | "error") => ToolStatus::Error,
                    _ if i.phase == "end" && i.error.is_some() => ToolStatus::Error,
                    _ if i.phase == "end" => ToolStatus::Completed,
                    _ => ToolStatus::Running,
                };
                let duration = match (i.started_at, i.ended_at) {
                    (Some(s), Some(e)) if e >= s => Some(e - s),
                    _ => None,
                };
                let name = i
                    .name
                    .clone()
                    .or(i.title.clone())
                    .unwrap_or_else(|| "tool".into());
                (call_id, name, status, i.summary.or(i.error), duration, None)
            }
            _ => return None,
        };
        let session_key = a
            .session_key
            .clone()
            .or_else(|| self.runs.get(&a.run_id).map(|r| r.session_key.clone()));
        let key = (a.run_id.clone(), call_id.clone());
        let summary = output.as_deref().and_then(summarize);
        let entry = self.tools.entry(key);
        let tool = match entry {
            std::collections::hash_map::Entry::Vacant(v) => v.insert(Tool {
                name: name.clone(),
                status,
                started_ms: Some(ts),
                duration_ms: None,
                summary: None,
            }),
            std::collections::hash_map::Entry::Occupied(o) => {
                let t = o.into_mut();
                if status <= t.status {
                    // Only forward moves are news; keep what we learnt in passing.
                    if t.summary.is_none() {
                        t.summary = summary;
                    }
                    if t.duration_ms.is_none() && status != ToolStatus::Running {
                        t.duration_ms = duration;
                    }
                    return None;
                }
                t.status = status;
                t
            }
        };
        if status != ToolStatus::Running {
            tool.duration_ms = duration
                .or(tool.duration_ms)
                .or_else(|| tool.started_ms.map(|s| ts.saturating_sub(s)));
        }
        if summary.is_some() {
            tool.summary = summary;
        }
        let finished = tool.status != ToolStatus::Running;
        let (output, output_truncated) = match output.as_deref().filter(|_| finished) {
            Some(o) => {
                let (cut, truncated) = truncate_on_char(o, TOOL_OUTPUT_MAX);
                (Some(cut.to_owned()), truncated)
            }
            None => (None, false),
        };
        let error = match (&output, tool.status) {
            (Some(o), ToolStatus::Error) => Some(truncate_on_char(o, TOOL_ERROR_MAX).0.to_owned()),
            _ => None,
        };
        Some(SupervisorEvent::Tool(ToolUpdate {
            run_id: a.run_id.clone(),
            tool_call_id: call_id,
            name: tool.name.clone(),
            status: tool.status,
            session_key,
            duration_ms: if finished { tool.duration_ms } else { None },
            summary: tool.summary.clone(),
            started_at_ms: tool.started_ms,
            args,
            output,
            output_truncated,
            error,
        }))
    }

    /// Open runs, by session: what a reconnect must reconcile.
    pub fn open_sessions(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .runs
            .values()
            .filter(|r| !r.terminal)
            .map(|r| r.session_key.clone())
            .collect();
        s.sort();
        s.dedup();
        s
    }

    /// After a reconnect: compares a session's open runs with its transcript. Text the gateway
    /// persisted beyond what was streamed is emitted as a delta; if `cut` (the gateway
    /// restarted), each open run then ends as `interrupted`.
    pub fn reconcile(
        &mut self,
        session_key: &str,
        history: Option<&ChatHistory>,
        cut: bool,
        reason: &str,
    ) -> Vec<SupervisorEvent> {
        let persisted = history.and_then(|h| {
            let last_user = h.messages.iter().rposition(|m| m.role == "user");
            h.messages
                .iter()
                .enumerate()
                .rev()
                .find(|(i, m)| m.role == "assistant" && last_user.is_none_or(|u| *i > u))
                .map(|(_, m)| m.text())
        });
        let mut out = Vec::new();
        let ids: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, r)| !r.terminal && r.session_key == session_key)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(run) = self.runs.get_mut(&id) else {
                continue;
            };
            let mut delta = String::new();
            if let Some(p) = &persisted {
                if p.len() > run.text.len() && p.starts_with(run.text.as_str()) {
                    delta = p[run.text.len()..].to_owned();
                    run.text = p.clone();
                }
            }
            if !cut && delta.is_empty() {
                continue;
            }
            let state = if cut {
                ChatPhase::Interrupted
            } else {
                ChatPhase::Delta
            };
            if cut {
                run.terminal = true;
            }
            out.push(SupervisorEvent::Chat(ChatUpdate {
                run_id: id.clone(),
                session_key: run.session_key.clone(),
                state,
                text: run.text.clone(),
                delta,
                replace: false,
                seq: None,
                phase: None,
                stop_reason: cut.then(|| "interrupted".to_owned()),
                error_message: cut.then(|| reason.to_owned()),
                error_kind: None,
            }));
            if cut {
                self.finish(&id);
            }
        }
        out
    }

    /// The gateway is gone and will not be reconciled now: every open run ends as `interrupted`.
    pub fn interrupt_all(&mut self, reason: &str) -> Vec<SupervisorEvent> {
        let mut out = Vec::new();
        for s in self.open_sessions() {
            out.extend(self.reconcile(&s, None, true, reason));
        }
        out
    }
}

/// Tool arguments as pretty JSON, cut to [`TOOL_ARGS_MAX`] bytes.
fn pretty_args(args: &Value) -> String {
    let text = serde_json::to_string_pretty(args).unwrap_or_default();
    truncate_on_char(&text, TOOL_ARGS_MAX).0.to_owned()
}

/// The text of a tool result: `content[].text` joined, or a string result.
fn result_text(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_owned();
    }
    if let Some(blocks) = v.get("content").and_then(Value::as_array) {
        return blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
    }
    v.get("details")
        .and_then(|d| d.get("aggregated").or_else(|| d.get("tail")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// First two non-empty lines joined by " / ", cut to 160 chars (anchors b14).
pub fn summarize(output: &str) -> Option<String> {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(2)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let joined = lines.join(" / ");
    Some(if joined.chars().count() > SUMMARY_CHARS {
        joined
            .chars()
            .take(SUMMARY_CHARS - 1)
            .chain(std::iter::once('…'))
            .collect()
    } else {
        joined
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(name: &str, payload: Value) -> Event {
        Event::new(name, payload)
    }

    fn chat(
        run: &str,
        seq: u64,
        state: &str,
        text: Option<&str>,
        delta_text: Option<&str>,
    ) -> Event {
        let mut p =
            json!({"runId": run, "sessionKey": "agent:main:main", "seq": seq, "state": state});
        if let Some(t) = text {
            p["message"] = json!({"role":"assistant","content":[{"type":"text","text":t}]});
        }
        if let Some(d) = delta_text {
            p["deltaText"] = json!(d);
        }
        ev("chat", p)
    }

    fn chats(out: Vec<SupervisorEvent>) -> Vec<(ChatPhase, String, String)> {
        out.into_iter()
            .filter_map(|e| match e {
                SupervisorEvent::Chat(c) => Some((c.state, c.text, c.delta)),
                _ => None,
            })
            .collect()
    }

    fn feed(n: &mut Normalizer, events: &[Event]) -> Vec<(ChatPhase, String, String)> {
        chats(events.iter().flat_map(|e| n.on_event(e, 0)).collect())
    }

    fn c(state: ChatPhase, text: &str, delta: &str) -> (ChatPhase, String, String) {
        (state, text.into(), delta.into())
    }

    #[test]
    fn v3_cumulative_text_gets_increments() {
        let mut n = Normalizer::new();
        let got = feed(
            &mut n,
            &[
                chat("r", 1, "delta", Some("Hel"), None),
                chat("r", 2, "delta", Some("Hello"), None),
                chat("r", 3, "delta", Some("Hello wo"), None),
                chat("r", 4, "final", Some("Hello world"), None),
            ],
        );
        assert_eq!(
            got,
            vec![
                c(ChatPhase::Delta, "Hel", "Hel"),
                c(ChatPhase::Delta, "Hello", "lo"),
                c(ChatPhase::Delta, "Hello wo", " wo"),
                c(ChatPhase::Final, "Hello world", "rld"),
            ]
        );
    }

    #[test]
    fn v4_delta_text_is_used_and_duplicates_dropped() {
        let mut n = Normalizer::new();
        let got = feed(
            &mut n,
            &[
                chat("r", 5, "delta", Some("Hi"), Some("Hi")),
                chat("r", 5, "delta", Some("Hi"), Some("Hi")),
                chat("r", 4, "delta", Some("H"), Some("H")),
                chat("r", 7, "delta", Some("Hi there"), Some(" there")),
                chat("r", 9, "final", Some("Hi there"), None),
                chat("r", 9, "final", Some("Hi there"), None),
                chat("r", 10, "delta", Some("late"), Some("late")),
            ],
        );
        assert_eq!(
            got,
            vec![
                c(ChatPhase::Delta, "Hi", "Hi"),
                c(ChatPhase::Delta, "Hi there", " there"),
                c(ChatPhase::Final, "Hi there", ""),
            ]
        );
    }

    #[test]
    fn final_reusing_the_last_delta_seq_is_not_a_duplicate() {
        // As upstream 2026.9.6 sends it (transcripts/s2_chat.jsonl).
        let mut n = Normalizer::new();
        let got = feed(
            &mut n,
            &[
                chat("r", 11, "delta", Some("Hello (turn"), Some(" (turn")),
                chat("r", 16, "delta", Some("Hello (turn 1)"), Some(" 1)")),
                chat("r", 16, "final", Some("Hello (turn 1)"), None),
                chat("r", 16, "final", Some("Hello (turn 1)"), None),
            ],
        );
        assert_eq!(
            got,
            vec![
                c(ChatPhase::Delta, "Hello (turn", "Hello (turn"),
                c(ChatPhase::Delta, "Hello (turn 1)", " 1)"),
                c(ChatPhase::Final, "Hello (turn 1)", ""),
            ]
        );
    }

    #[test]
    fn rewrite_becomes_replace() {
        let mut n = Normalizer::new();
        n.on_event(&chat("r", 1, "delta", Some("Hello"), None), 0);
        let out = n.on_event(&chat("r", 2, "delta", Some("Goodbye"), None), 0);
        let SupervisorEvent::Chat(u) = &out[0] else {
            panic!()
        };
        assert!(u.replace);
        assert_eq!((u.text.as_str(), u.delta.as_str()), ("Goodbye", "Goodbye"));
    }

    fn tool(run: &str, phase: &str, extra: Value, ts: u64) -> Event {
        let mut data = json!({"phase": phase, "name": "exec", "toolCallId": "call_1"});
        if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        ev(
            "agent",
            json!({"runId": run, "seq": 1, "stream": "tool", "ts": ts, "sessionKey": "agent:main:main", "data": data}),
        )
    }

    #[test]
    fn tool_status_only_moves_forward_with_duration_and_summary() {
        let mut n = Normalizer::new();
        let mut out = Vec::new();
        out.extend(n.on_event(
            &tool("r", "start", json!({"args":{"command":"ls"}}), 1000),
            0,
        ));
        out.extend(n.on_event(&tool("r", "update", json!({}), 1100), 0));
        out.extend(n.on_event(&tool("r", "result", json!({"isError": false, "result": {"content":[{"type":"text","text":"\nhello-from-exec\n\ndone\nmore"}]}}), 2029), 0));
        // A late item event saying running must not move it back.
        out.extend(n.on_event(&ev("agent", json!({"runId":"r","stream":"item","data":{"itemId":"tool:call_1","phase":"update","kind":"tool","status":"running","toolCallId":"call_1"}})), 0));
        let tools: Vec<ToolUpdate> = out
            .into_iter()
            .filter_map(|e| match e {
                SupervisorEvent::Tool(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[0].status, ToolStatus::Running);
        assert_eq!(tools[1].status, ToolStatus::Completed);
        assert_eq!(tools[1].duration_ms, Some(1029));
        assert_eq!(tools[1].summary.as_deref(), Some("hello-from-exec / done"));
    }

    #[test]
    fn items_alone_give_tool_status() {
        let mut n = Normalizer::new();
        let item = |phase: &str, status: &str| {
            ev(
                "agent",
                json!({"runId":"r","stream":"item","data":{"itemId":"tool:c","phase":phase,"kind":"tool","name":"read","status":status,"toolCallId":"c","startedAt":10,"endedAt":35}}),
            )
        };
        let a = n.on_event(&item("start", "running"), 0);
        let b = n.on_event(&item("end", "failed"), 0);
        let SupervisorEvent::Tool(t) = &b[0] else {
            panic!("{a:?} {b:?}")
        };
        assert_eq!((t.status, t.duration_ms), (ToolStatus::Error, Some(25)));
    }

    #[test]
    fn approvals_and_passthrough() {
        let mut n = Normalizer::new();
        let out = n.on_event(&ev("exec.approval.requested", json!({"id":"a1","request":{"command":"rm -rf x","cwd":"/w","sessionKey":"k"},"expiresAtMs":5})), 0);
        assert!(
            matches!(&out[0], SupervisorEvent::Approval(a) if a.state == ApprovalState::Requested && a.command.as_deref() == Some("rm -rf x"))
        );
        let out = n.on_event(
            &ev(
                "exec.approval.resolved",
                json!({"id":"a1","decision":"deny"}),
            ),
            0,
        );
        assert!(
            matches!(&out[0], SupervisorEvent::Approval(a) if a.decision.as_deref() == Some("deny"))
        );
        assert!(n.on_event(&ev("tick", json!({"ts":1})), 0).is_empty());
        assert!(
            matches!(&n.on_event(&ev("health", json!({"ok":true})), 0)[0], SupervisorEvent::Gateway(g) if g.event == "health")
        );
    }

    fn history(texts: &[(&str, &str)]) -> ChatHistory {
        serde_json::from_value(json!({
            "sessionKey": "agent:main:main",
            "messages": texts.iter().map(|(role, t)| json!({"role": role, "content": [{"type":"text","text": t}]})).collect::<Vec<_>>()
        }))
        .unwrap()
    }

    #[test]
    fn restart_cut_runs_end_interrupted_with_the_persisted_text() {
        let mut n = Normalizer::new();
        feed(&mut n, &[chat("r", 1, "delta", Some("Hello"), None)]);
        assert_eq!(n.open_sessions(), vec!["agent:main:main".to_string()]);
        let h = history(&[("user", "hi"), ("assistant", "Hello wor")]);
        let got = chats(n.reconcile("agent:main:main", Some(&h), true, "gateway restarted"));
        assert_eq!(got, vec![c(ChatPhase::Interrupted, "Hello wor", " wor")]);
        assert!(n.open_sessions().is_empty());
        // Late events of the cut run are not news.
        assert!(feed(&mut n, &[chat("r", 2, "final", Some("Hello world"), None)]).is_empty());
    }

    #[test]
    fn link_blip_fills_the_gap_without_ending_the_run() {
        let mut n = Normalizer::new();
        feed(&mut n, &[chat("r", 1, "delta", Some("Hello"), None)]);
        let h = history(&[("user", "hi"), ("assistant", "Hello, wor")]);
        let got = chats(n.reconcile("agent:main:main", Some(&h), false, ""));
        assert_eq!(got, vec![c(ChatPhase::Delta, "Hello, wor", ", wor")]);
        let got = feed(&mut n, &[chat("r", 5, "final", Some("Hello, world"), None)]);
        assert_eq!(got, vec![c(ChatPhase::Final, "Hello, world", "ld")]);
    }

    #[test]
    fn interrupt_all_without_history() {
        let mut n = Normalizer::new();
        feed(&mut n, &[chat("r", 1, "delta", Some("Part"), None)]);
        assert_eq!(
            chats(n.interrupt_all("stopped")),
            vec![c(ChatPhase::Interrupted, "Part", "")]
        );
        assert!(n.interrupt_all("again").is_empty());
    }

    #[test]
    fn summaries() {
        assert_eq!(summarize("a\n\n b \nc"), Some("a / b".into()));
        assert_eq!(summarize("  \n"), None);
        assert_eq!(summarize(&"x".repeat(500)).unwrap().chars().count(), 160);
    }
}
