//! Fuzzes config parsing (JSON5 → typed, with error location), the key locator, and the
//! recursive consumers of a parsed config (redaction, restore, merge-patch) at any nesting depth.
//!
//! Inputs starting with `#` are a nesting program rather than text: every following byte opens
//! `1 + byte / 4` containers of one of four kinds (array, object, quoted-key object, a decoy of
//! brackets inside a string or comment), so a short input reaches depths of hundreds of
//! thousands. Whatever the depth, parsing must answer (never overflow the stack), and anything
//! accepted is at most `depth::MAX_DEPTH` deep.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_gateway::config::locate::{locate, split_path};
use tether_gateway::config::redact::{merge_patch, redact, restore};
use tether_gateway::config::{depth, load};

/// Longest text a nesting program expands to.
const MAX_EXPANDED: usize = 2 << 20;

fn expand(program: &[u8]) -> String {
    let mut open = String::from("{ v: ");
    // Closers in opening order; written out reversed.
    let mut close: Vec<char> = Vec::new();
    for &b in program {
        if open.len() + close.len() > MAX_EXPANDED {
            break;
        }
        for _ in 0..=(b / 4) {
            match b % 4 {
                0 => {
                    open.push('[');
                    close.push(']');
                }
                1 => {
                    open.push_str("{k: ");
                    close.push('}');
                }
                2 => {
                    open.push_str("{\"k\": ");
                    close.push('}');
                }
                _ => open.push_str("/* [[{{ */ "),
            }
        }
    }
    let close: String = close.iter().rev().collect();
    format!("{open}1{close} }}")
}

fuzz_target!(|data: &[u8]| {
    let text = match data.split_first() {
        Some((b'#', program)) => expand(program),
        _ => match std::str::from_utf8(data) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        },
    };
    match load::parse(std::path::Path::new("/fuzz/gateway.json"), text.clone()) {
        Err(e) => {
            // Located errors point inside the text.
            if let Some(line) = e.line {
                assert!(line <= text.lines().count() + 1);
            }
        }
        Ok(loaded) => {
            assert!(depth::value_depth(&loaded.doc) <= depth::MAX_DEPTH);
            // The recursive consumers of an accepted document.
            let mut back = redact(&loaded.doc);
            let _ = restore(&mut back, &loaded.doc);
            let mut merged = loaded.doc.clone();
            merge_patch(&mut merged, &loaded.doc);
            let _ = serde_json::to_string_pretty(&merged);
        }
    }
    for path in [
        "gateway.port",
        "gateway.auth.token",
        "models.providers.a.models.0.id",
        "v.0.k.0",
    ] {
        let _ = locate(&text, &split_path(path));
    }
});
