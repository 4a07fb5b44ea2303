//! Plumbing for the cross-process tests: build and find the binaries, run `tether run` under a
//! kill-on-drop guard, read its `--events ndjson` stream, and drive it over the control socket.
//!
//! It owns nothing but test plumbing; assertions live in the tests. Tests wait for events with a
//! deadline, never sleep to synchronize.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_supervisor::control::{ControlClient, ControlRequest, Op};
use tether_supervisor::events::SupervisorEvent;
use tether_testkit::process::KillOnDrop;

/// The path of a workspace binary, built by [`tether_testkit::bins`] if it is missing.
pub fn binary(package: &str, name: &str) -> PathBuf {
    tether_testkit::bins::binary(package, name)
        .unwrap_or_else(|e| panic!("cannot find or build {name}: {e:#}"))
}

/// `tether` (the CLI and supervisor).
pub fn tether_bin() -> PathBuf {
    binary("tether-supervisor", "tether")
}

/// `tether-gateway`.
pub fn gateway_bin() -> PathBuf {
    binary("tether-gateway", "tether-gateway")
}

/// A `tether run` process, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Supervisor {
    /// The process (SIGKILLed when dropped).
    pub child: KillOnDrop,
    /// Its state directory.
    pub state_dir: PathBuf,
    events: mpsc::Receiver<Result<SupervisorEvent, String>>,
    /// Every event seen so far.
    pub seen: Vec<SupervisorEvent>,
    /// Raw stdout lines seen so far (to check for leaks).
    pub raw: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Raw stderr lines.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Supervisor {
    /// Starts `tether run --events ndjson` with extra arguments and environment.
    pub fn start(state_dir: &Path, args: &[&str], env: &[(&str, PathBuf)]) -> Supervisor {
        let mut cmd = Command::new(tether_bin());
        cmd.arg("run")
            .arg("--events")
            .arg("ndjson")
            .args(args)
            .env("TETHER_STATE_DIR", state_dir)
            .env("TETHER_LOG", "info")
            .env("TETHER_GATEWAY_BIN", gateway_bin())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tether run");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, events) = mpsc::channel();
        let raw = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let raw2 = raw.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                raw2.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.clone());
                let parsed = serde_json::from_str::<SupervisorEvent>(&line)
                    .map_err(|e| format!("{e}: {line}"));
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let errs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let errs2 = errs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                errs2.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Supervisor {
            child: KillOnDrop(child),
            state_dir: state_dir.to_owned(),
            events,
            seen: Vec::new(),
            raw,
            stderr: errs,
        }
    }

    /// Waits for an event matching `pred` (events before it are kept in `seen`).
    pub fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&SupervisorEvent) -> bool,
    ) -> SupervisorEvent {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(ev)) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Ok(Err(e)) => panic!("tether printed a line that is not an event: {e}"),
                Err(e) => panic!(
                    "no {what} within {within:?} ({e}); last events:\n{}\nstderr:\n{}",
                    self.seen
                        .iter()
                        .rev()
                        .take(15)
                        .map(|e| serde_json::to_string(e).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    self.stderr
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .join("\n")
                ),
            }
        }
    }

    /// A control-socket client, once the socket answers.
    pub fn client(&self) -> ControlClient {
        let path = self.state_dir.join("control.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match ControlClient::connect(&path).await {
                    Ok(c) => return c,
                    Err(e) if Instant::now() > deadline => {
                        panic!("control socket never answered: {e}")
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    }

    /// Runs one control request on a fresh connection.
    pub fn control(&self, op: &str, force: bool) -> Result<serde_json::Value, String> {
        let path = self.state_dir.join("control.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut c = ControlClient::connect(&path)
                .await
                .map_err(|e| e.to_string())?;
            let r = if op == "restart" {
                c.request(ControlRequest::new(Op::Restart { force })).await
            } else {
                c.op(op).await
            };
            r.map_err(|e| e.to_string())
        })
    }

    /// Calls a gateway method through the supervisor.
    pub fn call(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let path = self.state_dir.join("control.sock");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut c = ControlClient::connect(&path)
                .await
                .map_err(|e| e.to_string())?;
            c.request(ControlRequest::new(Op::Call {
                method: Some(method.into()),
                params: Some(params),
                timeout_ms: Some(60_000),
            }))
            .await
            .map_err(|e| e.to_string())
        })
    }
}

pub use tether_testkit::process::alive;

/// Waits until `pid` is gone; false if it is still there after `within`.
pub fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

/// Processes whose command line contains `needle`.
pub fn cmdlines_containing(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(bytes) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&bytes).contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

/// The status `pid` field of an event, if it is a status event.
pub fn status_pid(ev: &SupervisorEvent) -> Option<u32> {
    match ev {
        SupervisorEvent::Status(s) => s.pid,
        _ => None,
    }
}

