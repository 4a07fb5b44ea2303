//! Protocol constants shared by the gateway and its clients (values as upstream defines them).

/// The protocol version this crate speaks natively.
pub const PROTOCOL_VERSION: u32 = 4;
/// The oldest protocol version still accepted from clients.
pub const MIN_PROTOCOL_VERSION: u32 = 3;
/// Versions a Tether client offers: `minProtocol`..=`maxProtocol`.
pub const CLIENT_PROTOCOL_RANGE: (u32, u32) = (3, 4);

/// Largest frame accepted before `hello-ok` (close 1009 above it).
pub const MAX_PREAUTH_PAYLOAD_BYTES: usize = 64 * 1024;
/// Largest frame accepted after `hello-ok` (`policy.maxPayload`).
pub const MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;
/// Most decoded bytes of all attachments of one `chat.send`/`agent`
/// (`policy.attachments.maxBytes`, as upstream 2026.9.6 advertises: its base64 fits in
/// `maxPayload`).
pub const MAX_ATTACHMENT_BYTES: usize = 19_464_192;
/// Largest image sent to a model (`policy.attachments.maxImageBytes`, as upstream 2026.9.6).
pub const MAX_ATTACHMENT_IMAGE_BYTES: usize = 6 * 1024 * 1024;
/// Outbound buffer above which a client is a slow consumer (`policy.maxBufferedBytes`).
pub const MAX_BUFFERED_BYTES: usize = 50 * 1024 * 1024;
/// Interval of the `tick` keepalive event (`policy.tickIntervalMs`).
pub const TICK_INTERVAL_MS: u64 = 30_000;
/// Allowed distance between `device.signedAt` and the server clock.
pub const DEVICE_SIGNATURE_SKEW_MS: u64 = 120_000;
/// Default handshake deadline: no successful `connect` by then closes the socket.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// The gateway's default port.
pub const DEFAULT_PORT: u16 = 18789;

/// The default agent id.
pub const DEFAULT_AGENT_ID: &str = "main";
/// The main session's short key.
pub const MAIN_KEY: &str = "main";
/// The main session's canonical key.
pub const MAIN_SESSION_KEY: &str = "agent:main:main";

/// Capability a client advertises to receive `agent` events with `stream:"tool"` for its runs.
pub const CAP_TOOL_EVENTS: &str = "tool-events";
