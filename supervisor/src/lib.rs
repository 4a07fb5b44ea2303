//! Tether's headless supervisor: owns a gateway process, its WebSocket link, and the events
//! users see.
//!
//! Functional core, imperative shell (DESIGN §3): [`machine::Machine`] decides everything from
//! inputs and instants; the pure policies ([`backoff`], [`heartbeat`], [`governor`],
//! [`debounce`], [`deferral`], [`reload`], [`exit`]) are its vocabulary; the actor runs it and
//! does the IO through two seams, a launcher and a connector.
//! This crate never depends on tauri: everything runs headless, in tests and in the `tether` CLI.

pub mod actor;
pub mod attach;
pub mod backoff;
pub mod clock;
pub mod connector;
pub mod control;
pub mod credentials;
pub mod debounce;
pub mod deferral;
pub mod events;
pub mod exit;
pub mod governor;
pub mod guard;
pub mod handle;
pub mod heartbeat;
pub mod journal;
pub mod launcher;
pub mod ledger;
pub mod machine;
pub mod metrics;
pub mod normalize;
pub mod options;
pub mod output;
pub mod profile;
pub mod regular_file;
pub mod reload;
pub mod rpc;
pub mod state_guard;

pub use actor::{spawn, Deps, SupervisorConfig};
pub use events::SupervisorEvent;
pub use handle::{CallError, Metrics, Refused, Snapshot, SupervisorHandle};
#[cfg(feature = "testing")]
pub mod testing;
