//! `agent` events: the detailed stream of a run (lifecycle, assistant text, tools, items,
//! command output, status).
//!
//! The envelope ([`AgentEvent`]) carries `runId`, a per-run `seq` that increases by exactly one
//! per event, the `stream` name and a `data` object whose shape depends on the stream. `data`
//! stays a JSON value on the envelope (so unknown streams pass through untouched);
//! [`AgentEvent::data`] gives the typed view ([`AgentData`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::macros::string_enum;
use crate::maybe::Maybe;
use crate::Map;

string_enum! {
    /// `agent.stream`.
    pub enum AgentStream {
        Lifecycle = "lifecycle",
        Assistant = "assistant",
        Tool = "tool",
        Item = "item",
        Plan = "plan",
        Approval = "approval",
        CommandOutput = "command_output",
        Patch = "patch",
        Compaction = "compaction",
        Thinking = "thinking",
        Error = "error",
        /// v4: preparation phases before the model starts.
        RunStatus = "run_status",
        /// v4: token usage.
        Usage = "usage",
    }
}

/// `agent` event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    /// The run.
    pub run_id: String,
    /// Per-run sequence: starts at 1, +1 per event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Which stream.
    pub stream: AgentStream,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// The session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// v4: the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Stream-specific data; see [`AgentData`].
    #[serde(default)]
    pub data: Value,
    /// Fields this version does not model (`sessionId`, `isHeartbeat`, session snapshots).
    #[serde(flatten)]
    pub extra: Map,
}

impl AgentEvent {
    /// Builds an event from typed data.
    pub fn new(
        run_id: impl Into<String>,
        seq: u64,
        ts: u64,
        session_key: impl Into<String>,
        data: AgentData,
    ) -> Self {
        AgentEvent {
            run_id: run_id.into(),
            seq: Some(seq),
            stream: data.stream(),
            ts: Some(ts),
            session_key: Some(session_key.into()),
            agent_id: None,
            data: data.to_value(),
            extra: Map::new(),
        }
    }

    /// The typed view of `data`.
    pub fn data(&self) -> Result<AgentData, serde_json::Error> {
        AgentData::parse(&self.stream, &self.data)
    }
}

/// Typed `agent.data`, one variant per stream Tether reads.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentData {
    /// `lifecycle`.
    Lifecycle(LifecycleData),
    /// `assistant`.
    Assistant(AssistantData),
    /// `tool`.
    Tool(ToolData),
    /// `item`.
    Item(ItemData),
    /// `command_output`.
    CommandOutput(CommandOutputData),
    /// `run_status`.
    RunStatus(RunStatusData),
    /// `error`.
    Error(ErrorData),
    /// Any other stream, data kept as sent.
    Other(AgentStream, Value),
}

impl AgentData {
    /// Parses `data` for `stream`.
    pub fn parse(stream: &AgentStream, data: &Value) -> Result<AgentData, serde_json::Error> {
        Ok(match stream {
            AgentStream::Lifecycle => AgentData::Lifecycle(LifecycleData::deserialize(data)?),
            AgentStream::Assistant => AgentData::Assistant(AssistantData::deserialize(data)?),
            AgentStream::Tool => AgentData::Tool(ToolData::deserialize(data)?),
            AgentStream::Item => AgentData::Item(ItemData::deserialize(data)?),
            AgentStream::CommandOutput => {
                AgentData::CommandOutput(CommandOutputData::deserialize(data)?)
            }
            AgentStream::RunStatus => AgentData::RunStatus(RunStatusData::deserialize(data)?),
            AgentStream::Error => AgentData::Error(ErrorData::deserialize(data)?),
            other => AgentData::Other(other.clone(), data.clone()),
        })
    }

    /// The stream this data belongs to.
    pub fn stream(&self) -> AgentStream {
        match self {
            AgentData::Lifecycle(_) => AgentStream::Lifecycle,
            AgentData::Assistant(_) => AgentStream::Assistant,
            AgentData::Tool(_) => AgentStream::Tool,
            AgentData::Item(_) => AgentStream::Item,
            AgentData::CommandOutput(_) => AgentStream::CommandOutput,
            AgentData::RunStatus(_) => AgentStream::RunStatus,
            AgentData::Error(_) => AgentStream::Error,
            AgentData::Other(s, _) => s.clone(),
        }
    }

    /// Serializes the data back to JSON.
    pub fn to_value(&self) -> Value {
        let v = match self {
            AgentData::Lifecycle(d) => serde_json::to_value(d),
            AgentData::Assistant(d) => serde_json::to_value(d),
            AgentData::Tool(d) => serde_json::to_value(d),
            AgentData::Item(d) => serde_json::to_value(d),
            AgentData::CommandOutput(d) => serde_json::to_value(d),
            AgentData::RunStatus(d) => serde_json::to_value(d),
            AgentData::Error(d) => serde_json::to_value(d),
            AgentData::Other(_, v) => Ok(v.clone()),
        };
        // These types hold only strings, numbers, bools and JSON values: they always serialize.
        v.unwrap_or(Value::Null)
    }
}

