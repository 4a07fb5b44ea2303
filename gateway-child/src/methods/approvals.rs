//! `exec.approval.resolve` and `exec.approval.list`: deciding the exec approvals the agent
//! engine asked for (`exec.approval.requested` goes only to `operator.approvals` holders; the
//! engine re-checks the scope). Nothing here runs a command.

use serde_json::Value;
use tether_protocol::methods::{names, ExecApprovalResolveParams};
use tether_protocol::ErrorShape;

use super::params_for;
use crate::call::CallContext;

/// `exec.approval.resolve {id, decision: allow-once|allow-always|deny}`.
pub async fn resolve(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: ExecApprovalResolveParams = params_for(names::EXEC_APPROVAL_RESOLVE, params)?;
    ctx.services
        .engine
        .exec_approval_resolve(&ctx.caller.for_engine(), p)
        .await
}

/// `exec.approval.list {}` → `{approvals: [...]}` (pending ones).
pub async fn list(ctx: &CallContext, _params: Value) -> Result<Value, ErrorShape> {
    ctx.services
        .engine
        .exec_approval_list(&ctx.caller.for_engine())
        .await
}
