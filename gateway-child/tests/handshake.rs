//! The `connect` handshake against the real binary: challenge first, first-frame rules, protocol
//! negotiation, secrets, device proofs, scopes for device-less clients, the handshake deadline,
//! and what `hello-ok` carries. (SECURITY §4 items 5, 6, 10, 11, 13.)

mod support;

use anyhow::Result;
use serde_json::{json, Value};
use support::{code, detail, message, D};
use tether_protocol::Scope;
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::ws::{ConnectOpts, WsClient};

#[tokio::test]
async fn challenge_first_then_hello_ok_with_everything_it_promises() -> Result<()> {
    let gw = support::gateway().await?;
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let ch = c.challenge().await?;
    assert_eq!(ch.nonce.len(), 36, "uuid nonce");
    assert!(ch.ts > 1_700_000_000_000);
    let res = c
        .request_with_id("c1", "connect", ConnectOpts::cli(gw.token()?).params(&ch))
        .await?;
    assert!(res.ok, "{:?}", res.error);
    let hello = res.payload.unwrap();
    assert_eq!(hello["type"], "hello-ok");
    assert_eq!(hello["protocol"], 4);
    assert_eq!(hello["server"]["bootId"], gw.boot_id.as_str());
    assert!(hello["server"]["connId"].is_string());
    let methods: Vec<&str> = hello["features"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for m in [
        "health",
        "status",
        "system-presence",
        "config.get",
        "config.patch",
        "config.apply",
        "logs.tail",
        "sessions.subscribe",
        "sessions.unsubscribe",
        "gateway.restart.request",
    ] {
        assert!(methods.contains(&m), "{m} advertised");
    }
    let events = hello["features"]["events"].as_array().unwrap();
    for e in [
        "connect.challenge",
        "tick",
        "health",
        "presence",
        "shutdown",
    ] {
        assert!(events.contains(&json!(e)), "{e} advertised");
    }
    let snap = &hello["snapshot"];
    assert_eq!(snap["sessionDefaults"]["mainSessionKey"], "agent:main:main");
    assert!(!snap["presence"].as_array().unwrap().is_empty());
    assert!(snap["uptimeMs"].is_u64());
    assert!(snap["stateVersion"]["presence"].is_u64());
    // Admin-only fields for an admin.
    assert_eq!(snap["authMode"], "token");
    assert!(snap["configPath"]
        .as_str()
        .unwrap()
        .ends_with("gateway.json"));
    assert!(snap["stateDir"].is_string());
    assert_eq!(
        hello["auth"],
        json!({"role":"operator","scopes":["operator.admin","operator.read","operator.write","operator.approvals"]})
    );
    assert_eq!(hello["policy"]["maxPayload"], 26_214_400);
    assert_eq!(hello["policy"]["maxBufferedBytes"], 16 * 1024 * 1024);
    assert_eq!(hello["policy"]["tickIntervalMs"], 30_000);
    assert_eq!(
        hello["policy"]["attachments"],
        json!({"maxBytes": 19_464_192, "maxImageBytes": 6_291_456})
    );
    // The first event after hello-ok has seq 1.
    let health = c.event("health", D).await?;
    assert_eq!(health.seq, Some(1));
    Ok(())
}

#[tokio::test]
async fn first_frame_rules() -> Result<()> {
    let gw = support::gateway().await?;

    // A request other than connect: error response, then 1008 with the same text.
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    let res = c.request_with_id("x", "health", json!({})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert_eq!(
        message(&res),
        "invalid handshake: first request must be connect"
    );
    assert_eq!(
        c.closed(D).await?,
        (
            1008,
            "invalid handshake: first request must be connect".into()
        )
    );

    // Not a request frame: 1008 "invalid request frame", no response.
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    c.send_text(r#"{"type":"req","method":"connect"}"#).await?;
    assert_eq!(c.closed(D).await?, (1008, "invalid request frame".into()));
    assert!(
        c.stashed().next().is_none(),
        "no response to an invalid frame"
    );

    // Not JSON at all: 1000.
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    c.send_text("hello?").await?;
    assert_eq!(c.closed(D).await?.0, 1000);
    Ok(())
}

#[tokio::test]
async fn protocol_negotiation_and_mismatch() -> Result<()> {
    let gw = support::gateway().await?;
    let t = gw.token()?;
    for (min, max, expect) in [(3, 3, 3), (3, 4, 4), (4, 4, 4), (4, 7, 4)] {
        let (_, hello) =
            WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(t).protocols(min, max)).await?;
        assert_eq!(hello.protocol, expect, "{min}..{max}");
    }
    for (min, max) in [(1, 2), (5, 6)] {
        let mut c = WsClient::open(&gw.ws_url()).await?;
        let res = c
            .handshake(&ConnectOpts::cli(t).protocols(min, max))
            .await?;
        assert_eq!(code(&res), "INVALID_REQUEST");
        assert_eq!(message(&res), "protocol mismatch");
        assert_eq!(detail(&res), "PROTOCOL_MISMATCH");
        assert_eq!(res.error.unwrap().details.unwrap()["expectedProtocol"], 4);
        assert_eq!(c.closed(D).await?, (1002, "protocol mismatch".into()));
    }
    Ok(())
}

#[tokio::test]
async fn wrong_or_missing_secret_is_refused_as_upstream() -> Result<()> {
    let gw = support::gateway().await?;
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let res = c.handshake(&ConnectOpts::cli("not-the-token")).await?;
    let e = res.error.clone().unwrap();
    assert_eq!(e.code.as_str(), "INVALID_REQUEST");
    assert_eq!(
        e.message,
        "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)"
    );
    assert_eq!(
        e.details.unwrap(),
        json!({"code":"AUTH_TOKEN_MISMATCH","authReason":"token_mismatch",
               "canRetryWithDeviceToken":false,"recommendedNextStep":"update_auth_credentials"})
    );
    assert_eq!(c.closed(D).await?, (1008, e.message));

    // No auth at all, no device: device identity required.
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let mut opts = ConnectOpts::cli("x");
    opts.token = None;
    let res = c.handshake(&opts).await?;
    assert_eq!(code(&res), "NOT_PAIRED");
    assert_eq!(message(&res), "device identity required");
    assert_eq!(detail(&res), "DEVICE_IDENTITY_REQUIRED");
    assert_eq!(c.closed(D).await?.0, 1008);

    // A token in the URL is not a credential (SECURITY §4 item 13).
    let url = format!("{}?token={}", gw.ws_url(), gw.token()?);
    let mut c = WsClient::open(&url).await?;
    let res = c.handshake(&opts).await?;
    assert!(!res.ok);
    Ok(())
}

#[tokio::test]
async fn device_less_scopes_as_observed_upstream() -> Result<()> {
    let gw = support::gateway().await?;
    let t = gw.token()?;
    let admin = [
        "operator.admin",
        "operator.read",
        "operator.write",
        "operator.approvals",
    ];

    let cases = [
        ("cli", "cli", true),
        ("gateway-client", "backend", true),
        ("openclaw-linux", "ui", false),
        ("gateway-client", "ui", false),
        ("webchat-ui", "webchat", false),
    ];
    for (id, mode, keeps) in cases {
        let mut opts = ConnectOpts::cli(t);
        opts.client_id = id.into();
        opts.client_mode = mode.into();
        let (mut c, hello) = WsClient::connect(&gw.ws_url(), &opts).await?;
        let scopes = hello.auth.clone().unwrap().scopes;
        if keeps {
            assert_eq!(scopes.len(), 4, "{id}/{mode}");
        } else {
            assert!(scopes.is_empty(), "{id}/{mode}: {scopes:?}");
            // Only health works; v4 wording for the rest.
            assert!(c.call("health", json!({})).await?.ok);
            let res = c.call("status", json!({})).await?;
            assert_eq!(code(&res), "FORBIDDEN");
            assert_eq!(message(&res), "missing scope: operator.read");
            assert_eq!(detail(&res), "MISSING_SCOPE");
            // Admin-only snapshot fields are absent.
            assert!(hello.snapshot.config_path.is_none());
            assert!(hello.snapshot.auth_mode.is_none());
        }
    }

    // SECURITY §4 item 10: asking for admin without a device from a non-trusted client id.
    let (mut c, hello) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(t).scopes(&admin)).await?;
    assert!(hello.auth.unwrap().scopes.is_empty());
    let res = c
        .call("config.apply", json!({"raw": "{}", "baseHash": "x"}))
        .await?;
    assert_eq!(code(&res), "FORBIDDEN");
    assert_eq!(message(&res), "missing scope: operator.admin");

    // v3 clients get v3 wording.
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(t).protocols(3, 3)).await?;
    let res = c.call("status", json!({})).await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert_eq!(message(&res), "missing scope: operator.read");

    // Unknown scope strings are dropped.
    let (_, hello) = WsClient::connect(
        &gw.ws_url(),
        &ConnectOpts::cli(t).scopes(&["operator.read", "operator.root", "admin"]),
    )
    .await?;
    assert_eq!(hello.auth.unwrap().scopes, vec![Scope::Read]);
    Ok(())
}

