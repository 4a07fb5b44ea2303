//! `chat_stream`, `chat_send`, `chat_abort`, `approval_resolve`, `approvals_pending`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::State;
use tether_protocol::events::ExecApprovalRequested;
use tether_protocol::methods::{names, RunAck};
use tether_supervisor::events::ApprovalState;

use super::{decode, id, session_key};
use crate::coalesce::StreamEnvelope;
use crate::commands::app::LIMITS;
use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::view::ApprovalMessage;

/// `chat_stream {channel}`: from now on, envelopes go to this channel (replacing an older one).
#[tauri::command]
pub fn chat_stream(d: State<'_, Desktop>, channel: Channel<StreamEnvelope>) -> IpcResult<()> {
    if let Ok(mut slot) = d.stream.lock() {
        *slot = Some(channel);
    }
    d.tap.result("chat_stream", Ok(()))
}

/// One file of `chat_send`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutgoingAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// Base64 content.
    pub content_base64: String,
}

/// `SendRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    /// Session.
    pub session_key: String,
    /// Text.
    pub message: String,
    /// Files.
    #[serde(default)]
    pub attachments: Vec<OutgoingAttachment>,
    /// Idempotency key.
    pub idempotency_key: String,
}

/// `SendResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResult {
    /// Run id.
    pub run_id: String,
    /// `started`, `in_flight`, `ok`, …
    pub status: String,
}

/// Checks a send request and builds the gateway's `chat.send` params.
pub fn send_params(r: &SendRequest) -> Result<Value, IpcError> {
    let key = session_key(&r.session_key)?;
    let units = r.message.encode_utf16().count();
    if r.message.trim().is_empty() && r.attachments.is_empty() {
        return Err(IpcError::invalid("write a message or attach a file"));
    }
    if units > LIMITS.max_message_chars {
        return Err(IpcError::invalid(format!(
            "the message is {units} characters; the limit is {}",
            LIMITS.max_message_chars
        )));
    }
    let ik = &r.idempotency_key;
    if ik.is_empty()
        || ik.len() > 128
        || !ik
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
    {
        return Err(IpcError::invalid(
            "idempotencyKey: 1–128 of A-Z a-z 0-9 . _ : -",
        ));
    }
    if r.attachments.len() > LIMITS.max_attachments {
        return Err(IpcError::invalid(format!(
            "{} files attached; at most {} per message",
            r.attachments.len(),
            LIMITS.max_attachments
        )));
    }
    let mut total = 0usize;
    let mut files = Vec::with_capacity(r.attachments.len());
    for a in &r.attachments {
        if a.name.is_empty() || a.name.len() > 255 || a.name.contains(['/', '\0']) {
            return Err(IpcError::invalid(format!(
                "file name {:?} is not usable",
                a.name
            )));
        }
        if a.mime_type.len() > 255
            || a.mime_type
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(IpcError::invalid(format!(
                "{}: the file type is not usable",
                a.name
            )));
        }
        // A cheap bound before decoding: base64 is 4 bytes per 3.
        if a.content_base64.len() / 4 * 3 > LIMITS.max_attachment_bytes + 3 {
            return Err(too_big(&a.name));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(a.content_base64.as_bytes())
            .map_err(|_| IpcError::invalid(format!("{}: the content is not base64", a.name)))?;
        total += bytes.len();
        if total > LIMITS.max_attachment_bytes {
            return Err(too_big(&a.name));
        }
        files.push(json!({
            "type": if a.mime_type.starts_with("image/") { "image" } else { "file" },
            "mimeType": a.mime_type,
            "fileName": a.name,
            "content": a.content_base64,
        }));
    }
    let mut params = json!({
        "sessionKey": key,
        "message": r.message,
        "idempotencyKey": ik,
    });
    if !files.is_empty() {
        params["attachments"] = Value::Array(files);
    }
    Ok(params)
}

fn too_big(name: &str) -> IpcError {
    IpcError::invalid(format!(
        "{name}: the files of one message may add up to {} MB",
        LIMITS.max_attachment_bytes / 1_000_000
    ))
}

/// `chat_send {request}`.
#[tauri::command]
pub async fn chat_send(d: State<'_, Desktop>, request: SendRequest) -> IpcResult<SendResult> {
    let r = async {
        let params = send_params(&request)?;
        let h = d.handle().await?;
        let ack: RunAck = decode(names::CHAT_SEND, h.call(names::CHAT_SEND, params).await?)?;
        Ok(SendResult {
            run_id: ack.run_id,
            status: ack.status.as_str().to_owned(),
        })
    }
    .await;
    d.tap.result("chat_send", r)
}

/// `{aborted}`.
#[derive(Debug, Clone, Serialize)]
pub struct Aborted {
    /// Whether a run was stopped.
    pub aborted: bool,
}

/// `chat_abort {sessionKey, runId}`.
#[tauri::command]
pub async fn chat_abort(
    d: State<'_, Desktop>,
    session_key: String,
    run_id: Option<String>,
) -> IpcResult<Aborted> {
    let r = async {
        let key = super::session_key(&session_key)?;
        let mut params = json!({"sessionKey": key});
        if let Some(run) = run_id {
            params["runId"] = json!(id("runId", &run)?);
        }
        let v = d.handle().await?.call(names::CHAT_ABORT, params).await?;
        Ok(Aborted {
            aborted: v.get("aborted").and_then(Value::as_bool).unwrap_or(false),
        })
    }
    .await;
    d.tap.result("chat_abort", r)
}

