//! `sessions.usage`: token and activity accounting per session over a date range, in
//! upstream's shape (`SessionsUsageParamsSchema`, `src/gateway/server-methods/usage.ts`,
//! `src/shared/usage-aggregates.ts`).
//!
//! Costs are numbers of the gateway's currency; a gateway that cannot price a model reports 0
//! and counts the entry in `missingCostEntries`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;

/// `sessions.usage` params.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsUsageParams {
    /// One session only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// One agent's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// `all`: every agent's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_scope: Option<String>,
    /// Only sessions of this creator (an opaque key from `creatorOptions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_key: Option<String>,
    /// First day, `YYYY-MM-DD` (with `endDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Last day, `YYYY-MM-DD` (with `startDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// How days are read: `utc` (default), `gateway` or `specific` (`timeZone`/`utcOffset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// A preset range when no dates are given: `7d`, `30d`, `90d`, `1y` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// Legacy: the last this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Value>,
    /// `instance` or `family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// Legacy alias of `groupBy: family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_historical: Option<bool>,
    /// `UTC+H[:MM]` / `UTC-H[:MM]`, for `specific`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// IANA time zone, for `specific`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Most session rows returned (default 50); totals cover every matching session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Include each session's context weight report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_context_weight: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `sessions.usage` result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsUsage {
    /// Epoch ms.
    pub updated_at: u64,
    /// First day of the range, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last day of the range, `YYYY-MM-DD`.
    pub end_date: String,
    /// Session rows, most recently updated first (at most `limit`).
    pub sessions: Vec<SessionUsageRow>,
    /// Sum over every matching session.
    pub totals: UsageTotals,
    /// Breakdowns over every matching session.
    pub aggregates: UsageAggregates,
    /// The creators seen, for the `creatorKey` filter.
    pub creator_options: Vec<UsageCreator>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// Tokens and costs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Tokens read from a prompt cache.
    pub cache_read: u64,
    /// Tokens written to a prompt cache.
    pub cache_write: u64,
    /// All tokens.
    pub total_tokens: u64,
    /// Cost of all tokens.
    pub total_cost: f64,
    /// Cost of input tokens.
    pub input_cost: f64,
    /// Cost of output tokens.
    pub output_cost: f64,
    /// Cost of cache reads.
    pub cache_read_cost: f64,
    /// Cost of cache writes.
    pub cache_write_cost: f64,
    /// Usage entries the gateway could not price.
    pub missing_cost_entries: u64,
}

impl UsageTotals {
    /// Adds `other` in.
    pub fn add(&mut self, other: &UsageTotals) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
        self.total_tokens += other.total_tokens;
        self.total_cost += other.total_cost;
        self.input_cost += other.input_cost;
        self.output_cost += other.output_cost;
        self.cache_read_cost += other.cache_read_cost;
        self.cache_write_cost += other.cache_write_cost;
        self.missing_cost_entries += other.missing_cost_entries;
    }
}

/// One session row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionUsageRow {
    /// Session key.
    pub key: String,
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Session id.
    pub session_id: String,
    /// `instance` (this session id) or `family` (every id the key had).
    pub scope: String,
    /// Epoch ms of the newest activity.
    pub updated_at: u64,
    /// Agent id.
    pub agent_id: String,
    /// Opaque creator key.
    pub creator_key: String,
    /// `direct`, `group`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_type: Option<String>,
    /// Provider of the newest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
    /// Model of the newest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The accounting (`null` when it could not be read).
    pub usage: Option<SessionCostSummary>,
    /// Whether a context weight report exists.
    pub has_context_weight: bool,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One session's accounting over the range.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCostSummary {
    /// Tokens and costs.
    #[serde(flatten)]
    pub totals: UsageTotals,
    /// Session id.
    pub session_id: String,
    /// Epoch ms of the first activity in the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_activity: Option<u64>,
    /// Epoch ms of the last activity in the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<u64>,
    /// `lastActivity - firstActivity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Days with activity.
    pub activity_dates: Vec<String>,
    /// Messages.
    pub message_counts: MessageCounts,
    /// Tool calls by tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_usage: Option<ToolUsage>,
    /// Tokens by model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_usage: Option<Vec<ModelUsage>>,
    /// Reply latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyStats>,
    /// Tokens by day.
    pub daily_breakdown: Vec<DailyUsage>,
    /// Messages by day.
    pub daily_message_counts: Vec<DailyMessageCounts>,
    /// Messages by UTC quarter hour.
    pub utc_quarter_hour_message_counts: Vec<QuarterHourMessageCounts>,
    /// Tokens by UTC quarter hour.
    pub utc_quarter_hour_token_usage: Vec<QuarterHourTokens>,
    /// Reply latency by day.
    pub daily_latency: Vec<DailyLatency>,
    /// Tokens by day and model.
    pub daily_model_usage: Vec<DailyModelUsage>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// Message counts (`total` is user plus assistant messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageCounts {
    /// User and assistant messages.
    pub total: u64,
    /// User messages.
    pub user: u64,
    /// Assistant messages.
    pub assistant: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Tool results.
    pub tool_results: u64,
    /// Failed tool results and runs that ended in an error, an abort or a timeout.
    pub errors: u64,
}

