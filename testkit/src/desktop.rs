//! Driving the real desktop app in tests: an X display, a session bus, a tray host, WebKit's
//! WebDriver, and a W3C WebDriver client that finds elements the way assistive technology does.
//!
//! It owns the desktop test plumbing: [`Display`] (an `Xvfb` on a free display number, found
//! with `-displayfd`), [`SessionBus`] (a private `dbus-daemon`), [`TrayHost`] (`trayer`, an
//! XEmbed tray) and [`xdotool`], [`WebDriver`] (`WebKitWebDriver` with Tauri's automation switch,
//! which starts the app itself) and its [`Session`], whose queries go by ARIA role and computed
//! accessible name, never by CSS class. Every process is a kill-on-drop [`ChildGuard`]. Waiting
//! is done on conditions with a deadline (the DOM has no push API over WebDriver), never by
//! sleeping a fixed time. It never touches the app's internals: what it sees is what a user sees.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::process::{ChildGuard, Stream};

/// The key of an element reference in W3C WebDriver responses.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Whether the desktop tools these tests need are installed; the error names what is missing
/// and how to get it.
pub fn tools_present() -> Result<()> {
    let missing: Vec<&str> = [
        "Xvfb",
        "dbus-daemon",
        "WebKitWebDriver",
        "trayer",
        "xdotool",
        "import",
    ]
    .into_iter()
    .filter(|t| which(t).is_none())
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        bail!(
            "missing desktop test tools: {} (apt-get install xvfb dbus webkit2gtk-driver trayer xdotool imagemagick; .ci/run does it)",
            missing.join(", ")
        )
    }
}

/// A program on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// An Xvfb server.
#[derive(Debug)]
pub struct Display {
    _xvfb: ChildGuard,
    /// `:N`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb on a free display with one `width`×`height` screen.
    pub async fn start(width: u32, height: u32) -> Result<Display> {
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"));
        let xvfb = ChildGuard::spawn(&mut cmd).context("starting Xvfb")?;
        let (_, line) = xvfb
            .wait_for_line_from(
                Stream::Stdout,
                0,
                |l| l.trim().parse::<u32>().is_ok(),
                Duration::from_secs(20),
            )
            .await
            .context("Xvfb did not report its display")?;
        Ok(Display {
            name: format!(":{}", line.trim()),
            _xvfb: xvfb,
        })
    }

    /// A PNG of the whole screen.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let st = Command::new("import")
            .args(["-display", &self.name, "-window", "root"])
            .arg(path)
            .status()
            .await
            .context("running import")?;
        if !st.success() {
            bail!("import failed: {st}");
        }
        Ok(())
    }
}

/// A private session bus.
#[derive(Debug)]
pub struct SessionBus {
    _daemon: ChildGuard,
    /// `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
}

impl SessionBus {
    /// Starts `dbus-daemon --session`.
    pub async fn start() -> Result<SessionBus> {
        let mut cmd = Command::new("dbus-daemon");
        cmd.args(["--session", "--nofork", "--nopidfile", "--print-address=1"]);
        let daemon = ChildGuard::spawn(&mut cmd).context("starting dbus-daemon")?;
        let (_, line) = daemon
            .wait_for_line_from(
                Stream::Stdout,
                0,
                |l| l.starts_with("unix:"),
                Duration::from_secs(20),
            )
            .await
            .context("dbus-daemon did not print its address")?;
        Ok(SessionBus {
            address: line.trim().to_owned(),
            _daemon: daemon,
        })
    }
}

/// `trayer`, an XEmbed system tray, docked at the bottom right of a display.
#[derive(Debug)]
pub struct TrayHost {
    _trayer: ChildGuard,
}

