//! The `Connector` seam, and the real one: a tokio-tungstenite client that does the handshake.
//!
//! It owns the WebSocket to the gateway: opening it (no `Origin` header, so the gateway sees a
//! native client), waiting for `connect.challenge`, answering `connect` as
//! `gateway-client`/`backend` with `caps:["tool-events"]`, protocol range 3–4, scopes
//! admin/read/write/approvals, the shared token and a v3 device proof signed over the challenge
//! nonce with `signedAt` = the challenge `ts`, then reading `hello-ok`. Startup refusals
//! (`UNAVAILABLE`, HTTP 503, close 1013) come back as [`ConnectError::Unavailable`] so the
//! machine retries; credential problems come back as [`ConnectError::Rejected`] so it can pause.
//! After the handshake a link task moves frames between the socket and two bounded channels
//! ([`Link`]); it parses inbound text frames off the actor's path and never sends a
//! `traceparent`. A frame it cannot parse (nested deeper than the parser allows, or malformed)
//! is never dropped silently: it becomes [`Inbound::Unreadable`] with the id when the envelope
//! had one, so the call it answers fails at once with the reason. It never retries and never
//! decides anything.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use tether_protocol::connect::{
    ClientId, ClientInfo, ClientMode, ConnectAuth, ConnectChallenge, ConnectParams, HelloOk,
};
use tether_protocol::consts::{CAP_TOOL_EVENTS, CLIENT_PROTOCOL_RANGE};
use tether_protocol::device::{DeviceKey, SignedClaim};
use tether_protocol::error::ErrorCode;
use tether_protocol::events::names;
use tether_protocol::scope::supervisor_scopes;
use tether_protocol::{Frame, Map, Request, Role, Secret};

use crate::machine::ConnectError;

/// Capacity of each direction of a link.
pub const LINK_CAPACITY: usize = 1024;

/// Something to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// A serialized frame.
    Text(String),
    /// A WebSocket ping.
    Ping,
    /// Close the socket.
    Close,
}

/// Something that arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A parsed frame.
    Frame(Frame),
    /// A `chat` event, parsed by the lean path ([`tether_protocol::chat_frame`]).
    Chat(Box<tether_protocol::chat::ChatEvent>),
    /// A text frame that could not be parsed (e.g. nested deeper than
    /// [`tether_protocol::frame::MAX_DEPTH`]).
    Unreadable {
        /// The request id its envelope carried, if it could be read.
        id: Option<String>,
        /// Why it could not be parsed.
        reason: String,
    },
    /// A pong.
    Pong,
    /// The socket closed (always the last item).
    Closed {
        /// Close code.
        code: Option<u16>,
        /// Close reason or error.
        reason: String,
    },
}

/// A connected, authenticated link.
#[derive(Debug)]
pub struct Link {
    /// What the gateway said.
    pub hello: HelloOk,
    /// To the gateway.
    pub outbound: mpsc::Sender<Outbound>,
    /// From the gateway.
    pub inbound: mpsc::Receiver<Inbound>,
}

/// The connector seam.
pub trait Connector: Send + Sync + 'static {
    /// Connects to the gateway on `port` and completes the handshake.
    fn connect(&self, port: u16) -> BoxFuture<'static, Result<Link, ConnectError>>;
}

/// Deadlines of the handshake.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeTimeouts {
    /// TCP + upgrade.
    pub open: Duration,
    /// Waiting for `connect.challenge`.
    pub challenge: Duration,
    /// Waiting for the `connect` response.
    pub hello: Duration,
}

impl Default for HandshakeTimeouts {
    fn default() -> Self {
        HandshakeTimeouts {
            open: Duration::from_secs(5),
            challenge: Duration::from_secs(10),
            hello: Duration::from_secs(20),
        }
    }
}

/// The real connector.
#[derive(Debug, Clone)]
pub struct WsConnector {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    token: Secret,
    device: DeviceKey,
    instance_id: String,
    timeouts: HandshakeTimeouts,
}

impl WsConnector {
    /// A connector that authenticates with `token` and signs with `device`.
    pub fn new(token: Secret, device: DeviceKey, timeouts: HandshakeTimeouts) -> Self {
        WsConnector {
            inner: Arc::new(Inner {
                token,
                device,
                instance_id: uuid::Uuid::new_v4().to_string(),
                timeouts,
            }),
        }
    }
}

impl Connector for WsConnector {
    fn connect(&self, port: u16) -> BoxFuture<'static, Result<Link, ConnectError>> {
        let inner = self.inner.clone();
        Box::pin(async move { handshake(&inner, port).await })
    }
}

fn transport(e: impl std::fmt::Display) -> ConnectError {
    ConnectError::Transport(e.to_string())
}

