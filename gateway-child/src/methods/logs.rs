//! `logs.tail {cursor?, limit?, maxBytes?}`: pages through the gateway's own log file.
//!
//! Without a cursor it returns the end of the file (at most `maxBytes`, at most `limit` lines);
//! with one it continues from there. The cursor is opaque to clients: the byte offset in its low
//! 40 bits and a tag of the file's inode above, so a rotated or truncated file is noticed and
//! answered with `reset: true` (starting again from the end) instead of silently skipping lines.
//! Only complete lines are returned. Read-only; it never touches any other file.
//!
//! The file stays what people read (`<time> <LEVEL> <message and fields>`, one event per line,
//! see `process::logging`); each line is answered as upstream's JSON log record
//! (`{time, _meta: {date, logLevelId, logLevelName, name}, message}`, see [`record`]), so
//! upstream's `openclaw logs` and Control UI show time, level and message as they do for
//! upstream's own log. A line that is not one of the gateway's events is answered verbatim.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;

use serde_json::{json, Value};
use tether_protocol::methods::LogsTailParams;
use tether_protocol::ErrorShape;

use crate::methods::call::CallContext;

/// Most lines per call.
pub const MAX_LIMIT: u32 = 5000;
/// Default lines per call.
pub const DEFAULT_LIMIT: u32 = 500;
/// Most bytes per call.
pub const MAX_BYTES: u64 = 1_000_000;
/// Default bytes per call.
pub const DEFAULT_BYTES: u64 = 250_000;

const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

/// The file tag of an inode (1..=4095; 0 means "no tag", e.g. a cursor from elsewhere).
fn tag_of(inode: u64) -> u64 {
    inode % 4095 + 1
}

/// A cursor for `offset` in the file with `inode` (stays below 2^53, safe in JSON numbers).
pub fn encode_cursor(inode: u64, offset: u64) -> u64 {
    (tag_of(inode) << OFFSET_BITS) | (offset & OFFSET_MASK)
}

/// Where to start reading, and whether the client's cursor no longer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// Byte offset to read from.
    pub offset: u64,
    /// Read from `offset` forward (true) or take the tail ending at the file end (false).
    pub forward: bool,
    /// The cursor pointed into a rotated or truncated file.
    pub reset: bool,
}

/// Decides where to read (pure).
pub fn start(cursor: Option<u64>, inode: u64, size: u64) -> Start {
    let tail = Start {
        offset: size,
        forward: false,
        reset: false,
    };
    let Some(c) = cursor else { return tail };
    let tag = c >> OFFSET_BITS;
    let offset = c & OFFSET_MASK;
    if (tag != 0 && tag != tag_of(inode)) || offset > size {
        return Start {
            reset: true,
            ..tail
        };
    }
    Start {
        offset,
        forward: true,
        reset: false,
    }
}

/// `logs.tail`.
pub async fn tail(ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    let p: LogsTailParams = super::params(params)?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let max_bytes = p.max_bytes.unwrap_or(DEFAULT_BYTES).clamp(1, MAX_BYTES);
    let path = ctx
        .services
        .log()
        .path()
        .unwrap_or_else(|| ctx.services.paths().log.clone());
    tokio::task::spawn_blocking(move || read_tail(&path, &p, limit, max_bytes))
        .await
        .map_err(|e| ErrorShape::unavailable(format!("cannot read log: {e}"), 1000))?
}

/// The file part of `logs.tail`, on the blocking pool.
fn read_tail(
    path: &std::path::Path,
    p: &LogsTailParams,
    limit: usize,
    max_bytes: u64,
) -> Result<Value, ErrorShape> {
    let file_name = path.display().to_string();
    let mut file = match crate::process::regular_file::open(path) {
        Ok((f, _)) => f,
        Err(e) if e.is_not_found() => {
            return Ok(json!({"file": file_name, "cursor": 0, "size": 0, "lines": []}));
        }
        Err(e) => {
            return Err(ErrorShape::unavailable(
                format!("cannot read log: {e}"),
                1000,
            ))
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| ErrorShape::unavailable(format!("cannot read log: {e}"), 1000))?;
    let (size, inode) = (meta.len(), meta.ino());
    let st = start(p.cursor, inode, size);
    let from = if st.forward {
        st.offset
    } else {
        size.saturating_sub(max_bytes)
    };
    let to = if st.forward {
        size.min(from + max_bytes)
    } else {
        size
    };
    let mut buf = vec![0u8; usize::try_from(to - from).unwrap_or(0)];
    file.seek(SeekFrom::Start(from))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| ErrorShape::unavailable(format!("cannot read log: {e}"), 1000))?;

    // Complete lines only: drop a partial first line of a tail, and a partial last line.
    let mut body: &[u8] = &buf;
    let mut skipped_front = 0u64;
    if !st.forward && from > 0 {
        match body.iter().position(|b| *b == b'\n') {
            Some(i) => {
                skipped_front = i as u64 + 1;
                body = &body[i + 1..];
            }
            None => body = &[],
        }
    }
    let complete = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let body = &body[..complete];
    let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    lines.pop(); // the empty piece after the final newline
    let total = lines.len();
    let (lines, end) = if st.forward {
        // Oldest first from the cursor: keep the first `limit`, stop after them.
        let kept: Vec<&[u8]> = lines.into_iter().take(limit).collect();
        let consumed: usize = kept.iter().map(|l| l.len() + 1).sum();
        (kept, from + consumed as u64)
    } else {
        let skip = total.saturating_sub(limit);
        let kept: Vec<&[u8]> = lines.into_iter().skip(skip).collect();
        (kept, from + skipped_front + complete as u64)
    };
    let truncated = end < size || (!st.forward && (from > 0 || total > limit));
    let text: Vec<String> = lines
        .iter()
        .map(|l| record(&String::from_utf8_lossy(l)))
        .collect();
    let mut out = json!({
        "file": file_name,
        "cursor": encode_cursor(inode, end),
        "size": size,
        "lines": text,
    });
    if truncated {
        out["truncated"] = json!(true);
    }
    if st.reset {
        out["reset"] = json!(true);
    }
    Ok(out)
}

