//! The app's logs: `tracing` to size-rotated files under the XDG state directory, and reading
//! them back for the log viewer.
//!
//! It owns the log directory (`$XDG_STATE_HOME/tether/logs`, else `~/.local/state/tether/logs`),
//! two rotated files — `app.log` (this process: shell and supervisor) and `gateway.log` (the
//! gateway's output as the supervisor relays it, already classified and redacted) — each at most
//! [`MAX_FILE_BYTES`] with [`KEPT_FILES`] generations, and [`read`], which returns the newest
//! matching lines of one source. Lines are `<RFC 3339 UTC time> <LEVEL> <text>`. It never logs a
//! secret itself: what reaches it was redacted by the supervisor or never held one.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Largest size of one log file before it rotates.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Files kept per log, the current one included (`app.log`, `app.log.1`, `app.log.2`).
pub const KEPT_FILES: usize = 3;
/// Most bytes read back from the end of a log for the viewer.
const READ_BYTES: u64 = 2 << 20;

/// `$XDG_STATE_HOME/tether/logs`, else `~/.local/state/tether/logs`.
pub fn default_dir() -> PathBuf {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
            .join(".local/state"),
    };
    base.join("tether/logs")
}

/// A file that starts over in a new generation past [`MAX_FILE_BYTES`].
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    written: u64,
    max: u64,
}

impl RotatingFile {
    /// Opens (appends to) `path`, creating its directory private to the user.
    pub fn open(path: PathBuf) -> io::Result<Self> {
        Self::with_limit(path, MAX_FILE_BYTES)
    }

    fn with_limit(path: PathBuf, max: u64) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            tether_supervisor::profile::create_private_dir(dir)?;
        }
        let file = open_append(&path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            file: Some(file),
            written,
            max,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        for n in (1..KEPT_FILES).rev() {
            let from = generation(&self.path, n - 1);
            if from.exists() {
                std::fs::rename(&from, generation(&self.path, n))?;
            }
        }
        self.file = Some(open_append(&self.path)?);
        self.written = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// `app.log` for 0, `app.log.N` for N.
fn generation(path: &Path, n: usize) -> PathBuf {
    if n == 0 {
        return path.to_owned();
    }
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written >= self.max {
            self.rotate()?;
        }
        let file = match self.file.as_mut() {
            Some(f) => f,
            None => {
                self.file = Some(open_append(&self.path)?);
                self.file
                    .as_mut()
                    .ok_or_else(|| io::Error::other("log file not open"))?
            }
        };
        let n = file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

/// A shared rotating file for `tracing`'s writer (one whole line per event).
#[derive(Debug, Clone)]
pub struct SharedLog(Arc<Mutex<RotatingFile>>);

impl SharedLog {
    /// Wraps a rotating file.
    pub fn new(file: RotatingFile) -> Self {
        SharedLog(Arc::new(Mutex::new(file)))
    }

    /// Appends one line (a trailing newline is added), best effort: a full disk must not stop
    /// the app.
    pub fn line(&self, at_ms: u64, level: LogLevel, text: &str) {
        let line = format!("{} {} {}\n", rfc3339(at_ms), level.as_str(), one_line(text));
        if let Ok(mut f) = self.0.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedLog {
    type Writer = SharedLogGuard<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        SharedLogGuard(self.0.lock().ok())
    }
}

/// A locked [`SharedLog`] for one event.
#[derive(Debug)]
pub struct SharedLogGuard<'a>(Option<std::sync::MutexGuard<'a, RotatingFile>>);

impl Write for SharedLogGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

/// Control characters (a forged newline, an escape sequence) shown escaped: one event, one line.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\t' => vec![' '],
            c if c.is_control() => c.escape_default().collect(),
            c => vec![c],
        })
        .collect()
}

/// Severity, as the viewer filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Noise.
    Debug,
    /// Progress.
    Info,
    /// Worth a look.
    Warn,
    /// A failure.
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }

    fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "TRACE" | "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            _ => return None,
        })
    }
}

impl From<tether_supervisor::output::Level> for LogLevel {
    fn from(l: tether_supervisor::output::Level) -> Self {
        use tether_supervisor::output::Level;
        match l {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// `app.log`.
    App,
    /// `gateway.log`.
    Gateway,
}

impl LogSource {
    /// The file of this log in `dir`.
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(match self {
            LogSource::App => "app.log",
            LogSource::Gateway => "gateway.log",
        })
    }
}

/// `LogLine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Which log.
    pub source: LogSource,
    /// Epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Level.
    pub level: LogLevel,
    /// The text after time and level.
    pub text: String,
}

/// `LogQuery`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogQuery {
    /// Which log.
    pub source: LogSource,
    /// Most lines, 1–5000.
    pub limit: usize,
    /// Case-insensitive substring.
    #[serde(default)]
    pub contains: Option<String>,
    /// Lowest level.
    #[serde(default)]
    pub min_level: Option<LogLevel>,
}

