//! Who is on the other end of a socket: the canonical client address and whether the client is
//! "local-direct".
//!
//! The client address is canonicalized once (`::ffff:a.b.c.d` → `a.b.c.d`) and that form is used
//! everywhere (rate limiting, pre-auth budget, logs). A client is local-direct only when the TCP
//! peer is loopback, the request carries no proxy header (`Forwarded`, `X-Forwarded-*`,
//! `X-Real-IP`) and no browser `Origin`, and its `Host` names loopback. Tether supports no reverse
//! proxy, so forwarded headers are never believed: they can only take locality away, never grant
//! it. The host of a request is its target's authority when the target has one
//! (`GET http://host/path`: HTTP says `Host` is then ignored), else `Host`; the headers a
//! decision reads must appear at most once ([`repeated_header`]), so no two parts of the stack
//! can read different values. This module is pure: it reads headers it is given and never
//! touches a socket.

use std::net::{IpAddr, Ipv4Addr};

use http::HeaderMap;

/// Headers that mean "a proxy forwarded this request".
pub const FORWARDED_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
];

/// The one form of an address used for keys and comparisons: IPv4-mapped IPv6 becomes IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The address a per-client budget (auth failures, unauthenticated sockets, control-plane
/// writes) is counted for: the canonical address, except that every loopback address
/// (127.0.0.0/8 and `::1`) is this one machine and shares one budget. Otherwise a local process
/// could multiply its budget by cycling through 127.0.0.2, 127.0.0.3, … or switching stacks.
pub fn budget_key(ip: IpAddr) -> IpAddr {
    let ip = canonical_ip(ip);
    if ip.is_loopback() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

/// Request headers that carry one value a decision depends on; a request with two of any of
/// them is refused (HTTP requires 400 for a repeated `Host`).
pub const SINGLE_VALUED: [&str; 9] = [
    "host",
    "origin",
    "authorization",
    "content-length",
    "sec-websocket-key",
    "sec-websocket-version",
    "upgrade",
    "x-openclaw-session-key",
    "x-tether-session-key",
];

/// The first header of [`SINGLE_VALUED`] that appears more than once.
pub fn repeated_header(headers: &HeaderMap) -> Option<&'static str> {
    SINGLE_VALUED
        .into_iter()
        .find(|name| headers.get_all(*name).iter().nth(1).is_some())
}

/// Whether any proxy header is present.
pub fn has_forwarded_headers(headers: &HeaderMap) -> bool {
    FORWARDED_HEADERS.iter().any(|h| headers.contains_key(*h))
}

