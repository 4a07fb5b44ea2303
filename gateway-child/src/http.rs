//! HTTP on the gateway port: the gate, the probes, the WebSocket upgrade, and 404.
//!
//! Every request first passes the origin/Host gate ([`crate::origin`], 403 otherwise). An upgrade
//! (on any path) then needs a place in the pre-auth budget (503 otherwise) and becomes a
//! [`crate::connection`]. Probes: `GET/HEAD /healthz` and `/health` → 200 `{"ok":true,"status":"live"}`;
//! `/readyz` and `/ready` → 200 `{"ready":true,…}` or 503 while starting or draining; other
//! methods on probes → 405. Everything else is 404 — further routes (the engine's
//! `/v1/chat/completions`) are added as arms of the match in [`route`]. Responses never carry
//! `Access-Control-Allow-Origin` and always carry `X-Content-Type-Options: nosniff`. hyper is
//! given a timer so the header read deadline (the handshake timeout) is really enforced.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::config::schema::BindMode;
use crate::locality::Peer;
use crate::logging::Clean;
use crate::server::{Phase, Services};

/// Largest HTTP head hyper buffers.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The response body type: boxed, so a route may stream (e.g. server-sent events).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A complete (non-streaming) body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Serves one TCP connection (HTTP/1.1, upgradable) until it ends or the run closes.
pub async fn serve_connection(stream: TcpStream, addr: SocketAddr, services: Arc<Services>) {
    let _ = stream.set_nodelay(true);
    let header_timeout = services.settings().limits.handshake_timeout;
    let svc_services = Arc::clone(&services);
    let service = service_fn(move |req: Request<Incoming>| {
        let services = Arc::clone(&svc_services);
        async move { Ok::<_, Infallible>(route(req, addr, &services).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                debug!(peer = %addr, error = %e, "http connection ended");
            }
        }
        () = services.closing.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(full(body.to_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    secure(r)
}

fn secure<B>(mut r: Response<B>) -> Response<B> {
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    r
}

fn error(status: StatusCode, message: &str, kind: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind}}),
    )
}

fn probe_methods_only(req: &Request<Incoming>) -> Option<Response<Body>> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed",
        "method_not_allowed",
    );
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
    Some(r)
}

/// Routes one request.
pub async fn route(
    mut req: Request<Incoming>,
    addr: SocketAddr,
    services: &Arc<Services>,
) -> Response<Body> {
    let settings = services.settings();
    let peer = Peer::from_request(addr.ip(), req.headers());
    let upgrade = fastwebsockets::upgrade::is_upgrade_request(&req);
    let mutating =
        upgrade || !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    if let Err(refusal) = crate::origin::check(
        &peer,
        mutating,
        settings.bind == BindMode::Loopback,
        &settings.allowed_origins,
    ) {
        info!(
            ip = %peer.ip,
            origin = %Clean(&header_text(header::ORIGIN)),
            host = %Clean(&header_text(header::HOST)),
            path = %Clean(req.uri().path()),
            upgrade,
            "request refused: {}",
            refusal.reason()
        );
        return error(StatusCode::FORBIDDEN, refusal.reason(), "forbidden");
    }

    if upgrade {
        if services.phase() != Phase::Ready {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "gateway is restarting",
                "unavailable",
            );
        }
        let Some(slot) = services.preauth.try_take(peer.ip) else {
            info!(ip = %peer.ip, "upgrade refused: too many unauthenticated sockets");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many unauthenticated sockets",
                "unavailable",
            );
        };
        let user_agent = header_text(header::USER_AGENT);
        return match fastwebsockets::upgrade::upgrade(&mut req) {
            Ok((response, fut)) => {
                services.tasks.spawn(crate::connection::serve(
                    fut,
                    peer,
                    slot,
                    Arc::clone(services),
                    user_agent,
                ));
                let (parts, _) = response.into_parts();
                secure(Response::from_parts(parts, full(Bytes::new())))
            }
            Err(e) => error(
                StatusCode::BAD_REQUEST,
                &format!("bad websocket upgrade: {e}"),
                "bad_request",
            ),
        };
    }

    match req.uri().path() {
        "/healthz" | "/health" => probe_methods_only(&req).unwrap_or_else(|| {
            json_response(StatusCode::OK, &json!({"ok": true, "status": "live"}))
        }),
        "/readyz" | "/ready" => probe_methods_only(&req).unwrap_or_else(|| {
            let uptime_ms = services.boot.started.elapsed().as_millis() as u64;
            let local = peer.is_local_direct();
            match services.phase() {
                Phase::Ready => {
                    let body = if local {
                        json!({"ready": true, "failing": [], "uptimeMs": uptime_ms})
                    } else {
                        json!({"ready": true})
                    };
                    json_response(StatusCode::OK, &body)
                }
                phase => {
                    let failing = if phase == Phase::Draining {
                        "gateway-draining"
                    } else {
                        "gateway-starting"
                    };
                    let body = if local {
                        json!({"ready": false, "failing": [failing], "uptimeMs": uptime_ms})
                    } else {
                        json!({"ready": false})
                    };
                    json_response(StatusCode::SERVICE_UNAVAILABLE, &body)
                }
            }
        }),
        // Further endpoints (the engine's `POST /v1/chat/completions`) are arms here; they get
        // `services` (config, hub, drain hooks) and the gate above has already run.
        _ => error(StatusCode::NOT_FOUND, "not found", "not_found"),
    }
}
