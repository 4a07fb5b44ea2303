//! The file tools: `read`, `ls`, `write`, `edit`, all confined to the workspace.
//!
//! It owns argument parsing and the file operations themselves, each on a path that went
//! through [`Workspace`]. Results are plain text for the model plus a small `details` object
//! for events. These functions do blocking file IO: the caller runs them on the blocking pool,
//! never on an async worker. It must never take a path from anywhere but
//! [`Workspace::resolve_existing`] / [`Workspace::resolve_for_write`], and never read or write
//! more than its caps: a cap applies to what is written, checked before the bytes are produced
//! (an `edit` that would grow a file past [`MAX_EDIT_BYTES`] is refused before replacing).

use std::io::{Read, Write};

use serde_json::{json, Value};

use super::workspace::{PathError, Workspace};
use super::ToolOutput;

/// Largest file `read` returns (bytes).
pub const MAX_READ_BYTES: u64 = 256 * 1024;
/// Largest file `edit` handles (bytes).
pub const MAX_EDIT_BYTES: u64 = 4 * 1024 * 1024;
/// Largest content `write` accepts (bytes).
pub const MAX_WRITE_BYTES: usize = 4 * 1024 * 1024;
/// Most entries `ls` lists.
pub const MAX_LS_ENTRIES: usize = 1000;
/// Most entry names `ls` holds in memory while listing (the rest are only counted).
const MAX_LS_SCAN: usize = 10 * MAX_LS_ENTRIES;

fn arg_str<'a>(args: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| args.get(*n).and_then(Value::as_str))
}

fn path_err(e: PathError) -> ToolOutput {
    ToolOutput::error(e.to_string())
}

/// The path argument (`path`, or the alternate names models use).
pub fn path_arg(args: &Value) -> Option<&str> {
    arg_str(args, &["path", "file_path", "filePath", "file"])
}

