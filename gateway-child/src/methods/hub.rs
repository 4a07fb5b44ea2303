//! The hub: every connection of this run, and the one place events fan out.
//!
//! It owns the registry of authenticated connections (with their scopes, caps, protocol version
//! and `sessions.subscribe` flag), the sockets still in their handshake (so a shutdown reaches
//! them too), the presence table and the cached health summary with their `stateVersion`. It
//! implements [`EventSink`]: an event is shaped and serialized once per protocol version, filtered
//! by audience and scope guard, and **enqueued** on each connection's bounded queue, never written
//! or awaited, so fan-out cost does not depend on how fast any client reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde_json::{json, Value};
use tether_protocol::events::{names, HealthSummary, PresenceEntry, StateVersion};
use tether_protocol::{Event, Frame, Scope};
use tracing::info;

use crate::methods::bus::{Audience, ConnId, EventSink, OutEvent};
use crate::methods::caller::Caller;
use crate::socket::outbound::Outbound;

/// Events this gateway sends (`hello-ok.features.events`): its own, then the agent engine's.
/// Each passes the guard of [`guard_for`]: `chat`/`agent` need `operator.read` on v4,
/// `sessions.changed`/`session.tool` need `operator.read`, approvals need `operator.approvals`.
pub const EVENTS: &[&str] = &[
    names::CONNECT_CHALLENGE,
    names::TICK,
    names::HEALTH,
    names::PRESENCE,
    names::SHUTDOWN,
    names::CONFIG_CHANGED,
    names::CHAT,
    names::AGENT,
    names::SESSIONS_CHANGED,
    names::SESSION_MESSAGE,
    names::SESSION_TOOL,
    names::EXEC_APPROVAL_REQUESTED,
    names::EXEC_APPROVAL_RESOLVED,
];

/// Who may receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Guard {
    /// Everyone authenticated.
    Open,
    /// Holders of a scope.
    Scope(Scope),
    /// Holders of a scope on protocol v4; everyone on v3 (upstream v3 did not guard it).
    ScopeOnV4(Scope),
}

fn guard_for(event: &str) -> Guard {
    match event {
        names::TICK | names::PRESENCE | names::HEALTH | names::SHUTDOWN => Guard::Open,
        names::CHAT | names::AGENT => Guard::ScopeOnV4(Scope::Read),
        names::SESSIONS_CHANGED
        | names::SESSION_MESSAGE
        | names::SESSION_TOOL
        | names::CHAT_SEND_TIMING
        | names::CONFIG_CHANGED => Guard::Scope(Scope::Read),
        e if e.starts_with("exec.approval.") || e.starts_with("plugin.approval.") => {
            Guard::Scope(Scope::Approvals)
        }
        e if e.starts_with("device.pair.") || e.starts_with("node.pair.") => {
            Guard::Scope(Scope::Pairing)
        }
        // Unknown event families are blocked by default.
        _ => Guard::Scope(Scope::Admin),
    }
}

fn passes(guard: &Guard, caller: &Caller) -> bool {
    match guard {
        Guard::Open => true,
        Guard::Scope(s) => s.is_satisfied_by(&caller.scopes),
        Guard::ScopeOnV4(s) => caller.protocol < 4 || s.is_satisfied_by(&caller.scopes),
    }
}

/// How many sessions one connection may follow with `sessions.messages.subscribe`.
pub const MAX_WATCHED: usize = 256;

/// An authenticated connection as the hub sees it.
#[derive(Debug)]
pub struct ConnHandle {
    /// Identity and grants.
    pub caller: Arc<Caller>,
    /// Outbound queue.
    pub out: Arc<Outbound>,
    /// `sessions.subscribe` is on.
    pub subscribed: AtomicBool,
    /// Sessions it follows with `sessions.messages.subscribe` (canonical keys, at most
    /// [`MAX_WATCHED`]).
    pub watched: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Fingerprint of the auth policy it authenticated under.
    pub auth_fingerprint: [u8; 32],
    /// Its presence entry (absent for CLI-mode clients, as upstream).
    pub presence: Option<PresenceEntry>,
}

impl ConnHandle {
    /// Starts or stops following a session (`sessions.messages.subscribe`); beyond
    /// [`MAX_WATCHED`] the oldest-named key gives way.
    pub fn watch(&self, key: &str, on: bool) {
        let mut w = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if on {
            w.insert(key.to_owned());
            while w.len() > MAX_WATCHED {
                w.pop_first();
            }
        } else {
            w.remove(key);
        }
    }

    /// Whether it hears about `key`: it subscribed to all sessions or follows this one.
    pub fn hears_session(&self, key: &str) -> bool {
        self.subscribed.load(Ordering::Relaxed)
            || self
                .watched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(key)
    }
}