/// Whether a `Host` header value names loopback: `localhost` or a loopback IP literal, with an
/// optional port. Anything else (`127.0.0.1.evil.example`, `localhost.`, decimal IPs) is not.
pub fn host_is_loopback(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        if !port_suffix_ok(after) {
            return false;
        }
        return inside
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| canonical_ip(IpAddr::V6(ip)).is_loopback());
    } else {
        match host.split_once(':') {
            Some((name, port)) if !port.contains(':') => {
                if !port_suffix_ok(&format!(":{port}")) {
                    return false;
                }
                name
            }
            Some(_) => return false,
            None => host,
        }
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn port_suffix_ok(s: &str) -> bool {
    match s.strip_prefix(':') {
        None => s.is_empty(),
        Some(digits) => {
            !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// What the gateway knows about the peer of one HTTP request or WebSocket.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Canonical client address.
    pub ip: IpAddr,
    /// A proxy header was present.
    pub forwarded: bool,
    /// The browser `Origin`, if one was sent.
    pub origin: Option<String>,
    /// The `Host` header names loopback.
    pub host_loopback: bool,
}

impl Peer {
    /// Builds the facts from the TCP peer address and the request headers.
    pub fn from_request(peer_ip: IpAddr, headers: &HeaderMap) -> Self {
        Peer {
            ip: canonical_ip(peer_ip),
            forwarded: has_forwarded_headers(headers),
            origin: headers
                .get(http::header::ORIGIN)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            host_loopback: headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .is_some_and(host_is_loopback),
        }
    }

    /// Like [`Peer::from_request`] for a request with this target: an absolute-form (or
    /// authority-form) target's authority is the request's host and must name loopback, whatever
    /// `Host` says.
    pub fn from_head(peer_ip: IpAddr, target: &http::Uri, headers: &HeaderMap) -> Self {
        let mut peer = Peer::from_request(peer_ip, headers);
        if let Some(authority) = target.authority() {
            peer.host_loopback = host_is_loopback(authority.as_str());
        }
        peer
    }

    /// Loopback peer, no proxy headers, no browser origin, loopback `Host`.
    pub fn is_local_direct(&self) -> bool {
        self.ip.is_loopback() && !self.forwarded && self.origin.is_none() && self.host_loopback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn canonical_forms() {
        let a: IpAddr = "::ffff:127.0.0.5".parse().unwrap();
        let b: IpAddr = "127.0.0.5".parse().unwrap();
        assert_eq!(canonical_ip(a), b);
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(canonical_ip(v6), v6);
    }

    #[test]
    fn every_loopback_address_shares_one_budget() {
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.0.9",
            "::1",
            "::ffff:127.0.0.3",
        ] {
            assert_eq!(budget_key(ip.parse().unwrap()), one, "{ip}");
        }
        for ip in ["10.0.0.1", "192.168.1.5", "fe80::1", "::ffff:10.0.0.1"] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(budget_key(parsed), canonical_ip(parsed), "{ip}");
            assert_ne!(budget_key(parsed), one, "{ip}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:18789",
            "localhost",
            "LocalHost:1",
            "[::1]",
            "[::1]:80",
            "127.9.9.9:5",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(host_is_loopback(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:18789",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "localhost.",
            "2130706433",
            "0x7f.1",
            "127.1",
            "[::1",
            "::1",
            "127.0.0.1:",
            "127.0.0.1:abc",
            "192.168.1.5",
            "",
        ] {
            assert!(!host_is_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn the_target_authority_is_the_host_and_single_valued_headers_appear_once() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let h = headers(&[("host", "127.0.0.1:1")]);
        for (target, loopback) in [
            ("/healthz", true),
            ("http://evil.example/healthz", false),
            ("http://127.0.0.1.evil.example/x", false),
            ("http://user@127.0.0.1/x", false),
            ("http://127.0.0.1:1/healthz", true),
            ("http://[::1]:1/healthz", true),
        ] {
            let uri: http::Uri = target.parse().unwrap();
            assert_eq!(
                Peer::from_head(lo, &uri, &h).host_loopback,
                loopback,
                "{target}"
            );
        }
        let mut two = headers(&[("host", "127.0.0.1")]);
        two.append("host", "evil.example".parse().unwrap());
        assert_eq!(repeated_header(&two), Some("host"));
        let mut origins = headers(&[("host", "127.0.0.1"), ("origin", "tauri://localhost")]);
        origins.append("origin", "https://evil.example".parse().unwrap());
        assert_eq!(repeated_header(&origins), Some("origin"));
        let mut cookies = headers(&[("host", "127.0.0.1"), ("accept", "a")]);
        cookies.append("accept", "b".parse().unwrap());
        assert_eq!(repeated_header(&cookies), None);
    }

    #[test]
    fn local_direct_needs_every_condition() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let plain = Peer::from_request(lo, &headers(&[("host", "127.0.0.1:1")]));
        assert!(plain.is_local_direct());
        for h in FORWARDED_HEADERS {
            let p = Peer::from_request(lo, &headers(&[("host", "127.0.0.1:1"), (h, "127.0.0.1")]));
            assert!(!p.is_local_direct(), "{h}");
        }
        let with_origin = Peer::from_request(
            lo,
            &headers(&[("host", "localhost"), ("origin", "tauri://localhost")]),
        );
        assert!(!with_origin.is_local_direct());
        let remote = Peer::from_request(
            "192.0.2.1".parse().unwrap(),
            &headers(&[("host", "127.0.0.1")]),
        );
        assert!(!remote.is_local_direct());
        let odd_host = Peer::from_request(lo, &headers(&[("host", "evil.example")]));
        assert!(!odd_host.is_local_direct());
    }
}
