//! The floor the desktop app's memory is compared with: Tauri and WebKitGTK showing one blank
//! window, nothing else (no supervisor, no UI, no tray). Used by `tests/benches/desktop.rs`.

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let url = tauri::WebviewUrl::External("about:blank".parse()?);
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
