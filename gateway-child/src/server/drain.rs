//! Active work and the drain hook point.
//!
//! A stop or restart waits, up to the drain deadline (`gateway.drainTimeoutMs`), for active work
//! to finish. Each kind of work registers a [`Drainable`] in [`DrainHooks`]; the server drains
//! them all together under one deadline: each hook waits for its work and, at the deadline,
//! aborts what is left (a hook may also refuse new work first and wait for its aborted work to
//! reach a consistent end, as the agent engine does). The gateway registers its in-flight
//! requests ([`ActiveWork`]) and the agent engine its runs. This module only counts and waits: it
//! never decides when to stop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Notify;

/// Something a stop or restart should wait for.
pub trait Drainable: Send + Sync + 'static {
    /// How many units of work are active now.
    fn active(&self) -> usize;
    /// Resolves when nothing is active.
    fn wait_idle(&self) -> BoxFuture<'_, ()>;
    /// Called when the drain deadline passed with work still active.
    fn abort(&self) {}
    /// Drains this hook: waits for its work until `deadline`, then aborts the rest. Returns
    /// whether everything ended by itself. The default waits with [`Drainable::wait_idle`] and
    /// calls [`Drainable::abort`]; a hook that must refuse new work first, or wait for aborted
    /// work to settle, overrides it.
    fn drain(&self, deadline: tokio::time::Instant) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if tokio::time::timeout_at(deadline, self.wait_idle())
                .await
                .is_ok()
            {
                return true;
            }
            if self.active() == 0 {
                return true;
            }
            self.abort();
            false
        })
    }
}

/// A counter of active work with RAII guards.
#[derive(Debug, Default)]
pub struct ActiveWork {
    count: AtomicUsize,
    idle: Notify,
}

/// One unit of active work; dropping it ends the unit.
#[derive(Debug)]
pub struct WorkGuard {
    work: Arc<ActiveWork>,
}

impl ActiveWork {
    /// A counter at zero.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Starts one unit of work.
    pub fn begin(self: &Arc<Self>) -> WorkGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        WorkGuard {
            work: Arc::clone(self),
        }
    }
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        if self.work.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.work.idle.notify_waiters();
        }
    }
}

impl Drainable for ActiveWork {
    fn active(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn wait_idle(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let notified = self.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.active() == 0 {
                    return;
                }
                notified.await;
            }
        })
    }
}

/// What a drain achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Every hook went idle before the deadline.
    pub completed: bool,
    /// Hooks still busy at the deadline.
    pub still_active: Vec<String>,
}

/// A named hook.
type Hook = (String, Arc<dyn Drainable>);

/// The registered drain hooks. Cheap to clone.
#[derive(Clone, Default)]
pub struct DrainHooks {
    hooks: Arc<Mutex<Vec<Hook>>>,
}

impl std::fmt::Debug for DrainHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.snapshot().into_iter().map(|(n, _)| n).collect();
        f.debug_struct("DrainHooks").field("hooks", &names).finish()
    }
}

impl DrainHooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a hook under a name (used in logs).
    pub fn register(&self, name: impl Into<String>, hook: Arc<dyn Drainable>) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), hook));
    }

    fn snapshot(&self) -> Vec<Hook> {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Total active work over all hooks.
    pub fn active(&self) -> usize {
        self.snapshot().iter().map(|(_, h)| h.active()).sum()
    }

    /// Waits for every hook to go idle, at most `deadline`, without aborting anything.
    /// Returns whether everything went idle.
    pub async fn settle(&self, deadline: Duration) -> bool {
        let hooks = self.snapshot();
        let all = futures_util::future::join_all(hooks.iter().map(|(_, h)| h.wait_idle()));
        tokio::time::timeout(deadline, all).await.is_ok()
    }

    /// Drains every hook together under one deadline (`deadline` from now); each aborts what it
    /// still has at the deadline.
    pub async fn drain(&self, deadline: Duration) -> DrainReport {
        let hooks = self.snapshot();
        let until = tokio::time::Instant::now() + deadline;
        let ended = futures_util::future::join_all(hooks.iter().map(|(_, h)| h.drain(until))).await;
        let still_active: Vec<String> = hooks
            .iter()
            .zip(ended)
            .filter(|(_, idle)| !idle)
            .map(|((name, _), _)| name.clone())
            .collect();
        DrainReport {
            completed: still_active.is_empty(),
            still_active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_guards_and_reports_stragglers() {
        let hooks = DrainHooks::new();
        let work = ActiveWork::new();
        hooks.register("requests", work.clone());
        assert_eq!(
            hooks.drain(Duration::from_secs(1)).await,
            DrainReport {
                completed: true,
                still_active: vec![]
            }
        );
        let g = work.begin();
        assert_eq!(hooks.active(), 1);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let waiter = {
            let hooks = hooks.clone();
            tokio::spawn(async move { hooks.drain(Duration::from_secs(30)).await })
        };
        tokio::spawn(async move {
            let _ = rx.await;
            drop(g);
        });
        let _ = tx.send(());
        assert!(waiter.await.unwrap().completed);

        let _stuck = work.begin();
        let report = hooks.drain(Duration::from_millis(1)).await;
        assert!(!report.completed);
        assert_eq!(report.still_active, vec!["requests".to_owned()]);
    }
}
