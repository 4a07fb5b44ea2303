//! Methods and events: the method table and routing (`dispatch`), who is calling (`caller`), the
//! call context and late responses (`call`), the health summary (`health`), the connection
//! registry and fan-out (`hub`, behind the engine's `bus::EventSink`), and the handlers, one
//! module per family (`agent`, `approvals`, `chat`, `config`, `logs`, `models`, `restart`,
//! `sessions`, `system`, `usage`), and `absent`: upstream's empty shapes for features Tether
//! does not have, and the `UNSUPPORTED` answer for every other upstream method.
//!
//! Each handler receives a [`crate::methods::call::CallContext`] (already authorized) and the request
//! params, and returns the response payload or an `ErrorShape`. Handlers validate their params
//! themselves (unknown fields are ignored, wrong types are `INVALID_REQUEST`); they never check
//! scopes (dispatch did) and never write to a socket (the responder enqueues). The chat, agent,
//! session, model and approval handlers are thin adapters over the run's agent engine
//! ([`crate::agent::Engine`]): decode, call, encode, and keep the ack-before-events order.

pub mod absent;
pub mod agent;
pub mod approvals;
pub mod bus;
pub mod call;
pub mod caller;
pub mod chat;
pub mod config;
pub mod dispatch;
pub mod health;
pub mod hub;
pub mod logs;
pub mod models;
pub mod restart;
pub mod sessions;
pub mod system;
pub mod upstream;
pub mod usage;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_protocol::ErrorShape;

/// Decodes params into `T`, or `INVALID_REQUEST "invalid params: …"`.
pub fn params<T: DeserializeOwned>(params: Value) -> Result<T, ErrorShape> {
    serde_json::from_value(params)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid params: {e}")))
}

/// Decodes params of `method` into `T`, or `INVALID_REQUEST "invalid <method> params: …"` (the
/// wording upstream uses, e.g. for `chat.history` without `sessionKey`).
pub fn params_for<T: DeserializeOwned>(method: &str, params: Value) -> Result<T, ErrorShape> {
    serde_json::from_value(params)
        .map_err(|e| ErrorShape::invalid_request(format!("invalid {method} params: {e}")))
}

/// Encodes a result payload.
pub fn encode<T: serde::Serialize>(value: &T) -> Result<Value, ErrorShape> {
    serde_json::to_value(value)
        .map_err(|e| ErrorShape::unavailable(format!("cannot encode the result: {e}"), 1000))
}

/// The handlers that need only the engine, called without a socket, a hub or a run.
#[cfg(test)]
mod engine_handler_tests {
    use std::sync::Arc;

    use serde_json::json;
    use tether_protocol::{ErrorCode, Scope};

    use crate::agent::{Engine, EngineCaller, EngineOptions};
    use crate::config::schema::Config;
    use crate::methods::bus::{Audience, EventSink, OutEvent};

    struct Nowhere;

    impl EventSink for Nowhere {
        fn emit(&self, _event: OutEvent, _audience: Audience, _droppable: bool) {}
    }

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::new(
            &Config::default(),
            EngineOptions::new(dir),
            Arc::new(Nowhere),
        )
        .expect("an engine")
    }

    fn caller(scopes: &[Scope]) -> EngineCaller {
        EngineCaller {
            conn: Some(1),
            client: "test/cli".into(),
            protocol: 4,
            tool_events: false,
            scopes: scopes.to_vec(),
            operator_ui: false,
        }
    }

    #[tokio::test]
    async fn sessions_list_validates_its_params_then_lists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let admin = caller(&[Scope::Admin]);
        let err = super::sessions::list(&e, &admin, json!({"limit": "many"}))
            .await
            .expect_err("a string limit");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        let ok = super::sessions::list(&e, &admin, json!({}))
            .await
            .expect("a list");
        assert_eq!(ok["sessions"], json!([]));
    }

    #[tokio::test]
    async fn sessions_reset_and_delete_need_a_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let admin = caller(&[Scope::Admin]);
        for result in [
            super::sessions::reset(&e, &admin, json!({})).await,
            super::sessions::delete(&e, &admin, json!({})).await,
        ] {
            assert_eq!(result.expect_err("no key").code, ErrorCode::InvalidRequest);
        }
    }

    #[tokio::test]
    async fn approvals_need_the_approvals_scope() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let reader = caller(&[Scope::Read]);
        assert!(super::approvals::list(&e, &reader, json!({}))
            .await
            .is_err());
        let approver = caller(&[Scope::Approvals]);
        assert_eq!(
            super::approvals::list(&e, &approver, json!({}))
                .await
                .expect("pending approvals"),
            json!([])
        );
        let err = super::approvals::resolve(&e, &approver, json!({"id": "x"}))
            .await
            .expect_err("no decision");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }

    #[tokio::test]
    async fn approval_history_checks_its_scope_and_params() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let reader = caller(&[Scope::Read]);
        assert!(super::approvals::history(&e, &reader, json!({}))
            .await
            .is_err());
        let approver = caller(&[Scope::Approvals]);
        assert_eq!(
            super::approvals::history(&e, &approver, json!({"limit": 50}))
                .await
                .expect("a page"),
            json!({"items": []})
        );
        for bad in [
            json!({"limit": 0}),
            json!({"limit": 101}),
            json!({"kind": "robot"}),
            json!({"cursor": "?"}),
        ] {
            let err = super::approvals::history(&e, &approver, bad.clone())
                .await
                .expect_err("refused");
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{bad}");
        }
    }

    #[tokio::test]
    async fn exec_approvals_get_reports_the_document_and_the_policy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let doc = super::approvals::document(&e, json!({}))
            .await
            .expect("a snapshot");
        assert_eq!(doc["exists"], false);
        assert_eq!(
            doc["path"],
            dir.path().join("exec-approvals.json").display().to_string()
        );
        assert!(doc["hash"]
            .as_str()
            .is_some_and(|h| h.starts_with("missing:")));
        assert_eq!(
            doc["file"],
            json!({"version": 1, "defaults": {}, "agents": {}})
        );
        // The default `tools.exec.ask` is on-miss: allowlisted commands run, others ask.
        assert_eq!(
            doc["resolvedDefaults"],
            json!({"security": "allowlist", "ask": "on-miss", "askFallback": "deny",
                "autoAllowSkills": false})
        );
    }

    #[tokio::test]
    async fn sessions_usage_without_sessions_is_empty_and_refuses_bad_dates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = engine(dir.path());
        let usage = super::usage::sessions_usage(
            &e,
            json!({"startDate": "2026-11-05", "endDate": "2026-12-04", "mode": "specific",
                "timeZone": "UTC", "utcOffset": "UTC+0", "groupBy": "family", "limit": 1000}),
        )
        .await
        .expect("usage");
        assert_eq!(usage["startDate"], "2026-11-05");
        assert_eq!(usage["endDate"], "2026-12-04");
        assert_eq!(usage["sessions"], json!([]));
        assert_eq!(usage["totals"]["totalTokens"], 0);
        assert_eq!(usage["aggregates"]["sessionCount"], 0);
        let err = super::usage::sessions_usage(
            &e,
            json!({"startDate": "2026-11-31", "endDate": "2026-12-04"}),
        )
        .await
        .expect_err("no such day");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert!(err.message.contains("startDate"), "{}", err.message);
    }
}
