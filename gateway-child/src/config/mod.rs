//! Configuration: the supported subset of `openclaw.json`.
//!
//! `schema` declares the shapes; `depth` bounds nesting before anything recursive runs; `load`
//! reads and locates problems; `locate` maps key paths to lines; `redact` hides secrets for reads
//! and restores them on writes; `plan` decides what a change needs (hot or restart); `watch`
//! notices file changes; `store` writes atomically. Nothing in this module talks to clients or
//! owns running state: the server's reload path does.

pub mod depth;
pub mod load;
pub mod locate;
pub mod plan;
pub mod redact;
pub mod schema;
pub mod store;
pub mod watch;

pub use load::{ConfigError, Loaded};
