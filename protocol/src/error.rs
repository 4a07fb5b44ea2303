//! `ErrorShape`: the error object of a failed response, with upstream's codes.
//!
//! Top-level `code` values are few and coarse (`INVALID_REQUEST` covers auth failures too); the
//! precise reason of a handshake failure is the string `details.code` ([`DetailCode`]). Clients
//! branch on `details.code`, never on the message text.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::macros::string_enum;
use crate::Map;

string_enum! {
    /// Top-level error codes (v3 and v4).
    pub enum ErrorCode {
        NotLinked = "NOT_LINKED",
        NotPaired = "NOT_PAIRED",
        AgentTimeout = "AGENT_TIMEOUT",
        InvalidRequest = "INVALID_REQUEST",
        ApprovalNotFound = "APPROVAL_NOT_FOUND",
        Unavailable = "UNAVAILABLE",
        /// v4: missing scope and other authorization failures.
        Forbidden = "FORBIDDEN",
        /// v4.
        AgentResultNotFound = "AGENT_RESULT_NOT_FOUND",
    }
}

string_enum! {
    /// `error.details.code` values: handshake failures and v4 authorization details.
    pub enum DetailCode {
        AuthRequired = "AUTH_REQUIRED",
        AuthUnauthorized = "AUTH_UNAUTHORIZED",
        AuthTokenMissing = "AUTH_TOKEN_MISSING",
        AuthTokenMismatch = "AUTH_TOKEN_MISMATCH",
        AuthTokenNotConfigured = "AUTH_TOKEN_NOT_CONFIGURED",
        AuthPasswordMissing = "AUTH_PASSWORD_MISSING",
        AuthPasswordMismatch = "AUTH_PASSWORD_MISMATCH",
        AuthPasswordNotConfigured = "AUTH_PASSWORD_NOT_CONFIGURED",
        AuthBootstrapTokenInvalid = "AUTH_BOOTSTRAP_TOKEN_INVALID",
        AuthDeviceTokenMismatch = "AUTH_DEVICE_TOKEN_MISMATCH",
        AuthRateLimited = "AUTH_RATE_LIMITED",
        AuthTailscaleIdentityMissing = "AUTH_TAILSCALE_IDENTITY_MISSING",
        AuthTailscaleProxyMissing = "AUTH_TAILSCALE_PROXY_MISSING",
        AuthTailscaleWhoisFailed = "AUTH_TAILSCALE_WHOIS_FAILED",
        AuthTailscaleIdentityMismatch = "AUTH_TAILSCALE_IDENTITY_MISMATCH",
        ControlUiOriginNotAllowed = "CONTROL_UI_ORIGIN_NOT_ALLOWED",
        ControlUiDeviceIdentityRequired = "CONTROL_UI_DEVICE_IDENTITY_REQUIRED",
        DeviceIdentityRequired = "DEVICE_IDENTITY_REQUIRED",
        DeviceAuthInvalid = "DEVICE_AUTH_INVALID",
        DeviceAuthDeviceIdMismatch = "DEVICE_AUTH_DEVICE_ID_MISMATCH",
        DeviceAuthSignatureExpired = "DEVICE_AUTH_SIGNATURE_EXPIRED",
        DeviceAuthNonceRequired = "DEVICE_AUTH_NONCE_REQUIRED",
        DeviceAuthNonceMismatch = "DEVICE_AUTH_NONCE_MISMATCH",
        DeviceAuthSignatureInvalid = "DEVICE_AUTH_SIGNATURE_INVALID",
        DeviceAuthPublicKeyInvalid = "DEVICE_AUTH_PUBLIC_KEY_INVALID",
        PairingRequired = "PAIRING_REQUIRED",
        /// v4: the socket lacks a scope the method needs.
        MissingScope = "MISSING_SCOPE",
        /// v4: no protocol version in common.
        ProtocolMismatch = "PROTOCOL_MISMATCH",
        /// Tether: the method belongs to a feature this gateway does not have (`details.feature`).
        Unsupported = "UNSUPPORTED",
    }
}

