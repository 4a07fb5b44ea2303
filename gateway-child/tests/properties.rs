//! Property tests (stable-toolchain counterpart of the fuzz targets in `gateway-child/fuzz`):
//! the handshake decision, the message assembler, the mask scanner, the config parser and
//! locator, and the Host rule never panic on arbitrary input, and keep their invariants.

use std::net::IpAddr;

use fastwebsockets::OpCode;
use proptest::prelude::*;
use serde_json::{json, Value};
use tether_gateway::config::locate::{locate, split_path};
use tether_gateway::config::schema::AuthMode;
use tether_gateway::config::settings::{AuthPolicy, SecretSource};
use tether_gateway::config::{depth, load};
use tether_gateway::socket::assembler::Assembler;
use tether_gateway::socket::handshake::{decide, Attempt};
use tether_gateway::socket::locality::{canonical_ip, host_is_loopback, Peer};
use tether_gateway::socket::mask_guard::FrameScanner;
use tether_protocol::{Scope, Secret};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z.:/ -]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "cli",
            "gateway-client",
            "backend",
            "ui",
            "operator",
            "node",
            "operator.admin",
            "operator.read",
            "T",
            "openclaw-control-ui",
            "webchat",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "minProtocol",
                    "maxProtocol",
                    "client",
                    "id",
                    "mode",
                    "version",
                    "platform",
                    "role",
                    "scopes",
                    "auth",
                    "token",
                    "device",
                    "caps",
                    "x",
                ])
                .prop_map(str::to_owned),
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Connect params that are mostly well-formed, with arbitrary scopes and ids.
fn connect_params() -> impl Strategy<Value = Value> {
    (
        0u32..6,
        0u32..6,
        prop::sample::select(vec![
            "cli",
            "gateway-client",
            "openclaw-linux",
            "webchat-ui",
            "bogus",
        ]),
        prop::sample::select(vec!["cli", "backend", "ui", "webchat", "bogus"]),
        prop::collection::vec("[a-z.]{0,20}", 0..5),
        prop::option::of(prop::sample::select(vec!["T", "wrong", ""])),
        json_value(),
    )
        .prop_map(|(min, max, id, mode, scopes, token, junk)| {
            let mut p = json!({
                "minProtocol": min, "maxProtocol": max,
                "client": {"id": id, "version": "1", "platform": "linux", "mode": mode},
                "scopes": scopes,
                "extra": junk,
            });
            if let Some(t) = token {
                p["auth"] = json!({"token": t});
            }
            p
        })
}

fn policy() -> AuthPolicy {
    AuthPolicy {
        mode: AuthMode::Token,
        secret: Some(Secret::new("T")),
        source: SecretSource::Config,
    }
}

