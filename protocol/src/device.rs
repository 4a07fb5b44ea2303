//! Ed25519 device identity: ids, the signed payloads (v2 and v3), signing and verifying.
//!
//! A device is an Ed25519 key. Its id is the lower-case hex SHA-256 of the raw 32-byte public
//! key. To connect, a client signs a `|`-joined payload that binds the key to this socket's
//! challenge nonce, its client id/mode, role, scopes, token and (v3) platform/device family.
//! [`verify`] applies upstream's checks in upstream's order and reports the same `details.code`
//! values. Everything here is pure: the caller supplies the seed (randomness) and `now`.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::connect::DeviceProof;
use crate::consts::DEVICE_SIGNATURE_SKEW_MS;
use crate::error::DetailCode;
use crate::scope::Scope;
use crate::Map;

/// SPKI DER prefix of an Ed25519 public key; the raw key follows it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A device's signing key. `Debug` prints only the device id; the key is zeroed on drop.
#[derive(Clone)]
pub struct DeviceKey {
    signing: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("device_id", &self.device_id())
            .finish_non_exhaustive()
    }
}

/// The fields a device signature covers, besides the device id.
#[derive(Debug, Clone, Copy)]
pub struct SignedClaim<'a> {
    /// `client.id`.
    pub client_id: &'a str,
    /// `client.mode`.
    pub client_mode: &'a str,
    /// The effective role.
    pub role: &'a str,
    /// `connect.params.scopes`, in the order sent.
    pub scopes: &'a [Scope],
    /// `device.signedAt`.
    pub signed_at_ms: u64,
    /// First non-empty of `auth.token`, `auth.deviceToken`, `auth.bootstrapToken`, else "".
    pub token: &'a str,
    /// The challenge nonce.
    pub nonce: &'a str,
    /// `client.platform` (v3; normalized when the payload is built).
    pub platform: &'a str,
    /// `client.deviceFamily` or "" (v3; normalized when the payload is built).
    pub device_family: &'a str,
}

/// Which payload form a signature verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    /// `v2|…|nonce`.
    V2,
    /// `v3|…|nonce|platform|deviceFamily`.
    V3,
}

/// Why a device proof was rejected: the `details.code`, upstream's `reason` and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeviceAuthFailure {
    /// `details.code`.
    pub code: DetailCode,
    /// `details.reason`, e.g. `device-signature-stale`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: &'static str,
}

impl DeviceAuthFailure {
    const fn new(code: DetailCode, reason: &'static str, message: &'static str) -> Self {
        DeviceAuthFailure {
            code,
            reason,
            message,
        }
    }
}

