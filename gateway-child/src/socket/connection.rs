//! One WebSocket, from the `101` to the close: challenge, handshake, then requests.
//!
//! The socket is split: a writer task drains the connection's [`Outbound`] queue while this task
//! reads. Before `hello-ok` the read cap is 64 KiB (1009 "preauth payload too large", checked
//! before any JSON parsing), the first message must be a valid `connect` (else error + 1008), the
//! handshake deadline closes silent sockets with 1000, and a socket still silent when the
//! pre-auth budget is full and a newer one arrives is closed with 1013 ([`crate::socket::preauth`]). After `hello-ok` the cap is
//! `policy.maxPayload`, every request is authorized by [`dispatch::authorize`] before a handler
//! runs (as its own tracked task, at most [`MAX_IN_FLIGHT`] per connection), and the
//! unauthorized-call flood guard closes probing sockets. More than
//! [`crate::socket::flood_guard::MAX_PINGS_PER_SECOND`] pings in a second close the socket with 1008
//! "ping flood". Text must be UTF-8 (1007), binary is refused (1003), protocol violations close
//! with 1002. When an authenticated socket ends, the hub and the agent engine forget it (its runs
//! go on; it just stops receiving their tool events). This task never blocks on writing.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use fastwebsockets::upgrade::UpgradeFut;
use fastwebsockets::{OpCode, Role, WebSocketError, WebSocketRead};
use serde_json::{json, Value};
use tether_protocol::consts::CAP_TOOL_EVENTS;
use tether_protocol::events::{names, PresenceEntry};
use tether_protocol::{close, ErrorShape, Frame, FrameError, Request, Response, Scope};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use crate::methods::call::{CallContext, Responder};
use crate::methods::caller::{Caller, ClientLabel};
use crate::methods::dispatch;
use crate::methods::hub::ConnHandle;
use crate::process::clock::now_ms;
use crate::process::logging::Clean;
use crate::server::services::Services;
use crate::socket::assembler::{Assembler, Violation};
use crate::socket::flood_guard::{FloodGuard, PingGuard};
use crate::socket::handshake::{self, Attempt, Grant};
use crate::socket::locality::Peer;
use crate::socket::mask_guard::{MaskGuard, UnmaskedFrame};
use crate::socket::outbound::{self, Outbound};
use crate::socket::preauth::Slot;

/// Requests one connection may have running at once; more wait (the socket is not read).
pub const MAX_IN_FLIGHT: usize = 32;

/// Close reason for a message over `maxPayload` after the handshake.
const REASON_TOO_LARGE: &str = "max payload size exceeded";
/// Close reason for too many pings.
pub const REASON_PING_FLOOD: &str = "ping flood";

/// Why reading stopped.
enum ReadEnd {
    /// The peer closed or went away (nothing more to send).
    Gone,
    /// A violation: close with this code and reason.
    Violation(u16, &'static str),
}

/// How long a closing socket keeps reading (and discarding) what the peer still sends, so the
/// close frame is not lost to a TCP reset and the peer can answer with its own close.
pub const LINGER: Duration = Duration::from_secs(1);

/// Serves one upgraded socket until it closes.
pub async fn serve(
    upgrade: UpgradeFut,
    peer: Peer,
    slot: Slot,
    services: Arc<Services>,
    user_agent: String,
) {
    let ws = match upgrade.await {
        Ok(ws) => ws,
        Err(e) => {
            debug!(error = %e, "websocket upgrade did not complete");
            return;
        }
    };
    let (r, w) = tokio::io::split(ws.into_inner());
    let mut guarded = MaskGuard::new(r);
    let ended = {
        let (mut rd, wr) = fastwebsockets::after_handshake_split(
            &mut guarded,
            tokio::io::BufWriter::new(w),
            Role::Server,
        );
        let ended = session(&mut rd, wr, peer, slot, &services, &user_agent).await;
        if let Ended::ServerClosed { writer_grace } = ended {
            // Keep reading (and discarding) while our close frame may still be on its way,
            // so unread input never turns the close into a TCP reset.
            await_close_reply(&mut rd, writer_grace.max(LINGER)).await;
        }
        ended
    };
    if ended == Ended::Violation {
        linger(guarded.into_inner(), LINGER).await;
    }
}

/// How a session ended, which decides how the socket is wound down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The peer closed or vanished: nothing more to read.
    PeerGone,
    /// The gateway asked for a close and the frame reader is intact: wait for the peer's
    /// close reply, then let the socket go.
    ServerClosed {
        /// How long the writer may still take to deliver the close frame.
        writer_grace: Duration,
    },
    /// A framing violation: the frame reader is unusable; drain raw bytes briefly.
    Violation,
}

