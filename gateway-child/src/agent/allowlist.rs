//! Exec allowlist matching (`tools.exec.allowlist`): which commands may run without asking.
//!
//! Two entry forms, and nothing else:
//! - **Exact**: the entry equals the command byte for byte (no trimming, no normalisation).
//!   `git status` allows `git status` and not `git status --porcelain`, `git  status` or
//!   `git status; rm -rf x`.
//! - **Prefix pattern**: an entry ending in ` *`, e.g. `cat *` or `git log *`. It allows the
//!   words before `*` followed by zero or more *plain operands*, separated by single spaces. A
//!   plain operand uses only `[A-Za-z0-9._,+@%/-]`, does not start with `-` (no options, so
//!   no GNU abbreviations like `--compress-prog`), does not start with `/` or `~`, and has no
//!   `..` component (it stays relative to the workspace). `=` and `:` are not plain: they make an
//!   operand an assignment (`dd if=/etc/shadow`, `make SHELL=…`) or a remote or URL
//!   (`host:/path`), which hide a path or a program inside the operand.
//!
//! Plain operands are safe only for a program that treats them as data. Some programs treat an
//! operand as code or as a command to run: interpreters and shells (the script), `sed` (`1eid`
//! runs `id`, `w/abs/file` writes anywhere), `awk` (`system()`), `ed`/`vi`/`dc`/`m4` (shell
//! escapes), command runners (`env`, `xargs`, `nice`, `timeout`, `sudo`, `ssh`, …) and build
//! tools that run what the workspace defines (`make`, `npm`, `cargo`, …). For those
//! ([`RUNS_OPERANDS`], matched on the program's base name) a pattern admits **no** operands: only
//! the bare program, or an exact entry, runs without approval. `git` runs code from the
//! repository's config (aliases, `submodule foreach`, `bisect run`), so a `git` pattern must name
//! its subcommand (`git log *`), and one naming a subcommand in [`GIT_RUNS_OPERANDS`] admits no
//! operands. A `find` pattern whose own words include an action that runs or writes (`-exec`,
//! `-delete`, `-fprint`, …) admits no operands either.
//!
//! A command with any shell metacharacter (`;&|<>()$\`'"*?[]{}!#~\\` and friends), any
//! whitespace other than single spaces, any control character or any non-ASCII character
//! (bidi overrides, zero-width spaces) never matches a pattern. This module is pure; it must
//! never touch the filesystem or decide anything about approvals beyond "listed or not".

/// Programs whose operands can be code or a command line: a pattern never gives them operands.
#[rustfmt::skip]
pub const RUNS_OPERANDS: &[&str] = &[
    // Shells and interpreters: the operand is a script.
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "yash", "fish", "csh", "tcsh", "busybox",
    "python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "irb", "node", "nodejs",
    "deno", "bun", "php", "lua", "luajit", "tclsh", "wish", "expect", "rscript", "r", "julia",
    "pwsh", "powershell", "osascript", "guile", "racket", "sbcl", "ocaml", "ghci", "runghc",
    "scala", "groovy", "java", "jshell", "jq", "gdb", "lldb",
    // Text tools with a language of their own that can run commands or write files.
    "sed", "gsed", "awk", "gawk", "mawk", "nawk", "ed", "ex", "vi", "vim", "nvim", "view",
    "emacs", "dc", "m4",
    // Command runners: the operands are the command.
    "env", "xargs", "nice", "nohup", "timeout", "time", "stdbuf", "setsid", "sudo", "doas",
    "su", "runuser", "chroot", "unshare", "nsenter", "strace", "ltrace", "valgrind", "watch",
    "flock", "ionice", "taskset", "chrt", "exec", "command", "builtin", "eval", "source", ".",
    "parallel", "script", "ssh", "systemd-run", "at", "batch", "crontab", "tmux", "screen",
    // Build and package tools: they run what the workspace (or a registry) defines.
    "make", "gmake", "cmake", "ninja", "just", "npm", "npx", "pnpm", "pnpx", "yarn", "cargo",
    "go", "mvn", "gradle", "ant", "rake", "bundle", "pip", "pip3", "pipx", "uv", "uvx",
    "poetry", "tox", "nox", "bazel", "meson", "docker", "podman", "kubectl",
];

