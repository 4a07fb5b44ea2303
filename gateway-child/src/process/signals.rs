//! Turning POSIX signals into [`Control`] requests for the current run.
//!
//! SIGTERM and SIGINT ask for a graceful stop; a second one while stopping exits at once (code 1)
//! with a log line. SIGUSR1 and SIGUSR2 ask for an in-process restart (same pid, same lock, config
//! re-read from disk; the run refuses it if that config is invalid). Handlers are installed before
//! [`install`] returns, so a signal can never hit the default action once the gateway announced
//! itself. This module decides nothing else.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::process::fatal::EXIT_FAILURE;
use crate::server::Control;

struct Handlers {
    term: Signal,
    int: Signal,
    usr1: Signal,
    usr2: Signal,
}

/// Installs the handlers now and forwards signals to `control` from a task.
pub fn install(control: mpsc::Sender<Control>) -> std::io::Result<JoinHandle<()>> {
    let mut h = Handlers {
        term: signal(SignalKind::terminate())?,
        int: signal(SignalKind::interrupt())?,
        usr1: signal(SignalKind::user_defined1())?,
        usr2: signal(SignalKind::user_defined2())?,
    };
    Ok(tokio::spawn(async move {
        let mut stopping = false;
        loop {
            let (name, stop) = tokio::select! {
                _ = h.term.recv() => ("SIGTERM", true),
                _ = h.int.recv() => ("SIGINT", true),
                _ = h.usr1.recv() => ("SIGUSR1", false),
                _ = h.usr2.recv() => ("SIGUSR2", false),
            };
            match (stop, stopping) {
                (true, false) => {
                    stopping = true;
                    info!(signal = name, "stopping");
                    if control.send(Control::Stop).await.is_err() {
                        return;
                    }
                }
                (true, true) => {
                    error!(signal = name, "second stop signal: exiting now");
                    std::process::exit(i32::from(EXIT_FAILURE));
                }
                (false, true) => warn!(signal = name, "restart ignored: already stopping"),
                (false, false) => {
                    info!(signal = name, "restart requested");
                    let req = Control::Restart {
                        reason: name.to_owned(),
                    };
                    if control.try_send(req).is_err() {
                        warn!(signal = name, "a restart or stop is already pending");
                    }
                }
            }
        }
    }))
}
