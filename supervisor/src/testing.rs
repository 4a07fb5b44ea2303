//! Fakes of the two seams, for actor tests with paused time (feature `testing`).
//!
//! It owns a scripted [`World`]: a [`FakeLauncher`] whose children exist only as channels (they
//! "exit" when the test says so, or when signalled the way a real gateway would react), and a
//! [`FakeConnector`] whose links answer requests and pings from a script, can go silent
//! (wedged), and let the test inject gateway frames or closes. No process, socket or real clock
//! is involved, so `#[tokio::test(start_paused = true)]` drives hours of backoff in
//! milliseconds. It must never be used outside tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use tether_protocol::connect::HelloOk;
use tether_protocol::{ErrorShape, Event, Frame, Response};

use crate::connector::{Connector, Inbound, Link, Outbound};
use crate::launcher::{ChildControl, ChildEvent, LaunchError, Launched, Launcher};
use crate::machine::{ConnectError, Sig};
use crate::policy::exit::ExitStatus;

/// How the next launch goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchScript {
    /// A child that prints its ready line on this port.
    Ready(u16),
    /// A child that exits at once with this code.
    ExitAtOnce(i32),
    /// The spawn itself fails.
    Fail(String),
}

/// How the next connection goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectScript {
    /// `hello-ok` with this tick interval (ms).
    Hello {
        /// `policy.tickIntervalMs`.
        tick_ms: u64,
        /// `server.bootId`.
        boot_id: String,
    },
    /// Like `Hello`, but the handshake takes this long.
    SlowHello {
        /// Handshake time, ms.
        delay_ms: u64,
        /// `policy.tickIntervalMs`.
        tick_ms: u64,
    },
    /// `UNAVAILABLE` (gateway starting).
    Unavailable,
    /// Refused at the TCP level.
    Refused,
    /// `connect` rejected with this error.
    Reject(ErrorShape),
}

#[derive(Debug, Default)]
struct State {
    launches: VecDeque<LaunchScript>,
    default_launch: Option<LaunchScript>,
    connects: VecDeque<ConnectScript>,
    default_connect: Option<ConnectScript>,
    children: Vec<FakeChild>,
    links: Vec<FakeLink>,
    wedged: bool,
    ignore_term: bool,
    connect_attempts: usize,
    methods: Vec<String>,
}

#[derive(Debug)]
struct FakeChild {
    tx: mpsc::Sender<ChildEvent>,
    signals: Vec<Sig>,
    exited: bool,
}

#[derive(Debug)]
struct FakeLink {
    inject: mpsc::Sender<Inbound>,
    requests: Vec<String>,
    pings: u32,
}

/// The scripted world shared by the fakes and the test.
#[derive(Debug, Clone, Default)]
pub struct World {
    state: Arc<Mutex<State>>,
}

