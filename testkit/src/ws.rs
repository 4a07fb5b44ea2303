//! Test clients for the gateway port: a protocol-aware WebSocket client on tokio-tungstenite,
//! a raw frame client for malformed traffic, and a raw HTTP request helper.
//!
//! [`WsClient`] reads the challenge, builds `connect` params (optionally signed with an Ed25519
//! device key via `tether_protocol::device`), calls methods, collects events and reports close
//! codes. [`RawWs`] speaks bytes: unmasked frames, reserved bits, bad opcodes, fragments.
//! [`http`] sends one hand-written HTTP request. None of them asserts anything: tests do.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_protocol::connect::ConnectChallenge;
use tether_protocol::device::{DeviceKey, SignedClaim};
use tether_protocol::{ConnectAuth, ConnectParams, Event, Frame, HelloOk, Response, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Default wait for one frame.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(10);
/// The close code reported when the socket ended without a close frame.
pub const ABNORMAL: u16 = 1006;

/// How to `connect`.
#[derive(Debug, Clone)]
pub struct ConnectOpts {
    /// `client.id`.
    pub client_id: String,
    /// `client.mode`.
    pub client_mode: String,
    /// `scopes`.
    pub scopes: Vec<String>,
    /// `caps`.
    pub caps: Vec<String>,
    /// `auth.token`.
    pub token: Option<String>,
    /// `auth.password`.
    pub password: Option<String>,
    /// `auth.deviceToken`.
    pub device_token: Option<String>,
    /// Sign with this key.
    pub device: Option<DeviceKey>,
    /// `minProtocol`.
    pub min_protocol: u32,
    /// `maxProtocol`.
    pub max_protocol: u32,
    /// `client.displayName`.
    pub display_name: Option<String>,
}

impl ConnectOpts {
    /// A local CLI client (`cli/cli`) with the supervisor's scopes.
    pub fn cli(token: &str) -> Self {
        ConnectOpts {
            client_id: "cli".into(),
            client_mode: "cli".into(),
            scopes: tether_protocol::scope::supervisor_scopes()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            caps: vec![],
            token: Some(token.to_owned()),
            password: None,
            device_token: None,
            device: None,
            min_protocol: 3,
            max_protocol: 4,
            display_name: None,
        }
    }

    /// A device-less UI client (`openclaw-linux/ui`): gets no scopes.
    pub fn ui(token: &str) -> Self {
        ConnectOpts {
            client_id: "openclaw-linux".into(),
            client_mode: "ui".into(),
            display_name: Some("test ui".into()),
            ..Self::cli(token)
        }
    }

    /// With a fresh device key.
    pub fn with_device(mut self) -> Self {
        let mut seed = [0u8; 32];
        let _ = getrandom::fill(&mut seed);
        self.device = Some(DeviceKey::from_seed(&seed));
        self
    }

    /// With these scopes.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// With this protocol range.
    pub fn protocols(mut self, min: u32, max: u32) -> Self {
        self.min_protocol = min;
        self.max_protocol = max;
        self
    }

    /// Builds `connect` params for a challenge (signing when a device key is set).
    pub fn params(&self, challenge: &ConnectChallenge) -> Value {
        let mut p = json!({
            "minProtocol": self.min_protocol,
            "maxProtocol": self.max_protocol,
            "client": {
                "id": self.client_id,
                "version": "0.0.1-test",
                "platform": "linux",
                "mode": self.client_mode,
            },
            "role": "operator",
            "scopes": self.scopes,
            "caps": self.caps,
        });
        if let Some(name) = &self.display_name {
            p["client"]["displayName"] = json!(name);
        }
        let auth = ConnectAuth {
            token: self.token.clone().map(Into::into),
            password: self.password.clone().map(Into::into),
            device_token: self.device_token.clone().map(Into::into),
            ..Default::default()
        };
        p["auth"] = serde_json::to_value(&auth).unwrap_or(Value::Null);
        if let Some(key) = &self.device {
            let scopes: Vec<Scope> = self
                .scopes
                .iter()
                .map(|s| Scope::from(s.as_str()))
                .collect();
            let proof = key.prove(&SignedClaim {
                client_id: &self.client_id,
                client_mode: &self.client_mode,
                role: "operator",
                scopes: &scopes,
                signed_at_ms: challenge.ts,
                token: auth.signature_token(),
                nonce: &challenge.nonce,
                platform: "linux",
                device_family: "",
            });
            p["device"] = serde_json::to_value(proof).unwrap_or(Value::Null);
        }
        p
    }
}

/// An HTTP refusal of an upgrade.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub body: String,
}

