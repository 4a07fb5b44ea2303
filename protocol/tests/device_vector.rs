//! The published Ed25519 device-auth vector: ids, payloads and signatures match byte for byte,
//! and `verify` accepts them and rejects every tampered variant with upstream's code.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use tether_protocol::connect::DeviceProof;
use tether_protocol::device::{self, DeviceKey, PayloadVersion, SignedClaim, VerifyContext};
use tether_protocol::{DetailCode, Map, Scope};

struct Vector {
    v: Value,
    scopes: Vec<Scope>,
}

impl Vector {
    fn load() -> Vector {
        let v: Value = serde_json::from_str(include_str!("fixtures/device-auth.json")).unwrap();
        let scopes = v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Scope::from(s.as_str().unwrap()))
            .collect();
        Vector { v, scopes }
    }
    fn s(&self, k: &str) -> &str {
        self.v[k].as_str().unwrap()
    }
    fn key(&self) -> DeviceKey {
        let seed: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&self.s("seed_hex")[i * 2..i * 2 + 2], 16).unwrap())
            .collect();
        DeviceKey::from_seed(&seed.try_into().unwrap())
    }
    fn claim(&self) -> SignedClaim<'_> {
        SignedClaim {
            client_id: self.s("clientId"),
            client_mode: self.s("clientMode"),
            role: self.s("role"),
            scopes: &self.scopes,
            signed_at_ms: self.v["signedAt"].as_u64().unwrap(),
            token: self.s("token"),
            nonce: self.s("nonce"),
            platform: self.s("platform"),
            device_family: self.s("deviceFamily"),
        }
    }
    fn proof(&self, signature: &str) -> DeviceProof {
        DeviceProof {
            id: self.s("deviceId").into(),
            public_key: self.s("publicKey").into(),
            signature: signature.into(),
            signed_at: self.v["signedAt"].as_u64().unwrap(),
            nonce: self.s("nonce").into(),
            extra: Map::new(),
        }
    }
    fn ctx(&self) -> VerifyContext<'_> {
        VerifyContext {
            now_ms: self.v["signedAt"].as_u64().unwrap() + 5_000,
            expected_nonce: self.s("nonce"),
            claim: self.claim(),
        }
    }
}

#[test]
fn key_id_payloads_and_signatures_match_the_vector() {
    let t = Vector::load();
    let key = t.key();
    assert_eq!(key.public_key(), t.s("publicKey"));
    assert_eq!(key.device_id(), t.s("deviceId"));
    assert_eq!(
        device::payload_v3(t.s("deviceId"), &t.claim()),
        t.s("payload_v3")
    );
    assert_eq!(
        device::payload_v2(t.s("deviceId"), &t.claim()),
        t.s("payload_v2")
    );
    assert_eq!(key.sign(t.s("payload_v3")), t.s("signature_v3"));
    assert_eq!(key.sign(t.s("payload_v2")), t.s("signature_v2"));
    let proof = key.prove(&t.claim());
    assert_eq!(proof.signature, t.s("signature_v3"));
    assert_eq!(proof.id, t.s("deviceId"));
}

#[test]
fn spki_pem_public_key_is_accepted() {
    let t = Vector::load();
    let der_hex = t.s("spki_der_hex");
    let der: Vec<u8> = (0..der_hex.len() / 2)
        .map(|i| u8::from_str_radix(&der_hex[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64_std(&der)
    );
    assert_eq!(
        device::parse_public_key(&pem).unwrap(),
        t.key().public_key_raw()
    );
    let mut proof = t.proof(t.s("signature_v3"));
    proof.public_key = pem;
    assert_eq!(device::verify(&proof, &t.ctx()), Ok(PayloadVersion::V3));
}

fn base64_std(bytes: &[u8]) -> String {
    // Standard alphabet with padding, to exercise the lenient decoder.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn verify_accepts_v3_and_v2() {
    let t = Vector::load();
    assert_eq!(
        device::verify(&t.proof(t.s("signature_v3")), &t.ctx()),
        Ok(PayloadVersion::V3)
    );
    assert_eq!(
        device::verify(&t.proof(t.s("signature_v2")), &t.ctx()),
        Ok(PayloadVersion::V2)
    );
}

#[test]
fn verify_rejects_in_upstream_order_with_upstream_codes() {
    let t = Vector::load();
    let good = t.proof(t.s("signature_v3"));
    let code =
        |proof: &DeviceProof, ctx: &VerifyContext<'_>| device::verify(proof, ctx).unwrap_err().code;

    let mut p = good.clone();
    p.id = "0".repeat(64);
    assert_eq!(code(&p, &t.ctx()), DetailCode::DeviceAuthDeviceIdMismatch);

    let mut p = good.clone();
    p.public_key = "!!!".into();
    assert_eq!(code(&p, &t.ctx()), DetailCode::DeviceAuthDeviceIdMismatch);

    for skew in [120_001i64, -120_001] {
        let mut ctx = t.ctx();
        ctx.now_ms = (good.signed_at as i64 + skew) as u64;
        assert_eq!(code(&good, &ctx), DetailCode::DeviceAuthSignatureExpired);
    }
    let mut ctx = t.ctx();
    ctx.now_ms = good.signed_at + 120_000;
    assert!(
        device::verify(&good, &ctx).is_ok(),
        "the window is inclusive"
    );

    let mut p = good.clone();
    p.nonce = "  ".into();
    assert_eq!(code(&p, &t.ctx()), DetailCode::DeviceAuthNonceRequired);

    let mut ctx = t.ctx();
    ctx.expected_nonce = "another-socket-nonce";
    assert_eq!(code(&good, &ctx), DetailCode::DeviceAuthNonceMismatch);

    // Tampered claim fields all break the signature.
    let node = [Scope::Admin];
    for tweak in 0..5 {
        let mut ctx = t.ctx();
        match tweak {
            0 => ctx.claim.role = "node",
            1 => ctx.claim.scopes = &node,
            2 => ctx.claim.token = "other-token",
            3 => ctx.claim.client_id = "cli",
            _ => ctx.claim.platform = "darwin",
        }
        assert_eq!(
            code(&good, &ctx),
            DetailCode::DeviceAuthSignatureInvalid,
            "tweak {tweak}"
        );
    }

    let mut p = good.clone();
    let mut sig = tether_protocol::b64::decode(&p.signature).unwrap();
    sig[10] ^= 1;
    p.signature = tether_protocol::b64::encode(&sig);
    assert_eq!(code(&p, &t.ctx()), DetailCode::DeviceAuthSignatureInvalid);

    let mut p = good.clone();
    p.signature = tether_protocol::b64::encode(&[1u8; 12]);
    assert_eq!(code(&p, &t.ctx()), DetailCode::DeviceAuthSignatureInvalid);
}

#[test]
fn platform_normalization_only_lowercases_ascii_and_trims() {
    assert_eq!(device::normalize_metadata("  LinUX "), "linux");
    assert_eq!(device::normalize_metadata("ÄPPLE"), "Äpple");
    let t = Vector::load();
    let mut claim = t.claim();
    claim.platform = " LINUX ";
    assert_eq!(
        device::payload_v3(t.s("deviceId"), &claim),
        t.s("payload_v3")
    );
}
