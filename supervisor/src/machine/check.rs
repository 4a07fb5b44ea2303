//! The table: from each phase that matters, each input that matters, the phase after and every
//! effect, in order. A row is `(phase, input, phase after, effects)`; effects are summarized by
//! [`summary`] so that a row reads as what the actor would do.

use std::time::{Duration, Instant};

use tether_protocol::{ErrorCode, ErrorShape};

use crate::events::{Headline, PhaseName, ServerSummary, SupervisorEvent};
use crate::policy::exit::{ExitStatus, Family, Hints};
use crate::policy::governor::BreakerState;
use crate::policy::governor::GovernorPolicy;

use super::*;

fn cfg() -> MachineConfig {
    MachineConfig::for_family(Family::Tether, "tether")
}

fn info(boot: &str, restart_rpc: bool) -> LinkInfo {
    LinkInfo {
        server: ServerSummary {
            version: "t".into(),
            protocol: 4,
            boot_id: Some(boot.into()),
            tick_interval_ms: 1000,
            main_session_key: None,
            restart_rpc,
        },
    }
}

/// One line per effect.
fn summary(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .map(|e| match e {
            Effect::Reply(Outcome::Accepted(m)) => format!("ok: {m}"),
            Effect::Reply(Outcome::Refused { code, .. }) => format!("refused: {}", code.as_str()),
            Effect::Probe { gen } => format!("probe {gen}"),
            Effect::Spawn { gen } => format!("spawn {gen}"),
            Effect::Connect { conn, port } => format!("connect {conn} {port}"),
            Effect::CloseLink => "close".into(),
            Effect::Signal { gen, sig } => format!("signal {gen} {sig:?}"),
            Effect::Ping => "ping".into(),
            Effect::RequestRestart => "restart rpc".into(),
            Effect::Reconcile { boot_changed } => format!("reconcile {boot_changed}"),
            Effect::InterruptRuns { reason } => format!("interrupt: {reason}"),
            Effect::Forget { gen } => format!("forget {gen}"),
            Effect::Emit(SupervisorEvent::Status(s)) => {
                format!("status {:?} {:?}: {}", s.phase, s.headline, s.reason)
            }
            Effect::Emit(SupervisorEvent::Governor(g)) => format!("governor {:?}", g.state),
            Effect::Emit(SupervisorEvent::Diagnostic(d)) => format!("diag {}", d.code),
            Effect::Emit(other) => format!("emit {}", other.kind()),
            Effect::Stopped => "stopped".into(),
        })
        .collect()
}

fn feed(m: &mut Machine, t: Instant, inputs: impl IntoIterator<Item = Input>) {
    for i in inputs {
        m.step(i, t);
    }
}

fn crash() -> ExitStatus {
    ExitStatus::signal(9)
}

/// A machine in the named situation at `t`.
fn at(situation: &str, t: Instant) -> Machine {
    let mut c = cfg();
    if situation == "breaker" {
        c.governor = GovernorPolicy {
            max_restarts: 0,
            ..GovernorPolicy::default()
        };
    }
    let mut m = Machine::new(c);
    let start = Input::Command(Command::Start);
    let spawn = [
        start.clone(),
        Input::Probed {
            gen: 1,
            found: None,
        },
        Input::Spawned {
            gen: 2,
            pid: Some(100),
            port: None,
        },
    ];
    let running = spawn.iter().cloned().chain([
        Input::Ready { gen: 2, port: 5000 },
        Input::Connected {
            conn: 1,
            info: info("b1", false),
        },
    ]);
    let attach = [
        start.clone(),
        Input::Probed {
            gen: 1,
            found: Some(Found::Gateway {
                port: 5000,
                pid: Some(9),
                owned: false,
            }),
        },
    ];
    let exited = |gen, status| Input::Exited {
        gen,
        status,
        hints: Hints::default(),
    };
    match situation {
        "stopped" => {}
        "probing" => feed(&mut m, t, [start]),
        "starting" => feed(&mut m, t, spawn),
        "attaching" => feed(&mut m, t, attach),
        "running" => feed(&mut m, t, running),
        "running-attached" => feed(
            &mut m,
            t,
            attach.into_iter().chain([Input::Connected {
                conn: 1,
                info: info("b1", true),
            }]),
        ),
        "reconnecting" => feed(
            &mut m,
            t,
            running.chain([Input::LinkClosed {
                conn: 1,
                code: None,
                reason: "eof".into(),
            }]),
        ),
        "backoff" => feed(
            &mut m,
            t,
            running.chain([exited(2, crash()), exited(3, ExitStatus::code(1))]),
        ),
        "stopping" => feed(&mut m, t, running.chain([Input::Command(Command::Stop)])),
        "paused" => feed(
            &mut m,
            t,
            spawn.into_iter().chain([
                Input::Ready { gen: 2, port: 5000 },
                Input::ConnectFailed {
                    conn: 1,
                    error: ConnectError::Rejected(refused()),
                },
            ]),
        ),
        "failed" => feed(&mut m, t, running.chain([exited(2, ExitStatus::code(78))])),
        "breaker" => feed(&mut m, t, running.chain([exited(2, crash())])),
        other => panic!("unknown situation {other}"),
    }
    m
}

fn refused() -> ErrorShape {
    let mut e = ErrorShape::new(ErrorCode::InvalidRequest, "unauthorized");
    e.retryable = Some(false);
    e
}

fn rate_limited() -> ErrorShape {
    let mut e = ErrorShape::new(ErrorCode::InvalidRequest, "too many failed attempts")
        .with_details(serde_json::json!({ "code": "AUTH_RATE_LIMITED" }));
    e.retry_after_ms = Some(30_000);
    e
}

/// The named input for `m` (current generation and connection), and when to feed it.
fn input(m: &Machine, name: &str, t: Instant) -> (Input, Instant) {
    let (gen, conn) = (m.generation(), m.connection());
    let exited = |status| Input::Exited {
        gen,
        status,
        hints: Hints::default(),
    };
    let failed = |error| Input::ConnectFailed { conn, error };
    let input = match name {
        "start" => Input::Command(Command::Start),
        "stop" => Input::Command(Command::Stop),
        "restart" => Input::Command(Command::Restart { force: false }),
        "restart --force" => Input::Command(Command::Restart { force: true }),
        "reload" => Input::Command(Command::Reload),
        "probed none" => Input::Probed { gen, found: None },
        "probed gateway" => Input::Probed {
            gen,
            found: Some(Found::Gateway {
                port: 6000,
                pid: Some(8),
                owned: true,
            }),
        },
        "probed foreign" => Input::Probed {
            gen,
            found: Some(Found::Foreign {
                port: 6000,
                holder: "nginx".into(),
            }),
        },
        "spawned" => Input::Spawned {
            gen,
            pid: Some(101),
            port: None,
        },
        "spawn failed" => Input::SpawnFailed {
            gen,
            error: "ENOENT".into(),
        },
        "ready" => Input::Ready { gen, port: 5001 },
        "crashed" => exited(crash()),
        "exited 78" => exited(ExitStatus::code(78)),
        "connected" => Input::Connected {
            conn,
            info: info("b2", false),
        },
        "transport error" => failed(ConnectError::Transport("refused".into())),
        "unavailable" => failed(ConnectError::Unavailable {
            retry_after: Some(Duration::from_millis(400)),
        }),
        "refused" => failed(ConnectError::Rejected(refused())),
        "rate limited" => failed(ConnectError::Rejected(rate_limited())),
        "frame" => Input::Frame { conn },
        "shutdown restart" => Input::Shutdown {
            conn,
            restart_expected: Some(Duration::from_millis(2000)),
        },
        "link closed" => Input::LinkClosed {
            conn,
            code: Some(1006),
            reason: "gone".into(),
        },
        "link closed 1012" => Input::LinkClosed {
            conn,
            code: Some(1012),
            reason: "restart".into(),
        },
        "tick" => Input::Tick,
        "deadline" => {
            return (
                Input::Tick,
                m.next_deadline().expect("a deadline in this phase"),
            )
        }
        other => panic!("unknown input {other}"),
    };
    (input, t)
}

