//! The stream coalescer: thousands of chat deltas in, one envelope per frame out.
//!
//! It owns the shape of the chat stream the webview receives (IPC.md "The chat stream") and the
//! rule that makes it cheap: everything the supervisor reported during one window (~16 ms) is
//! folded into one [`StreamEnvelope`]. Deltas of a run are concatenated; tool updates of a run
//! follow the text that came before them; when text arrives after a tool update in the same
//! window, the run gets a second batch, so a tool card is always anchored where it happened.
//! Order within a run is the supervisor's order; a run's batches and approvals appear in the
//! order they first appeared. Nothing is dropped: a window that grows past [`FLUSH_BYTES`] asks
//! to be flushed at once, so memory stays bounded whatever the timing. Pure: no clock, no IO —
//! the bridge decides when a window ends.

use serde::Serialize;
use tether_supervisor::events::{ChatPhase, ChatUpdate, SupervisorEvent, ToolUpdate};

use crate::view::ApprovalMessage;

/// A window holding this many bytes of text and tool payload should be flushed now.
pub const FLUSH_BYTES: usize = 256 << 10;

/// `RunBatch`: what happened to one run in one window (text first, then tools).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", rename = "run")]
pub struct RunBatch {
    /// Run id.
    pub run_id: String,
    /// Session.
    pub session_key: String,
    /// The run's state after this batch.
    pub state: ChatPhase,
    /// Text appended.
    pub append: String,
    /// The whole text, rewritten (then `append`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
    /// Preparation phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why the run stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The gateway's kind of failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Tool updates, in order, after the text above.
    pub tools: Vec<ToolUpdate>,
    /// Terminal: the whole text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `ResyncMessage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", rename = "resync")]
pub struct Resync {
    /// Why.
    pub reason: ResyncReason,
}

/// Why the UI should reload what it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    /// The bridge fell behind the supervisor and lost events.
    Lagged,
    /// The gateway came back after a gap.
    Reconnected,
}

/// One message of an envelope.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StreamMessage {
    /// A run's batch.
    Run(RunBatch),
    /// An approval.
    Approval(ApprovalMessage),
    /// Reload.
    Resync(Resync),
}

/// What the webview receives per window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEnvelope {
    /// +1 per envelope.
    pub seq: u64,
    /// What happened, in order.
    pub messages: Vec<StreamMessage>,
}

/// The coalescer.
#[derive(Debug, Default)]
pub struct Coalescer {
    messages: Vec<StreamMessage>,
    bytes: usize,
    seq: u64,
}

impl Coalescer {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Whether the window holds enough to flush at once.
    pub fn is_full(&self) -> bool {
        self.bytes >= FLUSH_BYTES
    }

    /// Takes in one supervisor event; returns whether it belonged to the stream (chat, tool,
    /// approval).
    pub fn push(&mut self, ev: &SupervisorEvent) -> bool {
        match ev {
            SupervisorEvent::Chat(c) => self.chat(c),
            SupervisorEvent::Tool(t) => self.tool(t),
            SupervisorEvent::Approval(a) => {
                self.bytes += a.command.as_ref().map_or(0, String::len);
                self.messages.push(StreamMessage::Approval(a.into()));
            }
            _ => return false,
        }
        true
    }

    /// Asks the UI to reload what it shows (once per window).
    pub fn resync(&mut self, reason: ResyncReason) {
        let r = StreamMessage::Resync(Resync { reason });
        if !self.messages.contains(&r) {
            self.messages.push(r);
        }
    }

    /// The window's envelope, and a fresh window; `None` when nothing happened.
    pub fn take(&mut self) -> Option<StreamEnvelope> {
        if self.messages.is_empty() {
            return None;
        }
        self.seq += 1;
        self.bytes = 0;
        Some(StreamEnvelope {
            seq: self.seq,
            messages: std::mem::take(&mut self.messages),
        })
    }

    /// The run's open batch: the last one in the window, unless text must start a new one
    /// (`for_text` and the last batch already has tools after its text) or the run ended.
    fn batch(&mut self, run_id: &str, session_key: &str, for_text: bool) -> &mut RunBatch {
        let last = self
            .messages
            .iter()
            .rposition(|m| matches!(m, StreamMessage::Run(b) if b.run_id == run_id));
        let reusable = last.is_some_and(|i| match &self.messages[i] {
            StreamMessage::Run(b) => (!for_text || b.tools.is_empty()) && !b.state.is_terminal(),
            _ => false,
        });
        let i = match last {
            Some(i) if reusable => i,
            _ => {
                let state = last
                    .and_then(|i| match &self.messages[i] {
                        StreamMessage::Run(b) => Some(b.state),
                        _ => None,
                    })
                    .unwrap_or(ChatPhase::Delta);
                self.messages.push(StreamMessage::Run(RunBatch {
                    run_id: run_id.to_owned(),
                    session_key: session_key.to_owned(),
                    state,
                    append: String::new(),
                    replace: None,
                    phase: None,
                    stop_reason: None,
                    error_message: None,
                    error_kind: None,
                    tools: Vec::new(),
                    text: None,
                }));
                self.messages.len() - 1
            }
        };
        match &mut self.messages[i] {
            StreamMessage::Run(b) => b,
            // `i` indexes a run batch by construction.
            _ => unreachable!("coalescer index points at a run batch"),
        }
    }

