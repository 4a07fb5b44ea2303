//! The IPC boundary with Tauri's mock runtime (no display): the app's real context (its
//! capability and per-command permissions from `tauri.conf.json`), its real command handler and
//! its state, with no supervisor running. What the webview gets back is checked as the webview
//! gets it: `{code, message}` errors, and refusals for anything the capability does not grant.

// Test fixtures fail loudly where they are set up.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindowBuilder};
use tether_desktop::desktop::{Desktop, DesktopParts, Paths, RendererInfo};
use tether_desktop::logs::{LogSource, RotatingFile, SharedLog};
use tether_desktop::settings::AppSettings;
use tether_desktop::tap::Tap;

struct Fixture {
    _dir: tempfile::TempDir,
    app: tauri::App<tauri::test::MockRuntime>,
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s);
    let lock = tether_supervisor::options::lock_instance(&p("state")).unwrap();
    let (focus_tx, _focus_rx) = tokio::sync::mpsc::channel(1);
    let desktop = Desktop::new(DesktopParts {
        paths: Paths {
            state_dir: p("state"),
            config_dir: p("config"),
            log_dir: p("logs"),
            autostart_dir: p("autostart"),
            export_dir: p("exports"),
        },
        settings: AppSettings::default(),
        os_locale: "en-US".into(),
        renderer: RendererInfo {
            webkit_version: "2.50.6".into(),
            session_type: "x11".into(),
            dmabuf_disabled: false,
            relaunched_after_blank: false,
        },
        tap: Tap::open(None).unwrap(),
        gateway_log: SharedLog::new(
            RotatingFile::open(LogSource::Gateway.path(&p("logs"))).unwrap(),
        ),
        lock,
        focus_tx,
    });
    // The same plugins as the app, so a refusal below comes from the capability, not from a
    // plugin that is not there.
    let app = mock_builder()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .manage(desktop)
        .invoke_handler(tether_desktop::handler())
        .build(tauri::generate_context!("../tauri.conf.json"))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Fixture {
        _dir: dir,
        app,
        webview,
    }
}

fn invoke(f: &Fixture, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &f.webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn bad_input_is_refused_in_rust_with_a_code_and_a_message() {
    let f = fixture();
    let err = invoke(
        &f,
        "chat_send",
        json!({"request": {"sessionKey": "agent:main:a b", "message": "hi", "attachments": [], "idempotencyKey": "k1"}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("session key"),
        "{err}"
    );
    let err = invoke(&f, "open_external", json!({"url": "javascript:alert(1)"})).unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    let err = invoke(
        &f,
        "logs_read",
        json!({"query": {"source": "app", "limit": 0}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    let err = invoke(
        &f,
        "approval_resolve",
        json!({"id": "a1", "decision": "maybe"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    // An argument of the wrong shape is refused before the command runs.
    let err = invoke(
        &f,
        "logs_read",
        json!({"query": {"source": "kernel", "limit": 5}}),
    )
    .unwrap_err();
    assert!(
        err.as_str().unwrap_or_default().contains("kernel") || err.to_string().contains("kernel"),
        "{err}"
    );
}

#[test]
fn without_a_supervisor_status_says_why_and_calls_say_gone() {
    let f = fixture();
    *f.app.state::<Desktop>().setup_error.lock().unwrap() =
        Some("tether-gateway not found: build it, or set TETHER_GATEWAY_BIN".into());
    let v = invoke(&f, "status_get", json!({})).unwrap();
    assert_eq!(v["status"]["phase"], "failed");
    assert_eq!(v["status"]["problem"], "spawn_failed");
    assert!(v["status"]["reason"]
        .as_str()
        .unwrap()
        .contains("tether-gateway not found"));
    let err = invoke(&f, "sessions_list", json!({})).unwrap_err();
    assert_eq!(err["code"], "gone");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("tether-gateway not found"));
    let info = invoke(&f, "app_info", json!({})).unwrap();
    assert_eq!(info["limits"]["maxAttachments"], 32);
    assert_eq!(info["renderer"]["webkitVersion"], "2.50.6");
    let s = invoke(&f, "settings_get", json!({})).unwrap();
    assert_eq!(s["gatewaySource"], json!({"kind": "bundled"}));
}

#[test]
fn the_webview_has_no_plugin_powers() {
    let f = fixture();
    for (cmd, args) in [
        (
            "plugin:opener|open_url",
            json!({"url": "https://example.com"}),
        ),
        ("plugin:opener|open_path", json!({"path": "/etc/passwd"})),
        (
            "plugin:notification|notify",
            json!({"options": {"title": "x"}}),
        ),
        ("plugin:window-state|save_window_state", json!({"flags": 1})),
        (
            "plugin:window|create",
            json!({"options": {"label": "evil"}}),
        ),
    ] {
        let err = invoke(&f, cmd, args).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("not allowed"),
            "{cmd} must be refused by the capability: {text}"
        );
    }
    // Its own commands are granted to the main window, and to no other window.
    invoke(&f, "app_info", json!({})).unwrap();
    let other = WebviewWindowBuilder::new(&f.app, "other", Default::default())
        .build()
        .unwrap();
    let err = get_ipc_response(
        &other,
        InvokeRequest {
            cmd: "app_info".into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(json!({})),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}