fn closed_error(frame: Option<&CloseFrame>) -> ConnectError {
    match frame {
        Some(f) if u16::from(f.code) == tether_protocol::close::TRY_AGAIN_LATER => {
            ConnectError::Unavailable { retry_after: None }
        }
        Some(f) => ConnectError::Transport(format!("closed {}: {}", u16::from(f.code), f.reason)),
        None => ConnectError::Transport("closed before the handshake".into()),
    }
}

/// Builds the `connect` params for a challenge.
pub fn connect_params(
    token: &Secret,
    device: &DeviceKey,
    instance_id: &str,
    challenge: &ConnectChallenge,
) -> ConnectParams {
    let scopes = supervisor_scopes();
    let platform = std::env::consts::OS;
    let proof = device.prove(&SignedClaim {
        client_id: ClientId::GatewayClient.as_str(),
        client_mode: ClientMode::Backend.as_str(),
        role: Role::Operator.as_str(),
        scopes: &scopes,
        signed_at_ms: challenge.ts,
        token: token.expose(),
        nonce: &challenge.nonce,
        platform,
        device_family: "",
    });
    ConnectParams {
        min_protocol: CLIENT_PROTOCOL_RANGE.0,
        max_protocol: CLIENT_PROTOCOL_RANGE.1,
        client: ClientInfo {
            id: ClientId::GatewayClient,
            display_name: Some("Tether supervisor".into()),
            version: env!("CARGO_PKG_VERSION").into(),
            platform: platform.into(),
            device_family: None,
            model_identifier: None,
            mode: ClientMode::Backend,
            instance_id: Some(instance_id.to_owned()),
            extra: Map::new(),
        },
        caps: Some(vec![CAP_TOOL_EVENTS.into()]),
        commands: None,
        permissions: None,
        path_env: None,
        role: Some(Role::Operator),
        scopes: Some(scopes),
        device: Some(proof),
        auth: Some(ConnectAuth {
            token: Some(token.clone()),
            ..ConnectAuth::default()
        }),
        locale: None,
        user_agent: Some(format!("tether-supervisor/{}", env!("CARGO_PKG_VERSION"))),
        extra: Map::new(),
    }
}

async fn handshake(inner: &Inner, port: u16) -> Result<Link, ConnectError> {
    let url = format!("ws://127.0.0.1:{port}/");
    let cfg = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(16 << 20));
    let t = inner.timeouts;
    let (mut ws, _) = match tokio::time::timeout(
        t.open,
        tokio_tungstenite::connect_async_with_config(url, Some(cfg), true),
    )
    .await
    {
        Err(_) => return Err(transport("timed out opening the socket")),
        Ok(Err(tungstenite::Error::Http(resp))) if resp.status().as_u16() == 503 => {
            return Err(ConnectError::Unavailable { retry_after: None })
        }
        Ok(Err(e)) => return Err(transport(e)),
        Ok(Ok(x)) => x,
    };
    // 1. The challenge.
    let challenge = loop {
        let msg = tokio::time::timeout(t.challenge, ws.next())
            .await
            .map_err(|_| transport("no connect.challenge"))?;
        match msg {
            None => return Err(transport("closed before connect.challenge")),
            Some(Err(e)) => return Err(transport(e)),
            Some(Ok(Message::Close(f))) => return Err(closed_error(f.as_ref())),
            Some(Ok(Message::Text(text))) => {
                if let Ok(Frame::Event(e)) = Frame::parse(&text) {
                    if e.event == names::CONNECT_CHALLENGE {
                        break e
                            .payload_as::<ConnectChallenge>()
                            .map_err(|e| transport(format!("bad challenge: {e}")))?;
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    };
    // 2. connect.
    let id = format!("connect-{}", uuid::Uuid::new_v4());
    let params = connect_params(&inner.token, &inner.device, &inner.instance_id, &challenge);
    let params = serde_json::to_value(&params).map_err(transport)?;
    let req = Frame::Req(Request::new(id.clone(), "connect", params));
    ws.send(Message::text(req.to_json()))
        .await
        .map_err(transport)?;
    // 3. hello-ok.
    let hello = loop {
        let msg = tokio::time::timeout(t.hello, ws.next())
            .await
            .map_err(|_| transport("no answer to connect"))?;
        match msg {
            None => return Err(transport("closed before hello-ok")),
            Some(Err(e)) => return Err(transport(e)),
            Some(Ok(Message::Close(f))) => return Err(closed_error(f.as_ref())),
            Some(Ok(Message::Text(text))) => match Frame::parse(&text) {
                Ok(Frame::Res(r)) if r.id == id => {
                    if r.ok {
                        let payload = r.payload.unwrap_or_default();
                        break serde_json::from_value::<HelloOk>(payload)
                            .map_err(|e| transport(format!("bad hello-ok: {e}")))?;
                    }
                    let err = r.error.unwrap_or_else(|| {
                        tether_protocol::ErrorShape::invalid_request("connect failed")
                    });
                    let _ = ws.close(None).await;
                    if err.code == ErrorCode::Unavailable {
                        return Err(ConnectError::Unavailable {
                            retry_after: err.retry_after_ms.map(Duration::from_millis),
                        });
                    }
                    return Err(ConnectError::Rejected(err));
                }
                Err(e) if e.id() == Some(id.as_str()) => {
                    let _ = ws.close(None).await;
                    return Err(transport(format!(
                        "the gateway's answer to connect could not be read: {e}"
                    )));
                }
                _ => {}
            },
            Some(Ok(_)) => {}
        }
    };
    let (out_tx, mut out_rx) = mpsc::channel::<Outbound>(LINK_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel::<Inbound>(LINK_CAPACITY);
    tokio::spawn(async move {
        let closed = loop {
            tokio::select! {
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let inbound = match tether_protocol::chat_frame::parse_chat_frame(&text) {
                            Some(c) => Inbound::Chat(Box::new(c)),
                            None => match Frame::parse(&text) {
                                Ok(f) => Inbound::Frame(f),
                                Err(e) => Inbound::Unreadable {
                                    id: e.id().map(str::to_owned),
                                    reason: e.to_string(),
                                },
                            },
                        };
                        if in_tx.send(inbound).await.is_err() {
                            let _ = ws.close(None).await;
                            return;
                        }
                    }
                    Some(Ok(Message::Pong(_))) => {
                        if in_tx.send(Inbound::Pong).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Close(f))) => {
                        break Inbound::Closed {
                            code: f.as_ref().map(|f| u16::from(f.code)),
                            reason: f.map(|f| f.reason.to_string()).unwrap_or_default(),
                        };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break Inbound::Closed { code: None, reason: e.to_string() },
                    None => break Inbound::Closed { code: None, reason: "socket closed".into() },
                },
                out = out_rx.recv() => match out {
                    Some(Outbound::Text(t)) => {
                        if let Err(e) = ws.send(Message::text(t)).await {
                            break Inbound::Closed { code: None, reason: e.to_string() };
                        }
                    }
                    Some(Outbound::Ping) => {
                        if let Err(e) = ws.send(Message::Ping(Default::default())).await {
                            break Inbound::Closed { code: None, reason: e.to_string() };
                        }
                    }
                    Some(Outbound::Close) | None => {
                        let _ = tokio::time::timeout(
                            Duration::from_millis(500),
                            ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })),
                        )
                        .await;
                        break Inbound::Closed { code: Some(1000), reason: "closed by Tether".into() };
                    }
                },
            }
        };
        let _ = in_tx.send(closed).await;
    });
    Ok(Link {
        hello,
        outbound: out_tx,
        inbound: in_rx,
    })
}

