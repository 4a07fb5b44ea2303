//! Supervisor benchmark: prints the table of `docs/PERFORMANCE.md` § Supervisor.
//!
//! `cargo bench -p tether-e2e --bench supervisor` measures, side by side in one run:
//! cold start → Running and `kill -9` → Running again, for `tether-gateway` and upstream
//! OpenClaw (each row says when a gateway is not available), and the event relay — a gateway
//! `chat` frame on a real loopback WebSocket → `SupervisorEvent` at a subscriber — as p50/p99
//! latency at a paced rate and as throughput when blasted. The relay's peer is an in-process
//! WebSocket server that writes **pre-serialized** frames in the protocol-4 shape of a real
//! gateway's chat stream (runs of 100 `delta`s with `deltaText` and the cumulative `message`, then
//! a `final`), so the sending side costs a `write` and the numbers are the supervisor's.
//! Nothing here asserts: targets are printed next to the numbers. `TETHER_BENCH_ROUNDS` sets lifecycle rounds (default 3 for ours,
//! 1 for upstream).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use tether_protocol::device::DeviceKey;
use tether_protocol::Secret;
use tether_supervisor::attach::ProbeContext;
use tether_supervisor::connector::{HandshakeTimeouts, WsConnector};
use tether_supervisor::events::{PhaseName, SupervisorEvent};
use tether_supervisor::launcher::ProcessLauncher;
use tether_supervisor::ledger::Ledger;
use tether_supervisor::machine::MachineConfig;
use tether_supervisor::options::{self, Options};
use tether_supervisor::policy::reload::ReloadMode;
use tether_supervisor::profile::{GatewayKind, Profile};
use tether_supervisor::{spawn, Deps, SupervisorConfig};

fn main() {
    // The binaries the lifecycle rows spawn: our gateway, and `tether` for the guardian.
    for (var, package, name) in [
        ("TETHER_GATEWAY_BIN", "tether-gateway", "tether-gateway"),
        ("TETHER_GUARD_BIN", "tether-supervisor", "tether"),
    ] {
        match tether_testkit::bins::binary(package, name) {
            Ok(p) => std::env::set_var(var, p),
            Err(e) => eprintln!("{name}: {e:#}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("| measurement | tether-gateway | upstream OpenClaw 2026.9.6 | target |");
        println!("|---|---|---|---|");
        // Relay first, on a quiet machine; then the gateways, whose startup load would skew it.
        let (p50, p99, n) = relay_latency(20_000).await;
        eprintln!("relay latency measured");
        let (rate, got, sent) = relay_throughput(200_000).await;
        eprintln!("relay throughput measured");
        let relay_only = std::env::var_os("TETHER_BENCH_RELAY_ONLY").is_some();
        let skipped = || ("skipped".to_string(), "skipped".to_string());
        let ours = if relay_only { skipped() } else { lifecycle(GatewayKind::Tether, rounds("3")).await };
        let upstream = if relay_only { skipped() } else { lifecycle(GatewayKind::OpenClaw, rounds("1")).await };
        println!("| cold start → Running (median) | {} | {} | — |", ours.0, upstream.0);
        println!("| `kill -9` → Running again (median) | {} | {} | ≤ 300 ms (ours) |", ours.1, upstream.1);
        println!("| relay latency p50 / p99 ({n} paced events, frame → subscriber) | {p50:.0} µs / {p99:.0} µs | (same code path) | p99 ≤ 1 ms |");
        println!("| relay throughput ({got}/{sent} events delivered) | {rate:.0} events/s | (same code path) | ≥ 100k events/s |");
    });
}

fn rounds(default: &str) -> usize {
    std::env::var("TETHER_BENCH_ROUNDS")
        .unwrap_or_else(|_| default.into())
        .parse()
        .unwrap_or(1)
}

fn fmt_ms(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    }
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

async fn wait_running(
    rx: &mut broadcast::Receiver<SupervisorEvent>,
    not_pid: Option<u32>,
    within: Duration,
) -> Option<u32> {
    let fut = async {
        loop {
            match rx.recv().await {
                Ok(SupervisorEvent::Status(s))
                    if s.phase == PhaseName::Running && s.pid != not_pid =>
                {
                    return s.pid
                }
                Ok(SupervisorEvent::Status(s)) if s.phase == PhaseName::Failed => {
                    eprintln!("failed: {}", s.reason);
                    return None;
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return None,
            }
        }
    };
    tokio::time::timeout(within, fut).await.ok().flatten()
}

/// (cold start median, kill -9 recovery median), as display strings.
async fn lifecycle(kind: GatewayKind, rounds: usize) -> (String, String) {
    let label = kind.label();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return (format!("n/a ({e})"), "n/a".into()),
    };
    let opts = Options {
        gateway: kind,
        state_dir: dir.path().join("state"),
        port: None,
        config: None,
        reload: ReloadMode::Hybrid,
        upstream: None,
    };
    let built = options::build(&opts);
    let (cfg, deps) = match built {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{label}: {e}");
            return ("n/a (not installed)".into(), "n/a".into());
        }
    };
    let (cold, recover) = (Vec::new(), Vec::new());
    let (mut cold, mut recover) = (cold, recover);
    let (h, _join) = spawn(cfg, deps);
    let boot = Duration::from_secs(180);
    for _ in 0..rounds {
        let mut rx = h.subscribe();
        let t0 = Instant::now();
        let _ = h.start().await;
        let Some(pid) = wait_running(&mut rx, None, boot).await else {
            return ("n/a (never running)".into(), "n/a".into());
        };
        cold.push(t0.elapsed());
        let t1 = Instant::now();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        if wait_running(&mut rx, Some(pid), boot).await.is_none() {
            return (fmt_ms(t0.elapsed()), "n/a (not recovered)".into());
        }
        recover.push(t1.elapsed());
        let _ = h.stop().await;
    }
    h.shutdown().await;
    let show = |v: Vec<Duration>| median(v).map_or("n/a".into(), fmt_ms);
    (show(cold), show(recover))
}

