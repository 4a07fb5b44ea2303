//! Shared fixtures for the engine tests: a recording event sink, callers, configs, and waits
//! that resolve on events (with a generous safety deadline so a bug fails instead of hanging).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tether_gateway::agent::{Engine, EngineCaller, EngineOptions};
use tether_gateway::config::schema::Config;
use tether_gateway::methods::bus::{Audience, EventSink, OutEvent};
use tether_protocol::agent::AgentStream;
use tether_protocol::methods::{ChatHistory, ChatHistoryParams, ChatSendParams};
use tether_protocol::{AgentEvent, ChatEvent, Map, Scope};
use tokio::sync::Notify;

/// Safety net for waits: far beyond anything a passing test needs.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One recorded emit.
#[derive(Debug, Clone)]
pub struct Rec {
    pub event: OutEvent,
    pub audience: Audience,
    pub droppable: bool,
}

/// Records every event, in order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Rec>>,
    changed: Notify,
}

impl EventSink for Recorder {
    fn emit(&self, event: OutEvent, audience: Audience, droppable: bool) {
        self.events.lock().unwrap().push(Rec {
            event,
            audience,
            droppable,
        });
        self.changed.notify_waiters();
    }
}

impl Recorder {
    pub fn all(&self) -> Vec<Rec> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until `pred` holds over the recorded events.
    pub async fn wait_until(&self, what: &str, pred: impl Fn(&[Rec]) -> bool) {
        let fut = async {
            loop {
                let n = self.changed.notified();
                tokio::pin!(n);
                n.as_mut().enable();
                if pred(&self.events.lock().unwrap()) {
                    return;
                }
                n.await;
            }
        };
        if tokio::time::timeout(DEADLINE, fut).await.is_err() {
            panic!("timed out waiting for {what}; events: {:#?}", self.all());
        }
    }

    pub fn chat(&self, run: &str) -> Vec<ChatEvent> {
        self.all()
            .into_iter()
            .filter_map(|r| match r.event {
                OutEvent::Chat(c) if c.run_id == run => Some(c),
                _ => None,
            })
            .collect()
    }

    pub fn agent(&self, run: &str) -> Vec<AgentEvent> {
        self.all()
            .into_iter()
            .filter_map(|r| match r.event {
                OutEvent::Agent(a) if a.run_id == run => Some(a),
                _ => None,
            })
            .collect()
    }

    pub fn named(&self, name: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter_map(|r| match r.event {
                OutEvent::Named { event, payload } if event == name => Some(payload),
                _ => None,
            })
            .collect()
    }

    /// Waits for the run's terminal chat event and returns it.
    pub async fn terminal(&self, run: &str) -> ChatEvent {
        self.wait_until(&format!("terminal chat event of {run}"), |evs| {
            evs.iter().any(|r| matches!(&r.event, OutEvent::Chat(c) if c.run_id == run && c.state.is_terminal()))
        })
        .await;
        self.chat(run)
            .into_iter()
            .find(|c| c.state.is_terminal())
            .unwrap()
    }

    /// Waits until `n` agent events of `stream` exist for the run.
    pub async fn wait_stream(&self, run: &str, stream: AgentStream, n: usize) {
        let s2 = stream.clone();
        self.wait_until(&format!("{n} {s2} events"), |evs| {
            evs.iter()
                .filter(|r| matches!(&r.event, OutEvent::Agent(a) if a.run_id == run && a.stream == stream))
                .count()
                >= n
        })
        .await;
    }

    /// Waits for a named event and returns the first matching payload.
    pub async fn wait_named(&self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_until(name, |evs| {
            evs.iter().any(|r| matches!(&r.event, OutEvent::Named { event, payload } if *event == name && pred(payload)))
        })
        .await;
        self.named(name).into_iter().find(|p| pred(p)).unwrap()
    }
}

pub fn caller(conn: u64) -> EngineCaller {
    EngineCaller {
        conn: Some(conn),
        client: "test".into(),
        protocol: 4,
        tool_events: true,
        scopes: vec![Scope::Admin, Scope::Read, Scope::Write, Scope::Approvals],
        operator_ui: false,
    }
}

pub fn config(v: Value) -> Config {
    serde_json::from_value(v).unwrap()
}

/// A config with one OpenAI-compatible provider `mock/mock-1` at `base`, merged with `extra`
/// (top-level keys of `extra` replace the defaults' subtrees where given).
pub fn openai_config(base: &str, tools: Value) -> Config {
    let tools = if tools.is_null() { json!({}) } else { tools };
    config(json!({
        "models": {"providers": {"mock": {"baseUrl": base, "apiKey": "mock-key",
            "api": "openai-completions", "models": [{"id": "mock-1", "contextWindow": 32000}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
        "tools": tools,
    }))
}

pub fn options(dir: &Path) -> EngineOptions {
    let mut o = EngineOptions::new(dir);
    o.local_probes = Vec::new();
    o.retry.base = Duration::from_millis(10);
    o
}

pub fn engine(cfg: &Config, dir: &Path) -> (Engine, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let e = Engine::new(cfg, options(dir), rec.clone()).unwrap();
    (e, rec)
}

pub fn send(key: &str, message: &str, run: &str) -> ChatSendParams {
    ChatSendParams {
        session_key: key.into(),
        message: message.into(),
        idempotency_key: run.into(),
        thinking: None,
        timeout_ms: None,
        attachments: None,
        extra: Map::new(),
    }
}

/// Sends and releases the ack at once; returns the ack status.
pub async fn start(e: &Engine, c: &EngineCaller, key: &str, message: &str, run: &str) -> String {
    let ack = e.chat_send(c, send(key, message, run)).await.unwrap();
    let s = ack.value.status.to_string();
    drop(ack);
    s
}

/// Checks that agent seqs are 1..=n without gaps and every chat seq equals the seq of the
/// agent event emitted just before it (or the next one, for `status`).
pub fn check_seqs(rec: &Recorder, run: &str) {
    let mut last_agent = 0u64;
    for r in rec.all() {
        match r.event {
            OutEvent::Agent(a) if a.run_id == run => {
                assert_eq!(a.seq, Some(last_agent + 1), "agent seq gap at {a:?}");
                last_agent += 1;
            }
            OutEvent::Chat(c) if c.run_id == run => {
                let expect = if c.state == tether_protocol::ChatState::Status {
                    last_agent + 1
                } else {
                    last_agent
                };
                assert_eq!(c.seq, Some(expect), "chat seq mismatch at {c:?}");
            }
            _ => {}
        }
    }
}

/// `(stream, phase)` pairs of a run's agent events.
pub fn shape(rec: &Recorder, run: &str) -> Vec<String> {
    rec.agent(run)
        .iter()
        .map(|a| {
            let phase = a.data.get("phase").and_then(Value::as_str).unwrap_or("");
            if phase.is_empty() {
                a.stream.to_string()
            } else {
                format!("{}:{phase}", a.stream)
            }
        })
        .collect()
}

/// `chat.history` params.
pub fn history(key: &str, limit: Option<u32>, max_chars: Option<u32>) -> ChatHistoryParams {
    ChatHistoryParams {
        session_key: key.into(),
        limit,
        max_chars,
        input_run_ids: None,
        extra: Map::new(),
    }
}

/// The whole `chat.history` of a session.
pub async fn full_history(e: &Engine, c: &EngineCaller, key: &str) -> ChatHistory {
    e.chat_history(c, history(key, None, None)).await.unwrap()
}
