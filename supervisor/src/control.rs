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

/// A request: its `id` (any JSON value, echoed in the response) and its operation. On the wire
/// the operation is flattened into the same object (`{"id":1,"op":"restart","force":true}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlRequest {
    /// Echoed in the response.
    pub id: Value,
    /// The operation and its fields.
    #[serde(flatten)]
    pub op: Op,
}

impl<'de> Deserialize<'de> for ControlRequest {
    /// `op` must be a string (serde would also take a variant's index), then the operation is
    /// read from the whole object.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            id: Value,
            op: String,
            #[serde(flatten)]
            fields: serde_json::Map<String, Value>,
        }
        let Wire { id, op, mut fields } = Wire::deserialize(d)?;
        fields.insert("op".into(), Value::String(op));
        let op = Op::deserialize(Value::Object(fields)).map_err(serde::de::Error::custom)?;
        Ok(ControlRequest { id, op })
    }
}

impl ControlRequest {
    /// A request for `op` (id `null`; the client numbers it).
    pub fn new(op: Op) -> Self {
        ControlRequest {
            id: Value::Null,
            op,
        }
    }
}

/// The operations of the control socket (`CONTROL-PROTOCOL.md`), tagged by `op`. Fields another
/// operation would take are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// `{status, governor, counters, backoffFailures, pendingCalls}`.
    Status,
    /// The journal export.
    Diagnostics,
    /// Start, resume after a pause, retry after a failure.
    Start,
    /// Stop, answered once stopped.
    Stop,
    /// Restart.
    Restart {
        /// Override an open breaker ("restart anyway").
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// Reload the gateway's configuration.
    Reload,
    /// Call a gateway method.
    #[serde(rename_all = "camelCase")]
    Call {
        /// The method (required; its absence is answered `bad_request`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        /// Its params (`{}` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        params: Option<Value>,
        /// Its timeout (the default when absent or 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Stream events on this connection.
    Subscribe,
    /// Stop streaming events.
    Unsubscribe,
    /// Show and raise the app's window.
    Focus,
}

impl Op {
    /// Every operation's name on the wire.
    pub const NAMES: [&'static str; 10] = [
        "status",
        "diagnostics",
        "start",
        "stop",
        "restart",
        "reload",
        "call",
        "subscribe",
        "unsubscribe",
        "focus",
    ];
}

/// The code of a failed control request: stable, on the wire in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlCode {
    /// The restart breaker is open; `restart --force` overrides it.
    BreakerOpen,
    /// The reload policy is off.
    ReloadOff,
    /// A gateway Tether did not start, without a restart RPC.
    NotOwned,
    /// The supervisor (or the window) has gone.
    Gone,
    /// No gateway link right now.
    NotConnected,
    /// The gateway did not answer in time.
    Timeout,
    /// The link closed before the answer.
    Disconnected,
    /// Too many calls in flight.
    Busy,
    /// The gateway answered with an error (`error.gateway`).
    Gateway,
    /// The gateway's answer could not be read.
    BadResponse,
    /// The request itself was wrong.
    BadRequest,
    /// This server does not do that (`focus` on `tether run`).
    Unsupported,
    /// A code this version does not know (from a newer server), or none was sent.
    #[serde(other)]
    Other,
}

impl ControlCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlCode::BreakerOpen => "breaker_open",
            ControlCode::ReloadOff => "reload_off",
            ControlCode::NotOwned => "not_owned",
            ControlCode::Gone => "gone",
            ControlCode::NotConnected => "not_connected",
            ControlCode::Timeout => "timeout",
            ControlCode::Disconnected => "disconnected",
            ControlCode::Busy => "busy",
            ControlCode::Gateway => "gateway",
            ControlCode::BadResponse => "bad_response",
            ControlCode::BadRequest => "bad_request",
            ControlCode::Unsupported => "unsupported",
            ControlCode::Other => "other",
        }
    }

    /// True for a call that reached the supervisor but failed on the way to or at the gateway.
    pub fn is_call_failure(self) -> bool {
        matches!(
            self,
            ControlCode::NotConnected
                | ControlCode::Timeout
                | ControlCode::Disconnected
                | ControlCode::Gateway
                | ControlCode::Busy
                | ControlCode::BadResponse
        )
    }
}

impl std::fmt::Display for ControlCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::handle::RefusedCode> for ControlCode {
    fn from(c: crate::handle::RefusedCode) -> Self {
        use crate::handle::RefusedCode;
        match c {
            RefusedCode::BreakerOpen => ControlCode::BreakerOpen,
            RefusedCode::ReloadOff => ControlCode::ReloadOff,
            RefusedCode::NotOwned => ControlCode::NotOwned,
            RefusedCode::Gone => ControlCode::Gone,
        }
    }
}

