//! The socket: HTTP on the one port (probes, the upgrade, `/v1/chat/completions`, upstream's
//! Control UI when `gateway.controlUi.root` names it), the gates in
//! front of it (Host/Origin, locality, pre-auth budgets, rate limits, flood and mask guards),
//! the WebSocket connection (challenge, `connect`, the request phase, close) and its outbound
//! queue. A connection hands authorized requests to `crate::methods`.

pub mod assembler;
pub mod body;
pub mod connection;
pub mod control_ui;
pub mod flood_guard;
pub mod handshake;
pub mod hello;
pub mod http;
pub mod locality;
pub mod mask_guard;
pub mod origin;
pub mod outbound;
pub mod preauth;
pub mod rate_limit;
