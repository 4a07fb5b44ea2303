//! Exec approvals: pending requests, decisions, expiry and the persisted allow-always list.
//!
//! It owns the approval lifecycle: a request gets a fresh id and is announced with
//! `exec.approval.requested` (to approvers); it ends exactly once, by a decision
//! (`exec.approval.resolve`), by expiry (deny) or because its run was aborted, and every end
//! is announced with `exec.approval.resolved`. An approval is bound to the exact command and
//! cwd it was asked for: the decision carries no command, and a resolve that names a different
//! command or cwd is refused. `allow-always` stores that exact `(command, cwd)` pair in
//! `<state>/exec-approvals.json` (written atomically). Every end is also kept, newest last, in
//! a bounded in-memory history ([`HISTORY_MAX`]) that `approval.history` pages through (it
//! starts empty with each run of the gateway: pending approvals do not survive a restart
//! either). It must never run anything, and never check scopes in place of the gateway (it
//! re-checks `operator.approvals` only as a backstop).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tether_protocol::approvals::{
    ApprovalHistory, ApprovalKind, ApprovalReason, ApprovalResolver, ApprovalSnapshot,
    ApprovalSource, ApprovalStatus, ExecApprovalPresentation,
};
use tether_protocol::events::{
    names as events, ExecApprovalRequest, ExecApprovalRequested, ExecApprovalResolved,
};
use tether_protocol::methods::{ApprovalDecision, ExecApprovalResolveParams};
use tether_protocol::{ErrorCode, ErrorShape, Map};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::methods::bus::{Audience, EventSink, OutEvent};
use crate::process::clock::now_ms;

/// Most ended approvals kept for `approval.history` (the oldest are forgotten first).
pub const HISTORY_MAX: usize = 200;
/// `approval.history`'s default page size.
pub const HISTORY_DEFAULT_LIMIT: usize = 50;
/// `approval.history`'s largest page.
pub const HISTORY_MAX_LIMIT: usize = 100;

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
    /// Ended approvals, oldest first, at most [`HISTORY_MAX`].
    history: VecDeque<ApprovalSnapshot>,
}

/// A page of history could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The cursor is not one this gateway issued.
    #[error("invalid approval.history cursor")]
    Cursor,
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
                history: VecDeque::new(),
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

    /// Where allow-always decisions are kept.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The allow-always decisions in force, oldest first: `(command, cwd)`.
    pub fn always_entries(&self) -> Vec<(String, String)> {
        self.lock()
            .always
            .iter()
            .map(|e| (e.command.clone(), e.cwd.clone()))
            .collect()
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
        let p = {
            let mut inner = self.lock();
            let Some(p) = inner.pending.remove(id) else {
                return;
            };
            let (status, why) = if reason == "expired" {
                (ApprovalStatus::Expired, ApprovalReason::Timeout)
            } else {
                (ApprovalStatus::Cancelled, ApprovalReason::RunAborted)
            };
            let system = ApprovalResolver {
                kind: "system".into(),
                id: None,
            };
            remember(
                &mut inner.history,
                ended(&p.payload, status, why, None, system),
            );
            p
        };
        self.announce_resolved(&p.payload, "deny", by, Some(reason));
    }

    /// Ended approvals, newest first: at most `limit` (1..=[`HISTORY_MAX_LIMIT`]) after
    /// `cursor` (the `nextCursor` of the previous page). Only `exec` approvals exist here, so
    /// another `kind` has none.
    pub fn history(
        &self,
        cursor: Option<&str>,
        limit: usize,
        kind: Option<&ApprovalKind>,
    ) -> Result<ApprovalHistory, HistoryError> {
        let after = cursor.map(decode_cursor).transpose()?;
        if kind.is_some_and(|k| *k != ApprovalKind::Exec) {
            return Ok(ApprovalHistory::default());
        }
        let limit = limit.clamp(1, HISTORY_MAX_LIMIT);
        let inner = self.lock();
        let mut newest_first: Vec<&ApprovalSnapshot> = inner.history.iter().collect();
        newest_first.sort_by(|a, b| {
            (b.resolved_at_ms, b.id.as_str()).cmp(&(a.resolved_at_ms, a.id.as_str()))
        });
        let mut page: Vec<ApprovalSnapshot> = newest_first
            .into_iter()
            .filter(|s| {
                after
                    .as_ref()
                    .is_none_or(|(at, id)| (s.resolved_at_ms, s.id.as_str()) < (*at, id.as_str()))
            })
            .take(limit + 1)
            .cloned()
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let next_cursor = match page.last() {
            Some(last) if more => Some(encode_cursor(last.resolved_at_ms, &last.id)),
            _ => None,
        };
        Ok(ApprovalHistory {
            items: page,
            next_cursor,
            extra: Map::new(),
        })
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
        resolver: ApprovalResolver,
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
        if let Some(offered) = &req.allowed_decisions {
            if !offered.iter().any(|d| d == decision.as_str()) {
                return Err(ErrorShape::invalid_request(format!(
                    "{} is not offered for this approval (offered: {}); it is still pending",
                    decision.as_str(),
                    offered.join(", ")
                )));
            }
        }
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
        let status = if decision == ApprovalDecision::Deny {
            ApprovalStatus::Denied
        } else {
            ApprovalStatus::Allowed
        };
        let snapshot = ended(
            &pending.payload,
            status,
            ApprovalReason::User,
            Some(decision.as_str()),
            resolver,
        );
        remember(&mut inner.history, snapshot);
        drop(inner);
        self.announce_resolved(&pending.payload, decision.as_str(), resolved_by, None);
        let _ = pending.tx.send(decision.clone());
        Ok(json!({"ok": true, "id": params.id, "decision": decision.as_str()}))
    }
}

