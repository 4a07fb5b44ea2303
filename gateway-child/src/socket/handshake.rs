//! The `connect` decision: given the params, the auth policy, the peer and the clock, accept with
//! a grant (protocol, role, scopes) or refuse with upstream's error, details and close code.
//!
//! Order, as upstream: schema (known client id and mode) → role → protocol range (3 or 4, the
//! highest common wins) → Control UI needs a device → auth-failure lockout → shared secret
//! (constant-time) → device proof (`tether_protocol::device::verify`, upstream's order and codes)
//! → scopes. One exception to the lockout: a device that authenticated before
//! ([`Attempt::device_trusted`]) may still present the secret, its proof checked **first** (a
//! failed proof gets the same rate-limit refusal, so nothing about the secret leaks). Scopes are granted by the server: a verified device with valid auth keeps the scopes
//! it asked for; a device-less client keeps them only when it is local-direct and is `cli/cli` or
//! `gateway-client/backend` (as observed on upstream 2026.9.6); every other device-less client gets
//! none (only `health` works). Unknown scope strings are dropped. Tether does not implement
//! pairing or device tokens. Pure: no clock, no IO, no logging.

use serde_json::{json, Value};
use tether_protocol::close;
use tether_protocol::connect::{ClientId, ClientInfo, ClientMode, ConnectParams};
use tether_protocol::consts::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use tether_protocol::device::{self, SignedClaim, VerifyContext};
use tether_protocol::{DetailCode, ErrorCode, ErrorShape, Role, Scope};

use crate::config::schema::AuthMode;
use crate::config::settings::AuthPolicy;
use crate::socket::locality::Peer;

/// Everything the decision needs.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// `connect.params` as sent.
    pub params: &'a Value,
    /// The current auth policy.
    pub auth: &'a AuthPolicy,
    /// The peer.
    pub peer: &'a Peer,
    /// This socket's challenge nonce.
    pub nonce: &'a str,
    /// Server clock, epoch ms.
    pub now_ms: u64,
    /// `Some(retry_after_ms)` when the peer's address is locked out.
    pub locked_out_ms: Option<u64>,
    /// The device id in the params authenticated before (the owner's device): it may pass a
    /// lockout with a valid proof and the right secret.
    pub device_trusted: bool,
}

/// An accepted connection.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Negotiated protocol version.
    pub protocol: u32,
    /// Role.
    pub role: Role,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// Advertised capabilities.
    pub caps: Vec<String>,
    /// The client's self-description.
    pub client: ClientInfo,
    /// The verified device id.
    pub device_id: Option<String>,
    /// A shared secret was checked (the caller resets the failure count).
    pub used_secret: bool,
}

/// A refused connection.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The error response (`None`: close without a response).
    pub error: Option<ErrorShape>,
    /// Close code.
    pub close_code: u16,
    /// Close reason.
    pub close_reason: String,
    /// A wrong secret was presented: count it against the peer's address.
    pub auth_failure: bool,
    /// A short cause for the log.
    pub cause: &'static str,
}

impl Refusal {
    fn new(error: ErrorShape, close_code: u16, cause: &'static str) -> Self {
        let close_reason = close::truncate_reason(&error.message).to_owned();
        Refusal {
            error: Some(error),
            close_code,
            close_reason,
            auth_failure: false,
            cause,
        }
    }

    fn counted(mut self) -> Self {
        self.auth_failure = true;
        self
    }
}

fn auth_error(
    code: ErrorCode,
    message: &str,
    detail: DetailCode,
    auth_reason: &str,
    next_step: &str,
) -> ErrorShape {
    ErrorShape::new(code, message).with_details(json!({
        "code": detail,
        "authReason": auth_reason,
        // Tether issues no device tokens, so retrying with one can never help.
        "canRetryWithDeviceToken": false,
        "recommendedNextStep": next_step,
    }))
}

fn invalid_params(path: &str) -> Refusal {
    Refusal::new(
        ErrorShape::invalid_request(format!(
            "invalid connect params: at {path}: must be equal to one of the allowed values"
        )),
        close::POLICY,
        "invalid-connect-params",
    )
}

