//! Child output: classify, de-duplicate, redact and keep the last lines of stdout/stderr.
//!
//! It owns the ring of the last [`KEEP_LINES`] lines (for diagnostics and exit decisions) and
//! the de-duplication state. Lines are stripped of ANSI escapes and every other control or
//! invisible character is escaped ([`printable`]: a gateway's output is partly written by its
//! clients and its model, and must not forge lines or move a terminal's cursor), secrets are
//! redacted (the
//! gateway token and anything shaped like `token=…`/`Bearer …`), each line gets a level —
//! anchors b6: known noise is `debug`, startup traces `info`, tracing-style `LEVEL` prefixes
//! are honoured, everything else `warn` — and a consecutive repeat is counted instead of kept,
//! with a summary every [`REPEAT_SUMMARY_EVERY`] repeats. It also spots the hints exit
//! classification needs. It never reads a pipe itself (the launcher does, without ever blocking
//! the child) and never logs.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::policy::exit::Hints;

/// Lines kept for diagnostics.
pub const KEEP_LINES: usize = 120;
/// A repeated line is reported again after this many repeats.
pub const REPEAT_SUMMARY_EVERY: u32 = 50;
/// Longest line kept (longer lines are cut on a char boundary).
pub const MAX_LINE_BYTES: usize = 4096;

/// Which pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Severity of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Noise.
    Debug,
    /// Progress.
    Info,
    /// Worth a look.
    Warn,
    /// A failure.
    Error,
}

/// One kept line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// Pipe.
    pub stream: Stream,
    /// Level.
    pub level: Level,
    /// Redacted text.
    pub text: String,
    /// How many times it repeated right after itself.
    pub repeats: u32,
}

/// What happened to a line fed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fed {
    /// Dropped (empty or pure noise that is not even debug-worthy).
    Dropped,
    /// A repeat of the previous line, counted silently.
    Repeat,
    /// A line to publish (new, or a repeat summary).
    Publish(Line),
}

/// The output log of one supervisor (all generations of the child).
#[derive(Debug, Clone)]
pub struct OutputLog {
    ring: VecDeque<Line>,
    secrets: Vec<String>,
    hints: Hints,
    /// The last warning since the last [`OutputLog::take_hints`] (used when no error came).
    last_warn: Option<String>,
}

impl OutputLog {
    /// A log that redacts these secrets.
    pub fn new(secrets: Vec<String>) -> Self {
        OutputLog {
            ring: VecDeque::with_capacity(KEEP_LINES),
            secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
            hints: Hints::default(),
            last_warn: None,
        }
    }

    /// Feeds one raw line.
    pub fn feed(&mut self, stream: Stream, raw: &str) -> Fed {
        let text = redact(&printable(&strip_ansi(raw), false), &self.secrets);
        let text = cut(text.trim_end());
        if text.trim().is_empty() {
            return Fed::Dropped;
        }
        let Some(level) = level_of(&text) else {
            return Fed::Dropped;
        };
        self.spot_hints(&text);
        match level {
            Level::Error => self.hints.last_error = Some(message_of(&text)),
            Level::Warn => self.last_warn = Some(message_of(&text)),
            Level::Debug | Level::Info => {}
        }
        if let Some(last) = self.ring.back_mut() {
            if last.text == text && last.stream == stream {
                last.repeats += 1;
                if last.repeats % REPEAT_SUMMARY_EVERY == 0 {
                    return Fed::Publish(last.clone());
                }
                return Fed::Repeat;
            }
        }
        let line = Line {
            stream,
            level,
            text,
            repeats: 0,
        };
        if self.ring.len() == KEEP_LINES {
            self.ring.pop_front();
        }
        self.ring.push_back(line.clone());
        Fed::Publish(line)
    }

    fn spot_hints(&mut self, text: &str) {
        let l = text.to_ascii_lowercase();
        if l.contains("eaddrinuse")
            || l.contains("already listening")
            || (l.contains("port") && l.contains("in use"))
        {
            self.hints.port_in_use = true;
        }
        if l.contains("already running")
            || l.contains("contentionerror")
            || l.contains("another openclaw process owns")
        {
            self.hints.already_running = true;
        }
        if l.contains("invalid config")
            || l.contains("config invalid")
            || l.contains("unrecognized key")
        {
            self.hints.config_invalid = true;
        }
    }

    /// Hints seen since the last [`OutputLog::take_hints`]; the last error line, else the last
    /// warning, becomes `last_error`.
    pub fn take_hints(&mut self) -> Hints {
        let warn = self.last_warn.take();
        let mut hints = std::mem::take(&mut self.hints);
        hints.last_error = hints.last_error.or(warn);
        hints
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.ring.iter()
    }

    /// The last line at `warn` or above, for status displays.
    pub fn last_problem(&self) -> Option<&Line> {
        self.ring.iter().rev().find(|l| l.level >= Level::Warn)
    }
}