/// Keeps `snapshot`, forgetting the oldest beyond [`HISTORY_MAX`].
fn remember(history: &mut VecDeque<ApprovalSnapshot>, snapshot: ApprovalSnapshot) {
    history.push_back(snapshot);
    while history.len() > HISTORY_MAX {
        history.pop_front();
    }
}

/// The history entry of a request that ended now.
fn ended(
    payload: &ExecApprovalRequested,
    status: ApprovalStatus,
    reason: ApprovalReason,
    decision: Option<&str>,
    resolver: ApprovalResolver,
) -> ApprovalSnapshot {
    let req = &payload.request;
    let text = |k: &str| req.extra.get(k).and_then(Value::as_str).map(str::to_owned);
    let created = payload.created_at_ms.unwrap_or(0);
    ApprovalSnapshot {
        id: payload.id.clone(),
        status,
        presentation: ExecApprovalPresentation {
            kind: ApprovalKind::Exec,
            command_text: req.command.clone(),
            command_preview: text("commandPreview"),
            host: text("host"),
            agent_id: req.agent_id.clone(),
            allowed_decisions: req
                .allowed_decisions
                .clone()
                .unwrap_or_else(|| vec!["allow-once".into(), "allow-always".into(), "deny".into()]),
        },
        url_path: format!("/approve/{}", payload.id),
        created_at_ms: created,
        expires_at_ms: payload.expires_at_ms.unwrap_or(created),
        resolved_at_ms: now_ms(),
        reason,
        decision: decision.map(str::to_owned),
        source: Some(ApprovalSource {
            agent_id: req.agent_id.clone(),
            session_key: req.session_key.clone(),
        }),
        resolver: Some(resolver),
        extra: Map::new(),
    }
}