#[tokio::test]
async fn forwarded_headers_never_make_a_client_local() -> Result<()> {
    let gw = support::gateway().await?;
    let t = gw.token()?;
    for (h, v) in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Real-IP", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1;host=localhost"),
        ("X-Forwarded-Host", "localhost"),
        ("X-Forwarded-Proto", "http"),
    ] {
        let mut c = WsClient::try_open(&gw.ws_url(), &[(h, v)]).await?.unwrap();
        let res = c.handshake(&ConnectOpts::cli(t)).await?;
        let scopes = res.payload.unwrap()["auth"]["scopes"].clone();
        assert_eq!(scopes, json!([]), "{h} must not count as local");
    }
    Ok(())
}

#[tokio::test]
async fn a_signed_device_keeps_its_scopes_and_bad_proofs_fail_in_order() -> Result<()> {
    let gw = support::gateway().await?;
    let t = gw.token()?;
    let opts = ConnectOpts::ui(t).with_device();
    let (mut c, hello) = WsClient::connect(&gw.ws_url(), &opts).await?;
    assert_eq!(hello.auth.unwrap().scopes.len(), 4);
    assert!(c.call("status", json!({})).await?.ok);

    async fn refused(gw: &Gateway, tamper: impl Fn(&mut Value, &str)) -> Result<(String, u16)> {
        let opts = ConnectOpts::ui(gw.token()?).with_device();
        let mut c = WsClient::open(&gw.ws_url()).await?;
        let ch = c.challenge().await?;
        let mut p = opts.params(&ch);
        tamper(&mut p, &ch.nonce);
        let res = c.request_with_id("c", "connect", p).await?;
        assert!(!res.ok);
        Ok((detail(&res), c.closed(D).await?.0))
    }

    // Replay: a whole connect frame signed for another socket's nonce.
    let mut other = WsClient::open(&gw.ws_url()).await?;
    let other_ch = other.challenge().await?;
    let replayed = opts.params(&other_ch);
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    let res = c.request_with_id("c", "connect", replayed).await?;
    assert_eq!(detail(&res), "DEVICE_AUTH_NONCE_MISMATCH");
    assert_eq!(c.closed(D).await?.0, 1008);

    let stale = |p: &mut Value, _: &str| {
        let signed_at = p["device"]["signedAt"].as_u64().unwrap() - 180_000;
        p["device"]["signedAt"] = json!(signed_at);
    };
    assert_eq!(
        refused(&gw, stale).await?,
        ("DEVICE_AUTH_SIGNATURE_EXPIRED".into(), 1008)
    );
    let no_nonce = |p: &mut Value, _: &str| p["device"]["nonce"] = json!("");
    assert_eq!(
        refused(&gw, no_nonce).await?.0,
        "DEVICE_AUTH_NONCE_REQUIRED"
    );
    let wrong_id = |p: &mut Value, _: &str| p["device"]["id"] = json!("ab".repeat(32));
    assert_eq!(
        refused(&gw, wrong_id).await?.0,
        "DEVICE_AUTH_DEVICE_ID_MISMATCH"
    );
    // Signed as one role/scope set, sent with another.
    let scopes_changed = |p: &mut Value, _: &str| p["scopes"] = json!(["operator.admin"]);
    assert_eq!(
        refused(&gw, scopes_changed).await?.0,
        "DEVICE_AUTH_SIGNATURE_INVALID"
    );
    let flip = |p: &mut Value, _: &str| {
        let s = p["device"]["signature"].as_str().unwrap().to_owned();
        let first = if s.starts_with('A') { 'B' } else { 'A' };
        p["device"]["signature"] = json!(format!("{first}{}", &s[1..]));
    };
    assert_eq!(refused(&gw, flip).await?.0, "DEVICE_AUTH_SIGNATURE_INVALID");
    for junk in ["", "!!", "AAAA", &"A".repeat(200)] {
        let j = junk.to_owned();
        let bad_sig = move |p: &mut Value, _: &str| p["device"]["signature"] = json!(j.clone());
        assert_eq!(
            refused(&gw, bad_sig).await?.0,
            "DEVICE_AUTH_SIGNATURE_INVALID"
        );
    }
    // A key that is not 32 bytes: its id cannot match.
    let short_key = |p: &mut Value, _: &str| p["device"]["publicKey"] = json!("AAAA");
    assert_eq!(
        refused(&gw, short_key).await?.0,
        "DEVICE_AUTH_DEVICE_ID_MISMATCH"
    );
    Ok(())
}

