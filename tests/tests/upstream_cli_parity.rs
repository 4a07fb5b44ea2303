//! Upstream's `openclaw` CLI against Tether's gateway, exactly as against upstream's own gateway:
//! the read commands an operator runs (`health`, `status`, `cron list`, `nodes status`,
//! `approvals pending`, `models list`, `gateway health|status|probe`, `logs`, `system presence`),
//! each compared between the two.
//!
//! Both gateways get the same config blocks (the mock OpenAI-compatible provider, `mock/mock-1`
//! as the default model, heartbeats off) and token auth, each on its own loopback port; both
//! first run one chat turn through the CLI (`openclaw agent … --session-key agent:main:main`),
//! so each has one session to list. Then every command runs against each, with the token and URL by environment
//! and the port in the CLI's own scratch config too (`gateway status` and `gateway probe` look at
//! the configured local port, not at `OPENCLAW_GATEWAY_URL`). Compared:
//! - the exit codes, always;
//! - text output: stdout and stderr lines after [`normalize`] replaces what differs between any
//!   two runs (times, durations, ports, paths, ids, versions, table padding);
//! - `--json` output: the keys at the paths the CLI's renderers read (top level always), each
//!   marked when its value is `[]`, `null` or `"[redacted]"`, so a redaction or an empty list
//!   shows as a difference without comparing values.
//!
//! A difference that is legitimate (a feature Tether does not have, a version string, an
//! addition of Tether's own) is listed in [`ALLOWED`] with its reason, per command and line;
//! any other difference fails the test with a unified diff (`-` upstream, `+` Tether). Both
//! outputs are printed side by side and kept under `target/upstream-cli-parity/{upstream,tether}/`
//! (one `<command>.txt` each) with the normalized diffs in `target/upstream-cli-parity/diff.txt`.
//!
//! Needs upstream (`.ci/install-upstream`); fails, never skips, without it. 2–3 min on 2 busy
//! cores (upstream's boot and first turn ~45 s, `gateway probe` and `system presence` ~40 s of
//! CLI time); upstream's gateway needs ~900 MB. Run: `cargo test -p tether-e2e --test upstream_cli_parity -- --nocapture`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, Reply};
use tether_testkit::process::{ChildGuard, Stream};
use tether_testkit::upstream::{self, Upstream, UpstreamGateway};

const MAIN: &str = "agent:main:main";
/// What the mock provider answers; each side's chat turn must print it.
const MARKER: &str = "MARK-cli-p4";
/// Far beyond one CLI run (1–5 s; upstream's first chat turn up to ~30 s); only a hang reaches it.
const CLI_DEADLINE: Duration = Duration::from_secs(180);

/// Which gateway a run was against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Upstream,
    Tether,
}

impl Side {
    fn dir(self) -> &'static str {
        match self {
            Side::Upstream => "upstream",
            Side::Tether => "tether",
        }
    }
}

/// How a command's output is compared.
#[derive(Debug, Clone, Copy)]
enum Compare {
    /// Normalized stdout, then stderr, line by line.
    Text,
    /// The keys at these JSON paths (`""` is the top level, `a[]` every element of array `a`).
    Json(&'static [&'static str]),
}

#[derive(Debug)]
struct Command {
    args: &'static [&'static str],
    compare: Compare,
}

