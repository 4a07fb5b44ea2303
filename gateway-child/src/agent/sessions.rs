//! The session store: one [`Session`] per canonical key, loaded lazily from its transcript,
//! with the in-memory conversation kept in step with the file.
//!
//! It owns the map of sessions, transcript loading (with repair), the single write path
//! ([`Session::record`]: append to the file, then apply to memory, so memory never shows what
//! the file does not have), reset (archive the transcript, new session id) and delete, and the
//! views `chat.history` and `sessions.list` need. Each session also carries its run lock
//! (FIFO; one run at a time) and the count of queued runs. It must never hold the session mutex
//! across an `.await`, and never build a path from a key except through `transcript_path`.
//!
//! Memory stays bounded: because memory is only ever a replay of the file, an idle persisted
//! session can be dropped and reloaded later with nothing lost. [`SessionStore::evict_idle`]
//! drops sessions nobody holds (no run, none queued, no request in flight) once they are idle
//! for a while or when more than a few are loaded, and `sessions.list` reads sessions that are
//! not loaded without registering them ([`SessionStore::visit_all`]), one open file at a time.
//! Loading is serialized by one lock so two loaders never repair the same file twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tether_protocol::session_key::SessionKey;

use super::transcript::{
    escape_part, transcript_path, Msg, Record, Replay, TranscriptFile, FORMAT_VERSION,
};
use crate::process::clock::now_ms;

/// One session.
#[derive(Debug)]
pub struct Session {
    /// Canonical key.
    pub key: SessionKey,
    /// Session id.
    pub id: String,
    /// Transcript path.
    pub path: PathBuf,
    file: Option<TranscriptFile>,
    /// The conversation and bookkeeping.
    pub replay: Replay,
    /// Epoch ms.
    pub created_at: u64,
    /// The run in progress, if any.
    pub running: Option<String>,
    /// When the session was last locked (for idle eviction).
    pub last_used: Instant,
}

impl Session {
    /// Appends a record to the transcript (creating the file with its header first), then
    /// applies it in memory.
    pub fn record(&mut self, rec: &Record) -> std::io::Result<()> {
        self.create_file()?;
        if let Some(f) = &mut self.file {
            f.append(rec)?;
        }
        self.replay.apply(rec);
        Ok(())
    }

    /// Writes the transcript's header record if the session has no file yet (a session then
    /// exists, and is listed, before its first message). Returns whether it wrote one.
    pub fn create_file(&mut self) -> std::io::Result<bool> {
        if self.file.is_some() {
            return Ok(false);
        }
        let header = Record::Session {
            key: self.key.to_string(),
            session_id: self.id.clone(),
            created_at: self.created_at,
            version: FORMAT_VERSION,
        };
        let f = TranscriptFile::create(&self.path, &header)?;
        self.replay.apply(&header);
        self.file = Some(f);
        Ok(true)
    }

    /// A second handle to the transcript file, for `fdatasync` off the async workers.
    pub fn sync_handle(&self) -> Option<std::fs::File> {
        self.file.as_ref().and_then(|f| f.try_clone_file().ok())
    }

    /// The conversation.
    pub fn msgs(&self) -> &[Msg] {
        &self.replay.msgs
    }

    /// Whether a transcript exists on disk.
    pub fn persisted(&self) -> bool {
        self.file.is_some()
    }

    /// The first user message, shortened (a title).
    pub fn derived_title(&self) -> Option<String> {
        self.replay.msgs.iter().find_map(|m| match m {
            Msg::User { text, .. } => Some(shorten(text, 60)),
            _ => None,
        })
    }

    /// The last message's text, shortened.
    pub fn last_preview(&self) -> Option<String> {
        self.replay.msgs.iter().rev().find_map(|m| match m {
            Msg::User { text, .. } | Msg::Assistant { text, .. } if !text.is_empty() => {
                Some(shorten(text, 120))
            }
            _ => None,
        })
    }
}

fn shorten(s: &str, n: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() > n {
        format!("{}…", flat.chars().take(n).collect::<String>())
    } else {
        flat.to_owned()
    }
}

