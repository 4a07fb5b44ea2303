//! The frame envelope: `req`, `res` and `event`, one JSON object per WebSocket text frame.
//!
//! Parsing goes through [`Frame::parse`], which says *why* a frame is not valid (not JSON, not an
//! object, bad `type`, a missing or mistyped field, nested deeper than [`MAX_DEPTH`]) and keeps a
//! request's `id` when it could be read, so the gateway can answer with the caller's id and pick
//! the right close code, and a client can fail the call a response it cannot read belongs to.
//! A frame nested too deep is still read for its envelope, without recursion, so its `id` and
//! `type` survive. Fields
//! the envelope does not model (v4 `traceparent`, anything newer) are kept in `extra` and written
//! back unchanged. An explicit `"payload": null` stays `Some(Value::Null)`.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::ErrorShape;
use crate::events::StateVersion;
use crate::Map;

/// One frame on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Client → server request.
    Req(Request),
    /// Server → client response (several may share one id, e.g. `agent`).
    Res(Response),
    /// Server → client event.
    Event(Event),
}

/// `{"type":"req","id","method","params"?}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// Chosen by the client, echoed in the response. Never empty.
    pub id: String,
    /// The method name. Never empty.
    pub method: String,
    /// Method parameters; handlers treat `None` as `{}`.
    pub params: Option<Value>,
    /// Envelope fields this version does not model (e.g. v4 `traceparent`).
    pub extra: Map,
}

/// `{"type":"res","id","ok","payload"?,"error"?}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// The request's id.
    pub id: String,
    /// Whether the call succeeded.
    pub ok: bool,
    /// Result; may also be present when `ok` is false.
    pub payload: Option<Value>,
    /// Present when `ok` is false.
    pub error: Option<ErrorShape>,
    /// Envelope fields this version does not model.
    pub extra: Map,
}

/// `{"type":"event","event","payload"?,"seq"?,"stateVersion"?}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// Event name, e.g. `chat`, `agent`, `tick`.
    pub event: String,
    /// Event payload.
    pub payload: Option<Value>,
    /// Per-connection frame counter (v4); absent on targeted events and `connect.challenge`.
    pub seq: Option<u64>,
    /// Sent with `presence` and `health` events.
    pub state_version: Option<StateVersion>,
    /// Envelope fields this version does not model.
    pub extra: Map,
}

/// The deepest nesting of objects and arrays a frame may have, its envelope counting as level 1:
/// what serde_json's recursion limit lets through, which every Tether parser of frames applies.
pub const MAX_DEPTH: usize = 127;

/// Why a text frame is not a valid frame.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// Not JSON at all (or nested too deep for the parser).
    #[error("invalid JSON: {0}")]
    NotJson(String),
    /// JSON, but not a valid frame (or nested deeper than [`MAX_DEPTH`]). `id` is the request id
    /// if one could be read.
    #[error("invalid frame: {reason}")]
    Invalid {
        /// The `id` field, when it was a non-empty string.
        id: Option<String>,
        /// What is wrong, e.g. `missing method`.
        reason: String,
    },
}

impl FrameError {
    fn invalid(id: Option<String>, reason: impl Into<String>) -> Self {
        FrameError::Invalid {
            id,
            reason: reason.into(),
        }
    }

    /// The request id, if the frame had a readable one.
    pub fn id(&self) -> Option<&str> {
        match self {
            FrameError::Invalid { id, .. } => id.as_deref(),
            FrameError::NotJson(_) => None,
        }
    }
}