/// Every command of the issue, in the order they run. `health` comes first, right after both
/// gateways' health caches were refreshed (see the test).
const COMMANDS: &[Command] = &[
    Command {
        args: &["health"],
        compare: Compare::Text,
    },
    Command {
        args: &["health", "--json"],
        // What `openclaw health`'s text renderer reads: the agents with their heartbeat and
        // session store (path, count, recent sessions), and the summary's own sessions.
        compare: Compare::Json(&[
            "",
            "agents[]",
            "agents[].heartbeat",
            "agents[].sessions",
            "agents[].sessions.recent[]",
            "sessions",
            "sessions.recent[]",
        ]),
    },
    Command {
        args: &["status", "--json"],
        // What `openclaw status`'s renderers read of the gateway's `status`: sessions (count,
        // recent, defaults, byAgent with path/count/recent), heartbeat per agent, tasks, and
        // the agents block the CLI builds from `sessions.byAgent`.
        compare: Compare::Json(&[
            "",
            "heartbeat",
            "heartbeat.agents[]",
            "sessions",
            "sessions.defaults",
            "sessions.byAgent[]",
            "tasks",
            "tasks.byStatus",
            "agents",
            "agents.agents[]",
        ]),
    },
    Command {
        args: &["status"],
        compare: Compare::Text,
    },
    Command {
        args: &["cron", "list"],
        compare: Compare::Text,
    },
    Command {
        args: &["nodes", "status"],
        compare: Compare::Text,
    },
    Command {
        args: &["approvals", "pending", "--json"],
        compare: Compare::Json(&["", "approvals[]"]),
    },
    Command {
        args: &["approvals", "pending"],
        compare: Compare::Text,
    },
    Command {
        args: &["models", "list"],
        compare: Compare::Text,
    },
    Command {
        args: &["gateway", "health"],
        compare: Compare::Text,
    },
    Command {
        args: &["gateway", "status"],
        compare: Compare::Text,
    },
    Command {
        args: &["gateway", "probe"],
        compare: Compare::Text,
    },
    Command {
        // Bounded: the newest 20 lines once (`--follow` is off by default).
        args: &["logs", "--limit", "20"],
        compare: Compare::Text,
    },
    Command {
        // Prints the `system-presence` entries as JSON in text mode too.
        args: &["system", "presence"],
        compare: Compare::Json(&["[]"]),
    },
];

/// A difference accepted on purpose: in `command`'s compared lines (normalized text, or JSON
/// key lines), a line only `side` has that matches the glob `line` (`*` is any run).
#[derive(Debug)]
struct Allowed {
    command: &'static str,
    side: Side,
    line: &'static str,
    reason: &'static str,
}

const TETHER_EXTRA: &str =
    "a fact of Tether's own, added next to upstream's fields (the CLI ignores unknown keys)";
const NODE_INTERNAL: &str = "an upstream Node-process internal no CLI command reads \
     (prepared model runtime warm-up, worker-thread pools, its systemd drain budget)";
const BUILTIN_CRON: &str = "upstream declares built-in automations (skill collection review, \
     memory-core's dreaming promotion) that Tether does not have; Tether's empty list prints as such";

/// Every accepted difference. Anything not listed here fails the test.
const ALLOWED: &[Allowed] = &[
    // health
    Allowed {
        command: "health --json",
        side: Side::Upstream,
        line: "modelRuntime",
        reason: NODE_INTERNAL,
    },
    Allowed {
        command: "health --json",
        side: Side::Tether,
        line: "engine",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "health --json",
        side: Side::Tether,
        line: "gateway",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "health --json",
        side: Side::Tether,
        line: "agents[].model",
        reason: TETHER_EXTRA,
    },
    // status --json
    Allowed {
        command: "status --json",
        side: Side::Upstream,
        line: "modelRuntime",
        reason: NODE_INTERNAL,
    },
    Allowed {
        command: "status --json",
        side: Side::Upstream,
        line: "workerPools",
        reason: NODE_INTERNAL,
    },
    Allowed {
        command: "status --json",
        side: Side::Upstream,
        line: "shutdownBudget",
        reason: NODE_INTERNAL,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "activeWork",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "bootId",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "bootedAtMs",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "connections",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "draining",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "engine",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "generation",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "ok",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "pendingHandshakes",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "policy",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "port",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "protocol",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "reload",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "startedAtMs",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "uptimeMs",
        reason: TETHER_EXTRA,
    },
    Allowed {
        command: "status --json",
        side: Side::Tether,
        line: "version",
        reason: TETHER_EXTRA,
    },
    // cron list
    Allowed {
        command: "cron list",
        side: Side::Upstream,
        line: "ID Declaration Name Schedule Next Last Status Target Delivery Agent ID Owner Model",
        reason: BUILTIN_CRON,
    },
    Allowed {
        command: "cron list",
        side: Side::Upstream,
        line: "<id> skill-collection-revi... Skill collection revi... *",
        reason: BUILTIN_CRON,
    },
    Allowed {
        command: "cron list",
        side: Side::Upstream,
        line: "<id> memory-core:memory-dr... Memory Dreaming Promo... *",
        reason: BUILTIN_CRON,
    },
    Allowed {
        command: "cron list",
        side: Side::Tether,
        line: "No automations.",
        reason: BUILTIN_CRON,
    },
    // gateway status
    Allowed {
        command: "gateway status",
        side: Side::Tether,
        line: "Warning: this OpenClaw command is version <ver>, but the running Gateway is version <ver>.",
        reason: "Tether's gateway reports its own version, not upstream's",
    },
    Allowed {
        command: "gateway status",
        side: Side::Tether,
        line: "Check `openclaw --version`, `which openclaw`, and `openclaw gateway status --deep`; if this mismatch is unexpected, *",
        reason: "Tether's gateway reports its own version, not upstream's",
    },
];

