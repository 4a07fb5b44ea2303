//! `tether`: the headless supervisor in the foreground, and a client for a running one.
//!
//! `tether run` supervises a gateway until SIGINT/SIGTERM (then stops it gracefully and exits 0),
//! serving the control socket; with `--events ndjson` it prints every supervisor event as one JSON
//! object per line on stdout. The other subcommands talk to whichever supervisor serves the
//! control socket of the state directory. Exit codes: 0 success; 1 error; 2 usage; 3 no
//! supervisor running; 4 refused by the supervisor (e.g. breaker open); `chat`: 5 the run was
//! aborted, 6 the run failed, 7 the run was interrupted by a gateway restart, 8 the gateway call
//! failed; `run`: 9 another supervisor (the desktop app or another `tether run`) already
//! supervises this state directory. This file only parses, prints and maps exits: every decision lives in the library.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};

use tether_supervisor::control::{
    self, ClientError, ControlClient, ControlRequest, Op, ServerLine,
};
use tether_supervisor::events::{ChatPhase, PhaseName, SupervisorEvent, ToolStatus};
use tether_supervisor::options::{self, Options};
use tether_supervisor::output::printable;
use tether_supervisor::policy::reload::ReloadMode;
use tether_supervisor::profile::GatewayKind;

const EXIT_ERROR: i32 = 1;
const EXIT_NOT_RUNNING: i32 = 3;
const EXIT_REFUSED: i32 = 4;
const EXIT_ABORTED: i32 = 5;
const EXIT_RUN_ERROR: i32 = 6;
const EXIT_INTERRUPTED: i32 = 7;
const EXIT_CALL_FAILED: i32 = 8;
const EXIT_ALREADY_SUPERVISED: i32 = 9;

