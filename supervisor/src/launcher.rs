//! The `Launcher` seam, and the real one: spawning the gateway so it can never outlive us.
//!
//! It owns child processes: spawning from a launch profile, capturing their output without ever
//! blocking them, reporting readiness and exit, and signalling their process group. The actor
//! only sees the [`Launcher`] trait, so tests swap in the fake from [`crate::testing`].
//!
//! How the real [`ProcessLauncher`] makes the child die with the supervisor: each spawn happens
//! on one long-lived "tether-spawner" thread (pdeathsig follows the forking *thread*), the
//! child leads its own process group with `PR_SET_PDEATHSIG(SIGTERM)` and a `getppid()`
//! re-check, and whenever a `tether` binary is available the child is the guardian
//! ([`crate::guard`]), which SIGTERMs the gateway's group and every descendant outside it and
//! SIGKILLs what is left after 3 s. The measurements behind these choices, and the macOS and
//! Windows plans, are in `docs/PROCESS-LIFETIME.md`.
//!
//! Stopping is SIGTERM → grace → SIGKILL **of the whole group** (the machine times it), and
//! every descendant in a group of its own gets the same signal first (found by walking
//! `/proc/<pid>/task/*/children` before the gateway dies and they are re-parented); a dropped
//! [`ChildControl`] whose child still runs SIGKILLs the group. The token never travels
//! in argv: the profile hands over its file's path, or the token in the environment. Output is read line by line into a
//! bounded channel with `try_send`: when the actor lags, lines are counted as dropped rather than
//! letting the pipe fill and the child block.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::machine::Sig;
use crate::output::Stream;
use crate::policy::exit::ExitStatus;
use crate::profile::{Profile, RestartSignal};
use tether_protocol::Secret;

/// Capacity of a child's event channel.
const CHILD_EVENTS: usize = 1024;

/// Something a child did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildEvent {
    /// A line of output.
    Line(Stream, String),
    /// Lines dropped because the supervisor lagged.
    Dropped(u64),
    /// It reported readiness (`{"event":"ready","port":P,...}`).
    Ready {
        /// The port it listens on.
        port: u16,
    },
    /// It exited; always the last event.
    Exited(ExitStatus),
}

/// Signals an owned child's process group.
pub trait ChildControl: Send + std::fmt::Debug {
    /// Sends `sig` to the child's process group.
    fn signal(&self, sig: Sig) -> io::Result<()>;
}

/// A started (or adopted) child.
#[derive(Debug)]
pub struct Launched {
    /// Its pid.
    pub pid: Option<u32>,
    /// Its port, when chosen before spawning.
    pub port: Option<u16>,
    /// How to signal it.
    pub control: Box<dyn ChildControl>,
    /// Output, readiness and exit.
    pub events: mpsc::Receiver<ChildEvent>,
}

/// The launcher seam.
/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No port could be chosen before spawning.
    #[error("no free port: {0}")]
    NoFreePort(#[source] io::Error),
    /// The command could not be assembled (token file, private directories, …).
    #[error("cannot prepare the launch: {0}")]
    Prepare(#[source] io::Error),
    /// The spawner thread is gone (the launcher is being dropped).
    #[error("the spawner thread is gone")]
    SpawnerGone,
    /// The operating system refused to start the program.
    #[error("{program}: {source}")]
    Spawn {
        /// The program's path.
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another launcher's own reason (the fake's scripted failures).
    #[error("{0}")]
    Other(String),
}

/// Starts gateway processes (the real [`ProcessLauncher`], or a fake in tests).
pub trait Launcher: Send + Sync + 'static {
    /// Starts a child.
    fn launch(&self) -> BoxFuture<'static, Result<Launched, LaunchError>>;
    /// Watches a process Tether started earlier (proven by the ledger) and may signal.
    fn adopt(&self, pid: u32) -> Launched;
    /// The profile's executable, for the ledger.
    fn exe(&self) -> Option<PathBuf> {
        None
    }
}

struct SpawnJob {
    cmd: std::process::Command,
    reply: oneshot::Sender<io::Result<tokio::process::Child>>,
}

/// The real launcher.
#[derive(Debug)]
pub struct ProcessLauncher {
    profile: Profile,
    token: Secret,
    guard: Option<PathBuf>,
    jobs: std::sync::mpsc::Sender<SpawnJob>,
}

impl std::fmt::Debug for SpawnJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpawnJob").finish_non_exhaustive()
    }
}

impl ProcessLauncher {
    /// A launcher for `profile`; must be created inside a tokio runtime. Starts the spawner
    /// thread, which lives as long as the launcher.
    pub fn new(profile: Profile, token: Secret) -> io::Result<Self> {
        let handle = tokio::runtime::Handle::current();
        let (jobs, rx) = std::sync::mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("tether-spawner".into())
            .spawn(move || {
                let _rt = handle.enter();
                while let Ok(job) = rx.recv() {
                    let mut cmd = tokio::process::Command::from(job.cmd);
                    cmd.kill_on_drop(false);
                    let _ = job.reply.send(cmd.spawn());
                }
            })?;
        Ok(ProcessLauncher {
            profile,
            token,
            guard: None,
            jobs,
        })
    }