/// Drives a machine to `situation`, feeds `input`, and compares the phase and the effects.
fn check(situation: &str, input_name: &str, phase: PhaseName, expected: &[&str]) {
    let t = Instant::now();
    let mut m = at(situation, t);
    let (i, when) = input(&m, input_name, t);
    let got = summary(&m.step(i, when));
    assert_eq!(
        (
            m.phase(),
            got.iter().map(String::as_str).collect::<Vec<_>>()
        ),
        (phase, expected.to_vec()),
        "{situation} + {input_name}"
    );
}

#[rustfmt::skip]
const TABLE: &[(&str, &str, PhaseName, &[&str])] = &[
    ("stopped", "start", PhaseName::Probing, &["ok: starting", "governor Closed", "probe 1", "status Probing Starting: start requested"]),
    ("stopped", "stop", PhaseName::Stopped, &["ok: stopping", "stopped"]),
    ("stopped", "restart", PhaseName::Probing, &["ok: not running: starting", "governor Closed", "probe 1", "status Probing Starting: restart requested while not running"]),
    ("stopped", "restart --force", PhaseName::Probing, &["ok: not running: starting", "governor Closed", "probe 1", "status Probing Starting: restart requested while not running"]),
    ("stopped", "reload", PhaseName::Stopped, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("stopped", "probed none", PhaseName::Stopped, &[]),
    ("stopped", "probed gateway", PhaseName::Stopped, &[]),
    ("stopped", "probed foreign", PhaseName::Stopped, &[]),
    ("stopped", "spawned", PhaseName::Stopped, &["status Stopped Stopped: spawned pid 101"]),
    ("stopped", "spawn failed", PhaseName::Stopped, &[]),
    ("stopped", "ready", PhaseName::Stopped, &[]),
    ("stopped", "crashed", PhaseName::Stopped, &["forget 0"]),
    ("stopped", "exited 78", PhaseName::Stopped, &["forget 0"]),
    ("stopped", "connected", PhaseName::Stopped, &["close"]),
    ("stopped", "transport error", PhaseName::Stopped, &[]),
    ("stopped", "unavailable", PhaseName::Stopped, &[]),
    ("stopped", "refused", PhaseName::Stopped, &[]),
    ("stopped", "rate limited", PhaseName::Stopped, &[]),
    ("stopped", "frame", PhaseName::Stopped, &[]),
    ("stopped", "shutdown restart", PhaseName::Stopped, &[]),
    ("stopped", "link closed", PhaseName::Stopped, &[]),
    ("stopped", "link closed 1012", PhaseName::Stopped, &[]),
    ("stopped", "tick", PhaseName::Stopped, &[]),
    ("probing", "start", PhaseName::Probing, &["ok: already started"]),
    ("probing", "stop", PhaseName::Stopped, &["ok: stopping", "interrupt: gateway stopped", "status Stopped Stopped: stop requested", "stopped"]),
    ("probing", "restart", PhaseName::Probing, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("probing", "restart --force", PhaseName::Probing, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("probing", "reload", PhaseName::Probing, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("probing", "probed none", PhaseName::Starting, &["spawn 2", "status Starting Starting: no running gateway found: spawning"]),
    ("probing", "probed gateway", PhaseName::Starting, &["connect 1 6000", "status Starting Starting: found a running gateway on port 6000 (pid 8): attaching"]),
    ("probing", "probed foreign", PhaseName::Failed, &["interrupt: port 6000 is in use by nginx, which is not a gateway; Tether will not touch it. Free the port or choose another one", "status Failed Failed: port 6000 is in use by nginx, which is not a gateway; Tether will not touch it. Free the port or choose another one"]),
    ("probing", "spawned", PhaseName::Probing, &["status Probing Starting: spawned pid 101"]),
    ("probing", "spawn failed", PhaseName::Probing, &[]),
    ("probing", "ready", PhaseName::Probing, &[]),
    ("probing", "crashed", PhaseName::Probing, &["forget 1"]),
    ("probing", "exited 78", PhaseName::Probing, &["forget 1"]),
    ("probing", "connected", PhaseName::Probing, &["close"]),
    ("probing", "transport error", PhaseName::Probing, &[]),
    ("probing", "unavailable", PhaseName::Probing, &[]),
    ("probing", "refused", PhaseName::Probing, &[]),
    ("probing", "rate limited", PhaseName::Probing, &[]),
    ("probing", "frame", PhaseName::Probing, &[]),
    ("probing", "shutdown restart", PhaseName::Probing, &[]),
    ("probing", "link closed", PhaseName::Probing, &[]),
    ("probing", "link closed 1012", PhaseName::Probing, &[]),
    ("probing", "tick", PhaseName::Probing, &[]),
    ("starting", "start", PhaseName::Starting, &["ok: already started"]),
    ("starting", "stop", PhaseName::Stopping, &["ok: stopping", "interrupt: gateway stopped by the user", "close", "signal 2 Term", "status Stopping Stopping: stop requested"]),
    ("starting", "restart", PhaseName::Starting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("starting", "restart --force", PhaseName::Starting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("starting", "reload", PhaseName::Starting, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("starting", "probed none", PhaseName::Starting, &[]),
    ("starting", "probed gateway", PhaseName::Starting, &[]),
    ("starting", "probed foreign", PhaseName::Starting, &[]),
    ("starting", "spawned", PhaseName::Starting, &["status Starting Starting: spawned pid 101"]),
    ("starting", "spawn failed", PhaseName::Failed, &["interrupt: could not start the gateway: ENOENT", "status Failed Failed: could not start the gateway: ENOENT"]),
    ("starting", "ready", PhaseName::Starting, &["connect 1 5001"]),
    ("starting", "crashed", PhaseName::Starting, &["forget 2", "close", "governor Closed", "spawn 3", "status Starting Restarting: respawning at once: gateway exited before it was ready (killed by signal 9)"]),
    ("starting", "exited 78", PhaseName::Failed, &["forget 2", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("starting", "connected", PhaseName::Starting, &["close"]),
    ("starting", "transport error", PhaseName::Starting, &[]),
    ("starting", "unavailable", PhaseName::Starting, &[]),
    ("starting", "refused", PhaseName::Paused, &["status Paused Paused: paused: INVALID_REQUEST: unauthorized"]),
    ("starting", "rate limited", PhaseName::Starting, &["status Starting Starting: the gateway is up but refuses logins from this machine for now (too many failed attempts, e.g. a client with a stale token): retrying in 30 s"]),
    ("starting", "frame", PhaseName::Starting, &[]),
    ("starting", "shutdown restart", PhaseName::Starting, &[]),
    ("starting", "link closed", PhaseName::Starting, &[]),
    ("starting", "link closed 1012", PhaseName::Starting, &[]),
    ("starting", "tick", PhaseName::Starting, &[]),
    ("starting", "deadline", PhaseName::Stopping, &["governor Closed", "close", "signal 2 Kill", "status Stopping Restarting: the gateway did not complete the handshake within 20 s"]),
    ("attaching", "start", PhaseName::Starting, &["ok: already started"]),
    ("attaching", "stop", PhaseName::Stopped, &["ok: stopping", "close", "interrupt: gateway stopped", "status Stopped Stopped: stop requested (the gateway was not started by Tether and keeps running)", "stopped"]),
    ("attaching", "restart", PhaseName::Starting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("attaching", "restart --force", PhaseName::Starting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("attaching", "reload", PhaseName::Starting, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("attaching", "probed none", PhaseName::Starting, &[]),
    ("attaching", "probed gateway", PhaseName::Starting, &[]),
    ("attaching", "probed foreign", PhaseName::Starting, &[]),
    ("attaching", "spawned", PhaseName::Starting, &["status Starting Starting: spawned pid 101"]),
    ("attaching", "spawn failed", PhaseName::Failed, &["interrupt: could not start the gateway: ENOENT", "status Failed Failed: could not start the gateway: ENOENT"]),
    ("attaching", "ready", PhaseName::Starting, &[]),
    ("attaching", "crashed", PhaseName::Starting, &["forget 1", "close", "governor Closed", "spawn 2", "status Starting Restarting: respawning at once: gateway exited before it was ready (killed by signal 9)"]),
    ("attaching", "exited 78", PhaseName::Failed, &["forget 1", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("attaching", "connected", PhaseName::Running, &["status Running Running: connected: hello-ok"]),
    ("attaching", "transport error", PhaseName::Starting, &[]),
    ("attaching", "unavailable", PhaseName::Starting, &[]),
    ("attaching", "refused", PhaseName::Failed, &["interrupt: a gateway is already running for this state on port 5000 (pid 9) but does not accept Tether's credentials: INVALID_REQUEST: unauthorized", "status Failed Failed: a gateway is already running for this state on port 5000 (pid 9) but does not accept Tether's credentials: INVALID_REQUEST: unauthorized"]),
    ("attaching", "rate limited", PhaseName::Starting, &["status Starting Starting: the gateway is up but refuses logins from this machine for now (too many failed attempts, e.g. a client with a stale token): retrying in 30 s"]),
    ("attaching", "frame", PhaseName::Starting, &[]),
    ("attaching", "shutdown restart", PhaseName::Starting, &[]),
    ("attaching", "link closed", PhaseName::Starting, &[]),
    ("attaching", "link closed 1012", PhaseName::Starting, &[]),
    ("attaching", "tick", PhaseName::Starting, &[]),
    ("attaching", "deadline", PhaseName::Failed, &["interrupt: a gateway answers on port 5000 but the gateway did not complete the handshake within 20 s", "status Failed Failed: a gateway answers on port 5000 but the gateway did not complete the handshake within 20 s"]),
    ("running", "start", PhaseName::Running, &["ok: already started"]),
    ("running", "stop", PhaseName::Stopping, &["ok: stopping", "interrupt: gateway stopped by the user", "close", "signal 2 Term", "status Stopping Stopping: stop requested"]),
    ("running", "restart", PhaseName::Stopping, &["ok: restarting", "governor Closed", "interrupt: gateway restarted", "close", "signal 2 Term", "status Stopping Restarting: explicit restart"]),
    ("running", "restart --force", PhaseName::Stopping, &["ok: restarting", "governor Closed", "interrupt: gateway restarted", "close", "signal 2 Term", "status Stopping Restarting: explicit restart"]),
    ("running", "reload", PhaseName::Running, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("running", "probed none", PhaseName::Running, &[]),
    ("running", "probed gateway", PhaseName::Running, &[]),
    ("running", "probed foreign", PhaseName::Running, &[]),
    ("running", "spawned", PhaseName::Running, &["status Running Running: spawned pid 101"]),
    ("running", "spawn failed", PhaseName::Running, &[]),
    ("running", "ready", PhaseName::Running, &[]),
    ("running", "crashed", PhaseName::Starting, &["forget 2", "close", "governor Closed", "spawn 3", "status Starting Restarting: respawning at once: gateway exited unexpectedly (killed by signal 9)"]),
    ("running", "exited 78", PhaseName::Failed, &["forget 2", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("running", "connected", PhaseName::Running, &["close"]),
    ("running", "transport error", PhaseName::Running, &[]),
    ("running", "unavailable", PhaseName::Running, &[]),
    ("running", "refused", PhaseName::Running, &[]),
    ("running", "rate limited", PhaseName::Running, &[]),
    ("running", "frame", PhaseName::Running, &[]),
    ("running", "shutdown restart", PhaseName::Running, &[]),
    ("running", "link closed", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: link lost (code 1006, gone)"]),
    ("running", "link closed 1012", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: link closed with 1012 (restart)"]),
    ("running", "tick", PhaseName::Running, &[]),
    ("running", "deadline", PhaseName::Running, &["ping"]),
    ("running-attached", "start", PhaseName::Running, &["ok: already started"]),
    ("running-attached", "stop", PhaseName::Stopped, &["ok: stopping", "close", "interrupt: gateway stopped", "status Stopped Stopped: stop requested (the gateway was not started by Tether and keeps running)", "stopped"]),
    ("running-attached", "restart", PhaseName::Running, &["ok: asked the gateway to restart itself", "governor Closed", "restart rpc"]),
    ("running-attached", "restart --force", PhaseName::Running, &["ok: asked the gateway to restart itself", "governor Closed", "restart rpc"]),
    ("running-attached", "reload", PhaseName::Running, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("running-attached", "probed none", PhaseName::Running, &[]),
    ("running-attached", "probed gateway", PhaseName::Running, &[]),
    ("running-attached", "probed foreign", PhaseName::Running, &[]),
    ("running-attached", "spawned", PhaseName::Running, &["status Running Running: spawned pid 101"]),
    ("running-attached", "spawn failed", PhaseName::Running, &[]),
    ("running-attached", "ready", PhaseName::Running, &[]),
    ("running-attached", "crashed", PhaseName::Starting, &["forget 1", "close", "governor Closed", "spawn 2", "status Starting Restarting: respawning at once: gateway exited unexpectedly (killed by signal 9)"]),
    ("running-attached", "exited 78", PhaseName::Failed, &["forget 1", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("running-attached", "connected", PhaseName::Running, &["close"]),
    ("running-attached", "transport error", PhaseName::Running, &[]),
    ("running-attached", "unavailable", PhaseName::Running, &[]),
    ("running-attached", "refused", PhaseName::Running, &[]),
    ("running-attached", "rate limited", PhaseName::Running, &[]),
    ("running-attached", "frame", PhaseName::Running, &[]),
    ("running-attached", "shutdown restart", PhaseName::Running, &[]),
    ("running-attached", "link closed", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: link lost (code 1006, gone)"]),
    ("running-attached", "link closed 1012", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: link closed with 1012 (restart)"]),
    ("running-attached", "tick", PhaseName::Running, &[]),
    ("running-attached", "deadline", PhaseName::Running, &["ping"]),
    ("reconnecting", "start", PhaseName::Reconnecting, &["ok: already started"]),
    ("reconnecting", "stop", PhaseName::Stopping, &["ok: stopping", "interrupt: gateway stopped by the user", "close", "signal 2 Term", "status Stopping Stopping: stop requested"]),
    ("reconnecting", "restart", PhaseName::Reconnecting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("reconnecting", "restart --force", PhaseName::Reconnecting, &["ok: deferred until the gateway is up", "diag restart_deferred"]),
    ("reconnecting", "reload", PhaseName::Reconnecting, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("reconnecting", "probed none", PhaseName::Reconnecting, &[]),
    ("reconnecting", "probed gateway", PhaseName::Reconnecting, &[]),
    ("reconnecting", "probed foreign", PhaseName::Reconnecting, &[]),
    ("reconnecting", "spawned", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: spawned pid 101"]),
    ("reconnecting", "spawn failed", PhaseName::Reconnecting, &[]),
    ("reconnecting", "ready", PhaseName::Reconnecting, &["connect 2 5001"]),
    ("reconnecting", "crashed", PhaseName::Starting, &["forget 2", "close", "governor Closed", "spawn 3", "status Starting Restarting: respawning at once: gateway exited unexpectedly (killed by signal 9)"]),
    ("reconnecting", "exited 78", PhaseName::Failed, &["forget 2", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("reconnecting", "connected", PhaseName::Running, &["reconcile true", "status Running Running: connected: hello-ok"]),
    ("reconnecting", "transport error", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: reconnect failed: transport: refused"]),
    ("reconnecting", "unavailable", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: reconnect failed: gateway starting"]),
    ("reconnecting", "refused", PhaseName::Paused, &["status Paused Paused: paused: INVALID_REQUEST: unauthorized"]),
    ("reconnecting", "rate limited", PhaseName::Reconnecting, &["status Reconnecting Reconnecting: the gateway is up but refuses logins from this machine for now (too many failed attempts, e.g. a client with a stale token): retrying in 30 s"]),
    ("reconnecting", "frame", PhaseName::Reconnecting, &[]),
    ("reconnecting", "shutdown restart", PhaseName::Reconnecting, &[]),
    ("reconnecting", "link closed", PhaseName::Reconnecting, &[]),
    ("reconnecting", "link closed 1012", PhaseName::Reconnecting, &[]),
    ("reconnecting", "tick", PhaseName::Reconnecting, &[]),
    ("reconnecting", "deadline", PhaseName::Reconnecting, &["connect 2 5000"]),
    ("backoff", "start", PhaseName::Probing, &["ok: starting", "governor Closed", "probe 4", "status Probing Restarting: start requested"]),
    ("backoff", "stop", PhaseName::Stopped, &["ok: stopping", "interrupt: gateway stopped", "status Stopped Stopped: stop requested", "stopped"]),
    ("backoff", "restart", PhaseName::Starting, &["ok: respawning now", "governor Closed", "spawn 4", "status Starting Restarting: restart requested during backoff"]),
    ("backoff", "restart --force", PhaseName::Starting, &["ok: respawning now", "governor Closed", "spawn 4", "status Starting Restarting: restart requested during backoff"]),
    ("backoff", "reload", PhaseName::Backoff, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("backoff", "probed none", PhaseName::Backoff, &[]),
    ("backoff", "probed gateway", PhaseName::Backoff, &[]),
    ("backoff", "probed foreign", PhaseName::Backoff, &[]),
    ("backoff", "spawned", PhaseName::Backoff, &["status Backoff Restarting: spawned pid 101"]),
    ("backoff", "spawn failed", PhaseName::Backoff, &[]),
    ("backoff", "ready", PhaseName::Backoff, &[]),
    ("backoff", "crashed", PhaseName::Backoff, &["forget 3"]),
    ("backoff", "exited 78", PhaseName::Backoff, &["forget 3"]),
    ("backoff", "connected", PhaseName::Backoff, &["close"]),
    ("backoff", "transport error", PhaseName::Backoff, &[]),
    ("backoff", "unavailable", PhaseName::Backoff, &[]),
    ("backoff", "refused", PhaseName::Backoff, &[]),
    ("backoff", "rate limited", PhaseName::Backoff, &[]),
    ("backoff", "frame", PhaseName::Backoff, &[]),
    ("backoff", "shutdown restart", PhaseName::Backoff, &[]),
    ("backoff", "link closed", PhaseName::Backoff, &[]),
    ("backoff", "link closed 1012", PhaseName::Backoff, &[]),
    ("backoff", "tick", PhaseName::Backoff, &[]),
    ("backoff", "deadline", PhaseName::Starting, &["spawn 4", "status Starting Restarting: backoff over: respawning"]),
    ("stopping", "start", PhaseName::Stopping, &["ok: will start once the stop completes"]),
    ("stopping", "stop", PhaseName::Stopping, &["ok: stopping"]),
    ("stopping", "restart", PhaseName::Stopping, &["ok: will start once the stop completes"]),
    ("stopping", "restart --force", PhaseName::Stopping, &["ok: will start once the stop completes"]),
    ("stopping", "reload", PhaseName::Stopping, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("stopping", "probed none", PhaseName::Stopping, &[]),
    ("stopping", "probed gateway", PhaseName::Stopping, &[]),
    ("stopping", "probed foreign", PhaseName::Stopping, &[]),
    ("stopping", "spawned", PhaseName::Stopping, &["status Stopping Stopping: spawned pid 101"]),
    ("stopping", "spawn failed", PhaseName::Stopping, &[]),
    ("stopping", "ready", PhaseName::Stopping, &[]),
    ("stopping", "crashed", PhaseName::Stopped, &["forget 2", "interrupt: gateway stopped", "status Stopped Stopped: gateway stopped (killed by signal 9)", "stopped"]),
    ("stopping", "exited 78", PhaseName::Stopped, &["forget 2", "interrupt: gateway stopped", "status Stopped Stopped: gateway stopped (exit code 78)", "stopped"]),
    ("stopping", "connected", PhaseName::Stopping, &["close"]),
    ("stopping", "transport error", PhaseName::Stopping, &[]),
    ("stopping", "unavailable", PhaseName::Stopping, &[]),
    ("stopping", "refused", PhaseName::Stopping, &[]),
    ("stopping", "rate limited", PhaseName::Stopping, &[]),
    ("stopping", "frame", PhaseName::Stopping, &[]),
    ("stopping", "shutdown restart", PhaseName::Stopping, &[]),
    ("stopping", "link closed", PhaseName::Stopping, &[]),
    ("stopping", "link closed 1012", PhaseName::Stopping, &[]),
    ("stopping", "tick", PhaseName::Stopping, &[]),
    ("stopping", "deadline", PhaseName::Stopping, &["signal 2 Kill", "diag stop_escalated"]),
    ("paused", "start", PhaseName::Reconnecting, &["ok: resuming", "connect 2 5000", "status Reconnecting Reconnecting: resumed by the user"]),
    ("paused", "stop", PhaseName::Stopping, &["ok: stopping", "interrupt: gateway stopped by the user", "close", "signal 2 Term", "status Stopping Stopping: stop requested"]),
    ("paused", "restart", PhaseName::Stopping, &["ok: restarting", "governor Closed", "interrupt: gateway restarted", "close", "signal 2 Term", "status Stopping Restarting: explicit restart"]),
    ("paused", "restart --force", PhaseName::Stopping, &["ok: restarting", "governor Closed", "interrupt: gateway restarted", "close", "signal 2 Term", "status Stopping Restarting: explicit restart"]),
    ("paused", "reload", PhaseName::Paused, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("paused", "probed none", PhaseName::Paused, &[]),
    ("paused", "probed gateway", PhaseName::Paused, &[]),
    ("paused", "probed foreign", PhaseName::Paused, &[]),
    ("paused", "spawned", PhaseName::Paused, &["status Paused Paused: spawned pid 101"]),
    ("paused", "spawn failed", PhaseName::Paused, &[]),
    ("paused", "ready", PhaseName::Paused, &[]),
    ("paused", "crashed", PhaseName::Starting, &["forget 2", "close", "governor Closed", "spawn 3", "status Starting Restarting: respawning at once: gateway exited unexpectedly (killed by signal 9)"]),
    ("paused", "exited 78", PhaseName::Failed, &["forget 2", "close", "interrupt: gateway refused its configuration (exit code 78)", "status Failed Failed: gateway refused its configuration (exit code 78)"]),
    ("paused", "connected", PhaseName::Paused, &["close"]),
    ("paused", "transport error", PhaseName::Paused, &[]),
    ("paused", "unavailable", PhaseName::Paused, &[]),
    ("paused", "refused", PhaseName::Paused, &[]),
    ("paused", "rate limited", PhaseName::Paused, &[]),
    ("paused", "frame", PhaseName::Paused, &[]),
    ("paused", "shutdown restart", PhaseName::Paused, &[]),
    ("paused", "link closed", PhaseName::Paused, &[]),
    ("paused", "link closed 1012", PhaseName::Paused, &[]),
    ("paused", "tick", PhaseName::Paused, &[]),
    ("failed", "start", PhaseName::Probing, &["ok: starting", "governor Closed", "probe 3", "status Probing Starting: start requested"]),
    ("failed", "stop", PhaseName::Stopped, &["ok: stopping", "interrupt: gateway stopped", "status Stopped Stopped: stop requested", "stopped"]),
    ("failed", "restart", PhaseName::Probing, &["ok: not running: starting", "governor Closed", "probe 3", "status Probing Starting: restart requested while not running"]),
    ("failed", "restart --force", PhaseName::Probing, &["ok: not running: starting", "governor Closed", "probe 3", "status Probing Starting: restart requested while not running"]),
    ("failed", "reload", PhaseName::Failed, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("failed", "probed none", PhaseName::Failed, &[]),
    ("failed", "probed gateway", PhaseName::Failed, &[]),
    ("failed", "probed foreign", PhaseName::Failed, &[]),
    ("failed", "spawned", PhaseName::Failed, &["status Failed Failed: spawned pid 101"]),
    ("failed", "spawn failed", PhaseName::Failed, &[]),
    ("failed", "ready", PhaseName::Failed, &[]),
    ("failed", "crashed", PhaseName::Failed, &["forget 2"]),
    ("failed", "exited 78", PhaseName::Failed, &["forget 2"]),
    ("failed", "connected", PhaseName::Failed, &["close"]),
    ("failed", "transport error", PhaseName::Failed, &[]),
    ("failed", "unavailable", PhaseName::Failed, &[]),
    ("failed", "refused", PhaseName::Failed, &[]),
    ("failed", "rate limited", PhaseName::Failed, &[]),
    ("failed", "frame", PhaseName::Failed, &[]),
    ("failed", "shutdown restart", PhaseName::Failed, &[]),
    ("failed", "link closed", PhaseName::Failed, &[]),
    ("failed", "link closed 1012", PhaseName::Failed, &[]),
    ("failed", "tick", PhaseName::Failed, &[]),
    ("breaker", "start", PhaseName::Probing, &["ok: starting", "governor Closed", "probe 3", "status Probing Starting: start requested"]),
    ("breaker", "stop", PhaseName::Stopped, &["ok: stopping", "interrupt: gateway stopped", "status Stopped Stopped: stop requested", "stopped"]),
    ("breaker", "restart", PhaseName::Failed, &["refused: breaker_open", "governor Open"]),
    ("breaker", "restart --force", PhaseName::Probing, &["ok: not running: starting", "governor Closed", "probe 3", "status Probing Starting: restart requested while not running"]),
    ("breaker", "reload", PhaseName::Failed, &["ok: reload scheduled (1200 ms debounce, policy Hybrid)"]),
    ("breaker", "probed none", PhaseName::Failed, &[]),
    ("breaker", "probed gateway", PhaseName::Failed, &[]),
    ("breaker", "probed foreign", PhaseName::Failed, &[]),
    ("breaker", "spawned", PhaseName::Failed, &["status Failed Failed: spawned pid 101"]),
    ("breaker", "spawn failed", PhaseName::Failed, &[]),
    ("breaker", "ready", PhaseName::Failed, &[]),
    ("breaker", "crashed", PhaseName::Failed, &["forget 2"]),
    ("breaker", "exited 78", PhaseName::Failed, &["forget 2"]),
    ("breaker", "connected", PhaseName::Failed, &["close"]),
    ("breaker", "transport error", PhaseName::Failed, &[]),
    ("breaker", "unavailable", PhaseName::Failed, &[]),
    ("breaker", "refused", PhaseName::Failed, &[]),
    ("breaker", "rate limited", PhaseName::Failed, &[]),
    ("breaker", "frame", PhaseName::Failed, &[]),
    ("breaker", "shutdown restart", PhaseName::Failed, &[]),
    ("breaker", "link closed", PhaseName::Failed, &[]),
    ("breaker", "link closed 1012", PhaseName::Failed, &[]),
    ("breaker", "tick", PhaseName::Failed, &[]),
    ("breaker", "deadline", PhaseName::Starting, &["governor HalfOpen", "spawn 3", "status Starting Starting: breaker cooldown over: trial start"]),
];

#[test]
fn every_phase_with_every_input() {
    for (situation, input, phase, effects) in TABLE {
        check(situation, input, *phase, effects);
    }
}

fn step(m: &mut Machine, input: Input, at: Instant) -> Vec<String> {
    summary(&m.step(input, at))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn an_announced_restart_that_never_comes_back_kills_the_owned_gateway() {
    let t = Instant::now();
    let mut m = at("running", t);
    let fx = step(
        &mut m,
        Input::Shutdown {
            conn: 1,
            restart_expected: Some(ms(2000)),
        },
        t,
    );
    assert!(fx.is_empty(), "{fx:?}");
    let fx = step(
        &mut m,
        Input::LinkClosed {
            conn: 1,
            code: Some(1012),
            reason: "restart".into(),
        },
        t,
    );
    assert_eq!(
        fx,
        ["status Reconnecting Reconnecting: gateway restarting in-process (expected back in 2000 ms)"]
    );
    assert_eq!(m.next_deadline(), Some(t + ms(50)));
    assert_eq!(step(&mut m, Input::Tick, t + ms(49)), Vec::<String>::new());
    assert_eq!(step(&mut m, Input::Tick, t + ms(50)), ["connect 2 5000"]);
    // Refusals while the announced restart is under way are expected: no status.
    let fx = step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(60),
    );
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(m.next_deadline(), Some(t + ms(110)));
    // Back in 2 s plus the 10 s grace, or killed.
    assert_eq!(
        step(&mut m, Input::Tick, t + ms(11_999)),
        ["connect 3 5000"]
    );
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 3,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(11_999),
    );
    let overdue = t + ms(12_000);
    assert_eq!(
        step(&mut m, Input::Tick, overdue),
        [
            "governor Closed",
            "close",
            "signal 2 Kill",
            "status Stopping Restarting: the gateway did not come back after its restart"
        ]
    );
    let fx = step(
        &mut m,
        Input::Exited {
            gen: 2,
            status: ExitStatus::signal(9),
            hints: Hints::default(),
        },
        overdue,
    );
    assert_eq!(
        fx,
        [
            "forget 2",
            "spawn 3",
            "status Starting Restarting: respawning at once: gateway killed (killed by signal 9) after crash"
        ]
    );
}

#[test]
fn an_announced_stop_then_1012_is_a_lost_link() {
    let t = Instant::now();
    let mut m = at("running", t);
    step(
        &mut m,
        Input::Shutdown {
            conn: 1,
            restart_expected: None,
        },
        t,
    );
    let fx = step(
        &mut m,
        Input::LinkClosed {
            conn: 1,
            code: Some(1012),
            reason: "bye".into(),
        },
        t,
    );
    assert_eq!(
        fx,
        ["status Reconnecting Reconnecting: link lost (code 1012, bye)"]
    );
    // No deadline for a restart: only the reconnect pace.
    assert_eq!(m.next_deadline(), Some(t + ms(50)));
}

#[test]
fn an_unannounced_1012_waits_for_the_grace_then_kills() {
    let t = Instant::now();
    let mut m = at("running", t);
    step(
        &mut m,
        Input::LinkClosed {
            conn: 1,
            code: Some(1012),
            reason: "restart".into(),
        },
        t,
    );
    assert_eq!(m.headline(), Headline::Reconnecting);
    let fx = step(&mut m, Input::Tick, t + ms(9_999));
    assert_eq!(fx, ["connect 2 5000"]);
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(9_999),
    );
    let fx = step(&mut m, Input::Tick, t + ms(10_000));
    assert_eq!(fx[..3], ["governor Closed", "close", "signal 2 Kill"]);
}

#[test]
fn an_answer_during_start_moves_the_handshake_deadline() {
    let t = Instant::now();
    // Unanswered: the ready deadline stands at 20 s.
    let mut m = at("starting", t);
    step(&mut m, Input::Ready { gen: 2, port: 5000 }, t);
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 1,
            error: ConnectError::Unavailable {
                retry_after: Some(ms(400)),
            },
        },
        t,
    );
    assert_eq!(m.next_deadline(), Some(t + ms(400)));
    assert_eq!(step(&mut m, Input::Tick, t + ms(399)), Vec::<String>::new());
    assert_eq!(step(&mut m, Input::Tick, t + ms(400)), ["connect 2 5000"]);
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(400),
    );
    assert_eq!(m.next_deadline(), Some(t + ms(450)));
    let fx = step(&mut m, Input::Tick, t + ms(20_000));
    assert_eq!(fx[..3], ["governor Closed", "close", "signal 2 Kill"]);

    // Answered (a refusal that can be retried): the deadline waits for the retry.
    let mut m = at("starting", t);
    step(&mut m, Input::Ready { gen: 2, port: 5000 }, t);
    let mut busy = ErrorShape::new(ErrorCode::Unavailable, "busy");
    busy.retry_after_ms = Some(1000);
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 1,
            error: ConnectError::Rejected(busy),
        },
        t,
    );
    assert_eq!(m.next_deadline(), Some(t + ms(1000)));
    assert_eq!(
        step(&mut m, Input::Tick, t + ms(20_000)),
        ["connect 2 5000"]
    );
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(20_000),
    );
    assert_eq!(step(&mut m, Input::Tick, t + ms(20_999)).len(), 1);
    let fx = step(&mut m, Input::Tick, t + ms(21_000));
    assert_eq!(fx[..3], ["governor Closed", "close", "signal 2 Kill"]);
}

#[test]
fn a_reconnect_failure_retries_at_the_backoff_pace_and_says_so() {
    let t = Instant::now();
    let mut m = at("reconnecting", t);
    assert_eq!(m.status("", t).retry_in_ms, Some(50));
    assert_eq!(step(&mut m, Input::Tick, t + ms(50)), ["connect 2 5000"]);
    assert_eq!(m.status("", t).retry_in_ms, None);
    let fx = step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(50),
    );
    assert_eq!(
        fx,
        ["status Reconnecting Reconnecting: reconnect failed: transport: refused"]
    );
    let next = m.next_deadline().expect("a retry");
    assert!(next >= t + ms(100), "at least the connect pace");
    assert_eq!(m.status("", t + ms(50)).attempt, Some(1));
}

#[test]
fn a_stable_run_closes_the_breaker_and_says_so() {
    let t = Instant::now();
    let mut m = at("breaker", t);
    let trial = m.next_deadline().expect("the cooldown");
    step(&mut m, Input::Tick, trial);
    step(
        &mut m,
        Input::Spawned {
            gen: 3,
            pid: Some(101),
            port: None,
        },
        trial,
    );
    step(&mut m, Input::Ready { gen: 3, port: 5000 }, trial);
    step(
        &mut m,
        Input::Connected {
            conn: 2,
            info: info("b2", false),
        },
        trial,
    );
    assert_eq!(m.governor().snapshot(trial).state, BreakerState::HalfOpen);
    let stable = trial + Duration::from_secs(60);
    // Frames keep the heartbeat quiet; only stability is left to notice.
    let mut at_ = trial;
    while at_ < stable {
        at_ = (at_ + ms(500)).min(stable);
        step(&mut m, Input::Frame { conn: 2 }, at_);
        let fx = step(&mut m, Input::Tick, at_);
        if at_ < stable {
            assert!(!fx.contains(&"governor Closed".to_string()), "{fx:?}");
        } else {
            assert_eq!(fx, ["governor Closed"]);
        }
    }
    assert_eq!(m.governor().snapshot(stable).state, BreakerState::Closed);
}

/// Ticks at each deadline until the phase changes; every effect on the way.
fn tick_until_phase_changes(m: &mut Machine) -> Vec<String> {
    let from = m.phase();
    let mut all = Vec::new();
    for _ in 0..20 {
        let at = m.next_deadline().expect("a deadline");
        all.extend(step(m, Input::Tick, at));
        if m.phase() != from {
            return all;
        }
    }
    panic!("still {from:?}: {all:?}");
}

#[test]
fn a_silent_owned_gateway_is_killed_and_an_attached_one_is_reconnected() {
    let t = Instant::now();
    let mut m = at("running", t);
    let fx = tick_until_phase_changes(&mut m);
    assert_eq!(m.phase(), PhaseName::Stopping);
    assert!(fx.contains(&"signal 2 Kill".to_string()), "{fx:?}");
    assert!(
        fx.last()
            .is_some_and(|s| s.ends_with("killing the wedged gateway")),
        "{fx:?}"
    );
    assert_eq!(m.counters().heartbeat_deaths, 1);

    let mut m = at("running-attached", t);
    let fx = tick_until_phase_changes(&mut m);
    assert_eq!(m.phase(), PhaseName::Reconnecting);
    assert_eq!(m.connection(), 2, "the dead link's callbacks are stale");
    assert!(!fx.iter().any(|e| e.starts_with("signal")), "{fx:?}");
    assert!(fx.contains(&"close".to_string()), "{fx:?}");
    assert!(
        fx.last().is_some_and(|s| s.ends_with(": reconnecting")),
        "{fx:?}"
    );
}

#[test]
fn after_a_stop_the_plan_decides() {
    let t = Instant::now();
    let exited = |gen| Input::Exited {
        gen,
        status: ExitStatus::code(0),
        hints: Hints::default(),
    };
    // restart → stop → exit: spawn again, on the way back.
    let mut m = at("running", t);
    step(&mut m, Input::Command(Command::Restart { force: false }), t);
    let fx = step(&mut m, exited(2), t);
    assert_eq!(
        fx,
        [
            "forget 2",
            "spawn 3",
            "status Starting Restarting: gateway stopped (exit code 0); restarting"
        ]
    );
    assert_eq!((m.counters().exits, m.counters().spawns), (1, 2));
    // stop, then start while stopping: start afresh, breaker closed.
    let mut m = at("stopping", t);
    step(&mut m, Input::Command(Command::Start), t);
    let fx = step(&mut m, exited(2), t);
    assert_eq!(
        fx,
        [
            "forget 2",
            "spawn 3",
            "status Starting Starting: gateway stopped (exit code 0); starting again"
        ]
    );
}

#[test]
fn a_reload_takes_the_cheapest_way_the_gateway_offers() {
    let t = Instant::now();
    let fire = |m: &mut Machine| {
        step(m, Input::Command(Command::Reload), t);
        // The debounce's trailing edge (the heartbeat's ping is due too).
        let at = t + ms(1200);
        step(m, Input::Tick, at)
    };
    let mut m = at("running", t);
    assert_eq!(
        fire(&mut m),
        [
            "diag reload_fired",
            "diag reload",
            "signal 2 Restart(Usr1)",
            "ping"
        ]
    );
    let mut m = at("running-attached", t);
    assert_eq!(
        fire(&mut m),
        ["diag reload_fired", "diag reload", "restart rpc", "ping"]
    );
    let mut m = at("failed", t);
    assert_eq!(fire(&mut m), ["diag reload_fired", "diag reload_ignored"]);
    let mut m = at("starting", t);
    assert_eq!(fire(&mut m), ["diag reload_fired", "diag reload_deferred"]);
    // Executed once the gateway is up.
    step(&mut m, Input::Ready { gen: 2, port: 5000 }, t);
    let fx = step(
        &mut m,
        Input::Connected {
            conn: 1,
            info: info("b1", false),
        },
        t,
    );
    assert_eq!(
        fx,
        [
            "status Running Running: connected: hello-ok",
            "diag deferred_restart_executed",
            "diag reload",
            "signal 2 Restart(Usr1)"
        ]
    );
}

#[test]
fn the_reload_policy_off_refuses() {
    let t = Instant::now();
    let mut c = cfg();
    c.reload_mode = crate::policy::reload::ReloadMode::Off;
    let mut m = Machine::new(c);
    let fx = step(&mut m, Input::Command(Command::Reload), t);
    assert_eq!(fx, ["refused: reload_off"]);
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn coalesced_reloads_are_counted() {
    let t = Instant::now();
    let mut m = at("running", t);
    step(&mut m, Input::Command(Command::Reload), t);
    step(&mut m, Input::Command(Command::Reload), t + ms(10));
    step(&mut m, Input::Command(Command::Reload), t + ms(20));
    assert_eq!(m.counters().reloads_coalesced, 2);
}

#[test]
fn a_stop_moves_past_the_link_and_the_generation() {
    let t = Instant::now();
    let mut m = at("running-attached", t);
    assert_eq!((m.generation(), m.connection()), (1, 1));
    step(&mut m, Input::Command(Command::Stop), t);
    assert_eq!((m.generation(), m.connection()), (2, 2));
    let fx = step(
        &mut m,
        Input::LinkClosed {
            conn: 1,
            code: None,
            reason: "closed".into(),
        },
        t,
    );
    assert_eq!(fx, ["diag stale_callback"]);
}

#[test]
fn a_forced_restart_deferred_while_starting_stays_forced() {
    let t = Instant::now();
    let mut c = cfg();
    c.governor = GovernorPolicy {
        max_restarts: 0,
        ..GovernorPolicy::default()
    };
    let mut m = Machine::new(c);
    feed(
        &mut m,
        t,
        [
            Input::Command(Command::Start),
            Input::Probed {
                gen: 1,
                found: None,
            },
            Input::Spawned {
                gen: 2,
                pid: Some(100),
                port: None,
            },
        ],
    );
    step(&mut m, Input::Command(Command::Restart { force: true }), t);
    step(&mut m, Input::Command(Command::Restart { force: false }), t);
    assert_eq!(m.counters().deferred, 2);
    step(&mut m, Input::Ready { gen: 2, port: 5000 }, t);
    let fx = step(
        &mut m,
        Input::Connected {
            conn: 1,
            info: info("b1", false),
        },
        t,
    );
    // Forced: executed although the breaker allows no restart at all.
    assert_eq!(
        fx,
        [
            "status Running Running: connected: hello-ok",
            "diag deferred_restart_executed",
            "ok: restarting",
            "governor Closed",
            "interrupt: gateway restarted",
            "close",
            "signal 2 Term",
            "status Stopping Restarting: explicit restart"
        ]
    );
}

#[test]
fn a_restart_while_stopping_keeps_a_restart_and_turns_a_stop_into_a_start() {
    let t = Instant::now();
    let exited = Input::Exited {
        gen: 2,
        status: ExitStatus::code(0),
        hints: Hints::default(),
    };
    let mut m = at("running", t);
    step(&mut m, Input::Command(Command::Restart { force: false }), t);
    step(&mut m, Input::Command(Command::Restart { force: false }), t);
    let fx = step(&mut m, exited.clone(), t);
    assert_eq!(
        fx.last().map(String::as_str),
        Some("status Starting Restarting: gateway stopped (exit code 0); restarting")
    );
    let mut m = at("stopping", t);
    step(&mut m, Input::Command(Command::Restart { force: false }), t);
    let fx = step(&mut m, exited, t);
    assert_eq!(
        fx.last().map(String::as_str),
        Some("status Starting Starting: gateway stopped (exit code 0); starting again")
    );
}

#[test]
fn a_gateway_tether_did_not_start_and_that_offers_no_restart_rpc_is_not_restarted() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    feed(
        &mut m,
        t,
        [
            Input::Command(Command::Start),
            Input::Probed {
                gen: 1,
                found: Some(Found::Gateway {
                    port: 5000,
                    pid: Some(9),
                    owned: false,
                }),
            },
            Input::Connected {
                conn: 1,
                info: info("b1", false),
            },
        ],
    );
    assert_eq!(
        step(&mut m, Input::Command(Command::Restart { force: false }), t),
        ["refused: not_owned"]
    );
    // Nor signalled for a reload: the full restart it would take is refused, quietly.
    step(&mut m, Input::Command(Command::Reload), t);
    let fx = step(&mut m, Input::Tick, t + ms(1200));
    assert!(!fx.iter().any(|e| e.starts_with("signal")), "{fx:?}");
    assert_eq!(fx[..1], ["diag reload_fired"]);
}

#[test]
fn a_reload_without_a_hot_way_is_a_full_restart_without_a_reply() {
    let t = Instant::now();
    let mut c = cfg();
    c.restart_signal = None;
    let mut m = Machine::new(c);
    feed(
        &mut m,
        t,
        [
            Input::Command(Command::Start),
            Input::Probed {
                gen: 1,
                found: None,
            },
            Input::Spawned {
                gen: 2,
                pid: Some(100),
                port: None,
            },
            Input::Ready { gen: 2, port: 5000 },
            Input::Connected {
                conn: 1,
                info: info("b1", false),
            },
        ],
    );
    step(&mut m, Input::Command(Command::Reload), t);
    let fx = step(&mut m, Input::Tick, t + ms(1200));
    assert_eq!(
        fx,
        [
            "diag reload_fired",
            "governor Closed",
            "interrupt: gateway restarted",
            "close",
            "signal 2 Term",
            "status Stopping Restarting: reload restart"
        ]
    );
    assert_eq!(m.governor().snapshot(t).reason, "reload restart");
}

#[test]
fn a_reload_deferred_while_starting_is_counted() {
    let t = Instant::now();
    let mut m = at("starting", t);
    step(&mut m, Input::Command(Command::Reload), t);
    step(&mut m, Input::Tick, t + ms(1200));
    assert_eq!(m.counters().deferred, 1);
}

#[test]
fn family_defaults() {
    let ours = MachineConfig::for_family(Family::Tether, "tether");
    let upstream = MachineConfig::for_family(Family::OpenClaw, "openclaw");
    assert!(ours.waits_for_ready_line);
    assert!(!upstream.waits_for_ready_line);
    assert_eq!(
        (ours.restart_signal, upstream.restart_signal),
        (
            Some(crate::policy::reload::RestartSignal::Usr1),
            Some(crate::policy::reload::RestartSignal::Usr2)
        )
    );
    assert_eq!(
        (ours.ready_timeout, upstream.ready_timeout),
        (Duration::from_secs(20), Duration::from_secs(60))
    );
    assert_eq!(
        (ours.connect_retry, upstream.connect_retry),
        (ms(50), ms(250))
    );
    assert_eq!(
        (ours.restart_grace, upstream.restart_grace),
        (Duration::from_secs(10), Duration::from_secs(20))
    );
    assert_eq!(ours.gateway_label, "tether");
}

#[test]
fn failures_are_counted_until_the_gateway_runs() {
    let t = Instant::now();
    let m = at("backoff", t);
    assert_eq!(m.backoff_failures(), 2);
    let mut m = at("reconnecting", t);
    step(&mut m, Input::Tick, t + ms(50));
    step(
        &mut m,
        Input::ConnectFailed {
            conn: 2,
            error: ConnectError::Transport("refused".into()),
        },
        t + ms(50),
    );
    assert_eq!(m.backoff_failures(), 1);
}

#[test]
fn a_restart_asked_during_an_in_process_restart_is_dropped_once_the_new_boot_answers() {
    let t = Instant::now();
    let reconnect = |m: &mut Machine, boot: &str, at_: Instant| {
        step(
            m,
            Input::Shutdown {
                conn: 1,
                restart_expected: Some(ms(2000)),
            },
            t,
        );
        step(
            m,
            Input::LinkClosed {
                conn: 1,
                code: Some(1012),
                reason: "restart".into(),
            },
            t,
        );
        step(
            m,
            Input::Command(Command::Restart { force: false }),
            t + ms(10),
        );
        step(m, Input::Tick, t + ms(50));
        step(
            m,
            Input::Connected {
                conn: 2,
                info: info(boot, false),
            },
            at_,
        )
    };
    // A new boot after the request re-read the config: the restart is not needed.
    let mut m = at("running", t);
    let fx = reconnect(&mut m, "b2", t + ms(100));
    assert!(
        fx.contains(&"diag deferred_restart_dropped".to_string()),
        "{fx:?}"
    );
    assert_eq!(m.counters().connects, 2);
    // The same boot answering again (the restart never happened): the restart runs.
    let mut m = at("running", t);
    let fx = reconnect(&mut m, "b1", t + ms(100));
    assert!(
        fx.contains(&"diag deferred_restart_executed".to_string()),
        "{fx:?}"
    );
    assert!(fx.contains(&"reconcile false".to_string()), "{fx:?}");
}

#[test]
fn credentials_refused_by_a_gateway_tether_owns_pause_instead_of_failing() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    feed(
        &mut m,
        t,
        [
            Input::Command(Command::Start),
            Input::Probed {
                gen: 1,
                found: Some(Found::Gateway {
                    port: 5000,
                    pid: Some(9),
                    owned: true,
                }),
            },
        ],
    );
    let fx = step(
        &mut m,
        Input::ConnectFailed {
            conn: 1,
            error: ConnectError::Rejected(refused()),
        },
        t,
    );
    assert_eq!(
        fx,
        ["status Paused Paused: paused: INVALID_REQUEST: unauthorized"]
    );
    assert_eq!(m.counters().connect_failures, 1);
}

#[test]
fn a_link_that_dies_after_an_announced_restart_is_on_its_way_back() {
    let t = Instant::now();
    let mut m = at("running-attached", t);
    step(
        &mut m,
        Input::Shutdown {
            conn: 1,
            restart_expected: Some(ms(2000)),
        },
        t,
    );
    // No close arrives: the heartbeat declares the link dead.
    let fx = tick_until_phase_changes(&mut m);
    assert_eq!(m.phase(), PhaseName::Reconnecting);
    assert!(
        fx.last()
            .is_some_and(|s| s.starts_with("status Reconnecting Restarting: heartbeat")),
        "{fx:?}"
    );
    assert_eq!(m.headline(), Headline::Restarting);
}

#[test]
fn an_overdue_restart_of_a_gateway_tether_did_not_start_is_only_reported() {
    let t = Instant::now();
    let mut m = at("running-attached", t);
    step(
        &mut m,
        Input::Shutdown {
            conn: 1,
            restart_expected: Some(ms(2000)),
        },
        t,
    );
    step(
        &mut m,
        Input::LinkClosed {
            conn: 1,
            code: Some(1012),
            reason: "restart".into(),
        },
        t,
    );
    assert_eq!(
        step(&mut m, Input::Tick, t + ms(12_000)),
        ["diag restart_overdue"]
    );
    assert_eq!(m.phase(), PhaseName::Reconnecting);
}

#[test]
fn after_a_heartbeat_death_the_reconnect_waits_for_the_backoff() {
    let t = Instant::now();
    let mut m = at("running-attached", t);
    for _ in 0..20 {
        let at_ = m.next_deadline().expect("a deadline");
        let fx = step(&mut m, Input::Tick, at_);
        if m.phase() == PhaseName::Reconnecting {
            let retry = m.next_deadline().expect("a retry");
            assert!(retry >= at_ + ms(50), "{retry:?} vs {at_:?}");
            assert!(
                fx.last().is_some_and(|s| s.contains(": heartbeat: ")
                    && (s.contains("no frame from the gateway for")
                        || s.contains("ping unanswered for"))),
                "{fx:?}"
            );
            return;
        }
    }
    panic!("the heartbeat never declared the link dead");
}

#[test]
fn after_sigkill_the_stop_waits_for_the_quit_budget() {
    let t = Instant::now();
    let mut m = at("stopping", t);
    assert_eq!(
        step(&mut m, Input::Tick, t + ms(5_000)),
        ["signal 2 Kill", "diag stop_escalated"]
    );
    assert_eq!(
        step(&mut m, Input::Tick, t + ms(7_999)),
        Vec::<String>::new()
    );
    let fx = step(&mut m, Input::Tick, t + ms(8_000));
    assert_eq!(fx[0], "diag stop_gave_up");
    assert_eq!(m.phase(), PhaseName::Stopped);
}

#[test]
fn the_breaker_trial_starts_at_its_instant_and_not_before() {
    let t = Instant::now();
    let mut m = at("breaker", t);
    let trial = m.next_deadline().expect("the cooldown");
    let before = m.governor().snapshot(t).suppressed_total;
    assert_eq!(
        step(&mut m, Input::Tick, trial - ms(1)),
        Vec::<String>::new()
    );
    assert_eq!(m.governor().snapshot(t).suppressed_total, before);
    assert_eq!(m.next_deadline(), Some(trial));
    let fx = step(&mut m, Input::Tick, trial + ms(1));
    assert!(fx.contains(&"spawn 3".to_string()), "{fx:?}");
}

#[test]
fn a_respawned_child_is_a_new_boot_even_when_it_looks_the_same() {
    let t = Instant::now();
    let mut m = at("running", t);
    let fx = step(
        &mut m,
        Input::Exited {
            gen: 2,
            status: ExitStatus::signal(9),
            hints: Hints::default(),
        },
        t,
    );
    assert!(fx.contains(&"spawn 3".to_string()), "{fx:?}");
    // Same pid and boot id as before (a recycled pid, a gateway without boot ids).
    feed(
        &mut m,
        t,
        [
            Input::Spawned {
                gen: 3,
                pid: Some(100),
                port: None,
            },
            Input::Ready { gen: 3, port: 5000 },
        ],
    );
    let fx = step(
        &mut m,
        Input::Connected {
            conn: 2,
            info: info("b1", false),
        },
        t,
    );
    assert_eq!(fx[0], "reconcile true");
}