#[derive(Parser, Debug)]
#[command(
    name = "tether",
    version,
    about = "Supervise an OpenClaw-compatible gateway, headless"
)]
struct Cli {
    /// Supervisor state directory (default: $XDG_DATA_HOME/tether or ~/.local/share/tether).
    #[arg(long, env = "TETHER_STATE_DIR", global = true)]
    state_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EventsFormat {
    /// One JSON object per line on stdout.
    Ndjson,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Supervise a gateway in the foreground until SIGINT/SIGTERM.
    Run {
        /// `tether`, `openclaw`, or the path of a tether-gateway compatible executable.
        #[arg(long, default_value = "tether")]
        gateway: String,
        /// Print every supervisor event on stdout.
        #[arg(long, value_enum)]
        events: Option<EventsFormat>,
        /// Fixed gateway port (default: a free loopback port).
        #[arg(long)]
        port: Option<u16>,
        /// Gateway config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Reload policy: off, hot, restart or hybrid.
        #[arg(long, default_value = "hybrid")]
        reload: ReloadMode,
    },
    /// Show the supervisor's status.
    Status {
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start the gateway (also: resume after a pause, retry after a failure).
    Start,
    /// Stop the gateway.
    Stop,
    /// Restart the gateway.
    Restart {
        /// Restart even if the restart governor's breaker is open.
        #[arg(long)]
        force: bool,
    },
    /// Reload the gateway's configuration.
    Reload,
    /// Send a chat message and stream the reply.
    Chat {
        /// Session key (default: the gateway's main session).
        #[arg(long)]
        session: Option<String>,
        /// Attach a file (repeatable): text is shown to the model, other files are saved in
        /// the agent workspace, images also go to a model that accepts them.
        #[arg(long = "attach", short = 'a', value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// The message.
        message: String,
    },
    /// Export the diagnostics journal as JSON.
    Diagnostics,
}

fn main() {
    // `tether __guard PROGRAM ARGS…`: the launcher's guardian process (see `guard`), not a
    // user command; it must start before anything else (no runtime, no logging).
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == tether_supervisor::guard::GUARD_ARG)
    {
        tether_supervisor::guard::main(args.collect());
    }
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TETHER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tether: cannot start the runtime: {e}");
            std::process::exit(EXIT_ERROR);
        }
    };
    let state_dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(options::default_state_dir);
    let code = runtime.block_on(async move {
        match cli.cmd {
            Cmd::Run {
                gateway,
                events,
                port,
                config,
                reload,
            } => {
                let gateway: GatewayKind = match gateway.parse() {
                    Ok(g) => g,
                    Err(never) => match never {},
                };
                run(
                    Options {
                        gateway,
                        state_dir,
                        port,
                        config,
                        reload,
                        upstream: None,
                    },
                    events.is_some(),
                )
                .await
            }
            cmd => client(&state_dir, cmd).await,
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(500));
    std::process::exit(code);
}

async fn run(opts: Options, ndjson: bool) -> i32 {
    let lock = match options::lock_instance(&opts.state_dir) {
        Ok(l) => l,
        Err(options::InstanceError::Held { dir, pid }) => {
            eprintln!("tether: {}", who_supervises(&dir, &pid).await);
            return EXIT_ALREADY_SUPERVISED;
        }
        Err(e) => {
            eprintln!("tether: {e}");
            return EXIT_ERROR;
        }
    };
    let (cfg, deps) = match options::build(&opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tether: {e}");
            return EXIT_ERROR;
        }
    };
    let (handle, mut join) = tether_supervisor::spawn(cfg, deps);
    let mut events = handle.subscribe();
    let socket = options::socket_path(&opts.state_dir);
    let server = match control::serve(&socket, handle.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tether: {e}");
            handle.shutdown().await;
            return EXIT_ERROR;
        }
    };
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => print_event(&ev, ndjson),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("tether: event printer lagged, {n} events skipped")
                }
                Err(_) => break,
            }
        }
    });
    let (Ok(mut sigint), Ok(mut sigterm)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("tether: cannot install signal handlers");
        return EXIT_ERROR;
    };
    if let Err(e) = handle.start().await {
        eprintln!("tether: {e}");
    }
    let code = tokio::select! {
        _ = sigint.recv() => 0,
        _ = sigterm.recv() => 0,
        _ = &mut join => {
            eprintln!("tether: the supervisor ended unexpectedly");
            EXIT_ERROR
        }
        why = lock.lost(Some(&socket)) => {
            // Nobody can reach this supervisor any more: stop rather than run on unseen.
            eprintln!("tether: {why}; stopping. Start again with `tether run`.");
            EXIT_ERROR
        }
    };
    if !ndjson {
        eprintln!("tether: stopping the gateway");
    }
    tokio::select! {
        () = handle.shutdown() => {}
        _ = sigint.recv() => eprintln!("tether: second signal, exiting at once"),
        _ = sigterm.recv() => eprintln!("tether: second signal, exiting at once"),
    }
    drop(server);
    drop(handle);
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    code
}

/// Says who holds the state directory, asking its control socket (the lock file has the pid).
async fn who_supervises(dir: &std::path::Path, lock_pid: &str) -> String {
    let hello = match ControlClient::connect(&options::socket_path(dir)).await {
        Ok(c) => Some(c.hello),
        Err(_) => None,
    };
    let (server, pid) = match hello {
        Some(ServerLine::Hello { server, pid, .. }) => (Some(server), pid.to_string()),
        _ => (None, lock_pid.to_owned()),
    };
    let who = match server.as_deref() {
        Some(control::SERVER_DESKTOP) => format!("the Tether desktop app (pid {pid})"),
        Some(_) => format!("another `tether run` (pid {pid})"),
        None => format!("another tether supervisor (pid {pid})"),
    };
    format!(
        "{who} already supervises {}; drive it with `tether status`, `tether chat`, `tether restart`, or stop it first",
        dir.display()
    )
}

fn print_event(ev: &SupervisorEvent, ndjson: bool) {
    if ndjson {
        let mut out = std::io::stdout().lock();
        if let Ok(s) = serde_json::to_string(ev) {
            let _ = writeln!(out, "{s}");
            let _ = out.flush();
        }
        return;
    }
    match ev {
        SupervisorEvent::Status(s) => {
            let mut line = format!("tether: {:?}", s.phase).to_lowercase();
            if let Some(pid) = s.pid {
                line.push_str(&format!(" pid {pid}"));
            }
            if let Some(port) = s.port {
                line.push_str(&format!(" port {port}"));
            }
            eprintln!("{line}: {}", s.reason);
        }
        SupervisorEvent::Governor(g) if g.override_available => {
            eprintln!(
                "tether: restart governor {:?}: {} (use `tether restart --force` to override)",
                g.state, g.reason
            )
        }
        SupervisorEvent::Log(l) if l.level >= tether_supervisor::output::Level::Warn => {
            eprintln!("gateway: {}", l.text)
        }
        _ => {}
    }
}