impl DetailCode {
    /// Whether a client should stop reconnecting and ask a human: credentials, pairing and
    /// device-identity problems do not fix themselves by retrying.
    pub fn needs_user_action(&self) -> bool {
        use DetailCode::*;
        matches!(
            self,
            AuthRequired
                | AuthUnauthorized
                | AuthTokenMissing
                | AuthTokenMismatch
                | AuthTokenNotConfigured
                | AuthPasswordMissing
                | AuthPasswordMismatch
                | AuthPasswordNotConfigured
                | AuthBootstrapTokenInvalid
                | AuthDeviceTokenMismatch
                | ControlUiOriginNotAllowed
                | ControlUiDeviceIdentityRequired
                | DeviceIdentityRequired
                | DeviceAuthInvalid
                | DeviceAuthDeviceIdMismatch
                | DeviceAuthNonceRequired
                | DeviceAuthSignatureInvalid
                | DeviceAuthPublicKeyInvalid
                | PairingRequired
                | ProtocolMismatch
        )
    }
}

/// The error object of a failed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    /// Coarse code.
    pub code: ErrorCode,
    /// Human-readable message.
    pub message: String,
    /// Structured details; handshake errors carry `{code: DetailCode, ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether retrying the same call may succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map,
}

impl ErrorShape {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorShape {
            code,
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
            extra: Map::new(),
        }
    }

    /// `INVALID_REQUEST` with a message.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `UNAVAILABLE`, retryable after `retry_after_ms`.
    pub fn unavailable(message: impl Into<String>, retry_after_ms: u64) -> Self {
        let mut e = Self::new(ErrorCode::Unavailable, message);
        e.retryable = Some(true);
        e.retry_after_ms = Some(retry_after_ms);
        e
    }

    /// `UNAVAILABLE`, not retryable, for a method upstream defines whose feature this gateway
    /// does not have: `details {code: UNSUPPORTED, method, feature}`. Upstream has no code of its
    /// own for this; `UNAVAILABLE` is its nearest, and leaving out `retryable` keeps clients from
    /// retrying what will never work.
    pub fn unsupported(method: &str, feature: &str) -> Self {
        Self::new(
            ErrorCode::Unavailable,
            format!("{method} is not available: Tether's gateway has no {feature}"),
        )
        .with_details(json!({
            "code": DetailCode::Unsupported,
            "method": method,
            "feature": feature,
        }))
    }

    /// Adds `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The missing-scope error in the wording of the client's protocol version: v3 clients get
    /// `INVALID_REQUEST "missing scope: X"`, v4 clients `FORBIDDEN` with
    /// `details {code: MISSING_SCOPE, missingScope, requiredScopes}`.
    pub fn missing_scope(protocol: u32, scope: &str) -> Self {
        let message = format!("missing scope: {scope}");
        if protocol >= 4 {
            Self::new(ErrorCode::Forbidden, message).with_details(json!({
                "code": DetailCode::MissingScope,
                "missingScope": scope,
                "requiredScopes": [scope],
            }))
        } else {
            Self::invalid_request(message)
        }
    }

    /// `details.code`, when the details carry one.
    pub fn detail_code(&self) -> Option<DetailCode> {
        self.details
            .as_ref()?
            .get("code")?
            .as_str()
            .map(DetailCode::from)
    }

    /// A string field of `details`.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.as_ref()?.get(key)?.as_str()
    }
}

impl std::fmt::Display for ErrorShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(code) = self.detail_code() {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorShape {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_survive() {
        let e: ErrorShape =
            serde_json::from_value(json!({"code":"NEW_CODE","message":"m","extraField":1}))
                .unwrap();
        assert_eq!(e.code, ErrorCode::Other("NEW_CODE".into()));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code":"NEW_CODE","message":"m","extraField":1})
        );
    }

    #[test]
    fn missing_scope_wording_depends_on_protocol() {
        let v3 = ErrorShape::missing_scope(3, "operator.read");
        assert_eq!(v3.code, ErrorCode::InvalidRequest);
        assert_eq!(v3.message, "missing scope: operator.read");
        assert!(v3.details.is_none());
        let v4 = ErrorShape::missing_scope(4, "operator.read");
        assert_eq!(v4.code, ErrorCode::Forbidden);
        assert_eq!(v4.detail_code(), Some(DetailCode::MissingScope));
        assert_eq!(v4.detail_str("missingScope"), Some("operator.read"));
    }

    #[test]
    fn user_action_classification() {
        assert!(DetailCode::AuthTokenMismatch.needs_user_action());
        assert!(DetailCode::PairingRequired.needs_user_action());
        assert!(!DetailCode::AuthRateLimited.needs_user_action());
        assert!(!DetailCode::DeviceAuthSignatureExpired.needs_user_action());
        assert!(!DetailCode::Other("X".into()).needs_user_action());
    }
}
