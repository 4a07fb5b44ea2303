//! Frame parsing on arbitrary bytes: never panics, and anything accepted re-serializes to the
//! same JSON value it was parsed from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_protocol::Frame;

fuzz_target!(|data: &[u8]| {
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
