//! The pre-auth socket budget: at most [`PER_IP`] WebSockets per client address (every loopback
//! address counting as one, [`budget_key`]) may be open and not yet authenticated.
//!
//! The cap alone would let any local process hold the whole budget with idle sockets and lock the
//! real client out until they time out. So when the budget is full, a new socket **evicts the
//! oldest idle one** (one that has not sent its `connect` yet): the evicted socket is closed with
//! 1013 "try again later", and the newcomer gets its challenge at once. A socket whose `connect`
//! is being decided is never evicted; only when every place is held by such a socket is the
//! upgrade answered HTTP 503 "Too many unauthenticated sockets" before the `101`. A real client
//! answers its challenge within a round trip, so a flood of idle sockets can no longer starve it.
//!
//! A [`Slot`] is taken at upgrade time and given back when the socket authenticates or closes
//! (by dropping it), so the count can never leak. It must never block: the answer is immediate.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::socket::locality::budget_key;

/// Unauthenticated sockets allowed per client address.
pub const PER_IP: u32 = 32;

/// One unauthenticated socket, as the budget sees it.
#[derive(Debug)]
struct Held {
    id: u64,
    evict: CancellationToken,
    busy: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// Per budget key, oldest first.
    held: HashMap<IpAddr, VecDeque<Held>>,
}

/// Counts unauthenticated sockets per canonical address.
#[derive(Debug, Clone, Default)]
pub struct PreauthBudget {
    inner: Arc<Mutex<Inner>>,
}

/// One unauthenticated socket's place in the budget; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot {
    ip: IpAddr,
    id: u64,
    evict: CancellationToken,
    busy: Arc<AtomicBool>,
    inner: Arc<Mutex<Inner>>,
}

impl PreauthBudget {
    /// An empty budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a slot for `ip`: a free one, else the place of the oldest idle socket (which is told
    /// to close), else `None` (every place is held by a socket whose `connect` is being decided).
    pub fn try_take(&self, ip: IpAddr) -> Option<Slot> {
        let ip = budget_key(ip);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let id = inner.next_id;
        inner.next_id += 1;
        let queue = inner.held.entry(ip).or_default();
        if queue.len() >= PER_IP as usize {
            let oldest_idle = queue.iter().position(|h| !h.busy.load(Ordering::SeqCst))?;
            if let Some(evicted) = queue.remove(oldest_idle) {
                evicted.evict.cancel();
            }
        }
        let evict = CancellationToken::new();
        let busy = Arc::new(AtomicBool::new(false));
        queue.push_back(Held {
            id,
            evict: evict.clone(),
            busy: Arc::clone(&busy),
        });
        Some(Slot {
            ip,
            id,
            evict,
            busy,
            inner: Arc::clone(&self.inner),
        })
    }

    /// Unauthenticated sockets currently open from `ip`.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let ip = budget_key(ip);
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .held
            .get(&ip)
            .map_or(0, |q| u32::try_from(q.len()).unwrap_or(u32::MAX))
    }
}

impl Slot {
    /// The socket has sent its `connect`: it is no longer idle and is never evicted.
    pub fn mark_busy(&self) {
        self.busy.store(true, Ordering::SeqCst);
    }

    /// Resolves when a newer socket took this one's place.
    pub async fn evicted(&self) {
        self.evict.cancelled().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = inner.held.get_mut(&self.ip) {
            queue.retain(|h| h.id != self.id);
            if queue.is_empty() {
                inner.held.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_per_address_and_slots_come_back() {
        let b = PreauthBudget::new();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "192.168.1.5".parse().unwrap();
        let slots: Vec<Slot> = (0..PER_IP).map(|_| b.try_take(a).unwrap()).collect();
        assert_eq!(b.count(a), PER_IP);
        for same_machine in ["127.0.0.2", "::1"] {
            assert_eq!(b.count(same_machine.parse().unwrap()), PER_IP);
        }
        assert!(b.try_take(other).is_some());
        drop(slots);
        assert_eq!(b.count(a), 0);
        assert!(b.try_take(a).is_some());
    }

    #[test]
    fn a_full_budget_evicts_the_oldest_idle_socket_never_a_busy_one() {
        let b = PreauthBudget::new();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let slots: Vec<Slot> = (0..PER_IP).map(|_| b.try_take(a).unwrap()).collect();
        // The oldest is answering its challenge: the next oldest idle one goes.
        slots[0].mark_busy();
        let newcomer = b.try_take("::1".parse().unwrap()).expect("a place");
        assert!(!slots[0].evict.is_cancelled());
        assert!(slots[1].evict.is_cancelled());
        assert!(!slots[2].evict.is_cancelled());
        assert_eq!(b.count(a), PER_IP);
        // The evicted socket closing later does not free a second place.
        let mut slots = slots;
        drop(slots.remove(1));
        assert_eq!(b.count(a), PER_IP);
        // When every place is busy, the newcomer is refused.
        for s in &slots {
            s.mark_busy();
        }
        newcomer.mark_busy();
        assert!(b.try_take(a).is_none());
        drop(newcomer);
        assert!(b.try_take(a).is_some());
    }
}
