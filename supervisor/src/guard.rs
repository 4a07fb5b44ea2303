//! The guardian: a small process between the supervisor and the gateway that makes sure nothing
//! of the gateway's process tree outlives either of them.
//!
//! It owns one gateway process and everything that descends from it. The launcher starts it as
//! `tether __guard PROGRAM ARGS…` (its own process group, `PR_SET_PDEATHSIG(SIGTERM)` tied to
//! the supervisor's spawner thread); it marks itself a **child subreaper**, so a descendant whose
//! parent dies — upstream's spawn broker and the commands it starts `detached`, each in a session
//! and process group of its own — is re-parented to the guardian instead of init, where it can
//! still be found. It then spawns the gateway in a process group of its own (with
//! `PR_SET_PDEATHSIG(SIGTERM)` tied to the guardian), passes its stdio straight through (the
//! supervisor reads the gateway's pipes directly) and waits:
//! - the gateway exits → every remaining descendant gets SIGTERM, then SIGKILL after
//!   [`LEFTOVER_GRACE`]; the guardian then exits **the same way the gateway did** (its code, or
//!   the same signal re-raised), so the supervisor's exit classification is unchanged;
//! - SIGTERM/SIGINT/SIGHUP/SIGQUIT (the supervisor died, or a person signalled the guardian) →
//!   the gateway's group and every descendant outside it get SIGTERM, and after
//!   [`PARENT_GONE_GRACE`] whatever is left gets SIGKILL: a gateway draining a run may finish it
//!   within the grace, but nothing is left running seconds after the supervisor is gone;
//! - SIGUSR1/SIGUSR2 are passed to the gateway (the supervisor signals the gateway's pid
//!   directly; this only covers a person signalling the guardian).
//!
//! The supervisor stops the gateway by signalling the gateway's process group, never the
//! guardian, so a stop is exactly what it was without one. The guardian never reads or writes
//! the gateway's output, never logs the environment it passes on (it holds the token), and
//! does nothing else.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The hidden first argument that makes `tether` run as a guardian.
pub const GUARD_ARG: &str = "__guard";

/// How long the tree gets to exit after the supervisor died, before SIGKILL.
pub const PARENT_GONE_GRACE: Duration = Duration::from_secs(3);

/// How long leftovers get after the gateway exited, before SIGKILL.
pub const LEFTOVER_GRACE: Duration = Duration::from_millis(500);

/// Exit code when the gateway could not be started (as shells do).
pub const EXIT_SPAWN_FAILED: i32 = 127;

/// Live descendants of `root` (children, their children, …) from
/// `/proc/<pid>/task/*/children`, parents before children. Processes of other users are
/// included when visible; zombies are not.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
                continue;
            };
            for child in text
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if child != root && !out.contains(&child) && !is_zombie(child) {
                    out.push(child);
                    frontier.push(child);
                }
            }
        }
    }
    out
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(true)
}

/// The process group of `pid`.
pub fn pgid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// Signals every descendant of `root` that is **not** in process group `group` (those get the
/// group signal from the caller): a process-group leader by its whole group, anything else by
/// pid. Returns how many were signalled.
pub fn signal_outside_group(root: u32, group: u32, sig: Signal) -> usize {
    let mut n = 0;
    for pid in descendants(root) {
        let Some(g) = pgid(pid) else { continue };
        if g == group {
            continue;
        }
        let Ok(raw) = i32::try_from(pid) else {
            continue;
        };
        let target = Pid::from_raw(raw);
        let sent = if g == pid {
            signal::killpg(target, sig).or_else(|_| signal::kill(target, sig))
        } else {
            signal::kill(target, sig)
        };
        if sent.is_ok() {
            n += 1;
        }
    }
    n
}

fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    set
}

fn fail(msg: &str) -> ! {
    eprintln!("tether guardian: {msg}");
    std::process::exit(EXIT_SPAWN_FAILED)
}