/// A session plus its run lock.
#[derive(Debug)]
pub struct Slot {
    state: Mutex<Session>,
    /// FIFO lock held by the running run (tokio's mutex is fair).
    pub run_lock: tokio::sync::Mutex<()>,
    /// Runs waiting for the lock.
    pub queued: AtomicUsize,
}

impl Slot {
    /// Locks the session state (never across an await), and marks it used now.
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        g.last_used = Instant::now();
        g
    }

    /// Locks the session state without marking it used (listing is not use).
    fn peek(&self) -> MutexGuard<'_, Session> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new(session: Session) -> Slot {
        Slot {
            state: Mutex::new(session),
            run_lock: tokio::sync::Mutex::new(()),
            queued: AtomicUsize::new(0),
        }
    }

    /// When it was last used, if it could be dropped now without losing anything: persisted,
    /// no run running or queued, no run lock held. The caller checks that nobody else holds
    /// the slot.
    fn idle_since(&self) -> Option<Instant> {
        if self.queued.load(Ordering::SeqCst) != 0 || self.run_lock.try_lock().is_err() {
            return None;
        }
        let s = self.state.try_lock().ok()?;
        (s.running.is_none() && s.persisted()).then_some(s.last_used)
    }
}

/// Sessions idle this long are dropped from memory (they reload from their transcript).
pub const EVICT_IDLE_AFTER: Duration = Duration::from_secs(5 * 60);

/// At most this many idle sessions stay loaded; beyond it the least recently used go first.
pub const MAX_IDLE_LOADED: usize = 64;

/// All sessions.
#[derive(Debug)]
pub struct SessionStore {
    agents_dir: PathBuf,
    map: Mutex<HashMap<String, Arc<Slot>>>,
    /// Held while a transcript is loaded, so one file is never loaded (and repaired) twice.
    loading: Mutex<()>,
}

impl SessionStore {
    /// A store rooted at `<state>/agents`.
    pub fn new(agents_dir: PathBuf) -> SessionStore {
        SessionStore {
            agents_dir,
            map: Mutex::new(HashMap::new()),
            loading: Mutex::new(()),
        }
    }

