//! The scripted HTTP server behind the mock model providers ([`crate::mock_openai`] and
//! [`crate::mock_anthropic`]).
//!
//! It owns a real HTTP/1 listener on `127.0.0.1:0`, a FIFO script of replies (each request pops
//! one; an empty script answers with the default reply), a log of every request, and the
//! bookkeeping tests wait on: how many requests arrived, how many streams the client abandoned.
//! The wire format of each provider lives in its own module; this one only turns a list of
//! [`Step`]s into a response. It must never sleep to synchronize a test: pacing is either an
//! explicit [`Reply::Slow`] delay (a behaviour under test) or a semaphore the test controls.
//! Non-`POST` requests (model listings: `GET /v1/models`, `GET /api/tags`) get a fixed listing
//! naming `mock-local` and never consume the script, so reachability and local-server probes
//! can point at a mock.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify, Semaphore};

/// A tool call the mock model makes.
#[derive(Debug, Clone, PartialEq)]
pub struct MockToolCall {
    /// Tool call id (`call_...` / `toolu_...`).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments (streamed as JSON text in two pieces).
    pub arguments: Value,
}

impl MockToolCall {
    /// A tool call.
    pub fn new(id: &str, name: &str, arguments: Value) -> Self {
        MockToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

/// What the mock answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Streamed text, one SSE event per chunk.
    Text(Vec<String>),
    /// Streamed tool calls (no text).
    ToolCalls(Vec<MockToolCall>),
    /// Text chunks, then tool calls, in one response.
    TextThenTools(Vec<String>, Vec<MockToolCall>),
    /// An HTTP error: status, JSON body and an optional `Retry-After` header value.
    Error {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: Value,
        /// `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// Text chunks, then the stream stays open (keepalive comments only) until the client
    /// goes away; that counts as a cancelled stream.
    Stall(Vec<String>),
    /// Text chunks with a delay before each.
    Slow(Vec<String>, Duration),
    /// Text chunks, each sent only after the test adds a permit to the semaphore.
    Paced(Vec<String>, Arc<Semaphore>),
    /// Accepts the connection and closes it without a response (a connection error).
    Hangup,
}

impl Reply {
    /// Text split into word-sized chunks (each keeps its leading space).
    pub fn words(text: &str) -> Reply {
        let mut chunks = Vec::new();
        let mut cur = String::new();
        for (i, w) in text.split(' ').enumerate() {
            if i > 0 {
                chunks.push(std::mem::take(&mut cur));
                cur.push(' ');
            }
            cur.push_str(w);
        }
        chunks.push(cur);
        Reply::Text(chunks.into_iter().filter(|c| !c.is_empty()).collect())
    }

    /// An HTTP error without `Retry-After`.
    pub fn status(status: u16, body: Value) -> Reply {
        Reply::Error {
            status,
            body,
            retry_after: None,
        }
    }
}

/// One step of a scripted response body.
#[derive(Debug, Clone)]
pub enum Step {
    /// Bytes to write.
    Chunk(Bytes),
    /// Wait this long first.
    Delay(Duration),
    /// Take one permit first.
    Permit(Arc<Semaphore>),
    /// Keep the stream open until the client disconnects.
    Stall,
}

/// A fully encoded response.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body, step by step.
    pub steps: Vec<Step>,
    /// Close the connection without answering.
    pub hangup: bool,
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Request path.
    pub path: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `x-api-key` header.
    pub api_key: Option<String>,
    /// JSON body (`Null` when it was not JSON).
    pub body: Value,
}

type Encoder = Arc<dyn Fn(&Reply, &Value) -> Scripted + Send + Sync>;

struct Inner {
    script: Mutex<VecDeque<Reply>>,
    /// Scripts for requests whose body mentions a key, checked before the shared script.
    keyed: Mutex<Vec<(String, VecDeque<Reply>)>>,
    default: Mutex<Reply>,
    requests: Mutex<Vec<Recorded>>,
    chunk_times: Mutex<Vec<Instant>>,
    cancelled: AtomicUsize,
    changed: Notify,
    encode: Encoder,
}

/// A running scripted provider. The listener task ends when the runtime shuts down.
#[derive(Clone)]
pub struct MockServer {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockServer {
    /// Binds `127.0.0.1:0` and serves requests, encoding replies with `encode`.
    pub async fn start(encode: Encoder) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            script: Mutex::new(VecDeque::new()),
            keyed: Mutex::new(Vec::new()),
            default: Mutex::new(Reply::Text(vec!["ok".into()])),
            requests: Mutex::new(Vec::new()),
            chunk_times: Mutex::new(Vec::new()),
            cancelled: AtomicUsize::new(0),
            changed: Notify::new(),
            encode,
        });
        let served = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let inner = served.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let inner = inner.clone();
                        async move { handle(inner, req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(MockServer { addr, inner })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends replies to the script (FIFO).
    pub fn push(&self, reply: Reply) {
        lock(&self.inner.script).push_back(reply);
    }

    /// Appends a reply for the requests whose JSON body mentions `key` anywhere (a session's
    /// prompt, say), so concurrent runs each get their own script whatever order their model
    /// calls arrive in. Such a request takes from its key's script while it lasts, then from
    /// the shared one.
    pub fn push_for(&self, key: &str, reply: Reply) {
        let mut keyed = lock(&self.inner.keyed);
        match keyed.iter_mut().find(|(k, _)| k == key) {
            Some((_, q)) => q.push_back(reply),
            None => keyed.push((key.to_owned(), VecDeque::from([reply]))),
        }
    }

    /// The reply used when the script is empty (initially the text `ok`).
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.inner.default) = reply;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        lock(&self.inner.requests).len()
    }

