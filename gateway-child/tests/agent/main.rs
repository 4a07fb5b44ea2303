//! Engine-level tests: the agent engine driven through its public API with a recording event
//! sink and mock model providers on 127.0.0.1 (no gateway sockets; those come with the
//! end-to-end suite).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod approvals;
mod attachments;
mod chat;
mod crash;
mod http;
mod paths;
mod providers;
mod sessions;
mod support;
mod tools;
