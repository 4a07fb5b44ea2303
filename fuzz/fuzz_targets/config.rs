//! Fuzzes config parsing (JSON5 → typed, with error location) and the key locator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_gateway::config::load;
use tether_gateway::config::locate::{locate, split_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = load::parse(std::path::Path::new("/fuzz/gateway.json"), text.to_owned()) {
        // Located errors point inside the text.
        if let Some(line) = e.line {
            assert!(line <= text.lines().count() + 1);
        }
    }
    for path in [
        "gateway.port",
        "gateway.auth.token",
        "models.providers.a.models.0.id",
    ] {
        let _ = locate(text, &split_path(path));
    }
});