/// Whether something on `port` answers a WebSocket upgrade with `connect.challenge` within
/// `within` (the readiness/attach probe; the socket is dropped right after).
pub async fn probe_challenge(port: u16, within: Duration) -> bool {
    let url = format!("ws://127.0.0.1:{port}/");
    let fut = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        loop {
            match ws.next().await? {
                Ok(Message::Text(t)) => {
                    let ok = matches!(Frame::parse(&t), Ok(Frame::Event(e)) if e.event == names::CONNECT_CHALLENGE);
                    let _ = ws.close(None).await;
                    return Some(ok);
                }
                Ok(Message::Close(_)) | Err(_) => return Some(false),
                Ok(_) => {}
            }
        }
    };
    matches!(tokio::time::timeout(within, fut).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_protocol::device::{verify, VerifyContext};

    #[test]
    fn connect_params_sign_the_challenge_as_upstream_expects() {
        let key = DeviceKey::from_seed(&[7; 32]);
        let token = Secret::new("tok");
        let ch = ConnectChallenge {
            nonce: "n-1".into(),
            ts: 1_760_000_000_000,
            extra: Map::new(),
        };
        let p = connect_params(&token, &key, "i", &ch);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["client"]["id"], "gateway-client");
        assert_eq!(v["client"]["mode"], "backend");
        assert_eq!(v["minProtocol"], 3);
        assert_eq!(v["maxProtocol"], 4);
        assert_eq!(v["caps"][0], "tool-events");
        assert_eq!(v["device"]["signedAt"], 1_760_000_000_000u64);
        assert!(v.get("traceparent").is_none());
        let scopes = p.scopes().to_vec();
        let ctx = VerifyContext {
            now_ms: ch.ts,
            expected_nonce: "n-1",
            claim: SignedClaim {
                client_id: "gateway-client",
                client_mode: "backend",
                role: "operator",
                scopes: &scopes,
                signed_at_ms: 0,
                token: "tok",
                nonce: "",
                platform: std::env::consts::OS,
                device_family: "",
            },
        };
        assert!(verify(p.device.as_ref().unwrap(), &ctx).is_ok());
    }
}