impl MessageCounts {
    /// Adds `other` in.
    pub fn add(&mut self, other: &MessageCounts) {
        self.total += other.total;
        self.user += other.user;
        self.assistant += other.assistant;
        self.tool_calls += other.tool_calls;
        self.tool_results += other.tool_results;
        self.errors += other.errors;
    }
}

/// Tool calls by tool.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUsage {
    /// All calls.
    pub total_calls: u64,
    /// Distinct tools.
    pub unique_tools: u64,
    /// Most called first.
    pub tools: Vec<ToolCount>,
}

/// Calls of one tool.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolCount {
    /// Tool name.
    pub name: String,
    /// Calls.
    pub count: u64,
}

/// Tokens of one model (or, in `byProvider`, one provider).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    /// Provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Usage entries (model calls that reported tokens).
    pub count: u64,
    /// Tokens and costs.
    pub totals: UsageTotals,
}

/// Latency of replies: from the user's message to the end of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyStats {
    /// Replies measured.
    pub count: u64,
    /// Mean.
    pub avg_ms: f64,
    /// 95th percentile.
    pub p95_ms: u64,
    /// Fastest.
    pub min_ms: u64,
    /// Slowest.
    pub max_ms: u64,
}

/// Tokens of one day.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyUsage {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// All tokens.
    pub tokens: u64,
    /// All costs.
    pub cost: f64,
    /// The breakdown.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// Messages of one day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyMessageCounts {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The counts.
    #[serde(flatten)]
    pub counts: MessageCounts,
}

/// Messages of one UTC quarter hour.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarterHourMessageCounts {
    /// UTC `YYYY-MM-DD`.
    pub date: String,
    /// 0..=95: the quarter hour of the UTC day.
    pub quarter_index: u32,
    /// The counts.
    #[serde(flatten)]
    pub counts: MessageCounts,
}

/// Tokens of one UTC quarter hour.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarterHourTokens {
    /// UTC `YYYY-MM-DD`.
    pub date: String,
    /// 0..=95: the quarter hour of the UTC day.
    pub quarter_index: u32,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache reads.
    pub cache_read: u64,
    /// Cache writes.
    pub cache_write: u64,
    /// All tokens.
    pub total_tokens: u64,
    /// All costs.
    pub total_cost: f64,
}

/// Reply latency of one day.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyLatency {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The statistics.
    #[serde(flatten)]
    pub stats: LatencyStats,
}

/// Tokens of one model on one day.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyModelUsage {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// All tokens.
    pub tokens: u64,
    /// All costs.
    pub cost: f64,
    /// Usage entries.
    pub count: u64,
}