/// Deltas per run in the relay workload (then one `final`): runs of realistic length, so the
/// cumulative text stays the size of a real reply.
const DELTAS_PER_RUN: u64 = 100;

/// One chat frame in the shape our gateway and upstream send on protocol 4 (taken from the
/// upstream transcript `s2_chat.jsonl`: `deltaText` plus the cumulative `message`), for event
/// number `i` of the workload.
fn chat_frame(i: u64) -> String {
    let run = i / (DELTAS_PER_RUN + 1);
    let k = i % (DELTAS_PER_RUN + 1) + 1;
    let words: String = (1..=k.min(DELTAS_PER_RUN))
        .map(|w| format!(" w{w}"))
        .collect();
    let mut payload = json!({
        "runId": format!("bench-{run}"), "sessionKey": "agent:main:main", "agentId": "main",
        "seq": k,
        "message": {"role": "assistant", "content": [{"type": "text", "text": words}],
                    "timestamp": 1_795_288_751_690u64},
    });
    if k <= DELTAS_PER_RUN {
        payload["state"] = json!("delta");
        payload["deltaText"] = json!(format!(" w{k}"));
    } else {
        payload["state"] = json!("final");
        payload["stopReason"] = json!("stop");
    }
    json!({"type": "event", "event": "chat", "payload": payload, "seq": i + 1}).to_string()
}

/// `(run, seq)` of event `i`, to find it again at the subscriber.
fn chat_key(i: u64) -> (u64, u64) {
    (i / (DELTAS_PER_RUN + 1), i % (DELTAS_PER_RUN + 1) + 1)
}