    /// How many streams the client abandoned before they ended.
    pub fn cancelled(&self) -> usize {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// When each text chunk was handed to the connection, in order (for latency benches).
    pub fn chunk_times(&self) -> Vec<Instant> {
        lock(&self.inner.chunk_times).clone()
    }

    /// Clears the chunk time log.
    pub fn clear_chunk_times(&self) {
        lock(&self.inner.chunk_times).clear();
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_requests(&self, n: usize) {
        self.wait_until(|s| s.request_count() >= n).await;
    }

    /// Waits until at least `n` streams were abandoned by the client.
    pub async fn wait_cancelled(&self, n: usize) {
        self.wait_until(|s| s.cancelled() >= n).await;
    }

    async fn wait_until(&self, cond: impl Fn(&MockServer) -> bool) {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond(self) {
                return;
            }
            notified.await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(
    inner: Arc<Inner>,
    req: Request<Incoming>,
) -> Result<Response<ChannelBody>, std::io::Error> {
    let path = req.uri().path().to_owned();
    if req.method() != hyper::Method::POST {
        // Model listings (reachability and local-server probes) never consume the script.
        let (tx, rx) = mpsc::channel(1);
        let listing = serde_json::json!({
            "object": "list",
            "data": [{"id": "mock-local", "object": "model"}],
            "models": [{"name": "mock-local", "model": "mock-local"}],
        });
        let _ = tx.try_send(Bytes::from(listing.to_string()));
        return Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(ChannelBody { rx })
            .unwrap_or_else(|_| Response::new(ChannelBody::empty())));
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let api_key = header("x-api-key");
    let body = match req.into_body().collect().await {
        Ok(b) => serde_json::from_slice(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let keyed = {
        let mut keyed = lock(&inner.keyed);
        let text = if keyed.is_empty() {
            String::new()
        } else {
            body.to_string()
        };
        keyed
            .iter_mut()
            .find(|(k, q)| !q.is_empty() && text.contains(k.as_str()))
            .and_then(|(_, q)| q.pop_front())
    };
    let reply = keyed
        .or_else(|| lock(&inner.script).pop_front())
        .unwrap_or_else(|| lock(&inner.default).clone());
    let scripted = (inner.encode)(&reply, &body);
    lock(&inner.requests).push(Recorded {
        path,
        authorization,
        api_key,
        body,
    });
    inner.changed.notify_waiters();

    let (tx, rx) = mpsc::channel::<Bytes>(1);
    let mut builder = Response::builder().status(scripted.status);
    for (k, v) in &scripted.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if scripted.hangup {
        // A service error makes hyper drop the connection without answering.
        return Err(std::io::Error::other("scripted hangup"));
    }
    let producer = inner.clone();
    tokio::spawn(async move {
        let mut completed = true;
        for step in scripted.steps {
            match step {
                Step::Chunk(b) => {
                    // Stamped before the hand-off, so a consumer can never see the chunk first.
                    if !b.starts_with(b":") {
                        lock(&producer.chunk_times).push(Instant::now());
                    }
                    if tx.send(b).await.is_err() {
                        completed = false;
                        break;
                    }
                }
                Step::Delay(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = tx.closed() => { completed = false; break; }
                    }
                }
                Step::Permit(sem) => {
                    tokio::select! {
                        p = sem.acquire() => { if let Ok(p) = p { p.forget(); } }
                        _ = tx.closed() => { completed = false; break; }
                    }
                }
                Step::Stall => loop {
                    // Keepalive comments make a dead peer visible to the server promptly.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {
                            if tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                                completed = false;
                                break;
                            }
                        }
                        _ = tx.closed() => { completed = false; break; }
                    }
                },
            }
        }
        if !completed {
            producer.cancelled.fetch_add(1, Ordering::SeqCst);
            producer.changed.notify_waiters();
        }
    });
    Ok(builder
        .body(ChannelBody { rx })
        .unwrap_or_else(|_| Response::new(ChannelBody::empty())))
}

/// A response body fed by a channel; dropping it (client gone) closes the channel.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    fn empty() -> ChannelBody {
        let (_tx, rx) = mpsc::channel(1);
        ChannelBody { rx }
    }
}

