//! Pending RPC calls: the map from request id to whoever waits for the response.
//!
//! It owns the waiting side of every call on the current link, each with its own deadline.
//! Responses resolve their entry once (a second response with the same id — upstream's `agent`
//! method sends two — finds nothing and is ignored); expired entries are handed back for the
//! actor to fail with a timeout; a lost link hands back **all** entries at once so every caller
//! learns immediately. It never touches the socket and never reads a clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Pending calls of type `R` (the reply target).
#[derive(Debug)]
pub struct Pending<R> {
    map: HashMap<String, (Instant, String, R, Instant)>,
}

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Pending {
            map: HashMap::new(),
        }
    }
}

impl<R> Pending<R> {
    /// Registers a call sent at `sent`.
    pub fn insert(
        &mut self,
        id: String,
        method: String,
        sent: Instant,
        deadline: Instant,
        reply: R,
    ) {
        self.map.insert(id, (deadline, method, reply, sent));
    }

    /// The waiter for a response id, removed.
    pub fn take(&mut self, id: &str) -> Option<R> {
        self.map.remove(id).map(|(_, _, r, _)| r)
    }

    /// The waiter for a response id that arrived at `now`, removed, with the call's latency.
    pub fn take_timed(&mut self, id: &str, now: Instant) -> Option<(R, Duration)> {
        self.map
            .remove(id)
            .map(|(_, _, r, sent)| (r, now.saturating_duration_since(sent)))
    }

    /// The waiter for a response id and its method, removed.
    pub fn take_with_method(&mut self, id: &str) -> Option<(String, R)> {
        self.map.remove(id).map(|(_, m, r, _)| (m, r))
    }

    /// Removes and returns calls whose deadline passed, with their method names.
    pub fn expired(&mut self, now: Instant) -> Vec<(String, R)> {
        let ids: Vec<String> = self
            .map
            .iter()
            .filter(|(_, (d, _, _, _))| *d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| self.map.remove(&id).map(|(_, m, r, _)| (m, r)))
            .collect()
    }

    /// Removes and returns every call (the link is gone).
    pub fn drain(&mut self) -> Vec<(String, R)> {
        self.map.drain().map(|(_, (_, m, r, _))| (m, r)).collect()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.map.values().map(|(d, _, _, _)| *d).min()
    }

    /// How many calls wait.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn resolve_expire_drain() {
        let t0 = Instant::now();
        let mut p = Pending::default();
        p.insert(
            "a".into(),
            "health".into(),
            t0,
            t0 + Duration::from_secs(1),
            1,
        );
        p.insert(
            "b".into(),
            "status".into(),
            t0,
            t0 + Duration::from_secs(5),
            2,
        );
        p.insert(
            "c".into(),
            "chat.send".into(),
            t0,
            t0 + Duration::from_secs(9),
            3,
        );
        p.insert(
            "d".into(),
            "health".into(),
            t0,
            t0 + Duration::from_secs(9),
            4,
        );
        assert_eq!(p.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(p.take("a"), Some(1));
        assert_eq!(p.take("a"), None, "a second response is ignored");
        assert_eq!(
            p.take_timed("d", t0 + Duration::from_millis(7)),
            Some((4, Duration::from_millis(7)))
        );
        assert_eq!(
            p.expired(t0 + Duration::from_secs(5)),
            vec![("status".to_string(), 2)]
        );
        assert_eq!(p.drain(), vec![("chat.send".to_string(), 3)]);
        assert!(p.is_empty());
    }
}
