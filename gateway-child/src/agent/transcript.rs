//! Session transcripts on disk: append-only JSONL, one complete record per line, and the
//! replay that turns records back into conversation messages.
//!
//! It owns the record format, the file layout and names (derived from session keys by
//! escaping, never by trusting them), crash repair on load (a torn last line is cut off; a run
//! without a terminal record gets a synthetic tool result for each unfinished call and an
//! `interrupted` end), and the mapping from records to [`Msg`]s. Each record is written with a
//! single `write` of the whole line, so after a `kill -9` the file holds every record whose
//! write returned; terminal records are also `fdatasync`ed. It must never rewrite or reorder
//! existing lines: the only mutation besides appending is truncating a torn tail.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tether_protocol::chat::{ChatMessage, ContentBlock, MessageContent};
use tether_protocol::session_key::SessionKey;
use tether_protocol::Map;

/// Transcript format version (in the header record).
pub const FORMAT_VERSION: u32 = 1;

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// First line: which session this file is.
    #[serde(rename_all = "camelCase")]
    Session {
        /// Canonical session key.
        key: String,
        /// Session id (new on every reset).
        session_id: String,
        /// Epoch ms.
        created_at: u64,
        /// Format version.
        version: u32,
    },
    /// The user's message that starts a run.
    #[serde(rename_all = "camelCase")]
    User {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Message text.
        text: String,
    },
    /// The run reached the model.
    #[serde(rename_all = "camelCase")]
    RunStart {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Provider id.
        provider: String,
        /// Model id.
        model: String,
    },
    /// Assistant text, exactly as streamed (written before the delta is emitted).
    #[serde(rename_all = "camelCase")]
    Delta {
        /// Run id.
        run_id: String,
        /// The increment.
        text: String,
    },
    /// The assistant called a tool.
    #[serde(rename_all = "camelCase")]
    ToolCall {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        args: Value,
    },
    /// A tool's result.
    #[serde(rename_all = "camelCase")]
    ToolResult {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Result text (what the model sees).
        text: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// Terminal record of a run.
    #[serde(rename_all = "camelCase")]
    RunEnd {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// `final`, `aborted`, `error` or `interrupted`.
        state: String,
        /// Why it stopped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_reason: Option<String>,
        /// Error text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Tokens the run's model calls took, `[input, output]`, when the provider said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<[u64; 2]>,
    },
}

/// A tool call inside an assistant message.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Tool call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments.
    pub args: Value,
}

/// A conversation message, as the model and `chat.history` see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The user.
    User {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Text.
        text: String,
    },
    /// The assistant: text and tool calls of one model turn.
    Assistant {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Text.
        text: String,
        /// Tool calls.
        calls: Vec<ToolCall>,
        /// Set when the run did not end normally (`aborted`, `error`, `interrupted`).
        stop: Option<String>,
    },
    /// A tool result.
    Tool {
        /// Run id.
        run_id: String,
        /// Epoch ms.
        ts: u64,
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Text.
        text: String,
        /// Whether the tool failed.
        is_error: bool,
    },
}

impl Msg {
    /// Approximate size in characters (for context budgeting).
    pub fn weight(&self) -> usize {
        match self {
            Msg::User { text, .. } | Msg::Tool { text, .. } => text.len() + 16,
            Msg::Assistant { text, calls, .. } => {
                text.len()
                    + calls
                        .iter()
                        .map(|c| c.args.to_string().len() + c.name.len() + 16)
                        .sum::<usize>()
                    + 16
            }
        }
    }

    /// The run this message belongs to.
    pub fn run_id(&self) -> &str {
        match self {
            Msg::User { run_id, .. } | Msg::Assistant { run_id, .. } | Msg::Tool { run_id, .. } => {
                run_id
            }
        }
    }

