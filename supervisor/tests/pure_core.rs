//! The supervisor's pure core stays pure: `machine`, `policy`, `events` and `output` name no
//! other module of the crate, and their non-test code does no IO, reads no clock, spawns
//! nothing and draws no entropy of its own (randomness comes in as a seeded `SmallRng`).
//!
//! Reads the source files; a file a `mod` declares under `#[cfg(test)]` is test code and
//! skipped, as is everything from a file's own `#[cfg(test)]` on. Comments are skipped.

use std::path::{Path, PathBuf};

/// The modules of the pure core, as `crate::` paths start.
const CORE: &[&str] = &["machine", "policy", "events", "output"];

/// What a pure module must not name, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("tokio", "an async runtime"),
    ("std::fs", "file IO"),
    ("std::io", "IO"),
    ("std::net", "sockets"),
    ("std::process", "processes"),
    ("std::thread", "threads"),
    ("std::env", "the environment"),
    ("Instant::now", "the clock (instants are inputs)"),
    ("SystemTime", "the wall clock"),
    ("thread_rng", "unseeded randomness"),
    ("rand::rng(", "unseeded randomness"),
    ("from_entropy", "unseeded randomness"),
    ("from_os_rng", "unseeded randomness"),
    ("nix::", "system calls"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The core's files, without the ones a `#[cfg(test)] mod x;` declares.
fn core_files() -> Vec<PathBuf> {
    let src = src();
    let mut files = Vec::new();
    for m in CORE {
        let file = src.join(format!("{m}.rs"));
        let dir = src.join(m);
        if file.is_file() {
            files.push(file);
        }
        if dir.is_dir() {
            let mut test_mods = Vec::new();
            if let Ok(text) = std::fs::read_to_string(dir.join("mod.rs")) {
                let lines: Vec<&str> = text.lines().collect();
                for pair in lines.windows(2) {
                    if pair[0].trim() == "#[cfg(test)]" {
                        if let Some(name) = pair[1]
                            .trim()
                            .strip_prefix("mod ")
                            .and_then(|r| r.strip_suffix(';'))
                        {
                            test_mods.push(format!("{name}.rs"));
                        }
                    }
                }
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("read a core folder")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .filter(|p| {
                    let name = p.file_name().expect("a name").to_string_lossy();
                    !test_mods.iter().any(|t| *t == name)
                })
                .collect();
            entries.sort();
            files.extend(entries);
        }
    }
    files
}

/// Non-test code without comments.
fn code(text: &str) -> String {
    let text = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn problems(name: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (token, what) in FORBIDDEN {
        if code.contains(token) {
            out.push(format!("{name} names `{token}` ({what})"));
        }
    }
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let module: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !CORE.contains(&module.as_str()) {
            out.push(format!(
                "{name} names `crate::{module}`, outside the pure core"
            ));
        }
    }
    out
}

#[test]
fn the_pure_core_does_no_io_and_names_only_itself() {
    let files = core_files();
    assert!(
        files.len() >= 15,
        "the core's files were not found: {files:?}"
    );
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read a core file");
        let name = f
            .strip_prefix(src())
            .expect("under src")
            .display()
            .to_string();
        found.extend(problems(&name, &code(&text)));
    }
    assert!(
        found.is_empty(),
        "the pure core is not pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checker_notices_io_a_clock_and_the_shell() {
    let bad = "use crate::actor::Deps;\nuse std::fs;\nfn f() { let _ = std::time::Instant::now(); }\n// tokio in a comment is fine\n";
    let found = problems("x.rs", &code(bad));
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().any(|p| p.contains("crate::actor")));
    assert!(found.iter().any(|p| p.contains("std::fs")));
    assert!(found.iter().any(|p| p.contains("Instant::now")));
    let fine = "use crate::policy::backoff::Backoff;\nuse crate::events::SupervisorEvent;\n#[cfg(test)]\nmod tests { use std::fs; }\n";
    assert!(problems("y.rs", &code(fine)).is_empty());
}
