//! The seam between the agent engine and the connection hub.
//!
//! The engine produces events (chat deltas, agent stream events, approvals, session changes)
//! without knowing about sockets; the hub (`hub.rs`) owns the connections and decides who gets
//! what: per-connection protocol shape (v3/v4 chat), scope guards, the `tool-events` cap, slow
//! consumers and per-connection `seq`. This module holds only the shared vocabulary.

use serde_json::Value;
use tether_protocol::{AgentEvent, ChatEvent};

/// A connection's id within this gateway process.
pub type ConnId = u64;

/// Who should receive an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every authenticated connection that passes the event's scope guard.
    All,
    /// Only these connections, and only if they advertised `caps:["tool-events"]`
    /// (agent `stream:"tool"` events go to the connections that started the run).
    ToolEventsOf(Vec<ConnId>),
    /// Connections that called `sessions.subscribe`.
    SessionSubscribers,
    /// Connections that hear about this session: `sessions.subscribe`, or
    /// `sessions.messages.subscribe` for its key.
    Session(String),
    /// Connections holding `operator.approvals` (or admin).
    Approvers,
    /// Only this connection (news about its own request, e.g. `chat.send_timing`).
    Conn(ConnId),
}

/// An event on its way out.
#[derive(Debug, Clone, PartialEq)]
pub enum OutEvent {
    /// A `chat` event (the hub shapes it per protocol version).
    Chat(ChatEvent),
    /// An `agent` event.
    Agent(AgentEvent),
    /// Any other event, by name.
    Named {
        /// Event name, e.g. `sessions.changed`.
        event: &'static str,
        /// Payload.
        payload: Value,
    },
}

/// Where the engine sends events. Implemented by the hub; a recording fake in tests.
pub trait EventSink: Send + Sync + 'static {
    /// Delivers `event` to `audience`. `droppable` events may be skipped for a slow consumer
    /// (it repairs itself, e.g. a cumulative chat delta); others close that consumer instead.
    fn emit(&self, event: OutEvent, audience: Audience, droppable: bool);
}
