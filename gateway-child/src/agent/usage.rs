//! What a session's transcript says about its activity, for `sessions.usage`: each message
//! with its time, each tool call and result, and each run's end with its model and the tokens
//! its provider reported.
//!
//! It reads transcripts without opening them for writing (a loaded session may be appending:
//! a line that does not parse, such as a torn last one, is skipped) and counts messages the way
//! the replay builds them, so the counts match what `chat.history` shows. It must never write,
//! repair or register a session; the caller runs it on the blocking pool.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use tether_protocol::session_key::SessionKey;

use super::transcript::Record;

/// One thing that happened in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// The user's message.
    User {
        /// Epoch ms.
        ts: u64,
    },
    /// An assistant message began (text or tool calls of one model turn).
    Assistant {
        /// Epoch ms.
        ts: u64,
    },
    /// The assistant called a tool.
    ToolCall {
        /// Epoch ms.
        ts: u64,
        /// Tool name.
        name: String,
    },
    /// A tool's result.
    ToolResult {
        /// Epoch ms.
        ts: u64,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// A run ended.
    RunEnd {
        /// Epoch ms.
        ts: u64,
        /// The model the run used, `(provider, model)`, when it reached one.
        model: Option<(String, String)>,
        /// `[input, output]` tokens, when the provider said.
        usage: Option<[u64; 2]>,
        /// It ended in an error, an abort or a timeout.
        failed: bool,
        /// When its user message arrived, for a run that ended with a reply.
        replied_to: Option<u64>,
    },
}

impl Activity {
    /// Epoch ms.
    pub fn ts(&self) -> u64 {
        match self {
            Activity::User { ts }
            | Activity::Assistant { ts }
            | Activity::ToolCall { ts, .. }
            | Activity::ToolResult { ts, .. }
            | Activity::RunEnd { ts, .. } => *ts,
        }
    }
}

/// A session's activity, in transcript order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionActivity {
    /// Session key.
    pub key: SessionKey,
    /// Session id.
    pub session_id: String,
    /// Epoch ms of the newest record with a time.
    pub updated_at: Option<u64>,
    /// Provider and model of the newest run that reached a model.
    pub last_model: Option<(String, String)>,
    /// What happened.
    pub activity: Vec<Activity>,
}

/// A run seen so far: when its user message arrived, and the model it reached.
type RunSeen = (Option<u64>, Option<(String, String)>);

/// Where the last message came from, to tell a new assistant message from a continued one.
#[derive(PartialEq)]
enum Last {
    Nothing,
    User,
    Assistant(String),
    Tool,
}

