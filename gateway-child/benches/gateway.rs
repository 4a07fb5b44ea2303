//! Gateway benchmark: prints a table of start-up, memory, restart and fan-out figures.
//!
//! - spawn → `hello-ok`: the real release binary, fresh state dir, until a client holds `hello-ok`;
//! - idle RSS and CPU: the real binary with one connected client, RSS 5 s after start, then its
//!   CPU time over `TETHER_BENCH_IDLE_S` seconds (default 30);
//! - start → readiness line with and without the private-variable re-exec: the real binary with
//!   only public variables and the token in a file, and the same plus one private variable (which
//!   makes it re-execute itself), interleaved so both see the same machine;
//! - SIGUSR1 → `hello-ok`: the real binary, from the signal to `hello-ok` on a new connection;
//! - fan-out: `tether_gateway::run` in this process (its own runtime), events pushed through the
//!   hub's `EventSink` (the engine's path), received by N real WebSocket clients; throughput for a
//!   burst and p99 emit→receive latency at a steady rate.
//!
//! Run: `cargo bench -p tether-gateway --bench gateway`. Nothing is asserted; numbers vary with
//! the machine's load.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tether_gateway::config::credentials::EnvSecrets;
use tether_gateway::config::settings::{Overrides, Resolver};
use tether_gateway::methods::bus::{Audience, EventSink, OutEvent};
use tether_gateway::process::paths::{PathEnv, Paths};
use tether_gateway::socket::rate_limit::AuthLimiter;
use tether_gateway::{Control, Launch, Ready};
use tether_protocol::{ChatEvent, ChatMessage, ChatState, Secret};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::ws::{ConnectOpts, WsClient};
use tokio_tungstenite::tungstenite::Message;

const RUNS: usize = 20;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Row {
    metric: String,
    value: String,
    target: String,
}

async fn spawn_to_hello_ok() -> Result<Vec<Duration>> {
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let gw = Gateway::spawn(GatewayOptions::default()).await?;
        let (_c, _hello) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?)).await?;
        out.push(t0.elapsed());
    }
    out.sort();
    Ok(out)
}

/// Process start → `{"event":"ready"}` on stdout, `RUNS` × 2 starts interleaved: without a
/// private variable in the environment (no re-exec) and with one (one re-exec). Medians.
fn reexec_cost() -> Result<(Duration, Duration)> {
    use std::io::BufRead;
    let bin = tether_testkit::bins::binary("tether-gateway", "tether-gateway")?;
    let dir = tempfile::tempdir()?;
    let token = dir.path().join("token");
    std::fs::write(&token, "t".repeat(32))?;
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let start = |private: bool, n: usize| -> Result<Duration> {
        let state = dir.path().join(format!("s{n}"));
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["run", "--port", "0", "--state-dir"])
            .arg(&state)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TETHER_GATEWAY_TOKEN_FILE", &token)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if private {
            cmd.env("BENCH_PRIVATE_VARIABLE", "x");
        }
        let t0 = Instant::now();
        let mut child = cmd.spawn()?;
        let out = child.stdout.take().context("stdout")?;
        let mut ready = None;
        for line in std::io::BufReader::new(out).lines() {
            if line?.contains(r#""event":"ready""#) {
                ready = Some(t0.elapsed());
                break;
            }
        }
        child.kill()?;
        child.wait()?;
        ready.context("no readiness line")
    };
    let (mut plain, mut reexec) = (Vec::new(), Vec::new());
    for n in 0..RUNS {
        plain.push(start(false, 2 * n)?);
        reexec.push(start(true, 2 * n + 1)?);
    }
    plain.sort();
    reexec.sort();
    Ok((pct(&plain, 0.5), pct(&reexec, 0.5)))
}

fn rss_kib(pid: u32) -> Result<u64> {
    tether_testkit::process::proc_status(pid, "VmRSS").context("VmRSS")
}

/// Idle RSS 5 s after start, then the CPU the idle process uses over `idle_s` seconds (in % of
/// one core), one client connected all along.
async fn idle(idle_s: u64) -> Result<(u64, f64)> {
    let gw = Gateway::spawn(GatewayOptions::default()).await?;
    let (_c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?)).await?;
    // Measuring an idle process: waiting is the point here, not synchronization.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss = rss_kib(gw.pid)?;
    let cpu0 = tether_testkit::process::cpu_time(gw.pid).context("cpu time")?;
    tokio::time::sleep(Duration::from_secs(idle_s)).await;
    let cpu1 = tether_testkit::process::cpu_time(gw.pid).context("cpu time")?;
    let share = cpu1.saturating_sub(cpu0).as_secs_f64() / idle_s as f64 * 100.0;
    Ok((rss, share))
}

