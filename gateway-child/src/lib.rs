//! Tether's gateway: an OpenClaw-protocol gateway in Rust.
//!
//! One loopback port serves HTTP probes and the WebSocket protocol; the agent engine runs chat
//! turns with model providers and workspace-confined tools. See `ARCHITECTURE.md` for the map.
//!
//! The entry point for embedding is [`run`]: it serves one run on a listener it is handed and
//! returns [`Finished`] (stop, or restart with new settings). [`process::instance::main`] is the process
//! around it (lock, config, signals, readiness line, the loop of runs).

#![allow(
    clippy::result_large_err,
    reason = "handlers and the handshake return the wire ErrorShape by value: it is the protocol's \
              error type, errors are the cold path, and boxing it would leak into every handler"
)]

pub mod agent;
pub mod config;
pub mod methods;
pub mod process;
pub mod server;
pub mod socket;

pub use config::settings::{Resolver, Settings};
pub use server::services::Services;
pub use server::{run, Control, Exit, Finished, Launch, Ready};
