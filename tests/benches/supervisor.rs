//! Supervisor benchmark: prints the table of `docs/PERFORMANCE.md` § Supervisor.
//!
//! `cargo bench -p tether-e2e --bench supervisor` measures, side by side in one run:
//! cold start → Running and `kill -9` → Running again, for `tether-gateway` and upstream
//! OpenClaw (each row says when a gateway is not available), and the event relay — a gateway
//! `chat` frame on a real loopback WebSocket → `SupervisorEvent` at a subscriber — as p50/p99
//! latency at a paced rate and as throughput when blasted. Nothing here asserts: targets are
//! printed next to the numbers. `TETHER_BENCH_ROUNDS` sets lifecycle rounds (default 3 for ours,
//! 1 for upstream).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

use tether_protocol::device::DeviceKey;
use tether_protocol::Secret;
use tether_supervisor::attach::ProbeContext;
use tether_supervisor::connector::{HandshakeTimeouts, WsConnector};
use tether_supervisor::events::{PhaseName, SupervisorEvent};
use tether_supervisor::launcher::ProcessLauncher;
use tether_supervisor::ledger::Ledger;
use tether_supervisor::machine::MachineConfig;
use tether_supervisor::options::{self, Options};
use tether_supervisor::profile::{GatewayKind, Profile};
use tether_supervisor::reload::ReloadMode;
use tether_supervisor::{spawn, Deps, SupervisorConfig};

fn main() {
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
        let (rate, got, sent) = relay_throughput(200_000).await;
        let ours = lifecycle(GatewayKind::Tether, rounds("3")).await;
        let upstream = lifecycle(GatewayKind::OpenClaw, rounds("1")).await;
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

/// A minimal gateway on a real loopback socket: challenge, hello-ok, then the fed events go to
/// the first connection that completes `connect` (the attach probe only reads the challenge).
async fn fake_gateway(listener: TcpListener, feed: tokio::sync::mpsc::Receiver<Vec<String>>) {
    let slot = Arc::new(std::sync::Mutex::new(Some(feed)));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        // Real gateways disable Nagle (node's ws does; so must ours): measure the supervisor,
        // not delayed ACKs.
        let _ = tcp.set_nodelay(true);
        let slot = slot.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            let challenge =
                json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}});
            let _ = ws.send(Message::text(challenge.to_string())).await;
            let Some(Ok(Message::Text(t))) = ws.next().await else {
                return;
            };
            let req: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            let hello = json!({"type":"res","id":req["id"],"ok":true,"payload":{
                "type":"hello-ok","protocol":4,"server":{"version":"bench","connId":"c","bootId":"b"},
                "features":{"methods":["health"],"events":["chat"]},
                "snapshot":{"presence":[],"health":{},"stateVersion":{"presence":0,"health":0},"uptimeMs":0},
                "policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":3600000}}});
            let _ = ws.send(Message::text(hello.to_string())).await;
            let feed = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(mut feed) = feed else { return };
            let (mut sink, mut stream) = ws.split();
            tokio::spawn(async move { while stream.next().await.is_some() {} });
            while let Some(batch) = feed.recv().await {
                for frame in batch {
                    if sink.feed(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn attached_supervisor() -> (
    tether_supervisor::SupervisorHandle,
    tokio::sync::mpsc::Sender<Vec<String>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    tokio::spawn(fake_gateway(listener, rx));
    let mut cfg = SupervisorConfig::new(MachineConfig::for_family(
        tether_supervisor::exit::Family::Tether,
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

fn frame(i: u64, sent_ns: u128) -> String {
    json!({"type":"event","event":"chat","seq":i,"payload":{
        "runId": format!("r{i}"),"sessionKey":"agent:main:main","seq":1,"state":"final",
        "message":{"role":"assistant","content":[{"type":"text","text": sent_ns.to_string()}]}}})
    .to_string()
}

async fn relay_latency(n: u64) -> (f64, f64, u64) {
    let (h, feed, _dir) = attached_supervisor().await;
    let base = Instant::now();
    let mut rx = h.subscribe();
    let collector = tokio::spawn(async move {
        let mut lat = Vec::new();
        while (lat.len() as u64) < n {
            match rx.recv().await {
                Ok(SupervisorEvent::Chat(c)) => {
                    if let Ok(sent) = c.text.parse::<u128>() {
                        lat.push((base.elapsed().as_nanos().saturating_sub(sent)) as f64 / 1000.0);
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        lat
    });
    // 20 events per millisecond: 20k events/s, well below capacity, so latency is not queueing.
    let mut i = 0;
    while i < n {
        let batch: Vec<String> = (0..20)
            .map(|k| frame(i + k, base.elapsed().as_nanos()))
            .collect();
        i += 20;
        if feed.send(batch).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut lat = tokio::time::timeout(Duration::from_secs(60), collector)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let got = lat.len() as u64;
    (pct(0.50), pct(0.99), got)
}

async fn relay_throughput(n: u64) -> (f64, u64, u64) {
    let (h, feed, _dir) = attached_supervisor().await;
    let mut rx = h.subscribe();
    let frames: Vec<String> = (0..n).map(|i| frame(i, 0)).collect();
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
    let t0 = Instant::now();
    for chunk in frames.chunks(1000) {
        if feed.send(chunk.to_vec()).await.is_err() {
            break;
        }
    }
    let (got, span) = collector.await.unwrap_or((0, None));
    let span = span
        .unwrap_or_else(|| t0.elapsed())
        .max(Duration::from_micros(1));
    (got as f64 / span.as_secs_f64(), got, n)
}
