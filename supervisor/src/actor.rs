//! The actor: the one task that owns the supervisor's mutable state (its handle is in
//! [`crate::handle`]).
//!
//! It owns the [`Machine`], the child and link resources of the current generation, the pending
//! RPC calls, the event normalizer, the child-output log, the journal and the tracing spans
//! (`supervisor` ⊃ `child{generation,pid}` ⊃ `link{conn}` ⊃ `run{run_id}`). It turns IO into
//! [`Input`]s and [`Effect`]s into IO, and it is the only place that sleeps (until the machine's
//! next deadline or the next RPC timeout). Requests arrive on a bounded channel with a `oneshot`
//! reply; IO completions come back on a second channel; events go out on a broadcast channel
//! that never blocks the actor (a lagging subscriber loses the oldest events and is told so).
//! There are no cycles: the handle holds senders only, IO tasks hold only the completion sender.
//! It must never make a lifecycle decision itself — that is the machine's job — and never
//! hold a lock across an await.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::wall_ms;
use crate::events::DiagnosticCode;

use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{field, info_span, Instrument, Span};

use tether_protocol::events::{names, Shutdown};
use tether_protocol::methods::{self, ChatHistory};
use tether_protocol::{ErrorShape, Frame, Request};

use crate::attach::{self, ProbeContext};
use crate::connector::{Connector, Inbound, Link, Outbound};
use crate::events::{Diagnostic, ServerSummary, SupervisorEvent};
use crate::handle::{CallError, HandleRequest, Metrics, Snapshot, SupervisorHandle};
use crate::journal::Journal;
use crate::launcher::{ChildControl, ChildEvent, LaunchError, Launched, Launcher};
use crate::ledger::{self, Ledger};
use crate::machine::{Command, Counters, Effect, Input, LinkInfo, Machine, MachineConfig, Outcome};
use crate::metrics::LatencyWindow;
use crate::normalize::Normalizer;
use crate::output::{Fed, OutputLog, Stream};
use crate::rpc::Pending;

/// Capacity of the request channel.
const REQUESTS: usize = 64;
/// Capacity of the event broadcast.
pub const EVENT_BUFFER: usize = 8192;

/// Everything the actor needs besides its seams.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// The machine's tunables.
    pub machine: MachineConfig,
    /// Pre-spawn probe; `None` skips it (tests).
    pub probe: Option<ProbeContext>,
    /// The ownership ledger; `None` keeps none (tests).
    pub ledger: Option<Ledger>,
    /// Hash of the token, for the ledger.
    pub token_hash: String,
    /// Strings to redact from child output (the token).
    pub secrets: Vec<String>,
    /// Default per-call timeout.
    pub call_timeout: Duration,
    /// Start the gateway as soon as the actor runs.
    pub auto_start: bool,
    /// Shown in diagnostics.
    pub state_dir: Option<PathBuf>,
}

impl SupervisorConfig {
    /// A configuration around machine tunables, with no probe and no ledger.
    pub fn new(machine: MachineConfig) -> Self {
        SupervisorConfig {
            machine,
            probe: None,
            ledger: None,
            token_hash: String::new(),
            secrets: Vec::new(),
            call_timeout: Duration::from_secs(30),
            auto_start: false,
            state_dir: None,
        }
    }
}

