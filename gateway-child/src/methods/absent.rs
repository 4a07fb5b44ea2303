//! Features upstream OpenClaw has and Tether's gateway does not (channels, cron, plugins, skills,
//! nodes, talk, …), answered truthfully.
//!
//! Reads that upstream's clients make on every page get upstream's shape with nothing in it: no
//! cron jobs, no channels, no plugins, no nodes, no pending plugin approvals, no questions. Every
//! other method of such a feature, and every upstream method this gateway does not implement, is
//! answered by [`answer`]: `UNAVAILABLE`, `details.code: UNSUPPORTED`, a message naming the
//! feature, and no `retryable`. None of these is a success that pretends something happened.

use serde_json::{json, Value};
use tether_protocol::ErrorShape;

use crate::methods::upstream::UpstreamMethod;
use crate::process::clock::now_ms;

/// The answer to an upstream method this gateway does not serve.
pub fn answer(known: &UpstreamMethod) -> ErrorShape {
    ErrorShape::unsupported(known.name, &feature(known.name))
}

/// What a user would call the feature a method belongs to, as in "Tether's gateway has no …".
pub fn feature(method: &str) -> String {
    let family = method.split(['.', '-']).next().unwrap_or(method);
    let named = match family {
        "cron" => "scheduled jobs (cron)",
        "channels" => "messaging channels",
        "plugin" | "plugins" | "nativeHook" | "hooks" => "plugins",
        "skills" => "skills",
        "node" | "nodes" => "paired nodes",
        "talk" | "tts" | "voicewake" | "wake" => "voice (talk)",
        "terminal" => "terminal",
        "board" | "canvas" => "boards and canvases",
        "update" => "self-update (Tether is updated with its package)",
        "wizard" | "migrations" => "setup wizard",
        "device" => "device pairing",
        "users" => "user profiles",
        "push" => "push notifications",
        "mcp" => "MCP servers",
        "projects" | "worktrees" => "projects",
        "tasks" | "taskSuggestions" | "progressCard" => "background tasks",
        "memory" => "memory",
        "secrets" => "secrets manager",
        "doctor" | "diagnostics" => "doctor",
        "environments" | "worker" => "remote environments",
        "desktop" | "computer" | "portal" => "computer use",
        "web" | "webSearch" => "web tools",
        "claws" | "conversations" | "mentions" | "audit" => "team workspace",
        "question" => "agent questions",
        "themes" | "ui" | "controlUi" => "Control UI settings",
        "transcripts" => "transcript export",
        _ => return format!("support for {method} yet"),
    };
    named.to_owned()
}

/// `cron.list`: no jobs, as one complete page. The revision is upstream's for an empty list
/// (`"sha256:" + base64url(sha256("[]"))`), which its CLI checks is present with the rest.
pub fn cron_list(params: &Value) -> Value {
    let limit = params
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(50, |l| l.clamp(1, 200));
    json!({
        "jobs": [],
        "snapshotRevision": "sha256:T1PNoYwrqgwDVLtfmj7L5e0Sq02OEbqHPC8RFhICuUU",
        "total": 0,
        "offset": 0,
        "limit": limit,
        "hasMore": false,
        "nextOffset": null,
        "deliveryPreviews": {},
    })
}

/// `cron.status`: the scheduler is not there, so it is not enabled and holds no jobs.
pub fn cron_status() -> Value {
    json!({"enabled": false, "triggersEnabled": false, "jobs": 0, "nextWakeAtMs": null})
}

/// `cron.runs`: no runs.
pub fn cron_runs() -> Value {
    json!({"entries": [], "total": 0, "offset": 0, "limit": 50, "hasMore": false, "nextOffset": null})
}

/// `channels.status`: no channels.
pub fn channels_status() -> Value {
    json!({
        "ts": now_ms(),
        "channelOrder": [],
        "channelLabels": {},
        "channelDetailLabels": {},
        "channelSystemImages": {},
        "channelMeta": [],
        "channels": {},
        "channelAccounts": {},
        "channelDefaultAccountId": {},
        "statusIssues": [],
    })
}

/// `channels.pairing.list`: no channel accounts, no requests.
pub fn channels_pairing_list() -> Value {
    json!({
        "accounts": [],
        "requests": [],
        "commandOwnerConfigured": false,
        "limits": {"pendingPerAccount": 0, "ttlMs": 0},
    })
}

/// `plugins.list`: no plugins, and none can be installed here.
pub fn plugins_list() -> Value {
    json!({"plugins": [], "diagnostics": [], "mutationAllowed": false})
}