/// Decides a `connect`.
pub fn decide(a: &Attempt<'_>) -> Result<Grant, Refusal> {
    let params: ConnectParams = serde_json::from_value(a.params.clone()).map_err(|e| {
        Refusal::new(
            ErrorShape::invalid_request(format!("invalid connect params: {e}")),
            close::POLICY,
            "invalid-connect-params",
        )
    })?;
    if !params.client.id.is_known() {
        return Err(invalid_params("/client/id"));
    }
    if !params.client.mode.is_known() {
        return Err(invalid_params("/client/mode"));
    }
    match params.role() {
        Role::Operator => {}
        Role::Node => {
            return Err(Refusal::new(
                ErrorShape::invalid_request("unauthorized role: node"),
                close::POLICY,
                "node-role",
            ))
        }
        Role::Other(_) => {
            return Err(Refusal::new(
                ErrorShape::invalid_request("invalid role"),
                close::POLICY,
                "invalid-role",
            ))
        }
    }
    let Some(protocol) = params.negotiate(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION) else {
        let mut r = Refusal::new(
            ErrorShape::invalid_request("protocol mismatch").with_details(json!({
                "code": DetailCode::ProtocolMismatch,
                "expectedProtocol": PROTOCOL_VERSION,
                "minProtocol": MIN_PROTOCOL_VERSION,
                "maxProtocol": PROTOCOL_VERSION,
            })),
            close::PROTOCOL_ERROR,
            "protocol-mismatch",
        );
        close::REASON_PROTOCOL_MISMATCH.clone_into(&mut r.close_reason);
        return Err(r);
    };
    if matches!(params.client.id, ClientId::ControlUi | ClientId::Tui) && params.device.is_none() {
        return Err(Refusal::new(
            ErrorShape::invalid_request(
                "control ui requires device identity (use HTTPS or localhost secure context)",
            )
            .with_details(json!({"code": DetailCode::ControlUiDeviceIdentityRequired})),
            close::POLICY,
            "control-ui-device-required",
        ));
    }

    // During a lockout only a trusted device gets further, and only with a valid proof.
    let passes_lockout = match a.locked_out_ms {
        Some(retry_after) if a.device_trusted && params.device.is_some() => {
            verify_device(a, &params).map_err(|_| rate_limited(retry_after))?;
            true
        }
        _ => false,
    };
    let used_secret = check_secret(a, &params, passes_lockout)?;
    let device_id = verify_device(a, &params)?;

    let requested = known_scopes(params.scopes());
    let trusted_local = a.peer.is_local_direct()
        && matches!(
            (&params.client.id, &params.client.mode),
            (ClientId::Cli, ClientMode::Cli) | (ClientId::GatewayClient, ClientMode::Backend)
        );
    let scopes = if device_id.is_some() || trusted_local {
        requested
    } else {
        Vec::new()
    };

    Ok(Grant {
        protocol,
        role: params.role(),
        scopes,
        caps: params.caps.clone().unwrap_or_default(),
        client: params.client,
        device_id,
        used_secret,
    })
}

/// Verifies the device proof, if one was sent: `Ok(Some(device id))` when it holds.
fn verify_device(a: &Attempt<'_>, params: &ConnectParams) -> Result<Option<String>, Refusal> {
    let Some(proof) = &params.device else {
        return Ok(None);
    };
    let auth = params.auth.clone().unwrap_or_default();
    let role = params.role();
    let ctx = VerifyContext {
        now_ms: a.now_ms,
        expected_nonce: a.nonce,
        claim: SignedClaim {
            client_id: params.client.id.as_str(),
            client_mode: params.client.mode.as_str(),
            role: role.as_str(),
            scopes: params.scopes(),
            signed_at_ms: proof.signed_at,
            token: auth.signature_token(),
            nonce: &proof.nonce,
            platform: &params.client.platform,
            device_family: params.client.device_family.as_deref().unwrap_or(""),
        },
    };
    device::verify(proof, &ctx).map_err(|f| {
        Refusal::new(
            ErrorShape::invalid_request(f.message)
                .with_details(json!({"code": f.code, "reason": f.reason})),
            close::POLICY,
            "device-auth",
        )
    })?;
    Ok(Some(proof.id.clone()))
}

