//! The engine's API, one file per method family, as `impl Engine` blocks.

mod agent;
mod approvals;
mod chat;
mod lifecycle;
mod models;
mod sessions;
mod usage;