/// `plugin.approval.list`, `openclaw.approval.list`: a bare array, as upstream's clients insist.
pub fn no_approvals() -> Value {
    json!([])
}

/// `node.list`: no nodes.
pub fn node_list() -> Value {
    json!({"ts": now_ms(), "nodes": []})
}

/// `skills.status`: no skills, for the one agent.
pub fn skills_status(workspace: &str) -> Value {
    json!({
        "workspaceDir": workspace,
        "agentId": tether_protocol::consts::DEFAULT_AGENT_ID,
        "skills": [],
    })
}

/// `skills.library.list`: an empty library nobody can add to here.
pub fn skills_library_list() -> Value {
    json!({
        "entries": [],
        "profileId": null,
        "multipleProfiles": false,
        "defaultTarget": "unavailable",
        "canManageWorkspace": false,
        "defaultSelectionLimit": 0,
    })
}

/// `talk.catalog`: no speech, transcription or realtime providers, so nothing is ready.
pub fn talk_catalog() -> Value {
    json!({
        "modes": [],
        "transports": [],
        "brains": [],
        "speech": {"providers": []},
        "transcription": {"ready": false, "providers": []},
        "realtime": {"ready": false, "providers": []},
    })
}

/// `tasks.list`: no background tasks (the last page: no `nextCursor`).
pub fn tasks_list() -> Value {
    json!({"tasks": []})
}

/// `progressCard.get`: no progress card.
pub fn progress_card() -> Value {
    json!({"card": null})
}

/// `question.list`: exactly `{questions: []}` (upstream's TUI rejects any other key).
pub fn question_list() -> Value {
    json!({"questions": []})
}

/// `last-heartbeat`: the gateway runs no heartbeat, so there is none.
pub fn last_heartbeat() -> Value {
    Value::Null
}

/// `usage.status`: no provider usage windows are tracked.
pub fn usage_status() -> Value {
    json!({"updatedAt": now_ms(), "providers": []})
}

/// `sessions.branches.list`: transcripts here are linear, so there are no branches.
pub fn branches_list() -> Value {
    json!({"branches": []})
}

/// `sessions.companion.state`: there is no side chat, so no exchanges.
pub fn companion_state() -> Value {
    json!({"exchanges": []})
}

/// `artifacts.list`: tools here write files into the workspace, not media artifacts.
pub fn artifacts_list(params: &Value) -> Result<Value, ErrorShape> {
    let scoped = ["sessionKey", "runId", "taskId"]
        .iter()
        .any(|k| params.get(*k).and_then(Value::as_str).is_some());
    if !scoped {
        return Err(ErrorShape::invalid_request(
            "artifacts require one of sessionKey, runId, or taskId",
        )
        .with_details(json!({"type": "artifact_query_unsupported"})));
    }
    Ok(json!({"artifacts": []}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::upstream;
    use tether_protocol::{DetailCode, ErrorCode};

    #[test]
    fn an_absent_method_is_unavailable_unsupported_and_names_its_feature() {
        let cron_add = upstream::find("cron.add").expect("upstream defines cron.add");
        let e = answer(cron_add);
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert_eq!(e.retryable, None);
        assert_eq!(e.detail_code(), Some(DetailCode::Unsupported));
        assert_eq!(
            e.message,
            "cron.add is not available: Tether's gateway has no scheduled jobs (cron)"
        );
        let patch = upstream::find("sessions.patch").expect("upstream defines sessions.patch");
        assert_eq!(
            answer(patch).message,
            "sessions.patch is not available: Tether's gateway has no support for sessions.patch yet"
        );
    }

    #[test]
    fn empty_answers_keep_the_shapes_upstream_clients_check() {
        let page = cron_list(&json!({"limit": 500}));
        for key in [
            "snapshotRevision",
            "total",
            "offset",
            "limit",
            "hasMore",
            "nextOffset",
        ] {
            assert!(page.get(key).is_some(), "cron.list lacks {key}");
        }
        assert_eq!(page["limit"], 200);
        assert_eq!(question_list(), json!({"questions": []}));
        assert!(no_approvals().is_array());
        assert!(tasks_list().get("nextCursor").is_none());
        assert!(artifacts_list(&json!({})).is_err());
        assert_eq!(
            artifacts_list(&json!({"sessionKey": "agent:main:main"})).expect("scoped"),
            json!({"artifacts": []})
        );
    }
}
