//! The diagnostics journal: every transition with its reason and time, exportable as JSON.
//!
//! It owns a bounded ring of the supervisor's own events (`status`, `governor`, `diagnostic`),
//! each stamped with wall-clock milliseconds, and builds the export users attach to bug reports:
//! the journal plus the current status, governor and backoff counters, the last exit and the last
//! child output lines — already redacted, so the export holds no token. It never reads files or
//! sockets.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{json, Value};

use crate::events::SupervisorEvent;

/// Entries kept.
pub const JOURNAL_ENTRIES: usize = 500;

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Wall-clock epoch ms.
    pub at_ms: u64,
    /// What happened.
    pub event: SupervisorEvent,
}

/// The journal.
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<Entry>,
    dropped: u64,
}

impl Journal {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an event if it is a transition-worthy kind.
    pub fn record(&mut self, at_ms: u64, event: &SupervisorEvent) {
        if !matches!(
            event,
            SupervisorEvent::Status(_)
                | SupervisorEvent::Governor(_)
                | SupervisorEvent::Diagnostic(_)
        ) {
            return;
        }
        if self.entries.len() == JOURNAL_ENTRIES {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(Entry {
            at_ms,
            event: event.clone(),
        });
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The export: `extra` (status, counters, output...) plus the journal.
    pub fn export(&self, captured_at_ms: u64, extra: Value) -> Value {
        let mut v = json!({
            "capturedAtMs": captured_at_ms,
            "journalDropped": self.dropped,
            "journal": self.entries,
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Diagnostic, DiagnosticCode};

    #[test]
    fn bounded_and_selective() {
        let mut j = Journal::new();
        for i in 0..(JOURNAL_ENTRIES as u64 + 5) {
            j.record(
                i,
                &SupervisorEvent::Diagnostic(Diagnostic::new(DiagnosticCode::Other, "y")),
            );
        }
        j.record(
            1,
            &SupervisorEvent::Gateway(crate::events::GatewayEvent {
                event: "health".into(),
                payload: Value::Null,
            }),
        );
        assert_eq!(j.entries().count(), JOURNAL_ENTRIES);
        assert_eq!(j.entries().next().unwrap().at_ms, 5);
        let e = j.export(9, json!({"status": {"phase": "running"}}));
        assert_eq!(e["journalDropped"], 5);
        assert_eq!(e["status"]["phase"], "running");
        assert_eq!(e["journal"][0]["event"]["type"], "diagnostic");
    }
}
