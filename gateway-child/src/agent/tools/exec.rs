//! The `exec` tool's process handling: one shell command in the workspace, in its own process
//! group, with a scrubbed environment, a capped output buffer, a timeout and abort.
//!
//! It owns the child process from spawn to reap. The whole process group is killed (SIGKILL)
//! on timeout, on abort, when the shell exits (so nothing it backgrounded outlives the call and
//! holds the output pipes open), and on drop. The environment starts empty and only a short
//! list of harmless variables is copied in, never one that names a secret or a variable a
//! provider `apiKey` refers to. It must never decide whether a command may run: approvals are
//! the caller's job (`approvals.rs`), and it must never block a tokio worker on the child.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Variables copied from the gateway's environment into the command's.
const PASSED_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR",
];

/// How the command ended.
#[derive(Debug, Clone)]
pub struct ExecOutcome {
    /// Captured stdout and stderr, interleaved in arrival order, capped.
    pub output: String,
    /// Exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// Killed because the timeout expired.
    pub timed_out: bool,
    /// Killed because the run was aborted.
    pub aborted: bool,
    /// Output beyond the cap was discarded.
    pub truncated: bool,
    /// Wall time.
    pub duration: Duration,
    /// The child's pid (= its process group id).
    pub pid: Option<u32>,
}

/// Kills a process group when dropped.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&self) {
        if let Some(pg) = self.0 {
            let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The scrubbed environment for commands: harmless variables only, minus any that a provider
/// `apiKey` names.
pub fn scrubbed_env(secret_names: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in std::env::vars() {
        let passed = PASSED_ENV.contains(&k.as_str()) || k.starts_with("LC_");
        let upper = k.to_ascii_uppercase();
        let secretish = ["TOKEN", "SECRET", "PASSWORD", "KEY", "CREDENTIAL"]
            .iter()
            .any(|w| upper.contains(w));
        if passed && !secretish && !secret_names.contains(&k) {
            out.push((k, v));
        }
    }
    if !out.iter().any(|(k, _)| k == "PATH") {
        out.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    }
    out
}

/// `bytes` as text (invalid UTF-8 replaced), at most `max` bytes of it, cut on a char boundary.
pub fn capped_text(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Runs `command` with `sh -c` in `cwd`. `on_output` gets the cumulative (capped) output
/// each time new output arrives, at most every `update_every`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    command: &str,
    cwd: &std::path::Path,
    env: &[(String, String)],
    timeout: Duration,
    max_output: usize,
    cancel: &CancellationToken,
    update_every: Duration,
    on_output: &mut (dyn FnMut(&str, Option<u32>) + Send),
) -> std::io::Result<ExecOutcome> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PWD", cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let guard = GroupGuard(pid.and_then(|p| i32::try_from(p).ok()));

    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
    let mut readers = 0;
    if let Some(mut out) = child.stdout.take() {
        readers += 1;
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = out.read(&mut buf).await {
                if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        });
    }
    if let Some(mut err) = child.stderr.take() {
        readers += 1;
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = err.read(&mut buf).await {
                if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut captured: Vec<u8> = Vec::new();
    let mut truncated = false;
    let mut status = None;
    let mut timed_out = false;
    let mut aborted = false;
    let mut last_update: Option<Instant> = None;
    let mut dirty = false;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut open_readers = readers;

    loop {
        if status.is_some() && open_readers == 0 {
            break;
        }
        tokio::select! {
            chunk = rx.recv(), if open_readers > 0 => match chunk {
                Some(bytes) => {
                    let room = max_output.saturating_sub(captured.len());
                    if bytes.len() > room {
                        truncated = true;
                    }
                    captured.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    dirty = true;
                    let due = last_update.is_none_or(|t| t.elapsed() >= update_every);
                    if due && !bytes.is_empty() && room > 0 {
                        on_output(&capped_text(&captured, max_output), pid);
                        last_update = Some(Instant::now());
                        dirty = false;
                    }
                }
                None => open_readers = 0,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s?);
                // Whatever the shell left running in its group goes with it.
                guard.kill();
            }
            _ = &mut deadline, if status.is_none() => {
                timed_out = true;
                guard.kill();
            }
            _ = cancel.cancelled(), if status.is_none() && !aborted => {
                aborted = true;
                guard.kill();
            }
        }
    }
    if dirty {
        on_output(&capped_text(&captured, max_output), pid);
    }
    // Invalid UTF-8 becomes U+FFFD (three bytes for one): the cap holds for the text, too.
    let mut output = capped_text(&captured, max_output);
    if output.len() < String::from_utf8_lossy(&captured).len() {
        truncated = true;
    }
    if truncated {
        output.push_str(&format!("\n[output truncated at {max_output} bytes]"));
    }
    let (exit_code, signal) = match status {
        Some(s) => {
            use std::os::unix::process::ExitStatusExt;
            (s.code(), s.signal())
        }
        None => (None, None),
    };
    drop(guard);
    Ok(ExecOutcome {
        output,
        exit_code,
        signal,
        timed_out,
        aborted,
        truncated,
        duration: started.elapsed(),
        pid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_cap_holds_after_invalid_utf8_is_replaced() {
        // Each invalid byte becomes a three-byte U+FFFD.
        let bytes = vec![0xff; 100];
        let text = capped_text(&bytes, 100);
        assert!(text.len() <= 100, "{}", text.len());
        assert_eq!(text.chars().count(), 33);
        assert_eq!(capped_text(b"plain", 100), "plain");
    }
}
