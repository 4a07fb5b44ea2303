//! The actor with fake seams and paused time: the lifecycle scenarios of issue 4, deterministic.

use std::time::Duration;

use serde_json::json;
use tokio::sync::broadcast;

use tether_protocol::ErrorShape;
use tether_supervisor::events::DiagnosticCode;
use tether_supervisor::events::{ChatPhase, PhaseName, ProblemCode, SupervisorEvent};
use tether_supervisor::machine::{MachineConfig, Sig};
use tether_supervisor::policy::exit::{ExitStatus, Family};
use tether_supervisor::policy::governor::BreakerState;
use tether_supervisor::testing::{ConnectScript, LaunchScript, World};
use tether_supervisor::{spawn, SupervisorConfig, SupervisorHandle};

fn config() -> SupervisorConfig {
    let mut m = MachineConfig::for_family(Family::Tether, "tether");
    m.seed = 42;
    m.reload_debounce = Duration::from_millis(300);
    SupervisorConfig::new(m)
}

fn start(world: &World) -> (SupervisorHandle, broadcast::Receiver<SupervisorEvent>) {
    let (h, _join) = spawn(config(), world.deps());
    let rx = h.subscribe();
    (h, rx)
}

/// Waits (in virtual time) for the first event matching `pred`.
async fn wait_for(
    rx: &mut broadcast::Receiver<SupervisorEvent>,
    what: &str,
    pred: impl Fn(&SupervisorEvent) -> bool,
) -> SupervisorEvent {
    let fut = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended while waiting for {what}: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3600), fut)
        .await
        .unwrap_or_else(|_| panic!("no {what} within an hour of virtual time"))
}

fn phase_is(p: PhaseName) -> impl Fn(&SupervisorEvent) -> bool {
    move |e| matches!(e, SupervisorEvent::Status(s) if s.phase == p)
}

#[tokio::test(start_paused = true)]
async fn start_reaches_running_and_stop_is_graceful() {
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    let snap = h.status().await.unwrap();
    assert_eq!(snap.status.pid, Some(1000));
    assert_eq!(snap.status.port, Some(4000));
    assert!(snap.status.owned);
    assert_eq!(
        h.call("health", json!({})).await.unwrap(),
        json!({"ok": true})
    );
    h.stop().await.unwrap();
    assert_eq!(world.signals(0), vec![Sig::Term]);
    assert_eq!(h.status().await.unwrap().status.phase, PhaseName::Stopped);
}