#[derive(Debug, Default)]
struct Versions {
    presence: u64,
    health: u64,
}

/// The registry and fan-out point of one run.
#[derive(Debug)]
pub struct Hub {
    conns: RwLock<HashMap<ConnId, Arc<ConnHandle>>>,
    pending: Mutex<HashMap<ConnId, Arc<Outbound>>>,
    presence: Mutex<BTreeMap<ConnId, PresenceEntry>>,
    self_presence: PresenceEntry,
    health: Mutex<Value>,
    versions: Mutex<Versions>,
    next_id: AtomicU64,
}

/// A serialized event body per protocol version (without the final `}`; the queue adds `seq`).
#[derive(Default)]
struct Bodies {
    v3: Option<Option<Arc<str>>>,
    v4: Option<Option<Arc<str>>>,
}

fn body_of(event: &Event) -> Arc<str> {
    let mut s = Frame::Event(event.clone()).to_json();
    s.pop();
    Arc::from(s)
}

impl Hub {
    /// An empty hub. Connection ids start at `id_base + 1`.
    pub fn new(id_base: u64, self_presence: PresenceEntry) -> Arc<Self> {
        Arc::new(Hub {
            conns: RwLock::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            presence: Mutex::new(BTreeMap::new()),
            self_presence,
            health: Mutex::new(json!({})),
            versions: Mutex::new(Versions::default()),
            next_id: AtomicU64::new(id_base),
        })
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Tracks a socket in its handshake.
    pub fn add_pending(&self, id: ConnId, out: Arc<Outbound>) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, out);
    }

    /// Stops tracking a handshake socket.
    pub fn remove_pending(&self, id: ConnId) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Registers an authenticated connection and broadcasts the new presence.
    pub fn register(&self, conn: Arc<ConnHandle>) {
        let id = conn.caller.conn;
        self.remove_pending(id);
        let presence = conn.presence.clone();
        self.conns
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, conn);
        if let Some(entry) = presence {
            self.presence
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, entry);
            self.bump_presence();
        }
    }

    /// Removes a connection (on close) and broadcasts the new presence.
    pub fn unregister(&self, id: ConnId) {
        self.remove_pending(id);
        let removed = self
            .conns
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        let had_presence = self
            .presence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
            .is_some();
        if removed.is_some() && had_presence {
            self.bump_presence();
        }
    }

    fn bump_presence(&self) {
        let sv = {
            let mut v = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
            v.presence += 1;
            StateVersion {
                presence: v.presence,
                health: v.health,
            }
        };
        let payload = json!({ "presence": self.presence_snapshot() });
        self.broadcast(names::PRESENCE, &payload, Some(sv), &Audience::All, true);
    }

    /// A connection by id.
    pub fn get(&self, id: ConnId) -> Option<Arc<ConnHandle>> {
        self.conns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Every authenticated connection.
    pub fn connections(&self) -> Vec<Arc<ConnHandle>> {
        self.conns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Authenticated connections.
    pub fn count(&self) -> usize {
        self.conns
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Sockets still in their handshake.
    pub fn pending_count(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The presence table, the gateway itself first.
    pub fn presence_snapshot(&self) -> Vec<PresenceEntry> {
        let mut out = vec![self.self_presence.clone()];
        out.extend(
            self.presence
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned(),
        );
        out
    }

    /// Current presence and health versions.
    pub fn state_version(&self) -> StateVersion {
        let v = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        StateVersion {
            presence: v.presence,
            health: v.health,
        }
    }

    /// The cached health summary (`{}` before the first refresh).
    pub fn health_snapshot(&self) -> Value {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stores a fresh health summary and broadcasts it.
    pub fn publish_health(&self, summary: &HealthSummary) {
        let summary = serde_json::to_value(summary).unwrap_or_else(|_| json!({"ok": summary.ok}));
        *self.health.lock().unwrap_or_else(PoisonError::into_inner) = summary.clone();
        let sv = {
            let mut v = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
            v.health += 1;
            StateVersion {
                presence: v.presence,
                health: v.health,
            }
        };
        self.broadcast(names::HEALTH, &summary, Some(sv), &Audience::All, true);
    }

    /// Sends an event to one connection (with its next seq).
    pub fn send_to(&self, id: ConnId, event: &str, payload: &Value, sv: Option<StateVersion>) {
        if let Some(conn) = self.get(id) {
            let mut e = Event::new(event, payload.clone());
            e.state_version = sv;
            self.enqueue(&conn, &body_of(&e), false);
        }
    }

    /// Broadcasts a named event whose payload is the same for every protocol version.
    pub fn broadcast(
        &self,
        event: &str,
        payload: &Value,
        sv: Option<StateVersion>,
        audience: &Audience,
        droppable: bool,
    ) {
        self.deliver(event, |_| Some(payload.clone()), sv, audience, droppable);
    }

    fn deliver(
        &self,
        event: &str,
        payload_for: impl Fn(u32) -> Option<Value>,
        sv: Option<StateVersion>,
        audience: &Audience,
        droppable: bool,
    ) {
        let guard = guard_for(event);
        let targets: Vec<Arc<ConnHandle>> = {
            let conns = self.conns.read().unwrap_or_else(PoisonError::into_inner);
            match audience {
                Audience::ToolEventsOf(ids) => ids
                    .iter()
                    .filter_map(|id| conns.get(id))
                    .filter(|c| c.caller.tool_events)
                    .cloned()
                    .collect(),
                Audience::Conn(id) => conns.get(id).into_iter().cloned().collect(),
                _ => conns.values().cloned().collect(),
            }
        };
        let mut bodies = Bodies::default();
        for conn in targets {
            let caller = &conn.caller;
            let wanted = match audience {
                Audience::All | Audience::ToolEventsOf(_) | Audience::Conn(_) => true,
                Audience::SessionSubscribers => conn.subscribed.load(Ordering::Relaxed),
                Audience::Session(key) => conn.hears_session(key),
                Audience::Approvers => Scope::Approvals.is_satisfied_by(&caller.scopes),
            };
            if !wanted || !passes(&guard, caller) {
                continue;
            }
            let slot = if caller.protocol >= 4 {
                &mut bodies.v4
            } else {
                &mut bodies.v3
            };
            let body = slot.get_or_insert_with(|| {
                payload_for(caller.protocol).map(|p| {
                    let mut e = Event::new(event, p);
                    e.state_version = sv;
                    body_of(&e)
                })
            });
            if let Some(body) = body {
                self.enqueue(&conn, body, droppable);
            }
        }
    }

    fn enqueue(&self, conn: &ConnHandle, body: &Arc<str>, droppable: bool) {
        // A slow consumer is logged (once) by its queue.
        let _ = conn.out.push_event(body, droppable);
    }

    /// Closes every connection (authenticated and in handshake) after flushing its queue.
    pub fn close_all(&self, code: u16, reason: &str) {
        for conn in self.connections() {
            conn.out.close(code, reason, true);
        }
        let pending: Vec<Arc<Outbound>> = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for out in pending {
            out.close(code, reason, true);
        }
    }

    /// Closes connections that authenticated under a different auth policy; returns how many.
    pub fn close_stale_auth(&self, fingerprint: &[u8; 32], code: u16, reason: &str) -> usize {
        let mut n = 0;
        for conn in self.connections() {
            if &conn.auth_fingerprint != fingerprint {
                conn.out.close(code, reason, true);
                n += 1;
            }
        }
        if n > 0 {
            info!(
                connections = n,
                "closed connections authenticated with the old secret"
            );
        }
        n
    }
}

impl EventSink for Hub {
    fn emit(&self, event: OutEvent, audience: Audience, droppable: bool) {
        match event {
            OutEvent::Chat(chat) => self.deliver(
                names::CHAT,
                |protocol| {
                    chat.for_protocol(protocol)
                        .and_then(|c| serde_json::to_value(c).ok())
                },
                None,
                &audience,
                droppable,
            ),
            OutEvent::Agent(agent) => {
                let payload = serde_json::to_value(&agent).unwrap_or(Value::Null);
                self.broadcast(names::AGENT, &payload, None, &audience, droppable);
            }
            OutEvent::Named { event, payload } => {
                self.broadcast(event, &payload, None, &audience, droppable);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::caller::ClientLabel;
    use tether_protocol::{ChatEvent, ChatMessage, ChatState, Role};

    fn conn(hub: &Hub, protocol: u32, scopes: Vec<Scope>, tool_events: bool) -> Arc<ConnHandle> {
        let id = hub.next_conn_id();
        let c = Arc::new(ConnHandle {
            caller: Arc::new(Caller {
                conn: id,
                protocol,
                role: Role::Operator,
                scopes,
                caps: vec![],
                tool_events,
                client: ClientLabel::default(),
                ip: "127.0.0.1".parse().unwrap(),
            }),
            out: Outbound::new(1 << 20, 0),
            subscribed: AtomicBool::new(false),
            watched: Default::default(),
            auth_fingerprint: [0; 32],
            presence: None,
        });
        hub.register(c.clone());
        c
    }

    fn drain(c: &ConnHandle) -> u64 {
        c.out.seq()
    }

    #[test]
    fn scope_guards_and_audiences() {
        let hub = Hub::new(0, PresenceEntry::default());
        let v4_none = conn(&hub, 4, vec![], false);
        let v3_none = conn(&hub, 3, vec![], false);
        let v4_read = conn(&hub, 4, vec![Scope::Write], true);
        let approver = conn(&hub, 4, vec![Scope::Approvals], false);
        let admin = conn(&hub, 4, vec![Scope::Admin], false);

        let mut delta = ChatEvent::new("r", "agent:main:main", ChatState::Delta);
        delta.message = Some(ChatMessage::assistant_text("hi", 1));
        hub.emit(OutEvent::Chat(delta), Audience::All, true);
        // v4 needs read (write covers it); v3 is not guarded; admin covers everything.
        assert_eq!(
            [&v4_none, &v3_none, &v4_read, &approver, &admin].map(|c| drain(c)),
            [0, 1, 1, 0, 1]
        );

        let mut status = ChatEvent::new("r", "k", ChatState::Status);
        status.phase = Some("starting_model".into());
        hub.emit(OutEvent::Chat(status), Audience::All, false);
        // v3 clients never see `status`.
        assert_eq!(drain(&v3_none), 1);
        assert_eq!(drain(&v4_read), 2);

        hub.emit(
            OutEvent::Named {
                event: "exec.approval.requested",
                payload: json!({}),
            },
            Audience::Approvers,
            false,
        );
        assert_eq!([&approver, &admin, &v4_read].map(|c| drain(c)), [1, 3, 2]);

        hub.emit(
            OutEvent::Named {
                event: "some.future.event",
                payload: json!({}),
            },
            Audience::All,
            false,
        );
        assert_eq!([&admin, &v4_read].map(|c| drain(c)), [4, 2]);

        let ids = vec![v4_none.caller.conn, v4_read.caller.conn, admin.caller.conn];
        hub.emit(
            OutEvent::Named {
                event: names::TICK,
                payload: json!({"ts": 1}),
            },
            Audience::ToolEventsOf(ids),
            false,
        );
        // Only listed connections that advertised tool-events.
        assert_eq!([&v4_none, &v4_read, &admin].map(|c| drain(c)), [0, 3, 4]);

        v4_none.subscribed.store(true, Ordering::Relaxed);
        hub.emit(
            OutEvent::Named {
                event: names::SESSIONS_CHANGED,
                payload: json!({}),
            },
            Audience::SessionSubscribers,
            true,
        );
        // Subscribed but without read scope: still guarded.
        assert_eq!(drain(&v4_none), 0);
        v4_read.subscribed.store(true, Ordering::Relaxed);
        hub.emit(
            OutEvent::Named {
                event: names::SESSIONS_CHANGED,
                payload: json!({}),
            },
            Audience::SessionSubscribers,
            true,
        );
        assert_eq!(drain(&v4_read), 4);
    }

    #[test]
    fn every_advertised_event_has_its_own_guard() {
        // The challenge goes out before there is a caller to guard.
        for e in EVENTS.iter().filter(|e| **e != names::CONNECT_CHALLENGE) {
            assert_ne!(guard_for(e), Guard::Scope(Scope::Admin), "{e}");
        }
        assert_eq!(guard_for(names::CHAT), Guard::ScopeOnV4(Scope::Read));
        assert_eq!(guard_for(names::SESSION_TOOL), Guard::Scope(Scope::Read));
        assert_eq!(
            guard_for(names::EXEC_APPROVAL_REQUESTED),
            Guard::Scope(Scope::Approvals)
        );
    }

    #[test]
    fn bodies_carry_the_envelope_and_take_a_seq_suffix() {
        let e = Event::new("tick", json!({"ts": 5}));
        let body = body_of(&e);
        let full = format!("{body},\"seq\":7}}");
        let v: Value = serde_json::from_str(&full).unwrap();
        assert_eq!(
            v,
            json!({"type":"event","event":"tick","payload":{"ts":5},"seq":7})
        );
    }

    #[test]
    fn presence_and_versions() {
        let hub = Hub::new(100, PresenceEntry::default());
        assert_eq!(hub.next_conn_id(), 101);
        let c = Arc::new(ConnHandle {
            caller: Arc::new(Caller::default()),
            out: Outbound::new(1 << 20, 0),
            subscribed: AtomicBool::new(false),
            watched: Default::default(),
            auth_fingerprint: [0; 32],
            presence: Some(PresenceEntry {
                host: Some("desk".into()),
                ..Default::default()
            }),
        });
        hub.register(c);
        assert_eq!(hub.presence_snapshot().len(), 2);
        assert_eq!(hub.state_version().presence, 1);
        hub.unregister(0);
        assert_eq!(hub.presence_snapshot().len(), 1);
        assert_eq!(hub.state_version().presence, 2);
        hub.publish_health(&HealthSummary {
            ok: true,
            ..HealthSummary::default()
        });
        assert_eq!(hub.state_version().health, 1);
    }
}
