//! WebSocket close codes the gateway uses, and the reasons that go with them.

/// Normal close: handshake timeout, bad JSON before `connect`.
pub const NORMAL: u16 = 1000;
/// Protocol error: no common protocol version.
pub const PROTOCOL_ERROR: u16 = 1002;
/// Unsupported data (binary frame where text is expected).
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Invalid payload (text frame that is not UTF-8).
pub const INVALID_PAYLOAD: u16 = 1007;
/// Policy violation: bad handshake, auth, device auth, slow consumer, unauthorized flood.
pub const POLICY: u16 = 1008;
/// Frame too large.
pub const TOO_BIG: u16 = 1009;
/// Every gateway stop or restart ("service restart").
pub const SERVICE_RESTART: u16 = 1012;
/// Try again later ("gateway starting").
pub const TRY_AGAIN_LATER: u16 = 1013;
/// Client-side: no frame for more than twice the tick interval.
pub const TICK_TIMEOUT: u16 = 4000;
/// The shared secret changed; sockets authenticated with the old one are closed.
pub const AUTH_CHANGED: u16 = 4001;

/// Reason sent with [`SERVICE_RESTART`].
pub const REASON_SERVICE_RESTART: &str = "service restart";
/// Reason sent with [`PROTOCOL_ERROR`] on a version mismatch.
pub const REASON_PROTOCOL_MISMATCH: &str = "protocol mismatch";
/// Reason sent with [`TOO_BIG`] before authentication.
pub const REASON_PREAUTH_TOO_LARGE: &str = "preauth payload too large";
/// Reason sent with [`POLICY`] for a slow consumer.
pub const REASON_SLOW_CONSUMER: &str = "slow consumer";
/// Reason sent with [`POLICY`] when a socket keeps calling methods it may not call.
pub const REASON_UNAUTHORIZED_FLOOD: &str = "repeated unauthorized calls";
/// Reason sent with [`AUTH_CHANGED`].
pub const REASON_AUTH_CHANGED: &str = "gateway auth changed";
/// Reason sent with [`TRY_AGAIN_LATER`].
pub const REASON_GATEWAY_STARTING: &str = "gateway starting";

/// Close reasons are cut to this many bytes (on a char boundary).
pub const MAX_REASON_BYTES: usize = 120;

/// Cuts a close reason to [`MAX_REASON_BYTES`] without splitting a UTF-8 character.
pub fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_BYTES {
        return reason;
    }
    let mut end = MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate_reason("short"), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate_reason(&long);
        assert!(cut.len() <= MAX_REASON_BYTES);
        assert_eq!(cut.len(), 120);
        let odd = format!("a{}", "é".repeat(100));
        assert_eq!(truncate_reason(&odd).len(), 119);
    }
}
