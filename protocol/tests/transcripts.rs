//! Golden fixtures: every frame of the real upstream runs (`fixtures/transcripts/*.jsonl`,
//! recorded from openclaw 2026.9.6) parses into this crate's types and re-serializes to the
//! same JSON. Known payloads are checked through their typed structs too (responses are typed
//! by the method of the request they answer), so a field this crate drops or mangles fails here.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tether_protocol::connect::{ConnectChallenge, ConnectParams, HelloOk};
use tether_protocol::events::{HealthSummary, PresenceEvent, SessionsChanged, Shutdown, Tick};
use tether_protocol::methods::{
    ChatHistory, ChatHistoryParams, ChatSendParams, HealthParams, RunAck, SessionsList,
    SessionsListParams,
};
use tether_protocol::{AgentEvent, ChatEvent, Frame};

const FILES: &[(&str, &str)] = &[
    (
        "s1_run1.jsonl",
        include_str!("fixtures/transcripts/s1_run1.jsonl"),
    ),
    (
        "s2_chat.jsonl",
        include_str!("fixtures/transcripts/s2_chat.jsonl"),
    ),
    (
        "s3_behaviour.jsonl",
        include_str!("fixtures/transcripts/s3_behaviour.jsonl"),
    ),
];

/// Parses `v` as `T`, re-serializes, and asserts equality; returns the typed value.
fn typed<T: DeserializeOwned + Serialize>(what: &str, v: &Value) -> T {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what}: does not parse: {e}\n{v}"));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(&back, v, "{what}: re-serialized JSON differs");
    t
}

#[derive(Default)]
struct Counts(HashMap<String, usize>);

impl Counts {
    fn add(&mut self, k: &str) {
        *self.0.entry(k.to_owned()).or_default() += 1;
    }
    fn get(&self, k: &str) -> usize {
        self.0.get(k).copied().unwrap_or(0)
    }
}

fn check_frame(loc: &str, raw: &Value, methods: &mut HashMap<String, String>, n: &mut Counts) {
    let frame = Frame::from_value(raw.clone()).unwrap_or_else(|e| panic!("{loc}: {e}\n{raw}"));
    let back = serde_json::to_value(&frame).unwrap();
    assert_eq!(&back, raw, "{loc}: envelope re-serialization differs");
    // The string path must agree with the value path.
    assert_eq!(Frame::parse(&raw.to_string()).unwrap(), frame, "{loc}");

    match &frame {
        Frame::Req(r) => {
            methods.insert(r.id.clone(), r.method.clone());
            let p = r.params.clone().unwrap_or(Value::Null);
            match r.method.as_str() {
                "connect" => {
                    typed::<ConnectParams>(loc, &p);
                }
                "chat.send" => {
                    typed::<ChatSendParams>(loc, &p);
                }
                "chat.history" => {
                    typed::<ChatHistoryParams>(loc, &p);
                }
                "sessions.list" if r.params.is_some() => {
                    typed::<SessionsListParams>(loc, &p);
                }
                "health" if r.params.is_some() => {
                    typed::<HealthParams>(loc, &p);
                }
                _ => {}
            }
            n.add(&format!("req:{}", r.method));
        }
        Frame::Res(r) => {
            let Some(p) = &r.payload else {
                n.add("res:error");
                assert!(r.error.is_some(), "{loc}: failed response without error");
                return;
            };
            if p.get("type").and_then(Value::as_str) == Some("hello-ok") {
                let h = typed::<HelloOk>(loc, p);
                assert!(h.protocol == 4 && h.policy.tick_interval_ms > 0);
                n.add("res:hello-ok");
                return;
            }
            match methods.get(&r.id).map(String::as_str) {
                Some("chat.send") => {
                    typed::<RunAck>(loc, p);
                    n.add("res:chat.send");
                }
                Some("chat.history") => {
                    typed::<ChatHistory>(loc, p);
                    n.add("res:chat.history");
                }
                Some("sessions.list") => {
                    typed::<SessionsList>(loc, p);
                    n.add("res:sessions.list");
                }
                Some("health") => {
                    typed::<HealthSummary>(loc, p);
                    n.add("res:health");
                }
                _ => {}
            }
        }
        Frame::Event(e) => {
            let p = e.payload.clone().unwrap_or(Value::Null);
            match e.event.as_str() {
                "connect.challenge" => {
                    typed::<ConnectChallenge>(loc, &p);
                    assert!(e.seq.is_none(), "{loc}: challenge must have no seq");
                }
                "tick" => {
                    typed::<Tick>(loc, &p);
                }
                "shutdown" => {
                    typed::<Shutdown>(loc, &p);
                }
                "presence" => {
                    typed::<PresenceEvent>(loc, &p);
                }
                "health" => {
                    typed::<HealthSummary>(loc, &p);
                }
                "sessions.changed" => {
                    typed::<SessionsChanged>(loc, &p);
                }
                "chat" => {
                    let c = typed::<ChatEvent>(loc, &p);
                    // A v3 view must still be valid JSON of the same type.
                    if let Some(v3) = c.for_protocol(3) {
                        typed::<ChatEvent>(loc, &serde_json::to_value(v3).unwrap());
                    }
                }
                "agent" => {
                    let a = typed::<AgentEvent>(loc, &p);
                    let data = a
                        .data()
                        .unwrap_or_else(|err| panic!("{loc}: agent data: {err}\n{}", a.data));
                    assert_eq!(data.to_value(), a.data, "{loc}: typed agent data differs");
                    n.add(&format!("agent:{}", a.stream));
                }
                _ => {}
            }
            n.add(&format!("event:{}", e.event));
        }
    }
}

