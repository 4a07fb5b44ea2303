//! Load: many authenticated clients chatting at once against the real gateway binary
//! (SECURITY.md §4 item 26: "200 concurrent authenticated clients each sending chat at max rate
//! for 30 s → RSS bounded, p99 event latency bounded, no lost `res` frames; after disconnect,
//! memory returns near baseline").
//!
//! The release `tether-gateway` is spawned on port 0 with the mock OpenAI provider (in this
//! process) as its model. Each client connects (v4, `cli`), then in a closed loop sends
//! `chat.send` on its own session and waits for that run's terminal `chat` event before sending
//! the next, until the time is up; then it lets its last run finish and disconnects. Measured:
//! - turns and frames per second over the whole gateway;
//! - `res` latency (request written → its `res` read);
//! - event latency: the gateway stamps every `agent` event with `ts` (epoch ms) as it emits
//!   it; the client compares with its own clock on arrival (same machine, 1 ms resolution).
//!   Every client receives every run's events (they are broadcast, as upstream does), so this
//!   includes waiting behind other runs' frames; clients only parse their own run's frames;
//! - the gateway's RSS idle, with every client connected, at the end of the load, its peak
//!   (`VmHWM`), after every client has disconnected (one more run lets the engine unload idle
//!   sessions beyond its cap), and after the gateway's next minute housekeeping (announced by
//!   its `health` event), which unloads idle sessions and returns freed heap to the system;
//! - lost `res` frames and runs that did not end `final` (both must be 0; the bench fails
//!   otherwise).
//!
//! Run: `cargo bench -p tether-gateway --bench load` (200 clients, 30 s; add `-- --quick` for
//! 50 clients and 5 s, or `-- --clients N --seconds S`).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, Reply};
use tether_testkit::process::{proc_status, rss_and_peak_kib};
use tether_testkit::ws::{ConnectOpts, WsClient};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What one client saw.
#[derive(Default)]
struct Tally {
    sent: u64,
    res: u64,
    finals: u64,
    not_final: u64,
    frames: u64,
    res_latency: Vec<Duration>,
    event_latency_ms: Vec<u64>,
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn mib(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

async fn connect(gw: &Gateway) -> Ws {
    let opts = ConnectOpts::cli(gw.token().unwrap()).protocols(4, 4);
    let (c, _) = WsClient::connect(&gw.ws_url(), &opts).await.unwrap();
    c.into_stream()
}

/// Sends one `chat.send` and reads until that run's terminal `chat` event.
async fn turn(ws: &mut Ws, session: &str, run: &str, t: &mut Tally) {
    let req = json!({"type": "req", "id": run, "method": "chat.send",
        "params": {"sessionKey": session, "message": format!("load turn {run}"), "idempotencyKey": run}});
    let sent_at = Instant::now();
    ws.send(Message::Text(req.to_string().into()))
        .await
        .unwrap();
    t.sent += 1;
    // Every client gets every run's events (upstream broadcasts `chat` and `agent`); only this
    // run's frames are parsed, so the clients spend their CPU reading, not parsing.
    let quoted = format!("\"{run}\"");
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg.unwrap() else {
            continue;
        };
        let at = Instant::now();
        let now_ms = wall_ms();
        t.frames += 1;
        if !text.as_str().contains(&quoted) {
            continue;
        }
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        match (v["type"].as_str(), v["event"].as_str()) {
            (Some("res"), _) if v["id"] == run => {
                t.res += 1;
                t.res_latency.push(at - sent_at);
                assert_eq!(v["ok"], true, "chat.send refused: {v}");
            }
            (Some("event"), Some("agent")) if v["payload"]["runId"] == run => {
                if let Some(ts) = v["payload"]["ts"].as_u64() {
                    t.event_latency_ms.push(now_ms.saturating_sub(ts));
                }
            }
            (Some("event"), Some("chat")) if v["payload"]["runId"] == run => {
                match v["payload"]["state"].as_str() {
                    Some("final") => {
                        t.finals += 1;
                        return;
                    }
                    Some("error" | "aborted") => {
                        t.not_final += 1;
                        return;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    panic!("connection closed during run {run}");
}

async fn client(mut ws: Ws, id: usize, until: Instant) -> Tally {
    let mut t = Tally::default();
    let session = format!("agent:main:load-{id}");
    let mut k = 0;
    while Instant::now() < until {
        turn(&mut ws, &session, &format!("c{id}-{k}"), &mut t).await;
        k += 1;
    }
    ws.close(None).await.ok();
    // Read to the server's close so the disconnect is complete on both sides.
    while let Some(Ok(_)) = ws.next().await {}
    t
}

fn pct<T: Copy + Ord>(sorted: &[T], p: f64) -> T {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

async fn load(clients: usize, seconds: u64) {
    let mock = mock_openai::start().await.unwrap();
    let words: Vec<String> = (0..20).map(|i| format!("word{i} ")).collect();
    mock.set_default(Reply::Text(words));
    let cfg = json!({
        "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": "k",
            "api": "openai-completions", "models": [{"id": "mock-1", "contextWindow": 128000}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    });
    let gw = Gateway::spawn(GatewayOptions::with_config(&cfg.to_string()))
        .await
        .unwrap();
    let (idle, _) = rss_and_peak_kib(gw.pid);

    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(connect(&gw).await);
    }
    let (connected, _) = rss_and_peak_kib(gw.pid);

    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(seconds);
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(client(ws, i, until)))
        .collect();
    let pid = gw.pid;
    let threads = tokio::spawn(async move {
        let mut most = 0;
        while Instant::now() < until {
            most = most.max(proc_status(pid, "Threads").unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        most
    });
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.unwrap();
        all.sent += t.sent;
        all.res += t.res;
        all.finals += t.finals;
        all.not_final += t.not_final;
        all.frames += t.frames;
        all.res_latency.extend(t.res_latency);
        all.event_latency_ms.extend(t.event_latency_ms);
    }
    let wall = t0.elapsed();
    let threads = threads.await.unwrap();
    let (loaded, peak) = rss_and_peak_kib(gw.pid);

    // Everyone has disconnected; one more run lets the engine unload idle sessions.
    let mut last = connect(&gw).await;
    let mut t = Tally::default();
    turn(&mut last, "agent:main:after-load", "after-load", &mut t).await;
    let (after, _) = rss_and_peak_kib(gw.pid);
    // The gateway's minute housekeeping (idle sessions unloaded, free heap returned) runs just
    // before it broadcasts `health`: wait for that event.
    let waited = Instant::now();
    loop {
        let Some(Ok(Message::Text(text))) = last.next().await else {
            panic!("gateway closed the connection");
        };
        if text.as_str().contains("\"event\":\"health\"") {
            break;
        }
    }
    let waited = waited.elapsed();
    let (swept, _) = rss_and_peak_kib(gw.pid);

    all.res_latency.sort();
    all.event_latency_ms.sort();
    let secs = wall.as_secs_f64();
    println!(
        "## Gateway under load: {clients} clients chatting for {seconds} s (20 deltas per reply)\n"
    );
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| chat turns completed | {} ({:.0}/s) |",
        all.finals,
        all.finals as f64 / secs
    );
    println!(
        "| frames received by clients | {} ({:.0}/s) |",
        all.frames,
        all.frames as f64 / secs
    );
    println!(
        "| `chat.send` requests / `res` frames | {} / {} |",
        all.sent, all.res
    );
    println!("| runs that did not end `final` | {} |", all.not_final);
    println!(
        "| `res` latency p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
        pct(&all.res_latency, 0.5).as_secs_f64() * 1e3,
        pct(&all.res_latency, 0.99).as_secs_f64() * 1e3,
        all.res_latency.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "| `agent` event latency p50 / p99 / max (1 ms resolution) | {} / {} / {} ms |",
        pct(&all.event_latency_ms, 0.5),
        pct(&all.event_latency_ms, 0.99),
        all.event_latency_ms.last().unwrap()
    );
    println!("| gateway threads, most seen during the load | {threads} |");
    println!("| gateway RSS idle, no client | {} |", mib(idle));
    println!(
        "| gateway RSS with {clients} clients connected | {} |",
        mib(connected)
    );
    println!("| gateway RSS at the end of the load | {} |", mib(loaded));
    println!("| gateway peak RSS (VmHWM) | {} |", mib(peak));
    println!("| gateway RSS after every client left | {} |", mib(after));
    println!(
        "| gateway RSS after its next housekeeping ({:.0} s later) | {} |",
        waited.as_secs_f64(),
        mib(swept)
    );
    assert_eq!(all.sent, all.res, "every chat.send got its res");
    assert_eq!(all.not_final, 0, "every run ended final");
    drop(gw);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let clients = arg(&args, "--clients").unwrap_or(if quick { 50 } else { 200 }) as usize;
    let seconds = arg(&args, "--seconds").unwrap_or(if quick { 5 } else { 30 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(load(clients, seconds));
}
