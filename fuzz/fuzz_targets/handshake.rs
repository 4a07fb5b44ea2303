//! A `connect` frame end to end: frame parsing, then the gateway's handshake decision; any
//! grant holds only scopes the protocol knows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_gateway::config::schema::AuthMode;
use tether_gateway::socket::handshake::{decide, Attempt};
use tether_gateway::socket::locality::Peer;
use tether_gateway::config::settings::{AuthPolicy, SecretSource};
use tether_protocol::{Frame, Secret};

fuzz_target!(|data: &[u8]| {
    let Ok(Frame::Req(req)) = Frame::parse_slice(data) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("host", http::HeaderValue::from_static("127.0.0.1:1"));
    let peer = Peer::from_request("127.0.0.1".parse().expect("ip"), &headers);
    let auth = AuthPolicy {
        mode: AuthMode::Token,
        secret: Some(Secret::new("T")),
        source: SecretSource::Config,
    };
    let params = req.params_or_empty();
    if let Ok(grant) = decide(&Attempt {
        params: &params,
        auth: &auth,
        peer: &peer,
        nonce: "n",
        now_ms: 1_760_000_000_000,
        locked_out_ms: None,
            device_trusted: false,
    }) {
        assert!(grant.scopes.iter().all(|s| s.is_known()));
    }
});
