//! The pre-auth socket budget: at most [`PER_IP`] WebSockets per client address (every loopback
//! address counting as one, [`budget_key`]) may be open and not yet authenticated. Above it the upgrade is answered HTTP 503 "Too many unauthenticated
//! sockets" before the `101`.
//!
//! A [`Slot`] is taken at upgrade time and given back when the socket authenticates or closes
//! (by dropping it), so the count can never leak. It must never block: the answer is immediate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::locality::budget_key;

/// Unauthenticated sockets allowed per client address.
pub const PER_IP: u32 = 32;

/// Counts unauthenticated sockets per canonical address.
#[derive(Debug, Clone, Default)]
pub struct PreauthBudget {
    counts: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One unauthenticated socket's place in the budget; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot {
    ip: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl PreauthBudget {
    /// An empty budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a slot for `ip`, or `None` when it already has [`PER_IP`].
    pub fn try_take(&self, ip: IpAddr) -> Option<Slot> {
        let ip = budget_key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= PER_IP {
            return None;
        }
        *n += 1;
        Some(Slot {
            ip,
            counts: Arc::clone(&self.counts),
        })
    }

    /// Unauthenticated sockets currently open from `ip`.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let ip = budget_key(ip);
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&ip)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
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
        assert!(b.try_take(a).is_none());
        for same_machine in ["127.0.0.2", "::1"] {
            assert!(
                b.try_take(same_machine.parse().unwrap()).is_none(),
                "{same_machine}"
            );
        }
        assert!(b.try_take(other).is_some());
        drop(slots);
        assert_eq!(b.count(a), 0);
        assert!(b.try_take(a).is_some());
    }
}