    /// Where transcripts live.
    pub fn dir(&self) -> &Path {
        &self.agents_dir
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session for `key`, loading its transcript on first use.
    pub fn get(&self, key: &SessionKey) -> std::io::Result<Arc<Slot>> {
        let name = key.to_string();
        if let Some(s) = self.map().get(&name) {
            return Ok(s.clone());
        }
        let _loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = self.map().get(&name) {
            return Ok(s.clone());
        }
        let session = load_session(key.clone(), transcript_path(&self.agents_dir, key))?;
        let slot = Arc::new(Slot::new(session));
        self.map().insert(name, slot.clone());
        Ok(slot)
    }

    /// The session for `key` only if it is loaded or has a transcript.
    pub fn existing(&self, key: &SessionKey) -> std::io::Result<Option<Arc<Slot>>> {
        if let Some(s) = self.map().get(&key.to_string()) {
            return Ok(Some(s.clone()));
        }
        if transcript_path(&self.agents_dir, key).exists() {
            return self.get(key).map(Some);
        }
        Ok(None)
    }

    /// Calls `f` with every session that has a transcript on disk or is loaded. Sessions that
    /// are not loaded are read for the call and dropped after it, not registered, so listing
    /// a thousand transcripts neither keeps them in memory nor holds a thousand files open.
    pub fn visit_all(&self, mut f: impl FnMut(&Session)) {
        let mut seen: HashSet<String> = HashSet::new();
        for k in self.keys_on_disk() {
            let name = k.to_string();
            // Under the loading lock, a session is either in the map or nobody is loading it.
            let _loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            let loaded = self.map().get(&name).cloned();
            match loaded {
                Some(slot) => f(&slot.peek()),
                None => match load_session(k.clone(), transcript_path(&self.agents_dir, &k)) {
                    Ok(s) => f(&s),
                    Err(e) => tracing::warn!(key = %k, error = %e, "could not load session"),
                },
            }
            seen.insert(name);
        }
        let rest: Vec<Arc<Slot>> = self
            .map()
            .iter()
            .filter(|(name, _)| !seen.contains(*name) && SessionKey::parse(name).is_ok())
            .map(|(_, slot)| slot.clone())
            .collect();
        for slot in rest {
            f(&slot.peek());
        }
    }

    /// Runs waiting behind the running one, per loaded session key (a session with a run
    /// running or queued is always loaded).
    pub fn queued(&self) -> HashMap<String, usize> {
        self.map()
            .iter()
            .map(|(name, slot)| (name.clone(), slot.queued.load(Ordering::SeqCst)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Every transcript in the store's directory with its session key, whether or not the
    /// session is loaded.
    pub fn transcripts(&self) -> Vec<(SessionKey, PathBuf)> {
        self.keys_on_disk()
            .into_iter()
            .map(|k| {
                let path = transcript_path(&self.agents_dir, &k);
                (k, path)
            })
            .collect()
    }

    /// Keys of the transcripts in the store's directory (files at the path their key maps to).
    fn keys_on_disk(&self) -> Vec<SessionKey> {
        let mut keys: Vec<SessionKey> = Vec::new();
        let Ok(agents) = std::fs::read_dir(&self.agents_dir) else {
            return keys;
        };
        for agent in agents.flatten() {
            let Ok(files) = std::fs::read_dir(agent.path().join("sessions")) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                    continue;
                }
                if let Some(k) = read_header_key(&p) {
                    if transcript_path(&self.agents_dir, &k) == p {
                        keys.push(k);
                    }
                }
            }
        }
        keys
    }

    /// Drops idle sessions from memory: every one unused since `now - idle_after`, then the
    /// least recently used until at most `keep` idle ones remain. Only sessions nobody else
    /// holds and with nothing running or queued are dropped; their transcripts hold all of
    /// their state. Returns how many were dropped.
    pub fn evict_idle(&self, now: Instant, idle_after: Duration, keep: usize) -> usize {
        let mut map = self.map();
        let mut idle: Vec<(Instant, String)> = map
            .iter()
            .filter(|(_, slot)| Arc::strong_count(slot) == 1)
            .filter_map(|(name, slot)| slot.idle_since().map(|t| (t, name.clone())))
            .collect();
        idle.sort();
        let over = idle.len().saturating_sub(keep);
        let mut dropped = 0;
        for (i, (since, name)) in idle.iter().enumerate() {
            if i < over || now.saturating_duration_since(*since) >= idle_after {
                map.remove(name);
                dropped += 1;
            }
        }
        dropped
    }

    /// Number of sessions loaded in memory.
    pub fn loaded(&self) -> usize {
        self.map().len()
    }

    /// Moves the transcript into `archive/` and starts a new session id. The caller must hold
    /// the session's run lock (no run in progress).
    pub fn reset(&self, slot: &Slot) -> std::io::Result<String> {
        let mut s = slot.lock();
        archive(&s)?;
        s.file = None;
        s.id = uuid::Uuid::new_v4().to_string();
        s.created_at = now_ms();
        s.replay = Replay::default();
        Ok(s.id.clone())
    }

    /// Empties the session; with `delete_transcript` the file is removed, else archived. The
    /// caller must hold the session's run lock. The slot itself stays registered (empty, not
    /// persisted, so not listed): a run that was already queued on it when the delete happened
    /// then starts a fresh transcript instead of racing a second slot for the same file.
    pub fn delete(&self, slot: &Slot, delete_transcript: bool) -> std::io::Result<()> {
        let mut s = slot.lock();
        if s.file.is_some() || s.path.exists() {
            if delete_transcript {
                std::fs::remove_file(&s.path)?;
            } else {
                archive(&s)?;
            }
        }
        s.file = None;
        s.id = uuid::Uuid::new_v4().to_string();
        s.created_at = now_ms();
        s.replay = Replay::default();
        Ok(())
    }
}

fn archive(s: &Session) -> std::io::Result<()> {
    if !s.path.exists() {
        return Ok(());
    }
    let Some(dir) = s.path.parent() else {
        return Ok(());
    };
    let archive = dir.join("archive");
    std::fs::create_dir_all(&archive)?;
    let stem = s
        .path
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = archive.join(format!("{stem}.{}.jsonl", escape_part(&s.id)));
    std::fs::rename(&s.path, target)
}

fn read_header_key(p: &Path) -> Option<SessionKey> {
    use std::io::{BufRead, Read};
    // Only the header line, and never more than 64 KiB of it; never a FIFO.
    let (f, _) = crate::process::regular_file::open(p).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(f.take(64 * 1024))
        .read_line(&mut line)
        .ok()?;
    match serde_json::from_str::<Record>(&line).ok()? {
        Record::Session { key, .. } => SessionKey::parse(&key).ok(),
        _ => None,
    }
}

fn load_session(key: SessionKey, path: PathBuf) -> std::io::Result<Session> {
    if !path.exists() {
        return Ok(Session {
            key,
            id: uuid::Uuid::new_v4().to_string(),
            path,
            file: None,
            replay: Replay::default(),
            created_at: now_ms(),
            running: None,
            last_used: Instant::now(),
        });
    }
    let loaded = TranscriptFile::load(&path)?;
    if loaded.torn_bytes > 0 || loaded.bad_lines > 0 {
        tracing::warn!(
            session = %key,
            torn_bytes = loaded.torn_bytes,
            bad_lines = loaded.bad_lines,
            "transcript had a torn tail or unreadable lines; repaired"
        );
    }
    let mut replay = Replay::default();
    for r in &loaded.records {
        replay.apply(r);
    }
    let mut file = loaded.file;
    if replay.header.is_none() {
        // A file cut down to nothing by a crash before its header landed.
        let header = Record::Session {
            key: key.to_string(),
            session_id: uuid::Uuid::new_v4().to_string(),
            created_at: now_ms(),
            version: FORMAT_VERSION,
        };
        file.append(&header)?;
        replay.apply(&header);
    }
    let repairs = replay.repair_records(now_ms());
    if !repairs.is_empty() {
        for r in &repairs {
            file.append(r)?;
            replay.apply(r);
        }
        file.sync()?;
        tracing::info!(session = %key, "closed runs interrupted by a previous stop");
    }
    let (id, created_at) = match &replay.header {
        Some((_, id, created)) => (id.clone(), *created),
        None => (uuid::Uuid::new_v4().to_string(), now_ms()),
    };
    Ok(Session {
        key,
        id,
        path,
        file: Some(file),
        replay,
        created_at,
        running: None,
        last_used: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> SessionKey {
        SessionKey::parse(&format!("agent:main:{name}")).unwrap()
    }

    /// A store with `names` persisted, each holding one user message.
    fn store_with(names: &[&str]) -> (tempfile::TempDir, SessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path().join("agents"));
        for n in names {
            let slot = store.get(&key(n)).unwrap();
            let rec = Record::User {
                run_id: format!("run-{n}"),
                ts: 1,
                text: format!("hello {n}"),
            };
            slot.lock().record(&rec).unwrap();
        }
        (dir, store)
    }

    fn set_last_used(store: &SessionStore, name: &str, at: Instant) {
        let slot = store.get(&key(name)).unwrap();
        slot.state.lock().unwrap().last_used = at;
    }

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
    }

    #[test]
    fn idle_sessions_are_dropped_and_reload_unchanged() {
        let (_dir, store) = store_with(&["a", "b"]);
        let t0 = Instant::now();
        set_last_used(&store, "a", t0);
        set_last_used(&store, "b", t0 + Duration::from_secs(200));
        let id_a = store.get(&key("a")).unwrap().lock().id.clone();
        set_last_used(&store, "a", t0);

        let idle = Duration::from_secs(300);
        assert_eq!(store.evict_idle(t0 + Duration::from_secs(299), idle, 64), 0);
        assert_eq!(store.evict_idle(t0 + Duration::from_secs(300), idle, 64), 1);
        assert_eq!(store.loaded(), 1, "only b, used later, stays");

        let a = store.get(&key("a")).unwrap();
        let s = a.lock();
        assert_eq!(s.id, id_a);
        assert_eq!(s.msgs().len(), 1);
        assert!(s.persisted());
    }

    #[test]
    fn busy_or_held_sessions_are_never_dropped() {
        let (_dir, store) = store_with(&["held", "queued", "running", "locked"]);
        let t0 = Instant::now();
        for n in ["held", "queued", "running", "locked"] {
            set_last_used(&store, n, t0);
        }
        let held = store.get(&key("held")).unwrap();
        store
            .get(&key("queued"))
            .unwrap()
            .queued
            .store(1, Ordering::SeqCst);
        {
            let slot = store.get(&key("running")).unwrap();
            let mut s = slot.state.lock().unwrap();
            s.running = Some("r1".into());
        }
        let locked = store.get(&key("locked")).unwrap();
        let guard = locked.run_lock.try_lock().unwrap();

        let later = t0 + Duration::from_secs(3600);
        assert_eq!(store.evict_idle(later, Duration::ZERO, 0), 0);
        assert_eq!(store.loaded(), 4);

        drop(guard);
        drop(locked);
        drop(held);
        assert_eq!(store.evict_idle(later, Duration::ZERO, 0), 2);
        assert_eq!(store.loaded(), 2, "queued and running stay");
    }

    #[test]
    fn unpersisted_sessions_stay_so_their_new_id_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path().join("agents"));
        let slot = store.get(&key("fresh")).unwrap();
        let id = slot.lock().id.clone();
        drop(slot);
        assert_eq!(store.evict_idle(Instant::now(), Duration::ZERO, 0), 0);
        assert_eq!(store.get(&key("fresh")).unwrap().lock().id, id);
    }

