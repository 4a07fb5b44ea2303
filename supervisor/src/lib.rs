//! Tether's headless supervisor: owns a gateway process, its WebSocket link, and the events
//! users see.
//!
//! Functional core, imperative shell (DESIGN §3). The pure core is [`machine`] (decides
//! everything from inputs and instants), [`policy`] (backoff, heartbeat, governor, debounce,
//! deferral, reload, exit: its vocabulary) and [`events`] (what it tells users); it does no IO
//! and reads no clock (`tests/pure_core.rs` keeps it so). Every other module is the shell: the
//! actor runs the machine and does the IO through two seams, a launcher and a connector.
//! This crate never depends on tauri: everything runs headless, in tests and in the `tether` CLI.

pub mod actor;
pub mod attach;
pub mod clock;
pub mod connector;
pub mod control;
pub mod credentials;
pub mod events;
pub mod guard;
pub mod handle;
pub mod journal;
pub mod launcher;
pub mod ledger;
pub mod machine;
pub mod metrics;
pub mod normalize;
pub mod options;
pub mod output;
pub mod policy;
pub mod profile;
pub mod regular_file;
pub mod rpc;
pub mod state_guard;

pub use actor::{spawn, Deps, SupervisorConfig};
pub use events::SupervisorEvent;
pub use handle::{CallError, Metrics, Refused, Snapshot, SupervisorHandle};
#[cfg(feature = "testing")]
pub mod testing;