/// Breakdowns over every matching session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageAggregates {
    /// Sessions with activity in the range.
    pub session_count: u64,
    /// The longest session's duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_session_duration_ms: Option<u64>,
    /// Messages.
    pub messages: MessageCounts,
    /// Tool calls.
    pub tools: ToolUsage,
    /// By model, most expensive (then most tokens) first.
    pub by_model: Vec<ModelUsage>,
    /// By provider.
    pub by_provider: Vec<ModelUsage>,
    /// By agent.
    pub by_agent: Vec<AgentUsage>,
    /// By messaging channel.
    pub by_channel: Vec<ChannelUsage>,
    /// By creator.
    pub by_creator: Vec<CreatorUsage>,
    /// Costs by day.
    pub cost_daily: Vec<DailyTotals>,
    /// Reply latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyStats>,
    /// Reply latency by day.
    pub daily_latency: Vec<DailyLatency>,
    /// Tokens by day and model.
    pub model_daily: Vec<DailyModelUsage>,
    /// Activity by day.
    pub daily: Vec<DailyActivity>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One agent's totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentUsage {
    /// Agent id.
    pub agent_id: String,
    /// Tokens and costs.
    pub totals: UsageTotals,
}

/// One channel's totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelUsage {
    /// Channel id.
    pub channel: String,
    /// Tokens and costs.
    pub totals: UsageTotals,
}

/// A creator, as `creatorOptions` lists it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageCreator {
    /// Opaque key (`["unknown"]` when the gateway does not know who created a session).
    pub key: String,
    /// Who it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Value>,
}

/// One creator's totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorUsage {
    /// Opaque key.
    pub key: String,
    /// Who it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Value>,
    /// Tokens and costs.
    pub totals: UsageTotals,
    /// Sessions with activity.
    pub session_count: u64,
    /// Tokens and costs by day.
    pub daily: Vec<DailyTotals>,
    /// Which days sessions were active.
    pub session_activity: Vec<SessionActivity>,
}

/// Sessions active on exactly these days.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionActivity {
    /// `YYYY-MM-DD`, sorted.
    pub dates: Vec<String>,
    /// Sessions.
    pub session_count: u64,
}

/// Tokens and costs of one day.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyTotals {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Tokens and costs.
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// Activity of one day.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyActivity {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// All tokens.
    pub tokens: u64,
    /// All costs.
    pub cost: f64,
    /// User and assistant messages.
    pub messages: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Errors.
    pub errors: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_empty_result_is_upstreams() {
        let v = serde_json::to_value(SessionsUsage {
            updated_at: 5,
            start_date: "2026-11-05".into(),
            end_date: "2026-12-04".into(),
            ..SessionsUsage::default()
        })
        .unwrap();
        let zero = json!({"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
            "totalTokens": 0, "totalCost": 0.0, "inputCost": 0.0, "outputCost": 0.0,
            "cacheReadCost": 0.0, "cacheWriteCost": 0.0, "missingCostEntries": 0});
        assert_eq!(
            v,
            json!({
                "updatedAt": 5, "startDate": "2026-11-05", "endDate": "2026-12-04",
                "sessions": [], "totals": zero,
                "aggregates": {"sessionCount": 0,
                    "messages": {"total": 0, "user": 0, "assistant": 0, "toolCalls": 0,
                        "toolResults": 0, "errors": 0},
                    "tools": {"totalCalls": 0, "uniqueTools": 0, "tools": []},
                    "byModel": [], "byProvider": [], "byAgent": [], "byChannel": [],
                    "byCreator": [], "costDaily": [], "dailyLatency": [], "modelDaily": [],
                    "daily": []},
                "creatorOptions": [],
            })
        );
    }

    #[test]
    fn a_session_summary_flattens_its_totals_and_round_trips() {
        let s = SessionCostSummary {
            totals: UsageTotals {
                input: 10,
                output: 3,
                total_tokens: 13,
                missing_cost_entries: 1,
                ..UsageTotals::default()
            },
            session_id: "s1".into(),
            daily_breakdown: vec![DailyUsage {
                date: "2026-12-04".into(),
                tokens: 13,
                cost: 0.0,
                totals: UsageTotals {
                    input: 10,
                    output: 3,
                    total_tokens: 13,
                    ..UsageTotals::default()
                },
            }],
            ..SessionCostSummary::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["input"], 10);
        assert_eq!(v["sessionId"], "s1");
        assert_eq!(v["dailyBreakdown"][0]["tokens"], 13);
        assert_eq!(v["dailyBreakdown"][0]["output"], 3);
        assert!(v.get("latency").is_none());
        let back: SessionCostSummary = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
