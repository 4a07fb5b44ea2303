//! The process: lock, config, listener, and the loop of runs.
//!
//! [`main`] takes the instance lock (exit 10 if another gateway holds it), loads and checks the
//! config (exit 78), binds the port (exit 11 if taken), then runs [`server::run`] again and again:
//! an in-process restart is a value returned by the run, not a re-exec. The listener is kept across
//! restarts unless the port or bind changed, so connections made during a restart wait in the
//! backlog instead of being refused. Each run announces itself with one JSON line on stdout and
//! rewrites the lock file. Fatal problems are reported on stderr (and in the log) with their code.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::credentials::EnvSecrets;
use crate::config::settings::{Overrides, Resolver, Settings};
use crate::process::cli::RunArgs;
use crate::process::clock::now_ms;
use crate::process::fatal::{Fatal, EXIT_OK};
use crate::process::listen::Listeners;
use crate::process::lock::{InstanceLock, LockError, LockInfo};
use crate::process::logging::{self, LogSink};
use crate::process::paths::{PathEnv, Paths};
use crate::server::{self, Exit, Launch, Ready, STRAGGLER_DEADLINE};
use crate::socket::rate_limit::{AuthLimiter, WriteLimiter};

/// The gateway's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The readiness line printed on stdout when a run is ready.
pub fn ready_line(port: u16, pid: u32, boot_id: &str) -> String {
    serde_json::json!({
        "event": "ready",
        "port": port,
        "pid": pid,
        "bootId": boot_id,
        "version": VERSION,
    })
    .to_string()
}

async fn bind(addr: SocketAddr) -> Result<Listeners, Fatal> {
    Listeners::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            Fatal::PortInUse {
                port: addr.port(),
                addr,
            }
        } else {
            Fatal::Other(format!("cannot listen on {addr}: {e}"))
        }
    })
}

/// Runs the gateway process; returns the exit code.
pub async fn main(args: RunArgs, env: EnvSecrets) -> u8 {
    let sink = LogSink::new();
    logging::init(sink.clone());
    match run_process(args, env, sink).await {
        Ok(()) => EXIT_OK,
        Err(fatal) => {
            error!("{fatal}");
            fatal.exit_code()
        }
    }
}

/// Raises the soft limit on open files to the hard limit (at most [`OPEN_FILES_WANTED`]).
/// Every client, provider connection and open transcript is a file descriptor, and desktop
/// sessions often start with a soft limit of 1024 (256 on macOS) under a much higher hard one.
/// Failure only means the gateway keeps the limit it was given.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let want = hard.min(OPEN_FILES_WANTED);
    if soft >= want {
        return;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, want, hard) {
        Ok(()) => info!(from = soft, to = want, "raised the open-file limit"),
        Err(e) => warn!(soft, hard, error = %e, "cannot raise the open-file limit"),
    }
}

/// The soft open-file limit the gateway asks for (if the hard limit allows it).
pub const OPEN_FILES_WANTED: u64 = 65_536;

