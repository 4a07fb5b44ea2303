//! The IPC tap: an optional record of every payload Rust sends to the webview.
//!
//! With `TETHER_DESKTOP_IPC_TAP=<file>` set, command results and errors, events and chat-stream
//! envelopes are appended to `<file>` as JSON lines
//! `{"dir":"out","kind":…,"name":…,"atMs":…,"payload":…}`.
//! It exists so a test can prove that no secret ever crosses to the webview (IPC.md); without
//! the variable it does nothing and costs one branch. It never records what the webview sends
//! in (a provider key typed into the settings goes that way, by design).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::json;

/// The environment variable naming the tap file.
pub const ENV: &str = "TETHER_DESKTOP_IPC_TAP";

/// The tap (off unless opened).
#[derive(Debug, Default)]
pub struct Tap {
    file: Option<Mutex<File>>,
}

impl Tap {
    /// A tap writing to `path` (appending), or off when `path` is `None`.
    pub fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        Ok(Tap { file })
    }

    /// Whether it records.
    pub fn is_on(&self) -> bool {
        self.file.is_some()
    }

    /// Records one outgoing payload.
    pub fn record(&self, kind: &str, name: &str, payload: &impl Serialize) {
        let Some(file) = &self.file else { return };
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let line =
            json!({"dir": "out", "kind": kind, "name": name, "atMs": at_ms, "payload": payload});
        if let Ok(mut f) = file.lock() {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Records a command's result (or error) and hands it back.
    pub fn result<T: Serialize, E: Serialize>(&self, name: &str, r: Result<T, E>) -> Result<T, E> {
        if self.is_on() {
            match &r {
                Ok(v) => self.record("result", name, v),
                Err(e) => self.record("error", name, e),
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_results_errors_and_nothing_when_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tap.jsonl");
        let tap = Tap::open(Some(&path)).unwrap();
        let ok: Result<u32, String> = tap.result("a", Ok(7));
        assert_eq!(ok, Ok(7));
        let _ = tap.result::<u32, _>("b", Err("no".to_owned()));
        tap.record("event", "status", &json!({"x": 1}));
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0]["atMs"].as_u64().unwrap() > 0);
        let mut first = lines[0].clone();
        first.as_object_mut().unwrap().remove("atMs");
        assert_eq!(
            first,
            json!({"dir": "out", "kind": "result", "name": "a", "payload": 7})
        );
        assert_eq!(lines[1]["kind"], "error");
        assert_eq!(lines[2]["payload"]["x"], 1);
        let off = Tap::open(None).unwrap();
        assert!(!off.is_on());
        assert_eq!(off.result::<u32, String>("a", Ok(1)), Ok(1));
    }
}