/// The two IO seams.
#[derive(Clone)]
pub struct Deps {
    /// Starts children.
    pub launcher: Arc<dyn Launcher>,
    /// Opens links.
    pub connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

enum ReplyTo {
    Caller(oneshot::Sender<Result<Value, CallError>>),
    Reconcile { session: String, cut: bool },
    Note(&'static str),
}

enum Io {
    Probed(u64, attach::Probed),
    Spawned(u64, Result<Launched, LaunchError>),
    Connected(u64, Box<Result<Link, crate::machine::ConnectError>>),
}

struct ChildSlot {
    gen: u64,
    control: Box<dyn ChildControl>,
    events: mpsc::Receiver<ChildEvent>,
}

struct LinkSlot {
    conn: u64,
    outbound: mpsc::Sender<Outbound>,
    inbound: mpsc::Receiver<Inbound>,
}

struct Actor {
    cfg: SupervisorConfig,
    /// Every task the actor starts (IO, the ledger's writer): waited for when it ends.
    tasks: TaskTracker,
    /// Tells the IO tasks that may be dropped midway (probe, connect) to stop.
    cancel: CancellationToken,
    /// The ledger's writer, when there is a ledger.
    ledger: Option<ledger::Writer>,
    deps: Deps,
    machine: Machine,
    child: Option<ChildSlot>,
    link: Option<LinkSlot>,
    pending: Pending<ReplyTo>,
    latency: LatencyWindow,
    normalizer: Normalizer,
    output: OutputLog,
    journal: Journal,
    events: broadcast::Sender<SupervisorEvent>,
    io_tx: mpsc::Sender<Io>,
    stop_waiters: Vec<oneshot::Sender<Outcome>>,
    shutdown: Option<oneshot::Sender<()>>,
    next_id: u64,
    spans: Spans,
}

/// The tracing spans of the actor's work (DESIGN §5): `supervisor{gateway}` ⊃
/// `child{generation, pid}` ⊃ `link{conn}` ⊃ `run{run_id, session}`. IO tasks are instrumented
/// with the span of their generation or connection; the actor enters the current one while it
/// handles that child's or link's input, so every log line says which process, which connection
/// and which run it is about.
struct Spans {
    root: Span,
    child: Span,
    link: Span,
    runs: HashMap<String, Span>,
}

impl Spans {
    fn new(gateway: &str) -> Self {
        let root = info_span!("supervisor", gateway = %gateway);
        Spans {
            child: root.clone(),
            link: root.clone(),
            root,
            runs: HashMap::new(),
        }
    }

    fn new_child(&mut self, gen: u64) {
        self.child = info_span!(parent: &self.root, "child", generation = gen, pid = field::Empty);
        self.link = self.child.clone();
    }

    fn new_link(&mut self, conn: u64) {
        self.link = info_span!(parent: &self.child, "link", conn = conn);
    }

    /// The span of a run, created under the current link on its first event; forgotten when
    /// the run ends.
    fn run(&mut self, run_id: &str, session: Option<&str>, ended: bool) -> Span {
        let span = match self.runs.get(run_id) {
            Some(s) => s.clone(),
            None => {
                let s =
                    info_span!(parent: &self.link, "run", run_id = %run_id, session = field::Empty);
                if let Some(k) = session {
                    s.record("session", k);
                }
                tracing::debug!(parent: &s, "run seen");
                self.runs.insert(run_id.to_owned(), s.clone());
                s
            }
        };
        if ended {
            self.runs.remove(run_id);
        }
        span
    }
}

/// Starts the supervisor actor.
pub fn spawn(config: SupervisorConfig, deps: Deps) -> (SupervisorHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(REQUESTS);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let (io_tx, io_rx) = mpsc::channel(16);
    let auto_start = config.auto_start;
    let config_label = config.machine.gateway_label.clone();
    let tasks = TaskTracker::new();
    let ledger = config
        .ledger
        .clone()
        .map(|l| ledger::Writer::spawn(l, &tasks));
    let actor = Actor {
        tasks,
        cancel: CancellationToken::new(),
        ledger,
        machine: Machine::new(config.machine.clone()),
        output: OutputLog::new(config.secrets.clone()),
        cfg: config,
        deps,
        child: None,
        link: None,
        pending: Pending::default(),
        latency: LatencyWindow::default(),
        normalizer: Normalizer::new(),
        journal: Journal::new(),
        events: events.clone(),
        io_tx,
        stop_waiters: Vec::new(),
        shutdown: None,
        next_id: 0,
        spans: Spans::new(&config_label),
    };
    let handle = SupervisorHandle::new(tx, events);
    let root = actor.spans.root.clone();
    let join = tokio::spawn(actor.run(rx, io_rx, auto_start).instrument(root));
    (handle, join)
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<HandleRequest>,
        mut io_rx: mpsc::Receiver<Io>,
        auto_start: bool,
    ) {
        if auto_start {
            let fx = self.machine.step(Input::Command(Command::Start), now());
            self.apply(fx, None);
        }
        let mut handles_gone = false;
        // One timer, re-armed only when the deadline moves: events on the hot path do not touch
        // the timer wheel.
        let far = tokio::time::Instant::now() + Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far);
        tokio::pin!(sleep);
        let mut armed: Option<std::time::Instant> = None;
        loop {
            let deadline = match (self.machine.next_deadline(), self.pending.next_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if deadline != armed {
                armed = deadline;
                sleep
                    .as_mut()
                    .reset(deadline.map_or(far, tokio::time::Instant::from_std));
            }
            tokio::select! {
                req = rx.recv(), if !handles_gone => match req {
                    Some(r) => self.request(r),
                    None => {
                        handles_gone = true;
                        self.begin_shutdown(None);
                    }
                },
                Some(io) = io_rx.recv() => self.io(io),
                ev = recv_child(&mut self.child) => self.child_event(ev),
                inb = recv_link(&mut self.link) => {
                    self.inbound(inb);
                    // Drain what is already queued before going back to select.
                    for _ in 0..256 {
                        let Some(l) = self.link.as_mut() else { break };
                        let conn = l.conn;
                        match l.inbound.try_recv() {
                            Ok(i) => self.inbound(Some((conn, i))),
                            Err(_) => break,
                        }
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    sleep.as_mut().reset(far);
                    let t = now();
                    for (method, reply) in self.pending.expired(t) {
                        self.fail_call(reply, CallError::Timeout(method));
                    }
                    let _entered = self.spans.link.clone().entered();
                    let fx = self.machine.step(Input::Tick, t);
                    self.apply(fx, None);
                }
            }
            if (self.shutdown.is_some() || handles_gone)
                && self.machine.phase() == crate::events::PhaseName::Stopped
                && self.child.is_none()
            {
                break;
            }
        }
        drop((rx, io_rx));
        self.finish().await;
    }

    /// Tell, then drain: the IO tasks that may stop midway are cancelled, a launch in flight
    /// completes and its child is dropped (killed) with the closed channel, and the ledger's
    /// writer carries out what it was sent — all within the quit budget. Then the caller of
    /// `shutdown` is answered.
    async fn finish(mut self) {
        self.cancel.cancel();
        self.ledger = None;
        self.tasks.close();
        let budget = self.cfg.machine.quit_budget;
        if tokio::time::timeout(budget, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.len(),
                "IO tasks still running after the quit budget"
            );
        }
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }

