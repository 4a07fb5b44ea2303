//! `exec.approval.resolve` and `exec.approval.list`: deciding the exec approvals the agent
//! engine asked for (`exec.approval.requested` goes only to `operator.approvals` holders; the
//! engine re-checks the scope). `approval.history`: the approvals that ended since the gateway
//! started. `exec.approvals.get`: the allow-always document (`<state>/exec-approvals.json`) in
//! upstream's document shape, with the policy `tools.exec.ask` puts in force. Nothing here runs
//! a command, and nothing writes the document (`exec.approvals.set` is not served).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tether_protocol::approvals::{
    ApprovalHistoryParams, ExecApprovalsAgent, ExecApprovalsAllowlistEntry, ExecApprovalsFile,
    ExecApprovalsPolicy, ExecApprovalsSnapshot,
};
use tether_protocol::consts::DEFAULT_AGENT_ID;
use tether_protocol::methods::{names, ExecApprovalResolveParams};
use tether_protocol::{ErrorShape, Map};

use super::{encode, params_for};
use crate::agent::{Engine, EngineCaller};

/// The largest allow-always document read for its hash.
const DOCUMENT_MAX_BYTES: u64 = 4 << 20;

/// `exec.approval.resolve {id, decision: allow-once|allow-always|deny}`.
pub async fn resolve(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: ExecApprovalResolveParams = params_for(names::EXEC_APPROVAL_RESOLVE, params)?;
    engine.exec_approval_resolve(caller, p).await
}

/// `exec.approval.list {}` → `[...]` (pending ones, a bare array as upstream).
pub async fn list(
    engine: &Engine,
    caller: &EngineCaller,
    _params: Value,
) -> Result<Value, ErrorShape> {
    engine.exec_approval_list(caller).await
}

/// `approval.history {cursor?, limit?, kind?}` → `{items, nextCursor?}`.
pub async fn history(
    engine: &Engine,
    caller: &EngineCaller,
    params: Value,
) -> Result<Value, ErrorShape> {
    let p: ApprovalHistoryParams = params_for(names::APPROVAL_HISTORY, params)?;
    encode(&engine.approval_history(caller, p).await?)
}

/// `exec.approvals.get {}` → `{path, exists, hash, file, resolvedDefaults}`: the file read now
/// (on the blocking pool) for its hash, the decisions in force as the main agent's allowlist
/// (each an exact command, `source: allow-always`; the cwd it was approved in is always the
/// agent workspace), and the policy from `tools.exec.ask`. The allowlist patterns of
/// `tools.exec.allowlist` live in the config, not in this document.
pub async fn document(engine: &Engine, _params: Value) -> Result<Value, ErrorShape> {
    let allow = engine.allow_always();
    let path = allow.path.clone();
    let bytes = tokio::task::spawn_blocking(move || read_document(&path))
        .await
        .map_err(|e| ErrorShape::unavailable(format!("exec.approvals.get failed: {e}"), 1000))?
        .map_err(|e| {
            ErrorShape::unavailable(format!("cannot read {}: {e}", allow.path.display()), 1000)
        })?;
    let entries: Vec<ExecApprovalsAllowlistEntry> = allow
        .entries
        .into_iter()
        .map(|(command, _cwd)| ExecApprovalsAllowlistEntry {
            pattern: command.clone(),
            source: Some("allow-always".into()),
            command_text: Some(command),
        })
        .collect();
    let mut agents = BTreeMap::new();
    if !entries.is_empty() {
        agents.insert(
            DEFAULT_AGENT_ID.to_owned(),
            ExecApprovalsAgent {
                policy: ExecApprovalsPolicy::default(),
                allowlist: entries,
            },
        );
    }
    encode(&ExecApprovalsSnapshot {
        path: allow.path.display().to_string(),
        exists: bytes.is_some(),
        hash: document_hash(bytes.as_deref()),
        file: ExecApprovalsFile {
            version: 1,
            defaults: ExecApprovalsPolicy::default(),
            agents,
        },
        resolved_defaults: Some(engine.exec_policy()),
        extra: Map::new(),
    })
}

/// The document's bytes, `None` when there is no file yet.
fn read_document(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match crate::process::regular_file::read(path, DOCUMENT_MAX_BYTES) {
        Ok((bytes, meta)) if meta.len() > bytes.len() as u64 => Err(std::io::Error::other(
            format!("larger than {DOCUMENT_MAX_BYTES} bytes"),
        )),
        Ok((bytes, _)) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// `sha256` hex of the document, or upstream's `missing:<sha256 of "">` when there is none.
fn document_hash(bytes: Option<&[u8]>) -> String {
    let hex = |b: &[u8]| {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    match bytes {
        Some(b) => hex(b),
        None => format!("missing:{}", hex(b"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_of_the_bytes_and_says_when_the_file_is_missing() {
        assert_eq!(
            document_hash(None),
            "missing:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            document_hash(Some(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_missing_document_reads_as_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            read_document(&dir.path().join("nope.json")).ok(),
            Some(None)
        );
        let f = dir.path().join("exec-approvals.json");
        std::fs::write(&f, b"{}").expect("write");
        assert_eq!(read_document(&f).ok(), Some(Some(b"{}".to_vec())));
    }
}
