//! Handlers of the gateway's methods, one module per family.
//!
//! Each handler receives a [`crate::call::CallContext`] (already authorized) and the request
//! params, and returns the response payload or an `ErrorShape`. Handlers validate their params
//! themselves (unknown fields are ignored, wrong types are `INVALID_REQUEST`); they never check
//! scopes (dispatch did) and never write to a socket (the responder enqueues). The chat, agent,
//! session, model and approval handlers are thin adapters over the run's agent engine
//! ([`crate::agent::Engine`]): decode, call, encode, and keep the ack-before-events order.

pub mod agent;
pub mod approvals;
pub mod chat;
pub mod config;
pub mod logs;
pub mod models;
pub mod restart;
pub mod sessions;
pub mod system;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_protocol::ErrorShape;

/// Decodes params into `T`, or `INVALID_REQUEST "invalid params: …"`.
pub fn params<T: DeserializeOwned>(params: Value) -> Result<T, ErrorShape> {
    serde_json::from_value(params)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid params: {e}")))
}

/// Decodes params of `method` into `T`, or `INVALID_REQUEST "invalid <method> params: …"` (the
/// wording upstream uses, e.g. for `chat.history` without `sessionKey`).
pub fn params_for<T: DeserializeOwned>(method: &str, params: Value) -> Result<T, ErrorShape> {
    serde_json::from_value(params)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid {method} params: {e}")))
}

/// Encodes a result payload.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<Value, ErrorShape> {
    serde_json::to_value(value)
        .map_err(|e| ErrorShape::unavailable(format!("cannot encode the result: {e}"), 1000))
}