/// One line of the log file as upstream's JSON log record (what its tslog logger writes for a
/// root-logger event: no subsystem), or the line itself when it is not
/// `<RFC 3339 UTC time> <LEVEL> <message>`. The time is cut to milliseconds, as upstream's.
pub fn record(line: &str) -> String {
    let parsed = line.split_once(' ').and_then(|(time, rest)| {
        let rest = rest.trim_start();
        let (level, message) = rest.split_once(' ').unwrap_or((rest, ""));
        let id = match level {
            "TRACE" => 1,
            "DEBUG" => 2,
            "INFO" => 3,
            "WARN" => 4,
            "ERROR" => 5,
            _ => return None,
        };
        Some((millis(time)?, level, id, message))
    });
    match parsed {
        Some((time, level, id, message)) => json!({
            "time": time,
            "_meta": {
                "date": time,
                "logLevelId": id,
                "logLevelName": level,
                "name": "tether-gateway",
            },
            "message": message,
        })
        .to_string(),
        None => line.to_owned(),
    }
}

/// `2026-12-04T08:04:10.824304Z` → `2026-12-04T08:04:10.824Z`; `None` for anything but an
/// RFC 3339 UTC time.
fn millis(time: &str) -> Option<String> {
    let body = time.strip_suffix('Z')?;
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    let shape = secs.len() == 19
        && secs.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        });
    if !shape || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ms: String = frac.chars().chain("000".chars()).take(3).collect();
    Some(format!("{secs}.{ms}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_become_upstreams_records() {
        let line = "2026-12-04T08:04:10.824304Z  INFO client connected conn=5 client=cli/cli";
        let v: Value = serde_json::from_str(&record(line)).unwrap();
        assert_eq!(
            v,
            json!({
                "time": "2026-12-04T08:04:10.824Z",
                "_meta": {"date": "2026-12-04T08:04:10.824Z", "logLevelId": 3,
                          "logLevelName": "INFO", "name": "tether-gateway"},
                "message": "client connected conn=5 client=cli/cli",
            })
        );
        let warn: Value =
            serde_json::from_str(&record("2026-12-04T08:04:10Z  WARN x \\u{1b}[2J")).unwrap();
        assert_eq!(warn["time"], "2026-12-04T08:04:10.000Z");
        assert_eq!(warn["_meta"]["logLevelName"], "WARN");
        assert_eq!(warn["_meta"]["logLevelId"], 4);
        assert_eq!(warn["message"], "x \\u{1b}[2J");
        let error: Value =
            serde_json::from_str(&record("2026-12-04T08:04:10.1Z ERROR boom")).unwrap();
        assert_eq!(error["time"], "2026-12-04T08:04:10.100Z");
        assert_eq!(error["_meta"]["logLevelId"], 5);
        // What is not one of the gateway's events stays as it is.
        for other in [
            "",
            "thread 'main' panicked at src/main.rs:1:1",
            "2026-12-04 08:04:10  INFO not RFC 3339",
            "2026-12-04T08:04:10.824304Z NOTICE unknown level",
            "2026-12-04T08:04:10.82x4Z  INFO bad fraction",
        ] {
            assert_eq!(record(other), other);
        }
    }

    #[test]
    fn cursors_follow_the_file_and_notice_rotation_and_truncation() {
        let c = encode_cursor(77, 1000);
        assert!(c < (1 << 53));
        assert_eq!(
            start(Some(c), 77, 5000),
            Start {
                offset: 1000,
                forward: true,
                reset: false
            }
        );
        // Same inode, file truncated below the cursor.
        assert_eq!(
            start(Some(c), 77, 10),
            Start {
                offset: 10,
                forward: false,
                reset: true
            }
        );
        // Rotated: another inode, even if it is already larger.
        assert!(start(Some(c), 78, 50_000).reset);
        // No cursor: the tail.
        assert_eq!(
            start(None, 77, 300),
            Start {
                offset: 300,
                forward: false,
                reset: false
            }
        );
        // A bare byte offset (tag 0) from an upstream-style client is taken as is.
        assert!(!start(Some(5), 77, 300).reset);
    }
}
