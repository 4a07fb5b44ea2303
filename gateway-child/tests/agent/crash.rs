//! Transcript crash safety: a real process streaming a run is killed with SIGKILL mid-stream;
//! after reload nothing it had emitted is missing and no line is corrupt.
//!
//! The test binary re-executes itself to run `crash_child`, an ignored helper (it refuses to run
//! without the directory its parent passes), which runs an engine against a mock provider and
//! prints every emitted delta to stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use tether_gateway::agent::Engine;
use tether_gateway::methods::bus::{Audience, EventSink, OutEvent};
use tether_testkit::mock_openai::{self, Reply};
use tether_testkit::process::KillOnDrop;

use crate::support::*;

const ENV: &str = "TETHER_TEST_CRASH_CHILD_DIR";

struct PrintSink;

impl EventSink for PrintSink {
    fn emit(&self, event: OutEvent, _audience: Audience, _droppable: bool) {
        if let OutEvent::Chat(c) = event {
            if let Some(d) = c.delta_text {
                let line = format!("DELTA {}\n", Value::String(d));
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(line.as_bytes());
                let _ = out.flush();
            }
        }
    }
}

/// The process `kill_9_mid_stream_loses_nothing_that_was_streamed` kills: not a test of its own,
/// so it is ignored and refuses to run without the directory its parent gives it.
#[test]
#[ignore = "a helper process: kill_9_mid_stream_loses_nothing_that_was_streamed runs it"]
fn crash_child() {
    let dir = std::env::var(ENV).unwrap_or_else(|_| {
        panic!(
            "crash_child is run by kill_9_mid_stream_loses_nothing_that_was_streamed, with {ENV}"
        )
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mock = mock_openai::start().await.unwrap();
        mock.push(Reply::Stall(
            (0..50_000).map(|i| format!("w{i} ")).collect(),
        ));
        let cfg = openai_config(&mock.base_url(), Value::Null);
        let e = Engine::new(
            &cfg,
            options(std::path::Path::new(&dir)),
            Arc::new(PrintSink),
        )
        .unwrap();
        drop(
            e.chat_send(&caller(1), send("main", "stream a lot", "crash-run"))
                .await
                .unwrap(),
        );
        std::future::pending::<()>().await;
    });
}

#[test]
fn kill_9_mid_stream_loses_nothing_that_was_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV, dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut streamed = String::new();
    let mut seen = 0;
    let mut line = String::new();
    while seen < 2000 {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
        // The harness may print its own text on the same line before ours.
        if let Some(i) = line.find("DELTA ") {
            let d: String = serde_json::from_str(line[i + 6..].trim_end()).unwrap();
            streamed.push_str(&d);
            seen += 1;
        }
    }
    // SIGKILL while it is streaming.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    // Whatever it emitted before dying is still in the pipe: count it too.
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 || !line.ends_with('\n') {
            break;
        }
        if let Some(i) = line.find("DELTA ") {
            let d: String = serde_json::from_str(line[i + 6..].trim_end()).unwrap();
            streamed.push_str(&d);
        }
    }
    drop(child);

    let path = dir.path().join("agents/main/sessions/main.jsonl");
    let raw = std::fs::read(&path).unwrap();
    let complete = match raw.iter().rposition(|b| *b == b'\n') {
        Some(i) => &raw[..=i],
        None => &raw[..0],
    };
    for l in complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        serde_json::from_slice::<Value>(l).expect("a complete line that does not parse");
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (e, _rec) = engine(
            &openai_config("http://127.0.0.1:9/v1", Value::Null),
            dir.path(),
        );
        let h = full_history(&e, &caller(1), "main").await;
        assert_eq!(h.messages[0].text(), "stream a lot");
        let text = h.messages[1].text();
        assert!(
            text.starts_with(&streamed),
            "streamed {} chars, transcript has {} chars",
            streamed.len(),
            text.len()
        );
        assert_eq!(h.messages[1].extra["interrupted"], true);
    });
    // After reload every line parses and the file ends with the repair record.
    let text = std::fs::read_to_string(&path).unwrap();
    for l in text.lines() {
        serde_json::from_str::<Value>(l).unwrap();
    }
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["state"], "interrupted");
}
