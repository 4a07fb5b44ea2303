//! Tether's gateway: an OpenClaw-protocol gateway in Rust.
//!
//! One loopback port serves HTTP probes and the WebSocket protocol; the agent engine runs chat
//! turns with model providers and workspace-confined tools. See `ARCHITECTURE.md` for the map.
//!
//! The entry point for embedding is [`run`]: it serves one run on a listener it is handed and
//! returns [`Finished`] (stop, or restart with new settings). [`instance::main`] is the process
//! around it (lock, config, signals, readiness line, the loop of runs).

#![allow(
    clippy::result_large_err,
    reason = "handlers and the handshake return the wire ErrorShape by value: it is the protocol's \
              error type, errors are the cold path, and boxing it would leak into every handler"
)]

pub mod agent;
pub mod assembler;
pub mod bus;
pub mod call;
pub mod caller;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connection;
pub mod credentials;
pub mod dispatch;
pub mod drain;
pub mod environ;
pub mod fatal;
pub mod flood_guard;
pub mod handshake;
pub mod health;
pub mod hello;
pub mod http;
pub mod hub;
pub mod instance;
pub mod listen;
pub mod locality;
pub mod lock;
pub mod logging;
pub mod mask_guard;
pub mod memory;
pub mod methods;
pub mod origin;
pub mod outbound;
pub mod paths;
pub mod preauth;
pub mod rate_limit;
pub mod regular_file;
pub mod reload;
pub mod server;
pub mod services;
pub mod settings;
pub mod signals;

pub use server::{run, Control, Exit, Finished, Launch, Ready};
pub use services::Services;
pub use settings::{Resolver, Settings};
