//! `models.list`: what the agent engine can run on (configured providers with their
//! reachability, a discovered local server, and the built-in offline model). Read-only.

use serde_json::Value;
use tether_protocol::ErrorShape;

use super::encode;
use crate::call::CallContext;

/// `models.list {}`.
pub async fn list(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    let l = ctx
        .services
        .engine
        .models_list(&ctx.caller.for_engine())
        .await?;
    encode(&l)
}
