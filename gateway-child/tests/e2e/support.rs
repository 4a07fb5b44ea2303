//! Shared rig for the end-to-end suite: a mock OpenAI-compatible provider, a gateway configured
//! to use it, clients with chosen scopes and caps, and readers that collect a run's events in
//! wire order (every wait has a generous deadline so a bug fails instead of hanging).

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tether_protocol::{Event, Frame};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, MockOpenAi};
use tether_testkit::ws::{ConnectOpts, WsClient};

/// Deadline for anything that should happen promptly.
pub const D: Duration = Duration::from_secs(30);
/// The provider key in the config; must never reach a client.
pub const MOCK_KEY: &str = "sk-mock-secret-4242";

/// Deep-merges `b` into `a` (objects key by key; anything else replaces).
pub fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

/// The config of a gateway whose model is `mock/mock-1` at `base`, merged with `extra`.
pub fn config(base: &str, extra: &Value) -> Value {
    let mut cfg = json!({
        "gateway": {"reload": {"debounceMs": 20}},
        "models": {"providers": {"mock": {
            "baseUrl": base, "apiKey": MOCK_KEY, "api": "openai-completions",
            "models": [{"id": "mock-1", "contextWindow": 32000}],
        }}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    });
    merge(&mut cfg, extra);
    cfg
}

/// A mock provider and a gateway using it.
#[derive(Debug)]
pub struct Rig {
    /// The provider.
    pub mock: MockOpenAi,
    /// The gateway.
    pub gw: Gateway,
}

impl Rig {
    /// Default config.
    pub async fn start() -> Result<Rig> {
        Rig::with(json!({})).await
    }

    /// The default config merged with `extra`.
    pub async fn with(extra: Value) -> Result<Rig> {
        Rig::with_options(extra, GatewayOptions::default()).await
    }

    /// Like [`Rig::with`], with launch options (the config is filled in).
    pub async fn with_options(extra: Value, mut opts: GatewayOptions) -> Result<Rig> {
        let mock = mock_openai::start().await?;
        opts.config = Some(config(&mock.base_url(), &extra).to_string());
        let gw = Gateway::spawn(opts).await?;
        Ok(Rig { mock, gw })
    }

    /// The gateway token.
    pub fn token(&self) -> &str {
        self.gw.token.as_deref().unwrap_or_default()
    }

    /// The default agent workspace.
    pub fn workspace(&self) -> PathBuf {
        self.gw.state_dir().join("workspace")
    }

    /// Connects with `opts`.
    pub async fn connect(&self, opts: &ConnectOpts) -> Result<WsClient> {
        Ok(WsClient::connect(&self.gw.ws_url(), opts).await?.0)
    }

    /// A v4 operator: `cli/cli`, read + write, no caps.
    pub fn operator(&self) -> ConnectOpts {
        opts(self.token(), &["operator.read", "operator.write"], &[])
    }

    /// A v4 operator (read + write) with `caps:["tool-events"]`.
    pub fn tool_operator(&self) -> ConnectOpts {
        opts(
            self.token(),
            &["operator.read", "operator.write"],
            &["tool-events"],
        )
    }

    /// An admin with every scope (the supervisor's), no caps.
    pub fn admin(&self) -> ConnectOpts {
        ConnectOpts::cli(self.token()).protocols(4, 4)
    }
}

/// A local `cli/cli` client on protocol 4 with these scopes and caps.
pub fn opts(token: &str, scopes: &[&str], caps: &[&str]) -> ConnectOpts {
    let mut o = ConnectOpts::cli(token).scopes(scopes).protocols(4, 4);
    o.caps = caps.iter().map(|c| (*c).to_owned()).collect();
    o
}

/// `chat.send` params.
pub fn send_params(key: &str, message: &str, run: &str) -> Value {
    json!({"sessionKey": key, "message": message, "idempotencyKey": run})
}

fn run_of(e: &Event) -> Option<&str> {
    e.payload.as_ref()?.get("runId")?.as_str()
}

/// Whether a frame is an event of run `run` (chat or agent).
pub fn is_run_event(f: &Frame, run: &str) -> bool {
    matches!(f, Frame::Event(e) if (e.event == "chat" || e.event == "agent") && run_of(e) == Some(run))
}

/// Sends `chat.send` and returns the ack payload, checking that no event of the run arrived
/// before it (the client stashes everything it reads while waiting for the response).
pub async fn chat_send(c: &mut WsClient, key: &str, message: &str, run: &str) -> Result<Value> {
    let res = c.call("chat.send", send_params(key, message, run)).await?;
    if c.stashed().any(|f| is_run_event(f, run)) {
        bail!("an event of {run} arrived before its ack");
    }
    payload(res)
}

/// The payload of a successful response.
/// `exec.approval.resolve {id, decision}` on `c`; its payload (an error if refused).
pub async fn resolve_approval(c: &mut WsClient, id: &str, decision: &str) -> Result<Value> {
    payload(
        c.call(
            "exec.approval.resolve",
            json!({"id": id, "decision": decision}),
        )
        .await?,
    )
}

pub fn payload(res: tether_protocol::Response) -> Result<Value> {
    if res.ok {
        Ok(res.payload.unwrap_or(Value::Null))
    } else {
        bail!("call failed: {:?}", res.error)
    }
}

/// The error code of a failed response.
pub fn code(res: &tether_protocol::Response) -> String {
    res.error
        .as_ref()
        .map(|e| e.code.as_str().to_owned())
        .unwrap_or_default()
}

/// Whether an event is the terminal `chat` event of `run`.
pub fn is_terminal(e: &Event, run: &str) -> bool {
    e.event == "chat"
        && run_of(e) == Some(run)
        && e.payload
            .as_ref()
            .and_then(|p| p["state"].as_str())
            .is_some_and(|s| matches!(s, "final" | "aborted" | "error"))
}

/// Reads events in wire order until `stop` holds for one (included). Responses are dropped.
pub async fn events_until(c: &mut WsClient, stop: impl Fn(&Event) -> bool) -> Result<Vec<Event>> {
    let until = tokio::time::Instant::now() + D;
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        match c.next_frame(left).await? {
            Some(Frame::Event(e)) => {
                let done = stop(&e);
                out.push(e);
                if done {
                    return Ok(out);
                }
            }
            Some(_) => {}
            None => bail!("socket closed ({:?}) after {} events", c.closed, out.len()),
        }
    }
}