// ---------------------------------------------------------------------------------------------
// Running the CLI

/// One gateway as the CLI sees it.
#[derive(Debug)]
struct Target {
    side: Side,
    port: u16,
    token: String,
    scratch: tempfile::TempDir,
}

/// One CLI run.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    took: Duration,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Run {
    /// The exit code, or how it ended without one (`signal: 9 (SIGKILL)`).
    fn code(&self) -> String {
        self.status
            .code()
            .map_or_else(|| self.status.to_string(), |c| c.to_string())
    }
}

/// `openclaw <args>` against `target`: URL and token by environment, the port also in the CLI's
/// scratch config (`gateway status`/`probe` only look there).
async fn cli(up: &Upstream, target: &Target, args: &[&str]) -> Result<Run> {
    let config = json!({"gateway": {"mode": "local", "port": target.port}});
    let mut cmd = up.cli_with_config(target.scratch.path(), args, &config)?;
    cmd.env(
        "OPENCLAW_GATEWAY_URL",
        format!("ws://127.0.0.1:{}", target.port),
    )
    .env("OPENCLAW_GATEWAY_TOKEN", &target.token);
    let started = Instant::now();
    let mut child = ChildGuard::spawn(&mut cmd)?;
    let status = child
        .wait_exit(CLI_DEADLINE)
        .await
        .with_context(|| format!("openclaw {} against {:?}", args.join(" "), target.side))?;
    Ok(Run {
        status,
        took: started.elapsed(),
        stdout: child.lines(Stream::Stdout),
        stderr: child.lines(Stream::Stderr),
    })
}

// ---------------------------------------------------------------------------------------------
// Normalizing