/// A protocol-aware WebSocket client.
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    stash: VecDeque<Frame>,
    next_id: u64,
    /// The close frame seen, once the socket closed.
    pub closed: Option<(u16, String)>,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(128 << 20))
        .max_frame_size(Some(128 << 20))
}

impl WsClient {
    /// Opens a socket (no extra headers). Fails if the upgrade is refused.
    pub async fn open(url: &str) -> Result<WsClient> {
        match Self::try_open(url, &[]).await? {
            Ok(c) => Ok(c),
            Err(r) => bail!("upgrade refused: {} {}", r.status, r.body),
        }
    }

    /// Opens a socket with extra headers; an HTTP refusal is `Ok(Err(..))`.
    pub async fn try_open(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Result<WsClient, Refused>> {
        let mut req = url.into_client_request().context("building the request")?;
        for (k, v) in headers {
            let name = http::header::HeaderName::from_bytes(k.as_bytes())?;
            req.headers_mut()
                .insert(name, http::HeaderValue::from_str(v)?);
        }
        match tokio_tungstenite::connect_async_with_config(req, Some(config()), true).await {
            Ok((ws, _)) => Ok(Ok(WsClient {
                ws,
                stash: VecDeque::new(),
                next_id: 0,
                closed: None,
            })),
            Err(tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Ok(Err(Refused { status, body }))
            }
            Err(e) => Err(e).context("websocket connect"),
        }
    }

    /// Opens, reads the challenge, connects; fails unless `hello-ok` arrives.
    pub async fn connect(url: &str, opts: &ConnectOpts) -> Result<(WsClient, HelloOk)> {
        let mut c = Self::open(url).await?;
        let res = c.handshake(opts).await?;
        if !res.ok {
            bail!("connect refused: {:?}", res.error);
        }
        let hello: HelloOk = serde_json::from_value(res.payload.unwrap_or(Value::Null))
            .context("parsing hello-ok")?;
        Ok((c, hello))
    }

    /// Reads the challenge and sends `connect`; returns the response.
    pub async fn handshake(&mut self, opts: &ConnectOpts) -> Result<Response> {
        let challenge = self.challenge().await?;
        let params = opts.params(&challenge);
        self.request_with_id("connect-1", "connect", params).await
    }

    /// Reads the first frame, which must be `connect.challenge`.
    pub async fn challenge(&mut self) -> Result<ConnectChallenge> {
        match self.next_frame(FRAME_DEADLINE).await? {
            Some(Frame::Event(e)) if e.event == "connect.challenge" => {
                if e.seq.is_some() {
                    bail!("the challenge carries a seq");
                }
                e.payload_as().context("challenge payload")
            }
            other => bail!("expected connect.challenge, got {other:?}"),
        }
    }

    /// Sends a text message as is.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.ws
            .send(Message::Text(text.into().into()))
            .await
            .context("sending text")
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .context("sending binary")
    }

    /// Sends a ping.
    pub async fn send_ping(&mut self, payload: Vec<u8>) -> Result<()> {
        self.ws
            .send(Message::Ping(payload.into()))
            .await
            .context("sending ping")
    }

    /// Sends a request frame without waiting.
    pub async fn send_request(&mut self, id: &str, method: &str, params: Value) -> Result<()> {
        let frame = Frame::Req(tether_protocol::Request::new(id, method, params));
        self.send_text(frame.to_json()).await
    }

    /// Calls a method and waits for its response (events meanwhile are kept for later).
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Response> {
        self.next_id += 1;
        let id = format!("r{}", self.next_id);
        self.request_with_id(&id, method, params).await
    }

    /// Sends a request with this id and waits for the response with the same id.
    pub async fn request_with_id(
        &mut self,
        id: &str,
        method: &str,
        params: Value,
    ) -> Result<Response> {
        self.send_request(id, method, params).await?;
        self.response(id, FRAME_DEADLINE).await
    }

