//! The parts of `health` and `status` that upstream's clients read (its CLI's `health` and
//! `status` printers, the Control UI's overview), in upstream's shapes: the session store
//! summary, each agent's heartbeat and sessions, the per-agent breakdown of `status`, and the
//! config reload state. [`crate::events::HealthSummary`] carries the `health` ones,
//! [`StatusSummary`] the `status` ones; everything else a gateway adds stays in their `extra`.
//!
//! Every field a client dereferences without a check (upstream's CLI reads
//! `sessions.path`, `sessions.recent`, `sessions.byAgent` unguarded) is required here when
//! serialized, so a gateway built on these types cannot send a summary that crashes them.

use serde::{Deserialize, Serialize};

use crate::Map;

/// Upstream's `HealthSessionSummary`: where an agent's sessions are stored, how many there are,
/// and the newest ones.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsSummary {
    /// The store's location (`[redacted]` when the caller may not see it).
    #[serde(default)]
    pub path: String,
    /// How many sessions there are.
    #[serde(default)]
    pub count: u64,
    /// The newest sessions, newest first (empty when the caller may not see them).
    #[serde(default)]
    pub recent: Vec<RecentSession>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl SessionsSummary {
    /// What a caller without admin sees, as upstream's status summary shows it without
    /// `includeSensitive`: the count, not the path or the sessions.
    pub fn redacted(&self) -> Self {
        Self {
            path: REDACTED.to_owned(),
            count: self.count,
            recent: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// Upstream's placeholder for a value the caller may not see.
pub const REDACTED: &str = "[redacted]";

/// One of the newest sessions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentSession {
    /// Session key.
    pub key: String,
    /// When it last changed, epoch ms.
    #[serde(default)]
    pub updated_at: Option<u64>,
    /// How long ago that was, ms.
    #[serde(default)]
    pub age: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// An agent's heartbeat settings, as `health` lists them per agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatSettings {
    /// Whether heartbeat turns run.
    pub enabled: bool,
    /// The period as configured (`30m`), or `disabled`.
    #[serde(default)]
    pub every: String,
    /// The period in ms; `null` when disabled.
    #[serde(default)]
    pub every_ms: Option<u64>,
    /// The prompt a heartbeat turn sends.
    #[serde(default)]
    pub prompt: String,
    /// Where a heartbeat's reply goes (`owner`, `none`, …).
    #[serde(default)]
    pub target: String,
    /// The longest reply still counted as an acknowledgement.
    #[serde(default)]
    pub ack_max_chars: u64,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl HeartbeatSettings {
    /// No heartbeat turns (Tether's gateway runs none).
    pub fn off() -> Self {
        Self {
            enabled: false,
            every: "disabled".to_owned(),
            every_ms: None,
            prompt: String::new(),
            target: "none".to_owned(),
            ack_max_chars: 0,
            extra: Map::new(),
        }
    }
}

/// One agent in `health.agents`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHealth {
    /// Agent id.
    pub agent_id: String,
    /// Whether it is the default agent.
    #[serde(default)]
    pub is_default: bool,
    /// Its heartbeat (present in a `health` answer, absent in the broadcast summary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<HeartbeatSettings>,
    /// Its sessions (present in a `health` answer, absent in the broadcast summary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionsSummary>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `configReload`: whether a saved config file is applied while the gateway runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigReload {
    /// `active` while saved files are applied, else why not (`off`, …).
    pub hot_reload_status: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// The `status` result's fields that upstream's CLI reads; the rest of a gateway's answer stays
/// in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSummary {
    /// The gateway's runtime version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The session stores.
    pub sessions: StatusSessions,
    /// Heartbeats per agent.
    pub heartbeat: StatusHeartbeat,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `status.sessions`: every agent's store together, and each one alone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSessions {
    /// The stores' locations (empty when the caller may not see them).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Sessions over all agents.
    #[serde(default)]
    pub count: u64,
    /// What new sessions get.
    #[serde(default)]
    pub defaults: SessionDefaults,
    /// The newest sessions over all agents.
    #[serde(default)]
    pub recent: Vec<RecentSession>,
    /// Each agent's store.
    #[serde(default)]
    pub by_agent: Vec<AgentSessions>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// The model and context window new sessions get (`null`s when the caller may not see them).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDefaults {
    /// `provider/model`.
    #[serde(default)]
    pub model: Option<String>,
    /// The model's context window, tokens.
    #[serde(default)]
    pub context_tokens: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One agent's store in `status.sessions.byAgent`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSessions {
    /// Agent id.
    pub agent_id: String,
    /// Its store, in `health`'s shape (`path`, `count`, `recent`, and what else it carries).
    #[serde(flatten)]
    pub store: SessionsSummary,
}

/// `status.heartbeat`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusHeartbeat {
    /// The default agent.
    #[serde(default)]
    pub default_agent_id: String,
    /// Each agent's heartbeat.
    #[serde(default)]
    pub agents: Vec<AgentHeartbeat>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One agent in `status.heartbeat.agents`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentHeartbeat {
    /// Agent id.
    pub agent_id: String,
    /// Whether heartbeat turns run.
    pub enabled: bool,
    /// The period as configured, or `disabled`.
    #[serde(default)]
    pub every: String,
    /// The period in ms; `null` when disabled.
    #[serde(default)]
    pub every_ms: Option<u64>,
    /// Whether a heartbeat waits for a delivery route.
    #[serde(default)]
    pub waiting_for_route: bool,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Upstream 2026.9.6's `health` agent entry, as recorded.
    #[test]
    fn upstream_agent_health_round_trips() {
        let raw = json!({"agentId": "main", "isDefault": true,
            "heartbeat": {"enabled": true, "every": "30m", "everyMs": 1_800_000, "prompt": "p",
                          "target": "owner", "ackMaxChars": 300},
            "sessions": {"path": "$OPENCLAW_STATE_DIR/agents/main/agent/openclaw-agent.sqlite",
                         "count": 2, "recent": [{"key": "agent:main:main", "updatedAt": 5,
                                                 "age": 7, "label": "x"}]}});
        let a: AgentHealth = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(a.heartbeat.as_ref().unwrap().every_ms, Some(1_800_000));
        let s = a.sessions.as_ref().unwrap();
        assert_eq!((s.count, s.recent[0].age), (2, Some(7)));
        assert_eq!(s.recent[0].extra["label"], "x");
        assert_eq!(serde_json::to_value(&a).unwrap(), raw);
    }

    #[test]
    fn a_redacted_summary_keeps_the_count_only() {
        let s = SessionsSummary {
            path: "/s/sessions".into(),
            count: 3,
            recent: vec![RecentSession {
                key: "k".into(),
                ..RecentSession::default()
            }],
            extra: Map::new(),
        };
        assert_eq!(
            serde_json::to_value(s.redacted()).unwrap(),
            json!({"path": "[redacted]", "count": 3, "recent": []})
        );
    }

    /// `byAgent` entries are a store summary with the agent's id beside it, flat on the wire.
    #[test]
    fn an_agent_store_is_flat_on_the_wire() {
        let raw = json!({"agentId": "main", "path": "/s", "count": 1,
                         "recent": [{"key": "k", "updatedAt": 5, "age": 7}], "other": true});
        let a: AgentSessions = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!((a.agent_id.as_str(), a.store.count), ("main", 1));
        assert_eq!(a.store.extra.get("other"), Some(&json!(true)));
        assert!(!a.store.extra.contains_key("agentId"));
        assert_eq!(serde_json::to_value(&a).unwrap(), raw);
    }

    /// What upstream's CLI reads from `status` without a guard is always serialized.
    #[test]
    fn status_always_carries_what_the_cli_reads() {
        let v = serde_json::to_value(StatusSummary::default()).unwrap();
        for path in [
            "/sessions/paths",
            "/sessions/count",
            "/sessions/recent",
            "/sessions/byAgent",
            "/sessions/defaults/model",
            "/heartbeat/agents",
        ] {
            assert!(v.pointer(path).is_some(), "{path} missing in {v}");
        }
        let off = serde_json::to_value(HeartbeatSettings::off()).unwrap();
        assert_eq!(off["everyMs"], Value::Null);
        assert_eq!(off["every"], "disabled");
    }
}
