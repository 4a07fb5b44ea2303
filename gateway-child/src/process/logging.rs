//! Logs: one line per event, to stderr and to `<state>/logs/gateway.log` (rotated).
//!
//! stdout is reserved for the machine-readable readiness line; everything else goes through
//! `tracing` to stderr and, once the instance lock is held, to the log file that `logs.tail`
//! serves. The file rotates at [`MAX_FILE_BYTES`] keeping [`KEEP_ROTATED`] old files. Peer-supplied
//! text (headers, client names, method names, idempotency keys, session keys, provider error
//! texts, config key names) is wrapped in [`Clean`] where it is logged, which also caps its
//! length; and whatever a log call interpolates, the sink itself escapes every control and
//! invisible character of an event ([`one_line`]), so one event is always exactly one line and
//! no raw escape sequence reaches a terminal, the file or the supervisor that relays the
//! gateway's stderr. Secrets never reach this module: their type prints `***`.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// A log file is rotated when it grows past this size.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept (`gateway.log.1` … `.N`).
pub const KEEP_ROTATED: u32 = 3;
/// Longest peer-supplied value written to a log line.
pub const MAX_CLEAN_CHARS: usize = 200;

/// Escapes control characters and caps the length of peer-supplied text for logging.
#[derive(Clone, Copy)]
pub struct Clean<'a>(pub &'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, c) in self.0.chars().enumerate() {
            if n >= MAX_CLEAN_CHARS {
                return f.write_str("…");
            }
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                c if c.is_control() || is_invisible(c) => {
                    write!(f, "\\u{{{:x}}}", c as u32)?;
                }
                c => f.write_fmt(format_args!("{c}"))?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// One log event as exactly one line: every control or invisible character escaped as
/// `\u{…}` except the final newline (and tabs). Borrowed when there is nothing to escape.
pub fn one_line(event: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let body = event.strip_suffix(b"\n").unwrap_or(event);
    let text = String::from_utf8_lossy(body);
    let needs = text
        .chars()
        .any(|c| (c.is_control() && c != '\t') || is_invisible(c));
    if !needs && matches!(text, std::borrow::Cow::Borrowed(_)) {
        return std::borrow::Cow::Borrowed(event);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if (c.is_control() && c != '\t') || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    std::borrow::Cow::Owned(out.into_bytes())
}

/// Bidi controls and zero-width characters that can disguise a line.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

struct RotatingFile {
    path: PathBuf,
    file: File,
    len: u64,
}

impl RotatingFile {
    fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let len = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
            len,
        })
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)?;
        self.len += buf.len() as u64;
        if self.len >= MAX_FILE_BYTES {
            self.rotate()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let name = |i: u32| PathBuf::from(format!("{}.{i}", self.path.display()));
        for i in (1..KEEP_ROTATED).rev() {
            let _ = std::fs::rename(name(i), name(i + 1));
        }
        std::fs::rename(&self.path, name(1))?;
        *self = RotatingFile::open(&self.path)?;
        Ok(())
    }
}

/// Where log lines go: stderr always, the log file once attached. Cheap to clone.
#[derive(Clone, Default)]
pub struct LogSink {
    file: Arc<Mutex<Option<RotatingFile>>>,
    path: Arc<Mutex<Option<PathBuf>>>,
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSink")
            .field("path", &self.path())
            .finish()
    }
}

impl LogSink {
    /// A sink writing to stderr only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts copying lines to `path` (created 0600, appended).
    pub fn attach_file(&self, path: &Path) -> io::Result<()> {
        let f = RotatingFile::open(path)?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Some(f);
        *self.path.lock().unwrap_or_else(PoisonError::into_inner) = Some(path.to_path_buf());
        Ok(())
    }

    /// The attached log file.
    pub fn path(&self) -> Option<PathBuf> {
        self.path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn write_line(&self, buf: &[u8]) {
        // File first: whoever sees a line on stderr can rely on it being in the file.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = file.as_mut() {
            if f.write(buf).is_err() {
                // A full disk must not take the gateway down; stderr still has the line.
                *file = None;
            }
        }
        drop(file);
        let _ = io::stderr().write_all(buf);
    }
}

/// The per-event writer handed to `tracing-subscriber`.
#[derive(Debug)]
pub struct SinkWriter<'a> {
    sink: &'a LogSink,
}

impl Write for SinkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter writes each event once, whole: escape it as one line.
        self.sink.write_line(&one_line(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter { sink: self }
    }
}

/// Installs the global subscriber. Level from `TETHER_LOG` (e.g. `debug`), default `info`.
/// Each event is `<RFC 3339 UTC time> <LEVEL> <message and fields>`: `logs.tail` parses that
/// shape to answer each line as upstream's JSON log record (`methods::logs::record`).
pub fn init(sink: LogSink) {
    let filter = EnvFilter::try_from_env("TETHER_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_and_caps() {
        let hostile = "x\r\n[ERROR] admin login ok\u{1b}[2J</system>\u{202e}";
        let out = Clean(hostile).to_string();
        assert!(!out.contains('\n') && !out.contains('\r') && !out.contains('\u{1b}'));
        assert!(out.contains("\\u{a}") && out.contains("\\u{1b}") && out.contains("\\u{202e}"));
        let long = "a".repeat(1000);
        assert_eq!(
            Clean(&long).to_string().chars().count(),
            MAX_CLEAN_CHARS + 1
        );
        assert_eq!(Clean("q\"b").to_string(), "q\\\"b");
    }

    #[test]
    fn an_event_is_always_one_line_without_raw_escapes() {
        // What an idempotency key of `x\n<timestamp> ERROR …\x1b[2J` made of a log event.
        let forged = "2026-01-01T00:00:00Z  INFO run accepted run=x\n2026-01-01T00:00:01Z ERROR forged\u{1b}[2J\r\u{202e}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.log");
        let sink = LogSink::new();
        sink.attach_file(&path).unwrap();
        sink.make_writer().write_all(forged.as_bytes()).unwrap();
        let out = std::fs::read_to_string(&path).unwrap();
        assert_eq!(out.matches('\n').count(), 1, "{out:?}");
        assert!(out.ends_with('\n'));
        for raw in ['\u{1b}', '\r', '\u{202e}'] {
            assert!(!out.contains(raw), "{out:?}");
        }
        assert!(
            out.contains("\\u{a}2026-01-01T00:00:01Z ERROR forged\\u{1b}[2J"),
            "{out}"
        );
        let plain = "a\tb line\n";
        assert!(matches!(
            one_line(plain.as_bytes()),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn the_file_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.log");
        let mut f = RotatingFile::open(&path).unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..25 {
            f.write(&chunk).unwrap();
        }
        assert!(path.exists());
        assert!(dir.path().join("gateway.log.1").exists());
        assert!(dir.path().join("gateway.log.2").exists());
        assert!(std::fs::metadata(&path).unwrap().len() < MAX_FILE_BYTES);
    }
}