async fn restart_to_hello_ok() -> Result<(Vec<Duration>, u64)> {
    let mut gw = Gateway::spawn(GatewayOptions::default()).await?;
    let token = gw.token()?.to_owned();
    let mut out = Vec::new();
    let mut promised = 0;
    for _ in 0..RUNS {
        let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token)).await?;
        let t0 = Instant::now();
        gw.process.signal(Signal::SIGUSR1)?;
        let shutdown = c.event("shutdown", Duration::from_secs(10)).await?;
        promised = shutdown.payload.unwrap_or_default()["restartExpectedMs"]
            .as_u64()
            .unwrap_or(0);
        c.closed(Duration::from_secs(10)).await?;
        let (_c2, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token)).await?;
        out.push(t0.elapsed());
        gw.wait_ready_again(Duration::from_secs(10)).await?;
    }
    out.sort();
    Ok((out, promised))
}

/// A gateway running in this process: its port, its hub, a way to stop it, its state dir.
struct InProcess {
    port: u16,
    sink: Arc<dyn EventSink>,
    control: tokio::sync::mpsc::Sender<Control>,
    _state: tempfile::TempDir,
}

/// An in-process gateway on its own runtime.
fn in_process_gateway(token: &str) -> Result<InProcess> {
    let state = tempfile::tempdir()?;
    let paths = Paths::resolve(Some(state.path()), None, &PathEnv::default())
        .map_err(anyhow::Error::msg)?;
    paths.create_dirs()?;
    let resolver = Arc::new(Resolver {
        paths,
        overrides: Overrides {
            port: Some(0),
            ..Overrides::default()
        },
        env: EnvSecrets {
            token: Some(Secret::new(token)),
            token_var: Some("TETHER_GATEWAY_TOKEN"),
            dropped_password_var: false,
            isolated: None,
        },
    });
    let settings = resolver.load().map_err(|e| anyhow::anyhow!("{e}"))?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<(u16, Arc<dyn EventSink>)>();
    let (control_tx, mut control_rx) = tokio::sync::mpsc::channel(4);
    let ready_tx = Mutex::new(ready_tx);
    let launch = Launch {
        resolver,
        log: tether_gateway::process::logging::LogSink::new(),
        pid: std::process::id(),
        started_at_ms: 0,
        version: "bench",
        limiter: Arc::new(Mutex::new(AuthLimiter::new())),
        writes: Arc::new(Mutex::new(
            tether_gateway::socket::rate_limit::WriteLimiter::new(),
        )),
        on_ready: Box::new(move |r: &Ready| {
            let sink: Arc<dyn EventSink> = r.hub.clone();
            let _ = ready_tx.lock().map(|tx| tx.send((r.port, sink)));
        }),
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tether_gateway::process::listen::Listeners::bind(
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await
            .expect("bind");
            if let Ok(f) =
                tether_gateway::run(&listener, settings, &mut control_rx, &launch, 0).await
            {
                f.stragglers.finish(Duration::from_secs(2)).await;
            }
        });
    });
    let (port, sink) = ready_rx.recv_timeout(Duration::from_secs(10))?;
    Ok(InProcess {
        port,
        sink,
        control: control_tx,
        _state: state,
    })
}

fn chat_event(base: Instant, n: u64) -> OutEvent {
    let ns = base.elapsed().as_nanos();
    let mut e = ChatEvent::new(format!("{ns}"), "agent:main:main", ChatState::Delta);
    e.seq = Some(n);
    e.message = Some(ChatMessage::assistant_text(
        "The quick brown fox jumps over the lazy dog.",
        1,
    ));
    e.delta_text = Some(" dog.".into());
    OutEvent::Chat(e)
}

/// The emit time (ns since `base`) carried in `runId`.
fn emitted_ns(text: &str) -> Option<u128> {
    let at = text.find("\"runId\":\"")? + 9;
    let end = text[at..].find('"')? + at;
    text[at..end].parse().ok()
}

struct FanOut {
    throughput: f64,
    complete: usize,
    p50: Duration,
    p99: Duration,
}

