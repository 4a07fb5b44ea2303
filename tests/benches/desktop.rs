//! Desktop benchmark: prints the tables of `docs/PERFORMANCE.md` § Desktop app.
//!
//! `cargo bench -p tether-e2e --bench desktop` runs the release app under Xvfb with a session
//! bus and measures, in one run:
//! - idle memory (PSS) of the app with its WebKit processes against a bare Tauri window showing
//!   a minimal scripted page (the floor; target ≤ 1.15×; alternating, median of `TETHER_BENCH_MEM_ROUNDS`,
//!   default 3), the gateway apart, and the upstream OpenClaw
//!   gateway alone when it is installed;
//! - idle CPU over `TETHER_BENCH_IDLE_S` seconds (default 60), window shown and window hidden
//!   (target < 0.5 % of a core hidden);
//! - launch → gateway running, and launch → first painted frame (median of 3);
//! - streaming in the real WebKitGTK: a mock model streams ~55 KB in ~10,000 deltas with 200
//!   tool calls through the real gateway; rAF frame gaps (p50, p95, worst, frames > 50 ms) and
//!   the chat-stream envelopes per second that reached the webview (from the IPC tap);
//! - webview memory after 100 turns against right after launch.
//!
//! Nothing here asserts: the targets are printed next to the numbers.

// A bench that cannot set itself up should stop at once and say where.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tether_supervisor::control::{ControlClient, ServerLine};
use tether_testkit::desktop::{Display, Session, SessionBus, TrayHost, WebDriver};
use tether_testkit::mock_provider::{MockToolCall, Reply};
use tokio::process::Command;

const LONG: Duration = Duration::from_secs(120);

