//! WebSocket framing and JSON abuse: UTF-8 (1007), binary (1003), size caps before and after the
//! handshake (1009), fragmentation, unmasked frames / reserved bits / reserved opcodes (1002),
//! pings (a ping flood closes only the flooder with 1008), and malformed request frames that
//! must get structured errors without killing the connection. (SECURITY §4 items 7, 15–21.)

mod support;

use anyhow::{bail, Result};
use serde_json::{json, Value};
use support::{message, D};
use tether_protocol::connect::ConnectChallenge;
use tether_protocol::Frame;
use tether_testkit::gateway::Gateway;
use tether_testkit::ws::{ConnectOpts, RawWs, WsClient};

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CONT: u8 = 0;
const PING: u8 = 9;
const PONG: u8 = 10;

/// (fin, opcode, payload, masked, reserved bits) of a frame to send.
type FrameSpec = Box<dyn Fn() -> (bool, u8, Vec<u8>, bool, u8)>;

/// Reads raw frames until a text frame; parses it.
async fn next_text(raw: &mut RawWs) -> Result<Frame> {
    loop {
        match raw.read_frame(D).await? {
            Some(f) if f.opcode == TEXT => {
                return Ok(Frame::parse(&String::from_utf8(f.payload)?)?)
            }
            Some(f) if f.opcode == 8 => bail!("closed: {:?}", f.close_code()),
            Some(_) => {}
            None => bail!("eof"),
        }
    }
}

async fn raw_challenge(raw: &mut RawWs) -> Result<ConnectChallenge> {
    match next_text(raw).await? {
        Frame::Event(e) => Ok(e.payload_as()?),
        other => bail!("expected the challenge, got {other:?}"),
    }
}

/// A raw socket that completed `connect` as an admin.
async fn raw_authed(gw: &Gateway) -> Result<RawWs> {
    let mut raw = RawWs::open(&gw.addr(), "/").await?;
    let ch = raw_challenge(&mut raw).await?;
    let connect = json!({"type":"req","id":"c","method":"connect",
                         "params": ConnectOpts::cli(gw.token()?).params(&ch)});
    raw.write_text(&connect.to_string()).await?;
    loop {
        if let Frame::Res(r) = next_text(&mut raw).await? {
            assert!(r.ok, "{:?}", r.error);
            return Ok(raw);
        }
    }
}

async fn raw_response(raw: &mut RawWs, id: &str) -> Result<tether_protocol::Response> {
    loop {
        if let Frame::Res(r) = next_text(raw).await? {
            if r.id == id {
                return Ok(r);
            }
        }
    }
}