impl Frame {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => Frame::from_value(value),
            Err(e) => Err(unreadable(envelope(text.as_bytes()), &e)),
        }
    }

    /// Parses one frame from bytes (must be UTF-8 JSON).
    pub fn parse_slice(bytes: &[u8]) -> Result<Frame, FrameError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => Frame::from_value(value),
            Err(e) => Err(unreadable(envelope(bytes), &e)),
        }
    }

    /// Builds a frame from an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Frame, FrameError> {
        let Value::Object(mut m) = value else {
            return Err(FrameError::invalid(None, "frame must be an object"));
        };
        let id = match m.get("id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let kind = match m.remove("type") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(FrameError::invalid(id, "type must be a string")),
            None => return Err(FrameError::invalid(id, "missing type")),
        };
        match kind.as_str() {
            "req" => {
                let Some(id) = id else {
                    return Err(FrameError::invalid(None, "id must be a non-empty string"));
                };
                m.remove("id");
                let method = match m.remove("method") {
                    Some(Value::String(s)) if !s.is_empty() => s,
                    Some(_) => {
                        return Err(FrameError::invalid(
                            Some(id),
                            "method must be a non-empty string",
                        ))
                    }
                    None => return Err(FrameError::invalid(Some(id), "missing method")),
                };
                let params = m.remove("params");
                Ok(Frame::Req(Request {
                    id,
                    method,
                    params,
                    extra: m,
                }))
            }
            "res" => {
                let Some(id) = id else {
                    return Err(FrameError::invalid(None, "id must be a non-empty string"));
                };
                m.remove("id");
                let ok = match m.remove("ok") {
                    Some(Value::Bool(b)) => b,
                    _ => return Err(FrameError::invalid(Some(id), "ok must be a boolean")),
                };
                let payload = m.remove("payload");
                let error = match m.remove("error") {
                    None => None,
                    Some(v) => Some(serde_json::from_value(v).map_err(|e| {
                        FrameError::invalid(Some(id.clone()), format!("invalid error: {e}"))
                    })?),
                };
                Ok(Frame::Res(Response {
                    id,
                    ok,
                    payload,
                    error,
                    extra: m,
                }))
            }
            "event" => {
                let event = match m.remove("event") {
                    Some(Value::String(s)) if !s.is_empty() => s,
                    _ => return Err(FrameError::invalid(id, "event must be a non-empty string")),
                };
                let payload = m.remove("payload");
                let seq = match m.remove("seq") {
                    None => None,
                    Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
                    Some(_) => {
                        return Err(FrameError::invalid(
                            id,
                            "seq must be a non-negative integer",
                        ))
                    }
                };
                let state_version = match m.remove("stateVersion") {
                    None => None,
                    Some(v) => Some(serde_json::from_value(v).map_err(|e| {
                        FrameError::invalid(id.clone(), format!("invalid stateVersion: {e}"))
                    })?),
                };
                Ok(Frame::Event(Event {
                    event,
                    payload,
                    seq,
                    state_version,
                    extra: m,
                }))
            }
            other => Err(FrameError::invalid(id, format!("unknown type {other:?}"))),
        }
    }

    /// Serializes to a JSON string.
    pub fn to_json(&self) -> String {
        // Serializing a Frame cannot fail: every field is already a JSON value or a plain type.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// A frame's envelope read without recursion: serde_json skips the fields it does not name
/// (and `IgnoredAny` values) iteratively, so this parses where a full parse hit the recursion
/// limit.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type", default)]
    kind: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    id: Option<Value>,
}

/// The envelope of a JSON object (only an object: a struct would also accept an array).
fn envelope(bytes: &[u8]) -> Option<Envelope> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice::<Envelope>(bytes).ok()
}

/// The error for text a full parse refused: not JSON at all, or valid JSON nested too deep (the
/// envelope still parsed), whose `id` is kept when it is a non-empty string.
fn unreadable(envelope: Option<Envelope>, e: &serde_json::Error) -> FrameError {
    match envelope {
        Some(env) if env.kind.is_some() || env.id.is_some() => {
            let id = match env.id {
                Some(Value::String(s)) if !s.is_empty() => Some(s),
                _ => None,
            };
            FrameError::invalid(id, format!("unreadable frame: {e}"))
        }
        _ => FrameError::NotJson(e.to_string()),
    }
}

impl Request {
    /// A request with params.
    pub fn new(id: impl Into<String>, method: impl Into<String>, params: Value) -> Self {
        Request {
            id: id.into(),
            method: method.into(),
            params: Some(params),
            extra: Map::new(),
        }
    }

    /// The params, or `{}` when absent or `null`.
    pub fn params_or_empty(&self) -> Value {
        match &self.params {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v) => v.clone(),
        }
    }
}

impl Response {
    /// A successful response.
    pub fn ok(id: impl Into<String>, payload: Value) -> Self {
        Response {
            id: id.into(),
            ok: true,
            payload: Some(payload),
            error: None,
            extra: Map::new(),
        }
    }

    /// A failed response.
    pub fn err(id: impl Into<String>, error: ErrorShape) -> Self {
        Response {
            id: id.into(),
            ok: false,
            payload: None,
            error: Some(error),
            extra: Map::new(),
        }
    }
}

