//! Property tests for the parsers that face untrusted input: frames and `connect` params.
//! (The same properties run under libFuzzer in `fuzz/`.)

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Value};
use tether_protocol::connect::ConnectParams;
use tether_protocol::{Frame, FrameError};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects that look like frames: a `type` from the real set (or not), plus random fields.
fn frame_like() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id".to_owned()),
        Just("method".to_owned()),
        Just("params".to_owned()),
        Just("ok".to_owned()),
        Just("payload".to_owned()),
        Just("error".to_owned()),
        Just("event".to_owned()),
        Just("seq".to_owned()),
        Just("stateVersion".to_owned()),
        "[a-z]{1,6}",
    ];
    let ty = prop_oneof![Just("req"), Just("res"), Just("event"), Just("other")];
    (ty, prop::collection::btree_map(key, json_value(), 0..8)).prop_map(|(ty, fields)| {
        let mut m: Map<String, Value> = fields.into_iter().collect();
        m.insert("type".into(), Value::from(ty));
        Value::Object(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,256}") {
        let _ = Frame::parse(&s);
    }

    #[test]
    fn any_accepted_frame_reserializes_identically(v in prop_oneof![json_value(), frame_like()]) {
        if let Ok(frame) = Frame::from_value(v.clone()) {
            prop_assert_eq!(serde_json::to_value(&frame).unwrap(), v);
        }
    }

    #[test]
    fn rejected_request_frames_keep_a_string_id(
        id in "[a-zA-Z0-9-]{1,16}",
        method in prop_oneof![Just(Value::Null), Just(Value::from(3)), Just(Value::from(""))],
    ) {
        let v = serde_json::json!({"type":"req","id":id,"method":method});
        match Frame::from_value(v) {
            Err(FrameError::Invalid { id: Some(got), .. }) => prop_assert_eq!(got, id),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    #[test]
    fn generated_requests_round_trip_through_text(
        id in "[ -~]{1,24}",
        method in "[a-z.]{1,24}",
        params in json_value(),
    ) {
        let frame = Frame::Req(tether_protocol::Request::new(id, method, params));
        prop_assert_eq!(Frame::parse(&frame.to_json()).unwrap(), frame);
    }

    #[test]
    fn connect_params_from_arbitrary_json_never_panic(v in json_value(), client in json_value()) {
        let _ = serde_json::from_value::<ConnectParams>(v.clone());
        let mut m = match v { Value::Object(m) => m, _ => Map::new() };
        m.insert("client".into(), client);
        m.insert("minProtocol".into(), Value::from(3));
        m.insert("maxProtocol".into(), Value::from(4));
        let _ = serde_json::from_value::<ConnectParams>(Value::Object(m));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A frame nested at any depth parses or is refused with its id and type kept: never a
    /// stack overflow, and never a frame that vanishes without saying whose it was.
    #[test]
    fn deep_frames_are_refused_with_their_id(
        depth in prop_oneof![1usize..140, 140usize..20_000],
        kind in prop::sample::select(vec!["req", "res"]),
        id_first in any::<bool>(),
    ) {
        let payload = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let body = match kind {
            "req" => format!("\"method\":\"config.get\",\"params\":{payload}"),
            _ => format!("\"ok\":true,\"payload\":{payload}"),
        };
        let text = if id_first {
            format!("{{\"type\":\"{kind}\",\"id\":\"r-1\",{body}}}")
        } else {
            format!("{{\"type\":\"{kind}\",{body},\"id\":\"r-1\"}}")
        };
        for parsed in [Frame::parse(&text), Frame::parse_slice(text.as_bytes())] {
            match parsed {
                Ok(Frame::Req(r)) => prop_assert_eq!(r.id, "r-1"),
                Ok(Frame::Res(r)) => prop_assert_eq!(r.id, "r-1"),
                Ok(other) => prop_assert!(false, "unexpected {:?}", other),
                Err(e) => {
                    prop_assert!(depth + 1 > tether_protocol::frame::MAX_DEPTH, "depth {} refused: {}", depth, e);
                    prop_assert_eq!(e.id(), Some("r-1"));
                }
            }
        }
    }
}