    fn chat(&mut self, c: &ChatUpdate) {
        let has_text = c.replace || !c.delta.is_empty();
        self.bytes += c.delta.len();
        if c.state.is_terminal() {
            self.bytes += c.text.len();
        }
        let b = self.batch(&c.run_id, &c.session_key, has_text);
        if c.replace {
            b.replace = Some(c.text.clone());
            b.append.clear();
        } else {
            b.append.push_str(&c.delta);
        }
        b.state = c.state;
        if c.phase.is_some() {
            b.phase = c.phase.clone();
        }
        if c.state.is_terminal() {
            b.text = Some(c.text.clone());
            b.stop_reason = c.stop_reason.clone();
            b.error_message = c.error_message.clone();
            b.error_kind = c.error_kind.clone();
        }
    }

    fn tool(&mut self, t: &ToolUpdate) {
        self.bytes +=
            t.args.as_ref().map_or(0, String::len) + t.output.as_ref().map_or(0, String::len);
        let session = t.session_key.clone().unwrap_or_default();
        let b = self.batch(&t.run_id, &session, false);
        if b.session_key.is_empty() {
            b.session_key = session;
        }
        // A later update of the same call in the same window supersedes the earlier one
        // (keeping what only the earlier one carried): the UI needs the latest state only.
        match b
            .tools
            .iter_mut()
            .find(|x| x.tool_call_id == t.tool_call_id)
        {
            Some(prev) => {
                let args = prev.args.take();
                *prev = t.clone();
                if prev.args.is_none() {
                    prev.args = args;
                }
            }
            None => b.tools.push(t.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tether_supervisor::events::{ApprovalState, ApprovalUpdate, ToolStatus};

    fn delta(run: &str, text: &str, d: &str) -> SupervisorEvent {
        SupervisorEvent::Chat(ChatUpdate {
            run_id: run.into(),
            session_key: "agent:main:main".into(),
            state: ChatPhase::Delta,
            text: text.into(),
            delta: d.into(),
            replace: false,
            seq: None,
            phase: None,
            stop_reason: None,
            error_message: None,
            error_kind: None,
        })
    }

    fn end(run: &str, text: &str, state: ChatPhase) -> SupervisorEvent {
        let SupervisorEvent::Chat(mut c) = delta(run, text, "") else {
            unreachable!()
        };
        c.state = state;
        SupervisorEvent::Chat(c)
    }

    fn tool(run: &str, id: &str, status: ToolStatus) -> SupervisorEvent {
        SupervisorEvent::Tool(ToolUpdate {
            run_id: run.into(),
            tool_call_id: id.into(),
            name: "ls".into(),
            status,
            session_key: Some("agent:main:main".into()),
            duration_ms: None,
            summary: None,
            started_at_ms: Some(1),
            args: (status == ToolStatus::Running).then(|| "{}".into()),
            output: None,
            output_truncated: false,
            error: None,
        })
    }

    /// Replays envelopes the way the UI does: per run, text and tool anchors.
    fn replay(envs: &[StreamEnvelope]) -> (String, Vec<(String, usize, ToolStatus)>) {
        let mut text = String::new();
        let mut tools: Vec<(String, usize, ToolStatus)> = Vec::new();
        for e in envs {
            for m in &e.messages {
                if let StreamMessage::Run(b) = m {
                    if let Some(r) = &b.replace {
                        text = r.clone();
                    }
                    text.push_str(&b.append);
                    for t in &b.tools {
                        match tools.iter_mut().find(|x| x.0 == t.tool_call_id) {
                            Some(x) => x.2 = t.status,
                            None => tools.push((t.tool_call_id.clone(), text.len(), t.status)),
                        }
                    }
                    if let Some(full) = &b.text {
                        assert_eq!(&text, full, "the terminal text matches what was assembled");
                    }
                }
            }
        }
        (text, tools)
    }

    #[test]
    fn deltas_fold_into_one_batch_and_the_envelope_numbers_go_up() {
        let mut c = Coalescer::new();
        assert_eq!(c.take(), None);
        let mut text = String::new();
        for i in 0..1000 {
            let d = format!("{i} ");
            text.push_str(&d);
            assert!(c.push(&delta("r", &text, &d)));
        }
        let e = c.take().unwrap();
        assert_eq!(e.seq, 1);
        assert_eq!(e.messages.len(), 1, "one message for a thousand deltas");
        let StreamMessage::Run(b) = &e.messages[0] else {
            panic!()
        };
        assert_eq!(b.append, text);
        assert!(c.is_empty());
        c.push(&end("r", &text, ChatPhase::Final));
        let e2 = c.take().unwrap();
        assert_eq!(e2.seq, 2);
        let StreamMessage::Run(b) = &e2.messages[0] else {
            panic!()
        };
        assert_eq!(
            (b.state, b.text.as_deref()),
            (ChatPhase::Final, Some(text.as_str()))
        );
    }

    #[test]
    fn text_after_a_tool_starts_a_second_batch_so_the_card_stays_where_it_happened() {
        let mut c = Coalescer::new();
        c.push(&delta("r", "Let me look.", "Let me look."));
        c.push(&tool("r", "t1", ToolStatus::Running));
        c.push(&tool("r", "t1", ToolStatus::Completed));
        c.push(&delta("r", "Let me look. Three files.", " Three files."));
        let e = c.take().unwrap();
        assert_eq!(e.messages.len(), 2);
        let (text, tools) = replay(&[e]);
        assert_eq!(text, "Let me look. Three files.");
        assert_eq!(
            tools,
            vec![("t1".into(), "Let me look.".len(), ToolStatus::Completed)]
        );
    }

    #[test]
    fn updates_of_one_call_merge_and_keep_the_arguments() {
        let mut c = Coalescer::new();
        c.push(&tool("r", "t1", ToolStatus::Running));
        c.push(&tool("r", "t1", ToolStatus::Completed));
        let e = c.take().unwrap();
        let StreamMessage::Run(b) = &e.messages[0] else {
            panic!()
        };
        assert_eq!(b.tools.len(), 1);
        assert_eq!(b.tools[0].status, ToolStatus::Completed);
        assert_eq!(b.tools[0].args.as_deref(), Some("{}"));
    }

    #[test]
    fn any_split_into_windows_gives_the_same_result() {
        // One run with text, tools, a replace and a terminal state, cut into windows at every
        // possible pair of points: what the UI assembles never depends on the timing.
        let mut events = Vec::new();
        let mut text = String::new();
        for (i, w) in ["Hello", " world", "."].iter().enumerate() {
            text.push_str(w);
            events.push(delta("r", &text, w));
            if i == 1 {
                events.push(tool("r", "a", ToolStatus::Running));
            }
        }
        events.push(tool("r", "a", ToolStatus::Completed));
        events.push(tool("r", "b", ToolStatus::Running));
        text.push_str(" Done");
        events.push(delta("r", &text, " Done"));
        events.push(tool("r", "b", ToolStatus::Error));
        events.push(end("r", &text, ChatPhase::Final));
        let whole = {
            let mut c = Coalescer::new();
            let envs: Vec<_> = events
                .iter()
                .map(|e| {
                    c.push(e);
                    c.take().unwrap()
                })
                .collect();
            replay(&envs)
        };
        assert_eq!(whole.0, text);
        assert_eq!(
            whole.1,
            vec![
                ("a".into(), "Hello world".len(), ToolStatus::Completed),
                ("b".into(), "Hello world.".len(), ToolStatus::Error)
            ]
        );
        for i in 0..=events.len() {
            for j in i..=events.len() {
                let mut c = Coalescer::new();
                let mut envs = Vec::new();
                for (k, e) in events.iter().enumerate() {
                    if k == i || k == j {
                        envs.extend(c.take());
                    }
                    c.push(e);
                }
                envs.extend(c.take());
                assert_eq!(replay(&envs), whole, "cut at {i} and {j}");
            }
        }
    }

    #[test]
    fn runs_and_approvals_keep_their_order_and_other_events_are_not_taken() {
        let mut c = Coalescer::new();
        c.push(&delta("a", "x", "x"));
        assert!(c.push(&SupervisorEvent::Approval(ApprovalUpdate {
            state: ApprovalState::Requested,
            id: "ap1".into(),
            command: Some("rm -rf build".into()),
            cwd: Some("/w".into()),
            session_key: None,
            run_id: Some("a".into()),
            decision: None,
            expires_at_ms: Some(5),
            allowed_decisions: None,
        })));
        c.push(&delta("b", "y", "y"));
        assert!(!c.push(&SupervisorEvent::Diagnostic(
            tether_supervisor::events::Diagnostic::new(
                tether_supervisor::events::DiagnosticCode::Other,
                "y"
            )
        )));
        c.resync(ResyncReason::Lagged);
        c.resync(ResyncReason::Lagged);
        let v = serde_json::to_value(c.take().unwrap()).unwrap();
        let kinds: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["run", "approval", "run", "resync"]);
        assert_eq!(v["messages"][1]["command"], "rm -rf build");
        assert_eq!(
            v["messages"][3],
            json!({"kind": "resync", "reason": "lagged"})
        );
        assert_eq!(
            v["messages"][0],
            json!({"kind":"run","runId":"a","sessionKey":"agent:main:main","state":"delta","append":"x","tools":[]})
        );
    }

    #[test]
    fn a_big_window_asks_to_be_flushed() {
        let mut c = Coalescer::new();
        let chunk = "x".repeat(1024);
        let mut text = String::new();
        let mut pushes = 0;
        while !c.is_full() {
            text.push_str(&chunk);
            c.push(&delta("r", &text, &chunk));
            pushes += 1;
        }
        assert_eq!(pushes, FLUSH_BYTES / 1024);
        c.take();
        assert!(!c.is_full());
    }
}
