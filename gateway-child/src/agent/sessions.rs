//! The session store: one [`Session`] per canonical key, loaded lazily from its transcript,
//! with the in-memory conversation kept in step with the file.
//!
//! It owns the map of sessions, transcript loading (with repair), the single write path
//! ([`Session::record`]: append to the file, then apply to memory, so memory never shows what
//! the file does not have), reset (archive the transcript, new session id) and delete, and the
//! views `chat.history` and `sessions.list` need. Each session also carries its run lock
//! (FIFO; one run at a time) and the count of queued runs. It must never hold the session mutex
//! across an `.await`, and never build a path from a key except through `transcript_path`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use tether_protocol::session_key::SessionKey;

use super::clock::now_ms;
use super::transcript::{
    escape_part, transcript_path, Msg, Record, Replay, TranscriptFile, FORMAT_VERSION,
};

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
}

impl Session {
    /// Appends a record to the transcript (creating the file with its header first), then
    /// applies it in memory.
    pub fn record(&mut self, rec: &Record) -> std::io::Result<()> {
        if self.file.is_none() {
            let header = Record::Session {
                key: self.key.to_string(),
                session_id: self.id.clone(),
                created_at: self.created_at,
                version: FORMAT_VERSION,
            };
            let f = TranscriptFile::create(&self.path, &header)?;
            self.replay.apply(&header);
            self.file = Some(f);
        }
        if let Some(f) = &mut self.file {
            f.append(rec)?;
        }
        self.replay.apply(rec);
        Ok(())
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
    /// Locks the session state (never across an await).
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// All sessions.
#[derive(Debug)]
pub struct SessionStore {
    agents_dir: PathBuf,
    map: Mutex<HashMap<String, Arc<Slot>>>,
}

impl SessionStore {
    /// A store rooted at `<state>/agents`.
    pub fn new(agents_dir: PathBuf) -> SessionStore {
        SessionStore {
            agents_dir,
            map: Mutex::new(HashMap::new()),
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
        let path = transcript_path(&self.agents_dir, key);
        let session = load_session(key.clone(), path)?;
        let slot = Arc::new(Slot {
            state: Mutex::new(session),
            run_lock: tokio::sync::Mutex::new(()),
            queued: AtomicUsize::new(0),
        });
        Ok(self.map().entry(name).or_insert(slot).clone())
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

    /// Every session with a transcript on disk or in memory.
    pub fn all(&self) -> Vec<Arc<Slot>> {
        let mut keys: Vec<SessionKey> = Vec::new();
        if let Ok(agents) = std::fs::read_dir(&self.agents_dir) {
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
                        // Only files at the path their key maps to belong to the store.
                        if transcript_path(&self.agents_dir, &k) == p {
                            keys.push(k);
                        }
                    }
                }
            }
        }
        let mut out: Vec<Arc<Slot>> = Vec::new();
        for k in keys {
            match self.get(&k) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(key = %k, error = %e, "could not load session"),
            }
        }
        for (name, slot) in self.map().iter() {
            if !out.iter().any(|s| Arc::ptr_eq(s, slot)) && SessionKey::parse(name).is_ok() {
                out.push(slot.clone());
            }
        }
        out
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
    use std::io::BufRead;
    let f = std::fs::File::open(p).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(f).read_line(&mut line).ok()?;
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
    })
}
