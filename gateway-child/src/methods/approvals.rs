//! `exec.approval.resolve` and `exec.approval.list`: deciding the exec approvals the agent
//! engine asked for (`exec.approval.requested` goes only to `operator.approvals` holders; the
//! engine re-checks the scope). Nothing here runs a command.

use serde_json::Value;
use tether_protocol::methods::{names, ExecApprovalResolveParams};
use tether_protocol::ErrorShape;

use super::params_for;
use crate::agent::{Engine, EngineCaller};

/// `exec.approval.resolve {id, decision: allow-once|allow-always|deny}`.
pub async fn resolve(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: ExecApprovalResolveParams = params_for(names::EXEC_APPROVAL_RESOLVE, params)?;
    engine.exec_approval_resolve(caller, p).await
}

/// `exec.approval.list {}` → `[...]` (pending ones, a bare array as upstream).
pub async fn list(
    engine: &Engine,
    caller: &EngineCaller,
    _params: Value,
) -> Result<Value, ErrorShape> {
    engine.exec_approval_list(caller).await
}
