//! End-to-end tests of the agent engine through the real `tether-gateway` binary: a mock model
//! provider on 127.0.0.1, the gateway spawned on port 0 with a temp state dir, WebSocket and
//! HTTP clients — and the real upstream `openclaw` CLI against it. Nothing here sleeps to
//! synchronize (tests wait for events, lines, requests or exits) and nothing asserts a timing.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod chat;
mod control_ui;
mod http;
mod lifecycle;
mod sessions;
mod support;
mod tools;
mod upstream;