impl std::fmt::Debug for ChannelBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelBody")
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Builds the common parts of a scripted SSE response from per-chunk events.
pub(crate) fn sse(status: u16, retry_after: Option<&str>) -> Scripted {
    let mut headers = vec![("content-type".to_owned(), "text/event-stream".to_owned())];
    if let Some(r) = retry_after {
        headers.push(("retry-after".into(), r.into()));
    }
    Scripted {
        status,
        headers,
        steps: Vec::new(),
        hangup: false,
    }
}

/// A JSON error response.
pub(crate) fn json_error(status: u16, body: &Value, retry_after: Option<&str>) -> Scripted {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(r) = retry_after {
        headers.push(("retry-after".into(), r.into()));
    }
    Scripted {
        status,
        headers,
        steps: vec![Step::Chunk(Bytes::from(body.to_string()))],
        hangup: false,
    }
}

/// A connection that closes without an answer.
pub(crate) fn hangup() -> Scripted {
    Scripted {
        status: 200,
        headers: Vec::new(),
        steps: Vec::new(),
        hangup: true,
    }
}

/// Text chunks of a reply and how they are paced: `(chunks, per-chunk pacing step, stall)`.
pub(crate) fn text_plan(reply: &Reply) -> (Vec<String>, Option<Step>, bool) {
    match reply {
        Reply::Text(c) => (c.clone(), None, false),
        Reply::TextThenTools(c, _) => (c.clone(), None, false),
        Reply::Stall(c) => (c.clone(), None, true),
        Reply::Slow(c, d) => (c.clone(), Some(Step::Delay(*d)), false),
        Reply::Paced(c, s) => (c.clone(), Some(Step::Permit(s.clone())), false),
        Reply::ToolCalls(_) | Reply::Error { .. } | Reply::Hangup => (Vec::new(), None, false),
    }
}

/// The tool calls of a reply.
pub(crate) fn tool_plan(reply: &Reply) -> Vec<MockToolCall> {
    match reply {
        Reply::ToolCalls(t) | Reply::TextThenTools(_, t) => t.clone(),
        _ => Vec::new(),
    }
}

/// Splits `s` into two pieces at a char boundary near the middle.
pub(crate) fn halves(s: &str) -> (String, String) {
    let mut mid = s.len() / 2;
    while !s.is_char_boundary(mid) {
        mid += 1;
    }
    (s[..mid].to_owned(), s[mid..].to_owned())
}