/// `git` subcommands whose operands can name a command to run.
#[rustfmt::skip]
pub const GIT_RUNS_OPERANDS: &[&str] = &[
    "submodule", "bisect", "filter-branch", "rebase", "difftool", "mergetool", "daemon",
    "config", "var", "web--browse", "instaweb", "send-email", "credential", "archimport",
    "cvsimport", "svn", "p4", "remote-ext", "upload-pack", "receive-pack",
];

/// `find` actions that run a command or write a file.
#[rustfmt::skip]
const FIND_ACTIONS: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

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
            takes_plain_operands(prefix) && operands.split(' ').all(is_plain_operand)
        }
    }
}

/// Whether a pattern with these words before ` *` may admit operands at all (see the module
/// docs): not when the program can run its operands.
fn takes_plain_operands(prefix: &str) -> bool {
    let mut words = prefix.split(' ');
    let program = words.next().unwrap_or("");
    let name = program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    // Versioned interpreters (`python3.12`, `perl5.36`) are their interpreter.
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if RUNS_OPERANDS.contains(&name.as_str()) || RUNS_OPERANDS.contains(&base) {
        return false;
    }
    let rest: Vec<&str> = words.collect();
    match name.as_str() {
        "git" => match rest.iter().find(|w| !w.starts_with('-')) {
            // `git *`: the model would choose the subcommand (or an alias).
            None => false,
            Some(sub) => !GIT_RUNS_OPERANDS.contains(sub) && !rest.contains(&"-c"),
        },
        "find" => !rest.iter().any(|w| FIND_ACTIONS.contains(w)),
        _ => true,
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
                || matches!(b, b'.' | b'_' | b',' | b'+' | b'@' | b'%' | b'/' | b'-')
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
        check(&l, "cat a=b", false);
        check(&l, "cat host:/etc/passwd", false);
        check(&l, "cmd /c dir", false);
        check(&["cmd *"], "cmd /c dir", false);
        // A pattern whose prefix has metacharacters is ignored entirely.
        check(&["ls;id *"], "ls;id", false);
        check(&[" *"], "anything", false);
        check(&["*"], "ls", false);
    }

    #[test]
    fn programs_that_run_their_operands_take_none_from_a_pattern() {
        // The probe's two commands: sed writing outside, sed running `id`.
        check(&["sed *"], "sed w/abs/outside/pwned.txt notes.txt", false);
        check(&["sed *"], "sed 1eid notes.txt", false);
        check(&["sed *"], "sed", true);
        check(&["sed 1p *"], "sed 1p notes.txt", false);
        for (entry, command) in [
            ("awk *", "awk BEGIN{system} x"),
            ("awk *", "awk prog.awk"),
            ("/usr/bin/awk *", "/usr/bin/awk x"),
            ("python3 *", "python3 script.py"),
            ("python3.12 *", "python3.12 script.py"),
            ("perl *", "perl x.pl"),
            ("bash *", "bash run.sh"),
            ("env *", "env id"),
            ("xargs *", "xargs rm"),
            ("timeout *", "timeout 5 id"),
            ("nice *", "nice id"),
            ("make *", "make install"),
            ("npm run *", "npm run build"),
            ("dc *", "dc prog"),
            ("ssh *", "ssh host id"),
            ("dd *", "dd if=/etc/shadow of=x"),
            ("git *", "git submodule"),
            ("git *", "git my-alias"),
            ("git submodule *", "git submodule foreach"),
            ("git bisect *", "git bisect run"),
            ("git -c *", "git -c x log"),
            ("find . -exec *", "find . -exec id"),
            ("find -delete *", "find -delete x"),
        ] {
            check(&[entry], command, false);
        }
        // Programs that only read their operands keep working.
        check(&["git log *"], "git log main", true);
        check(&["git status *"], "git status src", true);
        check(&["find *"], "find src", true);
        check(&["grep TODO *"], "grep TODO notes.txt", true);
        check(&["wc *"], "wc -l x", false);
        check(&["wc *"], "wc x", true);
        // Exact entries are the user's own decision, whatever the program.
        check(&["sed -n 1p notes.txt"], "sed -n 1p notes.txt", true);
    }

    #[test]
    fn preview_escapes_invisibles() {
        assert_eq!(preview("echo hi"), "echo hi");
        assert_eq!(preview("rm a\u{202e}txt"), "rm a\\u{202E}txt");
        assert_eq!(preview("a\u{200b}b"), "a\\u{200B}b");
        assert_eq!(preview("a\u{1b}[2J"), "a\\u{001B}[2J");
    }
}