fn peer(forwarded: bool) -> Peer {
    let mut h = http::HeaderMap::new();
    h.insert("host", http::HeaderValue::from_static("127.0.0.1:1"));
    if forwarded {
        h.insert(
            "x-forwarded-for",
            http::HeaderValue::from_static("127.0.0.1"),
        );
    }
    Peer::from_request(IpAddr::from([127, 0, 0, 1]), &h)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn handshake_never_panics_on_arbitrary_params(params in json_value()) {
        let _ = decide(&Attempt {
            params: &params,
            auth: &policy(),
            peer: &peer(false),
            nonce: "n",
            now_ms: 1,
            locked_out_ms: None,
            device_trusted: false,
        });
    }

    #[test]
    fn granted_scopes_are_known_requested_and_server_decided(
        params in connect_params(),
        forwarded in any::<bool>(),
    ) {
        let p = peer(forwarded);
        if let Ok(g) = decide(&Attempt {
            params: &params,
            auth: &policy(),
            peer: &p,
            nonce: "n",
            now_ms: 1,
            locked_out_ms: None,
            device_trusted: false,
        }) {
            let requested: Vec<String> = params["scopes"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            for s in &g.scopes {
                prop_assert!(s.is_known(), "unknown scope granted: {s}");
                prop_assert!(requested.contains(&s.as_str().to_owned()));
            }
            // Without a device, only local cli/cli and gateway-client/backend keep scopes.
            let trusted = !forwarded
                && matches!(
                    (params["client"]["id"].as_str(), params["client"]["mode"].as_str()),
                    (Some("cli"), Some("cli")) | (Some("gateway-client"), Some("backend"))
                );
            if !trusted {
                prop_assert!(g.scopes.is_empty(), "{params} got {:?}", g.scopes);
            }
            prop_assert!(g.protocol == 3 || g.protocol == 4);
            prop_assert_eq!(params["auth"]["token"].as_str(), Some("T"));
            let _ = Scope::Admin;
        }
    }

    #[test]
    fn the_assembler_never_exceeds_its_cap(
        frames in prop::collection::vec(
            (0u8..3, any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
            0..40,
        ),
        cap in 1usize..2000,
    ) {
        let mut a = Assembler::new(cap);
        for (op, fin, payload) in frames {
            let opcode = match op {
                0 => OpCode::Continuation,
                1 => OpCode::Text,
                _ => OpCode::Binary,
            };
            if let Ok(Some(text)) = a.push(opcode, fin, &payload) {
                prop_assert!(text.len() <= cap);
            }
        }
    }

    #[test]
    fn the_mask_scanner_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..64) {
        let mut s = FrameScanner::default();
        for c in bytes.chunks(chunk) {
            if s.scan(c).is_err() {
                break;
            }
        }
    }

    #[test]
    fn config_parsing_and_locating_never_panic(text in "[ -~\n]{0,300}", path in "[a-z.0-9]{0,20}") {
        let _ = load::parse(std::path::Path::new("/c.json"), text.clone());
        let _ = locate(&text, &split_path(&path));
    }

    #[test]
    fn config_values_round_trip_to_a_located_key(port in any::<u16>(), pad in 0usize..5) {
        let text = format!("{}{{\n{}gateway: {{ port: {port} }} }}", "\n".repeat(pad), " ".repeat(pad));
        let l = load::parse(std::path::Path::new("/c.json"), text.clone()).unwrap();
        prop_assert_eq!(l.config.gateway.port, Some(port));
        let at = locate(&text, &split_path("gateway.port")).unwrap();
        prop_assert_eq!(at.line, pad + 2);
    }

    #[test]
    fn host_rule_never_panics_and_only_accepts_loopback(host in "[ -~]{0,40}") {
        if host_is_loopback(&host) {
            let name = host.trim().trim_start_matches('[');
            let name = name.split(']').next().unwrap_or("");
            let name = name.rsplit_once(':').map_or(name, |(n, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) { n } else { name }
            });
            let ok = name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().map(|ip| canonical_ip(ip).is_loopback()).unwrap_or(false)
                || host.trim().starts_with('[');
            prop_assert!(ok, "{host}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any nesting depth and shape, with brackets hidden in strings and comments and padding
    /// of any size: the parser answers (never a stack overflow), accepts exactly up to
    /// `depth::MAX_DEPTH` levels, and locates a refusal.
    #[test]
    fn config_nesting_is_bounded_at_any_depth_and_size(
        depth in prop_oneof![1usize..80, 80usize..6000],
        shapes in prop::collection::vec(any::<bool>(), 1..8),
        noise in 0usize..3,
        pad in 0usize..2048,
    ) {
        // Level 1 is the top-level object; each further level is an array or an object.
        let mut open = String::from("{ ");
        let mut close = String::new();
        let decoy = match noise {
            0 => String::new(),
            1 => format!("d: \"{}\", ", "[{".repeat(pad / 2 + 1)),
            _ => format!("/* {} */ ", "[".repeat(pad + 1)),
        };
        open.push_str(&decoy);
        open.push_str(&format!("pad: '{}', v: ", "p".repeat(pad)));
        for level in 1..depth {
            if shapes[level % shapes.len()] {
                open.push('[');
                close.insert(0, ']');
            } else {
                open.push_str("{k: ");
                close.insert(0, '}');
            }
        }
        let text = format!("{open}1{close} }}");
        let parsed = load::parse(std::path::Path::new("/c.json"), text.clone());
        if depth <= depth::MAX_DEPTH {
            let l = parsed.map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(depth::value_depth(&l.doc), depth);
        } else {
            let e = parsed.err().ok_or_else(|| TestCaseError::fail("accepted"))?;
            prop_assert!(e.reason.contains("nested more than"), "{}", e.reason);
            prop_assert_eq!(e.line, Some(1));
            prop_assert!(e.column.is_some());
        }
        let _ = locate(&text, &split_path("v.0.k"));
    }
}

/// Text over the load cap is refused before parsing, whatever it holds; at the cap it parses.
#[test]
fn config_text_is_capped_at_the_file_limit() {
    let cap = usize::try_from(load::MAX_FILE_BYTES).unwrap();
    let body = |n: usize| format!("{{a:'{}'}}", "x".repeat(n - 6));
    let at_cap = body(cap);
    assert_eq!(at_cap.len(), cap);
    assert!(load::parse(std::path::Path::new("/c.json"), at_cap).is_ok());
    let e = load::parse(std::path::Path::new("/c.json"), body(cap + 1)).unwrap_err();
    assert!(e.reason.contains("larger than"), "{e}");
}