/// Reads events until the terminal `chat` event of `run`.
pub async fn until_terminal(c: &mut WsClient, run: &str) -> Result<Vec<Event>> {
    events_until(c, |e| is_terminal(e, run))
        .await
        .with_context(|| format!("waiting for the end of {run}"))
}

/// Payloads of the `chat` events of `run`.
pub fn chats(evs: &[Event], run: &str) -> Vec<Value> {
    named(evs, "chat", run)
}

/// Payloads of the `agent` events of `run`.
pub fn agents(evs: &[Event], run: &str) -> Vec<Value> {
    named(evs, "agent", run)
}

fn named(evs: &[Event], name: &str, run: &str) -> Vec<Value> {
    evs.iter()
        .filter(|e| e.event == name && run_of(e) == Some(run))
        .filter_map(|e| e.payload.clone())
        .collect()
}

/// The terminal chat payload of `run`.
pub fn terminal(evs: &[Event], run: &str) -> Value {
    evs.iter()
        .rev()
        .find(|e| is_terminal(e, run))
        .and_then(|e| e.payload.clone())
        .unwrap_or(Value::Null)
}

/// `kind[:stream][:phase|state]` labels of a run's events, in wire order.
pub fn shape(evs: &[Event], run: &str) -> Vec<String> {
    evs.iter()
        .filter(|e| run_of(e) == Some(run))
        .filter_map(|e| {
            let p = e.payload.as_ref()?;
            Some(match e.event.as_str() {
                "chat" => {
                    let state = p["state"].as_str().unwrap_or("");
                    match p["phase"].as_str() {
                        Some(ph) => format!("chat:{state}:{ph}"),
                        None => format!("chat:{state}"),
                    }
                }
                "agent" => {
                    let stream = p["stream"].as_str().unwrap_or("");
                    match p["data"]["phase"].as_str() {
                        Some(ph) => format!("agent:{stream}:{ph}"),
                        None => format!("agent:{stream}"),
                    }
                }
                other => other.to_owned(),
            })
        })
        .collect()
}

/// The run's `agent` seqs are 1, 2, 3, … and each `chat` event carries the seq of the agent
/// event before it (`status` announces the next one), as upstream.
pub fn check_run_seqs(evs: &[Event], run: &str) {
    let mut last = 0u64;
    for e in evs.iter().filter(|e| run_of(e) == Some(run)) {
        let p = e.payload.as_ref().unwrap();
        let seq = p["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {p}"));
        match e.event.as_str() {
            "agent" => {
                assert_eq!(seq, last + 1, "agent seq gap at {p}");
                last = seq;
            }
            "chat" if p["state"] == "status" => assert_eq!(seq, last + 1, "at {p}"),
            "chat" => assert_eq!(seq, last, "chat seq at {p}"),
            _ => {}
        }
    }
}

/// Frame-level `seq` of events is contiguous (every event after `hello-ok` carries one).
pub fn check_frame_seqs(evs: &[Event], first: u64) {
    for (want, e) in (first..).zip(evs) {
        assert_eq!(
            e.seq,
            Some(want),
            "frame seq of {} {:?}",
            e.event,
            e.payload
        );
    }
}

/// The text of a history message (string content or text blocks).
pub fn message_text(m: &Value) -> String {
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The texts of a `chat.history` payload's messages, in order.
pub fn history_texts(history: &Value) -> Vec<String> {
    history["messages"]
        .as_array()
        .map(|m| m.iter().map(message_text).collect())
        .unwrap_or_default()
}

/// The last request's tool results as the mock model saw them (`role:"tool"` messages).
pub fn tool_results(mock: &MockOpenAi) -> Vec<Value> {
    mock.requests()
        .last()
        .map(|r| r.body["messages"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["role"] == "tool")
        .collect()
}

/// Waits (bounded) for `n` requests at the mock.
pub async fn wait_requests(mock: &MockOpenAi, n: usize) -> Result<()> {
    tokio::time::timeout(D, mock.wait_requests(n))
        .await
        .with_context(|| format!("the provider never got {n} requests"))
}
