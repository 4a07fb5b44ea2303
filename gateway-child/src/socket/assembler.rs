//! Bounded assembly of WebSocket messages from data frames.
//!
//! `fastwebsockets` caps the size of one frame but not of a message split over continuation
//! frames, so this module owns that cap: it joins the data frames of one message, refuses to hold
//! more than `cap` bytes (checked before copying, so memory never exceeds the cap), insists on RFC
//! 6455 fragmentation rules, rejects binary messages and checks UTF-8 once the text is complete.
//! It sees only data frames (control frames are the reader's business) and never parses JSON.

use fastwebsockets::OpCode;

/// Why a message cannot be accepted, with the close code it calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// The message is larger than the cap (close 1009).
    TooLarge,
    /// A binary message where only text is spoken (close 1003).
    Binary,
    /// The text is not valid UTF-8 (close 1007).
    InvalidUtf8,
    /// Fragmentation rules broken: a continuation with no message started, or a new data frame
    /// in the middle of a fragmented one (close 1002).
    Fragmentation,
}

impl Violation {
    /// The WebSocket close code for this violation.
    pub fn close_code(self) -> u16 {
        use tether_protocol::close;
        match self {
            Violation::TooLarge => close::TOO_BIG,
            Violation::Binary => close::UNSUPPORTED_DATA,
            Violation::InvalidUtf8 => close::INVALID_PAYLOAD,
            Violation::Fragmentation => close::PROTOCOL_ERROR,
        }
    }
}

/// Joins data frames into text messages of at most `cap` bytes.
#[derive(Debug)]
pub struct Assembler {
    cap: usize,
    buf: Vec<u8>,
    in_message: bool,
}

impl Assembler {
    /// An assembler that accepts messages of up to `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Assembler {
            cap,
            buf: Vec::new(),
            in_message: false,
        }
    }

    /// Changes the cap (e.g. from the pre-auth 64 KiB to `policy.maxPayload` after `hello-ok`).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// The current cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Feeds one data frame. Returns the complete text when `fin` ends a message.
    pub fn push(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<String>, Violation> {
        match opcode {
            OpCode::Binary => return Err(Violation::Binary),
            OpCode::Text if self.in_message => return Err(Violation::Fragmentation),
            OpCode::Continuation if !self.in_message => return Err(Violation::Fragmentation),
            OpCode::Text | OpCode::Continuation => {}
            OpCode::Close | OpCode::Ping | OpCode::Pong => return Ok(None),
        }
        if self.buf.len().saturating_add(payload.len()) > self.cap {
            self.reset();
            return Err(Violation::TooLarge);
        }
        self.buf.extend_from_slice(payload);
        if !fin {
            self.in_message = true;
            return Ok(None);
        }
        let bytes = std::mem::take(&mut self.buf);
        self.in_message = false;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Violation::InvalidUtf8)
    }

    fn reset(&mut self) {
        self.buf = Vec::new();
        self.in_message = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_frame_messages_up_to_the_cap() {
        let mut a = Assembler::new(4);
        assert_eq!(
            a.push(OpCode::Text, true, b"abcd"),
            Ok(Some("abcd".to_owned()))
        );
        assert_eq!(
            a.push(OpCode::Text, true, b"abcde"),
            Err(Violation::TooLarge)
        );
        assert_eq!(a.push(OpCode::Text, true, b""), Ok(Some(String::new())));
    }

    #[test]
    fn fragments_count_toward_the_cap() {
        let mut a = Assembler::new(5);
        assert_eq!(a.push(OpCode::Text, false, b"ab"), Ok(None));
        assert_eq!(a.push(OpCode::Continuation, false, b"cd"), Ok(None));
        assert_eq!(
            a.push(OpCode::Continuation, false, b"ef"),
            Err(Violation::TooLarge)
        );
        // After a violation the assembler holds nothing.
        assert_eq!(a.push(OpCode::Text, true, b"ok"), Ok(Some("ok".to_owned())));
    }

    #[test]
    fn many_tiny_continuations_assemble() {
        let mut a = Assembler::new(64 * 1024);
        assert_eq!(a.push(OpCode::Text, false, b"{"), Ok(None));
        for _ in 0..10_000 {
            assert_eq!(a.push(OpCode::Continuation, false, b" "), Ok(None));
        }
        let msg = a.push(OpCode::Continuation, true, b"}").unwrap().unwrap();
        assert_eq!(msg.len(), 10_002);
    }

    #[test]
    fn fragmentation_rules() {
        let mut a = Assembler::new(100);
        assert_eq!(
            a.push(OpCode::Continuation, true, b"x"),
            Err(Violation::Fragmentation)
        );
        assert_eq!(a.push(OpCode::Text, false, b"x"), Ok(None));
        assert_eq!(
            a.push(OpCode::Text, true, b"y"),
            Err(Violation::Fragmentation)
        );
    }

    #[test]
    fn binary_and_bad_utf8_are_refused() {
        let mut a = Assembler::new(100);
        assert_eq!(a.push(OpCode::Binary, true, b"x"), Err(Violation::Binary));
        // A UTF-8 sequence split across fragments is fine...
        let snow = "é".as_bytes();
        assert_eq!(a.push(OpCode::Text, false, &snow[..1]), Ok(None));
        assert_eq!(
            a.push(OpCode::Continuation, true, &snow[1..]),
            Ok(Some("é".to_owned()))
        );
        // ...an invalid one is not.
        assert_eq!(
            a.push(OpCode::Text, true, &[0xff, 0xfe]),
            Err(Violation::InvalidUtf8)
        );
    }

    #[test]
    fn close_codes() {
        assert_eq!(Violation::TooLarge.close_code(), 1009);
        assert_eq!(Violation::Binary.close_code(), 1003);
        assert_eq!(Violation::InvalidUtf8.close_code(), 1007);
        assert_eq!(Violation::Fragmentation.close_code(), 1002);
    }
}
