//! A reader that refuses unmasked client frames.
//!
//! RFC 6455 requires every client-to-server frame to be masked; `fastwebsockets` unmasks when a
//! mask is present but silently accepts frames without one. [`MaskGuard`] sits between the socket
//! and the WebSocket reader, follows the frame boundaries in the byte stream ([`FrameScanner`])
//! and turns the first unmasked frame header into an I/O error that the connection maps to close
//! 1002. It only looks at headers; it never copies, buffers or changes a byte.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// The error a [`MaskGuard`] raises for an unmasked frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client frame is not masked")]
pub struct UnmaskedFrame;

impl UnmaskedFrame {
    /// Whether an I/O error is this one.
    pub fn is(err: &io::Error) -> bool {
        err.get_ref()
            .is_some_and(|inner| inner.downcast_ref::<UnmaskedFrame>().is_some())
    }
}

/// Follows WebSocket frame boundaries through a byte stream and checks each header's mask bit.
#[derive(Debug, Clone, Default)]
pub struct FrameScanner {
    header: [u8; 14],
    have: usize,
    payload_left: u64,
}

impl FrameScanner {
    /// Consumes the next bytes of the stream; fails at the first unmasked frame header.
    pub fn scan(&mut self, mut bytes: &[u8]) -> Result<(), UnmaskedFrame> {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[skip..];
                self.payload_left -= skip as u64;
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have < 2 {
                continue;
            }
            if self.header[1] & 0x80 == 0 {
                return Err(UnmaskedFrame);
            }
            let extended = match self.header[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let header_len = 2 + extended + 4;
            if self.have < header_len {
                continue;
            }
            let len = match extended {
                0 => u64::from(self.header[1] & 0x7f),
                2 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                _ => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&self.header[2..10]);
                    u64::from_be_bytes(b)
                }
            };
            self.have = 0;
            self.payload_left = len;
        }
        Ok(())
    }
}

/// Wraps the read half of an upgraded socket; see the module docs.
#[derive(Debug)]
pub struct MaskGuard<R> {
    inner: R,
    scanner: FrameScanner,
}

impl<R> MaskGuard<R> {
    /// Guards `inner`, which must be positioned at a frame boundary (right after the upgrade).
    pub fn new(inner: R) -> Self {
        MaskGuard {
            inner,
            scanner: FrameScanner::default(),
        }
    }
}

impl<R> MaskGuard<R> {
    /// The guarded reader (e.g. to drain a closing socket without frame checks).
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for MaskGuard<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                match this.scanner.scan(fresh) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(e) => Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e))),
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(masked: bool, len: usize) -> Vec<u8> {
        let mut f = vec![0x81u8];
        let mask_bit = if masked { 0x80 } else { 0 };
        if len < 126 {
            f.push(mask_bit | len as u8);
        } else if len <= 0xffff {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        if masked {
            f.extend_from_slice(&[1, 2, 3, 4]);
        }
        f.extend(std::iter::repeat_n(0x61u8, len));
        f
    }

    fn scan_in_chunks(stream: &[u8], chunk: usize) -> Result<(), UnmaskedFrame> {
        let mut s = FrameScanner::default();
        for c in stream.chunks(chunk) {
            s.scan(c)?;
        }
        Ok(())
    }

    #[test]
    fn masked_frames_of_every_length_form_pass_in_any_chunking() {
        let mut stream = Vec::new();
        for len in [0, 5, 125, 126, 300, 65_535, 70_000] {
            stream.extend(frame(true, len));
        }
        for chunk in [1, 2, 3, 7, 13, 4096, stream.len()] {
            assert_eq!(scan_in_chunks(&stream, chunk), Ok(()), "chunk {chunk}");
        }
    }

    #[test]
    fn an_unmasked_frame_after_masked_ones_is_caught() {
        let mut stream = frame(true, 200);
        stream.extend(frame(true, 3));
        stream.extend(frame(false, 3));
        for chunk in [1, 5, 1000] {
            assert_eq!(scan_in_chunks(&stream, chunk), Err(UnmaskedFrame));
        }
    }

    #[test]
    fn payload_bytes_that_look_like_headers_are_skipped() {
        // Payload full of 0x00 bytes (which would read as "unmasked" if taken for a header).
        let mut f = vec![0x82u8, 0x80 | 4, 9, 9, 9, 9, 0, 0, 0, 0];
        f.extend(frame(true, 1));
        assert_eq!(scan_in_chunks(&f, 1), Ok(()));
    }

    #[test]
    fn io_error_is_recognizable() {
        let e = io::Error::new(io::ErrorKind::InvalidData, UnmaskedFrame);
        assert!(UnmaskedFrame::is(&e));
        assert!(!UnmaskedFrame::is(&io::Error::other("x")));
    }
}
