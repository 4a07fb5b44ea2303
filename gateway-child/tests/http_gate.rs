//! HTTP on the gateway port: probes, 404/405, security headers, the Origin/Host gate before the
//! upgrade, the pre-auth socket budget, slowloris, and idle TCP floods. (SECURITY §4 items 1–4,
//! 19, 22–24.)

mod support;

use anyhow::Result;
use serde_json::json;
use support::D;
use tether_testkit::ws::{http_get, http_method, ConnectOpts, RawWs, WsClient};

#[tokio::test]
async fn probes_and_not_found() -> Result<()> {
    let gw = support::gateway().await?;
    let a = gw.addr();
    for path in ["/healthz", "/health"] {
        let r = http_get(&a, path, &[]).await?;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json()?, json!({"ok": true, "status": "live"}));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(r.header("access-control-allow-origin").is_none());
        let head = http_method(&a, "HEAD", path, &[]).await?;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
    }
    for path in ["/readyz", "/ready"] {
        let r = http_get(&a, path, &[]).await?;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()?["ready"], true);
    }
    for (method, path) in [
        ("POST", "/healthz"),
        ("DELETE", "/readyz"),
        ("PUT", "/health"),
    ] {
        let r = http_method(&a, method, path, &[]).await?;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    for path in ["/", "/v1/chat/completions", "/status", "/healthz/x"] {
        let r = http_get(&a, path, &[]).await?;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    // Readiness as a browser page would see it: no CORS header, so it cannot read it.
    let r = http_get(&a, "/readyz", &[("Origin", "https://evil.example")]).await?;
    assert!(r.header("access-control-allow-origin").is_none());
    Ok(())
}

#[tokio::test]
async fn hostile_origins_are_refused_before_the_upgrade() -> Result<()> {
    let gw = support::gateway_with(
        "{ gateway: { controlUi: { allowedOrigins: ['tauri://localhost'] } } }",
    )
    .await?;
    let url = gw.ws_url();
    let port = gw.port;
    let hostile = [
        "https://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://127.0.0.1.evil.example:{port}"),
        "http://localhost.evil.example".to_owned(),
        format!("http://127.0.0.1:{port}"),
        "tauri://localhost.evil".to_owned(),
    ];
    for origin in &hostile {
        let r = WsClient::try_open(&url, &[("Origin", origin)]).await?;
        let refused = r.expect_err("refused");
        assert_eq!(refused.status, 403, "{origin}");
    }
    // Forwarded headers do not help a hostile origin (SECURITY §1 row 3).
    let r = WsClient::try_open(
        &url,
        &[
            ("Origin", "https://evil.example"),
            ("X-Forwarded-For", "127.0.0.1"),
            ("X-Forwarded-Host", "localhost"),
            ("X-Forwarded-Proto", "http"),
            ("Forwarded", "for=127.0.0.1;host=localhost"),
        ],
    )
    .await?;
    assert_eq!(r.err().unwrap().status, 403);

    // The listed origin gets through the gate (and is then a device-less browser client).
    let mut c = WsClient::try_open(&url, &[("Origin", "tauri://localhost")])
        .await?
        .expect("allowed origin");
    let res = c.handshake(&ConnectOpts::ui(gw.token()?)).await?;
    assert!(res.ok);

    // Refusals are not auth failures: the right token still works afterwards.
    let (_, hello) = support::admin(&gw).await?;
    assert_eq!(hello.auth.unwrap().scopes.len(), 4);

    // A browser POST from a foreign origin is refused too.
    let r = http_method(
        &gw.addr(),
        "POST",
        "/anything",
        &[("Origin", "https://evil.example")],
    )
    .await?;
    assert_eq!(r.status, 403);
    Ok(())
}

