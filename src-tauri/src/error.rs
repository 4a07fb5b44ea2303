//! `IpcError`: the one error every command returns to the webview, `{code, message}`.
//!
//! It owns the stable codes of `IPC.md` and the translation into them from the supervisor's
//! errors (refusals, call failures) and from local IO. It never carries a secret: messages come
//! from the supervisor (which redacts) or from this crate, never from a raw config or token file.

use serde::Serialize;
use tether_supervisor::control::ControlError;
use tether_supervisor::handle::RefusedCode;
use tether_supervisor::{CallError, Refused};

/// Stable error codes (IPC.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input failed validation.
    InvalidInput,
    /// No link to the gateway right now.
    NotConnected,
    /// The gateway did not answer in time.
    Timeout,
    /// The link dropped while the call was pending.
    Disconnected,
    /// The link's queue is full.
    Busy,
    /// The gateway refused (`gateway_code` says how).
    Gateway,
    /// The gateway answered, but its answer could not be read.
    BadResponse,
    /// The restart breaker is open.
    BreakerOpen,
    /// Reload is off.
    ReloadOff,
    /// Tether did not start this gateway and cannot restart it.
    NotOwned,
    /// Another refusal by the supervisor.
    Refused,
    /// A local file could not be read or written.
    Io,
    /// The supervisor has stopped.
    Gone,
    /// A bug.
    Internal,
}

/// What a command returns on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct IpcError {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable: what happened and, where it helps, what to do.
    pub message: String,
    /// `Gateway`: the gateway's own code (`INVALID_REQUEST`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_code: Option<String>,
}

/// Every command's result.
pub type IpcResult<T> = Result<T, IpcError>;

impl IpcError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
            gateway_code: None,
        }
    }

    /// Invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// A local IO failure.
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Io, message)
    }

    /// The supervisor is gone.
    pub fn gone() -> Self {
        Self::new(ErrorCode::Gone, "the supervisor has stopped")
    }

    /// A bug.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl From<CallError> for IpcError {
    fn from(e: CallError) -> Self {
        let code = match &e {
            CallError::NotConnected => ErrorCode::NotConnected,
            CallError::Timeout(_) => ErrorCode::Timeout,
            CallError::Disconnected(_) => ErrorCode::Disconnected,
            CallError::Busy => ErrorCode::Busy,
            CallError::Gone => ErrorCode::Gone,
            CallError::Gateway(_) => ErrorCode::Gateway,
            CallError::Unreadable(..) => ErrorCode::BadResponse,
        };
        match e {
            CallError::Gateway(shape) => IpcError {
                code,
                message: shape.message.clone(),
                gateway_code: Some(shape.code.as_str().to_owned()),
            },
            CallError::NotConnected => IpcError::new(
                code,
                "the gateway is not connected right now; it will be used as soon as it is back",
            ),
            other => IpcError::new(code, other.to_string()),
        }
    }
}

impl From<Refused> for IpcError {
    fn from(r: Refused) -> Self {
        let code = match r.code {
            RefusedCode::BreakerOpen => ErrorCode::BreakerOpen,
            RefusedCode::ReloadOff => ErrorCode::ReloadOff,
            RefusedCode::NotOwned => ErrorCode::NotOwned,
            RefusedCode::Gone => ErrorCode::Gone,
        };
        IpcError::new(code, r.message)
    }
}

impl From<ControlError> for IpcError {
    fn from(e: ControlError) -> Self {
        IpcError::new(ErrorCode::Refused, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tether_protocol::ErrorShape;

    #[test]
    fn serializes_as_code_and_message() {
        let e = IpcError::invalid("message is empty");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code": "invalid_input", "message": "message is empty"})
        );
    }

    #[test]
    fn gateway_errors_keep_the_gateway_code_and_message() {
        let e: IpcError =
            CallError::Gateway(ErrorShape::invalid_request("gateway.json:3:5: bad key")).into();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"code": "gateway", "message": "gateway.json:3:5: bad key", "gatewayCode": "INVALID_REQUEST"})
        );
        let r: IpcError = Refused {
            code: RefusedCode::BreakerOpen,
            message: "6 restarts within 60 s".into(),
        }
        .into();
        assert_eq!(r.code, ErrorCode::BreakerOpen);
        let n: IpcError = CallError::NotConnected.into();
        assert_eq!(n.code, ErrorCode::NotConnected);
    }
}