    fn begin_shutdown(&mut self, reply: Option<oneshot::Sender<()>>) {
        let fx = self.machine.step(Input::Command(Command::Stop), now());
        self.apply(fx, None);
        if let Some(r) = reply {
            self.shutdown = Some(r);
        } else if self.shutdown.is_none() {
            let (tx, _rx) = oneshot::channel();
            self.shutdown = Some(tx);
        }
    }

    /// Wall-clock epoch ms of the current phase's start.
    fn phase_since_ms(&self) -> u64 {
        let Some(entered) = self.machine.phase_entered() else {
            return 0;
        };
        let ago = u64::try_from(now().saturating_duration_since(entered).as_millis()).unwrap_or(0);
        wall_ms().saturating_sub(ago)
    }

    fn publish(&mut self, mut ev: SupervisorEvent) {
        if let SupervisorEvent::Status(s) = &mut ev {
            s.since_ms = self.phase_since_ms();
        }
        let span = match &ev {
            SupervisorEvent::Chat(c) => {
                self.spans
                    .run(&c.run_id, Some(&c.session_key), c.state.is_terminal())
            }
            SupervisorEvent::Tool(t) => self.spans.run(&t.run_id, t.session_key.as_deref(), false),
            _ => self.spans.link.clone(),
        };
        let _entered = span.enter();
        match &ev {
            SupervisorEvent::Chat(c) if c.state.is_terminal() => {
                tracing::debug!(state = ?c.state, chars = c.text.len(), "run ended");
            }
            SupervisorEvent::Tool(t) => {
                tracing::debug!(tool = %t.name, call = %t.tool_call_id, status = ?t.status, "tool");
            }
            SupervisorEvent::Status(s) => tracing::info!(
                generation = s.generation,
                phase = ?s.phase,
                pid = ?s.pid,
                port = ?s.port,
                "{}",
                s.reason
            ),
            SupervisorEvent::Governor(g) => {
                tracing::info!(state = ?g.state, in_window = g.restarts_in_window, "governor: {}", g.reason)
            }
            SupervisorEvent::Diagnostic(d) => tracing::debug!(code = %d.code, "{}", d.message),
            _ => {}
        }
        self.journal.record(wall_ms(), &ev);
        let _ = self.events.send(ev);
    }

