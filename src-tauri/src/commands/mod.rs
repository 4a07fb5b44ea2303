//! The commands the webview may call (IPC.md), one module per family.
//!
//! Every command validates its input in Rust before anything else happens, returns
//! `Result<_, IpcError>` and passes what it returns through the IPC tap. Commands translate:
//! they call the supervisor's handle (and through it the gateway) or the shell's own small
//! stores, and never decide anything about supervision.

pub mod app;
pub mod chat;
pub mod diagnostics;
pub mod gateway;
pub mod models;
pub mod sessions;
pub mod settings;

use serde_json::Value;
use tether_protocol::session_key::SessionKey;

use crate::error::IpcError;

/// A session key as the gateway accepts it (`agent:<agent>:<name>`, ≤ 512 chars).
pub fn session_key(raw: &str) -> Result<String, IpcError> {
    SessionKey::parse(raw)
        .map(|k| k.to_string())
        .map_err(|e| IpcError::invalid(e.to_string()))
}

/// An opaque id (run, approval): 1–128 chars, no control characters or spaces.
pub fn id(what: &str, raw: &str) -> Result<String, IpcError> {
    if raw.is_empty() || raw.len() > 128 || raw.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(IpcError::invalid(format!(
            "{what}: 1–128 characters, no spaces"
        )));
    }
    Ok(raw.to_owned())
}

/// The JSON a gateway call answered, typed.
pub fn decode<T: serde::de::DeserializeOwned>(method: &str, v: Value) -> Result<T, IpcError> {
    serde_json::from_value(v).map_err(|e| {
        IpcError::internal(format!("{method}: unexpected answer from the gateway: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids() {
        assert_eq!(session_key("main").unwrap(), "agent:main:main");
        assert!(session_key("agent:main:a b").is_err());
        assert!(session_key(&"x".repeat(600)).is_err());
        assert!(id("run", "r-1:2").is_ok());
        assert!(id("run", "").is_err());
        assert!(id("run", "a b").is_err());
        assert!(id("run", &"x".repeat(129)).is_err());
    }
}
