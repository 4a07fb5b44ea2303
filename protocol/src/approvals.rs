//! What a gateway remembers about exec approvals beyond the live request and resolve events:
//! `approval.history` (approvals that ended, newest first) and `exec.approvals.get` (the
//! approvals document: where allow-always decisions are kept, and the policy in force).
//!
//! The shapes are upstream's (`packages/gateway-protocol/src/schema/approvals.ts` and
//! `exec-approvals.ts`); upstream's Control UI validates `approval.history` against a closed
//! schema, so a field added here that upstream does not define would make it refuse the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::macros::string_enum;
use crate::Map;

/// `approval.history` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalHistoryParams {
    /// The `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only approvals of this kind (`exec`, `plugin`, `system-agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ApprovalKind>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

string_enum! {
    /// Who owns an approval.
    pub enum ApprovalKind {
        Exec = "exec",
        Plugin = "plugin",
        SystemAgent = "system-agent",
    }
}

string_enum! {
    /// How an approval ended.
    pub enum ApprovalStatus {
        Allowed = "allowed",
        Denied = "denied",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// Why an approval ended (`user`: a reviewer decided).
    pub enum ApprovalReason {
        User = "user",
        Timeout = "timeout",
        MalformedVerdict = "malformed-verdict",
        NoRoute = "no-route",
        RunAborted = "run-aborted",
        GatewayRestart = "gateway-restart",
        StorageCorrupt = "storage-corrupt",
    }
}

/// `approval.history` result: one page, newest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalHistory {
    /// Approvals that ended.
    pub items: Vec<ApprovalSnapshot>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// An approval that ended, as every reviewer surface shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSnapshot {
    /// Approval id.
    pub id: String,
    /// How it ended.
    pub status: ApprovalStatus,
    /// What was asked, without the runtime details (no cwd, no environment).
    pub presentation: ExecApprovalPresentation,
    /// The Control UI's deep link (`<basePath>/approve/<id>`).
    pub url_path: String,
    /// Epoch ms.
    pub created_at_ms: u64,
    /// Epoch ms.
    pub expires_at_ms: u64,
    /// Epoch ms.
    pub resolved_at_ms: u64,
    /// Why it ended.
    pub reason: ApprovalReason,
    /// `allow-once`, `allow-always` or `deny`: only when a reviewer decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Where the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApprovalSource>,
    /// Who ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<ApprovalResolver>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// The reviewer-safe description of an exec request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalPresentation {
    /// Always `exec`.
    pub kind: ApprovalKind,
    /// The command, exactly as asked.
    pub command_text: String,
    /// The command with invisible characters made visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_preview: Option<String>,
    /// Where it would run (`gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The asking agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The decisions a reviewer had.
    pub allowed_decisions: Vec<String>,
}

/// Which agent and session asked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSource {
    /// Agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Session key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
}

/// Who ended an approval: a `device` (by its id), a `runtime` client (by its client id), or
/// the gateway itself (`system`: expiry, an aborted run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResolver {
    /// `device`, `channel`, `runtime` or `system`.
    pub kind: String,
    /// Device or client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `exec.approvals.get` result: the approvals document and the policy it resolves to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsSnapshot {
    /// Where the document is kept.
    pub path: String,
    /// Whether it exists yet.
    pub exists: bool,
    /// `sha256` hex of its bytes (`missing:<sha256 of "">` when it does not exist).
    pub hash: String,
    /// Its content, in upstream's document shape.
    pub file: ExecApprovalsFile,
    /// The policy in force after defaults are applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_defaults: Option<ExecApprovalsResolvedDefaults>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// Upstream's exec approvals document (`version: 1`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsFile {
    /// Always 1.
    pub version: u32,
    /// Policy defaults the document sets.
    #[serde(default)]
    pub defaults: ExecApprovalsPolicy,
    /// Per-agent policy and allowlist.
    #[serde(default)]
    pub agents: BTreeMap<String, ExecApprovalsAgent>,
}

/// Policy fields a document may set (each unset means "the default").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsPolicy {
    /// `deny`, `allowlist` or `full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    /// `off`, `on-miss` or `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<String>,
    /// What happens when nobody answers: `deny`, `allowlist` or `full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_fallback: Option<String>,
    /// Whether skills' commands run without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_allow_skills: Option<bool>,
}

/// One agent's part of the document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsAgent {
    /// Overrides of the defaults.
    #[serde(flatten)]
    pub policy: ExecApprovalsPolicy,
    /// Commands that run without asking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist: Vec<ExecApprovalsAllowlistEntry>,
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsAllowlistEntry {
    /// The command or pattern.
    pub pattern: String,
    /// `allow-always` when a reviewer's decision added it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The command the decision was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_text: Option<String>,
}

/// The policy in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecApprovalsResolvedDefaults {
    /// `deny`, `allowlist` or `full`.
    pub security: String,
    /// `off`, `on-miss` or `always`.
    pub ask: String,
    /// `deny`, `allowlist` or `full`.
    pub ask_fallback: String,
    /// Whether skills' commands run without asking.
    pub auto_allow_skills: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decided_approval_has_upstreams_closed_shape() {
        let s = ApprovalSnapshot {
            id: "a1".into(),
            status: ApprovalStatus::Allowed,
            presentation: ExecApprovalPresentation {
                kind: ApprovalKind::Exec,
                command_text: "ls".into(),
                command_preview: Some("ls".into()),
                host: Some("gateway".into()),
                agent_id: Some("main".into()),
                allowed_decisions: vec!["allow-once".into(), "deny".into()],
            },
            url_path: "/approve/a1".into(),
            created_at_ms: 1,
            expires_at_ms: 3,
            resolved_at_ms: 2,
            reason: ApprovalReason::User,
            decision: Some("allow-once".into()),
            source: Some(ApprovalSource {
                agent_id: Some("main".into()),
                session_key: None,
            }),
            resolver: Some(ApprovalResolver {
                kind: "device".into(),
                id: Some("d1".into()),
            }),
            extra: Map::new(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            json!({
                "id": "a1", "status": "allowed", "urlPath": "/approve/a1",
                "createdAtMs": 1, "expiresAtMs": 3, "resolvedAtMs": 2,
                "reason": "user", "decision": "allow-once",
                "presentation": {"kind": "exec", "commandText": "ls", "commandPreview": "ls",
                    "host": "gateway", "agentId": "main", "allowedDecisions": ["allow-once", "deny"]},
                "source": {"agentId": "main"},
                "resolver": {"kind": "device", "id": "d1"},
            })
        );
        let back: ApprovalSnapshot = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn an_empty_document_keeps_its_version_and_maps() {
        let v = serde_json::to_value(ExecApprovalsFile {
            version: 1,
            ..ExecApprovalsFile::default()
        })
        .unwrap();
        assert_eq!(v, json!({"version": 1, "defaults": {}, "agents": {}}));
    }
}