/// One text line with what differs between any two runs replaced: ANSI escapes dropped; paths
/// (`/…`, `~/…`) → `<path>`; ISO times → `<time>`; UUIDs → `<id>`; ports after a loopback host
/// or `port=` → `<port>`; dotted versions → `<ver>`; decimals, numbers with a unit (`14ms`,
/// `30m`, `272k`), measured ratios (`util=`, `cpu=`) and bare numbers of 4+ digits → `<n>`; runs
/// of spaces and of `─` → one.
/// Small bare counts (`1 entries`, `Known: 0`) are kept: they are what a gateway answered.
fn normalize(line: &str) -> String {
    let s = strip_ansi(line);
    let s = replace_paths(&s);
    let s = replace_times(&s);
    let s = replace_uuids(&s);
    let s = replace_ports(&s);
    let s = replace_numbers(&s);
    let mut out = String::with_capacity(s.len());
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if (c == ' ' || c == '─') && prev == Some(c) {
            continue;
        }
        out.push(c);
        prev = Some(c);
    }
    out.trim().to_owned()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn replace_paths(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let lead_ok = i == 0 || matches!(chars[i - 1], ' ' | '(' | '=' | '"' | '\'' | '\t');
        let starts = chars[i] == '/' || (chars[i] == '~' && chars.get(i + 1) == Some(&'/'));
        if lead_ok && starts {
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '│' | '"' | '\'' | '(' | ')' | ',')
            {
                i += 1;
            }
            out.push_str("<path>");
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Whether `chars[i..]` matches `pat`, where `d` is a digit, `h` a hex digit, anything else
/// itself.
fn matches_at(chars: &[char], i: usize, pat: &str) -> bool {
    let rest = chars.get(i..).unwrap_or_default();
    rest.len() >= pat.chars().count()
        && pat.chars().zip(rest).all(|(p, &c)| match p {
            'd' => c.is_ascii_digit(),
            'h' => c.is_ascii_hexdigit(),
            other => c == other,
        })
}

fn replace_times(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if matches_at(&chars, i, "dddd-dd-ddTdd:dd:dd") {
            i += 19;
            if chars.get(i) == Some(&'.') {
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
            }
            if chars.get(i) == Some(&'Z') {
                i += 1;
            } else if matches_at(&chars, i, "+dd:dd") || matches_at(&chars, i, "-dd:dd") {
                i += 6;
            }
            out.push_str("<time>");
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn replace_uuids(s: &str) -> String {
    const UUID: &str = "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if matches_at(&chars, i, UUID) {
            out.push_str("<id>");
            i += UUID.len();
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn replace_ports(s: &str) -> String {
    let mut out = s.to_owned();
    for prefix in ["127.0.0.1:", "localhost:", "port="] {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            result.push_str(&rest[..at + prefix.len()]);
            if digits > 0 {
                result.push_str("<port>");
            }
            rest = &after[digits..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

fn replace_numbers(s: &str) -> String {
    const UNITS: &[&str] = &["ms", "s", "m", "h", "d", "w", "k"];
    // Measured ratios (the event loop's `util=0.016 cpu=0.008`), whole when they round to 0 or 1.
    const RATIOS: &[&str] = &["util=", "cpu="];
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let in_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if !chars[i].is_ascii_digit() || in_word {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        // A trailing dot ends a sentence, not the number.
        while i > start + 1 && chars[i - 1] == '.' {
            i -= 1;
        }
        let run: String = chars[start..i].iter().collect();
        let dots = run.matches('.').count();
        let word_end = (i..=chars.len())
            .find(|&j| j == chars.len() || !chars[j].is_ascii_alphabetic())
            .unwrap_or(chars.len());
        let unit: String = chars[i..word_end].iter().collect();
        if dots >= 3 {
            out.push_str(&run); // an IPv4 address: the same machine on both sides
        } else if dots == 2 {
            out.push_str("<ver>");
        } else if UNITS.contains(&unit.as_str()) {
            out.push_str("<n>");
            out.push_str(&unit);
            i = word_end;
        } else if dots == 1 || run.len() >= 4 || RATIOS.iter().any(|r| out.ends_with(r)) {
            out.push_str("<n>");
        } else {
            out.push_str(&run);
        }
    }
    out
}

/// `logs`: which gateway logged what differs by nature; what the CLI made of each line does
/// not. A line it parsed as a log record prints as `<time> <level> [<subsystem>] <message>`; a
/// line it could not parse prints verbatim. After `Log file: …`, each line becomes one of those
/// two shapes, runs of the same shape collapsed.
fn shape_log_lines(lines: Vec<String>) -> Vec<String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "fatal"];
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let shaped = if line.starts_with("Log file:") || line.is_empty() {
            line
        } else {
            let mut words = line.split(' ');
            let parsed =
                words.next() == Some("<time>") && words.next().is_some_and(|w| LEVELS.contains(&w));
            if parsed {
                "<log record: time level [subsystem] message>".to_owned()
            } else {
                "<log line printed verbatim (not a log record the CLI could parse)>".to_owned()
            }
        };
        if out.last() != Some(&shaped) {
            out.push(shaped);
        }
    }
    out
}

/// The first JSON value on stdout (the CLI may print a line before it).
fn json_of(stdout: &[String]) -> Option<Value> {
    let text = stdout.join("\n");
    let start = text.find(['{', '['])?;
    serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()?
        .ok()
}

/// The values at `path` (`a.b[]`: `b` of `a`, then each element).
fn resolve<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![root];
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (name, fan) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for v in current {
            let Some(v) = (if name.is_empty() {
                Some(v)
            } else {
                v.get(name)
            }) else {
                continue;
            };
            if fan {
                next.extend(v.as_array().into_iter().flatten());
            } else {
                next.push(v);
            }
        }
        current = next;
    }
    current
}

/// One line per key at each of `paths`: `path.key`, with `=[]`, `=null` or `=[redacted]` when
/// that is the value (a redacted or empty field is a difference even though values are not
/// compared).
fn json_key_lines(root: &Value, paths: &[&str]) -> Vec<String> {
    let mut lines = BTreeSet::new();
    for path in paths {
        for v in resolve(root, path) {
            let Some(obj) = v.as_object() else { continue };
            for (k, v) in obj {
                let mark = match v {
                    Value::Null => "=null",
                    Value::Array(a) if a.is_empty() => "=[]",
                    Value::String(s) if s == "[redacted]" => "=[redacted]",
                    _ => "",
                };
                let prefix = if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}.")
                };
                lines.insert(format!("{prefix}{k}{mark}"));
            }
        }
    }
    lines.into_iter().collect()
}