    /// Waits for the response with `id`.
    pub async fn response(&mut self, id: &str, deadline: Duration) -> Result<Response> {
        if let Some(pos) = self
            .stash
            .iter()
            .position(|f| matches!(f, Frame::Res(r) if r.id == id))
        {
            if let Some(Frame::Res(r)) = self.stash.remove(pos) {
                return Ok(r);
            }
        }
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.read_frame(left).await? {
                Some(Frame::Res(r)) if r.id == id => return Ok(r),
                Some(other) => self.stash.push_back(other),
                None => bail!("socket closed ({:?}) before response {id}", self.closed),
            }
        }
    }

    /// Waits for the next event named `name` (earlier stashed events first).
    pub async fn event(&mut self, name: &str, deadline: Duration) -> Result<Event> {
        if let Some(pos) = self
            .stash
            .iter()
            .position(|f| matches!(f, Frame::Event(e) if e.event == name))
        {
            if let Some(Frame::Event(e)) = self.stash.remove(pos) {
                return Ok(e);
            }
        }
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.read_frame(left).await? {
                Some(Frame::Event(e)) if e.event == name => return Ok(e),
                Some(other) => self.stash.push_back(other),
                None => bail!("socket closed ({:?}) before event {name}", self.closed),
            }
        }
    }

    /// The next frame: stashed ones first, then from the socket. `None` once closed.
    pub async fn next_frame(&mut self, deadline: Duration) -> Result<Option<Frame>> {
        if let Some(f) = self.stash.pop_front() {
            return Ok(Some(f));
        }
        self.read_frame(deadline).await
    }

    /// Frames received but not yet consumed.
    pub fn stashed(&self) -> impl Iterator<Item = &Frame> {
        self.stash.iter()
    }

    async fn read_frame(&mut self, deadline: Duration) -> Result<Option<Frame>> {
        if self.closed.is_some() {
            return Ok(None);
        }
        loop {
            let msg = tokio::time::timeout(deadline, self.ws.next())
                .await
                .map_err(|_| anyhow!("no frame within {deadline:?}"))?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Frame::parse(t.as_str())
                        .map(Some)
                        .map_err(|e| anyhow!("server sent an invalid frame: {e}: {t}"));
                }
                Some(Ok(Message::Close(c))) => {
                    self.closed = Some(c.map_or((1005, String::new()), |c| {
                        (u16::from(c.code), c.reason.to_string())
                    }));
                    // Send the close reply tungstenite queued, as a well-behaved client does.
                    let _ = tokio::time::timeout(deadline, self.ws.flush()).await;
                    return Ok(None);
                }
                Some(Ok(Message::Binary(_))) => bail!("server sent a binary frame"),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    // No close frame: report 1006 with what the transport said.
                    self.closed.get_or_insert((ABNORMAL, e.to_string()));
                    return Ok(None);
                }
                None => {
                    self.closed.get_or_insert((ABNORMAL, String::new()));
                    return Ok(None);
                }
            }
        }
    }

    /// Reads (and stashes) frames until the socket closes; returns the close code and reason.
    pub async fn closed(&mut self, deadline: Duration) -> Result<(u16, String)> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(c) = &self.closed {
                return Ok(c.clone());
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if let Some(f) = self.read_frame(left).await? {
                self.stash.push_back(f);
            }
        }
    }

    /// The underlying stream, for callers that read frames themselves (stashed frames are
    /// dropped).
    pub fn into_stream(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }

    /// Closes the socket from the client side.
    pub async fn close(&mut self) -> Result<()> {
        self.ws.close(None).await.context("closing")
    }
}

/// Connect params as a typed value (for tests that tamper with them).
pub fn typed_params(v: &Value) -> Result<ConnectParams> {
    serde_json::from_value(v.clone()).context("connect params")
}

/// A raw frame read from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// FIN bit.
    pub fin: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A byte-level WebSocket client.