/// Reads frames until the peer answers our close (or errs, or `for_` passes).
async fn await_close_reply<R: AsyncRead + Unpin>(rd: &mut WebSocketRead<R>, for_: Duration) {
    let _ = tokio::time::timeout(for_, async {
        loop {
            let mut no_obligations = |_| async { Ok::<(), std::convert::Infallible>(()) };
            match rd.read_frame(&mut no_obligations).await {
                Ok(f) if f.opcode == OpCode::Close => return,
                Ok(_) => {}
                Err(_) => return,
            }
        }
    })
    .await;
}

/// Reads and discards until the peer closes, at most `for_`.
async fn linger<R: AsyncRead + Unpin>(mut r: R, for_: Duration) {
    let mut buf = vec![0u8; 16 * 1024];
    let _ = tokio::time::timeout(for_, async {
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn session<R, W>(
    rd: &mut WebSocketRead<R>,
    wr: fastwebsockets::WebSocketWrite<W>,
    peer: Peer,
    slot: Slot,
    services: &Arc<Services>,
    user_agent: &str,
) -> Ended
where
    R: AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    rd.set_auto_close(false);
    rd.set_auto_pong(false);
    let settings = services.settings();
    let limits = settings.limits.clone();
    rd.set_max_message_size(limits.max_preauth_payload + 1);
    let mut assembler = Assembler::new(limits.max_preauth_payload);
    let mut pings = PingGuard::new();

    let id = services.hub().next_conn_id();
    let out = Outbound::new(limits.max_buffered, id);
    services.spawn(outbound::write_loop(
        Arc::clone(&out),
        wr,
        services.kill().clone(),
    ));
    services.hub().add_pending(id, Arc::clone(&out));

    let nonce = uuid::Uuid::new_v4().to_string();
    let challenge = Frame::Event(tether_protocol::Event::new(
        names::CONNECT_CHALLENGE,
        json!({"nonce": nonce, "ts": now_ms()}),
    ));
    out.push_text(challenge.to_json());
    debug!(conn = id, ip = %peer.ip, user_agent = %Clean(user_agent), "socket open");

    let grant = tokio::select! {
        biased;
        () = services.closing().cancelled() => {
            out.close(close::SERVICE_RESTART, close::REASON_SERVICE_RESTART, true);
            Err(Ended::ServerClosed { writer_grace: out.close_grace() })
        }
        () = slot.evicted() => {
            debug!(conn = id, "idle unauthenticated socket evicted by a newer one");
            out.close(close::TRY_AGAIN_LATER, "too many unauthenticated sockets", true);
            Err(Ended::ServerClosed { writer_grace: out.close_grace() })
        }
        () = tokio::time::sleep(limits.handshake_timeout) => {
            debug!(conn = id, "handshake timeout");
            out.close(close::NORMAL, "", true);
            Err(Ended::ServerClosed { writer_grace: out.close_grace() })
        }
        g = handshake_phase(rd, &mut assembler, &mut pings, &out, services, &peer, &nonce, &slot) => g,
    };
    let (grant, request_id) = match grant {
        Ok(g) => g,
        Err(ended) => {
            services.hub().remove_pending(id);
            if ended == Ended::PeerGone {
                out.abandon();
            }
            return ended;
        }
    };
    drop(slot);

    rd.set_max_message_size(limits.max_payload + 1);
    assembler.set_cap(limits.max_payload);
    let caller = Arc::new(Caller {
        conn: id,
        protocol: grant.protocol,
        role: grant.role.clone(),
        scopes: grant.scopes.clone(),
        caps: grant.caps.clone(),
        tool_events: grant.caps.iter().any(|c| c == CAP_TOOL_EVENTS),
        client: ClientLabel {
            id: grant.client.id.as_str().to_owned(),
            mode: grant.client.mode.as_str().to_owned(),
            display_name: grant.client.display_name.clone(),
            version: grant.client.version.clone(),
            platform: grant.client.platform.clone(),
            device_id: grant.device_id.clone(),
        },
        ip: peer.ip,
    });
    let hello = crate::socket::hello::hello_ok(services, &grant, id);
    let hello = serde_json::to_value(&hello).unwrap_or(Value::Null);
    out.push_text(Frame::Res(Response::ok(request_id, hello)).to_json());
    services.hub().register(Arc::new(ConnHandle {
        caller: Arc::clone(&caller),
        out: Arc::clone(&out),
        subscribed: AtomicBool::new(false),
        watched: Default::default(),
        auth_fingerprint: settings.auth.fingerprint(),
        presence: presence_entry(&grant, &peer),
    }));
    services.hub().send_to(
        id,
        names::HEALTH,
        &services.hub().health_snapshot(),
        Some(services.hub().state_version()),
    );
    info!(
        conn = id,
        client = %caller.label(),
        protocol = grant.protocol,
        scopes = ?grant.scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
        device = grant.device_id.is_some(),
        "client connected"
    );

    let ended = request_phase(rd, &mut assembler, &mut pings, &out, services, &caller).await;
    if ended == Ended::PeerGone {
        out.abandon();
    }
    services.hub().unregister(id);
    services.engine().connection_closed(id);
    debug!(conn = id, "client disconnected");
    ended
}

/// Reads the first message and settles the handshake. `Some` on success.
#[allow(clippy::too_many_arguments)]
async fn handshake_phase<R: AsyncRead + Unpin>(
    rd: &mut WebSocketRead<R>,
    assembler: &mut Assembler,
    pings: &mut PingGuard,
    out: &Outbound,
    services: &Services,
    peer: &Peer,
    nonce: &str,
    slot: &Slot,
) -> Result<(Grant, String), Ended> {
    let text = match read_message(rd, assembler, pings, out, true).await {
        Ok(text) => {
            // Answering its challenge: no longer an idle socket a newcomer may evict.
            slot.mark_busy();
            text
        }
        Err(ReadEnd::Gone) => return Err(Ended::PeerGone),
        Err(ReadEnd::Violation(code, reason)) => {
            out.close(code, reason, false);
            return Err(Ended::Violation);
        }
    };
    let req: Request = match Frame::parse(&text) {
        Ok(Frame::Req(req)) => req,
        Err(FrameError::NotJson(_)) => {
            out.close(close::NORMAL, "", true);
            return Err(Ended::ServerClosed {
                writer_grace: out.close_grace(),
            });
        }
        Ok(_) | Err(FrameError::Invalid { .. }) => {
            out.close(close::POLICY, "invalid request frame", true);
            return Err(Ended::ServerClosed {
                writer_grace: out.close_grace(),
            });
        }
    };
    if req.method != tether_protocol::methods::names::CONNECT {
        let e = ErrorShape::invalid_request("invalid handshake: first request must be connect");
        let reason = e.message.clone();
        out.push_text(Frame::Res(Response::err(&req.id, e)).to_json());
        out.close(close::POLICY, &reason, true);
        return Err(Ended::ServerClosed {
            writer_grace: out.close_grace(),
        });
    }
    let settings = services.settings();
    let now = std::time::Instant::now();
    let locked_out_ms = services
        .limiter()
        .check(peer.ip, now)
        .err()
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let params = req.params_or_empty();
    let device_trusted = params
        .get("device")
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .is_some_and(|id| services.limiter().is_trusted(id));
    let decision = handshake::decide(&Attempt {
        params: &params,
        auth: &settings.auth,
        peer,
        nonce,
        now_ms: now_ms(),
        locked_out_ms,
        device_trusted,
    });
    match decision {
        Ok(grant) => {
            if grant.used_secret {
                let mut limiter = services.limiter();
                limiter.record_success(peer.ip, now);
                if let Some(device) = &grant.device_id {
                    limiter.trust_device(device);
                }
            }
            Ok((grant, req.id))
        }
        Err(refusal) => {
            let mut locked_now = false;
            if refusal.auth_failure {
                locked_now = services.limiter().record_failure(peer.ip, now).is_err();
            }
            if locked_now {
                warn!(ip = %peer.ip, "too many failed authentication attempts: address locked out");
            } else if refusal.cause == "rate-limited" {
                debug!(ip = %peer.ip, "connect refused: locked out");
            } else {
                info!(ip = %peer.ip, cause = refusal.cause, "connect refused");
            }
            if let Some(e) = refusal.error {
                out.push_text(Frame::Res(Response::err(&req.id, e)).to_json());
            }
            out.close(refusal.close_code, &refusal.close_reason, true);
            Err(Ended::ServerClosed {
                writer_grace: out.close_grace(),
            })
        }
    }
}

/// Serves requests until the socket closes, the connection is closed by the gateway, or the run
/// ends.
async fn request_phase<R: AsyncRead + Unpin>(
    rd: &mut WebSocketRead<R>,
    assembler: &mut Assembler,
    pings: &mut PingGuard,
    out: &Arc<Outbound>,
    services: &Arc<Services>,
    caller: &Arc<Caller>,
) -> Ended {
    let mut flood = FloodGuard::new();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let text = tokio::select! {
            biased;
            () = services.closing().cancelled() => {
                out.close(close::SERVICE_RESTART, close::REASON_SERVICE_RESTART, true);
                return Ended::ServerClosed { writer_grace: out.close_grace() };
            }
            () = out.closing() => return Ended::ServerClosed { writer_grace: out.close_grace() },
            r = read_message(rd, assembler, pings, out, false) => r,
        };
        let text = match text {
            Ok(t) => t,
            Err(ReadEnd::Gone) => return Ended::PeerGone,
            Err(ReadEnd::Violation(code, reason)) => {
                out.close(code, reason, false);
                return Ended::Violation;
            }
        };
        let req = match Frame::parse(&text) {
            Ok(Frame::Req(req)) => req,
            Ok(other) => {
                let id = match &other {
                    Frame::Res(r) => r.id.clone(),
                    _ => "invalid".to_owned(),
                };
                let e = ErrorShape::invalid_request("invalid request frame: type must be \"req\"");
                out.push_text(Frame::Res(Response::err(id, e)).to_json());
                continue;
            }
            Err(e) => {
                let id = e.id().unwrap_or("invalid").to_owned();
                let err = ErrorShape::invalid_request(format!("invalid request frame: {e}"));
                out.push_text(Frame::Res(Response::err(id, err)).to_json());
                continue;
            }
        };
        let method = match dispatch::authorize(caller, &req.method, services.is_draining()) {
            Ok(m) => m,
            Err(denied) => {
                out.push_text(Frame::Res(Response::err(&req.id, denied.error)).to_json());
                if denied.unauthorized {
                    let v = flood.on_unauthorized();
                    if v.log {
                        info!(
                            conn = caller.conn,
                            client = %caller.label(),
                            method = %Clean(&req.method),
                            count = v.count,
                            "unauthorized call"
                        );
                    }
                    if v.close {
                        warn!(
                            conn = caller.conn,
                            count = v.count,
                            "closing connection: repeated unauthorized calls"
                        );
                        out.close(close::POLICY, close::REASON_UNAUTHORIZED_FLOOD, true);
                        return Ended::ServerClosed {
                            writer_grace: out.close_grace(),
                        };
                    }
                }
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return Ended::PeerGone;
        };
        let work = services.requests().begin();
        let ctx = CallContext::new(
            Arc::clone(caller),
            Arc::clone(services),
            Responder::new(&req.id, Arc::clone(out)),
        );
        let params = req.params_or_empty();
        services.spawn(async move {
            dispatch::call(method, ctx, params).await;
            drop(work);
            drop(permit);
        });
    }
}

/// Reads frames until one complete text message, answering pings and honouring close frames.
async fn read_message<R: AsyncRead + Unpin>(
    rd: &mut WebSocketRead<R>,
    assembler: &mut Assembler,
    pings: &mut PingGuard,
    out: &Outbound,
    preauth: bool,
) -> Result<String, ReadEnd> {
    let too_large = if preauth {
        close::REASON_PREAUTH_TOO_LARGE
    } else {
        REASON_TOO_LARGE
    };
    loop {
        let mut no_obligations = |_| async { Ok::<(), std::convert::Infallible>(()) };
        let frame = match rd.read_frame(&mut no_obligations).await {
            Ok(f) => f,
            Err(e) => return Err(classify(&e, too_large)),
        };
        match frame.opcode {
            OpCode::Close => {
                let (code, reason) = close_reply(&frame.payload);
                out.close(code, reason, false);
                return Err(ReadEnd::Gone);
            }
            OpCode::Ping => {
                if !pings.on_ping(std::time::Instant::now()) {
                    warn!(conn = out.conn_id(), "closing connection: ping flood");
                    return Err(ReadEnd::Violation(close::POLICY, REASON_PING_FLOOD));
                }
                out.push_pong(frame.payload.to_vec());
            }
            OpCode::Pong => {}
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                match assembler.push(frame.opcode, frame.fin, &frame.payload) {
                    Ok(Some(text)) => return Ok(text),
                    Ok(None) => {}
                    Err(v) => {
                        let reason = match v {
                            Violation::TooLarge => too_large,
                            Violation::Binary => "binary frames are not supported",
                            Violation::InvalidUtf8 => "invalid UTF-8",
                            Violation::Fragmentation => "invalid fragmentation",
                        };
                        return Err(ReadEnd::Violation(v.close_code(), reason));
                    }
                }
            }
        }
    }
}

fn classify(e: &WebSocketError, too_large: &'static str) -> ReadEnd {
    match e {
        WebSocketError::FrameTooLarge => ReadEnd::Violation(close::TOO_BIG, too_large),
        WebSocketError::InvalidUTF8 => ReadEnd::Violation(close::INVALID_PAYLOAD, "invalid UTF-8"),
        WebSocketError::IoError(io) if UnmaskedFrame::is(io) => {
            ReadEnd::Violation(close::PROTOCOL_ERROR, "unmasked frame")
        }
        WebSocketError::ReservedBitsNotZero
        | WebSocketError::InvalidValue
        | WebSocketError::ControlFrameFragmented
        | WebSocketError::PingFrameTooLarge
        | WebSocketError::InvalidFragment
        | WebSocketError::InvalidContinuationFrame
        | WebSocketError::InvalidCloseFrame
        | WebSocketError::InvalidCloseCode => {
            ReadEnd::Violation(close::PROTOCOL_ERROR, "protocol error")
        }
        _ => ReadEnd::Gone,
    }
}

/// The close frame to send back for a client's close frame.
fn close_reply(payload: &[u8]) -> (u16, &'static str) {
    match payload.len() {
        0 => (close::NORMAL, ""),
        1 => (close::PROTOCOL_ERROR, "invalid close frame"),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let valid_code = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid_code {
                (close::PROTOCOL_ERROR, "invalid close code")
            } else if std::str::from_utf8(&payload[2..]).is_err() {
                (close::INVALID_PAYLOAD, "invalid UTF-8")
            } else {
                (code, "")
            }
        }
    }
}