/// A history cursor: where the previous page ended (`{v:1, resolvedAtMs, id}` as base64url
/// JSON, the form upstream uses; clients treat it as opaque).
fn encode_cursor(resolved_at_ms: u64, id: &str) -> String {
    let json = json!({"v": 1, "resolvedAtMs": resolved_at_ms, "id": id}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(raw: &str) -> Result<(u64, String), HistoryError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| HistoryError::Cursor)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| HistoryError::Cursor)?;
    match (
        v["v"].as_u64(),
        v["resolvedAtMs"].as_u64(),
        v["id"].as_str(),
    ) {
        (Some(1), Some(at), Some(id)) if !id.is_empty() => Ok((at, id.to_owned())),
        _ => Err(HistoryError::Cursor),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::bus::{Audience, OutEvent};

    struct Nowhere;

    impl EventSink for Nowhere {
        fn emit(&self, _event: OutEvent, _audience: Audience, _droppable: bool) {}
    }

    fn broker(dir: &std::path::Path) -> Arc<Approvals> {
        Arc::new(Approvals::new(
            dir.join("exec-approvals.json"),
            Arc::new(Nowhere),
        ))
    }

    fn request(command: &str) -> ExecApprovalRequest {
        let mut extra = Map::new();
        extra.insert("host".into(), json!("gateway"));
        extra.insert("commandPreview".into(), json!(command));
        ExecApprovalRequest {
            command: command.into(),
            cwd: Some("/ws".into()),
            session_key: Some("agent:main:main".into()),
            agent_id: Some("main".into()),
            run_id: Some("r1".into()),
            tool_call_id: Some("c1".into()),
            allowed_decisions: Some(vec![
                "allow-once".into(),
                "allow-always".into(),
                "deny".into(),
            ]),
            extra,
        }
    }

    /// Asks in a task; returns the approval id once announced, and the task's verdict.
    async fn ask(
        a: &Arc<Approvals>,
        command: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> (String, tokio::task::JoinHandle<Verdict>) {
        let (tx, rx) = oneshot::channel();
        let a = a.clone();
        let req = request(command);
        let task = tokio::spawn(async move {
            a.ask(req, timeout, &cancel, |id| {
                let _ = tx.send(id.to_owned());
            })
            .await
        });
        (rx.await.expect("announced"), task)
    }

    fn decide(id: &str, decision: ApprovalDecision) -> ExecApprovalResolveParams {
        ExecApprovalResolveParams {
            id: id.into(),
            decision,
            extra: Map::new(),
        }
    }

    fn device() -> ApprovalResolver {
        ApprovalResolver {
            kind: "device".into(),
            id: Some("d1".into()),
        }
    }

    const LONG: Duration = Duration::from_secs(600);

    #[tokio::test]
    async fn a_decision_the_request_does_not_offer_is_refused_and_the_request_stays_pending() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = broker(dir.path());
        let mut req = request("touch y");
        req.allowed_decisions = Some(vec!["allow-once".into(), "deny".into()]);
        let (tx, rx) = oneshot::channel();
        let broker_ = a.clone();
        let task = tokio::spawn(async move {
            broker_
                .ask(req, LONG, &CancellationToken::new(), |id| {
                    let _ = tx.send(id.to_owned());
                })
                .await
        });
        let id = rx.await.expect("announced");
        let err = a
            .resolve("ui", device(), &decide(&id, ApprovalDecision::AllowAlways))
            .expect_err("allow-always is not offered");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(
            err.message.contains(
                "allow-always is not offered for this approval (offered: allow-once, deny)"
            ),
            "{}",
            err.message
        );
        assert_eq!(a.list().len(), 1, "still pending");
        a.resolve("ui", device(), &decide(&id, ApprovalDecision::AllowOnce))
            .expect("an offered decision");
        assert_eq!(task.await.expect("task"), Verdict::Allow { always: false });
        assert!(!a.is_always_allowed("touch y", "/ws"), "nothing was stored");
    }

    #[tokio::test]
    async fn a_resolved_approval_is_in_the_history_as_upstream_shows_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = broker(dir.path());
        assert!(a.history(None, 50, None).expect("empty").items.is_empty());
        let (id, task) = ask(&a, "touch x", LONG, CancellationToken::new()).await;
        // Pending approvals are not history.
        assert!(a.history(None, 50, None).expect("page").items.is_empty());
        a.resolve("ui", device(), &decide(&id, ApprovalDecision::AllowOnce))
            .expect("resolved");
        assert_eq!(task.await.expect("task"), Verdict::Allow { always: false });
        let page = a.history(None, 50, None).expect("page");
        assert_eq!(page.next_cursor, None);
        let item = &page.items[0];
        assert_eq!(item.id, id);
        assert_eq!(item.status, ApprovalStatus::Allowed);
        assert_eq!(item.decision.as_deref(), Some("allow-once"));
        assert_eq!(item.reason, ApprovalReason::User);
        assert_eq!(item.resolver, Some(device()));
        assert_eq!(item.presentation.command_text, "touch x");
        assert_eq!(item.presentation.host.as_deref(), Some("gateway"));
        assert_eq!(item.url_path, format!("/approve/{id}"));
        assert_eq!(
            item.source.as_ref().and_then(|s| s.session_key.as_deref()),
            Some("agent:main:main")
        );
        assert!(item.resolved_at_ms >= item.created_at_ms);
        // Only exec approvals exist here.
        let plugins = a
            .history(None, 50, Some(&ApprovalKind::Plugin))
            .expect("page");
        assert!(plugins.items.is_empty());
        let exec = a
            .history(None, 50, Some(&ApprovalKind::Exec))
            .expect("page");
        assert_eq!(exec.items.len(), 1);
    }

    #[tokio::test]
    async fn denied_expired_and_cancelled_approvals_end_in_the_history_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = broker(dir.path());
        let (denied, task) = ask(&a, "rm x", LONG, CancellationToken::new()).await;
        a.resolve("ui", device(), &decide(&denied, ApprovalDecision::Deny))
            .expect("denied");
        assert_eq!(task.await.expect("task"), Verdict::Deny { expired: false });
        // Nobody answers: it expires by itself (the test waits for the verdict, not a time).
        let (expired, task) = ask(
            &a,
            "sleep 1",
            Duration::from_millis(20),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(task.await.expect("task"), Verdict::Deny { expired: true });
        let cancel = CancellationToken::new();
        let (cancelled, task) = ask(&a, "ls", LONG, cancel.clone()).await;
        cancel.cancel();
        assert_eq!(task.await.expect("task"), Verdict::Cancelled);
        let items = a.history(None, 50, None).expect("page").items;
        let find = |id: &str| items.iter().find(|i| i.id == id).expect("in history");
        let d = find(&denied);
        assert_eq!(d.status, ApprovalStatus::Denied);
        assert_eq!(d.decision.as_deref(), Some("deny"));
        let e = find(&expired);
        assert_eq!(e.status, ApprovalStatus::Expired);
        assert_eq!(e.reason, ApprovalReason::Timeout);
        assert_eq!(e.decision, None);
        assert_eq!(e.resolver.as_ref().map(|r| r.kind.as_str()), Some("system"));
        let c = find(&cancelled);
        assert_eq!(c.status, ApprovalStatus::Cancelled);
        assert_eq!(c.reason, ApprovalReason::RunAborted);
        // A resolve after the end changes nothing.
        assert!(a
            .resolve(
                "ui",
                device(),
                &decide(&expired, ApprovalDecision::AllowOnce)
            )
            .is_err());
        assert_eq!(a.history(None, 50, None).expect("page").items.len(), 3);
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_newest_first_without_gaps_or_repeats() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = broker(dir.path());
        for n in 0..5 {
            let (id, task) = ask(&a, &format!("echo {n}"), LONG, CancellationToken::new()).await;
            a.resolve("ui", device(), &decide(&id, ApprovalDecision::AllowOnce))
                .expect("resolved");
            task.await.expect("task");
        }
        let all = a.history(None, 100, None).expect("all").items;
        assert_eq!(all.len(), 5);
        for pair in all.windows(2) {
            assert!(
                (pair[0].resolved_at_ms, pair[0].id.as_str())
                    > (pair[1].resolved_at_ms, pair[1].id.as_str()),
                "newest first"
            );
        }
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = a.history(cursor.as_deref(), 2, None).expect("page");
            assert!(page.items.len() <= 2);
            paged.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(paged, all);
        assert_eq!(
            a.history(Some("not-a-cursor"), 2, None),
            Err(HistoryError::Cursor)
        );
    }

    #[test]
    fn the_history_keeps_the_newest_few_hundred() {
        let payload = ExecApprovalRequested {
            id: "x".into(),
            request: request("ls"),
            created_at_ms: Some(1),
            expires_at_ms: Some(2),
            extra: Map::new(),
        };
        let mut history = VecDeque::new();
        for n in 0..HISTORY_MAX + 5 {
            let mut s = ended(
                &payload,
                ApprovalStatus::Denied,
                ApprovalReason::User,
                Some("deny"),
                device(),
            );
            s.id = format!("a{n}");
            remember(&mut history, s);
        }
        assert_eq!(history.len(), HISTORY_MAX);
        assert_eq!(history.front().map(|s| s.id.as_str()), Some("a5"));
        let cursor = encode_cursor(7, "a9");
        assert_eq!(decode_cursor(&cursor), Ok((7, "a9".to_owned())));
    }
}