async fn run_process(args: RunArgs, env: EnvSecrets, sink: LogSink) -> Result<(), Fatal> {
    raise_open_file_limit();
    let (control_tx, mut control_rx) = mpsc::channel(8);
    let _signals = crate::process::signals::install(control_tx)
        .map_err(|e| Fatal::Other(format!("cannot install signal handlers: {e}")))?;

    let paths = Paths::resolve(
        args.state_dir.as_deref(),
        args.config.as_deref(),
        &PathEnv::from_process(),
    )
    .map_err(Fatal::Other)?;
    paths.create_dirs().map_err(|e| {
        Fatal::Other(format!(
            "cannot create the state directory {}: {e}",
            paths.state_dir.display()
        ))
    })?;
    for note in paths.check_private().map_err(Fatal::UnsafeState)? {
        warn!("{note}");
    }

    let pid = std::process::id();
    let started_at_ms = now_ms();
    let lock = InstanceLock::acquire(
        &paths.lock,
        LockInfo {
            pid,
            port: None,
            started_at_ms,
            version: VERSION.to_owned(),
            boot_id: String::new(),
        },
    )
    .map_err(|e| match e {
        LockError::Held(info) => Fatal::AlreadyRunning {
            pid: info.as_ref().map(|i| i.pid),
            port: info.and_then(|i| i.port),
        },
        LockError::Io { .. } => Fatal::Other(e.to_string()),
    })?;
    if let Err(e) = sink.attach_file(&paths.log) {
        warn!(path = %paths.log.display(), error = %e, "cannot write the log file; logging to stderr only");
    }
    info!(
        version = VERSION,
        pid,
        state_dir = %paths.state_dir.display(),
        config = %paths.config.display(),
        "starting"
    );
    match &env.isolated {
        Some(crate::process::environ::Isolated::Moved(n)) if *n > 0 => info!(
            variables = n,
            "private environment variables kept in memory, out of /proc/<pid>/environ"
        ),
        Some(crate::process::environ::Isolated::Failed(e)) => warn!(
            error = %e,
            "cannot re-execute with a clean environment; private variables stay visible in /proc/<pid>/environ"
        ),
        _ => {}
    }
    if env.dropped_password_var {
        warn!("OPENCLAW_GATEWAY_PASSWORD is not read (use --password-file); removed from the environment");
    }
    if args.allow_unconfigured {
        info!("--allow-unconfigured accepted (Tether needs no gateway.mode)");
    }

    let resolver = Arc::new(Resolver {
        paths,
        overrides: Overrides {
            port: args.port,
            bind: args.bind.map(Into::into),
            auth: args.auth.map(Into::into),
            token: args.token.map(tether_protocol::Secret::new),
            token_file: args.token_file,
            password_file: args.password_file,
        },
        env,
    });
    // A stop signal while the config loads stops the start (a slow file never makes the process
    // deaf to SIGTERM).
    let load = resolver.load_async();
    tokio::pin!(load);
    let mut settings = loop {
        tokio::select! {
            loaded = &mut load => break loaded?,
            ctl = control_rx.recv() => match ctl {
                Some(crate::server::Control::Stop) | None => {
                    info!("stopped while starting");
                    return Ok(());
                }
                Some(crate::server::Control::Restart { .. }) => {}
            },
        }
    };
    let mut listener = bind(settings.listen_addr()).await?;

    let lock = Arc::new(Mutex::new(lock));
    let restart_began: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let launch = Launch {
        resolver: Arc::clone(&resolver),
        log: sink.clone(),
        pid,
        started_at_ms,
        version: VERSION,
        limiter: Arc::new(Mutex::new(AuthLimiter::new())),
        writes: Arc::new(Mutex::new(WriteLimiter::new())),
        on_ready: {
            let lock = Arc::clone(&lock);
            let restart_began = Arc::clone(&restart_began);
            Box::new(move |ready: &Ready| {
                if let Err(e) = lock
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .update(Some(ready.port), &ready.boot_id)
                {
                    warn!(error = %e, "cannot update the lock file");
                }
                let line = ready_line(ready.port, ready.pid, &ready.boot_id);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
                if let Some(began) = restart_began
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    info!(
                        ms = began.elapsed().as_secs_f64() * 1000.0,
                        "restarted in-process"
                    );
                }
            })
        },
    };

    let mut generation = 0u32;
    let mut reapers: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    loop {
        let finished = server::run(
            &listener,
            settings.clone(),
            &mut control_rx,
            &launch,
            generation,
        )
        .await
        .map_err(|e| Fatal::Other(e.to_string()))?;
        match finished.exit {
            Exit::Stopped => {
                finished.stragglers.finish(STRAGGLER_DEADLINE).await;
                for r in reapers {
                    let _ = r.await;
                }
                info!("stopped");
                return Ok(());
            }
            Exit::Restart(next) => {
                *restart_began.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(Instant::now());
                reapers.retain(|r| !r.is_finished());
                reapers.push(tokio::spawn(finished.stragglers.finish(STRAGGLER_DEADLINE)));
                let mut next = *next;
                if settings.needs_rebind(&next) {
                    listener = rebind(listener, &settings, &mut next).await?;
                }
                settings = next;
                generation += 1;
            }
        }
    }
}

/// Moves to the address of `next`; keeps the old listener (and says so) if that fails.
async fn rebind(
    old: Listeners,
    current: &Settings,
    next: &mut Settings,
) -> Result<Listeners, Fatal> {
    let addr = next.listen_addr();
    match bind(addr).await {
        Ok(l) => {
            info!(addr = %addr, "listening on a new address");
            return Ok(l);
        }
        Err(Fatal::PortInUse { .. }) if addr.port() == current.port || addr.port() == 0 => {
            // Same port, other interface: the old socket is in the way; release it first.
            let old_addr = old.local_addr().ok();
            drop(old);
            match bind(addr).await {
                Ok(l) => return Ok(l),
                Err(e) => {
                    warn!(error = %e, "cannot move the listener; going back");
                    next.port = current.port;
                    next.bind = current.bind;
                    return match old_addr {
                        Some(a) => bind(a).await,
                        None => bind(current.listen_addr()).await,
                    };
                }
            }
        }
        Err(e) => {
            error!(error = %e, "cannot move the listener; keeping the current address");
        }
    }
    next.port = current.port;
    next.bind = current.bind;
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readiness_line_is_one_json_object() {
        let line = ready_line(18789, 42, "b-1");
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "ready");
        assert_eq!(v["port"], 18789);
        assert_eq!(v["pid"], 42);
        assert_eq!(v["bootId"], "b-1");
    }
}