fn presence_entry(grant: &Grant, peer: &Peer) -> Option<PresenceEntry> {
    if grant.client.mode.as_str() == "cli" {
        return None;
    }
    Some(PresenceEntry {
        host: Some(
            grant
                .client
                .display_name
                .clone()
                .unwrap_or_else(|| grant.client.id.as_str().to_owned()),
        ),
        ip: Some(peer.ip.to_string()),
        version: Some(grant.client.version.clone()),
        platform: Some(grant.client.platform.clone()),
        device_family: grant.client.device_family.clone(),
        model_identifier: grant.client.model_identifier.clone(),
        mode: Some(grant.client.mode.as_str().to_owned()),
        reason: Some("connect".to_owned()),
        ts: now_ms(),
        device_id: grant.device_id.clone(),
        roles: Some(vec![grant.role.as_str().to_owned()]),
        scopes: Some(grant.scopes.iter().map(|s| s.as_str().to_owned()).collect()),
        instance_id: grant.client.instance_id.clone(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_replies() {
        assert_eq!(close_reply(&[]), (1000, ""));
        assert_eq!(close_reply(&[3]), (1002, "invalid close frame"));
        assert_eq!(close_reply(&1001u16.to_be_bytes()), (1001, ""));
        assert_eq!(close_reply(&1005u16.to_be_bytes()).0, 1002);
        assert_eq!(close_reply(&999u16.to_be_bytes()).0, 1002);
        let mut bad = 1000u16.to_be_bytes().to_vec();
        bad.extend_from_slice(&[0xff]);
        assert_eq!(close_reply(&bad).0, 1007);
    }
}
