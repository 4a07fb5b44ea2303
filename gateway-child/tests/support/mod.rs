//! Shared helpers for the gateway's cross-process tests (each test file includes this module).

#![allow(dead_code)]

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use tether_protocol::{HelloOk, Response};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::ws::{ConnectOpts, WsClient};

/// Generous deadline for anything that should happen promptly.
pub const D: Duration = Duration::from_secs(10);

/// A gateway with default options.
pub async fn gateway() -> Result<Gateway> {
    Gateway::spawn(GatewayOptions::default()).await
}

/// A gateway with this config file.
pub async fn gateway_with(config: &str) -> Result<Gateway> {
    Gateway::spawn(GatewayOptions::with_config(config)).await
}

/// An admin client (`cli/cli`, local, with the token).
pub async fn admin(gw: &Gateway) -> Result<(WsClient, HelloOk)> {
    WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?)).await
}

/// Replaces a config file the supported way: write a temp file, rename it over.
pub fn write_config(path: &std::path::Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp-test");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The error code string of a failed response.
pub fn code(res: &Response) -> String {
    res.error
        .as_ref()
        .map(|e| e.code.as_str().to_owned())
        .unwrap_or_default()
}

/// `error.details.code` of a failed response.
pub fn detail(res: &Response) -> String {
    res.error
        .as_ref()
        .and_then(|e| e.details.as_ref())
        .and_then(|d| d.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The error message of a failed response.
pub fn message(res: &Response) -> String {
    res.error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

/// The payload of a successful response, or an error describing the failure.
pub fn payload(res: Response) -> Result<Value> {
    if res.ok {
        Ok(res.payload.unwrap_or(Value::Null))
    } else {
        anyhow::bail!("call failed: {:?}", res.error)
    }
}
