//! Configuration: the supported subset of `openclaw.json`.

pub mod schema;
