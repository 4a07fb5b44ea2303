//! Test support shared by Tether's suites. Only ever a dev-dependency.
//!
//! It owns the plumbing tests need to meet real components: finding the built binaries,
//! running child processes that are killed when the guard drops, a raw WebSocket client that can
//! also send malformed frames, mock model providers, a launcher for upstream OpenClaw, and the
//! desktop plumbing (X display, session bus, tray host, WebDriver) for the desktop app's tests. It must
//! never contain assertions about product behaviour: those belong in the tests that use it.

pub mod bins;
pub mod desktop;
pub mod gateway;
pub mod mock_anthropic;
pub mod mock_openai;
pub mod mock_provider;
pub mod process;
pub mod upstream;
pub mod ws;
