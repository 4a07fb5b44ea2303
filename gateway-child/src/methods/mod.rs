//! Handlers of the gateway's own methods, one module per family.
//!
//! Each handler receives a [`crate::dispatch::CallContext`] (already authorized) and the request
//! params, and returns the response payload or an `ErrorShape`. Handlers validate their params
//! themselves (unknown fields are ignored, wrong types are `INVALID_REQUEST`); they never check
//! scopes (dispatch did) and never write to a socket (the responder enqueues).

pub mod config;
pub mod logs;
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
