//! The run registry: active runs (for abort, wait and tool-event routing) and the idempotency
//! cache of finished ones.
//!
//! It owns run ids (= idempotency keys), each active run's cancellation token and stop reason
//! (first writer wins: `rpc`, `timeout`, `shutdown`, `reset`), its owner, the connections that
//! receive its `stream:"tool"` events, and a `watch` channel that resolves to the outcome. The
//! cache keeps finished outcomes for 5 minutes, at most 1000 entries (upstream's
//! `DEDUPE_TTL_MS`/`DEDUPE_MAX`). It must never run anything or emit events.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tether_protocol::chat::{ChatState, ErrorKind};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::methods::bus::ConnId;

/// How long finished runs stay in the idempotency cache.
pub const DEDUPE_TTL: Duration = Duration::from_secs(300);
/// Most finished runs kept.
pub const DEDUPE_MAX: usize = 1000;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// `final`, `aborted` or `error`.
    pub state: ChatState,
    /// Stop reason (`stop`, `rpc`, `timeout`, ...).
    pub stop_reason: Option<String>,
    /// Error text.
    pub error: Option<String>,
    /// Error kind.
    pub error_kind: Option<ErrorKind>,
    /// The assistant's whole visible text.
    pub text: String,
    /// Epoch ms.
    pub started_at: u64,
    /// Epoch ms.
    pub ended_at: u64,
    /// Provider used.
    pub provider: Option<String>,
    /// Model used.
    pub model: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// Token usage `(input, output)`.
    pub usage: Option<(u64, u64)>,
}

/// An active run.
#[derive(Debug, Clone)]
pub struct ActiveRun {
    /// Canonical session key.
    pub session_key: String,
    /// Cancels the run.
    pub cancel: CancellationToken,
    /// Why it is being stopped (first writer wins).
    pub reason: Arc<Mutex<Option<String>>>,
    /// Connection that started it.
    pub owner_conn: Option<ConnId>,
    /// Client label of the starter.
    pub owner_client: String,
    /// Connections that get its tool events.
    pub tool_conns: Arc<Mutex<Vec<ConnId>>>,
    /// Resolves to the outcome.
    pub done: watch::Receiver<Option<Arc<RunOutcome>>>,
    /// Epoch ms.
    pub accepted_at: u64,
}

impl ActiveRun {
    /// Sets the stop reason (if none yet) and cancels.
    pub fn stop(&self, reason: &str) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
            if r.is_none() {
                *r = Some(reason.to_owned());
            }
        }
        self.cancel.cancel();
    }

    /// The stop reason, if set.
    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What the registry knows about a run id.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Running or queued.
    Active(ActiveRun),
    /// Finished recently.
    Done(Arc<RunOutcome>),
    /// Unknown (or expired from the cache).
    Unknown,
}

#[derive(Debug, Default)]
struct Inner {
    active: HashMap<String, ActiveRun>,
    done: HashMap<String, (Instant, Arc<RunOutcome>)>,
    order: VecDeque<String>,
}

/// The registry.
#[derive(Debug, Default)]
pub struct Runs {
    inner: Mutex<Inner>,
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks a run id up.
    pub fn lookup(&self, run_id: &str) -> Lookup {
        let mut g = self.lock();
        prune(&mut g, Instant::now());
        if let Some(a) = g.active.get(run_id) {
            return Lookup::Active(a.clone());
        }
        if let Some((_, o)) = g.done.get(run_id) {
            return Lookup::Done(o.clone());
        }
        Lookup::Unknown
    }

    /// Registers a new run unless the id is already known; returns what was there instead.
    pub fn insert(&self, run_id: &str, run: ActiveRun) -> Result<(), Lookup> {
        let mut g = self.lock();
        prune(&mut g, Instant::now());
        if let Some(a) = g.active.get(run_id) {
            return Err(Lookup::Active(a.clone()));
        }
        if let Some((_, o)) = g.done.get(run_id) {
            return Err(Lookup::Done(o.clone()));
        }
        // Connections with the tool-events cap that started a run also follow the other
        // active runs of the same session, and vice versa.
        let mut mine = run.tool_conns.lock().map(|c| c.clone()).unwrap_or_default();
        for other in g.active.values() {
            if other.session_key != run.session_key {
                continue;
            }
            if let Ok(mut theirs) = other.tool_conns.lock() {
                for c in &mine {
                    if !theirs.contains(c) {
                        theirs.push(*c);
                    }
                }
                for c in theirs.iter() {
                    if !mine.contains(c) {
                        mine.push(*c);
                    }
                }
            }
        }
        if let Ok(mut t) = run.tool_conns.lock() {
            *t = mine;
        }
        g.active.insert(run_id.to_owned(), run);
        Ok(())
    }

    /// Moves a run to the cache.
    pub fn finish(&self, run_id: &str, outcome: Arc<RunOutcome>) {
        let mut g = self.lock();
        g.active.remove(run_id);
        g.done.insert(run_id.to_owned(), (Instant::now(), outcome));
        g.order.push_back(run_id.to_owned());
        prune(&mut g, Instant::now());
    }

    /// Active runs of a session (`None`: all sessions).
    pub fn active(&self, session_key: Option<&str>) -> Vec<(String, ActiveRun)> {
        self.lock()
            .active
            .iter()
            .filter(|(_, r)| session_key.is_none_or(|k| r.session_key == k))
            .map(|(id, r)| (id.clone(), r.clone()))
            .collect()
    }

    /// Number of active runs.
    pub fn active_count(&self) -> usize {
        self.lock().active.len()
    }

    /// Removes a closed connection from every run's tool-event audience.
    pub fn forget_conn(&self, conn: ConnId) {
        for r in self.lock().active.values() {
            if let Ok(mut t) = r.tool_conns.lock() {
                t.retain(|c| *c != conn);
            }
        }
    }
}

fn prune(g: &mut Inner, now: Instant) {
    // Run ids are never reused while cached, so `order` and `done` hold the same ids.
    while let Some(id) = g.order.front() {
        let expired = g
            .done
            .get(id)
            .is_none_or(|(t, _)| now.duration_since(*t) > DEDUPE_TTL);
        if !(expired || g.done.len() > DEDUPE_MAX) {
            break;
        }
        if let Some(id) = g.order.pop_front() {
            g.done.remove(&id);
        }
    }
}
