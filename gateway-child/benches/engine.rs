//! Agent engine benchmark: per-delta overhead and memory after 100 chat turns.
//!
//! Prints two tables (see docs/PERFORMANCE.md, "Agent engine"):
//! 1. Latency per streamed delta, measured in one process: the mock provider stamps each
//!    chunk just before handing it to its HTTP connection; the recording sink stamps the
//!    `EventSink::emit` of the matching `chat` delta. Chunks are paced one at a time (the
//!    next is released by the emit), so nothing queues. A transport-only baseline (the same
//!    mock read by a bare `reqwest` SSE loop) shows how much of it is loopback HTTP.
//! 2. RSS of this process after 100 chat turns in one session (the mock provider runs in a
//!    child process so its memory is not counted).
//! 3. Through the real release binary (`tether-gateway` spawned on port 0, token by env): the
//!    mock provider's chunk stamp → the `chat` delta frame received by a WebSocket client
//!    (stamped on arrival, before parsing; the next chunk is released by that arrival).
//! 4. RSS (`VmRSS`, `VmHWM` of `/proc/<pid>/status`) of that real gateway process after 100
//!    `chat.send` turns over the WebSocket in one session.
//!
//! Run: `cargo bench -p tether-gateway --bench engine` (add `-- --quick` for a short run).

#![allow(clippy::unwrap_used)]

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_gateway::agent::{Engine, EngineCaller, EngineOptions};
use tether_gateway::config::schema::Config;
use tether_gateway::methods::bus::{Audience, EventSink, OutEvent};
use tether_protocol::methods::ChatSendParams;
use tether_protocol::{ChatState, Map, Scope};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, Reply};
use tether_testkit::process::rss_and_peak_kib;
use tether_testkit::ws::{ConnectOpts, WsClient};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::Message;

struct LatencySink {
    stamps: Mutex<Vec<Instant>>,
    pace: Arc<Semaphore>,
    done: mpsc::UnboundedSender<()>,
}

impl EventSink for LatencySink {
    fn emit(&self, event: OutEvent, _audience: Audience, _droppable: bool) {
        if let OutEvent::Chat(c) = &event {
            match &c.state {
                ChatState::Delta => {
                    self.stamps.lock().unwrap().push(Instant::now());
                    self.pace.add_permits(1);
                }
                s if s.is_terminal() => {
                    let _ = self.done.send(());
                }
                _ => {}
            }
        }
    }
}

struct CountingSink {
    events: std::sync::atomic::AtomicU64,
    done: mpsc::UnboundedSender<ChatState>,
}

impl EventSink for CountingSink {
    fn emit(&self, event: OutEvent, _audience: Audience, _droppable: bool) {
        self.events
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let OutEvent::Chat(c) = &event {
            if c.state.is_terminal() {
                let _ = self.done.send(c.state.clone());
            }
        }
    }
}

fn caller() -> EngineCaller {
    EngineCaller {
        conn: Some(1),
        client: "bench".into(),
        protocol: 4,
        tool_events: true,
        scopes: vec![Scope::Admin],
        operator_ui: false,
    }
}

