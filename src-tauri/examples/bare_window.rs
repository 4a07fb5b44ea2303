//! The floor the desktop app's memory is compared with: Tauri and WebKitGTK showing one window
//! with a minimal page that runs a little script (a heading and a counter), nothing else — no
//! supervisor, no UI framework, no tray. Plain `about:blank` would be lower but is no app: WebKit
//! does not bring up its script engine for it. The page comes from a custom scheme, as the app's
//! own UI does (a data: URL needs a Tauri feature the app does not use). Used by
//! `tests/benches/desktop.rs`.

const PAGE: &str = "<!doctype html><meta charset=utf-8><title>bare</title><h1>bare</h1>\
    <p id=n>0</p><script>let n=0;setInterval(()=>{document.getElementById('n').textContent=++n},1000)</script>";

fn main() {
    let app = tauri::Builder::default()
        .register_uri_scheme_protocol("bare", |_, _| {
            tauri::http::Response::builder()
                .header("Content-Type", "text/html")
                .body(PAGE.as_bytes().to_vec())
                .unwrap_or_default()
        })
        .setup(|app| {
            let url = tauri::WebviewUrl::External("bare://localhost/".parse()?);
            tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("bare")
                .inner_size(1120.0, 760.0)
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!("../tauri.conf.json"));
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("bare_window: {e}");
            std::process::exit(1);
        }
    }
}
