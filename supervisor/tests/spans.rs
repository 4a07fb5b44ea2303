//! Tracing spans of the actor (DESIGN §5): every log line about a process, a connection or a
//! run carries the child generation (and pid), the connection number and the run id as spans.
//! In a test binary of its own: tracing's per-callsite interest cache is process-wide, and
//! tests running concurrently without a subscriber would race with the scoped one used here.

use std::time::Duration;

use serde_json::json;
use tokio::sync::broadcast;

use tether_supervisor::events::{ChatPhase, PhaseName, SupervisorEvent};
use tether_supervisor::machine::MachineConfig;
use tether_supervisor::policy::exit::{ExitStatus, Family};
use tether_supervisor::testing::World;
use tether_supervisor::{spawn, SupervisorConfig, SupervisorHandle};

fn start(world: &World) -> (SupervisorHandle, broadcast::Receiver<SupervisorEvent>) {
    let mut m = MachineConfig::for_family(Family::Tether, "tether");
    m.seed = 42;
    let (h, _join) = spawn(SupervisorConfig::new(m), world.deps());
    let rx = h.subscribe();
    (h, rx)
}

async fn wait_for(
    rx: &mut broadcast::Receiver<SupervisorEvent>,
    what: &str,
    pred: impl Fn(&SupervisorEvent) -> bool,
) -> SupervisorEvent {
    let fut = async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
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

/// A `MakeWriter` that keeps everything written, for checking log lines.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn log_lines_carry_generation_connection_and_run_spans() {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(out.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let world = World::new();
    let (h, mut rx) = start(&world);
    h.start().await.unwrap();
    wait_for(&mut rx, "running", phase_is(PhaseName::Running)).await;
    world.event(
        0,
        "chat",
        json!({"runId":"run-7","sessionKey":"agent:main:main","seq":1,"state":"final",
               "message":{"role":"assistant","content":[{"type":"text","text":"done"}]}}),
    );
    wait_for(
        &mut rx,
        "final",
        |e| matches!(e, SupervisorEvent::Chat(c) if c.state == ChatPhase::Final),
    )
    .await;
    world.exit(0, ExitStatus::signal(9));
    wait_for(&mut rx, "running again", |e| {
        matches!(e, SupervisorEvent::Status(s) if s.phase == PhaseName::Running && s.generation > 2)
    })
    .await;
    h.stop().await.unwrap();

    let lines = out.lines();
    let spans_of = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<serde_json::Value> {
        lines
            .iter()
            .find(|l| pred(l))
            .and_then(|l| l["spans"].as_array().cloned())
            .unwrap_or_else(|| panic!("no such line in {lines:#?}"))
    };
    let named = |spans: &[serde_json::Value], name: &str| -> serde_json::Value {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} span in {spans:?}"))
    };
    // The first connection: supervisor ⊃ child{generation, pid} ⊃ link{conn}.
    let spans = spans_of(&|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("connected"))
    });
    assert_eq!(named(&spans, "supervisor")["gateway"], "tether");
    let child = named(&spans, "child");
    assert_eq!(child["pid"], 1000, "{child}");
    let gen1 = child["generation"].as_u64().unwrap();
    assert!(named(&spans, "link")["conn"].as_u64().is_some());
    // The run: its end is logged inside run{run_id} under that link.
    let spans = spans_of(&|l| l["fields"]["message"] == "run ended");
    assert_eq!(named(&spans, "run")["run_id"], "run-7");
    assert_eq!(named(&spans, "run")["session"], "agent:main:main");
    assert_eq!(named(&spans, "child")["generation"].as_u64(), Some(gen1));
    // After the crash, the respawned process has its own generation span.
    let spans = spans_of(&|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("connected"))
            && l["spans"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["name"] == "child" && s["generation"].as_u64() > Some(gen1))
            })
    });
    assert_eq!(named(&spans, "child")["pid"], 1001);
}