#[test]
fn every_transcript_frame_round_trips() {
    let mut n = Counts::default();
    let mut frames = 0;
    for (name, text) in FILES {
        let mut methods = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let rec: Value = serde_json::from_str(line).unwrap();
            let Some(raw) = rec.get("frame") else {
                continue;
            };
            check_frame(&format!("{name}:{}", i + 1), raw, &mut methods, &mut n);
            frames += 1;
        }
    }
    // Guard against a fixture silently shrinking: these are the counts of the recorded runs.
    assert_eq!(frames, 351, "the fixtures changed");
    for (k, min) in [
        ("req:connect", 28),
        ("res:hello-ok", 12),
        ("event:chat", 86),
        ("agent:tool", 6),
        ("agent:item", 6),
        ("agent:command_output", 3),
        ("agent:lifecycle", 32),
        ("agent:run_status", 18),
        ("agent:assistant", 62),
        ("event:shutdown", 7),
        ("event:connect.challenge", 30),
        ("res:chat.history", 2),
        ("res:sessions.list", 2),
        ("res:chat.send", 4),
        ("res:error", 17),
    ] {
        assert!(n.get(k) >= min, "{k}: {} < {min}", n.get(k));
    }
}

/// The lean `chat` parser agrees with the generic route on every recorded chat frame, reduced
/// to what it keeps (no unmodelled fields, message text joined into one string).
#[test]
fn lean_chat_parser_agrees_on_every_recorded_chat_frame() {
    use tether_protocol::chat::MessageContent;
    use tether_protocol::chat_frame::parse_chat_frame;
    let mut checked = 0;
    for (name, text) in FILES {
        for (i, line) in text.lines().enumerate() {
            let rec: Value = serde_json::from_str(line).unwrap();
            let Some(raw) = rec.get("frame") else {
                continue;
            };
            let frame_text = raw.to_string();
            let lean = parse_chat_frame(&frame_text);
            let is_chat = raw["type"] == "event" && raw["event"] == "chat";
            assert_eq!(lean.is_some(), is_chat, "{name}:{}", i + 1);
            let Some(lean) = lean else { continue };
            let mut generic: ChatEvent = serde_json::from_value(raw["payload"].clone()).unwrap();
            generic.extra.clear();
            if let Some(m) = &mut generic.message {
                m.content = MessageContent::Text(m.text());
                m.extra.clear();
            }
            assert_eq!(lean, generic, "{name}:{}", i + 1);
            checked += 1;
        }
    }
    assert_eq!(checked, 86);
}

#[test]
fn hello_ok_example_round_trips() {
    let v: Value =
        serde_json::from_str(include_str!("fixtures/transcripts/hello_ok_example.json")).unwrap();
    let frame = Frame::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&frame).unwrap(), v);
    let Frame::Res(r) = frame else {
        panic!("not a response")
    };
    let hello = typed::<HelloOk>("hello_ok_example", r.payload.as_ref().unwrap());
    assert_eq!(
        hello.snapshot.session_defaults.unwrap().main_session_key,
        "agent:main:main"
    );
    assert!(hello.features.has_method("chat.send"));
    assert_eq!(hello.policy.max_payload, 26_214_400);
}