/// `read {path}`.
pub fn read(ws: &Workspace, args: &Value) -> ToolOutput {
    let Some(input) = path_arg(args) else {
        return ToolOutput::error("read needs a \"path\"");
    };
    let canon = match ws.resolve_existing(input) {
        Ok(p) => p,
        Err(e) => return path_err(e),
    };
    if canon.is_dir() {
        return ToolOutput::error(format!("{input} is a directory; use ls"));
    }
    let mut f = match ws.open_read(&canon) {
        Ok(f) => f,
        Err(e) => return ToolOutput::error(format!("cannot open {input}: {e}")),
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    if let Err(e) = (&mut f).take(MAX_READ_BYTES).read_to_end(&mut buf) {
        return ToolOutput::error(format!("cannot read {input}: {e}"));
    }
    let Ok(mut text) = String::from_utf8(buf) else {
        return ToolOutput::error(format!("{input} is not UTF-8 text ({size} bytes)"));
    };
    if size > MAX_READ_BYTES {
        text.push_str(&format!(
            "\n[truncated: showing the first {MAX_READ_BYTES} of {size} bytes]"
        ));
    }
    ToolOutput::ok(
        text.clone(),
        json!({"kind": "text", "path": ws.display(&canon), "bytes": size}),
    )
}

/// `ls {path?}`.
pub fn ls(ws: &Workspace, args: &Value) -> ToolOutput {
    let input = path_arg(args).unwrap_or(".");
    let canon = match ws.resolve_existing(input) {
        Ok(p) => p,
        Err(e) => return path_err(e),
    };
    let rd = match std::fs::read_dir(&canon) {
        Ok(rd) => rd,
        Err(e) => return ToolOutput::error(format!("cannot list {input}: {e}")),
    };
    let mut names = Vec::new();
    let mut total = 0usize;
    for entry in rd.flatten() {
        total += 1;
        if names.len() >= MAX_LS_SCAN {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let suffix = match entry.file_type() {
            Ok(t) if t.is_dir() => "/",
            Ok(t) if t.is_symlink() => "@",
            _ => "",
        };
        names.push(format!("{name}{suffix}"));
    }
    names.sort();
    names.truncate(MAX_LS_ENTRIES);
    let mut text = if names.is_empty() {
        "(empty directory)".to_owned()
    } else {
        names.join("\n")
    };
    if total > names.len() {
        text.push_str(&format!(
            "\n[{} more entries not shown]",
            total - names.len()
        ));
    }
    ToolOutput::ok(text, json!({"path": ws.display(&canon), "entries": total}))
}

/// `write {path, content}`.
pub fn write(ws: &Workspace, args: &Value) -> ToolOutput {
    let Some(input) = path_arg(args) else {
        return ToolOutput::error("write needs a \"path\"");
    };
    let Some(content) = arg_str(args, &["content", "text"]) else {
        return ToolOutput::error("write needs \"content\"");
    };
    if content.len() > MAX_WRITE_BYTES {
        return ToolOutput::error(format!("content is larger than {MAX_WRITE_BYTES} bytes"));
    }
    let target = match ws.resolve_for_write(input) {
        Ok(p) => p,
        Err(e) => return path_err(e),
    };
    if target.is_dir() {
        return ToolOutput::error(format!("{input} is a directory"));
    }
    let result = ws
        .open_write(&target)
        .and_then(|mut f| f.write_all(content.as_bytes()));
    match result {
        Ok(()) => ToolOutput::ok(
            format!("Wrote {} bytes to {}", content.len(), ws.display(&target)),
            json!({"path": ws.display(&target), "bytes": content.len()}),
        ),
        Err(e) => ToolOutput::error(format!("cannot write {input}: {e}")),
    }
}

/// `edit {path, oldText, newText, replaceAll?}`: exact-string replacement that must match
/// exactly once unless `replaceAll` is true.
pub fn edit(ws: &Workspace, args: &Value) -> ToolOutput {
    let Some(input) = path_arg(args) else {
        return ToolOutput::error("edit needs a \"path\"");
    };
    let Some(old) = arg_str(args, &["oldText", "old_string", "oldString"]) else {
        return ToolOutput::error("edit needs \"oldText\"");
    };
    let Some(new) = arg_str(args, &["newText", "new_string", "newString"]) else {
        return ToolOutput::error("edit needs \"newText\"");
    };
    let replace_all = args
        .get("replaceAll")
        .or_else(|| args.get("replace_all"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if old.is_empty() {
        return ToolOutput::error("oldText must not be empty");
    }
    let canon = match ws.resolve_existing(input) {
        Ok(p) => p,
        Err(e) => return path_err(e),
    };
    let mut f = match ws.open_read(&canon) {
        Ok(f) => f,
        Err(e) => return ToolOutput::error(format!("cannot open {input}: {e}")),
    };
    if f.metadata().map(|m| m.len()).unwrap_or(0) > MAX_EDIT_BYTES {
        return ToolOutput::error(format!("{input} is larger than {MAX_EDIT_BYTES} bytes"));
    }
    let mut text = String::new();
    if let Err(e) = (&mut f).take(MAX_EDIT_BYTES + 1).read_to_string(&mut text) {
        return ToolOutput::error(format!("cannot read {input} as text: {e}"));
    }
    if text.len() as u64 > MAX_EDIT_BYTES {
        return ToolOutput::error(format!("{input} is larger than {MAX_EDIT_BYTES} bytes"));
    }
    drop(f);
    let count = text.matches(old).count();
    if count == 0 {
        return ToolOutput::error(format!("oldText was not found in {input}"));
    }
    if count > 1 && !replace_all {
        return ToolOutput::error(format!(
            "oldText matches {count} times in {input}; make it unique or set replaceAll"
        ));
    }
    let replaced = if replace_all { count } else { 1 };
    let grown = text
        .len()
        .saturating_sub(replaced.saturating_mul(old.len()))
        .saturating_add(replaced.saturating_mul(new.len()));
    if grown as u64 > MAX_EDIT_BYTES {
        return ToolOutput::error(format!(
            "the edit would make {input} {grown} bytes, more than the {MAX_EDIT_BYTES} a file may have"
        ));
    }
    let updated = if replace_all {
        text.replace(old, new)
    } else {
        text.replacen(old, new, 1)
    };
    let result = ws
        .open_write(&canon)
        .and_then(|mut f| f.write_all(updated.as_bytes()));
    match result {
        Ok(()) => ToolOutput::ok(
            format!(
                "Replaced {count} occurrence{} in {}",
                if count == 1 { "" } else { "s" },
                ws.display(&canon)
            ),
            json!({"path": ws.display(&canon), "replacements": count}),
        ),
        Err(e) => ToolOutput::error(format!("cannot write {input}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ws")).unwrap();
        let ws = Workspace::open(&dir.path().join("ws")).unwrap();
        (dir, ws)
    }

    #[test]
    fn an_edit_that_would_grow_past_the_cap_is_refused_before_replacing() {
        let (_dir, ws) = ws();
        let file = ws.root().join("a.txt");
        std::fs::write(&file, "a".repeat(200 * 1024)).unwrap();
        let out = edit(
            &ws,
            &json!({"path": "a.txt", "oldText": "a", "newText": "b".repeat(1000), "replaceAll": true}),
        );
        assert!(out.is_error);
        assert!(
            out.text.contains("more than the 4194304 a file may have"),
            "{}",
            out.text
        );
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 200 * 1024);
        // Right at the cap is fine.
        std::fs::write(&file, "a".repeat(1024)).unwrap();
        let exact = usize::try_from(MAX_EDIT_BYTES).unwrap() / 1024;
        let out = edit(
            &ws,
            &json!({"path": "a.txt", "oldText": "a", "newText": "c".repeat(exact), "replaceAll": true}),
        );
        assert!(!out.is_error, "{}", out.text);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), MAX_EDIT_BYTES);
    }

    #[test]
    fn fifos_and_hard_links_are_refused_by_every_file_tool() {
        let (dir, ws) = ws();
        nix::unistd::mkfifo(&ws.root().join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "SECRET").unwrap();
        std::fs::hard_link(&outside, ws.root().join("linked.txt")).unwrap();
        for (path, why) in [
            ("pipe", "not a regular file (a FIFO)"),
            ("linked.txt", "other hard links"),
        ] {
            let outs = [
                read(&ws, &json!({ "path": path })),
                write(&ws, &json!({"path": path, "content": "PWNED"})),
                edit(
                    &ws,
                    &json!({"path": path, "oldText": "SECRET", "newText": "PWNED"}),
                ),
            ];
            for out in outs {
                assert!(out.is_error, "{path}: {}", out.text);
                assert!(out.text.contains(why), "{path}: {}", out.text);
                assert!(!out.text.contains("SECRET"), "{}", out.text);
            }
        }
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "SECRET");
    }
}