async fn connect(state_dir: &std::path::Path) -> Result<ControlClient, i32> {
    match ControlClient::connect(&options::socket_path(state_dir)).await {
        Ok(c) => Ok(c),
        Err(e @ ClientError::NotRunning(_)) => {
            match tether_supervisor::state_guard::holder_of(state_dir) {
                Some(pid) => eprintln!(
                    "tether: a supervisor (pid {pid}) runs for {} but its control socket is gone (was the state directory removed?)",
                    state_dir.display()
                ),
                None => eprintln!("tether: {e}"),
            }
            Err(EXIT_NOT_RUNNING)
        }
        Err(e) => {
            eprintln!("tether: {e}");
            Err(EXIT_ERROR)
        }
    }
}

fn fail(e: ClientError) -> i32 {
    eprintln!("tether: {e}");
    match e {
        ClientError::Failed(c) if c.code.is_call_failure() => EXIT_CALL_FAILED,
        ClientError::Failed(_) => EXIT_REFUSED,
        ClientError::NotRunning(_) => EXIT_NOT_RUNNING,
        _ => EXIT_ERROR,
    }
}

async fn client(state_dir: &std::path::Path, cmd: Cmd) -> i32 {
    let mut c = match connect(state_dir).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let simple = |v: Value| {
        println!(
            "{}",
            v.get("message").and_then(Value::as_str).unwrap_or("ok")
        );
        0
    };
    match cmd {
        Cmd::Run { .. } => EXIT_ERROR,
        Cmd::Status { json } => match c.op("status").await {
            Ok(v) if json => {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                0
            }
            Ok(v) => {
                print_status(&v);
                0
            }
            Err(e) => fail(e),
        },
        Cmd::Start => c.op("start").await.map_or_else(fail, simple),
        Cmd::Stop => c.op("stop").await.map_or_else(fail, simple),
        Cmd::Reload => c.op("reload").await.map_or_else(fail, simple),
        Cmd::Restart { force } => c
            .request(ControlRequest::new(Op::Restart { force }))
            .await
            .map_or_else(fail, simple),
        Cmd::Diagnostics => match c.op("diagnostics").await {
            Ok(v) => {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                0
            }
            Err(e) => fail(e),
        },
        Cmd::Chat {
            session,
            attach,
            message,
        } => chat(&mut c, session, &attach, message).await,
    }
}

fn print_status(v: &Value) {
    let s = &v["status"];
    let phase = s["phase"].as_str().unwrap_or("?");
    let mut line = format!("{phase}: {} gateway", s["gateway"].as_str().unwrap_or("?"));
    if let Some(pid) = s["pid"].as_u64() {
        line.push_str(&format!(", pid {pid}"));
    }
    if let Some(port) = s["port"].as_u64() {
        line.push_str(&format!(", 127.0.0.1:{port}"));
    }
    if s["owned"] == json!(false) && phase == "running" {
        line.push_str(" (attached: not started by Tether)");
    }
    println!("{line}");
    if let Some(server) = s.get("server").filter(|x| x.is_object()) {
        println!(
            "  gateway version {}, protocol {}",
            server["version"].as_str().unwrap_or("?"),
            server["protocol"]
        );
    }
    if let Some(r) = s["reason"].as_str().filter(|r| !r.is_empty()) {
        println!("  {r}");
    }
    let g = &v["governor"];
    println!(
        "  restart governor {}: {} ({} of {} restarts in the window)",
        g["state"].as_str().unwrap_or("?"),
        g["reason"].as_str().unwrap_or(""),
        g["restartsInWindow"],
        g["maxRestarts"]
    );
    if let Some(exit) = s.get("lastExit").filter(|x| x.is_object()) {
        println!("  last exit: {exit}");
    }
}