async fn fan_out(clients: usize, burst: u64, rate: u64, steady_for: Duration) -> Result<FanOut> {
    let token = "bench-token";
    let InProcess {
        port,
        sink,
        control,
        _state,
    } = in_process_gateway(token)?;
    let url = format!("ws://127.0.0.1:{port}/");
    let base = Instant::now();
    let mut handles = Vec::new();
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::channel::<(Vec<Duration>, Option<u128>)>(clients);
    let mut conns = Vec::new();
    for _ in 0..clients {
        let (c, _) = WsClient::connect(&url, &ConnectOpts::cli(token)).await?;
        conns.push(c);
    }
    // Clients read raw frames and note each chat event's emit→receive latency, and when the
    // last event of the burst arrived.
    let total_expected = burst + rate * steady_for.as_secs();
    for c in conns {
        let done = done_tx.clone();
        let mut ws = c.into_stream();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut seen = 0u64;
            let mut burst_done_at = None;
            while seen < total_expected {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if let Some(ns) = emitted_ns(t.as_str()) {
                            let now = base.elapsed().as_nanos();
                            lat.push(Duration::from_nanos(u64::try_from(now - ns).unwrap_or(0)));
                            seen += 1;
                            if seen == burst {
                                burst_done_at = Some(now);
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            let _ = done.send((lat, burst_done_at)).await;
        }));
    }
    drop(done_tx);

    // Burst: as fast as the hub accepts them.
    let burst_start = base.elapsed().as_nanos();
    for n in 0..burst {
        sink.emit(chat_event(base, n), Audience::All, false);
    }
    // Steady: `rate` per second (pacing is the load being measured, not a synchronization).
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let mut next = tokio::time::Instant::now();
    for n in 0..rate * steady_for.as_secs() {
        next += period;
        tokio::time::sleep_until(next).await;
        sink.emit(chat_event(base, burst + n), Audience::All, false);
    }
    let mut steady_lat = Vec::new();
    let mut burst_end = burst_start;
    let mut complete = 0usize;
    while let Some((lat, burst_done_at)) = done_rx.recv().await {
        let split = usize::try_from(burst).unwrap_or(0).min(lat.len());
        steady_lat.extend_from_slice(&lat[split..]);
        if let Some(at) = burst_done_at {
            burst_end = burst_end.max(at);
            complete += 1;
        }
    }
    for h in handles {
        let _ = h.await;
    }
    let _ = control.send(Control::Stop).await;
    steady_lat.sort();
    let delivered = burst as f64 * complete as f64;
    let secs = Duration::from_nanos(u64::try_from(burst_end - burst_start).unwrap_or(0));
    Ok(FanOut {
        throughput: delivered / secs.as_secs_f64().max(1e-9),
        complete,
        p50: pct(&steady_lat, 0.50),
        p99: pct(&steady_lat, 0.99),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut rows = Vec::new();

    let spawn = spawn_to_hello_ok().await?;
    rows.push(Row {
        metric: format!("spawn → hello-ok (median of {RUNS})"),
        value: format!(
            "{} (p90 {}, min {})",
            ms(pct(&spawn, 0.5)),
            ms(pct(&spawn, 0.9)),
            ms(spawn[0])
        ),
        target: "≤ 30 ms".into(),
    });

    let (plain, reexec) = reexec_cost()?;
    rows.push(Row {
        metric: format!(
            "start → readiness line, no re-exec / re-exec (interleaved, median of {RUNS})"
        ),
        value: format!(
            "{} / {} (the re-exec: +{})",
            ms(plain),
            ms(reexec),
            ms(reexec.saturating_sub(plain))
        ),
        target: "—".into(),
    });

    let idle_s: u64 = std::env::var("TETHER_BENCH_IDLE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let (rss, cpu) = idle(idle_s).await?;
    rows.push(Row {
        metric: "idle RSS after 5 s (1 client connected)".into(),
        value: format!("{:.1} MB", rss as f64 / 1024.0),
        target: "≤ 15 MB".into(),
    });
    rows.push(Row {
        metric: format!("idle CPU over {idle_s} s (1 client connected)"),
        value: format!("{cpu:.3} % of a core"),
        target: "< 0.1 %".into(),
    });

    let (restart, promised) = restart_to_hello_ok().await?;
    rows.push(Row {
        metric: format!("SIGUSR1 → hello-ok on a new connection (median of {RUNS})"),
        value: format!(
            "{} (p90 {}, max {}; restartExpectedMs = {promised})",
            ms(pct(&restart, 0.5)),
            ms(pct(&restart, 0.9)),
            ms(restart[restart.len() - 1])
        ),
        target: "≤ 100 ms".into(),
    });

    for (clients, burst, rate) in [
        (1usize, 20_000u64, 1000u64),
        (10, 5_000, 1000),
        (100, 1_000, 200),
    ] {
        let f = fan_out(clients, burst, rate, Duration::from_secs(2)).await?;
        rows.push(Row {
            metric: format!("fan-out to {clients} client(s): burst of {burst} chat deltas"),
            value: format!(
                "{:.0} events/s delivered ({} of {clients} clients got every event)",
                f.throughput, f.complete
            ),
            target: "—".into(),
        });
        rows.push(Row {
            metric: format!("fan-out to {clients} client(s): emit→receive at {rate} events/s"),
            value: format!("p50 {}, p99 {}", ms(f.p50), ms(f.p99)),
            target: "—".into(),
        });
    }

    println!("| metric | result | target |");
    println!("|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} |", r.metric, r.value, r.target);
    }
    Ok(())
}
