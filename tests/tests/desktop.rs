//! The desktop app end to end: the real `tether-desktop` in real WebKitGTK under Xvfb with a
//! session bus, driven through WebKitWebDriver by role and accessible name, with the real
//! gateway, the `tether` CLI on the same state directory, a real XEmbed tray (`trayer`) clicked
//! with `xdotool`, and the processes checked in `/proc`.
//!
//! Screenshots of what a user sees land in `target/desktop-shots/` for a person to look at.

// Test fixtures fail loudly where they are set up.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tether_e2e::{alive, binary, cmdlines_containing, gateway_bin, tether_bin};
use tether_supervisor::control::{ControlClient, ServerLine};
use tether_testkit::desktop::{self, Display, Session, SessionBus, TrayHost, WebDriver};

const LONG: Duration = Duration::from_secs(60);

fn desktop_bin() -> PathBuf {
    // The app finds the gateway and `tether` (its guardian) beside itself: build them too.
    gateway_bin();
    tether_bin();
    binary("tether-desktop", "tether-desktop")
}

/// One app run: its directories, display, bus, optional tray host and WebDriver.
struct Desk {
    dir: tempfile::TempDir,
    display: Display,
    _bus: SessionBus,
    tray: Option<TrayHost>,
    driver: WebDriver,
    env: Vec<(String, String)>,
    app: PathBuf,
}

#[derive(Default)]
struct Opts {
    tray: bool,
    lang: Option<&'static str>,
    gateway_config: Option<String>,
    extra_env: Vec<(String, String)>,
}

impl Desk {
    async fn start(opts: Opts) -> Desk {
        desktop::tools_present().unwrap();
        let app = desktop_bin();
        let dir = tempfile::tempdir().unwrap();
        let display = Display::start(1280, 800).await.unwrap();
        let bus = SessionBus::start().await.unwrap();
        let tray = if opts.tray {
            Some(TrayHost::start(&display).await.unwrap())
        } else {
            None
        };
        let state = dir.path().join("state");
        if let Some(cfg) = &opts.gateway_config {
            std::fs::create_dir_all(state.join("gateway")).unwrap();
            std::fs::write(state.join("gateway/gateway.json"), cfg).unwrap();
        }
        let p = |sub: &str| dir.path().join(sub).display().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("DISPLAY".into(), display.name.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()),
            ("HOME".into(), p("home")),
            ("TETHER_STATE_DIR".into(), p("state")),
            ("XDG_CONFIG_HOME".into(), p("config")),
            ("XDG_STATE_HOME".into(), p("xstate")),
            ("XDG_DATA_HOME".into(), p("data")),
            ("XDG_RUNTIME_DIR".into(), p("run")),
            ("TETHER_DESKTOP_IPC_TAP".into(), p("ipc-tap.jsonl")),
            ("LANG".into(), opts.lang.unwrap_or("en_US.UTF-8").into()),
            ("NO_AT_BRIDGE".into(), "1".into()),
        ];
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        env.extend(opts.extra_env);
        let driver = WebDriver::start(&env).await.unwrap();
        Desk {
            dir,
            display,
            _bus: bus,
            tray,
            driver,
            env,
            app,
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn app_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("xstate/tether/logs/app.log"))
            .unwrap_or_default()
    }

    fn tap(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ipc-tap.jsonl")).unwrap_or_default()
    }

    fn command(&self, program: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn tether(&self, args: &[&str]) -> Output {
        self.command(&tether_bin()).args(args).output().unwrap()
    }

    /// The app's pid and name, from its control socket's hello.
    async fn hello(&self) -> (String, u32) {
        let c = ControlClient::connect(&self.state_dir().join("control.sock"))
            .await
            .unwrap();
        match c.hello {
            ServerLine::Hello { server, pid, .. } => (server, pid),
            other => panic!("{other:?}"),
        }
    }

    async fn session(&self) -> Session<'_> {
        self.driver.session(&self.app, &[]).await.unwrap()
    }

    fn shot(&self, name: &str) -> PathBuf {
        desktop::shots_dir().join(name)
    }
}

/// Waits for the status bar to read `phase…`; returns its text.
async fn status_bar(s: &Session<'_>, phase: &str) -> String {
    s.wait_text("status", "Gateway status", LONG, |t| {
        t.trim_start().starts_with(phase)
    })
    .await
    .unwrap()
}