/// `chat.send` attachments from files: `{fileName, content}` (the gateway recognises the type).
fn read_attachments(paths: &[PathBuf]) -> Result<Vec<Value>, String> {
    use base64::Engine as _;
    let limit = tether_protocol::consts::MAX_ATTACHMENT_BYTES;
    let mut total = 0usize;
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if bytes.is_empty() {
            return Err(format!("{} is empty", p.display()));
        }
        total += bytes.len();
        if total > limit {
            return Err(format!(
                "the attachments are larger than the gateway accepts ({limit} bytes in total)"
            ));
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(json!({
            "fileName": name,
            "content": base64::engine::general_purpose::STANDARD.encode(&bytes),
        }));
    }
    Ok(out)
}

async fn chat(
    c: &mut ControlClient,
    session: Option<String>,
    attach: &[PathBuf],
    message: String,
) -> i32 {
    let attachments = match read_attachments(attach) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tether: {e}");
            return EXIT_ERROR;
        }
    };
    let session = match session {
        Some(s) => s,
        None => match c.op("status").await {
            Ok(v) => v["status"]["server"]["mainSessionKey"]
                .as_str()
                .unwrap_or("agent:main:main")
                .to_owned(),
            Err(e) => return fail(e),
        },
    };
    if let Err(e) = c.op("subscribe").await {
        return fail(e);
    }
    let run_id = uuid::Uuid::new_v4().to_string();
    let call = ControlRequest::new(Op::Call {
        method: Some("chat.send".into()),
        params: Some({
            let mut p =
                json!({"sessionKey": session, "message": message, "idempotencyKey": run_id});
            if !attachments.is_empty() {
                p["attachments"] = Value::Array(attachments);
            }
            p
        }),
        timeout_ms: Some(120_000),
    });
    let run_id = match c.request(call).await {
        Ok(ack) => ack["runId"].as_str().map_or(run_id, str::to_owned),
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout();
    loop {
        let line = match c.next().await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("\ntether: {e}");
                return EXIT_CALL_FAILED;
            }
        };
        let ServerLine::Event { event } = line else {
            continue;
        };
        match event {
            SupervisorEvent::Chat(u) if u.run_id == run_id => {
                // Model text: no raw escape sequence reaches the terminal.
                if u.replace {
                    let _ = write!(out, "\n{}", printable(&u.text, true));
                } else {
                    let _ = write!(out, "{}", printable(&u.delta, true));
                }
                let _ = out.flush();
                match u.state {
                    ChatPhase::Final => {
                        let _ = writeln!(out);
                        return 0;
                    }
                    ChatPhase::Aborted => {
                        eprintln!("\ntether: the run was aborted");
                        return EXIT_ABORTED;
                    }
                    ChatPhase::Error => {
                        eprintln!(
                            "\ntether: the run failed: {}",
                            printable(&u.error_message.unwrap_or_default(), true)
                        );
                        return EXIT_RUN_ERROR;
                    }
                    ChatPhase::Interrupted => {
                        eprintln!(
                            "\ntether: the run was interrupted: {}",
                            printable(&u.error_message.unwrap_or_default(), true)
                        );
                        return EXIT_INTERRUPTED;
                    }
                    ChatPhase::Status | ChatPhase::Delta => {}
                }
            }
            SupervisorEvent::Tool(t) if t.run_id == run_id => {
                let status = match t.status {
                    ToolStatus::Running => "running",
                    ToolStatus::Completed => "completed",
                    ToolStatus::Error => "error",
                };
                let mut line = format!("[tool {} {status}", printable(&t.name, false));
                if let Some(d) = t.duration_ms {
                    line.push_str(&format!(", {d} ms"));
                }
                line.push(']');
                if let Some(s) = t.summary {
                    line.push_str(&format!(" {}", printable(&s, false)));
                }
                eprintln!("\n{line}");
            }
            SupervisorEvent::Approval(a) => {
                eprintln!(
                    "\n[approval {:?}] {} {}",
                    a.state,
                    printable(&a.id, false),
                    printable(&a.command.unwrap_or_default(), false)
                );
            }
            SupervisorEvent::Status(s)
                if matches!(s.phase, PhaseName::Failed | PhaseName::Stopped) =>
            {
                eprintln!("\ntether: the gateway {:?}: {}", s.phase, s.reason);
            }
            _ => {}
        }
    }
}