string_enum! {
    /// `lifecycle.phase`.
    pub enum LifecyclePhase {
        Start = "start",
        /// v4: model selected.
        Model = "model",
        /// v4: wrapping up.
        Finishing = "finishing",
        /// The run waits for a person to decide an approval (`approvalId`, `toolCallId`).
        WaitingApproval = "waiting-approval",
        /// That approval was decided (or expired, or the run was aborted).
        ApprovalResolved = "approval-resolved",
        End = "end",
        Error = "error",
    }
}

/// `lifecycle` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleData {
    /// Which phase.
    pub phase: LifecyclePhase,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// `end`: whether the run was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<bool>,
    /// `end`: why it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// `error`: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `model`: provider id (may be `null`).
    #[serde(default, skip_serializing_if = "Maybe::is_absent")]
    pub provider: Maybe<String>,
    /// `model`: model id (may be `null`).
    #[serde(default, skip_serializing_if = "Maybe::is_absent")]
    pub model: Maybe<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl LifecycleData {
    /// A lifecycle event of `phase` with nothing else set.
    pub fn new(phase: LifecyclePhase) -> Self {
        LifecycleData {
            phase,
            started_at: None,
            ended_at: None,
            aborted: None,
            stop_reason: None,
            error: None,
            provider: Maybe::Absent,
            model: Maybe::Absent,
            extra: Map::new(),
        }
    }
}

/// `assistant` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantData {
    /// Cumulative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The increment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<String>,
    /// The text was rewritten, not extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// Fields this version does not model (`itemId`, `mediaUrls`, `phase`).
    #[serde(flatten)]
    pub extra: Map,
}

string_enum! {
    /// `tool.phase`.
    pub enum ToolPhase {
        Start = "start",
        Update = "update",
        Result = "result",
    }
}

/// `tool` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolData {
    /// Which phase.
    pub phase: ToolPhase,
    /// Tool name.
    pub name: String,
    /// Tool call id.
    pub tool_call_id: String,
    /// `start`: arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// `update`: partial result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_result: Option<Value>,
    /// `result`: result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// `result`: whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `item` data: a UI-level unit of work (a tool call, a command, a patch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemData {
    /// Item id, e.g. `tool:<toolCallId>`.
    pub item_id: String,
    /// `start`, `update` or `end`.
    pub phase: String,
    /// `tool`, `command`, `patch`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Title for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `running`, `completed`, `failed`, `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<String>,
    /// Tool call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// Epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// Failure text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Summary for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Approval this item waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `command_output` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutputData {
    /// Item id, e.g. `command:<toolCallId>`.
    pub item_id: String,
    /// `delta` or `end`.
    pub phase: String,
    /// Title for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Tool call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `delta`: new output; `end`: the whole (capped) output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `running`, `completed`, `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `end`: exit code (`null` when killed by a signal).
    #[serde(default, skip_serializing_if = "Maybe::is_absent")]
    pub exit_code: Maybe<i64>,
    /// `end`: wall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `run_status` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatusData {
    /// `preparing_workspace`, `preparing_context`, `starting_model`, ...
    pub phase: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// `error` data (e.g. the gateway's own `seq gap` report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `seq gap`: expected seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// `seq gap`: received seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_data_round_trips() {
        let e: AgentEvent = serde_json::from_value(json!({
            "runId":"r","seq":4,"stream":"tool","ts":9,"sessionKey":"agent:main:main",
            "data":{"phase":"start","name":"exec","toolCallId":"c1","args":{"command":"ls"},"commandBearing":true},
            "isHeartbeat":false
        }))
        .unwrap();
        let AgentData::Tool(t) = e.data().unwrap() else {
            panic!()
        };
        assert_eq!(t.phase, ToolPhase::Start);
        assert_eq!(t.extra["commandBearing"], true);
        assert_eq!(AgentData::Tool(t).to_value(), e.data);
    }

    #[test]
    fn unknown_stream_passes_through() {
        let e: AgentEvent =
            serde_json::from_value(json!({"runId":"r","stream":"telepathy","data":{"x":[1]}}))
                .unwrap();
        let d = e.data().unwrap();
        assert_eq!(d.stream(), AgentStream::Other("telepathy".into()));
        assert_eq!(d.to_value(), json!({"x":[1]}));
    }

    #[test]
    fn builder_sets_stream_from_data() {
        let e = AgentEvent::new(
            "r",
            1,
            5,
            "agent:main:main",
            AgentData::Lifecycle(LifecycleData::new(LifecyclePhase::Start)),
        );
        assert_eq!(e.stream, AgentStream::Lifecycle);
        assert_eq!(e.data, json!({"phase":"start"}));
    }
}
