//! Abuse of the auth path: the failure rate limit (loopback not exempt), the junk-deviceToken
//! bypass, the unauthorized-call flood guard, and secrets staying out of argv, logs and stderr
//! after a storm. (SECURITY §4 items 8, 9, 13, 14, 48; §1 rows 2, 5–7, 13.)

mod support;

use anyhow::Result;
use serde_json::json;
use support::{code, detail, message, D};
use tether_testkit::process::Stream;
use tether_testkit::ws::{http_get, ConnectOpts, WsClient};

async fn attempt(url: &str, opts: &ConnectOpts) -> Result<tether_protocol::Response> {
    let mut c = WsClient::open(url).await?;
    let res = c.handshake(opts).await?;
    c.closed(D).await.ok();
    Ok(res)
}

#[tokio::test]
async fn ten_failures_lock_out_even_the_right_token() -> Result<()> {
    let gw = support::gateway().await?;
    let url = gw.ws_url();
    for i in 0..10 {
        let res = attempt(&url, &ConnectOpts::cli(&format!("wrong-{i}"))).await?;
        assert_eq!(detail(&res), "AUTH_TOKEN_MISMATCH", "attempt {i}");
    }
    let mut c = WsClient::open(&url).await?;
    let res = c.handshake(&ConnectOpts::cli(gw.token()?)).await?;
    let e = res.error.clone().expect("locked out");
    assert_eq!(detail(&res), "AUTH_RATE_LIMITED");
    assert_eq!(
        e.message,
        "unauthorized: too many failed authentication attempts (retry later)"
    );
    assert!(e.retry_after_ms.unwrap() > 0);
    assert_eq!(e.retryable, Some(true));
    assert_eq!(e.details.unwrap()["recommendedNextStep"], "wait_then_retry");
    assert_eq!(c.closed(D).await?.0, 1008);
    // The lockout outlives the socket: a new connection is still refused.
    let res = attempt(&url, &ConnectOpts::cli(gw.token()?)).await?;
    assert_eq!(detail(&res), "AUTH_RATE_LIMITED");
    Ok(())
}

/// Every loopback address shares one budget, so a local process sending wrong tokens locks out
/// the whole machine, the owner included. A device that authenticated before (the supervisor's)
/// still gets in with the right token and a valid proof; a new device, or the right token
/// alone, does not.
#[tokio::test]
async fn the_owners_device_passes_a_lockout_that_the_flood_caused() -> Result<()> {
    let gw = support::gateway().await?;
    let url = gw.ws_url();
    let owner = ConnectOpts::cli(gw.token()?).with_device();
    let (c, _) = WsClient::connect(&url, &owner).await?;
    drop(c);
    for i in 0..11 {
        attempt(&url, &ConnectOpts::cli(&format!("stale-{i}"))).await?;
    }
    let res = attempt(&url, &ConnectOpts::cli(gw.token()?)).await?;
    assert_eq!(detail(&res), "AUTH_RATE_LIMITED");
    let res = attempt(&url, &ConnectOpts::cli(gw.token()?).with_device()).await?;
    assert_eq!(
        detail(&res),
        "AUTH_RATE_LIMITED",
        "a new device is nobody yet"
    );
    let mut wrong = owner.clone();
    wrong.token = Some("stale".into());
    let res = attempt(&url, &wrong).await?;
    assert_eq!(
        detail(&res),
        "AUTH_TOKEN_MISMATCH",
        "the owner's device still needs the token"
    );
    let (mut c, hello) = WsClient::connect(&url, &owner).await?;
    assert_eq!(hello.auth.unwrap().scopes.len(), 4);
    assert!(c.call("health", json!({})).await?.ok);
    Ok(())
}

#[tokio::test]
async fn a_junk_device_token_does_not_bypass_the_limiter() -> Result<()> {
    let gw = support::gateway().await?;
    let url = gw.ws_url();
    for i in 0..10 {
        let mut opts = ConnectOpts::cli(&format!("wrong-{i}"));
        opts.device_token = Some("junk-device-token".into());
        attempt(&url, &opts).await?;
    }
    let res = attempt(&url, &ConnectOpts::cli(gw.token()?)).await?;
    assert_eq!(detail(&res), "AUTH_RATE_LIMITED");
    Ok(())
}

