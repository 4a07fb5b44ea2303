//! The process around the runs: command line, the private-variable re-exec, the instance lock,
//! config location, the listening sockets, signals, exit codes, logging, the runtime's measured
//! health (`vitals`, sampled by each run), and the process-wide
//! facilities every layer may use (`clock`, `regular_file`, `logging`, `environ`'s list of
//! private variables).

pub mod cli;
pub mod clock;
pub mod environ;
pub mod fatal;
pub mod instance;
pub mod listen;
pub mod lock;
pub mod logging;
pub mod memory;
pub mod paths;
pub mod regular_file;
pub mod signals;
pub mod vitals;
