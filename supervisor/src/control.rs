//! The control socket: a stable local protocol to drive whichever supervisor is running.
//!
//! It owns the unix socket `<state>/control.sock` (directory 0700, socket 0600, and every peer's
//! uid checked with `SO_PEERCRED` against our own) and its protocol, **version 1**, which the
//! desktop app will serve too. Line-delimited JSON, UTF-8, one object per line:
//!
//! - On connect the server sends `{"kind":"hello","protocol":1,"server":"tether-supervisor",
//!   "version":"…","pid":N}`.
//! - The client sends requests `{"id":ID,"op":OP,…}` where `ID` is any JSON value echoed back and
//!   `OP` is one of `status`, `start`, `stop`, `restart` (`"force":true` overrides an open
//!   breaker), `reload`, `call` (`"method":"…","params":{…},"timeoutMs":N?`), `diagnostics`,
//!   `subscribe`, `unsubscribe`, `focus` (the desktop app shows its window; `tether run`
//!   answers `unsupported`).
//! - Each request gets exactly one response `{"kind":"res","id":ID,"ok":true,"result":…}` or
//!   `{"kind":"res","id":ID,"ok":false,"error":{"code":"…","message":"…"}}` (codes: the
//!   supervisor's refusal codes, `not_connected`, `timeout`, `disconnected`, `gateway` with the
//!   gateway's `ErrorShape` in `error.gateway`, `bad_request`). Requests on one connection run
//!   concurrently; responses may come in any order.
//! - After `subscribe`, every [`SupervisorEvent`] is streamed as `{"kind":"event","event":{…}}`;
//!   a subscriber too slow to keep up gets `{"kind":"lagged","missed":N}` instead of the events
//!   it missed. Events sent before the `subscribe` response are never lost to it: the
//!   subscription exists before the response is written.
//!
//! The full reference, with every event shape, is `supervisor/CONTROL-PROTOCOL.md`. It never holds
//! supervisor state: every request goes through the [`SupervisorHandle`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::events::SupervisorEvent;
use crate::handle::{CallError, SupervisorHandle};

/// Protocol version.
pub const PROTOCOL: u32 = 1;
/// Longest request line accepted: a `chat.send` with the most attachments a gateway takes
/// (`policy.maxPayload`, 25 MiB) fits.
const MAX_LINE: usize = 32 << 20;

/// A request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRequest {
    /// Echoed in the response.
    #[serde(default)]
    pub id: Value,
    /// The operation.
    pub op: String,
    /// `restart`: override the breaker.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    /// `call`: method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `call`: params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// `call`: timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl ControlRequest {
    /// A request for `op` with no other fields (id `null`).
    pub fn new(op: &str) -> Self {
        ControlRequest {
            id: Value::Null,
            op: op.into(),
            force: false,
            method: None,
            params: None,
            timeout_ms: None,
        }
    }
}

/// An error in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ControlError {
    /// Stable code.
    pub code: String,
    /// Human-readable.
    pub message: String,
    /// The gateway's error, for `code == "gateway"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Value>,
}

impl ControlError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ControlError {
            code: code.into(),
            message: message.into(),
            gateway: None,
        }
    }
}

impl From<CallError> for ControlError {
    fn from(e: CallError) -> Self {
        let code = match &e {
            CallError::NotConnected => "not_connected",
            CallError::Timeout(_) => "timeout",
            CallError::Disconnected(_) => "disconnected",
            CallError::Busy => "busy",
            CallError::Gone => "gone",
            CallError::Gateway(_) => "gateway",
            CallError::Unreadable(..) => "bad_response",
        };
        let gateway = match &e {
            CallError::Gateway(g) => serde_json::to_value(g).ok(),
            _ => None,
        };
        ControlError {
            code: code.into(),
            message: e.to_string(),
            gateway,
        }
    }
}

/// A line from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ServerLine {
    /// First line.
    Hello {
        /// Protocol version.
        protocol: u32,
        /// `tether-supervisor` or the desktop app's name.
        server: String,
        /// Its version.
        version: String,
        /// Its pid.
        pid: u32,
    },
    /// A response.
    Res {
        /// The request's id.
        id: Value,
        /// Success.
        ok: bool,
        /// On success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// On failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ControlError>,
    },
    /// A streamed event.
    Event {
        /// The event.
        event: SupervisorEvent,
    },
    /// Events were missed.
    Lagged {
        /// How many.
        missed: u64,
    },
}