/// A server-to-client WebSocket text frame (unmasked), fully serialized.
fn ws_text(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Reads one masked client text frame's payload (enough for `connect`); `None` for anything
/// else (the attach probe closes after the challenge).
async fn read_client_frame(r: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut h = [0u8; 2];
    r.read_exact(&mut h).await.ok()?;
    let len = match h[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).await.ok()?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            r.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut mask = [0u8; 4];
    if h[1] & 0x80 != 0 {
        r.read_exact(&mut mask).await.ok()?;
    }
    let mut payload = vec![0u8; usize::try_from(len).ok()?];
    r.read_exact(&mut payload).await.ok()?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    (h[0] & 0x0F == 1).then_some(payload)
}

/// A minimal in-process gateway peer: the HTTP upgrade, `connect.challenge`, `hello-ok`, then
/// pre-serialized WebSocket frames written straight to the socket as fast as it accepts them.
/// Nothing is built or encoded per event on the sending side, so the measurement is the
/// supervisor's relay, not the sender. The first connection that completes `connect` gets the
/// feed (the attach probe only reads the challenge).
async fn replay_peer(listener: TcpListener, feed: tokio::sync::mpsc::Receiver<Vec<u8>>) {
    let slot = Arc::new(std::sync::Mutex::new(Some(feed)));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let _ = tcp.set_nodelay(true);
        let slot = slot.clone();
        tokio::spawn(async move {
            let (read, mut write) = tcp.into_split();
            let mut read = tokio::io::BufReader::new(read);
            let mut key = None;
            loop {
                let mut line = String::new();
                if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("sec-websocket-key") {
                        key = Some(v.trim().to_owned());
                    }
                }
                if line == "\r\n" {
                    break;
                }
            }
            let Some(key) = key else { return };
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let head = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            let challenge =
                json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}});
            let mut out = head.into_bytes();
            out.extend(ws_text(challenge.to_string().as_bytes()));
            if write.write_all(&out).await.is_err() {
                return;
            }
            let Some(connect) = read_client_frame(&mut read).await else {
                return;
            };
            let req: serde_json::Value = serde_json::from_slice(&connect).unwrap_or_default();
            let hello = json!({"type":"res","id":req["id"],"ok":true,"payload":{
                "type":"hello-ok","protocol":4,"server":{"version":"bench","connId":"c","bootId":"b"},
                "features":{"methods":["health"],"events":["chat"]},
                "snapshot":{"presence":[],"health":{},"stateVersion":{"presence":0,"health":0},"uptimeMs":0},
                "policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":3600000}}});
            if write
                .write_all(&ws_text(hello.to_string().as_bytes()))
                .await
                .is_err()
            {
                return;
            }
            let feed = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(mut feed) = feed else { return };
            // Pings and anything else from the supervisor are read and dropped.
            tokio::spawn(async move {
                let mut sink = [0u8; 4096];
                while read.read(&mut sink).await.unwrap_or(0) > 0 {}
            });
            while let Some(bytes) = feed.recv().await {
                if write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn attached_supervisor() -> (
    tether_supervisor::SupervisorHandle,
    tokio::sync::mpsc::Sender<Vec<u8>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::channel(4096);
    tokio::spawn(replay_peer(listener, rx));
    let mut cfg = SupervisorConfig::new(MachineConfig::for_family(
        tether_supervisor::policy::exit::Family::Tether,
        "bench",
    ));
    cfg.probe = Some(ProbeContext {
        ledger: Ledger::new(dir.path()),
        lock_file: None,
        fixed_port: Some(port),
        challenge_within: Duration::from_millis(1500),
    });
    let token = Secret::new("bench-token-0123456789abcdef0123456789");
    let profile = Profile {
        kind: GatewayKind::Custom(PathBuf::from("/bin/false")),
        program: PathBuf::from("/bin/false"),
        leading_args: Vec::new(),
        state_dir: dir.path().join("gw"),
        config: None,
        port: None,
        token_file: None,
    };
    let deps = Deps {
        launcher: Arc::new(ProcessLauncher::new(profile, token.clone()).expect("launcher")),
        connector: Arc::new(WsConnector::new(
            token,
            DeviceKey::from_seed(&[1; 32]),
            HandshakeTimeouts::default(),
        )),
    };
    let (h, _join) = spawn(cfg, deps);
    let mut rx = h.subscribe();
    let _ = h.start().await;
    let _ = wait_running(&mut rx, Some(u32::MAX), Duration::from_secs(10)).await;
    (h, tx, dir)
}

fn wire(range: std::ops::Range<u64>) -> Vec<u8> {
    range
        .flat_map(|i| ws_text(chat_frame(i).as_bytes()))
        .collect()
}

/// p50/p99 in µs, events measured: paced at 20 events per millisecond (well below capacity, so
/// latency is not queueing), each batch's write instant against each event's arrival at a
/// subscriber.
async fn relay_latency(n: u64) -> (f64, f64, u64) {
    const BATCH: u64 = 20;
    let (h, feed, _dir) = attached_supervisor().await;
    let batches: Vec<Vec<u8>> = (0..n.div_ceil(BATCH))
        .map(|b| wire(b * BATCH..((b + 1) * BATCH).min(n)))
        .collect();
    let mut rx = h.subscribe();
    let collector = tokio::spawn(async move {
        let mut arrived = Vec::with_capacity(n as usize);
        while (arrived.len() as u64) < n {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Ok(SupervisorEvent::Chat(c))) => {
                    let t = Instant::now();
                    let run: u64 = c.run_id.trim_start_matches("bench-").parse().unwrap_or(0);
                    arrived.push((run, c.seq.unwrap_or(0), t));
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        arrived
    });
    let mut sent = Vec::with_capacity(batches.len());
    for b in batches {
        sent.push(Instant::now());
        if feed.send(b).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let arrived = collector.await.unwrap_or_default();
    let index: std::collections::HashMap<(u64, u64), u64> =
        (0..n).map(|i| (chat_key(i), i)).collect();
    let mut lat: Vec<f64> = arrived
        .iter()
        .filter_map(|(run, seq, t)| {
            let i = index.get(&(*run, *seq))?;
            let s = sent.get((i / BATCH) as usize)?;
            Some(t.duration_since(*s).as_secs_f64() * 1e6)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (pct(0.50), pct(0.99), lat.len() as u64)
}

/// Events/s from the first to the last event at the subscriber, events delivered, events sent:
/// the whole workload pre-serialized, then written as fast as the socket takes it.
async fn relay_throughput(n: u64) -> (f64, u64, u64) {
    let (h, feed, _dir) = attached_supervisor().await;
    let chunks: Vec<Vec<u8>> = (0..n)
        .step_by(1000)
        .map(|i| wire(i..(i + 1000).min(n)))
        .collect();
    let mut rx = h.subscribe();
    let collector = tokio::spawn(async move {
        let mut got = 0u64;
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        while got < n {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Ok(SupervisorEvent::Chat(_))) => {
                    first.get_or_insert_with(Instant::now);
                    got += 1;
                    last = Instant::now();
                }
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        (got, first.map(|f| last.duration_since(f)))
    });
    for c in chunks {
        if feed.send(c).await.is_err() {
            break;
        }
    }
    let (got, span) = collector.await.unwrap_or((0, None));
    let span = span
        .unwrap_or(Duration::from_micros(1))
        .max(Duration::from_micros(1));
    (got as f64 / span.as_secs_f64(), got, n)
}
