//! A child process guard for tests: its own process group, killed (the whole group) on drop,
//! with stdout and stderr captured line by line.
//!
//! Tests wait for what they need — a line matching a predicate, or the exit — with a deadline,
//! instead of sleeping. The guard only observes and signals; it never interprets output.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

#[derive(Debug, Default)]
struct Lines {
    stdout: Vec<String>,
    stderr: Vec<String>,
    stdout_done: bool,
    stderr_done: bool,
}

#[derive(Debug, Default)]
struct Captured {
    lines: Mutex<Lines>,
    changed: Notify,
}

impl Captured {
    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running child; dropping it kills its whole process group.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    pid: u32,
    captured: Arc<Captured>,
    status: Option<ExitStatus>,
}

fn pump<R: AsyncRead + Unpin + Send + 'static>(reader: R, captured: Arc<Captured>, stream: Stream) {
    tokio::spawn(async move {
        let mut r = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_owned();
                    let mut l = captured.lock();
                    match stream {
                        Stream::Stdout => l.stdout.push(line),
                        Stream::Stderr => l.stderr.push(line),
                    }
                    drop(l);
                    captured.changed.notify_waiters();
                }
            }
        }
        let mut l = captured.lock();
        match stream {
            Stream::Stdout => l.stdout_done = true,
            Stream::Stderr => l.stderr_done = true,
        }
        drop(l);
        captured.changed.notify_waiters();
    });
}

impl ChildGuard {
    /// Spawns `cmd` in a new process group with stdout/stderr captured and stdin closed.
    pub fn spawn(cmd: &mut Command) -> Result<Self> {
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("spawning child process")?;
        let pid = child.id().context("child has no pid")?;
        let captured = Arc::new(Captured::default());
        if let Some(out) = child.stdout.take() {
            pump(out, Arc::clone(&captured), Stream::Stdout);
        }
        if let Some(err) = child.stderr.take() {
            pump(err, Arc::clone(&captured), Stream::Stderr);
        }
        Ok(ChildGuard {
            child,
            pid,
            captured,
            status: None,
        })
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// All lines captured so far on `stream`.
    pub fn lines(&self, stream: Stream) -> Vec<String> {
        let l = self.captured.lock();
        match stream {
            Stream::Stdout => l.stdout.clone(),
            Stream::Stderr => l.stderr.clone(),
        }
    }

    /// Waits for a line at index `from` or later matching `pred`; returns its index and text.
    pub async fn wait_for_line_from(
        &self,
        stream: Stream,
        from: usize,
        pred: impl Fn(&str) -> bool,
        deadline: Duration,
    ) -> Result<(usize, String)> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let changed = self.captured.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let l = self.captured.lock();
                let (lines, done) = match stream {
                    Stream::Stdout => (&l.stdout, l.stdout_done),
                    Stream::Stderr => (&l.stderr, l.stderr_done),
                };
                if let Some((i, line)) = lines
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, line)| pred(line))
                {
                    return Ok((i, line.clone()));
                }
                if done {
                    bail!(
                        "{stream:?} ended without a matching line; last lines:\n{}",
                        tail(lines)
                    );
                }
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                let l = self.captured.lock();
                let lines = match stream {
                    Stream::Stdout => &l.stdout,
                    Stream::Stderr => &l.stderr,
                };
                bail!(
                    "no matching {stream:?} line within {deadline:?}; last lines:\n{}",
                    tail(lines)
                );
            }
        }
    }

    /// Waits for any line (from the start) matching `pred`.
    pub async fn wait_for_line(
        &self,
        stream: Stream,
        pred: impl Fn(&str) -> bool,
        deadline: Duration,
    ) -> Result<String> {
        self.wait_for_line_from(stream, 0, pred, deadline)
            .await
            .map(|(_, l)| l)
    }

    /// Waits for the process to exit (and for its output to be fully captured).
    pub async fn wait_exit(&mut self, deadline: Duration) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let status = tokio::time::timeout(deadline, self.child.wait())
            .await
            .map_err(|_| anyhow!("process {} did not exit within {deadline:?}", self.pid))?
            .context("waiting for the child")?;
        self.status = Some(status);
        // Let the pumps see EOF so every line is available to the caller.
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let changed = self.captured.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let l = self.captured.lock();
                if l.stdout_done && l.stderr_done {
                    break;
                }
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                break;
            }
        }
        Ok(status)
    }

    /// The exit status if the child has exited, without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Sends a signal to the child (not its group).
    pub fn signal(&self, sig: Signal) -> Result<()> {
        let pid = i32::try_from(self.pid).context("pid out of range")?;
        nix::sys::signal::kill(Pid::from_raw(pid), sig).context("sending signal")
    }

    /// Kills the whole process group now.
    pub fn kill_group(&self) {
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn tail(lines: &[String]) -> String {
    let start = lines.len().saturating_sub(20);
    lines[start..].join("\n")
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Always the whole group: grandchildren outlive an exited leader.
        self.kill_group();
    }
}

/// Whether a process exists and has not exited (a zombie, state `Z`, has exited; only its
/// parent's reaping is pending).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// A `std::process::Child` for synchronous tests, killed (SIGKILL) and reaped when dropped. It
/// derefs to the child.
#[derive(Debug)]
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A numeric field of `/proc/<pid>/status` (`"VmRSS"`, `"VmHWM"`, `"Threads"`, …; memory fields
/// are in KiB), or `None` if the process or the field is gone.
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `VmRSS` and `VmHWM` (peak) of a process in KiB (0 when unreadable).
pub fn rss_and_peak_kib(pid: u32) -> (u64, u64) {
    let get = |f| proc_status(pid, f).unwrap_or(0);
    (get("VmRSS"), get("VmHWM"))
}

/// The CPU time a process has used so far, all its threads (the sum of each thread's
/// `/proc/<pid>/task/<tid>/schedstat` run time, in nanoseconds: finer than `stat`'s 10 ms clock
/// ticks, so an idle process's few milliseconds a minute show). Threads that have exited are not
/// counted; `None` when the process is gone.
pub fn cpu_time(pid: u32) -> Option<std::time::Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Some(std::time::Duration::from_nanos(ns))
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn reads_fields_of_a_live_process_and_nothing_else() {
        let me = std::process::id();
        assert!(proc_status(me, "VmRSS").is_some_and(|k| k > 0));
        assert!(proc_status(me, "Threads").is_some_and(|n| n >= 1));
        assert_eq!(proc_status(me, "VmRS"), None, "a prefix is not a field");
        assert_eq!(proc_status(me, "NoSuchField"), None);
        let (rss, peak) = rss_and_peak_kib(me);
        assert!(rss > 0 && peak >= rss);
    }

    #[test]
    fn cpu_time_grows_while_a_process_works_and_is_none_once_it_is_gone() {
        let me = std::process::id();
        let before = cpu_time(me).expect("this process is alive");
        // Spin until the kernel has charged this thread more run time (a few scheduler ticks).
        let mut x = 0u64;
        while cpu_time(me).expect("alive") <= before {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        assert_eq!(cpu_time(pid), None, "a reaped process has no /proc entry");
    }
}
