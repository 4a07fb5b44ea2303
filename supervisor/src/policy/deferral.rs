//! Restart deferral: what to do with a restart asked for while the gateway is still starting.
//!
//! It owns one pending request (cause, force flag, instant). A restart requested while a start
//! is in flight is never executed against a just-spawned process; it waits until the phase
//! settles. Then it is **executed** if the gateway came up but booted before the request (the
//! new config was not read), **dropped** if a boot happened after the request (e.g. an
//! in-process restart already re-read the config), if the supervisor was stopped, or if the
//! start failed (the respawn that follows is the restart). Pure.

use std::time::Instant;

use crate::policy::governor::RestartCause;

/// A deferred restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred {
    /// Why it was asked.
    pub cause: RestartCause,
    /// "Restart anyway".
    pub force: bool,
    /// When it was asked.
    pub requested_at: Instant,
}

/// How the phase settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The gateway is running; it (re)booted at this instant.
    Running {
        /// When the running gateway process (or in-process restart) began.
        booted_at: Instant,
    },
    /// Stopped by request.
    Stopped,
    /// The start failed (a respawn or a terminal failure follows).
    Failed,
}

/// What to do with the deferred request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Restart now.
    Execute,
    /// Forget it, for this reason.
    Drop(&'static str),
}

/// Decides the fate of a deferred restart when the phase settles.
pub fn flush(d: &Deferred, settled: Settled) -> Flush {
    match settled {
        Settled::Running { booted_at } if booted_at > d.requested_at => {
            Flush::Drop("the gateway booted after the request")
        }
        Settled::Running { .. } => Flush::Execute,
        Settled::Stopped => Flush::Drop("the supervisor was stopped"),
        Settled::Failed => Flush::Drop("the start failed; the respawn replaces the restart"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn decisions() {
        let t0 = Instant::now();
        let d = Deferred {
            cause: RestartCause::Explicit,
            force: false,
            requested_at: t0 + Duration::from_secs(1),
        };
        let check = |settled, expect: fn(Flush) -> bool| assert!(expect(flush(&d, settled)));
        check(Settled::Running { booted_at: t0 }, |f| f == Flush::Execute);
        check(
            Settled::Running {
                booted_at: t0 + Duration::from_secs(2),
            },
            |f| matches!(f, Flush::Drop(_)),
        );
        check(Settled::Stopped, |f| matches!(f, Flush::Drop(_)));
        check(Settled::Failed, |f| matches!(f, Flush::Drop(_)));
    }
}