    /// The message at its place in a session's transcript, as `chat.history` and
    /// `session.message` show it: [`Msg::to_chat`] plus upstream's `__openclaw` envelope: the
    /// message's stable id ([`message_id`]), its 1-based `seq`, its run, and for the user's
    /// message the idempotency key `<runId>:user` (also at the top level, where upstream's
    /// clients match the copy they showed before the gateway confirmed it). The same message
    /// always gets the same envelope, so a client that saw it in an event and again in a
    /// history keeps one copy.
    pub fn to_chat_at(&self, session_id: &str, seq: usize) -> ChatMessage {
        let mut chat = self.to_chat();
        let mut envelope = Map::new();
        envelope.insert("id".into(), json!(message_id(session_id, seq)));
        envelope.insert("seq".into(), json!(seq));
        envelope.insert("runId".into(), json!(self.run_id()));
        if let Msg::User { run_id, .. } = self {
            let key = format!("{run_id}:user");
            envelope.insert("idempotencyKey".into(), json!(key));
            chat.extra.insert("idempotencyKey".into(), json!(key));
        }
        chat.extra
            .insert("__openclaw".into(), Value::Object(envelope));
        chat
    }

    /// The message as `chat.history` returns it.
    pub fn to_chat(&self) -> ChatMessage {
        match self {
            Msg::User { run_id, ts, text } => {
                let mut extra = Map::new();
                extra.insert("runId".into(), json!(run_id));
                ChatMessage {
                    role: "user".into(),
                    content: MessageContent::Text(text.clone()),
                    timestamp: Some(*ts),
                    extra,
                }
            }
            Msg::Assistant {
                run_id,
                ts,
                text,
                calls,
                stop,
            } => {
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(ContentBlock::text(text.clone()));
                }
                for c in calls {
                    let mut extra = Map::new();
                    extra.insert("id".into(), json!(c.id));
                    extra.insert("name".into(), json!(c.name));
                    extra.insert("arguments".into(), c.args.clone());
                    blocks.push(ContentBlock {
                        kind: "toolCall".into(),
                        text: None,
                        extra,
                    });
                }
                let mut extra = Map::new();
                extra.insert("runId".into(), json!(run_id));
                if let Some(s) = stop {
                    extra.insert("stopReason".into(), json!(s));
                    if s == "interrupted" {
                        extra.insert("interrupted".into(), json!(true));
                    }
                }
                ChatMessage {
                    role: "assistant".into(),
                    content: MessageContent::Blocks(blocks),
                    timestamp: Some(*ts),
                    extra,
                }
            }
            Msg::Tool {
                run_id,
                ts,
                id,
                name,
                text,
                is_error,
            } => {
                let mut extra = Map::new();
                extra.insert("runId".into(), json!(run_id));
                extra.insert("toolCallId".into(), json!(id));
                extra.insert("toolName".into(), json!(name));
                extra.insert("isError".into(), json!(is_error));
                ChatMessage {
                    role: "toolResult".into(),
                    content: MessageContent::Blocks(vec![ContentBlock::text(text.clone())]),
                    timestamp: Some(*ts),
                    extra,
                }
            }
        }
    }
}

/// The stable id of the `seq`th (1-based) message of session `session_id`: a session's
/// transcript only grows, and a reset starts a new session id, so an id names one message for
/// good.
pub fn message_id(session_id: &str, seq: usize) -> String {
    format!("{session_id}:{seq}")
}

/// Folds records into messages. The same code path serves loading and live runs.
#[derive(Debug, Default, Clone)]
pub struct Replay {
    /// Messages so far.
    pub msgs: Vec<Msg>,
    /// The header, once seen.
    pub header: Option<(String, String, u64)>,
    /// Runs seen (user or start) without an end, in order.
    pub open_runs: Vec<String>,
    /// Epoch ms of the newest record with a timestamp.
    pub updated_at: Option<u64>,
    /// Outcome of the newest ended run (`final`, `aborted`, ...), with its stop reason.
    pub last_end: Option<(String, Option<String>)>,
    /// Provider and model of the newest run start.
    pub last_model: Option<(String, String)>,
    /// Tokens of the newest run that reported them, `[input, output]`.
    pub last_usage: Option<[u64; 2]>,
}