fn bin(package: &str, name: &str) -> PathBuf {
    tether_testkit::bins::binary(package, name).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

fn example_bare() -> PathBuf {
    let dir = tether_testkit::bins::profile_dir().unwrap();
    let st =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(tether_testkit::bins::workspace_root())
            .args([
                "build",
                "--quiet",
                "--release",
                "-p",
                "tether-desktop",
                "--example",
                "bare_window",
            ])
            .arg("--target-dir")
            .arg(dir.parent().unwrap())
            .status()
            .unwrap();
    assert!(st.success());
    dir.join("examples/bare_window")
}

/// PSS in KiB of a process (0 when gone).
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit(')').next()?.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The app and its WebKit processes (the gateway's guardian and gateway apart).
fn app_tree(app: u32) -> (Vec<u32>, Vec<u32>) {
    let all = tether_supervisor::guard::descendants(app);
    let gateway: Vec<u32> = all
        .iter()
        .copied()
        .filter(|p| {
            // Our gateway and its guardian (`tether`), or upstream's node.
            let c = comm(*p);
            c.starts_with("tether") || c == "node" || c == "exe"
        })
        .flat_map(|p| std::iter::once(p).chain(tether_supervisor::guard::descendants(p)))
        .collect();
    let mut app_side: Vec<u32> = all.into_iter().filter(|p| !gateway.contains(p)).collect();
    app_side.push(app);
    (app_side, gateway)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

struct Run {
    _dir: tempfile::TempDir,
    _display: Display,
    _bus: SessionBus,
    _tray: Option<TrayHost>,
    env: Vec<(String, String)>,
    state: PathBuf,
    tap: PathBuf,
    log: PathBuf,
}

async fn run_env(tray: bool, gateway_config: Option<&Value>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let display = Display::start(1280, 800).await.unwrap();
    let bus = SessionBus::start().await.unwrap();
    let tray = if tray {
        Some(TrayHost::start(&display).await.unwrap())
    } else {
        None
    };
    let p = |s: &str| dir.path().join(s);
    std::fs::create_dir_all(p("run")).unwrap();
    if let Some(cfg) = gateway_config {
        std::fs::create_dir_all(p("state/gateway")).unwrap();
        std::fs::write(p("state/gateway/gateway.json"), cfg.to_string()).unwrap();
    }
    let env = vec![
        ("DISPLAY".into(), display.name.clone()),
        ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()),
        ("HOME".into(), p("home").display().to_string()),
        ("TETHER_STATE_DIR".into(), p("state").display().to_string()),
        ("XDG_CONFIG_HOME".into(), p("config").display().to_string()),
        ("XDG_STATE_HOME".into(), p("xstate").display().to_string()),
        ("XDG_RUNTIME_DIR".into(), p("run").display().to_string()),
        (
            "TETHER_DESKTOP_IPC_TAP".into(),
            p("tap.jsonl").display().to_string(),
        ),
        ("NO_AT_BRIDGE".into(), "1".into()),
    ];
    Run {
        state: p("state"),
        tap: p("tap.jsonl"),
        log: p("xstate/tether/logs/app.log"),
        _dir: dir,
        _display: display,
        _bus: bus,
        _tray: tray,
        env,
    }
}

fn spawn(program: &Path, args: &[&str], env: &[(String, String)]) -> tokio::process::Child {
    let mut c = Command::new(program);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Waits for the app's control socket to say running; the app's pid.
async fn until_running(state: &Path) -> u32 {
    let deadline = Instant::now() + LONG;
    loop {
        if let Ok(mut c) = ControlClient::connect(&state.join("control.sock")).await {
            let pid = match &c.hello {
                ServerLine::Hello { pid, .. } => *pid,
                _ => 0,
            };
            if let Ok(st) = c.op("status").await {
                if st["status"]["phase"] == "running" {
                    return pid;
                }
            }
        }
        assert!(Instant::now() < deadline, "the app did not run a gateway");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn settle(d: Duration) {
    tokio::time::sleep(d).await;
}

fn painted_at(log: &Path) -> Option<Instant> {
    std::fs::read_to_string(log)
        .ok()
        .filter(|t| t.contains("painted its first frame"))
        .map(|_| Instant::now())
}

/// PSS of a bare Tauri window with its WebKit processes, after it settles.
async fn bare_pss(bare: &Path) -> u64 {
    let r = run_env(false, None).await;
    let mut child = spawn(bare, &[], &r.env);
    let pid = child.id().unwrap();
    settle(Duration::from_secs(8)).await;
    let floor: u64 = app_tree(pid).0.iter().map(|p| pss_kib(*p)).sum();
    assert!(
        child.try_wait().unwrap().is_none() && floor > 0,
        "the bare window exited before it was measured: {}",
        bare.display()
    );
    let _ = child.kill().await;
    floor
}

/// The app with its window shown, after it settles: (app side PSS, gateway PSS, idle CPU in %
/// of a core over `idle_s` seconds when asked for).
async fn shown(app: &Path, idle_s: Option<u64>) -> (u64, u64, Option<f64>) {
    let r = run_env(false, None).await;
    let mut child = spawn(app, &[], &r.env);
    let app_pid = until_running(&r.state).await;
    settle(Duration::from_secs(8)).await;
    let (side, gw) = app_tree(app_pid);
    let app_pss: u64 = side.iter().map(|p| pss_kib(*p)).sum();
    let gw_pss: u64 = gw.iter().map(|p| pss_kib(*p)).sum();
    let cpu = match idle_s {
        Some(s) => {
            let t0: u64 = side.iter().map(|p| cpu_ticks(*p)).sum();
            settle(Duration::from_secs(s)).await;
            let t1: u64 = side.iter().map(|p| cpu_ticks(*p)).sum();
            Some((t1 - t0) as f64 / s as f64) // ticks/s = % of a core at 100 Hz
        }
        None => None,
    };
    let _ = child.kill().await;
    (app_pss, gw_pss, cpu)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

async fn memory_rows(app: &Path, idle_s: u64) {
    // Floor and app alternate, so drift on the shared machine touches both alike; medians.
    let rounds: usize = std::env::var("TETHER_BENCH_MEM_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let bare = example_bare();
    let (mut floors, mut apps, mut gws) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        floors.push(bare_pss(&bare).await);
        let (a, g, _) = shown(app, None).await;
        apps.push(a);
        gws.push(g);
    }
    let (floor, app_pss, gw_pss) = (median(floors), median(apps), median(gws));
    let shown_cpu = shown(app, Some(idle_s)).await.2.unwrap_or_default();

    // Hidden in the tray.
    let r = run_env(true, None).await;
    let mut child = spawn(app, &["--hidden"], &r.env);
    let app_pid = until_running(&r.state).await;
    settle(Duration::from_secs(8)).await;
    let (side, _) = app_tree(app_pid);
    let t0: u64 = side.iter().map(|p| cpu_ticks(*p)).sum();
    settle(Duration::from_secs(idle_s)).await;
    let t1: u64 = side.iter().map(|p| cpu_ticks(*p)).sum();
    let hidden_cpu = (t1 - t0) as f64 / idle_s as f64;
    let hidden_pss: u64 = side.iter().map(|p| pss_kib(*p)).sum();
    let _ = child.kill().await;
    drop(r);

    let upstream = match tether_testkit::upstream::find() {
        Ok(u) => {
            let dir = tempfile::tempdir().unwrap();
            let mut env: Vec<(String, String)> = u
                .env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.display().to_string()))
                .collect();
            env.push(("TETHER_STATE_DIR".into(), dir.path().display().to_string()));
            let tether = bin("tether-supervisor", "tether");
            let mut c = spawn(&tether, &["run", "--gateway", "openclaw"], &env);
            let st = until_running(dir.path()).await;
            settle(Duration::from_secs(5)).await;
            let kib: u64 = tether_supervisor::guard::descendants(st)
                .iter()
                .filter(|p| comm(**p) == "node" || comm(**p).starts_with("openclaw"))
                .map(|p| pss_kib(*p))
                .sum();
            let _ = c.kill().await;
            Some(kib)
        }
        Err(_) => None,
    };

    println!("\n| idle | result | target |\n|---|---|---|");
    println!(
        "| bare Tauri window (a scripted page), PSS with its WebKit processes, median of {rounds} | {} | floor |",
        mib(floor)
    );
    println!(
        "| Tether app, window shown, PSS with its WebKit processes, median of {rounds} | {} ({:.2}× the floor) | ≤ 1.15× |",
        mib(app_pss),
        app_pss as f64 / floor.max(1) as f64
    );
    println!(
        "| Tether app, hidden in the tray, PSS | {} | — |",
        mib(hidden_pss)
    );
    println!(
        "| tether-gateway PSS (with its guardian) | {} | — |",
        mib(gw_pss)
    );
    println!(
        "| whole Tether (app + gateway) | {} | — |",
        mib(app_pss + gw_pss)
    );
    match upstream {
        Some(k) => println!(
            "| upstream OpenClaw gateway alone | {} ({:.1}× whole Tether) | — |",
            mib(k),
            k as f64 / (app_pss + gw_pss) as f64
        ),
        None => println!(
            "| upstream OpenClaw gateway alone | not installed (.ci/install-upstream) | — |"
        ),
    }
    println!("| idle CPU over {idle_s} s, window shown | {shown_cpu:.2} % of a core | — |");
    println!("| idle CPU over {idle_s} s, hidden | {hidden_cpu:.2} % of a core | < 0.5 % |");
}

async fn launch_rows(app: &Path) {
    let mut running = Vec::new();
    let mut painted = Vec::new();
    for _ in 0..3 {
        let r = run_env(false, None).await;
        let t0 = Instant::now();
        let mut child = spawn(app, &[], &r.env);
        until_running(&r.state).await;
        running.push(t0.elapsed());
        let deadline = Instant::now() + LONG;
        let p = loop {
            if let Some(at) = painted_at(&r.log) {
                break at;
            }
            assert!(Instant::now() < deadline, "no first paint");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        painted.push(p - t0);
        let _ = child.kill().await;
    }
    running.sort();
    painted.sort();
    println!("\n| launch | median of 3 | runs |\n|---|---|---|");
    println!(
        "| launch → gateway running | {:?} | {:?} |",
        running[1], running
    );
    println!(
        "| launch → first painted frame (≤ 5 ms log poll) | {:?} | {:?} |",
        painted[1], painted
    );
}

fn frame_stats(ts: &[f64]) -> (f64, f64, f64, usize, usize) {
    let mut gaps: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| gaps[((q * gaps.len() as f64).ceil() as usize).clamp(1, gaps.len()) - 1];
    let over = gaps.iter().filter(|g| **g > 50.0).count();
    (at(0.5), at(0.95), gaps[gaps.len() - 1], over, gaps.len())
}

async fn send(s: &Session<'_>, text: &str) {
    let input = s.by_role("textbox", "Message", LONG).await.unwrap();
    s.type_text(&input, text).await.unwrap();
    let b = s.by_role("button", "Send", LONG).await.unwrap();
    s.click(&b).await.unwrap();
}

async fn streaming_rows(app: &Path) {
    let mock = tether_testkit::mock_openai::start().await.unwrap();
    let cfg = json!({
        "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": "k",
            "api": "openai-completions", "models": [{"id": "mock-1"}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}
    });
    let r = run_env(false, Some(&cfg)).await;
    let driver = WebDriver::start(&r.env).await.unwrap();
    let s = driver.session(app, &[]).await.unwrap();
    s.wait_text("status", "Gateway status", LONG, |t| {
        t.starts_with("Running")
    })
    .await
    .unwrap();
    let app_pid = until_running(&r.state).await;
    let webview_pss = |app_pid: u32| -> u64 {
        app_tree(app_pid)
            .0
            .iter()
            .filter(|p| comm(**p).starts_with("WebKitWebProces"))
            .map(|p| pss_kib(*p))
            .sum()
    };
    settle(Duration::from_secs(3)).await;
    let pss_launch = webview_pss(app_pid);

    // ~55 KB in ~10,000 deltas over 21 model turns; 20 of them end in ten `ls` calls each (a
    // run may make at most 24 model calls).
    let word = "lorem ";
    let mut total = 0usize;
    for i in 0..20 {
        let chunks: Vec<String> = (0..500)
            .map(|j| {
                if j == 0 {
                    format!("\n\nStep {i}: ")
                } else {
                    word.into()
                }
            })
            .collect();
        total += chunks.iter().map(String::len).sum::<usize>();
        let calls = (0..10)
            .map(|k| MockToolCall::new(&format!("call_{i}_{k}"), "ls", json!({"path": "."})))
            .collect();
        mock.push(Reply::TextThenTools(chunks, calls));
    }
    let tail: Vec<String> = (0..50).map(|_| word.to_owned()).collect();
    total += tail.iter().map(String::len).sum::<usize>();
    mock.push(Reply::Text(tail));
    let tap_before = std::fs::metadata(&r.tap).map(|m| m.len()).unwrap_or(0);
    s.script(
        "window.__frames = []; window.__stopFrames = false; (function loop(t){ window.__frames.push(t); if (!window.__stopFrames) requestAnimationFrame(loop); })(performance.now()); return true;",
        json!([]),
    )
    .await
    .unwrap();
    let t0 = Instant::now();
    send(&s, "Stream a long answer with many tools").await;
    s.wait("the 200th tool card", Duration::from_secs(300), || async {
        let n = s
            .script(
                "return document.querySelectorAll('[aria-label^=\"Tool ls: completed\"]').length;",
                json!([]),
            )
            .await?;
        Ok((n.as_u64().unwrap_or(0) >= 200).then_some(()))
    })
    .await
    .unwrap();
    let frames = s
        .script(
            "window.__stopFrames = true; return window.__frames;",
            json!([]),
        )
        .await
        .unwrap();
    let elapsed = t0.elapsed();
    let ts: Vec<f64> = frames
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let (p50, p95, worst, over, n) = frame_stats(&ts);
    let tap = std::fs::read_to_string(&r.tap).unwrap_or_default();
    let envelopes: Vec<u64> = tap
        .lines()
        .skip_while(|_| false)
        .filter(|l| l.contains("\"kind\":\"channel\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["atMs"].as_u64())
        .collect();
    let _ = tap_before;
    let span_s = match (envelopes.first(), envelopes.last()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1000.0,
        _ => 1.0,
    };
    println!("\n| streaming in WebKitGTK (real app, real gateway, mock model) | result | target |\n|---|---|---|");
    println!(
        "| stream | {} KB text, 10,000 deltas, 200 `ls` cards, {:.1} s | — |",
        total / 1000,
        elapsed.as_secs_f64()
    );
    println!(
        "| frame gap p50 / p95 / worst | {p50:.1} / {p95:.1} / {worst:.1} ms ({n} frames) | — |"
    );
    println!("| frames over 50 ms | {over} | — |");
    println!(
        "| chat-stream envelopes reaching the webview | {} in {:.1} s = {:.0}/s | ≤ ~60/s |",
        envelopes.len(),
        span_s,
        envelopes.len() as f64 / span_s
    );

    // 100 more turns, then webview memory again.
    for i in 0..100 {
        mock.push(Reply::words(&format!(
            "Reply {i}: a short answer with a little **Markdown** and `code`."
        )));
        send(&s, &format!("turn {i}")).await;
        s.wait("the reply", LONG, || async {
            let n = s
                .script(
                    &format!("return document.body.innerText.includes('Reply {i}:');"),
                    json!([]),
                )
                .await?;
            Ok((n == true).then_some(()))
        })
        .await
        .unwrap();
    }
    settle(Duration::from_secs(3)).await;
    let pss_after = webview_pss(app_pid);
    println!(
        "| WebKitWebProcess PSS: after launch → after the stream and 100 turns | {} → {} | — |",
        mib(pss_launch),
        mib(pss_after)
    );
    let _ = s.close().await;
}

fn main() {
    tether_testkit::desktop::tools_present().expect("desktop tools");
    bin("tether-gateway", "tether-gateway");
    bin("tether-supervisor", "tether");
    let app = bin("tether-desktop", "tether-desktop");
    let idle_s: u64 = std::env::var("TETHER_BENCH_IDLE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("Desktop app, release build, Xvfb (software rendering), 2 cores");
        // `TETHER_BENCH_ONLY=launch|memory|stream` runs one section.
        let only = std::env::var("TETHER_BENCH_ONLY").unwrap_or_default();
        let run = |s: &str| only.is_empty() || only == s;
        if run("launch") {
            launch_rows(&app).await;
        }
        if run("memory") {
            memory_rows(&app, idle_s).await;
        }
        if run("stream") {
            streaming_rows(&app).await;
        }
    });
}
