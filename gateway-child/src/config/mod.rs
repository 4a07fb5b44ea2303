//! Configuration: the supported subset of `openclaw.json`.
//!
//! `schema` declares the shapes; `depth` bounds nesting before anything recursive runs; `load`
//! reads and locates problems; `locate` maps key paths to lines; `redact` hides secrets for reads
//! and restores them on writes; `plan` decides what a change needs (hot or restart); `watch`
//! notices file changes; `store` writes atomically; `settings` and `credentials` resolve what a
//! run uses (and where secrets come from); `reload` is the one path from a change (watcher, RPC
//! write, signal) to what a run applies.

pub mod credentials;
pub mod depth;
pub mod load;
pub mod locate;
pub mod plan;
pub mod redact;
pub mod reload;
pub mod schema;
pub mod settings;
pub mod store;
pub mod watch;

pub use load::{ConfigError, Loaded};