#[tokio::test]
async fn dns_rebinding_hosts_are_refused() -> Result<()> {
    let gw = support::gateway().await?;
    let a = gw.addr();
    let evil = format!("evil.example:{}", gw.port);
    for host in [
        evil.as_str(),
        "127.0.0.1.evil.example",
        "localhost.",
        "192.168.1.5",
    ] {
        let r = http_get(&a, "/healthz", &[("Host", host)]).await?;
        assert_eq!(r.status, 403, "{host}");
        let ws = WsClient::try_open(&gw.ws_url(), &[("Host", host)]).await?;
        assert_eq!(ws.err().unwrap().status, 403, "upgrade with Host {host}");
    }
    for host in ["localhost", "127.0.0.1", "[::1]:1"] {
        assert_eq!(
            http_get(&a, "/healthz", &[("Host", host)]).await?.status,
            200,
            "{host}"
        );
    }
    Ok(())
}

/// 32 idle unauthenticated sockets from any local process used to give the real client 503 until
/// they timed out. The cap holds, but a newcomer takes the place of the oldest idle socket
/// (closed with 1013), so the real client always gets its challenge and connects.
#[tokio::test]
async fn a_full_preauth_budget_evicts_the_oldest_idle_socket() -> Result<()> {
    // A long handshake deadline: only eviction may close the idle sockets here.
    let gw = support::gateway_with("{ gateway: { handshakeTimeoutMs: 120000 } }").await?;
    let mut held = Vec::new();
    for _ in 0..32 {
        let mut c = WsClient::open(&gw.ws_url()).await?;
        c.challenge().await?;
        held.push(c);
    }
    // The real client gets through at once; the oldest idle socket makes room.
    let (mut real, hello) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?)).await?;
    assert_eq!(hello.protocol, 4);
    assert!(real.call("health", json!({})).await?.ok);
    assert_eq!(
        held[0].closed(D).await?,
        (1013, "too many unauthenticated sockets".into())
    );
    // Fill the place the real client gave back when it authenticated.
    let mut refill = WsClient::open(&gw.ws_url()).await?;
    let refill_challenge = refill.challenge().await?;
    held.push(refill);
    // The IPv6 loopback is the same machine and the same budget: it evicts the next oldest.
    if let Some(url) = ipv6_url(&gw).await {
        let mut c = WsClient::try_open(&url, &[]).await?.expect("a place");
        c.challenge().await?;
        assert_eq!(held[1].closed(D).await?.0, 1013);
    }
    // The others are untouched: the newest can still answer its challenge.
    let mut last = held.pop().expect("held sockets");
    let params = ConnectOpts::cli(gw.token()?).params(&refill_challenge);
    assert!(last.request_with_id("c", "connect", params).await?.ok);
    Ok(())
}

/// `ws://[::1]:PORT` of the gateway, if this machine has an IPv6 loopback.
async fn ipv6_url(gw: &tether_testkit::gateway::Gateway) -> Option<String> {
    if tokio::net::TcpListener::bind("[::1]:0").await.is_err() {
        eprintln!("no IPv6 loopback on this machine: the [::1] checks are skipped");
        return None;
    }
    Some(format!("ws://[::1]:{}", gw.port))
}

/// Like upstream, a loopback gateway also listens on `[::1]` at the same port, so a client
/// whose `localhost` resolves to IPv6 first connects too.
#[tokio::test]
async fn loopback_also_answers_on_the_ipv6_loopback() -> Result<()> {
    let gw = support::gateway().await?;
    let Some(url) = ipv6_url(&gw).await else {
        return Ok(());
    };
    let r = http_get(&format!("[::1]:{}", gw.port), "/readyz", &[]).await?;
    assert_eq!(r.status, 200);
    let (_c, hello) = WsClient::connect(&url, &ConnectOpts::cli(gw.token()?)).await?;
    assert_eq!(hello.protocol, 4);
    Ok(())
}