    #[test]
    fn listing_is_not_use() {
        let (_dir, store) = store_with(&["a"]);
        let t0 = Instant::now();
        set_last_used(&store, "a", t0);
        store.visit_all(|_| {});
        let idle = Duration::from_secs(300);
        assert_eq!(store.evict_idle(t0 + idle, idle, 64), 1);
    }

    #[test]
    fn beyond_the_cap_the_least_recently_used_go_first() {
        let names = ["s0", "s1", "s2", "s3", "s4"];
        let (_dir, store) = store_with(&names);
        let t0 = Instant::now();
        for (i, n) in names.iter().enumerate() {
            set_last_used(&store, n, t0 + Duration::from_secs(i as u64));
        }
        let dropped = store.evict_idle(t0 + Duration::from_secs(5), Duration::from_secs(600), 2);
        assert_eq!(dropped, 3);
        let map = store.map();
        let mut left: Vec<&String> = map.keys().collect();
        left.sort();
        assert_eq!(left, ["agent:main:s3", "agent:main:s4"]);
    }

    #[test]
    fn listing_reads_unloaded_sessions_without_keeping_them() {
        let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (dir, store) = store_with(&refs);
        let loaded_slot = store.get(&key("n0")).unwrap();
        assert_eq!(store.evict_idle(Instant::now(), Duration::ZERO, 0), 39);

        // A fresh store over the same directory, as after a restart.
        let fresh = SessionStore::new(dir.path().join("agents"));
        let fds_before = open_fds();
        let mut max_fds = 0;
        let mut seen = Vec::new();
        fresh.visit_all(|s| {
            max_fds = max_fds.max(open_fds());
            seen.push((s.key.to_string(), s.msgs().len()));
        });
        seen.sort();
        assert_eq!(seen.len(), 40);
        assert!(seen.iter().all(|(_, n)| *n == 1));
        assert_eq!(fresh.loaded(), 0, "listing registers nothing");
        // Other tests open files concurrently, so allow slack, but far fewer than 40.
        assert!(
            max_fds < fds_before + 10,
            "{max_fds} fds open vs {fds_before} before"
        );

        // The original store lists its loaded session from memory, the rest from disk.
        let mut count = 0;
        store.visit_all(|_| count += 1);
        assert_eq!(count, 40);
        assert_eq!(store.loaded(), 1);
        drop(loaded_slot);
    }
}
