//! `diagnostics.lanes`: how much work a gateway runs and holds back, in upstream's shape
//! (`src/process/command-lane-diagnostics.ts`): fixed lanes with a concurrency limit each, and
//! the per-session lanes summed up as `dynamic`.

use serde::{Deserialize, Serialize};

use crate::Map;

/// Upstream's number for "no limit" (`Number.MAX_SAFE_INTEGER`).
pub const UNLIMITED: u64 = 9_007_199_254_740_991;

/// `diagnostics.lanes` result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsLanes {
    /// Epoch ms.
    pub ts: u64,
    /// The fixed lanes.
    pub lanes: Vec<CommandLane>,
    /// The per-session lanes, summed; `null` when there are none.
    pub dynamic: Option<DynamicLanes>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// One fixed lane.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandLane {
    /// Lane name (`main`, …).
    pub lane: String,
    /// Work waiting for a free slot.
    pub queued_count: u64,
    /// Work running.
    pub active_count: u64,
    /// Slots ([`UNLIMITED`] when there is no limit).
    pub max_concurrent: u64,
    /// Whether the lane refuses new work while it finishes what it has.
    pub draining: bool,
    /// Bumped when the lane is reset.
    pub generation: u64,
    /// What holds it back, if anything.
    pub blocked_by: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

/// The per-session lanes, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicLanes {
    /// Lanes that exist (sessions with work).
    pub lane_count: u64,
    /// Work running.
    pub active_count: u64,
    /// Work waiting.
    pub queued_count: u64,
    /// Lanes with work waiting.
    pub queued_lane_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_idle_main_lane_is_upstreams_row() {
        let v = serde_json::to_value(DiagnosticsLanes {
            ts: 1,
            lanes: vec![CommandLane {
                lane: "main".into(),
                max_concurrent: UNLIMITED,
                ..CommandLane::default()
            }],
            dynamic: None,
            extra: Map::new(),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"ts": 1, "lanes": [{"lane": "main", "queuedCount": 0, "activeCount": 0,
                "maxConcurrent": 9_007_199_254_740_991_u64, "draining": false, "generation": 0,
                "blockedBy": null}], "dynamic": null})
        );
    }
}