fn config(base: &str) -> Config {
    serde_json::from_value(json!({
        "models": {"providers": {"mock": {"baseUrl": base, "apiKey": "k", "api": "openai-completions",
            "models": [{"id": "mock-1", "contextWindow": 128000}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    }))
    .unwrap()
}

fn send(run: &str, msg: &str) -> ChatSendParams {
    ChatSendParams {
        session_key: "agent:main:main".into(),
        message: msg.into(),
        idempotency_key: run.into(),
        thinking: None,
        timeout_ms: None,
        attachments: None,
        extra: Map::new(),
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// The mock provider as a separate process (for the memory run).
fn mock_server_main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mock = mock_openai::start().await.unwrap();
        let words: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
        mock.set_default(Reply::Text(words));
        println!("{}", mock.base_url());
        std::future::pending::<()>().await;
    });
}

async fn latency(deltas: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mock = mock_openai::start().await.unwrap();
    let chunks: Vec<String> = (0..deltas).map(|i| format!("w{i} ")).collect();

    // Transport baseline: the same paced stream read by a bare reqwest SSE loop.
    let pace = Arc::new(Semaphore::new(1));
    mock.push(Reply::Paced(chunks.clone(), pace.clone()));
    mock.clear_chunk_times();
    let client = reqwest::Client::new();
    let mut resp = client
        .post(format!("{}/chat/completions", mock.base_url()))
        .json(&json!({"model": "m", "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = Vec::<u8>::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        buf.extend_from_slice(&c);
        while let Some(i) = buf.windows(2).position(|w| w == b"\n\n") {
            let ev: Vec<u8> = buf.drain(..i + 2).collect();
            let text = String::from_utf8_lossy(&ev);
            if let Some(data) = text.trim().strip_prefix("data: ") {
                if let Ok(v) = serde_json::from_str::<Value>(data) {
                    if v.pointer("/choices/0/delta/content").is_some() {
                        seen.push(Instant::now());
                        pace.add_permits(1);
                    }
                }
            }
        }
    }
    let sent = mock.chunk_times();
    let mut base: Vec<Duration> = sent
        .iter()
        .zip(&seen)
        .map(|(a, b)| b.duration_since(*a))
        .collect();

    // Engine: mock chunk → EventSink::emit of the chat delta.
    let pace = Arc::new(Semaphore::new(1));
    mock.push(Reply::Paced(chunks, pace.clone()));
    mock.clear_chunk_times();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = Arc::new(LatencySink {
        stamps: Mutex::new(Vec::new()),
        pace,
        done: tx,
    });
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EngineOptions::new(dir.path());
    opts.local_probes = Vec::new();
    let e = Engine::new(&config(&mock.base_url()), opts, sink.clone()).unwrap();
    drop(e.chat_send(&caller(), send("lat", "stream")).await.unwrap());
    rx.recv().await.unwrap();
    // The log also has the finish, usage and [DONE] chunks after the text chunks.
    let sent = mock.chunk_times();
    let got = sink.stamps.lock().unwrap().clone();
    assert_eq!(got.len(), deltas);
    let mut eng: Vec<Duration> = sent
        .iter()
        .zip(&got)
        .map(|(a, b)| b.duration_since(*a))
        .collect();
    // Drop the warm-up (connection setup, first allocations).
    let warm = (deltas / 20).max(1);
    base.drain(..warm.min(base.len()));
    eng.drain(..warm.min(eng.len()));
    base.sort();
    eng.sort();
    (base, eng)
}

async fn memory(turns: usize) -> (u64, u64, u64, u64, Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--mock-server")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = Arc::new(CountingSink {
        events: Default::default(),
        done: tx,
    });
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EngineOptions::new(dir.path());
    opts.local_probes = Vec::new();
    let e = Engine::new(&config(&base), opts, sink.clone()).unwrap();
    let (before, _) = rss_and_peak_kib(std::process::id());
    let t0 = Instant::now();
    for i in 0..turns {
        drop(
            e.chat_send(
                &caller(),
                send(
                    &format!("turn-{i}"),
                    &format!("Question number {i}: tell me something."),
                ),
            )
            .await
            .unwrap(),
        );
        let s = rx.recv().await.unwrap();
        assert_eq!(s, ChatState::Final);
    }
    let elapsed = t0.elapsed();
    let (after, peak) = rss_and_peak_kib(std::process::id());
    let events = sink.events.load(std::sync::atomic::Ordering::Relaxed);
    let _ = child.kill();
    let _ = child.wait();
    (before, after, peak, events, elapsed)
}

/// A real gateway using `base` as its provider, and a raw WebSocket of a connected client.
async fn real_gateway(
    base: &str,
) -> (
    Gateway,
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) {
    let cfg = json!({
        "models": {"providers": {"mock": {"baseUrl": base, "apiKey": "k", "api": "openai-completions",
            "models": [{"id": "mock-1", "contextWindow": 128000}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    });
    let gw = Gateway::spawn(GatewayOptions::with_config(&cfg.to_string()))
        .await
        .unwrap();
    let opts = ConnectOpts::cli(gw.token().unwrap()).protocols(4, 4);
    let (c, _) = WsClient::connect(&gw.ws_url(), &opts).await.unwrap();
    (gw, c.into_stream())
}

fn chat_send_frame(run: &str, msg: &str) -> Message {
    let req = json!({"type": "req", "id": run, "method": "chat.send",
        "params": {"sessionKey": "agent:main:main", "message": msg, "idempotencyKey": run}});
    Message::Text(req.to_string().into())
}

/// `(state, runId)` of a `chat` event frame, if it is one.
fn chat_state(text: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(text).ok()?;
    if v["event"] != "chat" {
        return None;
    }
    Some((
        v["payload"]["state"].as_str()?.to_owned(),
        v["payload"]["runId"].as_str()?.to_owned(),
    ))
}

/// Mock chunk → `chat` delta frame at a client of the real binary.
async fn e2e_latency(deltas: usize) -> Vec<Duration> {
    let mock = mock_openai::start().await.unwrap();
    let (gw, mut ws) = real_gateway(&mock.base_url()).await;
    let pace = Arc::new(Semaphore::new(1));
    let chunks: Vec<String> = (0..deltas).map(|i| format!("w{i} ")).collect();
    mock.push(Reply::Paced(chunks, pace.clone()));
    mock.clear_chunk_times();
    ws.send(chat_send_frame("e2e-lat", "stream")).await.unwrap();
    let mut got = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        let at = Instant::now();
        match chat_state(t.as_str()) {
            Some((s, _)) if s == "delta" => {
                got.push(at);
                pace.add_permits(1);
            }
            Some((s, _)) if s == "final" || s == "error" || s == "aborted" => break,
            _ => {}
        }
    }
    let sent = mock.chunk_times();
    assert_eq!(got.len(), deltas, "every delta reached the client");
    let mut lat: Vec<Duration> = sent
        .iter()
        .zip(&got)
        .map(|(a, b)| b.duration_since(*a))
        .collect();
    let warm = (deltas / 20).max(1);
    lat.drain(..warm.min(lat.len()));
    lat.sort();
    drop(gw);
    lat
}

/// RSS of the real gateway process before and after `turns` chat turns over the WebSocket.
async fn e2e_memory(turns: usize) -> (u64, u64, u64, Duration) {
    let mock = mock_openai::start().await.unwrap();
    let words: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    mock.set_default(Reply::Text(words));
    let (gw, mut ws) = real_gateway(&mock.base_url()).await;
    let (before, _) = rss_and_peak_kib(gw.pid);
    let t0 = Instant::now();
    for i in 0..turns {
        let run = format!("mem-{i}");
        ws.send(chat_send_frame(
            &run,
            &format!("Question number {i}: tell me something."),
        ))
        .await
        .unwrap();
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            if let Some((s, r)) = chat_state(t.as_str()) {
                if r == run && matches!(s.as_str(), "final" | "error" | "aborted") {
                    assert_eq!(s, "final");
                    break;
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    let (after, peak) = rss_and_peak_kib(gw.pid);
    drop(gw);
    (before, after, peak, elapsed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--mock-server") {
        mock_server_main();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let deltas = if quick { 300 } else { 3000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Memory first, in a fresh process state.
    let (before, after, peak, events, elapsed) = rt.block_on(memory(100));
    let (base, eng) = rt.block_on(latency(deltas));
    let e2e = rt.block_on(e2e_latency(deltas));
    let (g_before, g_after, g_peak, g_elapsed) = rt.block_on(e2e_memory(100));

    println!(
        "## Agent engine: per-delta latency ({} paced deltas, warm-up dropped)\n",
        eng.len()
    );
    println!("| path | p50 (µs) | p90 (µs) | p99 (µs) | max (µs) |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        (
            "transport only: mock chunk → bare reqwest SSE reader",
            &base,
        ),
        ("engine: mock chunk → EventSink::emit (chat delta)", &eng),
        (
            "real gateway: mock chunk → chat delta frame at a WebSocket client",
            &e2e,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} |",
            us(pct(v, 0.5)),
            us(pct(v, 0.9)),
            us(pct(v, 0.99)),
            us(*v.last().unwrap())
        );
    }
    println!(
        "| engine overhead (p50 difference) | {} | | | |",
        us(pct(&eng, 0.5).saturating_sub(pct(&base, 0.5)))
    );
    println!(
        "| gateway overhead end to end (p50 / p99 difference to transport) | {} | | {} | |",
        us(pct(&e2e, 0.5).saturating_sub(pct(&base, 0.5))),
        us(pct(&e2e, 0.99).saturating_sub(pct(&base, 0.99)))
    );
    println!("\n## Agent engine: memory after 100 chat turns (one session, 40 deltas per turn)\n");
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| RSS before the first turn | {:.1} MiB |",
        before as f64 / 1024.0
    );
    println!("| RSS after 100 turns | {:.1} MiB |", after as f64 / 1024.0);
    println!("| peak RSS (VmHWM) | {:.1} MiB |", peak as f64 / 1024.0);
    println!("| events emitted | {events} |");
    println!(
        "| wall time for 100 turns | {:.2} s |",
        elapsed.as_secs_f64()
    );
    println!("\n## Real gateway process: memory after 100 chat turns over the WebSocket\n");
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| gateway RSS before the first turn (1 client connected) | {:.1} MiB |",
        g_before as f64 / 1024.0
    );
    println!(
        "| gateway RSS after 100 turns | {:.1} MiB |",
        g_after as f64 / 1024.0
    );
    println!(
        "| gateway peak RSS (VmHWM) | {:.1} MiB |",
        g_peak as f64 / 1024.0
    );
    println!(
        "| wall time for 100 turns | {:.2} s |",
        g_elapsed.as_secs_f64()
    );
}