/// The running server.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who serves the socket: its name in `hello`, and what it can do beyond the supervisor's ops.
#[derive(Debug, Clone)]
pub struct Host {
    /// `hello.server`: `tether-supervisor` for `tether run`, `tether-desktop` for the app.
    pub name: String,
    /// Where a `focus` request goes (the app shows and raises its window); `None`: `focus` is
    /// answered `unsupported`.
    pub focus: Option<mpsc::Sender<()>>,
}

impl Host {
    /// `tether run`: no window.
    pub fn headless() -> Self {
        Host {
            name: SERVER_HEADLESS.into(),
            focus: None,
        }
    }
}

/// `hello.server` of `tether run`.
pub const SERVER_HEADLESS: &str = "tether-supervisor";
/// `hello.server` of the desktop app.
pub const SERVER_DESKTOP: &str = "tether-desktop";

/// Binds the socket (replacing a stale one) and serves `handle` on it, as `tether run`.
pub async fn serve(path: &Path, handle: SupervisorHandle) -> std::io::Result<ControlServer> {
    serve_as(path, handle, Host::headless()).await
}

/// Binds the socket (replacing a stale one) and serves `handle` on it as `host`.
pub async fn serve_as(
    path: &Path,
    handle: SupervisorHandle,
    host: Host,
) -> std::io::Result<ControlServer> {
    if let Some(dir) = path.parent() {
        crate::profile::create_private_dir(dir)?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("a supervisor already serves {}", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let me = nix::unistd::geteuid().as_raw();
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let same_user = stream.peer_cred().is_ok_and(|c| c.uid() == me);
            if !same_user {
                continue;
            }
            tokio::spawn(connection(stream, handle.clone(), host.clone()));
        }
    });
    Ok(ControlServer {
        path: path.to_owned(),
        task,
    })
}

async fn connection(stream: UnixStream, handle: SupervisorHandle, host: Host) {
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<ServerLine>(256);
    let writer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
            bytes.push(b'\n');
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let _ = tx
        .send(ServerLine::Hello {
            protocol: PROTOCOL,
            server: host.name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
        })
        .await;
    let mut reader = BufReader::new(read);
    let mut subscription: Option<JoinHandle<()>> = None;
    while let Some(line) = next_request_line(&mut reader).await {
        let req: ControlRequest = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                // Every answer echoes the id when one can be read, so the caller stops waiting.
                let _ = tx
                    .send(res(
                        request_id(&line),
                        Err(ControlError::new("bad_request", e.to_string())),
                    ))
                    .await;
                continue;
            }
        };
        match req.op.as_str() {
            "subscribe" => {
                if subscription.is_none() {
                    let events = handle.subscribe();
                    subscription = Some(tokio::spawn(forward(events, tx.clone())));
                }
                let _ = tx.send(res(req.id, Ok(json!({"subscribed": true})))).await;
            }
            "focus" => {
                let r = match &host.focus {
                    Some(f) => match f.try_send(()) {
                        // A full queue means a focus is already on its way: that is success.
                        Ok(()) | Err(mpsc::error::TrySendError::Full(())) => {
                            Ok(json!({"focused": true}))
                        }
                        Err(mpsc::error::TrySendError::Closed(())) => {
                            Err(ControlError::new("gone", "the window has closed"))
                        }
                    },
                    None => Err(ControlError::new(
                        "unsupported",
                        format!("{} has no window to focus", host.name),
                    )),
                };
                let _ = tx.send(res(req.id, r)).await;
            }
            "unsubscribe" => {
                if let Some(s) = subscription.take() {
                    s.abort();
                }
                let _ = tx.send(res(req.id, Ok(json!({"subscribed": false})))).await;
            }
            _ => {
                let (h, tx) = (handle.clone(), tx.clone());
                tokio::spawn(async move {
                    let id = req.id.clone();
                    let r = execute(&h, req).await;
                    let _ = tx.send(res(id, r)).await;
                });
            }
        }
    }
    if let Some(s) = subscription {
        s.abort();
    }
    drop(tx);
    let _ = writer.await;
}

