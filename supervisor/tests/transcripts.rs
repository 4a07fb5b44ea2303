//! The normalizer against the frames upstream OpenClaw 2026.9.6 really sent
//! (`protocol/tests/fixtures/transcripts/s2_chat.jsonl`: a text turn, a `read` tool turn and an
//! `exec` tool turn): every run ends exactly once, its increments add up to its final text, and
//! tool status only moves forward to `completed` with a duration and a summary.

use std::collections::HashMap;

use tether_protocol::Frame;
use tether_supervisor::events::{ChatPhase, SupervisorEvent, ToolStatus};
use tether_supervisor::normalize::Normalizer;

#[test]
fn upstream_chat_transcript_normalizes_cleanly() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/tests/fixtures/transcripts/s2_chat.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = Normalizer::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["dir"] != "in" {
            continue;
        }
        if let Ok(Frame::Event(e)) = Frame::from_value(v["frame"].clone()) {
            out.extend(n.on_owned_event(e, 0));
        }
    }
    let mut increments: HashMap<String, String> = HashMap::new();
    let mut finals: HashMap<String, (usize, String)> = HashMap::new();
    let mut tools: HashMap<String, Vec<ToolStatus>> = HashMap::new();
    for e in &out {
        match e {
            SupervisorEvent::Chat(c) => {
                assert!(!c.replace, "no rewrites in this transcript: {c:?}");
                increments
                    .entry(c.run_id.clone())
                    .or_default()
                    .push_str(&c.delta);
                if c.state.is_terminal() {
                    assert_eq!(c.state, ChatPhase::Final);
                    let f = finals.entry(c.run_id.clone()).or_insert((0, String::new()));
                    f.0 += 1;
                    f.1 = c.text.clone();
                }
            }
            SupervisorEvent::Tool(t) => {
                tools
                    .entry(t.tool_call_id.clone())
                    .or_default()
                    .push(t.status);
                if t.status == ToolStatus::Completed {
                    assert!(t.duration_ms.is_some(), "{t:?}");
                    assert!(t.summary.is_some(), "{t:?}");
                }
            }
            _ => {}
        }
    }
    assert_eq!(finals.len(), 3, "three runs, each with a final");
    for (run, (count, text)) in &finals {
        assert_eq!(*count, 1, "run {run} ended once");
        assert_eq!(
            &increments[run], text,
            "run {run}: increments add up to the final text"
        );
    }
    assert_eq!(tools.len(), 2, "{tools:?}");
    for statuses in tools.values() {
        assert_eq!(statuses, &vec![ToolStatus::Running, ToolStatus::Completed]);
    }
}