/// Runs the guardian; `args` are the arguments after [`GUARD_ARG`]: the program, then its
/// arguments. Never returns.
pub fn main(args: Vec<OsString>) -> ! {
    let mut args = args.into_iter();
    let Some(program) = args.next() else {
        fail("usage: tether __guard PROGRAM [ARGS…]")
    };
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let set = handled();
    // Block before any thread exists, so every thread inherits the mask and only the signal
    // thread below ever takes these signals.
    if let Err(e) = set.thread_block() {
        fail(&format!("cannot block signals: {e}"));
    }
    let mut cmd = std::process::Command::new(&program);
    cmd.args(args);
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    restore_and_die_with_guardian(&mut cmd);
    let gateway = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => fail(&format!("{}: {e}", program.to_string_lossy())),
    };
    let gw = gateway.id();
    // The std handle is not used to wait: the loop below reaps with waitpid(-1) so orphans
    // re-parented to us are reaped too.
    drop(gateway);
    let Ok(gw_raw) = i32::try_from(gw) else {
        fail("gateway pid out of range")
    };
    let gw_pid = Pid::from_raw(gw_raw);

    let (tx, rx) = std::sync::mpsc::channel::<Signal>();
    let spawned = std::thread::Builder::new()
        .name("guard-signals".into())
        .spawn(move || {
            while let Ok(sig) = set.wait() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
    if spawned.is_err() {
        // Without the signal thread the guardian cannot react; still reap and mirror the exit.
        eprintln!("tether guardian: no signal thread; waiting for the gateway only");
    }

    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let status = loop {
        if let Some(st) = reap(gw_pid) {
            break st;
        }
        let msg = match kill_at {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx
                .recv()
                .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Signal::SIGCHLD) => {}
            Ok(s @ (Signal::SIGUSR1 | Signal::SIGUSR2)) => {
                let _ = signal::kill(gw_pid, s);
            }
            Ok(_) => {
                if kill_at.is_none() {
                    let _ = signal::killpg(gw_pid, Signal::SIGTERM);
                    signal_outside_group(std::process::id(), gw, Signal::SIGTERM);
                    kill_at = Some(Instant::now() + PARENT_GONE_GRACE);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if !killed {
                    killed = true;
                    let _ = signal::killpg(gw_pid, Signal::SIGKILL);
                    signal_outside_group(std::process::id(), gw, Signal::SIGKILL);
                }
                // The gateway cannot survive SIGKILL: wait for its exit without a deadline.
                kill_at = None;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // No signal thread: block in waitpid for the gateway.
                match waitpid(gw_pid, None) {
                    Ok(st) => break st,
                    Err(_) => break WaitStatus::Exited(gw_pid, 1),
                }
            }
        }
    };
    // Its own group first (tools it started normally), then everything outside it.
    let _ = signal::killpg(gw_pid, Signal::SIGTERM);
    if signal_outside_group(std::process::id(), gw, Signal::SIGTERM) > 0 {
        let until = Instant::now() + LEFTOVER_GRACE;
        while !descendants(std::process::id()).is_empty() && Instant::now() < until {
            let _ = rx.recv_timeout(until.saturating_duration_since(Instant::now()));
            reap(gw_pid);
        }
    }
    let _ = signal::killpg(gw_pid, Signal::SIGKILL);
    signal_outside_group(std::process::id(), gw, Signal::SIGKILL);
    reap(gw_pid);
    mirror(status)
}

/// Reaps every exited child; returns the gateway's status if it was among them.
fn reap(gw: Pid) -> Option<WaitStatus> {
    let mut gateway = None;
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return gateway,
            Ok(st @ (WaitStatus::Exited(p, _) | WaitStatus::Signaled(p, _, _))) if p == gw => {
                gateway = Some(st);
            }
            Ok(_) => {}
        }
    }
}

/// Exits the way the gateway did.
fn mirror(status: WaitStatus) -> ! {
    match status {
        WaitStatus::Exited(_, code) => std::process::exit(code),
        WaitStatus::Signaled(_, sig, _) => {
            // Restore the default action and unblock, then raise on this thread so the signal
            // thread's sigwait cannot take it.
            if sig != Signal::SIGKILL && sig != Signal::SIGSTOP {
                let _ = reset_default(sig);
            }
            let mut one = SigSet::empty();
            one.add(sig);
            let _ = one.thread_unblock();
            let _ = signal::raise(sig);
            std::process::exit(128 + sig as i32)
        }
        _ => std::process::exit(1),
    }
}

#[allow(unsafe_code)]
fn reset_default(sig: Signal) -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler};
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installing SIG_DFL involves no handler code at all; nothing else in this process
    // relies on a handler for `sig`.
    unsafe { signal::sigaction(sig, &dfl) }.map(|_| ())
}

/// In the gateway (between fork and exec): an empty signal mask, SIGTERM when the guardian
/// dies, and a re-check that the guardian did not die before the prctl.
#[allow(unsafe_code)]
fn restore_and_die_with_guardian(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: runs in the forked child before exec: `sigprocmask`, `prctl` and `getppid` are
    // plain syscalls, nothing is allocated (errors are raw errno values) and no lock is taken.
    unsafe {
        cmd.pre_exec(move || {
            signal::sigprocmask(
                signal::SigmaskHow::SIG_SETMASK,
                Some(&SigSet::empty()),
                None,
            )
            .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)
                .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(
                    nix::errno::Errno::ESRCH as i32,
                ));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_of_this_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(descendants(std::process::id()).contains(&pid));
        assert_eq!(pgid(pid), pgid(std::process::id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!descendants(std::process::id()).contains(&pid));
    }
}
