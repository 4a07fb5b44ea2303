//! Plumbing for the cross-process tests: build and find the binaries, run `tether run` under a
//! kill-on-drop guard, read its `--events ndjson` stream, and drive it over the control socket.
//!
//! It owns nothing but test plumbing; assertions live in the tests. Tests wait for events with a
//! deadline, never sleep to synchronize.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tether_supervisor::control::{ControlClient, ControlRequest};
use tether_supervisor::events::SupervisorEvent;

/// Builds (if needed) and returns the path of a workspace binary.
pub fn binary(package: &str, name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package, "--bin", name]);
    if dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {name}: {e}"));
    assert!(status.success(), "building {name} failed");
    let bin = dir.join(name);
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

/// A `tether run` process, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Supervisor {
    /// The process.
    pub child: Child,
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

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Supervisor {
    /// Starts `tether run --events ndjson` with extra arguments and environment.
    pub fn start(state_dir: &Path, args: &[&str], env: &[(&str, PathBuf)]) -> Supervisor {
        let tether = binary("tether-supervisor", "tether");
        let mut cmd = Command::new(tether);
        cmd.arg("run")
            .arg("--events")
            .arg("ndjson")
            .args(args)
            .env("TETHER_STATE_DIR", state_dir)
            .env("TETHER_LOG", "info")
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
            child,
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
            c.request(ControlRequest {
                id: serde_json::Value::Null,
                op: op.into(),
                force,
                method: None,
                params: None,
                timeout_ms: None,
            })
            .await
            .map_err(|e| e.to_string())
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
            c.request(ControlRequest {
                id: serde_json::Value::Null,
                op: "call".into(),
                force: false,
                method: Some(method.into()),
                params: Some(params),
                timeout_ms: Some(60_000),
            })
            .await
            .map_err(|e| e.to_string())
        })
    }
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

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