#[derive(Debug)]
pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Connects to `addr` (`host:port`) and performs the upgrade on `path`.
    pub async fn open(addr: &str, path: &str) -> Result<RawWs> {
        let mut stream = TcpStream::connect(addr).await.context("tcp connect")?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(FRAME_DEADLINE, stream.read(&mut chunk))
                .await
                .map_err(|_| anyhow!("no upgrade response"))??;
            if n == 0 {
                bail!("connection closed during upgrade");
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            bail!("upgrade refused: {head}");
        }
        buf.drain(..head_end);
        Ok(RawWs { stream, buf })
    }

    /// Writes a frame. `mask` masks the payload (clients must); `rsv` sets reserved bits.
    pub async fn write_frame(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: &[u8],
        mask: bool,
        rsv: u8,
    ) -> Result<()> {
        let mut f = Vec::with_capacity(payload.len() + 14);
        f.push((u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f));
        let mask_bit = if mask { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                f.push(mask_bit | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(mask_bit | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if mask {
            let key = [0x12u8, 0x34, 0x56, 0x78];
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.write_bytes(&f).await
    }

    /// Writes a masked text frame with FIN set.
    pub async fn write_text(&mut self, text: &str) -> Result<()> {
        self.write_frame(true, 1, text.as_bytes(), true, 0).await
    }

    /// Writes raw bytes.
    pub async fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).await.context("writing")
    }

    /// Reads one frame; `None` at EOF.
    pub async fn read_frame(&mut self, deadline: Duration) -> Result<Option<RawFrame>> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Ok(Some(frame));
            }
            let mut chunk = [0u8; 8192];
            let n = match tokio::time::timeout_at(until, self.stream.read(&mut chunk)).await {
                Err(_) => bail!("no frame within {deadline:?}"),
                Ok(Err(_)) | Ok(Ok(0)) => return Ok(None),
                Ok(Ok(n)) => n,
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads frames until a close frame (its code) or EOF ([`ABNORMAL`]).
    pub async fn close_code(&mut self, deadline: Duration) -> Result<u16> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.read_frame(left).await? {
                None => return Ok(ABNORMAL),
                Some(f) if f.opcode == 8 => return Ok(f.close_code().unwrap_or(1005)),
                Some(_) => {}
            }
        }
    }

    /// Reads until EOF; true if the peer closed the TCP connection within the deadline.
    pub async fn eof(&mut self, deadline: Duration) -> Result<bool> {
        let until = tokio::time::Instant::now() + deadline;
        let mut chunk = [0u8; 8192];
        loop {
            match tokio::time::timeout_at(until, self.stream.read(&mut chunk)).await {
                Err(_) => return Ok(false),
                Ok(Err(_)) | Ok(Ok(0)) => return Ok(true),
                Ok(Ok(_)) => {}
            }
        }
    }
}

fn parse_server_frame(b: &[u8]) -> Option<(RawFrame, usize)> {
    if b.len() < 2 {
        return None;
    }
    let fin = b[0] & 0x80 != 0;
    let opcode = b[0] & 0x0f;
    let (len, mut at) = match b[1] & 0x7f {
        126 => (usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
        127 => {
            let mut x = [0u8; 8];
            x.copy_from_slice(b.get(2..10)?);
            (usize::try_from(u64::from_be_bytes(x)).ok()?, 10)
        }
        n => (usize::from(n), 2),
    };
    if b[1] & 0x80 != 0 {
        at += 4;
    }
    let payload = b.get(at..at + len)?.to_vec();
    Some((
        RawFrame {
            fin,
            opcode,
            payload,
        },
        at + len,
    ))
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl HttpReply {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.body).context("response body is not JSON")
    }
}

/// Sends `request` (a complete HTTP/1.1 request; `Connection: close` is advised) to `addr` and
/// reads the response until the server closes.
pub async fn http(addr: &str, request: &str) -> Result<HttpReply> {
    let mut s = TcpStream::connect(addr).await.context("tcp connect")?;
    s.write_all(request.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(FRAME_DEADLINE, s.read_to_end(&mut buf))
        .await
        .map_err(|_| anyhow!("no complete HTTP response"))??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP head")?;
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(HttpReply {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// `GET path` with `Host: addr` and extra headers, `Connection: close`.
pub async fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<HttpReply> {
    http_method(addr, "GET", path, headers).await
}

/// `METHOD path` with `Host: addr` (unless given) and extra headers, `Connection: close`.
pub async fn http_method(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<HttpReply> {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    http(addr, &req).await
}