/// The refusal while the peer's address is locked out.
fn rate_limited(retry_after: u64) -> Refusal {
    let mut e = auth_error(
        ErrorCode::InvalidRequest,
        "unauthorized: too many failed authentication attempts (retry later)",
        DetailCode::AuthRateLimited,
        "rate_limited",
        "wait_then_retry",
    );
    e.retryable = Some(true);
    e.retry_after_ms = Some(retry_after);
    Refusal::new(e, close::POLICY, "rate-limited")
}

/// Checks the shared secret. `Ok(true)` when one was verified, `Ok(false)` in mode `none`.
/// `passes_lockout`: a trusted device with a verified proof, checked despite a lockout.
fn check_secret(
    a: &Attempt<'_>,
    params: &ConnectParams,
    passes_lockout: bool,
) -> Result<bool, Refusal> {
    if a.auth.mode == AuthMode::None {
        return Ok(false);
    }
    if let Some(retry_after) = a.locked_out_ms.filter(|_| !passes_lockout) {
        return Err(rate_limited(retry_after));
    }
    let auth = params.auth.clone().unwrap_or_default();
    let expected = a.auth.secret.as_ref();
    let (sent, missing, mismatch) = match a.auth.mode {
        AuthMode::Token => (
            auth.token.as_ref().filter(|t| !t.is_empty()),
            (
                "unauthorized: gateway token missing (provide this gateway's gateway.auth.token)",
                DetailCode::AuthTokenMissing,
                "token_missing",
            ),
            (
                "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)",
                DetailCode::AuthTokenMismatch,
                "token_mismatch",
            ),
        ),
        AuthMode::Password | AuthMode::None => (
            auth.password.as_ref().filter(|p| !p.is_empty()),
            (
                "unauthorized: gateway password missing (provide this gateway's gateway.auth.password)",
                DetailCode::AuthPasswordMissing,
                "password_missing",
            ),
            (
                "unauthorized: gateway password mismatch (provide this gateway's gateway.auth.password)",
                DetailCode::AuthPasswordMismatch,
                "password_mismatch",
            ),
        ),
    };
    match sent {
        Some(sent) => {
            let ok = expected.is_some_and(|exp| exp.ct_eq(sent.expose()));
            if ok {
                Ok(true)
            } else {
                Err(Refusal::new(
                    auth_error(
                        ErrorCode::InvalidRequest,
                        mismatch.0,
                        mismatch.1,
                        mismatch.2,
                        "update_auth_credentials",
                    ),
                    close::POLICY,
                    "auth-mismatch",
                )
                .counted())
            }
        }
        None if auth.device_token.as_ref().is_some_and(|t| !t.is_empty()) => Err(Refusal::new(
            auth_error(
                ErrorCode::InvalidRequest,
                "unauthorized: device token mismatch (rotate/reissue device token)",
                DetailCode::AuthDeviceTokenMismatch,
                "device_token_mismatch",
                "update_auth_credentials",
            ),
            close::POLICY,
            "device-token-mismatch",
        )
        .counted()),
        None if params.device.is_none() => Err(Refusal::new(
            ErrorShape::new(ErrorCode::NotPaired, "device identity required")
                .with_details(json!({"code": DetailCode::DeviceIdentityRequired})),
            close::POLICY,
            "device-identity-required",
        )),
        None => Err(Refusal::new(
            auth_error(
                ErrorCode::InvalidRequest,
                missing.0,
                missing.1,
                missing.2,
                "update_auth_configuration",
            ),
            close::POLICY,
            "auth-missing",
        )),
    }
}