impl DeviceKey {
    /// The key for a 32-byte seed (the caller draws it from the OS RNG, or loads it).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        DeviceKey {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The seed, for persisting the key.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The raw 32-byte public key.
    pub fn public_key_raw(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key as sent on the wire: base64url without padding.
    pub fn public_key(&self) -> String {
        b64::encode(&self.public_key_raw())
    }

    /// The device id: hex SHA-256 of the raw public key.
    pub fn device_id(&self) -> String {
        device_id_for(&self.public_key_raw())
    }

    /// Signs a payload; returns the base64url signature.
    pub fn sign(&self, payload: &str) -> String {
        b64::encode(&self.signing.sign(payload.as_bytes()).to_bytes())
    }

    /// A complete `connect.device` object signing the v3 payload of `claim`.
    pub fn prove(&self, claim: &SignedClaim<'_>) -> DeviceProof {
        let id = self.device_id();
        let signature = self.sign(&payload_v3(&id, claim));
        DeviceProof {
            id,
            public_key: self.public_key(),
            signature,
            signed_at: claim.signed_at_ms,
            nonce: claim.nonce.to_owned(),
            extra: Map::new(),
        }
    }
}

/// Hex SHA-256 of a raw public key.
pub fn device_id_for(raw_public_key: &[u8]) -> String {
    let digest = Sha256::digest(raw_public_key);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    s
}

/// Trim, then lower-case ASCII letters only (upstream's metadata normalization).
pub fn normalize_metadata(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

fn scopes_csv(scopes: &[Scope]) -> String {
    let parts: Vec<&str> = scopes.iter().map(Scope::as_str).collect();
    parts.join(",")
}

/// `v2|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce`.
pub fn payload_v2(device_id: &str, c: &SignedClaim<'_>) -> String {
    format!(
        "v2|{device_id}|{}|{}|{}|{}|{}|{}|{}",
        c.client_id,
        c.client_mode,
        c.role,
        scopes_csv(c.scopes),
        c.signed_at_ms,
        c.token,
        c.nonce
    )
}

/// `v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|platform|deviceFamily`.
pub fn payload_v3(device_id: &str, c: &SignedClaim<'_>) -> String {
    format!(
        "v3|{device_id}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        c.client_id,
        c.client_mode,
        c.role,
        scopes_csv(c.scopes),
        c.signed_at_ms,
        c.token,
        c.nonce,
        normalize_metadata(c.platform),
        normalize_metadata(c.device_family)
    )
}

/// Decodes a public key sent as base64url raw bytes or as an SPKI PEM.
pub fn parse_public_key(s: &str) -> Option<[u8; 32]> {
    let bytes = if s.contains("BEGIN") {
        let body: String = s
            .lines()
            .filter(|l| !l.contains("-----"))
            .flat_map(|l| l.trim().chars())
            .collect();
        let der = b64::decode(&body)?;
        der.strip_prefix(&ED25519_SPKI_PREFIX[..])?.to_vec()
    } else {
        b64::decode(s)?
    };
    bytes.try_into().ok()
}

/// What the server knows when it checks a device proof.
#[derive(Debug, Clone, Copy)]
pub struct VerifyContext<'a> {
    /// Server clock, epoch ms.
    pub now_ms: u64,
    /// The nonce this socket's challenge carried.
    pub expected_nonce: &'a str,
    /// The claim as the server reconstructs it from the connect params (its `signed_at_ms` and
    /// `nonce` are ignored: those come from the proof).
    pub claim: SignedClaim<'a>,
}

/// Checks a device proof in upstream's order: id matches key, signature fresh (±120 s), nonce
/// present, nonce matches, signature verifies (v3, then v2), key valid.
pub fn verify(
    proof: &DeviceProof,
    ctx: &VerifyContext<'_>,
) -> Result<PayloadVersion, DeviceAuthFailure> {
    use DetailCode as C;
    let raw_key = parse_public_key(&proof.public_key);
    if raw_key.map(|k| device_id_for(&k)).as_deref() != Some(proof.id.as_str()) {
        return Err(DeviceAuthFailure::new(
            C::DeviceAuthDeviceIdMismatch,
            "device-id-mismatch",
            "device identity mismatch",
        ));
    }
    if ctx.now_ms.abs_diff(proof.signed_at) > DEVICE_SIGNATURE_SKEW_MS {
        return Err(DeviceAuthFailure::new(
            C::DeviceAuthSignatureExpired,
            "device-signature-stale",
            "device signature expired",
        ));
    }
    let nonce = proof.nonce.trim();
    if nonce.is_empty() {
        return Err(DeviceAuthFailure::new(
            C::DeviceAuthNonceRequired,
            "device-nonce-missing",
            "device nonce required",
        ));
    }
    if nonce != ctx.expected_nonce {
        return Err(DeviceAuthFailure::new(
            C::DeviceAuthNonceMismatch,
            "device-nonce-mismatch",
            "device nonce mismatch",
        ));
    }
    let invalid_signature = DeviceAuthFailure::new(
        C::DeviceAuthSignatureInvalid,
        "device-signature",
        "device signature invalid",
    );
    let signature = b64::decode(&proof.signature)
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or_else(|| invalid_signature.clone())?;
    let Some(key) = raw_key.and_then(|k| VerifyingKey::from_bytes(&k).ok()) else {
        return Err(DeviceAuthFailure::new(
            C::DeviceAuthPublicKeyInvalid,
            "device-public-key",
            "device public key invalid",
        ));
    };
    let claim = SignedClaim {
        signed_at_ms: proof.signed_at,
        nonce,
        ..ctx.claim
    };
    if key
        .verify(payload_v3(&proof.id, &claim).as_bytes(), &signature)
        .is_ok()
    {
        return Ok(PayloadVersion::V3);
    }
    if key
        .verify(payload_v2(&proof.id, &claim).as_bytes(), &signature)
        .is_ok()
    {
        return Ok(PayloadVersion::V2);
    }
    Err(invalid_signature)
}
