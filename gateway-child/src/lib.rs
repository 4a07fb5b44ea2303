//! Tether's gateway: an OpenClaw-protocol gateway in Rust.
//!
//! One loopback port serves HTTP probes and the WebSocket protocol; the agent engine runs chat
//! turns with model providers and workspace-confined tools. See `ARCHITECTURE.md` for the map.

pub mod agent;
pub mod bus;
pub mod config;