impl Replay {
    /// Applies one record.
    pub fn apply(&mut self, rec: &Record) {
        match rec {
            Record::Session {
                key,
                session_id,
                created_at,
                ..
            } => {
                self.header = Some((key.clone(), session_id.clone(), *created_at));
                self.touch(*created_at);
            }
            Record::User { run_id, ts, text } => {
                self.open(run_id);
                self.touch(*ts);
                self.msgs.push(Msg::User {
                    run_id: run_id.clone(),
                    ts: *ts,
                    text: text.clone(),
                });
            }
            Record::RunStart {
                run_id,
                ts,
                provider,
                model,
            } => {
                self.open(run_id);
                self.touch(*ts);
                self.last_model = Some((provider.clone(), model.clone()));
            }
            Record::Delta { run_id, text } => {
                let ts = self.updated_at.unwrap_or(0);
                match self.msgs.last_mut() {
                    Some(Msg::Assistant {
                        run_id: r, text: t, ..
                    }) if r == run_id => t.push_str(text),
                    _ => self.msgs.push(Msg::Assistant {
                        run_id: run_id.clone(),
                        ts,
                        text: text.clone(),
                        calls: Vec::new(),
                        stop: None,
                    }),
                }
            }
            Record::ToolCall {
                run_id,
                ts,
                id,
                name,
                args,
            } => {
                self.touch(*ts);
                let call = ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    args: args.clone(),
                };
                match self.msgs.last_mut() {
                    Some(Msg::Assistant {
                        run_id: r, calls, ..
                    }) if r == run_id => calls.push(call),
                    _ => self.msgs.push(Msg::Assistant {
                        run_id: run_id.clone(),
                        ts: *ts,
                        text: String::new(),
                        calls: vec![call],
                        stop: None,
                    }),
                }
            }
            Record::ToolResult {
                run_id,
                ts,
                id,
                name,
                text,
                is_error,
            } => {
                self.touch(*ts);
                self.msgs.push(Msg::Tool {
                    run_id: run_id.clone(),
                    ts: *ts,
                    id: id.clone(),
                    name: name.clone(),
                    text: text.clone(),
                    is_error: *is_error,
                });
            }
            Record::RunEnd {
                run_id,
                ts,
                state,
                stop_reason,
                usage,
                ..
            } => {
                self.touch(*ts);
                if usage.is_some() {
                    self.last_usage = *usage;
                }
                self.open_runs.retain(|r| r != run_id);
                self.last_end = Some((state.clone(), stop_reason.clone()));
                if state != "final" {
                    let label = if state == "interrupted" {
                        state.clone()
                    } else {
                        stop_reason.clone().unwrap_or_else(|| state.clone())
                    };
                    for m in self.msgs.iter_mut().rev() {
                        match m {
                            Msg::Assistant {
                                run_id: r, stop, ..
                            } if r == run_id => {
                                *stop = Some(label);
                                break;
                            }
                            Msg::User { run_id: r, .. } if r == run_id => break,
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn open(&mut self, run_id: &str) {
        if !self.open_runs.iter().any(|r| r == run_id) {
            self.open_runs.push(run_id.to_owned());
        }
    }

    fn touch(&mut self, ts: u64) {
        if ts > 0 {
            self.updated_at = Some(self.updated_at.map_or(ts, |u| u.max(ts)));
        }
    }

    /// Records that close every open run as interrupted: a synthetic error result for each
    /// tool call without a result, then an `interrupted` end.
    pub fn repair_records(&self, now: u64) -> Vec<Record> {
        let mut out = Vec::new();
        for run in &self.open_runs {
            let answered: Vec<&str> = self
                .msgs
                .iter()
                .filter_map(|m| match m {
                    Msg::Tool { run_id, id, .. } if run_id == run => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            for m in &self.msgs {
                if let Msg::Assistant { run_id, calls, .. } = m {
                    if run_id != run {
                        continue;
                    }
                    for c in calls {
                        if !answered.contains(&c.id.as_str()) {
                            out.push(Record::ToolResult {
                                run_id: run.clone(),
                                ts: now,
                                id: c.id.clone(),
                                name: c.name.clone(),
                                text: "interrupted: the gateway stopped before this tool finished"
                                    .into(),
                                is_error: true,
                            });
                        }
                    }
                }
            }
            out.push(Record::RunEnd {
                run_id: run.clone(),
                ts: now,
                state: "interrupted".into(),
                stop_reason: Some("interrupted".into()),
                error: None,
                usage: None,
            });
        }
        out
    }
}

/// An open transcript file (append mode).
#[derive(Debug)]
pub struct TranscriptFile {
    file: File,
    path: PathBuf,
}

/// What loading a transcript found.
#[derive(Debug)]
pub struct Loaded {
    /// The file, positioned for appending.
    pub file: TranscriptFile,
    /// Records in order.
    pub records: Vec<Record>,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: usize,
    /// Lines in the middle that did not parse (skipped).
    pub bad_lines: usize,
}

impl TranscriptFile {
    /// Creates a new transcript with its header. Fails if the file exists.
    pub fn create(path: &Path, header: &Record) -> std::io::Result<TranscriptFile> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        let mut t = TranscriptFile {
            file,
            path: path.to_owned(),
        };
        t.append(header)?;
        t.sync()?;
        if let Some(parent) = path.parent() {
            // Make the new directory entry durable too.
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        Ok(t)
    }

    /// Opens an existing transcript, cutting off a torn last line.
    pub fn load(path: &Path) -> std::io::Result<Loaded> {
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let keep = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None => 0,
        };
        let torn_bytes = bytes.len() - keep;
        if torn_bytes > 0 {
            file.set_len(keep as u64)?;
            file.sync_data()?;
        }
        let mut records = Vec::new();
        let mut bad_lines = 0;
        for line in bytes[..keep].split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Record>(line) {
                Ok(r) => records.push(r),
                Err(_) => bad_lines += 1,
            }
        }
        Ok(Loaded {
            file: TranscriptFile {
                file,
                path: path.to_owned(),
            },
            records,
            torn_bytes,
            bad_lines,
        })
    }

    /// Appends one record with a single write of the whole line.
    pub fn append(&mut self, rec: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// `fdatasync`.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// A second handle to the same file (for syncing off the async workers).
    pub fn try_clone_file(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Escapes one key part into a file-name-safe string: `[A-Za-z0-9_-]` stay, every other byte
/// becomes `%XX` (so `.`, `/`, `:` and NUL can never appear). Long names are shortened and
/// made unique with a hash.
pub fn escape_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 120 {
        // The escaped form is ASCII, so any index is a char boundary; never split a %XX.
        let mut cut = 96;
        if let Some(p) = out[..cut].rfind('%') {
            if p + 3 > cut {
                cut = p;
            }
        }
        let digest = Sha256::digest(s.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        out = format!("{}~{hex}", &out[..cut]);
    }
    out
}

/// `<agents_dir>/<agent>/sessions/<name>.jsonl` for a key.
pub fn transcript_path(agents_dir: &Path, key: &SessionKey) -> PathBuf {
    agents_dir
        .join(escape_part(key.agent_id()))
        .join("sessions")
        .join(format!("{}.jsonl", escape_part(key.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positioned_message_carries_its_id_seq_run_and_the_users_idempotency_key() {
        let user = Msg::User {
            run_id: "r7".into(),
            ts: 5,
            text: "hi".into(),
        };
        let chat = user.to_chat_at("s1", 3);
        assert_eq!(
            chat.extra["__openclaw"],
            json!({"id": "s1:3", "seq": 3, "runId": "r7", "idempotencyKey": "r7:user"})
        );
        assert_eq!(chat.extra["idempotencyKey"], "r7:user");
        let tool = Msg::Tool {
            run_id: "r7".into(),
            ts: 6,
            id: "c1".into(),
            name: "ls".into(),
            text: "a".into(),
            is_error: false,
        };
        let chat = tool.to_chat_at("s1", 4);
        assert_eq!(
            chat.extra["__openclaw"],
            json!({"id": "s1:4", "seq": 4, "runId": "r7"})
        );
        assert!(!chat.extra.contains_key("idempotencyKey"));
        assert_eq!(message_id("s1", 4), "s1:4");
    }

    #[test]
    fn escaping_is_traversal_free_and_bounded() {
        assert_eq!(escape_part("main"), "main");
        assert_eq!(escape_part("a:b.c"), "a%3Ab%2Ec");
        assert_eq!(escape_part(".."), "%2E%2E");
        let long = "x:".repeat(300);
        let e = escape_part(&long);
        assert!(e.len() < 140, "{}", e.len());
        assert!(!e.contains('/') && !e.contains('.'));
        assert_ne!(escape_part(&long), escape_part(&"x:".repeat(301)));
        let key = SessionKey::parse("agent:main:telegram:dm:42").unwrap();
        let p = transcript_path(Path::new("/s/agents"), &key);
        assert_eq!(
            p,
            PathBuf::from("/s/agents/main/sessions/telegram%3Adm%3A42.jsonl")
        );
    }

    #[test]
    fn replay_builds_messages_and_repairs_open_runs() {
        let recs = vec![
            Record::Session {
                key: "agent:main:main".into(),
                session_id: "s".into(),
                created_at: 1,
                version: 1,
            },
            Record::User {
                run_id: "r1".into(),
                ts: 2,
                text: "hi".into(),
            },
            Record::RunStart {
                run_id: "r1".into(),
                ts: 3,
                provider: "p".into(),
                model: "m".into(),
            },
            Record::Delta {
                run_id: "r1".into(),
                text: "Hel".into(),
            },
            Record::Delta {
                run_id: "r1".into(),
                text: "lo".into(),
            },
            Record::ToolCall {
                run_id: "r1".into(),
                ts: 4,
                id: "c1".into(),
                name: "ls".into(),
                args: json!({}),
            },
        ];
        let mut r = Replay::default();
        for rec in &recs {
            r.apply(rec);
        }
        assert_eq!(r.msgs.len(), 2);
        assert_eq!(r.open_runs, vec!["r1".to_string()]);
        let fix = r.repair_records(9);
        assert_eq!(fix.len(), 2);
        for rec in &fix {
            r.apply(rec);
        }
        assert!(r.open_runs.is_empty());
        let Msg::Assistant { text, stop, .. } = &r.msgs[1] else {
            panic!()
        };
        assert_eq!(text, "Hello");
        assert_eq!(stop.as_deref(), Some("interrupted"));
        assert!(matches!(&r.msgs[2], Msg::Tool { is_error: true, .. }));
        let chat = r.msgs[1].to_chat();
        assert_eq!(chat.extra["interrupted"], true);
    }

    #[test]
    fn load_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        let header = Record::Session {
            key: "agent:main:main".into(),
            session_id: "s".into(),
            created_at: 1,
            version: 1,
        };
        let mut t = TranscriptFile::create(&p, &header).unwrap();
        t.append(&Record::Delta {
            run_id: "r".into(),
            text: "a".into(),
        })
        .unwrap();
        drop(t);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"type\":\"delta\",\"runId\":\"r\",\"te")
            .unwrap();
        drop(f);
        let l = TranscriptFile::load(&p).unwrap();
        assert_eq!(l.records.len(), 2);
        assert!(l.torn_bytes > 0);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), 2);
    }
}
