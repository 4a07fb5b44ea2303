//! The machine's unit tests: scenarios driven input by input with explicit instants.

use std::time::{Duration, Instant};

use crate::events::DiagnosticCode;
use crate::events::{
    Headline, PhaseName, ProblemCode, ServerSummary, StatusEvent, SupervisorEvent,
};
use crate::policy::exit::{ExitStatus, Family, Hints};

use super::*;

fn cfg() -> MachineConfig {
    MachineConfig::for_family(Family::Tether, "tether")
}

fn info(boot: &str) -> LinkInfo {
    LinkInfo {
        server: ServerSummary {
            version: "t".into(),
            protocol: 4,
            boot_id: Some(boot.into()),
            tick_interval_ms: 1000,
            main_session_key: None,
            restart_rpc: false,
        },
    }
}

fn has(fx: &[Effect], pred: impl Fn(&Effect) -> bool) -> bool {
    fx.iter().any(pred)
}

/// Drives the machine to Running with gen 1 / conn 1.
fn running(m: &mut Machine, t: Instant) {
    m.step(Input::Command(Command::Start), t);
    m.step(
        Input::Probed {
            gen: 1,
            found: None,
        },
        t,
    );
    m.step(
        Input::Spawned {
            gen: 2,
            pid: Some(100),
            port: None,
        },
        t,
    );
    let fx = m.step(Input::Ready { gen: 2, port: 5000 }, t);
    assert!(has(&fx, |e| matches!(
        e,
        Effect::Connect {
            conn: 1,
            port: 5000
        }
    )));
    m.step(
        Input::Connected {
            conn: 1,
            info: info("b1"),
        },
        t,
    );
    assert_eq!(m.phase(), PhaseName::Running);
}

#[test]
fn start_probes_spawns_waits_ready_connects() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    let fx = m.step(Input::Command(Command::Start), t);
    assert!(has(&fx, |e| matches!(e, Effect::Probe { gen: 1 })));
    let fx = m.step(
        Input::Probed {
            gen: 1,
            found: None,
        },
        t,
    );
    assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 2 })));
    running(&mut Machine::new(cfg()), t);
}

fn statuses(fx: &[Effect]) -> Vec<StatusEvent> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Emit(SupervisorEvent::Status(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn headlines_say_starting_first_and_restarting_on_the_way_back() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    let fx = m.step(Input::Command(Command::Start), t);
    assert_eq!(statuses(&fx)[0].headline, Headline::Starting);
    m.step(
        Input::Probed {
            gen: 1,
            found: None,
        },
        t,
    );
    assert_eq!(
        m.headline(),
        Headline::Starting,
        "a first start is not a restart"
    );
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    assert_eq!(m.headline(), Headline::Running);
    // A crash: respawned at once, straight to starting, and that start is a restart.
    let crash = m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::signal(9),
            hints: Hints::default(),
        },
        t,
    );
    let s = statuses(&crash);
    assert_eq!(s.last().unwrap().phase, PhaseName::Starting);
    assert_eq!(s.last().unwrap().headline, Headline::Restarting);
    // Back up: running again, and the flag is gone.
    m.step(
        Input::Spawned {
            gen: 3,
            pid: Some(101),
            port: None,
        },
        t,
    );
    m.step(Input::Ready { gen: 3, port: 5000 }, t);
    m.step(
        Input::Connected {
            conn: 2,
            info: info("b2"),
        },
        t,
    );
    assert_eq!(m.headline(), Headline::Running);
    // The user's restart: stopping (for a restart), then starting, both "restarting".
    let fx = m.step(Input::Command(Command::Restart { force: false }), t);
    assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Restarting);
    let fx = m.step(
        Input::Exited {
            gen: 3,
            status: ExitStatus::signal(15),
            hints: Hints::default(),
        },
        t,
    );
    assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Restarting);
    // The user's stop is "stopping", then "stopped"; a start after it is a plain start.
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    let fx = m.step(Input::Command(Command::Stop), t);
    assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Stopping);
    let fx = m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::code(0),
            hints: Hints::default(),
        },
        t,
    );
    assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Stopped);
    let fx = m.step(Input::Command(Command::Start), t);
    assert_eq!(statuses(&fx).last().unwrap().headline, Headline::Starting);
}

#[test]
fn the_phase_start_moves_only_when_the_phase_changes() {
    let t0 = Instant::now();
    let mut m = Machine::new(cfg());
    assert_eq!(m.phase_entered(), None);
    m.step(Input::Command(Command::Start), t0);
    assert_eq!(m.phase_entered(), Some(t0));
    let t1 = t0 + Duration::from_millis(5);
    m.step(
        Input::Probed {
            gen: 1,
            found: None,
        },
        t1,
    );
    assert_eq!(m.phase_entered(), Some(t1), "probing → starting");
    let t2 = t1 + Duration::from_millis(5);
    m.step(
        Input::Spawned {
            gen: 2,
            pid: Some(7),
            port: None,
        },
        t2,
    );
    assert_eq!(
        m.phase_entered(),
        Some(t1),
        "still starting: the same phase"
    );
}