/// `approval_resolve {id, decision}`.
#[tauri::command]
pub async fn approval_resolve(
    d: State<'_, Desktop>,
    id: String,
    decision: String,
) -> IpcResult<()> {
    let r = async {
        let approval = super::id("id", &id)?;
        if !matches!(decision.as_str(), "allow-once" | "allow-always" | "deny") {
            return Err(IpcError::invalid(
                "decision: allow-once, allow-always or deny",
            ));
        }
        d.handle()
            .await?
            .call(
                names::EXEC_APPROVAL_RESOLVE,
                json!({"id": approval, "decision": decision}),
            )
            .await?;
        Ok(())
    }
    .await;
    d.tap.result("approval_resolve", r)
}

/// `ApprovalMessage`s of a pending list.
pub fn pending(v: &Value) -> Vec<ApprovalMessage> {
    // A bare array, as upstream OpenClaw and Tether's gateway answer; `{approvals: [...]}` from
    // Tether's gateways before 2026-12.
    v.as_array()
        .or_else(|| v.get("approvals").and_then(Value::as_array))
        .map(|a| {
            a.iter()
                .filter_map(|x| serde_json::from_value::<ExecApprovalRequested>(x.clone()).ok())
                .map(|p| ApprovalMessage {
                    state: ApprovalState::Requested,
                    id: p.id,
                    command: Some(p.request.command),
                    cwd: p.request.cwd,
                    session_key: p.request.session_key,
                    run_id: p.request.run_id,
                    decision: None,
                    expires_at_ms: p.expires_at_ms,
                    allowed_decisions: p.request.allowed_decisions,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `approvals_pending`.
#[tauri::command]
pub async fn approvals_pending(d: State<'_, Desktop>) -> IpcResult<Vec<ApprovalMessage>> {
    let r = async {
        let v = d
            .handle()
            .await?
            .call(names::EXEC_APPROVAL_LIST, json!({}))
            .await?;
        Ok(pending(&v))
    }
    .await;
    d.tap.result("approvals_pending", r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(message: &str, files: Vec<OutgoingAttachment>) -> SendRequest {
        SendRequest {
            session_key: "main".into(),
            message: message.into(),
            attachments: files,
            idempotency_key: "0c4b6a0e-1f7d-4d8e-9b1a-2c3d4e5f6a7b".into(),
        }
    }

    fn file(name: &str, mime: &str, bytes: &[u8]) -> OutgoingAttachment {
        OutgoingAttachment {
            name: name.into(),
            mime_type: mime.into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    #[test]
    fn builds_chat_send_with_attachments() {
        let p = send_params(&req(
            "hi",
            vec![
                file("a.png", "image/png", b"\x89PNG"),
                file("n.txt", "text/plain", b"x"),
            ],
        ))
        .unwrap();
        assert_eq!(p["sessionKey"], "agent:main:main");
        assert_eq!(p["attachments"][0]["type"], "image");
        assert_eq!(p["attachments"][1]["fileName"], "n.txt");
        assert!(send_params(&req("hi", vec![]))
            .unwrap()
            .get("attachments")
            .is_none());
        // A file alone is a message.
        send_params(&req("", vec![file("n.txt", "text/plain", b"x")])).unwrap();
    }

    #[test]
    fn refuses_what_the_gateway_would_refuse_with_a_clear_reason() {
        let msg = |r: SendRequest| send_params(&r).unwrap_err().message;
        assert!(msg(req("  ", vec![])).contains("write a message"));
        let mut bad_key = req("hi", vec![]);
        bad_key.idempotency_key = "a b".into();
        assert!(msg(bad_key).contains("idempotencyKey"));
        let many = (0..33)
            .map(|i| file(&format!("{i}.txt"), "text/plain", b"x"))
            .collect();
        assert!(msg(req("hi", many)).contains("at most 32"));
        let half = vec![0u8; LIMITS.max_attachment_bytes / 2 + 1];
        assert!(msg(req(
            "hi",
            vec![file("a", "x/y", &half), file("b", "x/y", &half)]
        ))
        .contains("add up to"));
        let mut b64 = file("a", "text/plain", b"x");
        b64.content_base64 = "%%%".into();
        assert!(msg(req("hi", vec![b64])).contains("not base64"));
        assert!(msg(req("hi", vec![file("../x", "text/plain", b"x")])).contains("not usable"));
        let long = "字".repeat(LIMITS.max_message_chars + 1);
        assert!(msg(req(&long, vec![])).contains("the limit is"));
    }

    #[test]
    fn pending_list_maps_to_approval_messages() {
        let one = json!({"id": "a1", "request": {"command": "rm -rf build", "cwd": "/w", "sessionKey": "agent:main:main"}, "expiresAtMs": 9});
        assert_eq!(pending(&json!([one.clone()])).len(), 1);
        let v = json!({"approvals": [one]});
        let p = pending(&v);
        assert_eq!(p.len(), 1);
        let j = serde_json::to_value(&p[0]).unwrap();
        assert_eq!(
            j,
            json!({"kind": "approval", "state": "requested", "id": "a1", "command": "rm -rf build", "cwd": "/w", "sessionKey": "agent:main:main", "expiresAtMs": 9})
        );
    }
}