/// The gateway pid once the supervisor reports it running (other than `not`): the current
/// status first, then the supervisor's status events over the control socket.
async fn running_pid(d: &Desk, not: Option<u64>) -> u64 {
    let ok = |st: &Value| -> Option<u64> {
        let pid = st["pid"].as_u64()?;
        (st["phase"] == "running" && Some(pid) != not).then_some(pid)
    };
    let mut c = ControlClient::connect(&d.state_dir().join("control.sock"))
        .await
        .unwrap();
    c.op("subscribe").await.unwrap();
    let now = c.op("status").await.unwrap();
    if let Some(pid) = ok(&now["status"]) {
        return pid;
    }
    let wait = async {
        loop {
            if let ServerLine::Event { event } = c.next().await.unwrap() {
                if let Some(pid) = ok(&serde_json::to_value(&event).unwrap()) {
                    return pid;
                }
            }
        }
    };
    tokio::time::timeout(LONG, wait)
        .await
        .expect("the gateway did not run")
}

/// Every process of this app run: the app's descendants and gateways of its state directory.
fn leftovers(d: &Desk, app_pid: u32) -> Vec<u32> {
    let state = d.state_dir().display().to_string();
    let mut pids: Vec<u32> = cmdlines_containing(&state)
        .into_iter()
        .filter(|p| alive(*p))
        .collect();
    if alive(app_pid) {
        pids.push(app_pid);
    }
    pids.extend(tether_supervisor::guard::descendants(app_pid));
    pids.sort_unstable();
    pids.dedup();
    pids
}