/// An error in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ControlError {
    /// Why, for programs.
    pub code: ControlCode,
    /// Human-readable.
    pub message: String,
    /// The gateway's error, for `code == "gateway"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Value>,
}

impl ControlError {
    fn new(code: ControlCode, message: impl Into<String>) -> Self {
        ControlError {
            code,
            message: message.into(),
            gateway: None,
        }
    }
}

impl From<CallError> for ControlError {
    fn from(e: CallError) -> Self {
        let code = match &e {
            CallError::NotConnected => ControlCode::NotConnected,
            CallError::Timeout(_) => ControlCode::Timeout,
            CallError::Disconnected(_) => ControlCode::Disconnected,
            CallError::Busy => ControlCode::Busy,
            CallError::Gone => ControlCode::Gone,
            CallError::Gateway(_) => ControlCode::Gateway,
            CallError::Unreadable(..) => ControlCode::BadResponse,
        };
        let gateway = match &e {
            CallError::Gateway(g) => serde_json::to_value(g).ok(),
            _ => None,
        };
        ControlError {
            code,
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
                let (id, op) = request_envelope(&line);
                let message = match op {
                    Some(op) if !Op::NAMES.contains(&op.as_str()) => format!("unknown op {op:?}"),
                    _ => e.to_string(),
                };
                let _ = tx
                    .send(res(
                        id,
                        Err(ControlError::new(ControlCode::BadRequest, message)),
                    ))
                    .await;
                continue;
            }
        };
        match req.op {
            Op::Subscribe => {
                if subscription.is_none() {
                    let events = handle.subscribe();
                    subscription = Some(tokio::spawn(forward(events, tx.clone())));
                }
                let _ = tx.send(res(req.id, Ok(json!({"subscribed": true})))).await;
            }
            Op::Focus => {
                let r = match &host.focus {
                    Some(f) => match f.try_send(()) {
                        // A full queue means a focus is already on its way: that is success.
                        Ok(()) | Err(mpsc::error::TrySendError::Full(())) => {
                            Ok(json!({"focused": true}))
                        }
                        Err(mpsc::error::TrySendError::Closed(())) => Err(ControlError::new(
                            ControlCode::Gone,
                            "the window has closed",
                        )),
                    },
                    None => Err(ControlError::new(
                        ControlCode::Unsupported,
                        format!("{} has no window to focus", host.name),
                    )),
                };
                let _ = tx.send(res(req.id, r)).await;
            }
            Op::Unsubscribe => {
                if let Some(s) = subscription.take() {
                    s.abort();
                }
                let _ = tx.send(res(req.id, Ok(json!({"subscribed": false})))).await;
            }
            op @ (Op::Status
            | Op::Diagnostics
            | Op::Start
            | Op::Stop
            | Op::Restart { .. }
            | Op::Reload
            | Op::Call { .. }) => {
                let (h, tx, id) = (handle.clone(), tx.clone(), req.id);
                tokio::spawn(async move {
                    let r = execute(&h, op).await;
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

/// The `id` (when its envelope has one) and the `op` (when it is a string) of a request line
/// that did not parse as a request.
fn request_envelope(line: &str) -> (Value, Option<String>) {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        id: Value,
        #[serde(default)]
        op: Value,
    }
    if !line.trim_start().starts_with('{') {
        return (Value::Null, None);
    }
    serde_json::from_str::<Envelope>(line).map_or((Value::Null, None), |r| {
        (r.id, r.op.as_str().map(str::to_owned))
    })
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

async fn execute(h: &SupervisorHandle, op: Op) -> Result<Value, ControlError> {
    let refused = |r: crate::handle::Refused| ControlError::new(r.code.into(), r.message);
    let gone = || ControlError::new(ControlCode::Gone, "the supervisor has stopped");
    match op {
        Op::Status => h
            .status()
            .await
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .ok_or_else(gone),
        Op::Diagnostics => h.diagnostics().await.ok_or_else(gone),
        Op::Start => h
            .start()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        Op::Stop => h
            .stop()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        Op::Restart { force } => h
            .restart(force)
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        Op::Reload => h
            .reload()
            .await
            .map(|m| json!({"message": m}))
            .map_err(refused),
        Op::Call {
            method,
            params,
            timeout_ms,
        } => {
            let method = method
                .ok_or_else(|| ControlError::new(ControlCode::BadRequest, "call needs a method"))?;
            let timeout = Duration::from_millis(timeout_ms.unwrap_or(0));
            h.call_with_timeout(&method, params.unwrap_or_else(|| json!({})), timeout)
                .await
                .map_err(ControlError::from)
        }
        // Served by the connection itself.
        Op::Subscribe | Op::Unsubscribe | Op::Focus => Err(ControlError::new(
            ControlCode::BadRequest,
            "subscribe, unsubscribe and focus are served by the connection",
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
    pub async fn request(&mut self, req: ControlRequest) -> Result<Value, ClientError> {
        let req = serde_json::to_value(&req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.send(req).await
    }

    /// A request by op name (an op this client does not know is the server's to refuse).
    pub async fn op(&mut self, op: &str) -> Result<Value, ClientError> {
        self.send(json!({ "op": op })).await
    }

    /// Numbers `req` (a JSON object), sends it and waits for its response.
    async fn send(&mut self, mut req: Value) -> Result<Value, ClientError> {
        self.next_id += 1;
        req["id"] = json!(self.next_id);
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
                            ControlError::new(ControlCode::Other, "request failed")
                        })))
                    };
                }
                other => self.backlog.push_back(other),
            }
        }
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
    fn control_codes_are_their_wire_strings_and_unknown_ones_are_other() {
        use ControlCode::*;
        for c in [
            BreakerOpen,
            ReloadOff,
            NotOwned,
            Gone,
            NotConnected,
            Timeout,
            Disconnected,
            Busy,
            Gateway,
            BadResponse,
            BadRequest,
            Unsupported,
        ] {
            let wire = serde_json::to_value(c).expect("encode");
            assert_eq!(wire, json!(c.as_str()));
            assert_eq!(
                serde_json::from_value::<ControlCode>(wire).expect("decode"),
                c
            );
        }
        let e: ControlError =
            serde_json::from_value(json!({"code": "a_newer_code", "message": "m"}))
                .expect("decode");
        assert_eq!(e.code, Other);
        for r in [
            crate::handle::RefusedCode::BreakerOpen,
            crate::handle::RefusedCode::ReloadOff,
            crate::handle::RefusedCode::NotOwned,
            crate::handle::RefusedCode::Gone,
        ] {
            assert_eq!(ControlCode::from(r).as_str(), r.as_str());
        }
    }

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
        assert_eq!(r.id, json!(7));
        assert_eq!(r.op, Op::Restart { force: true });
        // What clients sent before the operations were an enum still reads the same.
        for (line, op) in [
            (r#"{"op":"status"}"#, Op::Status),
            (r#"{"op":"restart"}"#, Op::Restart { force: false }),
            (r#"{"op":"status","force":true,"method":"x"}"#, Op::Status),
            (
                r#"{"id":1,"op":"call","method":"health","params":{"a":1},"timeoutMs":5}"#,
                Op::Call {
                    method: Some("health".into()),
                    params: Some(json!({"a": 1})),
                    timeout_ms: Some(5),
                },
            ),
            (
                r#"{"op":"call"}"#,
                Op::Call {
                    method: None,
                    params: None,
                    timeout_ms: None,
                },
            ),
        ] {
            let r: ControlRequest = serde_json::from_str(line).expect(line);
            assert_eq!(
                (r.id.is_null() || r.id == json!(1), r.op),
                (true, op),
                "{line}"
            );
        }
        for name in Op::NAMES {
            let r: ControlRequest = serde_json::from_value(json!({"op": name, "method": "m"}))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(serde_json::to_value(&r.op).unwrap()["op"], name);
        }
        // And is written as it was.
        assert_eq!(
            serde_json::to_value(ControlRequest {
                id: json!(3),
                op: Op::Restart { force: true }
            })
            .unwrap(),
            json!({"id": 3, "op": "restart", "force": true})
        );
        assert_eq!(
            serde_json::to_value(ControlRequest::new(Op::Restart { force: false })).unwrap(),
            json!({"id": null, "op": "restart"})
        );
        assert_eq!(
            request_envelope(r#"{"id":4,"op":"bogus"}"#),
            (json!(4), Some("bogus".into()))
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"op":"bogus"}"#).is_err());
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
            assert_eq!(request_envelope(line).0, id, "{line}");
        }
        let line = res(
            json!(7),
            Err(ControlError::new(ControlCode::BreakerOpen, "no")),
        );

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
                crate::policy::exit::Family::Tether,
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
            Err(ClientError::Failed(e)) => assert_eq!(e.code, ControlCode::Unsupported),
            other => panic!("expected unsupported, got {other:?}"),
        }
    }
}
