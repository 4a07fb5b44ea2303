//! The OpenClaw gateway wire protocol, as Tether speaks it (v4, with v3 peers accepted).
//!
//! This crate owns the wire format and nothing else: serde types for frames, the `connect`
//! handshake, `hello-ok`, chat/agent/system events, error shapes, scopes and roles, and the
//! Ed25519 device identity (payload building, signing, verifying). It is pure data and pure
//! functions: it must never do IO, read a clock, spawn a task or depend on tokio. Callers pass
//! instants and randomness in.
//!
//! Every typed payload keeps the fields it does not model in an `extra` map, so a frame from a
//! newer gateway parses, and re-serializes to the same JSON, without losing anything.

mod macros;

pub mod agent;
pub mod approvals;
pub mod b64;
pub mod chat;
pub mod chat_frame;
pub mod close;
pub mod connect;
pub mod consts;
pub mod device;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod frame;
pub mod health;
pub mod maybe;
pub mod methods;
pub mod scope;
pub mod secret;
pub mod session_key;
pub mod usage;

pub use agent::{AgentData, AgentEvent, AgentStream};
pub use chat::{ChatEvent, ChatMessage, ChatState, ContentBlock, MessageContent};
pub use connect::{
    ClientId, ClientInfo, ClientMode, ConnectAuth, ConnectParams, DeviceProof, HelloOk,
};
pub use error::{DetailCode, ErrorCode, ErrorShape};
pub use frame::{Event, Frame, FrameError, Request, Response};
pub use maybe::Maybe;
pub use scope::{Role, Scope};
pub use secret::Secret;

/// A JSON object: the type of every `extra` map.
pub type Map = serde_json::Map<String, serde_json::Value>;
