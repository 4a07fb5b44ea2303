//! The browser-facing gate: which HTTP requests and WebSocket upgrades may proceed at all.
//!
//! Browsers let any web page open `ws://127.0.0.1:PORT`, so the gate runs before any auth work:
//! - `Host` must name loopback when the gateway is bound to loopback (DNS rebinding defence), for
//!   every request, probes included;
//! - an upgrade (or any state-changing request) that carries an `Origin` is allowed only when that
//!   origin is listed **exactly** in `gateway.controlUi.allowedOrigins`; `null` and `*` never match;
//! - a request without `Origin` is not a browser and passes this gate (it still has to
//!   authenticate).
//!
//! Rejections are HTTP 403 before any `101`, and they are not auth failures (nothing is counted).
//! Pure functions of the request facts; no IO.

use crate::socket::locality::Peer;

/// Why the gate said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` is not loopback while bound to loopback.
    Host,
    /// `Origin` is not in the allowlist.
    Origin,
}

impl Refusal {
    /// A short reason for the 403 body and the log.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Host => "host not allowed",
            Refusal::Origin => "origin not allowed",
        }
    }
}

/// Whether `origin` is exactly one of `allowed` (ASCII case-insensitive, no other normalization).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim();
    if origin.is_empty() || origin.eq_ignore_ascii_case("null") || origin == "*" {
        return false;
    }
    allowed
        .iter()
        .any(|a| a != "*" && !a.eq_ignore_ascii_case("null") && a.eq_ignore_ascii_case(origin))
}

/// Decides whether a request passes the gate.
///
/// `mutating` is true for upgrades and for methods other than GET/HEAD/OPTIONS.
pub fn check(
    peer: &Peer,
    mutating: bool,
    loopback_bind: bool,
    allowed_origins: &[String],
) -> Result<(), Refusal> {
    if loopback_bind && !peer.host_loopback {
        return Err(Refusal::Host);
    }
    if let Some(origin) = &peer.origin {
        if mutating && !origin_allowed(origin, allowed_origins) {
            return Err(Refusal::Origin);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn peer(host: &str, origin: Option<&str>, extra: &[(&'static str, &str)]) -> Peer {
        let mut h = HeaderMap::new();
        h.insert("host", host.parse().unwrap());
        if let Some(o) = origin {
            h.insert("origin", o.parse().unwrap());
        }
        for (k, v) in extra {
            h.insert(*k, v.parse().unwrap());
        }
        Peer::from_request("127.0.0.1".parse().unwrap(), &h)
    }

    fn allowed() -> Vec<String> {
        vec!["tauri://localhost".into(), "http://127.0.0.1:5173".into()]
    }

    fn check_upgrade(host: &str, origin: Option<&str>) -> Result<(), Refusal> {
        check(&peer(host, origin, &[]), true, true, &allowed())
    }

    #[test]
    fn origins_must_match_exactly() {
        assert_eq!(check_upgrade("127.0.0.1:1", None), Ok(()));
        assert_eq!(
            check_upgrade("127.0.0.1:1", Some("tauri://localhost")),
            Ok(())
        );
        assert_eq!(
            check_upgrade("127.0.0.1:1", Some("TAURI://LOCALHOST")),
            Ok(())
        );
        assert_eq!(
            check_upgrade("127.0.0.1:1", Some("http://127.0.0.1:5173")),
            Ok(())
        );
        for bad in [
            "https://evil.example",
            "null",
            "http://127.0.0.1.evil.example:5173",
            "http://localhost.evil.example",
            "http://127.0.0.1:5174",
            "https://127.0.0.1:5173",
            "http://127.0.0.1:5173/",
            "tauri://localhost.evil",
            "",
        ] {
            assert_eq!(
                check_upgrade("127.0.0.1:1", Some(bad)),
                Err(Refusal::Origin),
                "{bad}"
            );
        }
    }

    #[test]
    fn wildcard_and_null_in_the_allowlist_never_match() {
        let list = vec!["*".to_owned(), "null".to_owned()];
        assert!(!origin_allowed("https://evil.example", &list));
        assert!(!origin_allowed("null", &list));
    }

    #[test]
    fn host_must_be_loopback_when_bound_to_loopback() {
        assert_eq!(
            check_upgrade("evil.example:18789", None),
            Err(Refusal::Host)
        );
        assert_eq!(
            check(&peer("evil.example", None, &[]), false, true, &allowed()),
            Err(Refusal::Host)
        );
        // Bound to lan: any Host, but the origin rule still holds.
        assert_eq!(
            check(&peer("gw.lan:1", None, &[]), true, false, &allowed()),
            Ok(())
        );
        assert_eq!(
            check(
                &peer("gw.lan:1", Some("https://evil.example"), &[]),
                true,
                false,
                &allowed()
            ),
            Err(Refusal::Origin)
        );
    }

    #[test]
    fn forwarded_headers_do_not_help_a_hostile_origin() {
        let p = peer(
            "127.0.0.1:1",
            Some("https://evil.example"),
            &[
                ("x-forwarded-for", "127.0.0.1"),
                ("x-forwarded-host", "localhost"),
                ("x-forwarded-proto", "http"),
                ("forwarded", "for=127.0.0.1;host=localhost"),
            ],
        );
        assert_eq!(check(&p, true, true, &allowed()), Err(Refusal::Origin));
    }

    #[test]
    fn plain_reads_with_an_origin_pass() {
        // A GET /healthz from a page: no ACAO header is ever sent, so the page cannot read it.
        let p = peer("127.0.0.1:1", Some("https://evil.example"), &[]);
        assert_eq!(check(&p, false, true, &allowed()), Ok(()));
    }
}
