//! The floor the desktop app's memory is compared with: Tauri and WebKitGTK showing one window
//! with a minimal page that runs a little script (a heading and a counter), nothing else — no
//! supervisor, no UI framework, no tray. `about:blank` would be lower but is no app: WebKit does
//! not bring up its script engine for it. Used by `tests/benches/desktop.rs`.

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let page = "data:text/html,<!doctype html><meta charset=utf-8><title>bare</title>\
                <h1>bare</h1><p id=n>0</p><script>let n=0;setInterval(()=>{document.getElementById('n')\
                .textContent=++n},1000)</script>";
            let url = tauri::WebviewUrl::External(page.parse()?);
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