impl World {
    /// An empty world: every launch is `Ready(4000)`, every connect a `Hello` with 1 s ticks.
    pub fn new() -> Self {
        let w = World::default();
        {
            let mut s = w.lock();
            s.default_launch = Some(LaunchScript::Ready(4000));
            s.default_connect = Some(ConnectScript::Hello {
                tick_ms: 1000,
                boot_id: "boot".into(),
            });
        }
        w
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues launch behaviours (then the default applies).
    pub fn script_launches(&self, l: impl IntoIterator<Item = LaunchScript>) {
        self.lock().launches.extend(l);
    }

    /// The behaviour once the queue is empty.
    pub fn default_launch(&self, l: LaunchScript) {
        self.lock().default_launch = Some(l);
    }

    /// Queues connect behaviours.
    pub fn script_connects(&self, c: impl IntoIterator<Item = ConnectScript>) {
        self.lock().connects.extend(c);
    }

    /// The behaviour once the queue is empty.
    pub fn default_connect(&self, c: ConnectScript) {
        self.lock().default_connect = Some(c);
    }

    /// Methods advertised in `hello-ok`.
    pub fn advertise(&self, methods: &[&str]) {
        self.lock().methods = methods.iter().map(|m| m.to_string()).collect();
    }

    /// Links stop answering pings (a wedged gateway).
    pub fn set_wedged(&self, wedged: bool) {
        self.lock().wedged = wedged;
    }

    /// Children ignore SIGTERM (only SIGKILL ends them).
    pub fn set_ignore_term(&self, ignore: bool) {
        self.lock().ignore_term = ignore;
    }

    /// How many children were launched.
    pub fn launches(&self) -> usize {
        self.lock().children.len()
    }

    /// Signals sent to child `n` (0-based).
    pub fn signals(&self, n: usize) -> Vec<Sig> {
        self.lock()
            .children
            .get(n)
            .map(|c| c.signals.clone())
            .unwrap_or_default()
    }

    /// How many connections were attempted.
    pub fn connect_attempts(&self) -> usize {
        self.lock().connect_attempts
    }

    /// How many links were opened.
    pub fn links(&self) -> usize {
        self.lock().links.len()
    }

    /// Methods requested on link `n`.
    pub fn requests(&self, n: usize) -> Vec<String> {
        self.lock()
            .links
            .get(n)
            .map(|l| l.requests.clone())
            .unwrap_or_default()
    }

    /// Makes child `n` exit.
    pub fn exit(&self, n: usize, status: ExitStatus) {
        let mut s = self.lock();
        if let Some(c) = s.children.get_mut(n) {
            c.exited = true;
            let _ = c.tx.try_send(ChildEvent::Exited(status));
        }
    }

    /// Makes child `n` print a ready line again (after an in-process restart).
    pub fn ready_again(&self, n: usize, port: u16) {
        if let Some(c) = self.lock().children.get(n) {
            let _ = c.tx.try_send(ChildEvent::Ready { port });
        }
    }

    /// Sends a gateway event on link `n`.
    pub fn event(&self, n: usize, name: &str, payload: Value) {
        if let Some(l) = self.lock().links.get(n) {
            let _ = l
                .inject
                .try_send(Inbound::Frame(Frame::Event(Event::new(name, payload))));
        }
    }

    /// Closes link `n` from the gateway side.
    pub fn close(&self, n: usize, code: u16, reason: &str) {
        if let Some(l) = self.lock().links.get(n) {
            let _ = l.inject.try_send(Inbound::Closed {
                code: Some(code),
                reason: reason.into(),
            });
        }
    }

    /// The seams over this world.
    pub fn deps(&self) -> crate::Deps {
        crate::Deps {
            launcher: Arc::new(FakeLauncher {
                world: self.clone(),
            }),
            connector: Arc::new(FakeConnector {
                world: self.clone(),
            }),
        }
    }
}

/// The fake launcher.
#[derive(Debug, Clone)]
pub struct FakeLauncher {
    world: World,
}

#[derive(Debug)]
struct FakeControl {
    world: World,
    index: usize,
}

impl ChildControl for FakeControl {
    fn signal(&self, sig: Sig) -> std::io::Result<()> {
        let mut s = self.world.lock();
        let ignore_term = s.ignore_term;
        let Some(c) = s.children.get_mut(self.index) else {
            return Ok(());
        };
        c.signals.push(sig);
        if c.exited {
            return Ok(());
        }
        let status = match sig {
            Sig::Kill => Some(ExitStatus::signal(9)),
            Sig::Term if !ignore_term => Some(ExitStatus::code(0)),
            _ => None,
        };
        if let Some(st) = status {
            c.exited = true;
            let _ = c.tx.try_send(ChildEvent::Exited(st));
        }
        Ok(())
    }
}

impl Launcher for FakeLauncher {
    fn launch(&self) -> BoxFuture<'static, Result<Launched, LaunchError>> {
        let world = self.world.clone();
        Box::pin(async move {
            let mut s = world.lock();
            let script = s
                .launches
                .pop_front()
                .or_else(|| s.default_launch.clone())
                .unwrap_or(LaunchScript::Ready(4000));
            if let LaunchScript::Fail(e) = script {
                return Err(LaunchError::Other(e));
            }
            let (tx, events) = mpsc::channel(64);
            let index = s.children.len();
            let mut exited = false;
            match script {
                LaunchScript::Ready(port) => {
                    let _ = tx.try_send(ChildEvent::Ready { port });
                }
                LaunchScript::ExitAtOnce(code) => {
                    exited = true;
                    let _ = tx.try_send(ChildEvent::Exited(ExitStatus::code(code)));
                }
                LaunchScript::Fail(_) => {}
            }
            s.children.push(FakeChild {
                tx,
                signals: Vec::new(),
                exited,
            });
            drop(s);
            Ok(Launched {
                pid: Some(1000 + u32::try_from(index).unwrap_or(0)),
                port: None,
                control: Box::new(FakeControl {
                    world: world.clone(),
                    index,
                }),
                events,
            })
        })
    }