/// A small multi-thread runtime for a test's in-process helpers (mock providers, clients), kept
/// alive for the whole test beside the synchronous process plumbing.
pub fn helper_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Writes an upstream `openclaw.json` at `path` whose only model is `mock/mock-1`, served by the
/// mock OpenAI-compatible provider at `base_url`.
pub fn write_upstream_mock_config(path: &Path, base_url: &str) {
    let config = serde_json::json!({
        "models": {"mode": "merge", "providers": {"mock": {
            "baseUrl": base_url, "apiKey": "mock-key", "api": "openai-completions",
            "models": [{"id": "mock-1", "name": "Mock 1", "reasoning": false, "input": ["text"],
                        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                        "contextWindow": 32000, "maxTokens": 1024}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}
    });
    std::fs::write(
        path,
        serde_json::to_vec_pretty(&config).expect("config json"),
    )
    .expect("write openclaw.json");
}

/// Writes our gateway's config, `<state>/gateway/gateway.json` (the gateway's own state dir
/// inside the supervisor's), creating the private directories first.
pub fn write_gateway_config(state_dir: &Path, config: &serde_json::Value) {
    use std::os::unix::fs::DirBuilderExt;
    let dir = state_dir.join("gateway");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .expect("gateway state dir");
    std::fs::write(
        dir.join("gateway.json"),
        serde_json::to_vec_pretty(config).expect("config json"),
    )
    .expect("write gateway.json");
}

/// The token the supervisor of `state_dir` gives its gateway, created now if it does not exist
/// yet (so a test can hand-start a gateway that accepts it).
pub fn supervisor_token(state_dir: &Path) -> String {
    tether_supervisor::credentials::load_or_create_token(&state_dir.join("gateway"))
        .expect("token")
        .expose()
        .to_owned()
}

/// Runs a `tether` client subcommand against the supervisor of `state_dir`.
pub fn cli(state_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(tether_bin())
        .args(args)
        .env("TETHER_STATE_DIR", state_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run tether")
}

/// Field `n` (1-based, as in proc(5)) of `/proc/<pid>/stat`.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3).map(str::to_owned)
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let want = pgid.to_string();
    all_pids()
        .into_iter()
        .filter(|&p| stat_field(p, 5).as_deref() == Some(want.as_str()) && alive(p))
        .collect()
}

/// Live descendants of `pid` (children, their children, …), whatever their process group.
pub fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|p| Some((p, stat_field(p, 4)?.parse().ok()?)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out.retain(|&p| alive(p));
    out
}

/// The process group of `pid`.
pub fn pgid_of(pid: u32) -> Option<u32> {
    stat_field(pid, 5)?.parse().ok()
}

/// Polls `check` until it is true; false if it is still false after `within`. For facts the
/// kernel owns (a process being gone), where there is no event to wait for.
pub fn wait_until(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Events streamed by the control socket to a subscriber, collected on a thread.
#[derive(Debug)]
pub struct SocketEvents {
    rx: mpsc::Receiver<SupervisorEvent>,
    /// Every event received so far.
    pub seen: Vec<SupervisorEvent>,
}

impl SocketEvents {
    /// Connects to the control socket of `state_dir` and subscribes; returns once the
    /// subscription is confirmed, so every later event reaches it.
    pub fn subscribe(state_dir: &Path) -> SocketEvents {
        let path = state_dir.join("control.sock");
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut c = match ControlClient::connect(&path).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let r = c.op("subscribe").await.map_err(|e| e.to_string());
                let _ = ready_tx.send(r.map(|_| ()));
                while let Ok(line) = c.next().await {
                    if let tether_supervisor::control::ServerLine::Event { event } = line {
                        if tx.send(event).is_err() {
                            break;
                        }
                    }
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("subscription answered")
            .expect("subscribed");
        SocketEvents {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for an event matching `pred`.
    pub fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&SupervisorEvent) -> bool,
    ) -> SupervisorEvent {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(ev) => {
                    self.seen.push(ev.clone());
                    if pred(&ev) {
                        return ev;
                    }
                }
                Err(e) => panic!(
                    "no {what} on the control socket within {within:?} ({e}); seen: {:?}",
                    self.seen
                ),
            }
        }
    }
}

/// A scripted gateway in the test process: it answers the WebSocket handshake like a gateway
/// (`connect.challenge`, then `hello-ok` for any `connect`) and every other request with the raw
/// text `answer(method, id)` returns. For faults a real gateway cannot be made to produce; the
/// supervisor attaches to it with `tether run --port PORT`.
#[derive(Debug)]
pub struct FakeGateway {
    /// Its port on 127.0.0.1.
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a [`FakeGateway`] answers a request: the raw frame text, from the method and the id.
pub type Answer = std::sync::Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

impl FakeGateway {
    /// Listens on `127.0.0.1:0` in `rt` and serves every connection.
    pub fn start(rt: &tokio::runtime::Runtime, answer: Answer) -> FakeGateway {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the fake gateway");
        let port = listener.local_addr().expect("local addr").port();
        let task = rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(fake_connection(stream, answer.clone()));
            }
        });
        FakeGateway { port, task }
    }
}

async fn fake_connection(stream: tokio::net::TcpStream, answer: Answer) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let challenge = serde_json::json!({"type": "event", "event": "connect.challenge",
        "payload": {"nonce": "fake-nonce", "ts": 1}});
    if ws.send(Message::text(challenge.to_string())).await.is_err() {
        return;
    }
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        let method = v["method"].as_str().unwrap_or_default().to_owned();
        let reply = if method == "connect" {
            serde_json::json!({"type": "res", "id": id, "ok": true, "payload": {
                "type": "hello-ok", "protocol": 4,
                "server": {"version": "fake-1", "connId": "c", "bootId": "fake-boot"},
                "features": {"methods": ["health", "config.get"], "events": ["tick"]},
                "snapshot": {"presence": [], "health": {}, "stateVersion": {"presence": 0, "health": 0},
                             "uptimeMs": 0, "sessionDefaults": {"mainSessionKey": "agent:main:main"}},
                "auth": {"role": "operator", "scopes": ["operator.admin"]},
                "policy": {"maxPayload": 26214400, "maxBufferedBytes": 16777216, "tickIntervalMs": 30000}
            }})
            .to_string()
        } else {
            answer(&method, &id)
        };
        if ws.send(Message::text(reply)).await.is_err() {
            return;
        }
    }
}
