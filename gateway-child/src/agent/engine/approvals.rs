//! `exec.approval.resolve`, `exec.approval.list`, `approval.history`, and what
//! `exec.approvals.get` reports (the allow-always decisions and the policy in force).

use serde_json::{json, Value};
use tether_protocol::approvals::{
    ApprovalHistory, ApprovalHistoryParams, ApprovalResolver, ExecApprovalsResolvedDefaults,
};
use tether_protocol::methods::ExecApprovalResolveParams;
use tether_protocol::{ErrorShape, Scope};

use crate::agent::approvals::{HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT};
use crate::agent::*;
use crate::config::schema::ExecAsk;

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
        self.inner
            .approvals
            .resolve(&by, resolver_of(caller), &params)
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

    /// `approval.history`: approvals that ended since this gateway started, newest first.
    pub async fn approval_history(
        &self,
        caller: &EngineCaller,
        params: ApprovalHistoryParams,
    ) -> Result<ApprovalHistory, ErrorShape> {
        if !caller.has(Scope::Approvals) {
            return Err(ErrorShape::missing_scope(
                caller.protocol,
                Scope::Approvals.as_str(),
            ));
        }
        let max = HISTORY_MAX_LIMIT as u32;
        let limit = match params.limit {
            None => HISTORY_DEFAULT_LIMIT,
            Some(l) if (1..=max).contains(&l) => l as usize,
            Some(l) => {
                return Err(ErrorShape::invalid_request(format!(
                    "invalid approval.history params: limit {l} is not within 1..={max}"
                )))
            }
        };
        if let Some(k) = params.kind.as_ref().filter(|k| !k.is_known()) {
            return Err(ErrorShape::invalid_request(format!(
                "invalid approval.history params: unknown kind {:?} (exec, plugin or system-agent)",
                k.as_str()
            )));
        }
        self.inner
            .approvals
            .history(params.cursor.as_deref(), limit, params.kind.as_ref())
            .map_err(|e| ErrorShape::invalid_request(e.to_string()))
    }

    /// The allow-always decisions in force and the file that keeps them.
    pub fn allow_always(&self) -> AllowAlways {
        AllowAlways {
            path: self.inner.approvals.path().to_owned(),
            entries: self.inner.approvals.always_entries(),
        }
    }

    /// The exec policy in force, in upstream's terms: `tools.exec.security` as configured, or
    /// as `tools.exec.ask` implies it (`on-miss`: `allowlist`, runs allowlisted commands and
    /// asks for the rest; `always`: `full`, asks before every command; `off`: `full`, runs
    /// every command). A request nobody answers in time is denied (`askFallback: deny`).
    /// There are no skills, so none is allowed automatically.
    pub fn exec_policy(&self) -> ExecApprovalsResolvedDefaults {
        let exec = &self.inner.settings().exec;
        let ask = match exec.ask {
            ExecAsk::OnMiss => "on-miss",
            ExecAsk::Always => "always",
            ExecAsk::Off => "off",
        };
        ExecApprovalsResolvedDefaults {
            security: exec.security.as_str().into(),
            ask: ask.into(),
            ask_fallback: "deny".into(),
            auto_allow_skills: false,
        }
    }
}

/// Who resolved, as upstream's history records it: the verified device when there is one
/// (the caller's label is `device:<id>`), else the client id (the label is `<id>/<mode>`).
fn resolver_of(caller: &EngineCaller) -> ApprovalResolver {
    match caller.client.strip_prefix("device:") {
        Some(device) => ApprovalResolver {
            kind: "device".into(),
            id: Some(device.to_owned()),
        },
        None => ApprovalResolver {
            kind: "runtime".into(),
            id: caller
                .client
                .split('/')
                .next()
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        },
    }
}
