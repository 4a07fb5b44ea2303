//! The crate's modules form no cycle through `crate::…` paths.
//!
//! Reads every file under `src/`, takes the `crate::` paths its non-test code names (in `use`
//! declarations, groups included, and in expressions), resolves each to the longest module it
//! names, and fails with the cycle when module A reaches module B and B reaches A. A module and
//! its own ancestors or descendants are one unit and are not edges. Comments are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`; `lib.rs` and `main.rs` → the root.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments and without its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i]);
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path after `crate::`, with `crate::{a, b::{c}}` expanded to `a` and `b`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(path_prefix(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
        } else {
            out.push(path_prefix(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The leading `a::b::c` of `s`.
fn path_prefix(s: &str) -> String {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(':').to_owned()
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let resolve = |path: &str| {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let related = |a: &str, b: &str| {
        a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
    };
    let mut g = Graph::new();
    for f in &files {
        let from = module_of(src, f);
        if from.is_empty() || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read source");
        for path in crate_paths(&code(&text)) {
            if let Some(to) = resolve(&path) {
                if !related(&from, &to) {
                    g.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    g
}

/// A cycle, as the modules along it, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        m: &str,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(m) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|s| s == m).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(m.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(m.to_owned(), Mark::Open);
        stack.push(m.to_owned());
        for next in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(g, next, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(m.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in g.keys() {
        let mut stack = Vec::new();
        if let Some(c) = visit(g, m, &mut marks, &mut stack) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    assert!(g.len() > 20, "the graph was read: {g:?}");
    if let Some(cycle) = find_cycle(&g) {
        panic!("module cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_reader_finds_edges_and_cycles() {
    let paths = crate_paths(&code(
        "use crate::a::B;\nuse crate::{c::{D, E}, f};\n// crate::commented\nlet x = crate::g::h();\n#[cfg(test)]\nmod tests { use crate::z; }",
    ));
    assert_eq!(paths, ["a::B", "c", "f", "g::h"]);
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g).map(|c| c.join(" → ")),
        Some("a → b → c → a".into())
    );
}