    fn adopt(&self, pid: u32) -> Launched {
        let (_tx, events) = mpsc::channel(1);
        Launched {
            pid: Some(pid),
            port: None,
            control: Box::new(FakeControl {
                world: self.world.clone(),
                index: usize::MAX,
            }),
            events,
        }
    }
}

/// The fake connector.
#[derive(Debug, Clone)]
pub struct FakeConnector {
    world: World,
}

/// A `hello-ok` for tests.
pub fn hello(tick_ms: u64, boot_id: &str, methods: &[String]) -> HelloOk {
    serde_json::from_value(json!({
        "type": "hello-ok",
        "protocol": 4,
        "server": {"version": "fake-1", "connId": "c", "bootId": boot_id},
        "features": {"methods": methods, "events": ["chat", "agent", "tick", "shutdown"]},
        "snapshot": {"presence": [], "health": {}, "stateVersion": {"presence": 0, "health": 0}, "uptimeMs": 0,
                      "sessionDefaults": {"mainSessionKey": "agent:main:main"}},
        "auth": {"role": "operator", "scopes": ["operator.admin"]},
        "policy": {"maxPayload": 1, "maxBufferedBytes": 1, "tickIntervalMs": tick_ms}
    }))
    .unwrap_or_else(|e| panic!("test hello-ok: {e}"))
}

impl Connector for FakeConnector {
    fn connect(&self, _port: u16) -> BoxFuture<'static, Result<Link, ConnectError>> {
        let world = self.world.clone();
        Box::pin(async move {
            let (script, methods) = {
                let mut s = world.lock();
                s.connect_attempts += 1;
                let script = s.connects.pop_front().or_else(|| s.default_connect.clone());
                (script, s.methods.clone())
            };
            let (tick_ms, boot_id) = match script {
                Some(ConnectScript::Hello { tick_ms, boot_id }) => (tick_ms, boot_id),
                Some(ConnectScript::SlowHello { delay_ms, tick_ms }) => {
                    tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                    (tick_ms, "slow".to_string())
                }
                Some(ConnectScript::Unavailable) => {
                    return Err(ConnectError::Unavailable { retry_after: None })
                }
                Some(ConnectScript::Refused) | None => {
                    return Err(ConnectError::Transport("connection refused".into()))
                }
                Some(ConnectScript::Reject(e)) => return Err(ConnectError::Rejected(e)),
            };
            let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(64);
            let (in_tx, in_rx) = mpsc::channel::<Inbound>(64);
            let index = {
                let mut s = world.lock();
                s.links.push(FakeLink {
                    inject: in_tx.clone(),
                    requests: Vec::new(),
                    pings: 0,
                });
                s.links.len() - 1
            };
            let w = world.clone();
            tokio::spawn(async move {
                while let Some(out) = out_rx.recv().await {
                    match out {
                        Outbound::Text(t) => {
                            let Ok(Frame::Req(r)) = Frame::parse(&t) else {
                                continue;
                            };
                            let wedged = {
                                let mut s = w.lock();
                                if let Some(l) = s.links.get_mut(index) {
                                    l.requests.push(r.method.clone());
                                }
                                s.wedged
                            };
                            if wedged {
                                continue;
                            }
                            let payload = match r.method.as_str() {
                                "chat.history" => {
                                    json!({"sessionKey": "agent:main:main", "messages": []})
                                }
                                _ => json!({"ok": true}),
                            };
                            let _ = in_tx
                                .send(Inbound::Frame(Frame::Res(Response::ok(r.id, payload))))
                                .await;
                        }
                        Outbound::Ping => {
                            let wedged = {
                                let mut s = w.lock();
                                if let Some(l) = s.links.get_mut(index) {
                                    l.pings += 1;
                                }
                                s.wedged
                            };
                            if !wedged {
                                let _ = in_tx.send(Inbound::Pong).await;
                            }
                        }
                        Outbound::Close => {
                            let _ = in_tx
                                .send(Inbound::Closed {
                                    code: Some(1000),
                                    reason: "closed by Tether".into(),
                                })
                                .await;
                            break;
                        }
                    }
                }
            });
            Ok(Link {
                hello: hello(tick_ms, &boot_id, &methods),
                outbound: out_tx,
                inbound: in_rx,
            })
        })
    }
}