    fn request(&mut self, r: HandleRequest) {
        match r {
            HandleRequest::Command(c, reply) => {
                let fx = self.machine.step(Input::Command(c), now());
                self.apply(fx, Some(reply));
            }
            HandleRequest::Stop(reply) => {
                self.stop_waiters.push(reply);
                let fx = self.machine.step(Input::Command(Command::Stop), now());
                self.apply(fx, None);
            }
            HandleRequest::Call {
                method,
                params,
                timeout,
                reply,
            } => {
                let timeout = if timeout.is_zero() {
                    self.cfg.call_timeout
                } else {
                    timeout
                };
                self.call(method, params, timeout, ReplyTo::Caller(reply));
            }
            HandleRequest::Status(reply) => {
                let _ = reply.send(self.snapshot());
            }
            HandleRequest::Metrics(reply) => {
                let snap = self.snapshot();
                let counters = self.machine.counters();
                let _ = reply.send(Metrics {
                    pid: snap.status.pid,
                    latency: self.latency.drain(),
                    restarts_total: snap.governor.executed_total,
                    connects_total: counters.connects,
                    spawns_total: counters.spawns,
                });
            }
            HandleRequest::Diagnostics(reply) => {
                let _ = reply.send(self.export());
            }
            HandleRequest::Shutdown(reply) => self.begin_shutdown(Some(reply)),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let t = now();
        let mut status = self.machine.status("", t);
        status.since_ms = self.phase_since_ms();
        Snapshot {
            status,
            governor: self.machine.governor().snapshot(t),
            counters: counters_json(self.machine.counters()),
            backoff_failures: self.machine.backoff_failures(),
            pending_calls: self.pending.len(),
        }
    }

    fn export(&self) -> Value {
        let snap = self.snapshot();
        let output: Vec<_> = self.output.lines().cloned().collect();
        self.journal.export(
            wall_ms(),
            json!({
                "supervisor": {
                    "pid": std::process::id(),
                    "version": env!("CARGO_PKG_VERSION"),
                    "stateDir": self.cfg.state_dir,
                    "gateway": self.cfg.machine.gateway_label,
                },
                "status": snap.status,
                "governor": snap.governor,
                "counters": snap.counters,
                "backoffFailures": snap.backoff_failures,
                "lastExit": snap.status.last_exit,
                "lastOutput": output,
                "lastProblem": self.output.last_problem(),
            }),
        )
    }

    fn call(&mut self, method: String, params: Value, timeout: Duration, reply: ReplyTo) {
        let Some(link) = &self.link else {
            self.fail_call(reply, CallError::NotConnected);
            return;
        };
        self.next_id += 1;
        let id = format!("t{}", self.next_id);
        let frame = Frame::Req(Request::new(id.clone(), method.clone(), params));
        match link.outbound.try_send(Outbound::Text(frame.to_json())) {
            Ok(()) => {
                let sent = now();
                self.pending.insert(id, method, sent, sent + timeout, reply);
            }
            Err(_) => self.fail_call(reply, CallError::Busy),
        }
    }

    fn fail_call(&mut self, reply: ReplyTo, e: CallError) {
        match reply {
            ReplyTo::Caller(tx) => {
                let _ = tx.send(Err(e));
            }
            ReplyTo::Reconcile { session, cut } => {
                let evs = self
                    .normalizer
                    .reconcile(&session, None, cut, "gateway restarted");
                for ev in evs {
                    self.publish(ev);
                }
            }
            ReplyTo::Note(what) => self.publish(SupervisorEvent::Diagnostic(Diagnostic::new(
                DiagnosticCode::CallFailed,
                format!("{what}: {e}"),
            ))),
        }
    }

    fn io(&mut self, io: Io) {
        let span = match &io {
            Io::Connected(..) => self.spans.link.clone(),
            _ => self.spans.child.clone(),
        };
        let _entered = span.entered();
        match io {
            Io::Probed(gen, probed) => {
                if gen == self.machine.generation() {
                    if let Some(pid) = probed.adopt {
                        self.spans.child.record("pid", pid);
                        let launched = self.deps.launcher.adopt(pid);
                        self.child = Some(ChildSlot {
                            gen,
                            control: launched.control,
                            events: launched.events,
                        });
                    }
                }
                let fx = self.machine.step(
                    Input::Probed {
                        gen,
                        found: probed.found,
                    },
                    now(),
                );
                self.apply(fx, None);
            }
            Io::Spawned(gen, result) => {
                let input = match result {
                    Ok(launched) => {
                        let (pid, port) = (launched.pid, launched.port);
                        if gen == self.machine.generation() {
                            if let Some(p) = pid {
                                self.spans.child.record("pid", p);
                            }
                            self.child = Some(ChildSlot {
                                gen,
                                control: launched.control,
                                events: launched.events,
                            });
                            self.record_ledger(pid, port);
                        }
                        // A stale child is dropped here, and its control SIGKILLs its group.
                        Input::Spawned { gen, pid, port }
                    }
                    Err(error) => Input::SpawnFailed {
                        gen,
                        error: error.to_string(),
                    },
                };
                let fx = self.machine.step(input, now());
                self.apply(fx, None);
            }
            Io::Connected(conn, result) => {
                let input = match *result {
                    Ok(link) => {
                        let info = link_info(&link);
                        if conn == self.machine.connection() {
                            self.link = Some(LinkSlot {
                                conn,
                                outbound: link.outbound,
                                inbound: link.inbound,
                            });
                        } else {
                            let _ = link.outbound.try_send(Outbound::Close);
                        }
                        Input::Connected { conn, info }
                    }
                    Err(error) => Input::ConnectFailed { conn, error },
                };
                let fx = self.machine.step(input, now());
                self.apply(fx, None);
            }
        }
    }

    fn record_ledger(&self, pid: Option<u32>, port: Option<u16>) {
        let (Some(l), Some(pid)) = (&self.ledger, pid) else {
            return;
        };
        l.send(ledger::Change::Record {
            pid,
            exe: self.deps.launcher.exe(),
            port,
            token_hash: self.cfg.token_hash.clone(),
            gateway: self.cfg.machine.gateway_label.clone(),
        });
    }

    fn child_event(&mut self, ev: Option<(u64, ChildEvent)>) {
        let _entered = self.spans.child.clone().entered();
        let Some((gen, ev)) = ev else {
            // The child's channel closed without an exit event: treat as gone.
            self.child = None;
            return;
        };
        match ev {
            ChildEvent::Line(stream, line) => {
                if let Fed::Publish(l) = self.output.feed(stream, &line) {
                    let _ = self.events.send(SupervisorEvent::Log(l));
                }
            }
            ChildEvent::Dropped(n) => {
                if let Fed::Publish(l) = self.output.feed(
                    Stream::Stderr,
                    &format!("[tether] {n} output lines dropped while the supervisor was busy"),
                ) {
                    let _ = self.events.send(SupervisorEvent::Log(l));
                }
            }
            ChildEvent::Ready { port } => {
                if let Some(l) = &self.ledger {
                    l.send(ledger::Change::Port(port));
                }
                let fx = self.machine.step(Input::Ready { gen, port }, now());
                self.apply(fx, None);
            }
            ChildEvent::Exited(status) => {
                self.child = None;
                let hints = self.output.take_hints();
                let fx = self
                    .machine
                    .step(Input::Exited { gen, status, hints }, now());
                self.apply(fx, None);
            }
        }
    }

    fn inbound(&mut self, inb: Option<(u64, Inbound)>) {
        let _entered = self.spans.link.clone().entered();
        let Some((conn, inb)) = inb else {
            self.link = None;
            return;
        };
        let t = now();
        match inb {
            Inbound::Frame(Frame::Event(e)) => {
                let input = if e.event == names::SHUTDOWN {
                    let s = e.payload_as::<Shutdown>().ok();
                    Input::Shutdown {
                        conn,
                        restart_expected: s
                            .and_then(|s| s.restart_expected_ms.get())
                            .map(Duration::from_millis),
                    }
                } else {
                    Input::Frame { conn }
                };
                let fx = self.machine.step(input, t);
                self.apply(fx, None);
                for ev in self.normalizer.on_owned_event(e, wall_ms()) {
                    self.publish(ev);
                }
            }
            Inbound::Frame(Frame::Res(r)) => {
                let _ = self.machine.step(Input::Frame { conn }, t);
                if let Some((reply, latency)) = self.pending.take_timed(&r.id, t) {
                    self.latency.record(latency);
                    let result = if r.ok {
                        Ok(r.payload.unwrap_or(Value::Null))
                    } else {
                        Err(CallError::Gateway(r.error.unwrap_or_else(|| {
                            ErrorShape::invalid_request("call failed")
                        })))
                    };
                    match (reply, result) {
                        (ReplyTo::Caller(tx), result) => {
                            let _ = tx.send(result);
                        }
                        (ReplyTo::Reconcile { session, cut }, Ok(v)) => {
                            let history = serde_json::from_value::<ChatHistory>(v).ok();
                            let evs = self.normalizer.reconcile(
                                &session,
                                history.as_ref(),
                                cut,
                                "gateway restarted",
                            );
                            for ev in evs {
                                self.publish(ev);
                            }
                        }
                        (reply, Err(e)) => self.fail_call(reply, e),
                        (ReplyTo::Note(_), Ok(_)) => {}
                    }
                }
            }
            Inbound::Chat(c) => {
                let fx = self.machine.step(Input::Frame { conn }, t);
                self.apply(fx, None);
                if let Some(ev) = self.normalizer.on_chat_event(*c) {
                    self.publish(ev);
                }
            }
            Inbound::Frame(Frame::Req(_)) => {}
            Inbound::Unreadable { id, reason } => {
                let fx = self.machine.step(Input::Frame { conn }, t);
                self.apply(fx, None);
                let call = id
                    .as_deref()
                    .and_then(|id| self.pending.take_with_method(id));
                let what = match &call {
                    Some((method, _)) => format!("the answer to {method}"),
                    None => "a frame".to_owned(),
                };
                self.publish(SupervisorEvent::Diagnostic(Diagnostic::new(
                    DiagnosticCode::UnreadableFrame,
                    format!("{what} from the gateway could not be read and was dropped: {reason}"),
                )));
                if let Some((method, reply)) = call {
                    self.fail_call(reply, CallError::Unreadable(method, reason));
                }
            }
            Inbound::Pong => {
                let fx = self.machine.step(Input::Pong { conn }, t);
                self.apply(fx, None);
            }
            Inbound::Closed { code, reason } => {
                self.link = None;
                self.fail_pending();
                let fx = self
                    .machine
                    .step(Input::LinkClosed { conn, code, reason }, t);
                self.apply(fx, None);
            }
        }
    }

    fn fail_pending(&mut self) {
        for (method, reply) in self.pending.drain() {
            self.fail_call(reply, CallError::Disconnected(method));
        }
    }

    fn apply(&mut self, fx: Vec<Effect>, mut reply: Option<oneshot::Sender<Outcome>>) {
        for e in fx {
            match e {
                Effect::Reply(o) => {
                    if let Some(r) = reply.take() {
                        let _ = r.send(o);
                    }
                }
                Effect::Probe { gen } => {
                    self.spans.new_child(gen);
                    let io = self.io_tx.clone();
                    let ctx = self.cfg.probe.clone();
                    let span = self.spans.child.clone();
                    let cancel = self.cancel.clone();
                    self.tasks.spawn(
                        async move {
                            let probe = async {
                                match ctx {
                                    Some(ctx) => attach::probe(&ctx).await,
                                    None => attach::Probed {
                                        found: None,
                                        adopt: None,
                                    },
                                }
                            };
                            if let Some(probed) = cancel.run_until_cancelled(probe).await {
                                let _ = io.send(Io::Probed(gen, probed)).await;
                            }
                        }
                        .instrument(span),
                    );
                }
                Effect::Spawn { gen } => {
                    self.spans.new_child(gen);
                    let io = self.io_tx.clone();
                    let fut = self.deps.launcher.launch();
                    // Never cancelled: a launch dropped midway could leave a process behind. Its
                    // result comes back, or is dropped with the channel (killing the child).
                    self.tasks.spawn(
                        async move {
                            let _ = io.send(Io::Spawned(gen, fut.await)).await;
                        }
                        .instrument(self.spans.child.clone()),
                    );
                }
                Effect::Connect { conn, port } => {
                    self.spans.new_link(conn);
                    let io = self.io_tx.clone();
                    let fut = self.deps.connector.connect(port);
                    let cancel = self.cancel.clone();
                    self.tasks.spawn(
                        async move {
                            if let Some(link) = cancel.run_until_cancelled(fut).await {
                                let _ = io.send(Io::Connected(conn, Box::new(link))).await;
                            }
                        }
                        .instrument(self.spans.link.clone()),
                    );
                }
                Effect::CloseLink => {
                    if let Some(l) = self.link.take() {
                        let _ = l.outbound.try_send(Outbound::Close);
                    }
                    self.fail_pending();
                }
                Effect::Signal { gen, sig } => {
                    if let Some(c) = self.child.as_ref().filter(|c| c.gen == gen) {
                        if let Err(e) = c.control.signal(sig) {
                            self.publish(SupervisorEvent::Diagnostic(Diagnostic::new(
                                DiagnosticCode::SignalFailed,
                                format!("could not send {sig:?}: {e}"),
                            )));
                        }
                    }
                }
                Effect::Ping => {
                    if let Some(l) = &self.link {
                        let _ = l.outbound.try_send(Outbound::Ping);
                    }
                }
                Effect::RequestRestart => {
                    self.call(
                        methods::names::GATEWAY_RESTART_REQUEST.into(),
                        json!({"reason": "tether reload"}),
                        self.cfg.call_timeout,
                        ReplyTo::Note("gateway.restart.request"),
                    );
                }
                Effect::Reconcile { boot_changed } => {
                    for session in self.normalizer.open_sessions() {
                        self.call(
                            methods::names::CHAT_HISTORY.into(),
                            json!({"sessionKey": session, "limit": 20}),
                            self.cfg.call_timeout.min(Duration::from_secs(10)),
                            ReplyTo::Reconcile {
                                session: session.clone(),
                                cut: boot_changed,
                            },
                        );
                    }
                }
                Effect::InterruptRuns { reason } => {
                    for ev in self.normalizer.interrupt_all(&reason) {
                        self.publish(ev);
                    }
                }
                Effect::Forget { gen: _ } => {
                    if let Some(l) = &self.ledger {
                        l.send(ledger::Change::Clear);
                    }
                }
                Effect::Emit(ev) => self.publish(ev),
                Effect::Stopped => {
                    for w in self.stop_waiters.drain(..) {
                        let _ = w.send(Outcome::Accepted("stopped".into()));
                    }
                    if let Some(l) = &self.ledger {
                        l.send(ledger::Change::Clear);
                    }
                    // A stopped supervisor keeps no child: a straggler (quit budget exceeded) is
                    // SIGKILLed by dropping its control.
                    self.child = None;
                }
            }
        }
    }
}

fn counters_json(c: Counters) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

/// The `hello-ok` summary the machine and status events use.
pub fn link_info(link: &Link) -> LinkInfo {
    let h = &link.hello;
    LinkInfo {
        server: ServerSummary {
            version: h.server.version.clone(),
            protocol: h.protocol,
            boot_id: h.server.boot_id.clone(),
            tick_interval_ms: h.policy.tick_interval_ms,
            main_session_key: h
                .snapshot
                .session_defaults
                .as_ref()
                .map(|s| s.main_session_key.clone()),
            restart_rpc: h
                .features
                .has_method(methods::names::GATEWAY_RESTART_REQUEST),
        },
    }
}

async fn recv_child(child: &mut Option<ChildSlot>) -> Option<(u64, ChildEvent)> {
    match child {
        Some(c) => {
            let gen = c.gen;
            c.events.recv().await.map(|e| (gen, e))
        }
        None => std::future::pending().await,
    }
}

async fn recv_link(link: &mut Option<LinkSlot>) -> Option<(u64, Inbound)> {
    match link {
        Some(l) => {
            let conn = l.conn;
            l.inbound.recv().await.map(|i| (conn, i))
        }
        None => std::future::pending().await,
    }
}