/// The next request line, read at most [`MAX_LINE`] bytes into memory; `None` at the end, on an
/// error, or when a line is longer (which closes the connection).
async fn next_request_line(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await
        .ok()?;
    if n == 0 || buf.len() > MAX_LINE {
        return None;
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The `id` of a request line that did not parse as a request, when its envelope has one.
fn request_id(line: &str) -> Value {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Value,
    }
    if !line.trim_start().starts_with('{') {
        return Value::Null;
    }
    serde_json::from_str::<IdOnly>(line).map_or(Value::Null, |r| r.id)
}

fn res(id: Value, r: Result<Value, ControlError>) -> ServerLine {
    match r {
        Ok(v) => ServerLine::Res {
            id,
            ok: true,
            result: Some(v),
            error: None,
        },
        Err(e) => ServerLine::Res {
            id,
            ok: false,
            result: None,
            error: Some(e),
        },
    }
}

async fn forward(mut events: broadcast::Receiver<SupervisorEvent>, tx: mpsc::Sender<ServerLine>) {
    loop {
        let line = match events.recv().await {
            Ok(event) => ServerLine::Event { event },
            Err(broadcast::error::RecvError::Lagged(missed)) => ServerLine::Lagged { missed },
            Err(broadcast::error::RecvError::Closed) => break,
        };
        if tx.send(line).await.is_err() {
            break;
        }
    }
}

async fn execute(h: &SupervisorHandle, req: ControlRequest) -> Result<Value, ControlError> {
    let refused = |r: crate::handle::Refused| ControlError::new(&r.code, r.message);
    let gone = || ControlError::new("gone", "the supervisor has stopped");
    match req.op.as_str() {
        "status" => h
            .status()
            .await
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .ok_or_else(gone),
        "diagnostics" => h.diagnostics().await.ok_or_else(gone),
        "start" => h
            .start()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        "stop" => h
            .stop()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        "restart" => h
            .restart(req.force)
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        "reload" => h
            .reload()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        "call" => {
            let method = req
                .method
                .ok_or_else(|| ControlError::new("bad_request", "call needs a method"))?;
            let timeout = Duration::from_millis(req.timeout_ms.unwrap_or(0));
            h.call_with_timeout(&method, req.params.unwrap_or_else(|| json!({})), timeout)
                .await
                .map_err(ControlError::from)
        }
        other => Err(ControlError::new(
            "bad_request",
            format!("unknown op {other:?}"),
        )),
    }
}

/// A client of the control socket.
#[derive(Debug)]
pub struct ControlClient {
    lines: tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    write: tokio::net::unix::OwnedWriteHalf,
    next_id: u64,
    /// Events received while waiting for a response.
    pub backlog: std::collections::VecDeque<ServerLine>,
    /// The server's hello.
    pub hello: ServerLine,
}

/// Why the client failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No supervisor listens.
    #[error("no supervisor running (looked for {0}); start one with `tether run`")]
    NotRunning(PathBuf),
    /// IO.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// The server said something unexpected.
    #[error("control socket: {0}")]
    Protocol(String),
    /// The request failed.
    #[error("{0}")]
    Failed(ControlError),
}