/// What is compared of one run.
fn compared_lines(command: &Command, run: &Run) -> Vec<String> {
    let mut lines = match command.compare {
        Compare::Text => {
            let out: Vec<String> = run.stdout.iter().map(|l| normalize(l)).collect();
            if command.args[0] == "logs" {
                shape_log_lines(out)
            } else {
                out
            }
        }
        Compare::Json(paths) => match json_of(&run.stdout) {
            Some(v) => json_key_lines(&v, paths),
            None => std::iter::once("<stdout holds no JSON>".to_owned())
                .chain(run.stdout.iter().map(|l| normalize(l)))
                .collect(),
        },
    };
    let err: Vec<String> = run
        .stderr
        .iter()
        .map(|l| normalize(l))
        .filter(|l| !l.is_empty())
        .collect();
    if !err.is_empty() {
        lines.push("--- stderr ---".to_owned());
        lines.extend(err);
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Comparing

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Upstream,
    Tether,
}

/// A line diff (longest common subsequence): upstream's lines against ours.
fn diff(a: &[String], b: &[String]) -> Vec<(Op, String)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((Op::Same, a[i].clone()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push((Op::Upstream, a[i].clone()));
            i += 1;
        } else {
            out.push((Op::Tether, b[j].clone()));
            j += 1;
        }
    }
    out
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The index in [`ALLOWED`] of the entry accepting `line`, if any.
fn allowed(command: &str, side: Side, line: &str) -> Option<usize> {
    ALLOWED
        .iter()
        .position(|a| a.command == command && a.side == side && glob(a.line, line))
}

/// The outcome for one command.
#[derive(Debug)]
struct Verdict {
    name: String,
    codes: (String, String),
    diff: Vec<(Op, String)>,
    unexpected: usize,
    allowed_seen: BTreeSet<usize>,
}

fn judge(command: &Command, upstream: &Run, ours: &Run) -> Verdict {
    let name = command.args.join(" ");
    let d = diff(
        &compared_lines(command, upstream),
        &compared_lines(command, ours),
    );
    let mut unexpected = 0;
    let mut allowed_seen = BTreeSet::new();
    for (op, line) in &d {
        let side = match op {
            Op::Same => continue,
            Op::Upstream => Side::Upstream,
            Op::Tether => Side::Tether,
        };
        match allowed(&name, side, line) {
            Some(i) => {
                allowed_seen.insert(i);
            }
            None => unexpected += 1,
        }
    }
    Verdict {
        codes: (upstream.code(), ours.code()),
        name,
        diff: d,
        unexpected,
        allowed_seen,
    }
}

impl Verdict {
    fn ok(&self) -> bool {
        self.codes.0 == self.codes.1 && self.unexpected == 0
    }

    /// A unified diff: `-` upstream only, `+` Tether only, `-~`/`+~` accepted (see `ALLOWED`),
    /// two lines of context, longer unchanged runs elided.
    fn render(&self) -> String {
        let mut out = format!(
            "--- upstream: openclaw {} (exit {})\n+++ tether:   openclaw {} (exit {})\n",
            self.name, self.codes.0, self.name, self.codes.1
        );
        let changed: Vec<bool> = self.diff.iter().map(|(op, _)| *op != Op::Same).collect();
        let near = |i: usize| {
            let lo = i.saturating_sub(2);
            let hi = (i + 2).min(changed.len().saturating_sub(1));
            (lo..=hi).any(|j| changed[j])
        };
        let mut elided = false;
        for (i, (op, line)) in self.diff.iter().enumerate() {
            let side = match op {
                Op::Same => None,
                Op::Upstream => Some(Side::Upstream),
                Op::Tether => Some(Side::Tether),
            };
            let Some(side) = side else {
                if near(i) {
                    let _ = writeln!(out, "  {line}");
                    elided = false;
                } else if !elided {
                    out.push_str("  …\n");
                    elided = true;
                }
                continue;
            };
            let sign = if side == Side::Upstream { '-' } else { '+' };
            let mark = if allowed(&self.name, side, line).is_some() {
                "~"
            } else {
                " "
            };
            let _ = writeln!(out, "{sign}{mark}{line}");
            elided = false;
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// `target/upstream-cli-parity/`.
fn report_dir() -> PathBuf {
    tether_testkit::bins::profile_dir()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| tether_testkit::bins::workspace_root().join("target"))
        .join("upstream-cli-parity")
}

/// `health --json` → `health_--json`.
fn file_stem(args: &[&str]) -> String {
    args.join("_")
}

fn transcript(args: &[&str], run: &Run) -> String {
    format!(
        "$ openclaw {}\nexit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
        args.join(" "),
        run.code(),
        run.stdout.join("\n"),
        run.stderr.join("\n")
    )
}

/// Both transcripts next to each other, long lines wrapped.
fn side_by_side(left: &str, right: &str) -> String {
    const W: usize = 90;
    let wrap = |text: &str| -> Vec<String> {
        text.lines()
            .flat_map(|l| {
                let chars: Vec<char> = l.chars().collect();
                if chars.is_empty() {
                    vec![String::new()]
                } else {
                    chars.chunks(W).map(|c| c.iter().collect()).collect()
                }
            })
            .collect()
    };
    let (l, r) = (wrap(left), wrap(right));
    let mut out = format!(
        "{:<W$} ┃ {}\n{}\n",
        "UPSTREAM",
        "TETHER",
        "━".repeat(2 * W + 3)
    );
    for i in 0..l.len().max(r.len()) {
        let a = l.get(i).map_or("", String::as_str);
        let b = r.get(i).map_or("", String::as_str);
        let pad = W.saturating_sub(a.chars().count());
        let _ = writeln!(out, "{a}{} ┃ {b}", " ".repeat(pad));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The test

/// The blocks both gateways get: the mock provider with one model, `mock/mock-1`, the default;
/// heartbeats off. Tether's gateway runs no heartbeat turns (it reports them disabled whatever
/// the config says); upstream's would start one at a random minute of its 30-minute period,
/// possibly in the middle of this test, and change what the commands list.
fn shared_config(mock_base: &str) -> Value {
    json!({
        "models": {"providers": {"mock": mock_openai::provider_config(mock_base)}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"},
                                "heartbeat": {"every": "0m"}}},
    })
}

fn target(side: Side, port: u16, token: &str) -> Target {
    Target {
        side,
        port,
        token: token.to_owned(),
        scratch: tempfile::Builder::new()
            .prefix(&format!("tether-cli-parity-{}-", side.dir()))
            .tempdir()
            .unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_cli_commands_answer_the_same_against_tether_as_against_upstream() {
    let t0 = Instant::now();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", t0.elapsed().as_secs_f64());
    let up = upstream::require();
    let mock = mock_openai::start().await.unwrap();
    mock.set_default(Reply::words(&format!("Hello there! {MARKER}")));
    let config = shared_config(&mock.base_url());

    // Upstream boots for 7–14 s; ours starts meanwhile.
    let upstream_gw = UpstreamGateway::start(&up, &config).unwrap();
    let ours = Gateway::spawn(GatewayOptions::with_config(&config.to_string()))
        .await
        .unwrap();
    upstream_gw.wait_ready().await.unwrap();
    step(&format!(
        "gateways ready: upstream on {}, tether on {}",
        upstream_gw.port, ours.port
    ));
    let targets = [
        target(Side::Upstream, upstream_gw.port, upstream_gw.token()),
        target(Side::Tether, ours.port, ours.token().unwrap()),
    ];
    let [up_target, our_target] = &targets;

    // One chat turn on each, so each has a session (agent:main:main) to list.
    let turn: &[&str] = &[
        "agent",
        "-m",
        "Say hello.",
        "--session-key",
        MAIN,
        "--timeout",
        "120",
    ];
    let (a, b) = tokio::join!(cli(&up, up_target, turn), cli(&up, our_target, turn));
    for (side, run) in [(Side::Upstream, a.unwrap()), (Side::Tether, b.unwrap())] {
        assert!(
            run.status.success() && run.stdout.join("\n").contains(MARKER),
            "the chat turn against {side:?} failed (exit {}):\n{}\n{}",
            run.code(),
            run.stdout.join("\n"),
            run.stderr.join("\n")
        );
    }
    step("one chat turn on each");

    // Upstream answers `health` from a snapshot cached for 60 s, refreshed in the background; a
    // probing `health` call refreshes it now, so the session just made is in it. The same call
    // goes to ours, which has no cache.
    let refresh: &[&str] = &["gateway", "call", "health", "--params", r#"{"probe":true}"#];
    let (a, b) = tokio::join!(cli(&up, up_target, refresh), cli(&up, our_target, refresh));
    for (side, run) in [(Side::Upstream, a.unwrap()), (Side::Tether, b.unwrap())] {
        assert!(
            run.status.success(),
            "the probing health call against {side:?} failed:\n{}",
            run.stderr.join("\n")
        );
    }
    step("health snapshots refreshed");

    let dir = report_dir();
    let _ = std::fs::remove_dir_all(&dir);
    for side in [Side::Upstream, Side::Tether] {
        std::fs::create_dir_all(dir.join(side.dir())).unwrap();
    }
    let mut verdicts = Vec::new();
    for command in COMMANDS {
        let args = command.args;
        let (a, b) = tokio::join!(cli(&up, up_target, args), cli(&up, our_target, args));
        let (upstream_run, our_run) = (a.unwrap(), b.unwrap());
        let (left, right) = (transcript(args, &upstream_run), transcript(args, &our_run));
        let stem = file_stem(args);
        std::fs::write(dir.join("upstream").join(format!("{stem}.txt")), &left).unwrap();
        std::fs::write(dir.join("tether").join(format!("{stem}.txt")), &right).unwrap();
        eprintln!("\n{}", side_by_side(&left, &right));
        let verdict = judge(command, &upstream_run, &our_run);
        step(&format!(
            "openclaw {}: exit {} vs {} ({:.1} s vs {:.1} s), {} unexpected difference(s)",
            verdict.name,
            verdict.codes.0,
            verdict.codes.1,
            upstream_run.took.as_secs_f64(),
            our_run.took.as_secs_f64(),
            verdict.unexpected
        ));
        verdicts.push(verdict);
    }

    let mut report = String::new();
    for v in &verdicts {
        report.push_str(&v.render());
        report.push('\n');
    }
    std::fs::write(dir.join("diff.txt"), &report).unwrap();
    let seen: BTreeSet<usize> = verdicts
        .iter()
        .flat_map(|v| v.allowed_seen.iter().copied())
        .collect();
    for (i, a) in ALLOWED.iter().enumerate() {
        let what = if seen.contains(&i) {
            "accepted"
        } else {
            "note: accepted but not seen this run"
        };
        eprintln!(
            "{what}: openclaw {} ({:?} only) `{}`: {}",
            a.command, a.side, a.line, a.reason
        );
    }
    eprintln!(
        "exit codes (upstream / tether):\n{}",
        verdicts
            .iter()
            .map(|v| format!("  openclaw {:<28} {} / {}", v.name, v.codes.0, v.codes.1))
            .collect::<Vec<_>>()
            .join("\n")
    );
    step(&format!("transcripts and diffs in {}", dir.display()));

    let failed: Vec<&Verdict> = verdicts.iter().filter(|v| !v.ok()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} commands answer differently against Tether than against upstream \
         (`-` upstream only, `+` Tether only, `~` accepted in ALLOWED):\n\n{}",
        failed.len(),
        verdicts.len(),
        failed
            .iter()
            .map(|v| v.render())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn normalizer_replaces_what_varies_and_keeps_counts() {
    assert_eq!(
        normalize("Session store (main): /tmp/x/agents/main/a.sqlite (1 entries)"),
        "Session store (main): <path> (1 entries)"
    );
    assert_eq!(
        normalize("- agent:main:main (0m ago)"),
        "- agent:main:main (<n>m ago)"
    );
    assert_eq!(
        normalize("Gateway event loop: ok max=27ms p99=27ms util=0.016 cpu=0.008"),
        "Gateway event loop: ok max=<n>ms p99=<n>ms util=<n> cpu=<n>"
    );
    assert_eq!(
        normalize("Gateway event loop: ok max=2ms p99=2ms util=0 cpu=1 count=1"),
        "Gateway event loop: ok max=<n>ms p99=<n>ms util=<n> cpu=<n> count=1"
    );
    assert_eq!(
        normalize("│ Gateway  │ local · ws://127.0.0.1:28789 (env X) · reachable 41ms │"),
        "│ Gateway │ local · ws://127.0.0.1:<port> (env X) · reachable <n>ms │"
    );
    assert_eq!(
        normalize("Gateway: bind=loopback (127.0.0.1), port=28790 (env/config)"),
        "Gateway: bind=loopback (127.0.0.1), port=<port> (env/config)"
    );
    assert_eq!(
        normalize("Gateway version: 2026.9.6 (eb377ac) and 0.1.0."),
        "Gateway version: <ver> (eb377ac) and <ver>."
    );
    assert_eq!(
        normalize("81fb597a-3e5b-4dc8-97bd-f8c9cb82b6ce at 2026-12-04T07:33:31.389+00:00"),
        "<id> at <time>"
    );
    assert_eq!(
        normalize("Known: 0 · Paired: 0 · Connected: 0"),
        "Known: 0 · Paired: 0 · Connected: 0"
    );
    assert_eq!(normalize("┌────┬──┐"), "┌─┬─┐");
    assert_eq!(
        normalize("Docs: https://docs.openclaw.ai/cli"),
        "Docs: https://docs.openclaw.ai/cli"
    );
}

#[test]
fn json_key_lines_mark_empty_null_and_redacted() {
    let v = json!({"sessions": {"path": "[redacted]", "count": 1, "recent": [],
                   "byAgent": [{"agentId": "main", "recent": [{"key": "k"}]}]}, "x": null});
    assert_eq!(
        json_key_lines(&v, &["", "sessions", "sessions.byAgent[]"]),
        [
            "sessions",
            "sessions.byAgent",
            "sessions.byAgent[].agentId",
            "sessions.byAgent[].recent",
            "sessions.count",
            "sessions.path=[redacted]",
            "sessions.recent=[]",
            "x=null",
        ]
    );
}

#[test]
fn glob_and_diff_behave() {
    assert!(glob(
        "<id> heartbeat:main *",
        "<id> heartbeat:main Heartbeat (main) every"
    ));
    assert!(!glob("engine", "engines"));
    assert!(glob("a*c*e", "abcde"));
    let a: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
    let b: Vec<String> = ["x", "q", "z"].map(String::from).to_vec();
    let d = diff(&a, &b);
    assert_eq!(
        d.iter().map(|(op, _)| *op).collect::<Vec<_>>(),
        [Op::Same, Op::Upstream, Op::Tether, Op::Same]
    );
}
