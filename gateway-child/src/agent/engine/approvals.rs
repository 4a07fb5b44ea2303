//! `exec.approval.resolve` and `exec.approval.list`.

use serde_json::{json, Value};
use tether_protocol::methods::ExecApprovalResolveParams;
use tether_protocol::{ErrorShape, Scope};

use crate::agent::*;

impl Engine {
    /// `exec.approval.resolve` (the gateway checks `operator.approvals`; re-checked here).
    pub async fn exec_approval_resolve(
        &self,
        caller: &EngineCaller,
        params: ExecApprovalResolveParams,
    ) -> Result<Value, ErrorShape> {
        if !caller.has(Scope::Approvals) {
            return Err(ErrorShape::missing_scope(
                caller.protocol,
                Scope::Approvals.as_str(),
            ));
        }
        let by = match caller.conn {
            Some(c) => format!("{} (conn {c})", caller.client),
            None => caller.client.clone(),
        };
        self.inner.approvals.resolve(&by, &params)
    }

    /// `exec.approval.list`: pending requests, as a bare array (upstream's shape; its CLI
    /// refuses anything else).
    pub async fn exec_approval_list(&self, caller: &EngineCaller) -> Result<Value, ErrorShape> {
        if !caller.has(Scope::Approvals) {
            return Err(ErrorShape::missing_scope(
                caller.protocol,
                Scope::Approvals.as_str(),
            ));
        }
        Ok(json!(self.inner.approvals.list()))
    }
}