#[tokio::test]
async fn slowloris_is_reaped_at_the_header_deadline() -> Result<()> {
    // The header read deadline is the handshake deadline; a small one keeps the test short.
    let gw = support::gateway_with("{ gateway: { handshakeTimeoutMs: 500 } }").await?;
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await?;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await?;
    let mut buf = [0u8; 1024];
    // Trickle one header byte every 100 ms (the attack's own pace) until the server gives up.
    let reaped = tokio::time::timeout(D, async {
        loop {
            tokio::select! {
                // EOF, an error or a 408: the server ended the request either way.
                _ = s.read(&mut buf) => return true,
                () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                    if s.write_all(b"X").await.is_err() {
                        return true;
                    }
                }
            }
        }
    })
    .await;
    assert_eq!(reaped, Ok(true), "connection closed by the server");
    Ok(())
}

#[tokio::test]
async fn idle_tcp_connections_do_not_lock_out_a_real_client() -> Result<()> {
    let gw = support::gateway().await?;
    let mut idle = Vec::new();
    // SECURITY §4 item 24: 2 000 idle TCP connections that never upgrade.
    for _ in 0..2000 {
        idle.push(tokio::net::TcpStream::connect(gw.addr()).await?);
    }
    let (mut c, _) = support::admin(&gw).await?;
    assert!(c.call("health", json!({})).await?.ok);
    // Raw upgrades still work too.
    let mut raw = RawWs::open(&gw.addr(), "/any/path").await?;
    let first = raw.read_frame(D).await?.expect("challenge");
    assert_eq!(first.opcode, 1);
    drop(idle);
    Ok(())
}

/// Sends a raw request head (and body) and returns the status code of the answer.
async fn raw_status(addr: &str, request: &str) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(request.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(D, s.read(&mut buf)).await??;
    let head = String::from_utf8_lossy(&buf[..n]);
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line in {head:?}"))?;
    Ok(code)
}

/// HTTP requires 400 for a repeated `Host`; any header a decision reads may appear only once,
/// so no layer can read another value than the gate checked.
#[tokio::test]
async fn a_repeated_host_or_origin_is_a_bad_request() -> Result<()> {
    let gw = support::gateway().await?;
    let a = gw.addr();
    for head in [
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.com\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: evil.com\r\nHost: 127.0.0.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: tauri://localhost\r\nOrigin: https://evil.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
    ] {
        assert_eq!(raw_status(&a, head).await?, 400, "{head:?}");
    }
    assert_eq!(
        raw_status(&a, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await?,
        200
    );
    Ok(())
}

/// An absolute-form target names the host (HTTP says `Host` is then ignored), so its authority
/// passes the same loopback check as `Host`.
#[tokio::test]
async fn an_absolute_form_target_must_name_loopback_too() -> Result<()> {
    let gw = support::gateway().await?;
    let a = gw.addr();
    for target in [
        "http://evil.com/healthz".to_owned(),
        format!("http://evil.com:{}/healthz", gw.port),
        "http://127.0.0.1.evil.com/healthz".to_owned(),
    ] {
        let head = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        assert_eq!(raw_status(&a, &head).await?, 403, "{target}");
    }
    let head = format!(
        "GET http://127.0.0.1:{}/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        gw.port
    );
    assert_eq!(raw_status(&a, &head).await?, 200);
    Ok(())
}

/// A request body trickled in has the header deadline too: 408, and the connection is let go.
#[tokio::test]
async fn a_trickled_body_is_cut_at_the_deadline() -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = support::gateway_with(
        "{ gateway: { handshakeTimeoutMs: 500, http: { endpoints: { chatCompletions: { enabled: true } } } } }",
    )
    .await?;
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await?;
    s.write_all(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{{",
            gw.token()?
        )
        .as_bytes(),
    )
    .await?;
    let mut buf = vec![0u8; 4096];
    // Trickle a byte every 100 ms (the attack's own pace) until the server answers.
    let answer = tokio::time::timeout(D, async {
        loop {
            tokio::select! {
                n = s.read(&mut buf) => return n.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()),
                () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                    if s.write_all(b" ").await.is_err() {
                        return Ok(String::new());
                    }
                }
            }
        }
    })
    .await??;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    Ok(())
}