impl TrayHost {
    /// Starts trayer on `display` and waits until it maps its window. A trayer that exits
    /// before that (it gives up when it cannot take the tray selection or talk to a display
    /// that is busy starting) is started again, up to three times; the error says how each
    /// attempt ended.
    pub async fn start(display: &Display) -> Result<TrayHost> {
        let mut attempts = Vec::new();
        for _ in 0..3 {
            let mut trayer = Self::spawn(display)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if xdotool(display, &["search", "--class", "trayer"])
                    .await
                    .is_ok()
                {
                    return Ok(TrayHost { _trayer: trayer });
                }
                if let Some(status) = trayer.exited() {
                    attempts.push(format!(
                        "exited ({status}): {}",
                        trayer.lines(Stream::Stderr).join(" | ")
                    ));
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "trayer did not map a window within 30 s (still running; stderr: {}); \
                         earlier attempts: {attempts:?}",
                        trayer.lines(Stream::Stderr).join(" | ")
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        bail!("trayer did not map a window: {attempts:?}")
    }

    fn spawn(display: &Display) -> Result<ChildGuard> {
        let mut cmd = Command::new("trayer");
        cmd.env("DISPLAY", &display.name).args([
            "--edge",
            "bottom",
            "--align",
            "right",
            "--widthtype",
            "request",
            "--height",
            "32",
            "--transparent",
            "false",
            "--tint",
            "0x303030",
            "--SetDockType",
            "true",
        ]);
        ChildGuard::spawn(&mut cmd).context("starting trayer")
    }
}

/// Runs `xdotool ARGS` on `display`; its stdout.
pub async fn xdotool(display: &Display, args: &[&str]) -> Result<String> {
    let out = Command::new("xdotool")
        .env("DISPLAY", &display.name)
        .args(args)
        .output()
        .await
        .context("running xdotool")?;
    if !out.status.success() {
        bail!("xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A free TCP port on loopback.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `WebKitWebDriver`, ready for sessions.
#[derive(Debug)]
pub struct WebDriver {
    _driver: ChildGuard,
    port: u16,
}

impl WebDriver {
    /// Starts WebKitWebDriver with `env` (the app it launches inherits it) and Tauri's
    /// automation switch on.
    pub async fn start(env: &[(String, String)]) -> Result<WebDriver> {
        let port = free_port()?;
        let mut cmd = Command::new("WebKitWebDriver");
        cmd.arg(format!("--port={port}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = ChildGuard::spawn(&mut cmd).context("starting WebKitWebDriver")?;
        let wd = WebDriver {
            _driver: driver,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(v) = wd.request("GET", "/status", None).await {
                if v["value"]["ready"] == true {
                    return Ok(wd);
                }
            }
            if Instant::now() > deadline {
                bail!("WebKitWebDriver did not become ready on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One HTTP request; the JSON answer (errors are `value.error`).
    async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw);
        let (_, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("malformed HTTP answer"))?;
        let body = if text
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        serde_json::from_str(&body)
            .with_context(|| format!("WebDriver answer to {method} {path}: {body}"))
    }

    /// Starts the app at `binary` (with `args`) and opens a session on its window.
    pub async fn session(&self, binary: &Path, args: &[&str]) -> Result<Session<'_>> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": {"binary": binary, "args": args}
        }}});
        let v = tokio::time::timeout(
            Duration::from_secs(60),
            self.request("POST", "/session", Some(&caps)),
        )
        .await
        .context("WebDriver session: timed out")??;
        let id = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {v}"))?
            .to_owned();
        Ok(Session { driver: self, id })
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A WebDriver session on the app's window.
#[derive(Debug)]
pub struct Session<'a> {
    driver: &'a WebDriver,
    id: String,
}

/// An element reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

/// The XPath of the elements that can have an ARIA role (implicit roles of the HTML elements the
/// UI uses, and explicit `role` attributes).
fn candidates(role: &str) -> String {
    let implicit = match role {
        "button" => "//button | //input[@type='button' or @type='submit']",
        "textbox" => "//textarea | //input[not(@type) or @type='text' or @type='search' or @type='password' or @type='url']",
        "article" => "//article",
        "dialog" => "//dialog",
        "navigation" => "//nav",
        "link" => "//a[@href]",
        "checkbox" => "//input[@type='checkbox']",
        "combobox" => "//select",
        _ => "",
    };
    let explicit = format!("//*[@role='{role}']");
    if implicit.is_empty() {
        explicit
    } else {
        format!("{implicit} | {explicit}")
    }
}

impl Session<'_> {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let v = self
            .driver
            .request(
                method,
                &format!("/session/{}{path}", self.id),
                body.as_ref(),
            )
            .await?;
        if let Some(err) = v["value"]["error"].as_str() {
            bail!(
                "WebDriver {method} {path}: {err}: {}",
                v["value"]["message"]
            );
        }
        Ok(v["value"].clone())
    }

    /// Elements matching an XPath.
    pub async fn xpath(&self, xpath: &str) -> Result<Vec<Element>> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "xpath", "value": xpath})),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The computed accessible name.
    pub async fn label(&self, e: &Element) -> Result<String> {
        Ok(self
            .cmd("GET", &format!("/element/{}/computedlabel", e.0), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The rendered text.
    pub async fn text(&self, e: &Element) -> Result<String> {
        Ok(self
            .cmd("GET", &format!("/element/{}/text", e.0), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Whether it is enabled.
    pub async fn enabled(&self, e: &Element) -> Result<bool> {
        Ok(self
            .cmd("GET", &format!("/element/{}/enabled", e.0), None)
            .await?
            .as_bool()
            .unwrap_or(false))
    }

    /// Elements with `role` whose accessible name matches `name`.
    pub async fn all_by_role(
        &self,
        role: &str,
        name: impl Fn(&str) -> bool,
    ) -> Result<Vec<Element>> {
        let mut out = Vec::new();
        for e in self.xpath(&candidates(role)).await? {
            // An element may go away between the query and the label.
            if let Ok(l) = self.label(&e).await {
                if name(&l) {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// Waits for the first element with `role` and exactly the accessible name `name`.
    pub async fn by_role(&self, role: &str, name: &str, within: Duration) -> Result<Element> {
        self.wait(&format!("{role} {name:?}"), within, || async {
            Ok(self
                .all_by_role(role, |l| l == name)
                .await?
                .into_iter()
                .next())
        })
        .await
    }

    /// Waits until the page's DOM changes (a `MutationObserver` in the page), at most `at_most`;
    /// whether it did.
    pub async fn dom_changed(&self, at_most: Duration) -> bool {
        let script = "const done = arguments[arguments.length - 1];\
            const obs = new MutationObserver(() => { obs.disconnect(); clearTimeout(t); done(true); });\
            obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});\
            const t = setTimeout(() => { obs.disconnect(); done(false); }, arguments[0]);";
        let ms = u64::try_from(at_most.as_millis()).unwrap_or(1000);
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": [ms]})),
        )
        .await
        .is_ok_and(|v| v == true)
    }

    /// Waits until `probe` yields something: probe, then wait for the page to change (or half a
    /// second, for what is not in the DOM), probe again — until `within` has passed.
    pub async fn wait<T, F, Fut>(&self, what: &str, within: Duration, probe: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + within;
        let mut last_err = None;
        loop {
            match probe().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last_err = Some(e),
            }
            if Instant::now() > deadline {
                return Err(anyhow!(
                    "waited {within:?} for {what}{}",
                    last_err
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
            self.dom_changed(Duration::from_millis(500)).await;
        }
    }

    /// Waits until the element with `role`/`name` has text satisfying `pred`; returns the text.
    pub async fn wait_text(
        &self,
        role: &str,
        name: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        self.wait(&format!("the text of {role} {name:?}"), within, || async {
            for e in self.all_by_role(role, |l| l == name).await? {
                let t = self.text(&e).await?;
                if pred(&t) {
                    return Ok(Some(t));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Clicks.
    pub async fn click(&self, e: &Element) -> Result<()> {
        self.cmd("POST", &format!("/element/{}/click", e.0), Some(json!({})))
            .await
            .map(|_| ())
    }

    /// Types into an element.
    pub async fn type_text(&self, e: &Element, text: &str) -> Result<()> {
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await
        .map(|_| ())
    }

    /// Runs a script in the page; its return value.
    pub async fn script(&self, script: &str, args: Value) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// A PNG of the window.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", None).await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes)?;
        Ok(())
    }

    /// Ends the session (WebKitWebDriver then ends the app).
    pub async fn close(self) -> Result<()> {
        self.driver
            .request("DELETE", &format!("/session/{}", self.id), None)
            .await
            .map(|_| ())
    }
}

/// Where tests put screenshots for a person to look at: `target/desktop-shots/`.
pub fn shots_dir() -> PathBuf {
    crate::bins::profile_dir()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("desktop-shots")
}