impl ControlClient {
    /// Connects and reads the hello.
    pub async fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|_| ClientError::NotRunning(path.to_owned()))?;
        let (read, write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let first = lines
            .next_line()
            .await?
            .ok_or_else(|| ClientError::Protocol("closed before hello".into()))?;
        let hello: ServerLine =
            serde_json::from_str(&first).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(ControlClient {
            lines,
            write,
            next_id: 0,
            backlog: Default::default(),
            hello,
        })
    }

    /// Sends a request and waits for its response (events meanwhile go to `backlog`).
    pub async fn request(&mut self, mut req: ControlRequest) -> Result<Value, ClientError> {
        self.next_id += 1;
        req.id = json!(self.next_id);
        let mut bytes =
            serde_json::to_vec(&req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        bytes.push(b'\n');
        self.write.write_all(&bytes).await?;
        loop {
            match self.next_line().await? {
                ServerLine::Res {
                    id,
                    ok,
                    result,
                    error,
                } if id == json!(self.next_id) => {
                    return if ok {
                        Ok(result.unwrap_or(Value::Null))
                    } else {
                        Err(ClientError::Failed(error.unwrap_or_else(|| {
                            ControlError::new("unknown", "request failed")
                        })))
                    };
                }
                other => self.backlog.push_back(other),
            }
        }
    }

    /// A simple request by op name.
    pub async fn op(&mut self, op: &str) -> Result<Value, ClientError> {
        self.request(ControlRequest::new(op)).await
    }

    async fn next_line(&mut self) -> Result<ServerLine, ClientError> {
        let line =
            self.lines.next_line().await?.ok_or_else(|| {
                ClientError::Protocol("the supervisor closed the connection".into())
            })?;
        serde_json::from_str(&line).map_err(|e| ClientError::Protocol(format!("{e}: {line}")))
    }

    /// The next streamed line (backlog first).
    pub async fn next(&mut self) -> Result<ServerLine, ClientError> {
        if let Some(l) = self.backlog.pop_front() {
            return Ok(l);
        }
        self.next_line().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let hello = ServerLine::Hello {
            protocol: 1,
            server: "s".into(),
            version: "v".into(),
            pid: 1,
        };
        assert_eq!(serde_json::to_value(&hello).unwrap()["kind"], "hello");
        let r: ControlRequest =
            serde_json::from_str(r#"{"id":7,"op":"restart","force":true}"#).unwrap();
        assert!(r.force);
        // A request that does not parse is still answered with its id.
        for (line, id) in [
            (
                r#"{"op":"call","id":11,"method":"health","timeoutMs":-5}"#,
                json!(11),
            ),
            (r#"{"id":"a","op":7}"#, json!("a")),
            (r#"{"op":"call","timeoutMs":"x"}"#, Value::Null),
            ("[1,2]", Value::Null),
            ("not json", Value::Null),
        ] {
            assert!(
                serde_json::from_str::<ControlRequest>(line).is_err(),
                "{line}"
            );
            assert_eq!(request_id(line), id, "{line}");
        }
        let line = res(json!(7), Err(ControlError::new("breaker_open", "no")));

        assert_eq!(
            serde_json::to_value(&line).unwrap(),
            json!({"kind":"res","id":7,"ok":false,"error":{"code":"breaker_open","message":"no"}})
        );
    }

    /// `focus` reaches the app's window when there is one, and says `unsupported` otherwise;
    /// `hello.server` names who serves.
    #[tokio::test]
    async fn focus_goes_to_the_host_window() {
        let world = crate::testing::World::new();
        let (handle, _join) = crate::spawn(
            crate::SupervisorConfig::new(crate::machine::MachineConfig::for_family(
                crate::exit::Family::Tether,
                "tether",
            )),
            world.deps(),
        );
        let dir = tempfile::tempdir().unwrap();
        let (focus_tx, mut focus_rx) = mpsc::channel(1);
        let app = dir.path().join("app.sock");
        let _app = serve_as(
            &app,
            handle.clone(),
            Host {
                name: SERVER_DESKTOP.into(),
                focus: Some(focus_tx),
            },
        )
        .await
        .unwrap();
        let mut c = ControlClient::connect(&app).await.unwrap();
        assert!(matches!(&c.hello, ServerLine::Hello { server, .. } if server == SERVER_DESKTOP));
        assert_eq!(c.op("focus").await.unwrap(), json!({"focused": true}));
        assert_eq!(focus_rx.recv().await, Some(()));
        // A second focus while the first is still queued is still a success.
        assert_eq!(c.op("focus").await.unwrap(), json!({"focused": true}));
        assert_eq!(c.op("focus").await.unwrap(), json!({"focused": true}));

        let headless = dir.path().join("run.sock");
        let _run = serve(&headless, handle).await.unwrap();
        let mut c = ControlClient::connect(&headless).await.unwrap();
        assert!(matches!(&c.hello, ServerLine::Hello { server, .. } if server == SERVER_HEADLESS));
        match c.op("focus").await {
            Err(ClientError::Failed(e)) => assert_eq!(e.code, "unsupported"),
            other => panic!("expected unsupported, got {other:?}"),
        }
    }
}