    /// Starts every gateway under a guardian ([`crate::guard`]): `exe __guard PROGRAM ARGS…`,
    /// where `exe` is a `tether` binary.
    #[must_use]
    pub fn with_guard(mut self, exe: PathBuf) -> Self {
        self.guard = Some(exe);
        self
    }
}

/// How long the launcher waits for a guardian to show its gateway child.
const GUARD_CHILD_WITHIN: Duration = Duration::from_secs(5);

/// The gateway under guardian `guard`: its oldest child (later children are orphans of the
/// gateway's tree re-parented to the guardian). `None` once the guardian has exited.
async fn guarded_child(guard: u32) -> Option<u32> {
    let path = format!("/proc/{guard}/task/{guard}/children");
    let until = tokio::time::Instant::now() + GUARD_CHILD_WITHIN;
    loop {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                if let Some(first) = text
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok())
                    .min_by_key(|&p| crate::ledger::proc_start_time(p).unwrap_or(u64::MAX))
                {
                    return Some(first);
                }
            }
            Err(_) => return None,
        }
        if tokio::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Arranges for the child to get SIGTERM when the spawning thread (and so the supervisor) dies.
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid();
    // SAFETY: `pre_exec` runs in the forked child before `exec`, where only async-signal-safe
    // calls are allowed. The closure calls `prctl(PR_SET_PDEATHSIG)` and `getppid()`, both
    // plain syscalls, allocates nothing (errors are built from raw errno values) and takes no
    // locks; `parent` is a copied integer.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)
                .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from_raw_os_error(
                    nix::errno::Errno::ESRCH as i32,
                ));
            }
            Ok(())
        });
    }
}

/// A free loopback port (the listener is dropped, so a race is possible; the profile's exit
/// code 11 or EADDRINUSE covers it).
pub fn free_port() -> io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

impl Launcher for ProcessLauncher {
    fn launch(&self) -> BoxFuture<'static, Result<Launched, LaunchError>> {
        let port = if self.profile.needs_port() {
            match self.profile.port.map_or_else(free_port, Ok) {
                Ok(p) => Some(p),
                Err(e) => return Box::pin(async move { Err(LaunchError::NoFreePort(e)) }),
            }
        } else {
            None
        };
        let spec = match self.profile.command(port, self.token.expose()) {
            Ok(s) => s,
            Err(e) => return Box::pin(async move { Err(LaunchError::Prepare(e)) }),
        };
        let mut cmd = match &self.guard {
            Some(guard) => {
                let mut c = std::process::Command::new(guard);
                c.arg(crate::guard::GUARD_ARG).arg(&spec.program);
                c
            }
            None => std::process::Command::new(&spec.program),
        };
        let guarded = self.guard.is_some();
        cmd.args(&spec.args)
            .current_dir(&spec.cwd)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for k in &spec.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        die_with_parent(&mut cmd);
        let program = spec.program.display().to_string();
        let reports_ready = self.profile.reports_ready();
        let (reply, rx) = oneshot::channel();
        let sent = self.jobs.send(SpawnJob { cmd, reply });
        Box::pin(async move {
            sent.map_err(|_| LaunchError::SpawnerGone)?;
            let mut child = rx
                .await
                .map_err(|_| LaunchError::SpawnerGone)?
                .map_err(|source| LaunchError::Spawn { program, source })?;
            let direct = child.id();
            // Under a guardian the gateway is its child: signals and the pid users see are
            // the gateway's; the exit comes from the guardian, which mirrors the gateway's.
            let pid = match (guarded, direct) {
                (true, Some(g)) => guarded_child(g).await.or(direct),
                _ => direct,
            };
            let exited = Arc::new(AtomicBool::new(false));
            let (tx, events) = mpsc::channel(CHILD_EVENTS);
            let readers = [
                child.stdout.take().map(|o| {
                    tokio::spawn(read_lines(o, Stream::Stdout, reports_ready, tx.clone()))
                }),
                child
                    .stderr
                    .take()
                    .map(|e| tokio::spawn(read_lines(e, Stream::Stderr, false, tx.clone()))),
            ];
            let flag = exited.clone();
            tokio::spawn(async move {
                let status = child.wait().await;
                flag.store(true, Ordering::SeqCst);
                // The leader is gone: reap stragglers left in its group (tool processes) now,
                // while the group id cannot have been reused yet.
                if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    let _ = signal::killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                }
                // Let the readers drain, but not forever: a grandchild may hold the pipes.
                for r in readers.into_iter().flatten() {
                    let _ = tokio::time::timeout(Duration::from_millis(200), r).await;
                }
                let status = match status {
                    Ok(s) => {
                        use std::os::unix::process::ExitStatusExt;
                        ExitStatus {
                            code: s.code(),
                            signal: s.signal(),
                        }
                    }
                    Err(_) => ExitStatus {
                        code: None,
                        signal: None,
                    },
                };
                let _ = tx.send(ChildEvent::Exited(status)).await;
            });
            Ok(Launched {
                pid,
                port,
                control: Box::new(GroupControl { pgid: pid, exited }),
                events,
            })
        })
    }

    fn adopt(&self, pid: u32) -> Launched {
        let (tx, events) = mpsc::channel(4);
        let exited = Arc::new(AtomicBool::new(false));
        let flag = exited.clone();
        let start = crate::ledger::proc_start_time(pid);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if crate::ledger::proc_start_time(pid) != start || start.is_none() {
                    break;
                }
            }
            flag.store(true, Ordering::SeqCst);
            let _ = tx
                .send(ChildEvent::Exited(ExitStatus {
                    code: None,
                    signal: None,
                }))
                .await;
        });
        Launched {
            pid: Some(pid),
            port: None,
            control: Box::new(GroupControl {
                pgid: Some(pid),
                exited,
            }),
            events,
        }
    }

    fn exe(&self) -> Option<PathBuf> {
        Some(self.profile.program.clone())
    }
}

