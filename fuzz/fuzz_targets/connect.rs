//! `connect` handling on arbitrary input: parsing the params, negotiating the version and
//! verifying a device proof never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::connect::ConnectParams;
use tether_protocol::device::{self, SignedClaim, VerifyContext};

fuzz_target!(|data: &[u8]| {
    let Ok(params) = serde_json::from_slice::<ConnectParams>(data) else {
        return;
    };
    let _ = params.negotiate(3..=4);
    let _ = params.has_cap("tool-events");
    let role = params.role();
    let token = params.auth.as_ref().map(|a| a.signature_token()).unwrap_or("");
    if let Some(proof) = &params.device {
        let ctx = VerifyContext {
            now_ms: proof.signed_at,
            expected_nonce: proof.nonce.trim(),
            claim: SignedClaim {
                client_id: params.client.id.as_str(),
                client_mode: params.client.mode.as_str(),
                role: role.as_str(),
                scopes: params.scopes(),
                signed_at_ms: proof.signed_at,
                token,
                nonce: &proof.nonce,
                platform: &params.client.platform,
                device_family: params.client.device_family.as_deref().unwrap_or(""),
            },
        };
        let _ = device::verify(proof, &ctx);
    }
    let back = serde_json::to_string(&params).expect("parsed params serialize");
    let _ = serde_json::from_str::<ConnectParams>(&back).expect("own output parses");
});