#[tokio::test]
async fn invalid_utf8_binary_and_bad_frames_close_with_the_right_code() -> Result<()> {
    let gw = support::gateway().await?;
    // (pre-auth?, frame) → expected close code
    let cases: Vec<(&str, bool, FrameSpec, u16)> = vec![
        (
            "invalid utf-8",
            true,
            Box::new(|| (true, TEXT, vec![0xff, 0xfe], true, 0)),
            1007,
        ),
        (
            "invalid utf-8 after auth",
            false,
            Box::new(|| (true, TEXT, vec![b'{', 0xc3], true, 0)),
            1007,
        ),
        (
            "binary",
            true,
            Box::new(|| (true, BINARY, b"{}".to_vec(), true, 0)),
            1003,
        ),
        (
            "binary after auth",
            false,
            Box::new(|| (true, BINARY, b"{}".to_vec(), true, 0)),
            1003,
        ),
        (
            "unmasked",
            true,
            Box::new(|| (true, TEXT, b"{}".to_vec(), false, 0)),
            1002,
        ),
        (
            "unmasked after auth",
            false,
            Box::new(|| (true, TEXT, b"{}".to_vec(), false, 0)),
            1002,
        ),
        (
            "reserved bits",
            false,
            Box::new(|| (true, TEXT, b"{}".to_vec(), true, 4)),
            1002,
        ),
        (
            "reserved opcode 0x3",
            false,
            Box::new(|| (true, 3, b"{}".to_vec(), true, 0)),
            1002,
        ),
        (
            "fragmented ping",
            false,
            Box::new(|| (false, PING, b"x".to_vec(), true, 0)),
            1002,
        ),
        (
            "continuation without start",
            false,
            Box::new(|| (true, CONT, b"{}".to_vec(), true, 0)),
            1002,
        ),
    ];
    for (name, preauth, frame, expect) in cases {
        let mut raw = if preauth {
            let mut r = RawWs::open(&gw.addr(), "/").await?;
            raw_challenge(&mut r).await?;
            r
        } else {
            raw_authed(&gw).await?
        };
        let (fin, op, payload, mask, rsv) = frame();
        raw.write_frame(fin, op, &payload, mask, rsv).await?;
        assert_eq!(raw.close_code(D).await?, expect, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn preauth_cap_is_64_kib_and_checked_before_parsing() -> Result<()> {
    let gw = support::gateway().await?;
    // Exactly 64 KiB: a valid connect padded with spaces is accepted.
    let mut raw = RawWs::open(&gw.addr(), "/").await?;
    let ch = raw_challenge(&mut raw).await?;
    let mut text = json!({"type":"req","id":"c","method":"connect",
                          "params": ConnectOpts::cli(gw.token()?).params(&ch)})
    .to_string();
    text.push_str(&" ".repeat(64 * 1024 - text.len()));
    raw.write_text(&text).await?;
    assert!(raw_response(&mut raw, "c").await?.ok);

    // One byte more: 1009 before anything is parsed.
    let mut c = WsClient::open(&gw.ws_url()).await?;
    c.challenge().await?;
    c.send_text("x".repeat(64 * 1024 + 1)).await?;
    assert_eq!(
        c.closed(D).await?,
        (1009, "preauth payload too large".into())
    );
    // The same total split over fragments is caught by the assembler.
    let mut raw = RawWs::open(&gw.addr(), "/").await?;
    raw_challenge(&mut raw).await?;
    raw.write_frame(false, TEXT, &vec![b' '; 40 * 1024], true, 0)
        .await?;
    raw.write_frame(true, CONT, &vec![b' '; 40 * 1024], true, 0)
        .await?;
    assert_eq!(raw.close_code(D).await?, 1009);
    Ok(())
}

#[tokio::test]
async fn post_auth_cap_is_max_payload_and_the_connection_goes_away() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut watcher, _) = support::admin(&gw).await?;
    // A UI client has a presence entry, so its departure is announced.
    let (mut c, hello) = WsClient::connect(&gw.ws_url(), &ConnectOpts::ui(gw.token()?)).await?;
    let max = usize::try_from(hello.policy.max_payload)?;
    let joined = watcher.event("presence", D).await?;
    assert_eq!(
        joined.payload.unwrap()["presence"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let before = support::payload(watcher.call("status", json!({})).await?)?["connections"].clone();
    assert_eq!(before, 2);
    c.send_text("x".repeat(max + 1)).await?;
    assert_eq!(c.closed(D).await?.0, 1009);
    // Back to baseline: the closed socket unregisters and presence says so.
    let left = watcher.event("presence", D).await?;
    assert_eq!(
        left.payload.unwrap()["presence"].as_array().unwrap().len(),
        1
    );
    let after = support::payload(watcher.call("status", json!({})).await?)?["connections"].clone();
    assert_eq!(after, 1);
    Ok(())
}

#[tokio::test]
async fn fragmented_requests_and_interleaved_pings() -> Result<()> {
    let gw = support::gateway().await?;
    let mut raw = raw_authed(&gw).await?;
    let req = br#"{"type":"req","id":"frag","method":"health","params":{}}"#;
    raw.write_frame(false, TEXT, &req[..1], true, 0).await?;
    // 10 000 one-byte continuation frames of padding inside the JSON (spaces are fine there).
    let mut frames = Vec::new();
    for _ in 0..10_000 {
        frames.extend_from_slice(&[0x00, 0x81, 1, 2, 3, 4, b' ' ^ 1]);
    }
    raw.write_bytes(&frames).await?;
    // A ping in the middle of the fragmented message.
    raw.write_frame(true, PING, b"hi", true, 0).await?;
    raw.write_frame(true, CONT, &req[1..], true, 0).await?;
    let mut got_pong = false;
    loop {
        let f = raw.read_frame(D).await?.expect("frame");
        if f.opcode == PONG {
            assert_eq!(f.payload, b"hi");
            got_pong = true;
            continue;
        }
        if f.opcode == TEXT {
            if let Frame::Res(r) = Frame::parse(std::str::from_utf8(&f.payload)?)? {
                assert_eq!(r.id, "frag");
                assert!(r.ok);
                break;
            }
        }
    }
    assert!(got_pong);

    // A new data frame in the middle of a fragmented one.
    raw.write_frame(false, TEXT, b"{", true, 0).await?;
    raw.write_frame(true, TEXT, b"{}", true, 0).await?;
    assert_eq!(raw.close_code(D).await?, 1002);
    Ok(())
}

#[tokio::test]
async fn malformed_request_frames_get_structured_errors() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut c, _) = support::admin(&gw).await?;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let big_id = "i".repeat(1024 * 1024);
    // Too deep to parse, but the envelope is read without recursion: the caller's id comes back.
    let deep_params = format!(
        r#"{{"type":"req","id":"deep-req","method":"health","params":{}}}"#,
        deep
    );
    let cases: Vec<(String, &str)> = vec![
        (deep_params, "deep-req"),
        (deep, "invalid"),
        (
            r#"{"type":"req","id":"dup","id":"dup2","method":"nope"}"#.into(),
            "dup2",
        ),
        (
            r#"{"type":"req","id":{"x":1},"method":"health"}"#.into(),
            "invalid",
        ),
        (
            r#"{"type":"req","id":1.5,"method":"health"}"#.into(),
            "invalid",
        ),
        (
            r#"{"type":"req","id":1e309,"method":"health"}"#.into(),
            "invalid",
        ),
        (r#"{"id":"no-type","method":"health"}"#.into(), "no-type"),
        (r#"{"type":"bogus","id":"u"}"#.into(), "u"),
        (r#"{"type":"req","id":"m"}"#.into(), "m"),
        ("[1,2,3]".into(), "invalid"),
        ("not json".into(), "invalid"),
        (
            format!(r#"{{"type":"req","id":"{big_id}","method":"no.such"}}"#),
            big_id.as_str(),
        ),
    ];
    for (text, id) in &cases {
        c.send_text(text.clone()).await?;
        let res = c.response(id, D).await?;
        assert!(!res.ok, "{}", &text[..text.len().min(60)]);
        assert_eq!(res.error.unwrap().code.as_str(), "INVALID_REQUEST");
    }
    // params that are not an object reach the handler, which says so.
    let res = c.call("logs.tail", json!([1, 2])).await?;
    assert!(
        message(&res).starts_with("invalid params"),
        "{}",
        message(&res)
    );
    let res = c.call("logs.tail", json!({"limit": "many"})).await?;
    assert!(message(&res).starts_with("invalid params"));
    // Still usable.
    let health: Value = support::payload(c.call("health", json!({})).await?)?;
    assert_eq!(health["ok"], true);
    Ok(())
}

#[tokio::test]
async fn a_ping_flood_closes_only_the_flooder() -> Result<()> {
    let gw = support::gateway().await?;
    let (mut other, _) = support::admin(&gw).await?;
    let mut raw = raw_authed(&gw).await?;
    // 10 000 pings in one write: far beyond the per-second budget.
    let mut flood = Vec::new();
    for _ in 0..10_000 {
        flood.extend_from_slice(&[0x89, 0x80, 1, 2, 3, 4]);
    }
    let _ = raw.write_bytes(&flood).await;
    let code = loop {
        match raw.read_frame(D).await? {
            Some(f) if f.opcode == 8 => break f.close_code(),
            Some(_) => {}
            None => break None,
        }
    };
    assert_eq!(code, Some(1008));
    // Everyone else is served as before.
    let res = other.call("health", json!({})).await?;
    assert!(res.ok);
    Ok(())
}