impl Event {
    /// An event with a payload and no seq.
    pub fn new(event: impl Into<String>, payload: Value) -> Self {
        Event {
            event: event.into(),
            payload: Some(payload),
            seq: None,
            state_version: None,
            extra: Map::new(),
        }
    }

    /// The payload decoded as `T`.
    pub fn payload_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.payload.as_ref().unwrap_or(&Value::Null))
    }
}

impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Frame::Req(r) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "req")?;
                m.serialize_entry("id", &r.id)?;
                m.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    m.serialize_entry("params", p)?;
                }
                for (k, v) in &r.extra {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Frame::Res(r) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "res")?;
                m.serialize_entry("id", &r.id)?;
                m.serialize_entry("ok", &r.ok)?;
                if let Some(p) = &r.payload {
                    m.serialize_entry("payload", p)?;
                }
                if let Some(e) = &r.error {
                    m.serialize_entry("error", e)?;
                }
                for (k, v) in &r.extra {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Frame::Event(e) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "event")?;
                m.serialize_entry("event", &e.event)?;
                if let Some(p) = &e.payload {
                    m.serialize_entry("payload", p)?;
                }
                if let Some(seq) = e.seq {
                    m.serialize_entry("seq", &seq)?;
                }
                if let Some(sv) = &e.state_version {
                    m.serialize_entry("stateVersion", sv)?;
                }
                for (k, v) in &e.extra {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Frame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Frame::from_value(v).map_err(serde::de::Error::custom)
    }
}

impl From<Request> for Frame {
    fn from(r: Request) -> Self {
        Frame::Req(r)
    }
}

impl From<Response> for Frame {
    fn from(r: Response) -> Self {
        Frame::Res(r)
    }
}

impl From<Event> for Frame {
    fn from(e: Event) -> Self {
        Frame::Event(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invalid_reason(text: &str) -> (Option<String>, String) {
        match Frame::parse(text) {
            Err(FrameError::Invalid { id, reason }) => (id, reason),
            other => panic!("expected Invalid for {text}, got {other:?}"),
        }
    }

    #[test]
    fn request_round_trip_keeps_unknown_fields_and_null_params() {
        let text =
            r#"{"type":"req","id":"1","method":"health","params":null,"traceparent":"00-ab"}"#;
        let f = Frame::parse(text).unwrap();
        let Frame::Req(r) = &f else { panic!() };
        assert_eq!(r.params, Some(Value::Null));
        assert_eq!(r.extra["traceparent"], "00-ab");
        assert_eq!(r.params_or_empty(), json!({}));
        let back: Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn invalid_frames_say_why_and_keep_the_id() {
        assert!(matches!(Frame::parse("{"), Err(FrameError::NotJson(_))));
        assert_eq!(invalid_reason("[1]").1, "frame must be an object");
        assert_eq!(
            invalid_reason(r#"{"id":"x"}"#),
            (Some("x".into()), "missing type".into())
        );
        assert_eq!(
            invalid_reason(r#"{"type":"req","id":"x"}"#),
            (Some("x".into()), "missing method".into())
        );
        assert_eq!(
            invalid_reason(r#"{"type":"req","id":7,"method":"m"}"#).0,
            None
        );
        assert_eq!(
            invalid_reason(r#"{"type":"req","id":"","method":"m"}"#).0,
            None
        );
        assert_eq!(
            invalid_reason(r#"{"type":"nope","id":"q"}"#).1,
            "unknown type \"nope\""
        );
        assert_eq!(
            invalid_reason(r#"{"type":"event","event":"tick","seq":-1}"#).1,
            "seq must be a non-negative integer"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(Frame::parse(&deep), Err(FrameError::NotJson(_))));
    }

    #[test]
    fn response_and_event_builders() {
        let r = Frame::Res(Response::ok("a", json!({"x":1})));
        assert_eq!(
            serde_json::from_str::<Value>(&r.to_json()).unwrap(),
            json!({"type":"res","id":"a","ok":true,"payload":{"x":1}})
        );
        let mut e = Event::new("tick", json!({"ts": 5}));
        e.seq = Some(3);
        assert_eq!(
            serde_json::from_str::<Value>(&Frame::Event(e).to_json()).unwrap(),
            json!({"type":"event","event":"tick","payload":{"ts":5},"seq":3})
        );
    }
}
