//! Exec approvals: pending requests, decisions, expiry and the persisted allow-always list.
//!
//! It owns the approval lifecycle: a request gets a fresh id and is announced with
//! `exec.approval.requested` (to approvers); it ends exactly once, by a decision
//! (`exec.approval.resolve`), by expiry (deny) or because its run was aborted, and every end
//! is announced with `exec.approval.resolved`. An approval is bound to the exact command and
//! cwd it was asked for: the decision carries no command, and a resolve that names a different
//! command or cwd is refused. `allow-always` stores that exact `(command, cwd)` pair in
//! `<state>/exec-approvals.json` (written atomically). It must never run anything, and never
//! check scopes in place of the gateway (it re-checks `operator.approvals` only as a backstop).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tether_protocol::events::{
    names as events, ExecApprovalRequest, ExecApprovalRequested, ExecApprovalResolved,
};
use tether_protocol::methods::{ApprovalDecision, ExecApprovalResolveParams};
use tether_protocol::{ErrorCode, ErrorShape, Map};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::methods::bus::{Audience, EventSink, OutEvent};
use crate::process::clock::now_ms;

/// How a request ended, from the asking run's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it (`always`: the pair was also stored).
    Allow {
        /// Stored for next time.
        always: bool,
    },
    /// Do not run it (`expired`: nobody answered in time).
    Deny {
        /// Timed out.
        expired: bool,
    },
    /// The run was aborted while waiting.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlwaysEntry {
    command: String,
    cwd: String,
    added_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlwaysFile {
    version: u32,
    allow_always: Vec<AlwaysEntry>,
}

struct Pending {
    payload: ExecApprovalRequested,
    tx: oneshot::Sender<ApprovalDecision>,
}

struct Inner {
    pending: HashMap<String, Pending>,
    always: Vec<AlwaysEntry>,
}

/// The approval broker.
pub struct Approvals {
    inner: Mutex<Inner>,
    path: PathBuf,
    sink: Arc<dyn EventSink>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("path", &self.path)
            .finish()
    }
}

