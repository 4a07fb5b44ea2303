//! Exec allowlist matching (`tools.exec.allowlist`): which commands may run without asking.
//!
//! Two entry forms, and nothing else:
//! - **Exact**: the entry equals the command byte for byte (no trimming, no normalisation).
//!   `git status` allows `git status` and not `git status --porcelain`, `git  status` or
//!   `git status; rm -rf x`.
//! - **Prefix pattern**: an entry ending in ` *`, e.g. `cat *` or `git log *`. It allows the
//!   words before `*` followed by zero or more *plain operands*, separated by single spaces. A
//!   plain operand uses only `[A-Za-z0-9._,+=@%:/-]`, does not start with `-` (no options, so
//!   no GNU abbreviations like `--compress-prog`), does not start with `/` or `~`, and has no
//!   `..` component (it stays relative to the workspace).
//!
//! A command with any shell metacharacter (`;&|<>()$\`'"*?[]{}!#~\\` and friends), any
//! whitespace other than single spaces, any control character or any non-ASCII character
//! (bidi overrides, zero-width spaces) never matches a pattern. This module is pure; it must
//! never touch the filesystem or decide anything about approvals beyond "listed or not".

/// Whether `command` is allowed by `entries`.
pub fn is_allowlisted(command: &str, entries: &[String]) -> bool {
    entries.iter().any(|e| matches_entry(command, e))
}

fn matches_entry(command: &str, entry: &str) -> bool {
    if entry.is_empty() || command.is_empty() {
        return false;
    }
    match entry.strip_suffix(" *") {
        None => command == entry,
        Some(prefix) => {
            if prefix.is_empty() || !prefix.split(' ').all(is_plain_word) {
                return false;
            }
            let Some(rest) = command.strip_prefix(prefix) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            let Some(operands) = rest.strip_prefix(' ') else {
                return false;
            };
            operands.split(' ').all(is_plain_operand)
        }
    }
}

/// A program or subcommand word in a pattern prefix.
fn is_plain_word(w: &str) -> bool {
    !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

/// An operand a prefix pattern accepts.
pub fn is_plain_operand(w: &str) -> bool {
    !w.is_empty()
        && !w.starts_with('-')
        && !w.starts_with('/')
        && !w.starts_with('~')
        && w.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'.' | b'_' | b',' | b'+' | b'=' | b'@' | b'%' | b':' | b'/' | b'-'
                )
        })
        && !w.split('/').any(|c| c == "..")
}

/// The command with invisible and bidirectional-control characters escaped as `\u{XXXX}`,
/// for showing in an approval prompt exactly what would run.
pub fn preview(command: &str) -> String {
    let mut out = String::with_capacity(command.len());
    for c in command.chars() {
        let invisible = c.is_control() && c != '\n' && c != '\t'
            || matches!(c as u32,
                0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180E
                | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
                | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB | 0xE0000..=0xE007F);
        if invisible {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(entries: &[&str], command: &str, expect: bool) {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            is_allowlisted(command, &entries),
            expect,
            "{command:?} against {entries:?}"
        );
    }

    #[test]
    fn exact_entries() {
        let l = ["ls", "git status", "make test && make lint"];
        check(&l, "ls", true);
        check(&l, "git status", true);
        check(&l, "make test && make lint", true);
        check(&l, "ls ", false);
        check(&l, " ls", false);
        check(&l, "ls -la", false);
        check(&l, "git  status", false);
        check(&l, "git status --porcelain", false);
        check(&l, "ls; rm -rf x", false);
        check(&l, "ls\nrm -rf x", false);
        check(&l, "", false);
    }

    #[test]
    fn patterns_take_plain_operands_only() {
        let l = ["cat *", "sort *", "git log *"];
        check(&l, "cat notes.txt", true);
        check(&l, "cat", true);
        check(&l, "cat a.txt b/c.md", true);
        check(&l, "git log", true);
        check(&l, "git log main", true);
        check(&l, "catx", false);
        check(&l, "cat /etc/passwd", false);
        check(&l, "cat ../secret", false);
        check(&l, "cat a/../../x", false);
        check(&l, "cat ~/.ssh/id_rsa", false);
        check(&l, "cat *", false);
        check(&l, "cat a?", false);
        check(&l, "cat $HOME/.ssh/id_rsa", false);
        check(&l, "cat $(id)", false);
        check(&l, "cat `id`", false);
        check(&l, "cat a; id", false);
        check(&l, "cat a && id", false);
        check(&l, "cat a | sh", false);
        check(&l, "cat a > b", false);
        check(&l, "cat 'a'", false);
        check(&l, "cat \"a\"", false);
        check(&l, "cat a\tb", false);
        check(&l, "cat  a", false);
        check(&l, "cat a\u{202e}b", false);
        check(&l, "cat a\u{200b}", false);
        check(&l, "sort --compress-program=sh", false);
        check(&l, "sort --compress-prog=sh", false);
        check(&l, "sort --compress-p sh", false);
        check(&l, "sort -S 1 a", false);
        check(&l, "sort a.txt", true);
        check(&l, "cmd /c dir", false);
        check(&["cmd *"], "cmd /c dir", false);
        // A pattern whose prefix has metacharacters is ignored entirely.
        check(&["ls;id *"], "ls;id", false);
        check(&[" *"], "anything", false);
        check(&["*"], "ls", false);
    }

    #[test]
    fn preview_escapes_invisibles() {
        assert_eq!(preview("echo hi"), "echo hi");
        assert_eq!(preview("rm a\u{202e}txt"), "rm a\\u{202E}txt");
        assert_eq!(preview("a\u{200b}b"), "a\\u{200B}b");
        assert_eq!(preview("a\u{1b}[2J"), "a\\u{001B}[2J");
    }
}