#[test]
fn a_crash_alerts_and_a_requested_restart_does_not() {
    use crate::events::Alert;
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    let before = m.status("", t);
    let crash = statuses(&m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::signal(9),
            hints: Hints::default(),
        },
        t,
    ));
    assert_eq!(crash[0].alert_after(Some(&before)), Some(Alert::Crashed));
    // Reported again (same phase, same generation): no second alert.
    assert_eq!(crash[0].alert_after(Some(&crash[0])), None);
    m.step(
        Input::Spawned {
            gen: 3,
            pid: Some(101),
            port: None,
        },
        t,
    );
    m.step(Input::Ready { gen: 3, port: 5000 }, t);
    m.step(
        Input::Connected {
            conn: 2,
            info: info("b2"),
        },
        t,
    );
    let mut prev = m.status("", t);
    let mut steps = statuses(&m.step(Input::Command(Command::Restart { force: false }), t));
    steps.extend(statuses(&m.step(
        Input::Exited {
            gen: 3,
            status: ExitStatus::signal(15),
            hints: Hints::default(),
        },
        t,
    )));
    for s in steps {
        assert_eq!(s.alert_after(Some(&prev)), None, "{s:?}");
        prev = s;
    }
}

#[test]
fn stale_generation_is_dropped() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    let fx = m.step(
        Input::Exited {
            gen: 1,
            status: ExitStatus::code(1),
            hints: Hints::default(),
        },
        t,
    );
    assert!(has(
        &fx,
        |e| matches!(e, Effect::Emit(SupervisorEvent::Diagnostic(d)) if d.code == DiagnosticCode::StaleCallback)
    ));
    assert_eq!(m.phase(), PhaseName::Running);
    assert_eq!(m.counters().stale_dropped, 1);
}

#[test]
fn crash_respawns_at_once_then_backs_off() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    let fx = m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::signal(9),
            hints: Hints::default(),
        },
        t,
    );
    assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 3 })));
    let fx = m.step(
        Input::Exited {
            gen: 3,
            status: ExitStatus::code(1),
            hints: Hints::default(),
        },
        t,
    );
    assert_eq!(m.phase(), PhaseName::Backoff);
    assert!(!has(&fx, |e| matches!(e, Effect::Spawn { .. })));
    let until = m.next_deadline().unwrap();
    let fx = m.step(Input::Tick, until);
    assert!(has(&fx, |e| matches!(e, Effect::Spawn { gen: 4 })));
}

#[test]
fn config_error_does_not_loop() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::code(78),
            hints: Hints::default(),
        },
        t,
    );
    assert_eq!(m.phase(), PhaseName::Failed);
    assert_eq!(m.next_deadline(), None);
    assert_eq!(m.status("", t).problem, Some(ProblemCode::ConfigError));
}

#[test]
fn stop_escalates_within_the_quit_budget() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    running(&mut m, t);
    let fx = m.step(Input::Command(Command::Stop), t);
    assert!(has(&fx, |e| matches!(
        e,
        Effect::Signal { sig: Sig::Term, .. }
    )));
    let kill_at = m.next_deadline().unwrap();
    assert_eq!(kill_at, t + Duration::from_secs(5));
    let fx = m.step(Input::Tick, kill_at);
    assert!(has(&fx, |e| matches!(
        e,
        Effect::Signal { sig: Sig::Kill, .. }
    )));
    let give_up = m.next_deadline().unwrap();
    assert_eq!(give_up, t + Duration::from_secs(8));
    let fx = m.step(Input::Tick, give_up);
    assert!(has(&fx, |e| matches!(e, Effect::Stopped)));
    assert_eq!(m.phase(), PhaseName::Stopped);
}

#[test]
fn never_kills_an_attached_foreign_gateway() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    m.step(Input::Command(Command::Start), t);
    m.step(
        Input::Probed {
            gen: 1,
            found: Some(Found::Gateway {
                port: 7,
                pid: Some(9),
                owned: false,
            }),
        },
        t,
    );
    m.step(
        Input::Connected {
            conn: 1,
            info: info("x"),
        },
        t,
    );
    assert_eq!(m.phase(), PhaseName::Running);
    let fx = m.step(Input::Command(Command::Stop), t);
    assert!(!has(&fx, |e| matches!(e, Effect::Signal { .. })));
    assert_eq!(m.phase(), PhaseName::Stopped);
}

#[test]
fn foreign_port_holder_is_a_clear_failure() {
    let t = Instant::now();
    let mut m = Machine::new(cfg());
    m.step(Input::Command(Command::Start), t);
    let fx = m.step(
        Input::Probed {
            gen: 1,
            found: Some(Found::Foreign {
                port: 80,
                holder: "pid 5".into(),
            }),
        },
        t,
    );
    assert!(!has(&fx, |e| matches!(
        e,
        Effect::Spawn { .. } | Effect::Signal { .. }
    )));
    assert_eq!(m.status("", t).problem, Some(ProblemCode::PortInUse));
}

#[test]
fn upstream_78_probes_before_concluding() {
    let t = Instant::now();
    let mut c = cfg();
    c.family = Family::OpenClaw;
    c.waits_for_ready_line = false;
    let mut m = Machine::new(c);
    m.step(Input::Command(Command::Start), t);
    m.step(
        Input::Probed {
            gen: 1,
            found: None,
        },
        t,
    );
    m.step(
        Input::Spawned {
            gen: 2,
            pid: Some(5),
            port: Some(7000),
        },
        t,
    );
    let fx = m.step(
        Input::Exited {
            gen: 2,
            status: ExitStatus::code(78),
            hints: Hints::default(),
        },
        t,
    );
    assert!(has(&fx, |e| matches!(e, Effect::Probe { gen: 3 })));
    m.step(
        Input::Probed {
            gen: 3,
            found: None,
        },
        t,
    );
    assert_eq!(m.status("", t).problem, Some(ProblemCode::ConfigError));
}
