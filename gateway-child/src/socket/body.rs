//! The HTTP response body every route answers with.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

/// The response body type: boxed, so a route may stream (e.g. server-sent events).
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A complete (non-streaming) body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}