#[tokio::test]
async fn repeated_unauthorized_calls_close_the_socket() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(gw.token()?)).await?;
    for i in 0..11 {
        let res = c.call("config.get", json!({})).await?;
        assert_eq!(code(&res), "FORBIDDEN", "call {i}");
    }
    assert_eq!(
        c.closed(D).await?,
        (1008, "repeated unauthorized calls".into())
    );
    // Logged once at the start and once at the close, not eleven times.
    gw.process
        .wait_for_line(
            Stream::Stderr,
            |l| l.contains("repeated unauthorized calls"),
            D,
        )
        .await?;
    let lines = gw.process.lines(Stream::Stderr);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("unauthorized call "))
            .count(),
        1,
        "{lines:#?}"
    );

    // Health stays free and does not count; an unknown method is unknown for everyone, and
    // counts for non-admins.
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(gw.token()?)).await?;
    for _ in 0..20 {
        assert!(c.call("health", json!({})).await?.ok);
    }
    let res = c.call("no.such.method", json!({})).await?;
    assert_eq!(message(&res), "unknown method: no.such.method");
    // Admins learn that the method does not exist, and that does not count.
    let (mut a, _) = support::admin(&gw).await?;
    for _ in 0..12 {
        let res = a.call("no.such.method", json!({})).await?;
        assert_eq!(message(&res), "unknown method: no.such.method");
    }
    assert!(a.call("health", json!({})).await?.ok);
    Ok(())
}

#[tokio::test]
async fn secrets_never_reach_argv_logs_or_stderr() -> Result<()> {
    let gw = support::gateway().await?;
    let token = gw.token()?.to_owned();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", gw.pid))?;
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(&token),
        "token in argv"
    );

    // An admin connection made before the storm stays usable through it.
    let (mut a, _) = support::admin(&gw).await?;
    // A storm of wrong secrets (past the lockout), and bearer headers on HTTP.
    let wrong: Vec<String> = (0..15).map(|i| format!("guess-{i}-{token}x")).collect();
    for w in &wrong {
        attempt(&gw.ws_url(), &ConnectOpts::cli(w)).await?;
    }
    let mut pw = ConnectOpts::cli("x");
    pw.password = Some("password-guess-xyz".into());
    attempt(&gw.ws_url(), &pw).await?;
    let bearer = format!("Bearer {token}");
    http_get(&gw.addr(), "/healthz", &[("Authorization", &bearer)]).await?;
    http_get(&gw.addr(), "/nope", &[("Authorization", &bearer)]).await?;
    assert!(a.call("health", json!({})).await?.ok);
    gw.process
        .wait_for_line(Stream::Stderr, |l| l.contains("address locked out"), D)
        .await?;

    let log = std::fs::read_to_string(gw.log_path())?;
    let stderr = gw.process.lines(Stream::Stderr).join("\n");
    let stdout = gw.process.lines(Stream::Stdout).join("\n");
    for (name, text) in [("log file", &log), ("stderr", &stderr), ("stdout", &stdout)] {
        assert!(!text.contains(&token), "token in {name}");
        assert!(
            !text.contains("password-guess-xyz"),
            "password guess in {name}"
        );
        assert!(!text.contains("guess-0-"), "token guess in {name}");
        assert!(!text.contains("Bearer"), "authorization header in {name}");
    }
    assert!(log.contains("connect refused"), "refusals are logged");
    Ok(())
}

#[tokio::test]
async fn hostile_header_values_are_logged_on_one_clean_line() -> Result<()> {
    let gw = support::gateway().await?;
    // Bytes an HTTP parser accepts but a log reader should never see raw: a tab and a
    // right-to-left override that would disguise the line.
    let evil_origin = "https://evil.example/\t[ERROR] admin login ok\u{202e}gnp.exe";
    let raw = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {evil_origin}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade, close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    );
    let reply = tether_testkit::ws::http(&gw.addr(), &raw).await?;
    assert_eq!(reply.status, 403);
    let line = gw
        .process
        .wait_for_line(Stream::Stderr, |l| l.contains("request refused"), D)
        .await?;
    assert!(
        line.contains("\\u{9}[ERROR] admin login ok\\u{202e}"),
        "{line}"
    );
    let log = std::fs::read_to_string(gw.log_path())?;
    assert!(
        !log.contains('\u{202e}'),
        "raw bidi override in the log file"
    );
    assert!(!log.contains("\t[ERROR]"), "raw tab in the log file");
    Ok(())
}