impl Approvals {
    /// Loads the allow-always list from `path` (a missing or unreadable file is an empty list).
    pub fn new(path: PathBuf, sink: Arc<dyn EventSink>) -> Approvals {
        let always = crate::process::regular_file::read(&path, 4 << 20)
            .ok()
            .and_then(|(b, _)| serde_json::from_slice::<AlwaysFile>(&b).ok())
            .map(|f| f.allow_always)
            .unwrap_or_default();
        Approvals {
            inner: Mutex::new(Inner {
                pending: HashMap::new(),
                always,
            }),
            path,
            sink,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether this exact `(command, cwd)` was allowed always.
    pub fn is_always_allowed(&self, command: &str, cwd: &str) -> bool {
        self.lock()
            .always
            .iter()
            .any(|e| e.command == command && e.cwd == cwd)
    }

    /// Pending requests, oldest first.
    pub fn list(&self) -> Vec<ExecApprovalRequested> {
        let mut v: Vec<_> = self
            .lock()
            .pending
            .values()
            .map(|p| p.payload.clone())
            .collect();
        v.sort_by_key(|p| p.created_at_ms);
        v
    }

    /// How many requests wait.
    pub fn pending_count(&self) -> usize {
        self.lock().pending.len()
    }

    /// Asks approvers about `request` and waits for the decision, the timeout or `cancel`.
    /// `announced` is called with the approval id right after the request event went out.
    pub async fn ask(
        &self,
        request: ExecApprovalRequest,
        timeout: Duration,
        cancel: &CancellationToken,
        announced: impl FnOnce(&str),
    ) -> Verdict {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let payload = ExecApprovalRequested {
            id: id.clone(),
            request,
            created_at_ms: Some(now),
            expires_at_ms: Some(now + u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            extra: Map::new(),
        };
        let (tx, rx) = oneshot::channel();
        self.lock().pending.insert(
            id.clone(),
            Pending {
                payload: payload.clone(),
                tx,
            },
        );
        self.sink.emit(
            OutEvent::Named {
                event: events::EXEC_APPROVAL_REQUESTED,
                payload: serde_json::to_value(&payload).unwrap_or(Value::Null),
            },
            Audience::Approvers,
            false,
        );
        announced(&id);
        tokio::select! {
            d = rx => match d {
                Ok(ApprovalDecision::AllowOnce) => Verdict::Allow { always: false },
                Ok(ApprovalDecision::AllowAlways) => Verdict::Allow { always: true },
                Ok(_) | Err(_) => Verdict::Deny { expired: false },
            },
            _ = tokio::time::sleep(timeout) => {
                self.finish_unanswered(&id, "expired", "timeout");
                Verdict::Deny { expired: true }
            }
            _ = cancel.cancelled() => {
                self.finish_unanswered(&id, "cancelled", "run aborted");
                Verdict::Cancelled
            }
        }
    }

    fn finish_unanswered(&self, id: &str, reason: &str, by: &str) {
        let Some(p) = self.lock().pending.remove(id) else {
            return;
        };
        self.announce_resolved(&p.payload, "deny", by, Some(reason));
    }

    fn announce_resolved(
        &self,
        payload: &ExecApprovalRequested,
        decision: &str,
        by: &str,
        reason: Option<&str>,
    ) {
        let mut extra = Map::new();
        extra.insert(
            "request".into(),
            serde_json::to_value(&payload.request).unwrap_or(Value::Null),
        );
        if let Some(r) = reason {
            extra.insert("reason".into(), json!(r));
        }
        let resolved = ExecApprovalResolved {
            id: payload.id.clone(),
            decision: decision.into(),
            resolved_by: Some(by.into()),
            ts: Some(now_ms()),
            extra,
        };
        self.sink.emit(
            OutEvent::Named {
                event: events::EXEC_APPROVAL_RESOLVED,
                payload: serde_json::to_value(&resolved).unwrap_or(Value::Null),
            },
            Audience::Approvers,
            false,
        );
    }

    /// Applies a decision. A `command` or `cwd` in the params must equal the pending request's.
    #[allow(clippy::result_large_err)] // the protocol's error shape, returned as is
    pub fn resolve(
        &self,
        resolved_by: &str,
        params: &ExecApprovalResolveParams,
    ) -> Result<Value, ErrorShape> {
        let mut inner = self.lock();
        let Some(pending) = inner.pending.get(&params.id) else {
            return Err(ErrorShape::new(
                ErrorCode::ApprovalNotFound,
                format!("unknown or expired approval id {:?}", params.id),
            ));
        };
        let req = &pending.payload.request;
        let cmd_ok = params
            .extra
            .get("command")
            .is_none_or(|c| c.as_str() == Some(req.command.as_str()));
        let cwd_ok = params
            .extra
            .get("cwd")
            .is_none_or(|c| c.as_str() == req.cwd.as_deref());
        if !cmd_ok || !cwd_ok {
            return Err(ErrorShape::invalid_request(
                "approval does not match the pending command; an approval is bound to the exact command and cwd it was requested for",
            ));
        }
        let decision = match &params.decision {
            d @ (ApprovalDecision::AllowOnce
            | ApprovalDecision::AllowAlways
            | ApprovalDecision::Deny) => d.clone(),
            ApprovalDecision::Other(s) => {
                return Err(ErrorShape::invalid_request(format!(
                    "unknown decision {s:?} (allow-once, allow-always or deny)"
                )))
            }
        };
        let Some(pending) = inner.pending.remove(&params.id) else {
            return Err(ErrorShape::new(
                ErrorCode::ApprovalNotFound,
                "approval vanished",
            ));
        };
        if decision == ApprovalDecision::AllowAlways {
            let entry = AlwaysEntry {
                command: pending.payload.request.command.clone(),
                cwd: pending.payload.request.cwd.clone().unwrap_or_default(),
                added_at: now_ms(),
            };
            if !inner
                .always
                .iter()
                .any(|e| e.command == entry.command && e.cwd == entry.cwd)
            {
                inner.always.push(entry);
            }
            let file = AlwaysFile {
                version: 1,
                allow_always: inner.always.clone(),
            };
            if let Err(e) = write_atomic(&self.path, &file) {
                tracing::warn!(path = %self.path.display(), error = %e, "could not persist allow-always approval");
            }
        }
        drop(inner);
        self.announce_resolved(&pending.payload, decision.as_str(), resolved_by, None);
        let _ = pending.tx.send(decision.clone());
        Ok(json!({"ok": true, "id": params.id, "decision": decision.as_str()}))
    }
}

fn write_atomic(path: &std::path::Path, file: &AlwaysFile) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