async fn wait_no_leftovers(d: &Desk, app_pid: u32, within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left = leftovers(d, app_pid);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_shows_running_cli_agrees_restart_from_the_window_and_quit_leaves_nothing() {
    let d = Desk::start(Opts::default()).await;
    let s = d.session().await;
    let text = status_bar(&s, "Running").await;
    let pid = running_pid(&d, None).await;
    assert!(
        text.contains(&pid.to_string()),
        "the window shows the pid `tether status` reports: {text}"
    );
    let (server, app_pid) = d.hello().await;
    assert_eq!(
        server, "tether-desktop",
        "the app serves the control socket"
    );
    s.screenshot(&d.shot("window-running-en.png"))
        .await
        .unwrap();

    // `tether run` on the same state refuses while the app supervises it.
    let out = d.tether(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("desktop app"));

    // Restart from the window: a new gateway process, running again.
    let restart = s.by_role("button", "Restart gateway", LONG).await.unwrap();
    s.click(&restart).await.unwrap();
    let new_pid = running_pid(&d, Some(pid)).await;
    assert!(
        !alive(u32::try_from(pid).unwrap()),
        "the old gateway is gone"
    );
    status_bar(&s, "Running").await;
    s.wait_text("status", "Gateway status", LONG, |t| {
        t.contains(&new_pid.to_string())
    })
    .await
    .unwrap();

    // `tether restart` from the CLI drives the app too.
    let out = d.tether(&["restart"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    running_pid(&d, Some(new_pid)).await;

    // Quit (the command the window's Quit uses): the gateway stops, nothing is left.
    let _ = s
        .script(
            "window.__TAURI_INTERNALS__.invoke('quit_app'); return true;",
            json!([]),
        )
        .await;
    let left = wait_no_leftovers(&d, app_pid, Duration::from_secs(15)).await;
    assert!(left.is_empty(), "left behind after Quit: {left:?}");
    assert!(
        d.app_log().contains("gateway stopped; bye"),
        "{}",
        d.app_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_app_leaves_no_gateway_within_2_s_and_a_new_launch_starts_clean() {
    let d = Desk::start(Opts::default()).await;
    let s = d.session().await;
    status_bar(&s, "Running").await;
    let gw = running_pid(&d, None).await;
    let (_, app_pid) = d.hello().await;
    let mut tree = tether_supervisor::guard::descendants(app_pid);
    tree.retain(|p| *p != app_pid);
    assert!(
        tree.contains(&u32::try_from(gw).unwrap()),
        "the gateway descends from the app"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(app_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let t0 = Instant::now();
    // The requirement itself is a bound: nothing of the gateway's tree within 2 s.
    let deadline = t0 + Duration::from_secs(2);
    let mut left: Vec<u32> = tree.clone();
    while Instant::now() < deadline {
        left = tree.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        left.is_empty(),
        "still alive {:?} after kill -9 of the app: {left:?}",
        t0.elapsed()
    );
    // The driver's session points at a dead app: end it before the next launch.
    let _ = s.close().await;

    // The next launch adopts or cleans up per the ledger and runs a gateway of its own.
    let s2 = d.session().await;
    status_bar(&s2, "Running").await;
    let gw2 = running_pid(&d, Some(gw)).await;
    assert_ne!(gw2, gw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_focuses_the_first_and_exits_0() {
    let d = Desk::start(Opts::default()).await;
    let s = d.session().await;
    status_bar(&s, "Running").await;
    let (_, first) = d.hello().await;
    let out = d.command(&d.app).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, still) = d.hello().await;
    assert_eq!(still, first, "the first app keeps supervising");
    let deadline = Instant::now() + LONG;
    while !d.app_log().contains("another launch asked for the window") {
        assert!(
            Instant::now() < deadline,
            "the first app was not asked to focus"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Geometry `(x, y, width, height)` of an X window.
async fn geometry(d: &Desk, id: &str) -> (i64, i64, i64, i64) {
    let geo = desktop::xdotool(&d.display, &["getwindowgeometry", "--shell", id])
        .await
        .unwrap();
    let get = |k: &str| -> i64 {
        geo.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (get("X"), get("Y"), get("WIDTH"), get("HEIGHT"))
}

/// Clicks the icon docked in trayer's panel (the panel holds only ours).
async fn click_tray(d: &Desk) {
    let ids = desktop::xdotool(&d.display, &["search", "--name", "^panel$"])
        .await
        .unwrap();
    let id = ids.lines().next().unwrap().trim().to_owned();
    let (x, y, w, h) = geometry(d, &id).await;
    let (cx, cy) = ((x + w / 2).to_string(), (y + h / 2).to_string());
    desktop::xdotool(&d.display, &["mousemove", &cx, &cy, "click", "1"])
        .await
        .unwrap();
}

/// Whether the tray's menu is open: a mapped window of the app taller than an icon.
async fn tray_menu_shown(d: &Desk) -> bool {
    let ids = desktop::xdotool(
        &d.display,
        &["search", "--onlyvisible", "--name", "^tether-desktop$"],
    )
    .await
    .unwrap_or_default();
    for id in ids.lines() {
        let (_, _, w, h) = geometry(d, id.trim()).await;
        if h > 60 && w > 60 {
            return true;
        }
    }
    false
}

/// Clicks the tray icon until its menu is open (the first click can land before the icon is
/// ready to answer it on a loaded machine).
async fn open_tray_menu(d: &Desk, s: &Session<'_>) {
    let deadline = Instant::now() + LONG;
    loop {
        click_tray(d).await;
        let opened = s
            .wait("the tray menu", Duration::from_secs(5), || async {
                Ok(tray_menu_shown(d).await.then_some(()))
            })
            .await;
        if opened.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "the tray menu did not open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_shows_the_state_and_its_restart_and_quit_work() {
    let d = Desk::start(Opts {
        tray: true,
        ..Opts::default()
    })
    .await;
    assert!(d.tray.is_some());
    let s = d.session().await;
    status_bar(&s, "Running").await;
    let pid = running_pid(&d, None).await;
    let (_, app_pid) = d.hello().await;
    // The icon is docked once the app's tray item exists: the panel grows around it.
    s.wait("the tray icon", LONG, || async {
        let ids = desktop::xdotool(&d.display, &["search", "--name", "^panel$"]).await?;
        let id = ids.lines().next().unwrap_or_default().trim().to_owned();
        Ok((geometry(&d, &id).await.2 >= 24).then_some(()))
    })
    .await
    .unwrap();
    open_tray_menu(&d, &s).await;
    d.display
        .screenshot(&d.shot("tray-menu-running-en.png"))
        .await
        .unwrap();
    // Enabled items while running: Stop, Restart, Open Tether, Quit Tether (the status lines
    // are disabled and skipped by the keyboard). Down, Down = Restart.
    desktop::xdotool(&d.display, &["key", "Down", "Down", "Return"])
        .await
        .unwrap();
    let new_pid = running_pid(&d, Some(pid)).await;
    assert_ne!(new_pid, pid, "the tray's Restart restarted the gateway");
    assert!(d.app_log().contains("tray"), "{}", d.app_log());

    // Quit from the tray: Up wraps to the last item.
    open_tray_menu(&d, &s).await;
    desktop::xdotool(&d.display, &["key", "Up", "Return"])
        .await
        .unwrap();
    let left = wait_no_leftovers(&d, app_pid, Duration::from_secs(15)).await;
    assert!(
        left.is_empty(),
        "left behind after the tray's Quit: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_tray_library_the_app_runs_from_its_window() {
    // Hide the appindicator library the way a system without it looks: /dev/null bound over it
    // in a private mount namespace (needs root, as CI runs).
    if !nix::unistd::geteuid().is_root() {
        panic!("this test hides a system library in a mount namespace: run it as root (CI does)");
    }
    let lib = [
        "/usr/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1",
        "/usr/lib/x86_64-linux-gnu/libappindicator3.so.1",
    ];
    let mut script = String::from("set -e\n");
    for l in lib {
        script.push_str(&format!("[ -e {l} ] && mount --bind /dev/null {l}\n"));
    }
    let d = Desk::start(Opts {
        tray: true,
        ..Opts::default()
    })
    .await;
    script.push_str(&format!("exec {} \"$@\"\n", d.app.display()));
    let wrapper = d.dir.path().join("no-indicator.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec unshare -m --propagation private sh -c '{}' sh \"$@\"\n",
            script.replace('\'', "'\\''")
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let s = d.driver.session(&wrapper, &[]).await.unwrap();
    status_bar(&s, "Running").await;
    assert!(d.app_log().contains("no tray icon"), "{}", d.app_log());
    let info = s
        .script(
            "return window.__TAURI_INTERNALS__.invoke('app_info');",
            json!([]),
        )
        .await;
    if let Ok(info) = info {
        assert_eq!(info["trayAvailable"], false, "{info}");
        assert_eq!(info["closeToTray"], false, "{info}");
    }
    s.screenshot(&d.shot("window-without-tray-library.png"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_provider_key_ever_crosses_to_the_webview() {
    let mock = tether_testkit::mock_openai::start().await.unwrap();
    let key = "sk-desktop-e2e-0123456789abcdef";
    let cfg = json!({
        "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": key,
            "api": "openai-completions", "models": [{"id": "mock-1"}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}
    });
    mock.push(tether_testkit::mock_provider::Reply::Text(vec![
        "Hello ".into(),
        "from the mock.".into(),
    ]));
    let d = Desk::start(Opts {
        gateway_config: Some(cfg.to_string()),
        ..Opts::default()
    })
    .await;
    let s = d.session().await;
    status_bar(&s, "Running").await;
    // Use the app as a person would: chat, then open settings and diagnostics.
    let input = s.by_role("textbox", "Message", LONG).await.unwrap();
    s.type_text(&input, "Say hello").await.unwrap();
    let send = s.by_role("button", "Send", LONG).await.unwrap();
    s.click(&send).await.unwrap();
    s.wait_text("article", "Assistant message", LONG, |t| {
        t.contains("from the mock")
    })
    .await
    .unwrap();
    for cmd in [
        "models_get",
        "diagnostics_get",
        "settings_get",
        "sessions_list",
        "app_info",
        "status_get",
    ] {
        let _ = s
            .script(
                &format!("return window.__TAURI_INTERNALS__.invoke('{cmd}');"),
                json!([]),
            )
            .await;
    }
    let token = std::fs::read_to_string(d.state_dir().join("gateway/gateway-token")).unwrap();
    let token = token.trim();
    assert!(token.len() >= 32);
    let tap = d.tap();
    assert!(
        tap.lines().count() > 10,
        "the tap recorded the session: {} lines",
        tap.lines().count()
    );
    for kind in [
        "\"kind\":\"result\"",
        "\"kind\":\"event\"",
        "\"kind\":\"channel\"",
    ] {
        assert!(tap.contains(kind), "the tap saw no {kind}");
    }
    assert!(
        tap.contains("\"name\":\"models_get\""),
        "settings were read"
    );
    assert!(
        !tap.contains(token),
        "the gateway token crossed to the webview"
    );
    assert!(
        !tap.contains(key),
        "the provider key crossed to the webview"
    );
    assert!(
        tap.contains("\"apiKeySet\":true"),
        "the view says a key is set"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streams_a_tool_turn_and_its_history_survives_a_restart() {
    // The first part runs on the gateway's offline model (no provider): it answers a question
    // about files with a real `ls` call.
    let d = Desk::start(Opts::default()).await;
    let s = d.session().await;
    status_bar(&s, "Running").await;
    let input = s.by_role("textbox", "Message", LONG).await.unwrap();
    s.type_text(&input, "What files are in my workspace?")
        .await
        .unwrap();
    s.click(&s.by_role("button", "Send", LONG).await.unwrap())
        .await
        .unwrap();
    s.by_role("article", "Your message", LONG).await.unwrap();
    s.wait("the completed ls card", LONG, || async {
        Ok(s.xpath("//*[@aria-label='Tool ls: completed']")
            .await?
            .into_iter()
            .next())
    })
    .await
    .unwrap();
    let reply = s
        .wait_text("article", "Assistant message", LONG, |t| t.contains("ls"))
        .await
        .unwrap();
    assert!(reply.contains("workspace"), "{reply}");
    s.screenshot(&d.shot("chat-tool-turn-en.png"))
        .await
        .unwrap();

    // Restart from the window: the session's history comes back.
    let pid = running_pid(&d, None).await;
    s.click(&s.by_role("button", "Restart gateway", LONG).await.unwrap())
        .await
        .unwrap();
    running_pid(&d, Some(pid)).await;
    status_bar(&s, "Running").await;
    s.wait_text("article", "Your message", LONG, |t| {
        t.contains("What files are in my workspace?")
    })
    .await
    .unwrap();
    s.wait("the ls card after the restart", LONG, || async {
        Ok(s.xpath("//*[@aria-label='Tool ls: completed']")
            .await?
            .into_iter()
            .next())
    })
    .await
    .unwrap();
    let _ = s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_approval_is_asked_in_a_dialog_and_allowed_once() {
    approval_turn(None, "approval-dialog-en.png").await;
}

/// Under `tools.exec.ask: "always"` the gateway does not offer "always allow" (it would ask
/// again anyway), and the dialog shows only the two answers it can give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_ask_always_the_dialog_offers_only_deny_and_allow_once() {
    approval_turn(Some("always"), "approval-dialog-ask-always-en.png").await;
}

/// One exec approval in the real app: the dialog names the command and offers the answers the
/// gateway allows under `ask` (its default policy when `None`); "Allow once" runs the command.
async fn approval_turn(ask: Option<&str>, shot: &str) {
    use tether_testkit::mock_provider::{MockToolCall, Reply};
    let mock = tether_testkit::mock_openai::start().await.unwrap();
    mock.push(Reply::ToolCalls(vec![MockToolCall::new(
        "call_exec_1",
        "exec",
        json!({"command": "echo approved-and-ran"}),
    )]));
    mock.push(Reply::Text(vec!["The command ".into(), "ran.".into()]));
    let mut cfg = json!({
        "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": "k",
            "api": "openai-completions", "models": [{"id": "mock-1"}]}}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}
    });
    if let Some(ask) = ask {
        cfg["tools"] = json!({"exec": {"ask": ask}});
    }
    let d = Desk::start(Opts {
        gateway_config: Some(cfg.to_string()),
        ..Opts::default()
    })
    .await;
    let s = d.session().await;
    status_bar(&s, "Running").await;
    let input = s.by_role("textbox", "Message", LONG).await.unwrap();
    s.type_text(&input, "Run the echo command").await.unwrap();
    s.click(&s.by_role("button", "Send", LONG).await.unwrap())
        .await
        .unwrap();
    let dialog = s
        .wait("the approval dialog", LONG, || async {
            Ok(s.all_by_role("dialog", |_| true).await?.into_iter().next())
        })
        .await
        .unwrap();
    let text = s.text(&dialog).await.unwrap();
    assert!(
        text.contains("echo approved-and-ran"),
        "the dialog shows the command: {text}"
    );
    let mut offered = Vec::new();
    for name in ["Deny", "Allow once", "Always allow"] {
        if !s
            .all_by_role("button", |l| l == name)
            .await
            .unwrap()
            .is_empty()
        {
            offered.push(name);
        }
    }
    let expected = if ask == Some("always") {
        vec!["Deny", "Allow once"]
    } else {
        vec!["Deny", "Allow once", "Always allow"]
    };
    assert_eq!(offered, expected, "the dialog's answers under ask={ask:?}");
    // Under "always" the dialog says why there is no "Always allow".
    let says_why = text.contains(&ui_text("en", "approval.asksEveryTime"));
    assert_eq!(says_why, ask == Some("always"), "{text}");
    s.screenshot(&d.shot(shot)).await.unwrap();
    s.click(&s.by_role("button", "Allow once", LONG).await.unwrap())
        .await
        .unwrap();
    s.wait_text("article", "Assistant message", LONG, |t| {
        t.contains("The command ran.")
    })
    .await
    .unwrap();
    s.wait("the completed exec card", LONG, || async {
        Ok(s.xpath("//*[@aria-label='Tool exec: completed']")
            .await?
            .into_iter()
            .next())
    })
    .await
    .unwrap();
    let (_, app_pid) = d.hello().await;
    let _ = s
        .script(
            "window.__TAURI_INTERNALS__.invoke('quit_app'); return true;",
            json!([]),
        )
        .await;
    let left = wait_no_leftovers(&d, app_pid, Duration::from_secs(15)).await;
    assert!(left.is_empty(), "left behind after Quit: {left:?}");
}

/// One string of the UI's catalog for `locale` (`en`, `zh-CN`, `th`), read from its source.
fn ui_text(locale: &str, key: &str) -> String {
    let path = tether_testkit::bins::workspace_root().join(format!("ui/src/lib/i18n/{locale}.ts"));
    let src = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("'{key}': ");
    let line = src
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{key} missing in {}", path.display()));
    let value = line[prefix.len()..].trim_end_matches(',');
    serde_json::from_str::<String>(&value.replace('\'', "\""))
        .unwrap_or_else(|_| value.trim_matches('\'').to_owned())
}

/// Every screen, in each language the app speaks, as a user with that OS locale meets it: the
/// chat with a Markdown reply and a tool card, settings, diagnostics, and the tray menu. The
/// screens are found by their localized accessible names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_in_every_language() {
    use tether_testkit::mock_provider::{MockToolCall, Reply};
    for (locale, lang) in [
        ("en", "en_US.UTF-8"),
        ("zh-CN", "zh_CN.UTF-8"),
        ("th", "th_TH.UTF-8"),
    ] {
        let t = |k: &str| ui_text(locale, k);
        let mock = tether_testkit::mock_openai::start().await.unwrap();
        mock.push(Reply::TextThenTools(
            vec!["Let me look at the workspace first.".into()],
            vec![MockToolCall::new("call_ls", "ls", json!({"path": "."}))],
        ));
        mock.push(Reply::words(
            "## Findings\n\nThe workspace is **empty**. A plan:\n\n1. Add `notes.md`\n2. Run the checks\n\n```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\n| file | state |\n|---|---|\n| notes.md | missing |\n\n中文 与 ภาษาไทย render too.",
        ));
        let cfg = json!({
            "models": {"providers": {"mock": {"baseUrl": mock.base_url(), "apiKey": "k",
                "api": "openai-completions", "models": [{"id": "mock-1"}]}}},
            "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}
        });
        let d = Desk::start(Opts {
            tray: true,
            lang: Some(lang),
            gateway_config: Some(cfg.to_string()),
            ..Opts::default()
        })
        .await;
        let s = d.session().await;
        s.wait_text("status", &t("status.label"), LONG, |x| !x.is_empty())
            .await
            .unwrap();
        running_pid(&d, None).await;
        let input = s
            .by_role("textbox", &t("composer.label"), LONG)
            .await
            .unwrap();
        s.type_text(&input, "What should I do first?")
            .await
            .unwrap();
        s.click(
            &s.by_role("button", &t("composer.send"), LONG)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        s.wait_text("article", &t("chat.assistantMessage"), LONG, |x| {
            x.contains("notes.md")
        })
        .await
        .unwrap();
        s.dom_changed(Duration::from_millis(300)).await;
        s.screenshot(&d.shot(&format!("screen-chat-{locale}.png")))
            .await
            .unwrap();
        for (key, name) in [
            ("nav.settings", "settings"),
            ("nav.diagnostics", "diagnostics"),
        ] {
            s.click(&s.by_role("button", &t(key), LONG).await.unwrap())
                .await
                .unwrap();
            s.dom_changed(Duration::from_millis(800)).await;
            s.screenshot(&d.shot(&format!("screen-{name}-{locale}.png")))
                .await
                .unwrap();
        }
        open_tray_menu(&d, &s).await;
        d.display
            .screenshot(&d.shot(&format!("tray-menu-{locale}.png")))
            .await
            .unwrap();
        desktop::xdotool(&d.display, &["key", "Escape"])
            .await
            .unwrap();
        let (_, app_pid) = d.hello().await;
        let _ = s
            .script(
                "window.__TAURI_INTERNALS__.invoke('quit_app'); return true;",
                json!([]),
            )
            .await;
        let left = wait_no_leftovers(&d, app_pid, Duration::from_secs(15)).await;
        assert!(left.is_empty(), "{locale}: left behind: {left:?}");
    }
}