/// Longest child message carried into a status reason.
const MAX_MESSAGE_CHARS: usize = 300;

/// A redacted line without the log prefix: `2026-…Z ERROR message` becomes `message`; other
/// formats (upstream's `[gateway] …`, plain text) are kept; at most [`MAX_MESSAGE_CHARS`].
fn message_of(text: &str) -> String {
    let mut rest = text.trim();
    let mut words = rest.split_whitespace();
    let first = words.next().unwrap_or("");
    if first.starts_with(|c: char| c.is_ascii_digit()) && first.contains('T') {
        if let Some(level) = words.next() {
            if ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&level) {
                let skip = rest.find(level).map_or(0, |i| i + level.len());
                rest = rest[skip..].trim_start();
            }
        }
    }
    if rest.chars().count() <= MAX_MESSAGE_CHARS {
        return rest.to_owned();
    }
    let cut: String = rest.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{cut}…")
}

fn cut(s: &str) -> String {
    if s.len() <= MAX_LINE_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_LINE_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Removes ANSI escape sequences (CSI and OSC).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `s` with every control character (but tabs, and newlines when `keep_newlines`) and every
/// invisible or bidirectional-control character escaped as `\u{…}`: text from a gateway, a
/// client or a model, made safe to print on a terminal or to relay as one line.
pub fn printable(s: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let escape = |c: char| {
        (c.is_control() && c != '\t' && !(keep_newlines && c == '\n'))
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(escape) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Replaces known secrets and secret-shaped values with `***`.
pub fn redact(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    for key in [
        "token=",
        "token\":\"",
        "Bearer ",
        "password=",
        "apiKey\":\"",
    ] {
        let mut from = 0;
        while let Some(pos) = out[from..].find(key) {
            let start = from + pos + key.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '&' || c == ',')
                .map_or(out.len(), |e| start + e);
            if end > start && &out[start..end] != "***" {
                out.replace_range(start..end, "***");
            }
            from = start;
            if from >= out.len() {
                break;
            }
        }
    }
    out
}

/// anchors b6, plus tracing-style levels; `None` drops the line.
fn level_of(text: &str) -> Option<Level> {
    let l = text.to_ascii_lowercase();
    if (l.contains("openclaw-control-ui") && l.contains("token_mismatch"))
        || (l.contains("closed before connect") && l.contains("token mismatch"))
    {
        return None;
    }
    const DEBUG: &[&str] = &[
        "[ws] closed before connect",
        "security warning: dangerous config flags enabled",
        "experimentalwarning",
        "deprecationwarning",
        "--trace-deprecation",
        "debugger attached",
        "config warnings:",
        "--require is not allowed in node_options",
    ];
    if DEBUG.iter().any(|p| l.contains(p)) {
        return Some(Level::Debug);
    }
    if l.contains("startup trace:") {
        return Some(Level::Info);
    }
    // tracing's default format: `2026-… LEVEL target: message`; upstream: `[gateway] …`.
    let head: String = text.chars().take(48).collect();
    for (needle, level) in [
        (" ERROR ", Level::Error),
        (" WARN ", Level::Warn),
        (" INFO ", Level::Info),
        (" DEBUG ", Level::Debug),
        (" TRACE ", Level::Debug),
    ] {
        if head.contains(needle) || head.starts_with(needle.trim_start()) {
            return Some(level);
        }
    }
    if l.starts_with("[gateway]") || l.starts_with("{\"event\":\"ready\"") {
        return Some(Level::Info);
    }
    if l.contains("error") || l.contains("failed") || l.contains("panicked") {
        return Some(Level::Error);
    }
    Some(Level::Warn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_child_output_are_escaped_not_relayed() {
        let mut log = OutputLog::new(vec![]);
        let line = "2026-01-01T00:00:00Z  INFO run accepted run=k\r2026-01-01T00:00:01Z ERROR forged\u{7}\u{8}\u{202e}x";
        let Fed::Publish(l) = log.feed(Stream::Stderr, line) else {
            panic!("dropped")
        };
        assert_eq!(l.level, Level::Info, "{l:?}");
        for raw in ['\r', '\u{7}', '\u{8}', '\u{202e}'] {
            assert!(!l.text.contains(raw), "{:?}", l.text);
        }
        assert!(
            l.text.contains("\\u{d}2026-01-01T00:00:01Z ERROR forged"),
            "{}",
            l.text
        );
        assert_eq!(printable("a\nb\tc", true), "a\nb\tc");
        assert_eq!(printable("a\nb\u{1b}[2J", true), "a\nb\\u{1b}[2J");
    }

    fn published(f: Fed) -> Line {
        match f {
            Fed::Publish(l) => l,
            other => panic!("expected publish, got {other:?}"),
        }
    }

    #[test]
    fn classifies_like_the_anchors() {
        let mut log = OutputLog::new(vec![]);
        let check = |log: &mut OutputLog, line: &str, expect: Option<Level>| {
            let got = match log.feed(Stream::Stderr, line) {
                Fed::Publish(l) => Some(l.level),
                Fed::Dropped => None,
                Fed::Repeat => panic!("unexpected repeat"),
            };
            assert_eq!(got, expect, "{line}");
        };
        check(&mut log, "", None);
        check(
            &mut log,
            "(node:1) ExperimentalWarning: SQLite",
            Some(Level::Debug),
        );
        check(
            &mut log,
            "startup trace: plugins 340ms total=900ms",
            Some(Level::Info),
        );
        check(
            &mut log,
            "2026-11-21T10:00:00Z  WARN gateway: slow",
            Some(Level::Warn),
        );
        check(
            &mut log,
            "2026-11-21T10:00:00Z ERROR gateway: boom",
            Some(Level::Error),
        );
        check(&mut log, "[gateway] ready", Some(Level::Info));
        check(&mut log, "something odd", Some(Level::Warn));
        check(&mut log, "openclaw-control-ui token_mismatch x", None);
    }

    #[test]
    fn strips_ansi_and_redacts() {
        assert_eq!(strip_ansi("\u{1b}[31mred\u{1b}[0m text"), "red text");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}x"), "x");
        let secrets = vec!["s3cr3t-token-value".to_string()];
        assert_eq!(
            redact("auth s3cr3t-token-value ok", &secrets),
            "auth *** ok"
        );
        assert_eq!(redact("url?token=abc&x=1", &[]), "url?token=***&x=1");
        assert_eq!(
            redact("Authorization: Bearer abc.def", &[]),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            redact(r#"{"token":"zzz","a":1}"#, &[]),
            r#"{"token":"***","a":1}"#
        );
    }

    #[test]
    fn repeats_are_counted_and_summarised() {
        let mut log = OutputLog::new(vec![]);
        published(log.feed(Stream::Stderr, "same"));
        for _ in 1..REPEAT_SUMMARY_EVERY {
            assert_eq!(log.feed(Stream::Stderr, "same"), Fed::Repeat);
        }
        let summary = published(log.feed(Stream::Stderr, "same"));
        assert_eq!(summary.repeats, REPEAT_SUMMARY_EVERY);
        assert_eq!(log.lines().count(), 1);
    }

    #[test]
    fn keeps_the_last_lines_only() {
        let mut log = OutputLog::new(vec![]);
        for i in 0..(KEEP_LINES + 30) {
            log.feed(Stream::Stdout, &format!("line {i}"));
        }
        assert_eq!(log.lines().count(), KEEP_LINES);
        assert_eq!(log.lines().next().unwrap().text, "line 30");
    }

    #[test]
    fn the_last_error_line_is_kept_for_the_exit_reason() {
        let mut log = OutputLog::new(vec!["s3cr3t-token".into()]);
        log.feed(
            Stream::Stderr,
            "2026-11-21T23:10:43.096986Z  INFO starting version=\"0.1.0\"",
        );
        log.feed(Stream::Stderr, "2026-11-21T23:10:43.097304Z ERROR invalid config: /s/gateway.json:3:5: gateway.port: invalid type (token s3cr3t-token)");
        let h = log.take_hints();
        assert!(h.config_invalid);
        assert_eq!(
            h.last_error.as_deref(),
            Some("invalid config: /s/gateway.json:3:5: gateway.port: invalid type (token ***)")
        );
        // Without an error line, the last warning speaks; the next exit starts afresh.
        log.feed(
            Stream::Stderr,
            "Gateway failed to start: listen EADDRINUSE 127.0.0.1:18789",
        );
        assert_eq!(
            log.take_hints().last_error.as_deref(),
            Some("Gateway failed to start: listen EADDRINUSE 127.0.0.1:18789")
        );
        assert_eq!(log.take_hints(), Hints::default());
        // Long lines are cut for the reason (the full line stays in the log).
        log.feed(
            Stream::Stderr,
            &format!("2026-11-21T00:00:00Z ERROR {}", "x".repeat(1000)),
        );
        assert_eq!(
            log.take_hints().last_error.unwrap().chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
    }

    #[test]
    fn hints_for_exit_decisions() {
        let mut log = OutputLog::new(vec![]);
        log.feed(
            Stream::Stderr,
            "Gateway failed to start: listen EADDRINUSE: address already in use",
        );
        log.feed(Stream::Stderr, "StateDatabaseCoordinatorContentionError: another OpenClaw process owns gateway-lifecycle");
        let h = log.take_hints();
        assert!(h.port_in_use && h.already_running && !h.config_invalid);
        assert_eq!(log.take_hints(), Hints::default());
    }
}