/// `gateway.controlUi.root` serves a Control UI build the way upstream does: the index with a
/// policy that allows exactly its inline scripts, assets (also under deep links), the SPA's
/// own routes, nothing outside the root, the bootstrap config only with the credential, and
/// the page's own origin may open the WebSocket.
#[tokio::test]
async fn the_control_ui_is_served_from_its_root() -> Result<()> {
    let ui = tempfile::tempdir()?;
    std::fs::create_dir(ui.path().join("assets"))?;
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><html lang=\"en\"><head><script>window.boot=1</script>\
         <script type=\"module\" src=\"./assets/app.js\"></script></head><body></body></html>",
    )?;
    std::fs::write(ui.path().join("assets/app.js"), "console.log('ui')")?;
    std::fs::write(ui.path().join("favicon.svg"), "<svg/>")?;
    std::os::unix::fs::symlink("/etc/hostname", ui.path().join("assets/leak.js"))?;
    let root = ui.path().display().to_string();
    let gw = support::gateway_with(&format!(
        "{{ gateway: {{ controlUi: {{ root: '{root}' }} }} }}"
    ))
    .await?;
    let a = gw.addr();

    let index = http_get(&a, "/", &[]).await?;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(index
        .body
        .contains("data-openclaw-terminal-enabled=\"false\""));
    assert!(index.body.contains("src=\"/assets/app.js\""));
    let csp = index.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(index.header("x-frame-options"), Some("DENY"));

    for path in ["/assets/app.js", "/sessions/main/assets/app.js"] {
        let js = http_get(&a, path, &[]).await?;
        assert_eq!(js.status, 200, "{path}");
        assert_eq!(js.body, "console.log('ui')");
        assert_eq!(
            js.header("content-type"),
            Some("application/javascript; charset=utf-8")
        );
    }
    let route = http_get(&a, "/chat", &[("Accept", "text/html")]).await?;
    assert_eq!(route.status, 200);
    assert!(route.body.contains("window.boot=1"));
    for path in ["/missing.js", "/assets/leak.js", "/../index.html"] {
        assert_eq!(http_get(&a, path, &[]).await?.status, 404, "{path}");
    }
    // Probes and the API keep their own answers.
    assert_eq!(http_get(&a, "/healthz", &[]).await?.json()?["ok"], true);

    let config = http_get(&a, "/control-ui-config.json", &[]).await?;
    assert_eq!(config.status, 401);
    let bearer = format!("Bearer {}", gw.token()?);
    let config = http_get(&a, "/control-ui-config.json", &[("Authorization", &bearer)]).await?;
    assert_eq!(config.status, 200);
    assert_eq!(config.json()?["terminalEnabled"], false);
    assert!(!config.body.contains(gw.token()?));

    // The page's own origin may connect; another local page may not.
    let own = format!("http://127.0.0.1:{}", gw.port);
    assert!(WsClient::try_open(&gw.ws_url(), &[("Origin", &own)])
        .await?
        .is_ok());
    let other = format!("http://127.0.0.1:{}", gw.port.wrapping_add(1));
    let refused = WsClient::try_open(&gw.ws_url(), &[("Origin", &other)]).await?;
    assert_eq!(refused.expect_err("refused").status, 403);
    Ok(())
}

/// A root without an `index.html` is a config error that names the key, not a silent 404.
#[tokio::test]
async fn a_control_ui_root_without_an_index_is_refused() -> Result<()> {
    let empty = tempfile::tempdir()?;
    let root = empty.path().display().to_string();
    let err = support::gateway_with(&format!(
        "{{ gateway: {{ controlUi: {{ root: '{root}' }} }} }}"
    ))
    .await
    .expect_err("refused");
    let text = format!("{err:#}");
    assert!(text.contains("gateway.controlUi.root"), "{text}");
    Ok(())
}