#[tokio::test]
async fn connect_params_must_name_a_known_client() -> Result<()> {
    let gw = support::gateway().await?;
    let mut opts = ConnectOpts::cli(gw.token()?);
    opts.client_id = "rust-supervisor".into();
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let res = c.handshake(&opts).await?;
    assert_eq!(
        message(&res),
        "invalid connect params: at /client/id: must be equal to one of the allowed values"
    );
    assert_eq!(c.closed(D).await?.0, 1008);

    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    let res = c
        .request_with_id("c", "connect", json!({"minProtocol": 3, "maxProtocol": 4}))
        .await?;
    assert!(message(&res).starts_with("invalid connect params:"));
    assert_eq!(c.closed(D).await?.0, 1008);
    Ok(())
}

#[tokio::test]
async fn a_silent_socket_is_closed_at_the_handshake_deadline() -> Result<()> {
    let gw = support::gateway_with("{ gateway: { handshakeTimeoutMs: 300 } }").await?;
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    assert_eq!(c.closed(D).await?, (1000, String::new()));
    assert!(c.stashed().next().is_none(), "no error frame on timeout");
    Ok(())
}

#[tokio::test]
async fn password_mode() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "correct horse\n")?;
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        args: vec![
            "--auth".into(),
            "password".into(),
            "--password-file".into(),
            pw.display().to_string(),
        ],
        ..GatewayOptions::default()
    })
    .await?;
    let mut opts = ConnectOpts::cli("ignored");
    opts.token = None;
    opts.password = Some("wrong".into());
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let res = c.handshake(&opts).await?;
    assert_eq!(detail(&res), "AUTH_PASSWORD_MISMATCH");
    opts.password = Some("correct horse".into());
    let (_, hello) = WsClient::connect(&gw.ws_url(), &opts).await?;
    assert_eq!(hello.snapshot.auth_mode.as_deref(), Some("password"));
    Ok(())
}