/// Reads the transcript of `key` at `path`. `Ok(None)` when it has no header (not a transcript).
pub fn read_activity(key: &SessionKey, path: &Path) -> std::io::Result<Option<SessionActivity>> {
    let (file, _) = crate::process::regular_file::open(path)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut lines = BufReader::new(file);
    let mut out: Option<SessionActivity> = None;
    let mut last = Last::Nothing;
    let mut now = 0u64;
    let mut runs: HashMap<String, RunSeen> = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let Ok(rec) = serde_json::from_slice::<Record>(&line) else {
            continue;
        };
        if let Record::Session { session_id, .. } = &rec {
            out = Some(SessionActivity {
                key: key.clone(),
                session_id: session_id.clone(),
                updated_at: None,
                last_model: None,
                activity: Vec::new(),
            });
        }
        let Some(s) = out.as_mut() else {
            continue;
        };
        let mut touch = |ts: u64| {
            if ts > 0 {
                now = now.max(ts);
                s.updated_at = Some(s.updated_at.map_or(ts, |u| u.max(ts)));
            }
        };
        match rec {
            Record::Session { created_at, .. } => touch(created_at),
            Record::User { run_id, ts, .. } => {
                touch(ts);
                runs.entry(run_id).or_default().0 = Some(ts);
                s.activity.push(Activity::User { ts });
                last = Last::User;
            }
            Record::RunStart {
                run_id,
                ts,
                provider,
                model,
            } => {
                touch(ts);
                s.last_model = Some((provider.clone(), model.clone()));
                runs.entry(run_id).or_default().1 = Some((provider, model));
            }
            Record::Delta { run_id, .. } => {
                if last != Last::Assistant(run_id.clone()) {
                    s.activity.push(Activity::Assistant { ts: now });
                    last = Last::Assistant(run_id);
                }
            }
            Record::ToolCall {
                run_id, ts, name, ..
            } => {
                touch(ts);
                if last != Last::Assistant(run_id.clone()) {
                    s.activity.push(Activity::Assistant { ts });
                    last = Last::Assistant(run_id);
                }
                s.activity.push(Activity::ToolCall { ts, name });
            }
            Record::ToolResult { ts, is_error, .. } => {
                touch(ts);
                s.activity.push(Activity::ToolResult { ts, is_error });
                last = Last::Tool;
            }
            Record::RunEnd {
                run_id,
                ts,
                state,
                stop_reason,
                usage,
                ..
            } => {
                touch(ts);
                let (user_ts, model) = runs.remove(&run_id).unwrap_or_default();
                let failed = matches!(state.as_str(), "error" | "aborted")
                    || stop_reason.as_deref() == Some("timeout");
                s.activity.push(Activity::RunEnd {
                    ts,
                    model,
                    usage,
                    failed,
                    replied_to: user_ts.filter(|_| state == "final"),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::transcript::{TranscriptFile, FORMAT_VERSION};

    fn write(path: &Path, key: &SessionKey, records: &[Record]) {
        let header = Record::Session {
            key: key.to_string(),
            session_id: "s1".into(),
            created_at: 1_000,
            version: FORMAT_VERSION,
        };
        let mut f = TranscriptFile::create(path, &header).expect("create");
        for r in records {
            f.append(r).expect("append");
        }
    }

    #[test]
    fn a_turn_with_a_tool_reads_as_its_messages_calls_and_tokens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = SessionKey::parse("agent:main:main").expect("key");
        let path = dir.path().join("t.jsonl");
        let run = || "r1".to_owned();
        write(
            &path,
            &key,
            &[
                Record::User {
                    run_id: run(),
                    ts: 2_000,
                    text: "hi".into(),
                },
                Record::RunStart {
                    run_id: run(),
                    ts: 2_001,
                    provider: "mock".into(),
                    model: "m1".into(),
                },
                Record::ToolCall {
                    run_id: run(),
                    ts: 2_100,
                    id: "c1".into(),
                    name: "ls".into(),
                    args: serde_json::json!({}),
                },
                Record::ToolResult {
                    run_id: run(),
                    ts: 2_200,
                    id: "c1".into(),
                    name: "ls".into(),
                    text: "a".into(),
                    is_error: true,
                },
                Record::Delta {
                    run_id: run(),
                    text: "done".into(),
                },
                Record::RunEnd {
                    run_id: run(),
                    ts: 3_000,
                    state: "final".into(),
                    stop_reason: None,
                    error: None,
                    usage: Some([10, 3]),
                },
            ],
        );
        // A torn last line is skipped, not an error.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"type\":\"us"))
            .expect("tear");
        let a = read_activity(&key, &path)
            .expect("read")
            .expect("a transcript");
        assert_eq!(a.session_id, "s1");
        assert_eq!(a.updated_at, Some(3_000));
        assert_eq!(a.last_model, Some(("mock".into(), "m1".into())));
        assert_eq!(
            a.activity,
            vec![
                Activity::User { ts: 2_000 },
                Activity::Assistant { ts: 2_100 },
                Activity::ToolCall {
                    ts: 2_100,
                    name: "ls".into()
                },
                Activity::ToolResult {
                    ts: 2_200,
                    is_error: true
                },
                // After the tool result, the text is a new assistant message.
                Activity::Assistant { ts: 2_200 },
                Activity::RunEnd {
                    ts: 3_000,
                    model: Some(("mock".into(), "m1".into())),
                    usage: Some([10, 3]),
                    failed: false,
                    replied_to: Some(2_000),
                },
            ]
        );
    }

    #[test]
    fn a_file_without_a_header_is_not_a_transcript() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = SessionKey::parse("agent:main:main").expect("key");
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, b"not json\n").expect("write");
        assert_eq!(read_activity(&key, &path).expect("read"), None);
    }
}
