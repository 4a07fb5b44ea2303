//! `models.list`: what the agent engine can run on (configured providers with their
//! reachability, a discovered local server, and the built-in offline model while it is the
//! default). Read-only.

use serde_json::Value;
use tether_protocol::ErrorShape;

use super::encode;
use crate::agent::{Engine, EngineCaller};
use crate::methods::call::CallContext;

/// `models.list {}`.
pub async fn list(
    engine: &Engine,
    caller: &EngineCaller,
    _params: Value,
) -> Result<Value, ErrorShape> {
    encode(&engine.models_list(caller).await?)
}

/// `models.authStatus {refresh?}`: the providers' key state (nothing to refresh: keys are
/// read from the config and the environment).
pub async fn auth_status(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    Ok(ctx.services.engine().models_auth_status())
}