/// The newest lines of a log matching `q`, oldest first. Reads at most a few MiB from the end of
/// the current file and, if that is not enough, the previous generation.
pub fn read(dir: &Path, q: &LogQuery) -> io::Result<Vec<LogLine>> {
    let needle = q
        .contains
        .as_deref()
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let min = q.min_level.unwrap_or(LogLevel::Debug);
    let base = q.source.path(dir);
    let mut out: Vec<LogLine> = Vec::new();
    for n in 0..KEPT_FILES {
        let path = generation(&base, n);
        let text = match tail(&path, READ_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(e),
        };
        let mut older: Vec<LogLine> = text
            .lines()
            .filter_map(|l| parse_line(q.source, l))
            .filter(|l| l.level >= min)
            .filter(|l| {
                needle
                    .as_ref()
                    .is_none_or(|n| l.text.to_lowercase().contains(n))
            })
            .collect();
        older.append(&mut out);
        out = older;
        if out.len() >= q.limit {
            break;
        }
    }
    let skip = out.len().saturating_sub(q.limit);
    Ok(out.split_off(skip))
}

/// The last `max` bytes of a file as text, starting at a line boundary.
fn tail(path: &Path, max: u64) -> io::Result<String> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(max);
    f.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
    f.read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // The first line is cut: drop it.
        text = text
            .split_once('\n')
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default();
    }
    Ok(text)
}

/// `<time> <LEVEL> <text>` (this module's lines, and `tracing`'s default format, which may
/// pad the level); anything else is kept as an `info` line without a time.
fn parse_line(source: LogSource, line: &str) -> Option<LogLine> {
    let line = line.trim_end();
    if line.is_empty() {
        return None;
    }
    let mut parts = line.splitn(2, ' ');
    let first = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default().trim_start();
    if let Some(at) = parse_rfc3339(first) {
        let mut p = rest.splitn(2, ' ');
        let level = p.next().and_then(LogLevel::parse);
        if let Some(level) = level {
            return Some(LogLine {
                source,
                at_ms: Some(at),
                level,
                text: p.next().unwrap_or_default().trim_start().to_owned(),
            });
        }
    }
    Some(LogLine {
        source,
        at_ms: None,
        level: LogLevel::Info,
        text: line.to_owned(),
    })
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-12-03T16:43:01.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(0);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        ms % 1000
    )
}

/// Epoch ms of `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (UTC only).
fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut tp = hms.splitn(3, ':');
    let h: u64 = tp.next()?.parse().ok()?;
    let mi: u64 = tp.next()?.parse().ok()?;
    let sec: u64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let ms: u64 = format!("{:0<3}", frac.get(..3.min(frac.len()))?)
        .parse()
        .ok()?;
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for ms in [0, 1_795_288_747_341, 951_782_400_000, 4_102_444_800_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
        }
        assert_eq!(rfc3339(1_795_288_747_341), "2026-11-21T19:19:07.341Z");
        assert_eq!(
            parse_rfc3339("2026-12-03T16:43:01.123456Z"),
            Some(1_796_316_181_123)
        );
        assert_eq!(parse_rfc3339("2026-13-03T16:43:01Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn rotates_and_reads_back_the_newest_lines_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let path = LogSource::Gateway.path(dir.path());
        let log = SharedLog::new(RotatingFile::with_limit(path.clone(), 2_000).unwrap());
        for i in 0..100u64 {
            let level = if i % 10 == 0 {
                LogLevel::Error
            } else {
                LogLevel::Info
            };
            log.line(
                1_000 + i,
                level,
                &format!("line {i}\nforged 2026-01-01T00:00:00Z ERROR x\x1b[2J"),
            );
        }
        assert!(generation(&path, 1).exists() && generation(&path, 2).exists());
        assert!(
            !generation(&path, 3).exists(),
            "only {KEPT_FILES} files are kept"
        );
        let q = |limit, contains: Option<&str>, min_level| LogQuery {
            source: LogSource::Gateway,
            limit,
            contains: contains.map(str::to_owned),
            min_level,
        };
        let last = read(dir.path(), &q(5, None, None)).unwrap();
        assert_eq!(last.len(), 5);
        assert!(last[4].text.starts_with("line 99"), "{:?}", last[4]);
        assert_eq!(last[4].at_ms, Some(1_099));
        assert!(last
            .iter()
            .all(|l| !l.text.contains('\n') && !l.text.contains('\x1b')));
        assert!(last[4].text.contains("\\n") && last[4].text.contains("\\u{1b}"));
        let errors = read(dir.path(), &q(100, None, Some(LogLevel::Error))).unwrap();
        assert!(!errors.is_empty() && errors.iter().all(|l| l.level == LogLevel::Error));
        assert!(
            errors.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
            "oldest first"
        );
        let found = read(dir.path(), &q(100, Some("LINE 98"), None)).unwrap();
        assert_eq!(found.len(), 1);
        let none = read(
            dir.path(),
            &LogQuery {
                source: LogSource::App,
                ..q(10, None, None)
            },
        )
        .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn tracing_lines_parse() {
        let l = parse_line(
            LogSource::App,
            "2026-12-03T16:43:01.123456Z  WARN tether_desktop::bridge: lagged 12",
        )
        .unwrap();
        assert_eq!(l.level, LogLevel::Warn);
        assert_eq!(l.text, "tether_desktop::bridge: lagged 12");
        let odd = parse_line(LogSource::App, "  continuation").unwrap();
        assert_eq!((odd.at_ms, odd.level), (None, LogLevel::Info));
    }
}
