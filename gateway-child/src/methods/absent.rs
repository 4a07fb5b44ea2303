//! Features upstream OpenClaw has and Tether's gateway does not (channels, cron, plugins, skills,
//! nodes, talk, …), answered truthfully.
//!
//! Reads that upstream's clients make on every page get upstream's shape with nothing in it: no
//! cron jobs, no channels, no plugins, no nodes, no pending plugin approvals, no questions, no
//! meeting transcripts, no paired devices, no web search, no memory search, no update
//! information, no GitHub credential, and only the Control UI's default theme. Every
//! other method of such a feature, and every upstream method this gateway does not implement, is
//! answered by [`answer`]: `UNAVAILABLE`, `details.code: UNSUPPORTED`, a message naming the
//! feature, and no `retryable`. None of these is a success that pretends something happened.

use serde_json::{json, Value};
use tether_protocol::ErrorShape;

use tether_protocol::consts::DEFAULT_AGENT_ID;

use crate::methods::upstream::UpstreamMethod;
use crate::process::clock::now_ms;

/// The answer to an upstream method this gateway does not serve.
pub fn answer(known: &UpstreamMethod) -> ErrorShape {
    ErrorShape::unsupported(known.name, &feature(known.name))
}

/// What a user would call the feature a method belongs to, as in "Tether's gateway has no …".
pub fn feature(method: &str) -> String {
    if matches!(method, "config.schema" | "config.schema.lookup") {
        return "config schema".to_owned();
    }
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
        "transcripts" => "meeting transcripts",
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

/// `exec.approval.grants.list {limit?}`: a standing grant is what allow-always mints for an
/// automation's command (a cron job); there are no automations, so there are none. Tether's
/// own allow-always decisions are exec allowlist entries (`exec.approvals.get`).
pub fn standing_grants() -> Value {
    json!({"grants": []})
}

/// `transcripts.list {limit?, cursor?}`: there are no meeting transcripts (the last page).
pub fn transcripts_list() -> Value {
    json!({"sessions": [], "nextCursor": null})
}

/// The Control UI's default theme, the only one Tether knows (it stores no theme choice).
fn default_theme() -> Value {
    json!({
        "id": "claw",
        "name": "Claw",
        "description": "The Control UI's built-in default look, in light and dark.",
        "source": "builtin",
        "modes": ["light", "dark"],
    })
}

/// `themes.list {}`: the default theme, following the system's light or dark mode, for the
/// whole gateway (there are no user profiles to keep a choice per user).
pub fn themes_list() -> Value {
    json!({
        "current": {"id": "claw", "mode": "system", "scope": "gateway", "overrides": {}},
        "theme": default_theme(),
        "themes": [default_theme()],
    })
}

/// `agentId` names the one agent (or is absent): Tether has only `main`.
fn one_agent(params: &Value) -> Result<&'static str, ErrorShape> {
    match params.get("agentId").and_then(Value::as_str) {
        Some(id) if !id.eq_ignore_ascii_case(DEFAULT_AGENT_ID) => Err(ErrorShape::invalid_request(
            format!("unknown agent id: {id}"),
        )
        .with_details(json!({"code": "UNKNOWN_AGENT_ID", "agentId": id}))),
        _ => Ok(DEFAULT_AGENT_ID),
    }
}

/// `tools.github.status {agentId, selectedScope}`: no GitHub credential is configured for the
/// gateway (`system`) or the agent (`agent`), and Tether looks for none on the host, so the
/// identity tools would use is unavailable and nothing vouches for it.
pub fn tools_github_status(params: &Value) -> Result<Value, ErrorShape> {
    let agent = one_agent(params)?;
    let scope = match params.get("selectedScope").and_then(Value::as_str) {
        None | Some("system") => "system",
        Some("agent") => "agent",
        Some(other) => {
            return Err(ErrorShape::invalid_request(format!(
                "invalid tools.github.status params: selectedScope {other:?} (system or agent)"
            )))
        }
    };
    let none = json!({
        "source": "system-detected",
        "credentialKind": "native",
        "credentialState": "unavailable",
        "account": null,
        "gitAuthor": {"name": null, "email": null},
        "evidence": "none",
        "accessExpiresAtMs": null,
        "refreshState": "not_applicable",
        "oauthScopes": [],
        "repositoryGrants": "unknown",
    });
    // An agent override does not exist, so the agent scope has no identity of its own.
    let selected_identity = if scope == "system" {
        none.clone()
    } else {
        Value::Null
    };
    Ok(json!({
        "agentId": agent,
        "selectedScope": scope,
        "selected": {"scope": scope, "configured": false, "identity": selected_identity},
        "effective": none,
    }))
}

