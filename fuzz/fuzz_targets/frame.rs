//! Frame parsing on arbitrary bytes: never panics, and anything accepted re-serializes to the
//! same JSON value it was parsed from.
//!
//! Inputs starting with `#` are a nesting program: the following bytes open `1 + byte / 4`
//! arrays or objects each inside the payload (or params) of a frame with id `deep`, so short
//! inputs reach any depth. A frame deeper than `frame::MAX_DEPTH` must be refused with its id
//! kept, never overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::frame::MAX_DEPTH;
use tether_protocol::Frame;

fn deep(program: &[u8]) -> (String, usize) {
    let (mut open, mut close, mut depth) = (String::new(), Vec::new(), 1usize);
    for &b in program {
        if open.len() > 4 << 20 {
            break;
        }
        for _ in 0..=(b / 4) {
            depth += 1;
            if b % 2 == 0 {
                open.push('[');
                close.push(']');
            } else {
                open.push_str("{\"k\":");
                close.push('}');
            }
        }
    }
    let close: String = close.iter().rev().collect();
    let kind = if program.first().is_some_and(|b| b % 3 == 0) {
        "\"type\":\"req\",\"method\":\"m\",\"params\""
    } else {
        "\"type\":\"res\",\"ok\":true,\"payload\""
    };
    (format!("{{{kind}:{open}1{close},\"id\":\"deep\"}}"), depth)
}

fuzz_target!(|data: &[u8]| {
    if let Some((b'#', program)) = data.split_first() {
        let (text, depth) = deep(program);
        match Frame::parse(&text) {
            Ok(Frame::Req(r)) => assert_eq!(r.id, "deep"),
            Ok(Frame::Res(r)) => assert_eq!(r.id, "deep"),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => {
                assert!(depth > MAX_DEPTH, "depth {depth} refused: {e}");
                assert_eq!(e.id(), Some("deep"));
            }
        }
        return;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        let _ = Frame::parse_slice(data);
        return;
    };
    if let Ok(frame) = Frame::from_value(value.clone()) {
        let back = serde_json::to_value(&frame).expect("a parsed frame serializes");
        assert_eq!(back, value, "re-serialized frame differs");
        assert_eq!(Frame::parse(&frame.to_json()).expect("own output parses"), frame);
    }
});
