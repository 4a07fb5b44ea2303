//! HTTP on the gateway port: the gate, the probes, the WebSocket upgrade, and 404.
//!
//! A request that repeats a single-valued header (`Host`, `Origin`, `Authorization`, …) is 400.
//! Every request then passes the origin/Host gate ([`crate::socket::origin`], 403 otherwise; the host is
//! the target's authority for an absolute-form target, else `Host`). An upgrade
//! (on any path) then needs a place in the pre-auth budget (503 otherwise) and becomes a
//! [`crate::socket::connection`]. Probes: `GET/HEAD /healthz` and `/health` → 200 `{"ok":true,"status":"live"}`;
//! `/readyz` and `/ready` → 200 `{"ready":true,…}` or 503 while starting or draining; other
//! methods on probes → 405. `/v1/chat/completions` exists only when
//! `gateway.http.endpoints.chatCompletions.enabled` is true (404 otherwise); it then requires
//! `Authorization: Bearer <token or password>` (constant-time compare; never from the query
//! string), 401 `{error:{message,type:"unauthorized"}}` otherwise, and failures count toward
//! the same per-address auth-failure limiter as the WebSocket handshake (429 while locked out).
//! Only then does the agent engine see the request. Everything else is 404. Responses never
//! carry `Access-Control-Allow-Origin` and always carry `X-Content-Type-Options: nosniff`. hyper
//! is given a timer so the header read deadline (the handshake timeout) is really enforced; a
//! request body has the same deadline (408 when it is not all there in time).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::config::schema::BindMode;
use crate::process::logging::Clean;
use crate::server::services::{Phase, Services};
use crate::socket::locality::Peer;

/// Largest HTTP head hyper buffers.
const MAX_HEAD_BYTES: usize = 64 * 1024;

pub use crate::socket::body::{full, Body};

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
        () = services.closing().cancelled() => {
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
    if let Some(name) = crate::socket::locality::repeated_header(req.headers()) {
        info!(ip = %addr.ip(), header = name, "request refused: repeated header");
        return error(
            StatusCode::BAD_REQUEST,
            &format!("more than one {name} header"),
            "bad_request",
        );
    }
    let peer = Peer::from_head(addr.ip(), req.uri(), req.headers());
    let upgrade = fastwebsockets::upgrade::is_upgrade_request(&req);
    let mutating =
        upgrade || !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    };
    // A Control UI served from this port talks back to it from its own origin: a loopback
    // `Host` (the gate below insists on one when bound to loopback) names that origin.
    let mut allowed = settings.allowed_origins.clone();
    if settings.control_ui_root.is_some() && peer.host_loopback {
        let host = header_text(header::HOST);
        if !host.is_empty() {
            allowed.push(format!("http://{host}"));
        }
    }
    if let Err(refusal) = crate::socket::origin::check(
        &peer,
        mutating,
        settings.bind == BindMode::Loopback,
        &allowed,
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
        let Some(slot) = services.preauth().try_take(peer.ip) else {
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
                services.spawn(crate::socket::connection::serve(
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
            let uptime_ms = services.boot().started.elapsed().as_millis() as u64;
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
        "/v1/chat/completions" => chat_completions(req, &peer, services).await,
        path if settings.control_ui_root.is_some()
            && crate::socket::control_ui::CONFIG_PATHS.contains(&path) =>
        {
            if let Some(refused) = check_bearer(req.headers(), &peer, services, "control ui config")
            {
                return refused;
            }
            crate::socket::control_ui::config_json(services.boot().version)
        }
        path => {
            let served = match &settings.control_ui_root {
                Some(root) if !path.starts_with("/v1/") && !path.starts_with("/api/") => {
                    crate::socket::control_ui::serve(root, req.method(), path, req.headers()).await
                }
                _ => None,
            };
            served.unwrap_or_else(|| error(StatusCode::NOT_FOUND, "not found", "not_found"))
        }
    }
}

/// The gateway's credential as a Bearer header, when auth is on: `None` to go on, or the
/// refusal (401, or 429 while the address is locked out; failures count toward the lockout).
fn check_bearer(
    headers: &http::HeaderMap,
    peer: &Peer,
    services: &Arc<Services>,
    what: &str,
) -> Option<Response<Body>> {
    let settings = services.settings();
    let secret = settings.auth.secret.as_ref()?;
    let now = std::time::Instant::now();
    let locked = services.limiter().check(peer.ip, now);
    if let Err(retry) = locked {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentication attempts; retry later",
            "rate_limited",
        );
        if let Ok(v) = header::HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Some(r);
    }
    if !bearer(headers).is_some_and(|t| secret.ct_eq(t)) {
        let locked_now = services.limiter().record_failure(peer.ip, now).is_err();
        if locked_now {
            tracing::warn!(ip = %peer.ip, "too many failed authentication attempts: address locked out");
        } else {
            info!(ip = %peer.ip, "{what} refused: missing or wrong bearer token");
        }
        let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized", "unauthorized");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return Some(r);
    }
    services.limiter().record_success(peer.ip, now);
    None
}

/// The Bearer credential of a request, if any (scheme case-insensitive).
fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// `POST /v1/chat/completions`: enabled check, Bearer check, then the engine.
async fn chat_completions(
    req: Request<Incoming>,
    peer: &Peer,
    services: &Arc<Services>,
) -> Response<Body> {
    if !services.engine().chat_completions_enabled() {
        return error(StatusCode::NOT_FOUND, "not found", "not_found");
    }
    if services.phase() != Phase::Ready {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "gateway is restarting",
            "unavailable",
        );
    }
    if let Some(refused) = check_bearer(req.headers(), peer, services, "chat completions") {
        return refused;
    }
    let settings = services.settings();
    // The whole body within the deadline (a trickled body must not hold the connection), and
    // within the cap; only then does the engine see the request.
    let (parts, body) = req.into_parts();
    let deadline = settings.limits.handshake_timeout;
    let limited = http_body_util::Limited::new(body, crate::agent::completions::MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(deadline, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable (max 2 MiB)",
                "invalid_request_error",
            )
        }
        Err(_) => {
            info!(ip = %peer.ip, "request refused: body not received within the deadline");
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time",
                "invalid_request_error",
            );
        }
    };
    let req = Request::from_parts(parts, Full::new(bytes));
    let response = services.engine().chat_completions(req).await;
    secure(response.map(|b| b.map_err(|never| match never {}).boxed_unsync()))
}