/// `device.pair.list {}`: Tether keeps no pairings (every client proves the gateway's secret
/// on each connect; a device proof only names the device), so none is pending or paired. The
/// devices connected now are in `system-presence`.
pub fn device_pair_list() -> Value {
    json!({"pending": [], "paired": []})
}

/// `webSearch.status {agentId?, modelProvider?, modelId?}`: Tether's agent has no web search
/// tool, so search is off, no provider is offered and the route is unavailable. `defaults` are
/// the engine's model defaults (`modelProvider`, `model`), the model a run would use.
pub fn web_search_status(params: &Value, defaults: &Value) -> Result<Value, ErrorShape> {
    let agent = one_agent(params)?;
    let pick = |param: &str, default: &str| {
        params
            .get(param)
            .and_then(Value::as_str)
            .or_else(|| defaults.get(default).and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("unknown")
            .to_owned()
    };
    Ok(json!({
        "enabled": false,
        "provider": null,
        "agentId": agent,
        "model": {
            "provider": pick("modelProvider", "modelProvider"),
            "id": pick("modelId", "model"),
            "runtime": "tether",
            "runtimeLabel": "Tether's gateway",
        },
        "route": {
            "kind": "unavailable",
            "label": "No web search in Tether's gateway",
            "reason": "Tether's agent has no web search tool, and no search provider can be added to it.",
            "testable": false,
        },
        "providers": [],
    }))
}

/// `doctor.memory.status {agentId?}`: there is no memory search (no memory plugin), which is
/// upstream's answer when no memory search manager exists: embeddings are not available, with
/// the reason.
pub fn doctor_memory_status(params: &Value) -> Result<Value, ErrorShape> {
    let agent = one_agent(params)?;
    Ok(json!({
        "agentId": agent,
        "embedding": {"ok": false, "error": "Tether's gateway has no memory search"},
    }))
}

/// `update.status {}`: Tether is updated with its package, not by the gateway, so no update
/// run, sentinel, schedule or availability is known here.
pub fn update_status() -> Value {
    json!({"sentinel": null, "updateAvailable": null})
}

/// `plugins.catalog.browse {intent?, pageSize?, cursor?}`: no plugin can be installed, so the
/// catalog is empty (one last page).
pub fn plugins_catalog_browse() -> Value {
    json!({"items": []})
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

    #[test]
    fn settings_pages_get_truthful_empty_answers() {
        let themes = themes_list();
        assert_eq!(themes["current"]["id"], "claw");
        assert_eq!(themes["current"]["scope"], "gateway");
        assert_eq!(themes["themes"].as_array().map(Vec::len), Some(1));
        assert_eq!(themes["theme"], themes["themes"][0]);

        let gh = tools_github_status(&json!({"agentId": "main", "selectedScope": "system"}))
            .expect("system scope");
        assert_eq!(gh["selected"]["configured"], false);
        assert_eq!(gh["effective"]["credentialState"], "unavailable");
        assert_eq!(gh["effective"]["evidence"], "none");
        let agent = tools_github_status(&json!({"selectedScope": "agent"})).expect("agent");
        assert_eq!(agent["selected"]["identity"], Value::Null);
        assert!(tools_github_status(&json!({"selectedScope": "team"})).is_err());
        assert!(tools_github_status(&json!({"agentId": "ops"})).is_err());

        let search = web_search_status(
            &json!({"agentId": "main"}),
            &json!({"modelProvider": "mock", "model": "m1"}),
        )
        .expect("status");
        assert_eq!(search["enabled"], false);
        assert_eq!(search["providers"], json!([]));
        // The Control UI reads `route.provider` when `provider` is null: a route must exist.
        assert_eq!(search["route"]["kind"], "unavailable");
        assert_eq!(search["model"]["provider"], "mock");
        assert_eq!(search["model"]["id"], "m1");

        let memory = doctor_memory_status(&json!({})).expect("memory");
        assert_eq!(memory["embedding"]["ok"], false);
        assert!(doctor_memory_status(&json!({"agentId": "ops"})).is_err());

        assert_eq!(device_pair_list(), json!({"pending": [], "paired": []}));
        assert_eq!(transcripts_list()["sessions"], json!([]));
        assert_eq!(update_status()["updateAvailable"], Value::Null);
        assert_eq!(plugins_catalog_browse(), json!({"items": []}));
        assert_eq!(standing_grants(), json!({"grants": []}));
    }
}