async fn read_lines<R: AsyncRead + Unpin>(
    pipe: R,
    stream: Stream,
    reports_ready: bool,
    tx: mpsc::Sender<ChildEvent>,
) {
    let mut lines = BufReader::new(pipe).lines();
    let mut dropped = 0u64;
    loop {
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) | Err(_) => break,
        };
        if reports_ready {
            if let Some(port) = ready_port(&line) {
                // Readiness must not be dropped: wait for room.
                if tx.send(ChildEvent::Ready { port }).await.is_err() {
                    return;
                }
            }
        }
        match tx.try_send(ChildEvent::Line(stream, line)) {
            Ok(()) => {
                if dropped > 0 && tx.try_send(ChildEvent::Dropped(dropped)).is_ok() {
                    dropped = 0;
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => dropped += 1,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // Nobody listens any more; keep draining so the child never blocks.
            }
        }
    }
}

/// The port of a `{"event":"ready","port":P,...}` line.
pub fn ready_port(line: &str) -> Option<u16> {
    let t = line.trim();
    if !t.starts_with('{') || !t.contains("\"ready\"") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    if v.get("event")?.as_str()? != "ready" {
        return None;
    }
    u16::try_from(v.get("port")?.as_u64()?).ok()
}

/// Signals a process group; SIGKILLs it when dropped while the leader still runs.
#[derive(Debug)]
struct GroupControl {
    pgid: Option<u32>,
    exited: Arc<AtomicBool>,
}

impl ChildControl for GroupControl {
    fn signal(&self, sig: Sig) -> io::Result<()> {
        let Some(pgid) = self.pgid.and_then(|p| i32::try_from(p).ok()) else {
            return Err(io::Error::other("no pid"));
        };
        let s = match sig {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
            Sig::Restart(RestartSignal::Usr1) => Signal::SIGUSR1,
            Sig::Restart(RestartSignal::Usr2) => Signal::SIGUSR2,
        };
        if matches!(sig, Sig::Restart(_)) {
            // Only the gateway itself: its tools must not see a restart signal.
            return signal::kill(Pid::from_raw(pgid), s).map_err(io::Error::from);
        }
        if self.exited.load(Ordering::SeqCst) && sig != Sig::Kill {
            return Ok(());
        }
        // Descendants in process groups of their own (upstream's spawn broker and the commands
        // it starts detached) never see a group signal, and once the gateway is gone they are
        // re-parented away and cannot be found: signal them first, found by ancestry.
        if let Ok(root) = u32::try_from(pgid) {
            crate::guard::signal_outside_group(root, root, s);
        }
        match signal::killpg(Pid::from_raw(pgid), s) {
            Ok(()) => Ok(()),
            // Not a group leader (an adopted process): signal the process itself.
            Err(nix::errno::Errno::ESRCH) => match signal::kill(Pid::from_raw(pgid), s) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
                Err(e) => Err(io::Error::from(e)),
            },
            Err(e) => Err(io::Error::from(e)),
        }
    }
}

impl Drop for GroupControl {
    fn drop(&mut self) {
        if !self.exited.load(Ordering::SeqCst) {
            let _ = self.signal(Sig::Kill);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines() {
        assert_eq!(
            ready_port(r#"{"event":"ready","port":4321,"pid":7,"bootId":"b"}"#),
            Some(4321)
        );
        assert_eq!(ready_port(r#"{"event":"other","port":1}"#), None);
        assert_eq!(ready_port("ready on 4321"), None);
        assert_eq!(ready_port(r#"{"event":"ready","port":70000}"#), None);
    }

    #[test]
    fn free_ports_are_loopback_ports() {
        assert!(free_port().unwrap() > 0);
    }
}
