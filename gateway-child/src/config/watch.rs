//! Noticing config file changes: a directory watch and a debounce.
//!
//! The watcher observes the config file's **directory**, so an editor's or `config.patch`'s
//! atomic rename (write a temp file, rename it over the config) is seen like an in-place write.
//! Events for other files, and read-only access events (the gateway's own reads), are ignored.
//! Each relevant event only pokes a channel; [`Debounce`] (a pure value driven by explicit
//! instants) turns a burst of pokes into one reload. Nothing here parses or applies config.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A burst of writes is never held back longer than this many debounce delays.
const MAX_WAIT_FACTOR: u32 = 5;

/// Trailing-edge debounce with a ceiling: a reload happens `delay` after the last poke, but no
/// later than `MAX_WAIT_FACTOR × delay` after the first poke of a burst.
#[derive(Debug, Clone)]
pub struct Debounce {
    delay: Duration,
    first: Option<Instant>,
    due: Option<Instant>,
}

impl Debounce {
    /// A debounce with nothing pending.
    pub fn new(delay: Duration) -> Self {
        Debounce {
            delay,
            first: None,
            due: None,
        }
    }

    /// Changes the delay (applies to the next poke).
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Records a change at `now`.
    pub fn poke(&mut self, now: Instant) {
        let first = *self.first.get_or_insert(now);
        let ceiling = first + self.delay * MAX_WAIT_FACTOR;
        self.due = Some((now + self.delay).min(ceiling));
    }

    /// When the pending reload is due.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Takes the pending reload if it is due at `now`.
    pub fn fire(&mut self, now: Instant) -> bool {
        match self.due {
            Some(due) if due <= now => {
                self.due = None;
                self.first = None;
                true
            }
            _ => false,
        }
    }
}

/// Watches `config_path`'s directory; each change to that file sends `()` (coalesced).
pub fn watch(config_path: &Path, pokes: mpsc::Sender<()>) -> notify::Result<RecommendedWatcher> {
    let dir = config_path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = config_path.file_name().map(|n| n.to_os_string());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let ours = event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
        if ours {
            // A full channel already holds a poke: nothing is lost by dropping this one.
            let _ = pokes.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_becomes_one_reload_after_the_last_poke() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debounce::new(ms(300));
        assert_eq!(d.due(), None);
        d.poke(t0);
        d.poke(t0 + ms(100));
        assert_eq!(d.due(), Some(t0 + ms(400)));
        assert!(!d.fire(t0 + ms(399)));
        assert!(d.fire(t0 + ms(400)));
        assert!(!d.fire(t0 + ms(401)));
        assert_eq!(d.due(), None);
    }

    #[test]
    fn a_continuous_stream_still_reloads_at_the_ceiling() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = Debounce::new(ms(300));
        for i in 0..100 {
            d.poke(t0 + ms(10 * i));
        }
        // 100 writes in 1 s: due at the last + 300 ms, capped at first + 1500 ms.
        assert_eq!(d.due(), Some(t0 + ms(1290)));
        let mut d = Debounce::new(ms(300));
        for i in 0..1000 {
            d.poke(t0 + ms(10 * i));
        }
        assert_eq!(d.due(), Some(t0 + ms(1500)));
        assert!(d.fire(t0 + ms(1500)));
        // The next burst starts a new ceiling.
        d.poke(t0 + ms(2000));
        assert_eq!(d.due(), Some(t0 + ms(2300)));
    }
}