/// The known scopes of a request, in order, without duplicates.
fn known_scopes(requested: &[Scope]) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    for s in requested {
        if s.is_known() && !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings::SecretSource;
    use tether_protocol::device::DeviceKey;
    use tether_protocol::Secret;

    const NOW: u64 = 1_760_000_000_000;
    const NONCE: &str = "6f1c1f5e-2b8a-4a51-9a0e-3c1d2e4f5a6b";

    fn token_policy() -> AuthPolicy {
        AuthPolicy {
            mode: AuthMode::Token,
            secret: Some(Secret::new("T")),
            source: SecretSource::Config,
        }
    }

    fn local() -> Peer {
        let mut h = http::HeaderMap::new();
        h.insert("host", "127.0.0.1:18789".parse().unwrap());
        Peer::from_request("127.0.0.1".parse().unwrap(), &h)
    }

    fn forwarded() -> Peer {
        let mut h = http::HeaderMap::new();
        h.insert("host", "127.0.0.1:18789".parse().unwrap());
        h.insert("x-forwarded-for", "127.0.0.1".parse().unwrap());
        Peer::from_request("127.0.0.1".parse().unwrap(), &h)
    }

    fn params(id: &str, mode: &str, extra: Value) -> Value {
        let mut p = json!({
            "minProtocol": 3, "maxProtocol": 4,
            "client": {"id": id, "version": "1", "platform": "linux", "mode": mode},
            "role": "operator",
            "scopes": ["operator.admin", "operator.read", "operator.nonsense"],
            "auth": {"token": "T"},
        });
        if let (Value::Object(p), Value::Object(e)) = (&mut p, extra) {
            for (k, v) in e {
                p.insert(k, v);
            }
        }
        p
    }

    fn decide_with(p: &Value, auth: &AuthPolicy, peer: &Peer) -> Result<Grant, Refusal> {
        decide(&Attempt {
            params: p,
            auth,
            peer,
            nonce: NONCE,
            now_ms: NOW,
            locked_out_ms: None,
            device_trusted: false,
        })
    }

    fn detail(r: &Refusal) -> Option<DetailCode> {
        r.error.as_ref().and_then(ErrorShape::detail_code)
    }

    fn signed(key: &DeviceKey, p: &mut Value, nonce: &str, signed_at: u64) {
        let cp: ConnectParams = serde_json::from_value(p.clone()).unwrap();
        let token = cp.auth.clone().unwrap_or_default();
        let proof = key.prove(&SignedClaim {
            client_id: cp.client.id.as_str(),
            client_mode: cp.client.mode.as_str(),
            role: "operator",
            scopes: cp.scopes(),
            signed_at_ms: signed_at,
            token: token.signature_token(),
            nonce,
            platform: "linux",
            device_family: "",
        });
        p["device"] = serde_json::to_value(proof).unwrap();
    }

    #[test]
    fn device_less_scopes_follow_upstream_2026_9_6() {
        let admin_read = vec![Scope::Admin, Scope::Read];
        for (id, mode, peer, expect) in [
            ("cli", "cli", local(), admin_read.clone()),
            ("gateway-client", "backend", local(), admin_read.clone()),
            ("openclaw-linux", "ui", local(), vec![]),
            ("gateway-client", "ui", local(), vec![]),
            ("cli", "cli", forwarded(), vec![]),
            ("gateway-client", "backend", forwarded(), vec![]),
        ] {
            let g = decide_with(&params(id, mode, json!({})), &token_policy(), &peer).unwrap();
            assert_eq!(g.scopes, expect, "{id}/{mode}");
            assert_eq!(g.protocol, 4);
            assert!(g.used_secret);
        }
    }

    #[test]
    fn a_verified_device_keeps_its_scopes_anywhere() {
        let key = DeviceKey::from_seed(&[7; 32]);
        let mut p = params("openclaw-linux", "ui", json!({}));
        signed(&key, &mut p, NONCE, NOW);
        let g = decide_with(&p, &token_policy(), &forwarded()).unwrap();
        assert_eq!(g.scopes, vec![Scope::Admin, Scope::Read]);
        assert_eq!(g.device_id, Some(key.device_id()));
    }

    #[test]
    fn device_failures_in_upstream_order() {
        let key = DeviceKey::from_seed(&[7; 32]);
        let check = |mutate: &dyn Fn(&mut Value), expect: DetailCode| {
            let mut p = params("cli", "cli", json!({}));
            signed(&key, &mut p, NONCE, NOW);
            mutate(&mut p);
            let r = decide_with(&p, &token_policy(), &local()).unwrap_err();
            assert_eq!(detail(&r), Some(expect.clone()), "{p}");
            assert_eq!(r.close_code, 1008);
            assert!(!r.auth_failure);
        };
        // Another socket's nonce (a replayed connect frame).
        check(
            &|p| signed(&key, p, "other-nonce", NOW),
            DetailCode::DeviceAuthNonceMismatch,
        );
        check(
            &|p| signed(&key, p, NONCE, NOW - 180_000),
            DetailCode::DeviceAuthSignatureExpired,
        );
        check(
            &|p| p["device"]["nonce"] = json!(" "),
            DetailCode::DeviceAuthNonceRequired,
        );
        check(
            &|p| p["device"]["id"] = json!("00".repeat(32)),
            DetailCode::DeviceAuthDeviceIdMismatch,
        );
        // Signed for other scopes / role / a flipped bit.
        check(
            &|p| p["scopes"] = json!(["operator.admin"]),
            DetailCode::DeviceAuthSignatureInvalid,
        );
        check(
            &|p| {
                let s = p["device"]["signature"].as_str().unwrap().to_owned();
                let flipped = if s.starts_with('A') { "B" } else { "A" };
                p["device"]["signature"] = json!(format!("{flipped}{}", &s[1..]));
            },
            DetailCode::DeviceAuthSignatureInvalid,
        );
        check(
            &|p| p["device"]["signature"] = json!("!!not base64!!"),
            DetailCode::DeviceAuthSignatureInvalid,
        );
        check(
            &|p| p["device"]["publicKey"] = json!("AAAA"),
            DetailCode::DeviceAuthDeviceIdMismatch,
        );
    }

    #[test]
    fn secrets_and_their_errors() {
        let mut p = params("cli", "cli", json!({}));
        p["auth"] = json!({"token": "wrong"});
        let r = decide_with(&p, &token_policy(), &local()).unwrap_err();
        let e = r.error.clone().unwrap();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(
            e.message,
            "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)"
        );
        assert_eq!(
            e.details,
            Some(
                json!({"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
                        "canRetryWithDeviceToken": false,
                        "recommendedNextStep": "update_auth_credentials"})
            )
        );
        assert!(r.auth_failure);
        assert_eq!(r.close_reason, e.message);

        p.as_object_mut().unwrap().remove("auth");
        let r = decide_with(&p, &token_policy(), &local()).unwrap_err();
        assert_eq!(r.error.as_ref().unwrap().code, ErrorCode::NotPaired);
        assert_eq!(detail(&r), Some(DetailCode::DeviceIdentityRequired));
        assert!(!r.auth_failure);

        p["auth"] = json!({"token": "wrong", "deviceToken": "junk"});
        assert!(
            decide_with(&p, &token_policy(), &local())
                .unwrap_err()
                .auth_failure
        );
        p["auth"] = json!({"deviceToken": "junk"});
        let r = decide_with(&p, &token_policy(), &local()).unwrap_err();
        assert!(r.auth_failure);
        assert_eq!(detail(&r), Some(DetailCode::AuthDeviceTokenMismatch));

        let pw = AuthPolicy {
            mode: AuthMode::Password,
            secret: Some(Secret::new("pw")),
            source: SecretSource::Config,
        };
        p["auth"] = json!({"password": "nope"});
        let r = decide_with(&p, &pw, &local()).unwrap_err();
        assert_eq!(detail(&r), Some(DetailCode::AuthPasswordMismatch));
        p["auth"] = json!({"password": "pw"});
        assert!(decide_with(&p, &pw, &local()).is_ok());
        // A token is not a password.
        p["auth"] = json!({"token": "pw"});
        assert!(decide_with(&p, &pw, &local()).is_err());

        let none = AuthPolicy {
            mode: AuthMode::None,
            secret: None,
            source: SecretSource::Nothing,
        };
        p.as_object_mut().unwrap().remove("auth");
        let g = decide_with(&p, &none, &local()).unwrap();
        assert!(!g.used_secret);
    }

    #[test]
    fn a_lockout_refuses_even_the_right_secret() {
        let p = params("cli", "cli", json!({}));
        let r = decide(&Attempt {
            params: &p,
            auth: &token_policy(),
            peer: &local(),
            nonce: NONCE,
            now_ms: NOW,
            locked_out_ms: Some(1234),
            device_trusted: false,
        })
        .unwrap_err();
        let e = r.error.unwrap();
        assert_eq!(e.detail_code(), Some(DetailCode::AuthRateLimited));
        assert_eq!(e.retry_after_ms, Some(1234));
        assert_eq!(e.detail_str("recommendedNextStep"), Some("wait_then_retry"));
    }

    #[test]
    fn a_trusted_device_with_a_valid_proof_and_the_secret_passes_a_lockout() {
        let key = DeviceKey::from_seed(&[9; 32]);
        let attempt = |p: &Value, trusted: bool| {
            decide(&Attempt {
                params: p,
                auth: &token_policy(),
                peer: &local(),
                nonce: NONCE,
                now_ms: NOW,
                locked_out_ms: Some(1234),
                device_trusted: trusted,
            })
        };
        let mut good = params("gateway-client", "backend", json!({}));
        signed(&key, &mut good, NONCE, NOW);
        let g = attempt(&good, true).unwrap();
        assert_eq!(g.device_id.as_deref(), Some(key.device_id().as_str()));
        // Not trusted: locked out like anyone.
        let r = attempt(&good, false).unwrap_err();
        assert_eq!(
            r.error.unwrap().detail_code(),
            Some(DetailCode::AuthRateLimited)
        );
        // Trusted id, but a proof over another nonce: the same refusal, nothing about the secret.
        let mut replayed = params("gateway-client", "backend", json!({}));
        signed(&key, &mut replayed, "another-nonce", NOW);
        let r = attempt(&replayed, true).unwrap_err();
        assert_eq!(
            r.error.unwrap().detail_code(),
            Some(DetailCode::AuthRateLimited)
        );
        // Trusted and proven, but the wrong secret: refused and counted.
        let mut wrong = params(
            "gateway-client",
            "backend",
            json!({"auth": {"token": "nope"}}),
        );
        signed(&key, &mut wrong, NONCE, NOW);
        let r = attempt(&wrong, true).unwrap_err();
        assert!(r.auth_failure);
        assert_eq!(
            r.error.unwrap().detail_code(),
            Some(DetailCode::AuthTokenMismatch)
        );
    }

    #[test]
    fn protocol_negotiation() {
        for (min, max, expect) in [
            (3, 3, Some(3)),
            (3, 4, Some(4)),
            (4, 9, Some(4)),
            (1, 2, None),
            (5, 5, None),
        ] {
            let p = params(
                "cli",
                "cli",
                json!({"minProtocol": min, "maxProtocol": max}),
            );
            match (decide_with(&p, &token_policy(), &local()), expect) {
                (Ok(g), Some(v)) => assert_eq!(g.protocol, v),
                (Err(r), None) => {
                    assert_eq!(r.close_code, 1002);
                    assert_eq!(r.close_reason, "protocol mismatch");
                    let e = r.error.unwrap();
                    assert_eq!(e.message, "protocol mismatch");
                    assert_eq!(e.detail_code(), Some(DetailCode::ProtocolMismatch));
                    assert_eq!(e.details.unwrap()["expectedProtocol"], 4);
                }
                (other, _) => panic!("{min}..{max}: {other:?}"),
            }
        }
    }

    #[test]
    fn schema_and_role_failures() {
        let bad_id = params("rust-supervisor", "cli", json!({}));
        let r = decide_with(&bad_id, &token_policy(), &local()).unwrap_err();
        assert_eq!(
            r.error.unwrap().message,
            "invalid connect params: at /client/id: must be equal to one of the allowed values"
        );
        assert_eq!(r.close_code, 1008);
        let r = decide_with(&json!({"minProtocol": 3}), &token_policy(), &local()).unwrap_err();
        assert!(r
            .error
            .unwrap()
            .message
            .starts_with("invalid connect params: "));
        let node = params("node-host", "node", json!({"role": "node"}));
        assert_eq!(
            decide_with(&node, &token_policy(), &local())
                .unwrap_err()
                .cause,
            "node-role"
        );
        let ui = params("openclaw-control-ui", "webchat", json!({}));
        let r = decide_with(&ui, &token_policy(), &local()).unwrap_err();
        assert_eq!(
            detail(&r),
            Some(DetailCode::ControlUiDeviceIdentityRequired)
        );
    }
}