#[tokio::test(start_paused = true)]
async fn crash_loop_backs_off_with_jitter_then_the_breaker_opens() {
    let world = World::new();
    world.default_launch(LaunchScript::ExitAtOnce(1));
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    let open = wait_for(
        &mut rx,
        "breaker open",
        |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Open),
    )
    .await;
    let SupervisorEvent::Governor(g) = open else {
        unreachable!()
    };
    assert!(g.override_available);
    assert!(g.reason.contains("breaker open"), "{}", g.reason);
    // First start + 5 governed respawns; the 6th was suppressed: no restart storm.
    assert_eq!(world.launches(), 6);
    let snap = h.status().await.unwrap();
    assert_eq!(snap.status.phase, PhaseName::Failed);
    assert_eq!(snap.status.problem, Some(ProblemCode::BreakerOpen));
    // A plain restart is refused while the breaker is open (only --force overrides it).
    let refused = h.restart(false).await.unwrap_err();
    assert_eq!(
        refused.code,
        tether_supervisor::handle::RefusedCode::BreakerOpen
    );
    assert!(refused.message.contains("--force"), "{}", refused.message);
    assert_eq!(world.launches(), 6);
    // The journal shows the backoff delays: first respawn immediate, then within doubling ceilings.
    let diag = h.diagnostics().await.unwrap();
    let delays: Vec<u64> = diag["journal"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "status" && e["event"]["phase"] == "backoff")
        .map(|e| e["event"]["retryInMs"].as_u64().unwrap())
        .collect();
    assert_eq!(delays.len(), 4, "{delays:?}");
    for (d, ceiling) in delays.iter().zip([500u64, 1000, 2000, 4000]) {
        assert!(*d <= ceiling && *d >= 50, "{delays:?}");
    }
    // Nothing happens until the cooldown is over; then one trial, which fails: open again.
    wait_for(&mut rx, "re-open after trial", |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Open && g.trips == 2)).await;
    assert_eq!(world.launches(), 7);
    // "Restart anyway" executes at once and resets the breaker.
    world.default_launch(LaunchScript::Ready(4001));
    h.restart(true).await.unwrap();
    wait_for(
        &mut rx,
        "running after override",
        phase_is(PhaseName::Running),
    )
    .await;
    assert_eq!(
        h.status().await.unwrap().governor.state,
        BreakerState::Closed
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_trial_that_stays_up_closes_the_breaker() {
    let world = World::new();
    world.script_launches((0..6).map(|_| LaunchScript::ExitAtOnce(1)));
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(
        &mut rx,
        "open",
        |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Open),
    )
    .await;
    wait_for(
        &mut rx,
        "half-open trial",
        |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::HalfOpen),
    )
    .await;
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    wait_for(
        &mut rx,
        "closed after a stable run",
        |e| matches!(e, SupervisorEvent::Governor(g) if g.state == BreakerState::Closed),
    )
    .await;
    assert!(h.restart(false).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn heartbeat_kills_a_wedged_gateway_and_respawns() {
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    world.set_wedged(true);
    wait_for(
        &mut rx,
        "heartbeat verdict",
        |e| matches!(e, SupervisorEvent::Status(s) if s.reason.contains("heartbeat")),
    )
    .await;
    world.set_wedged(false);
    wait_for(&mut rx, "running again", phase_is(PhaseName::Running)).await;
    assert_eq!(
        world.signals(0),
        vec![Sig::Kill],
        "a wedged gateway gets SIGKILL at once"
    );
    assert_eq!(world.launches(), 2);
    assert_eq!(h.status().await.unwrap().counters["heartbeatDeaths"], 1);
}

#[tokio::test(start_paused = true)]
async fn reloads_are_debounced_into_one_hot_restart() {
    let world = World::new();
    world.advertise(&["health", "gateway.restart.request"]);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    for _ in 0..5 {
        h.reload().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for(
        &mut rx,
        "reload fired",
        |e| matches!(e, SupervisorEvent::Diagnostic(d) if d.code == DiagnosticCode::ReloadFired),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarts = world
        .requests(0)
        .iter()
        .filter(|m| *m == "gateway.restart.request")
        .count();
    assert_eq!(restarts, 1);
    assert_eq!(h.status().await.unwrap().counters["reloadsCoalesced"], 4);
    assert_eq!(world.launches(), 1, "a hot reload keeps the process");
}

#[tokio::test(start_paused = true)]
async fn reload_without_rpc_signals_the_owned_process() {
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    h.reload().await.unwrap();
    wait_for(
        &mut rx,
        "reload fired",
        |e| matches!(e, SupervisorEvent::Diagnostic(d) if d.code == DiagnosticCode::ReloadFired),
    )
    .await;
    assert_eq!(
        world.signals(0),
        vec![Sig::Restart(
            tether_supervisor::profile::RestartSignal::Usr1
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn restart_while_starting_is_deferred_then_executed() {
    let world = World::new();
    world.script_connects([
        ConnectScript::Unavailable,
        ConnectScript::Unavailable,
        ConnectScript::Unavailable,
    ]);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "starting", phase_is(PhaseName::Starting)).await;
    let reply = h.restart(false).await.unwrap();
    assert!(reply.contains("deferred"), "{reply}");
    wait_for(
        &mut rx,
        "deferred restart executed",
        |e| matches!(e, SupervisorEvent::Diagnostic(d) if d.code == DiagnosticCode::DeferredRestartExecuted),
    )
    .await;
    wait_for(&mut rx, "running again", phase_is(PhaseName::Running)).await;
    assert_eq!(
        world.signals(0),
        vec![Sig::Term],
        "the just-started process was not killed mid-start"
    );
    assert_eq!(world.launches(), 2);
    assert!(world.connect_attempts() >= 5);
}

#[tokio::test(start_paused = true)]
async fn stale_callbacks_are_dropped() {
    let world = World::new();
    world.script_connects([ConnectScript::SlowHello {
        delay_ms: 5000,
        tick_ms: 1000,
    }]);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "starting", phase_is(PhaseName::Starting)).await;
    h.stop().await.unwrap();
    // The slow handshake completes after the stop: it belongs to a dead connection.
    wait_for(
        &mut rx,
        "stale callback",
        |e| matches!(e, SupervisorEvent::Diagnostic(d) if d.code == DiagnosticCode::StaleCallback),
    )
    .await;
    let snap = h.status().await.unwrap();
    assert_eq!(snap.status.phase, PhaseName::Stopped);
    assert_eq!(snap.counters["staleDropped"], 1);
}

#[tokio::test(start_paused = true)]
async fn auth_error_pauses_instead_of_looping() {
    let world = World::new();
    let mismatch = ErrorShape::invalid_request("unauthorized: gateway token mismatch")
        .with_details(json!({"code": "AUTH_TOKEN_MISMATCH"}));
    world.script_connects([ConnectScript::Reject(mismatch)]);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    let paused = wait_for(&mut rx, "paused", phase_is(PhaseName::Paused)).await;
    let SupervisorEvent::Status(s) = paused else {
        unreachable!()
    };
    assert_eq!(s.problem, Some(ProblemCode::Auth));
    assert!(s.reason.contains("AUTH_TOKEN_MISMATCH"), "{}", s.reason);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(world.connect_attempts(), 1, "no retry loop while paused");
    h.start().await.unwrap();
    wait_for(
        &mut rx,
        "running after resume",
        phase_is(PhaseName::Running),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn stop_escalates_to_sigkill_within_the_quit_budget() {
    let world = World::new();
    world.set_ignore_term(true);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    let t0 = tokio::time::Instant::now();
    h.stop().await.unwrap();
    let took = t0.elapsed();
    assert_eq!(world.signals(0), vec![Sig::Term, Sig::Kill]);
    assert!(
        took <= Duration::from_secs(8),
        "virtual {took:?} beyond the quit budget"
    );
}

#[tokio::test(start_paused = true)]
async fn crash_mid_stream_marks_the_run_interrupted() {
    let world = World::new();
    world.script_connects([
        ConnectScript::Hello {
            tick_ms: 1000,
            boot_id: "b1".into(),
        },
        ConnectScript::Hello {
            tick_ms: 1000,
            boot_id: "b2".into(),
        },
    ]);
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    let delta = |seq: u64, text: &str| {
        json!({"runId":"run-1","sessionKey":"agent:main:main","seq":seq,"state":"delta",
        "message":{"role":"assistant","content":[{"type":"text","text":text}]}})
    };
    world.event(0, "chat", delta(1, "Hello"));
    world.event(0, "chat", delta(2, "Hello wor"));
    wait_for(
        &mut rx,
        "delta",
        |e| matches!(e, SupervisorEvent::Chat(c) if c.delta == " wor"),
    )
    .await;
    world.exit(0, ExitStatus::signal(9));
    let ev = wait_for(
        &mut rx,
        "interrupted",
        |e| matches!(e, SupervisorEvent::Chat(c) if c.state == ChatPhase::Interrupted),
    )
    .await;
    let SupervisorEvent::Chat(c) = ev else {
        unreachable!()
    };
    assert_eq!(c.text, "Hello wor");
    assert_eq!(world.launches(), 2);
    assert!(world.requests(1).contains(&"chat.history".to_string()));
}

#[tokio::test(start_paused = true)]
async fn pending_calls_fail_at_once_when_the_link_drops() {
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    world.set_wedged(true);
    let h2 = h.clone();
    let call = tokio::spawn(async move {
        h2.call_with_timeout("status", json!({}), Duration::from_secs(3600))
            .await
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    world.close(0, 1006, "gone");
    let err = call.await.unwrap().unwrap_err();
    assert!(
        matches!(err, tether_supervisor::CallError::Disconnected(ref m) if m == "status"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn config_error_is_final_and_visible() {
    let world = World::new();
    world.default_launch(LaunchScript::ExitAtOnce(78));
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    let ev = wait_for(&mut rx, "failed", phase_is(PhaseName::Failed)).await;
    let SupervisorEvent::Status(s) = ev else {
        unreachable!()
    };
    assert_eq!(s.problem, Some(ProblemCode::ConfigError));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(world.launches(), 1);
}

/// After an in-process restart the gateway answers the reconnect with a rate limit (a stale
/// client flooded it with wrong tokens): it is alive, so it is waited out and said so, never
/// killed as "did not come back".
#[tokio::test(start_paused = true)]
async fn a_rate_limited_reconnect_is_waited_out_not_killed() {
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    let mut limited = ErrorShape::invalid_request(
        "unauthorized: too many failed authentication attempts (retry later)",
    )
    .with_details(json!({"code": "AUTH_RATE_LIMITED"}));
    limited.retryable = Some(true);
    limited.retry_after_ms = Some(300_000);
    world.script_connects([ConnectScript::Reject(limited)]);
    world.close(0, 1012, "service restart");
    let ev = wait_for(&mut rx, "rate-limit status", |e| {
        matches!(e, SupervisorEvent::Status(s) if s.reason.contains("refuses logins from this machine"))
    })
    .await;
    let SupervisorEvent::Status(s) = ev else {
        unreachable!()
    };
    assert_eq!(s.phase, PhaseName::Reconnecting, "{s:?}");
    assert!(s.reason.contains("retrying in 300 s"), "{}", s.reason);
    // The lockout ends; the next attempt gets in, on the same process.
    wait_for(&mut rx, "running again", phase_is(PhaseName::Running)).await;
    assert!(world.signals(0).is_empty(), "{:?}", world.signals(0));
    assert_eq!(world.launches(), 1);
    assert_eq!(h.status().await.unwrap().governor.restarts_in_window, 0);
}
