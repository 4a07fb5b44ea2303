//! `sessions.subscribe` / `sessions.unsubscribe`: the per-connection flag the hub uses for
//! [`crate::bus::Audience::SessionSubscribers`] (`sessions.changed`, `session.tool`). The events
//! themselves come from the agent engine; this module only flips the flag.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use tether_protocol::ErrorShape;

use crate::dispatch::CallContext;

/// Turns the subscription on or off for the calling connection.
pub async fn subscribe(ctx: &CallContext, _params: Value, on: bool) -> Result<Value, ErrorShape> {
    let conn = ctx
        .services
        .hub
        .get(ctx.caller.conn)
        .ok_or_else(|| ErrorShape::unavailable("connection is closing", 0))?;
    conn.subscribed.store(on, Ordering::Relaxed);
    Ok(json!({ "subscribed": on }))
}
