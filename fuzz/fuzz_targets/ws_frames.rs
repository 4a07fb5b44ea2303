//! Fuzzes the byte-level WebSocket guards: the mask scanner and the message assembler.
#![no_main]

use fastwebsockets::OpCode;
use libfuzzer_sys::fuzz_target;
use tether_gateway::socket::assembler::Assembler;
use tether_gateway::socket::mask_guard::FrameScanner;

fuzz_target!(|data: &[u8]| {
    let mut scanner = FrameScanner::default();
    for chunk in data.chunks(7) {
        if scanner.scan(chunk).is_err() {
            break;
        }
    }
    // Interpret the input as a sequence of (opcode, fin, len) headed data frames.
    let mut a = Assembler::new(1024);
    let mut rest = data;
    while rest.len() >= 2 {
        let (op, fin, len) = (rest[0] % 3, rest[0] & 0x80 != 0, usize::from(rest[1]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        let opcode = match op {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            _ => OpCode::Binary,
        };
        if let Ok(Some(text)) = a.push(opcode, fin, &rest[..take]) {
            assert!(text.len() <= 1024);
        }
        rest = &rest[take..];
    }
});
