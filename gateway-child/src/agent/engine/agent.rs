//! `agent` and `agent.wait`.

use std::time::Duration;

use serde_json::{json, Value};
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{AgentParams, AgentRunResult, AgentWaitParams, RunStatus};
use tether_protocol::{ErrorCode, ErrorShape, Map};
use tokio::sync::watch;

use crate::agent::run::{RunKind, RunSpec};
use crate::agent::runs::{Lookup, RunOutcome};
use crate::agent::settings::AgentSettings;
use crate::agent::*;

impl Engine {
    /// `agent`: the `accepted` ack and a future of the final result (see the module docs).
    pub async fn agent(
        &self,
        caller: &EngineCaller,
        params: AgentParams,
    ) -> Result<(Ack<AgentRunResult>, AgentDone), ErrorShape> {
        let raw_key = params
            .session_key
            .clone()
            .unwrap_or_else(|| match &params.agent_id {
                Some(a) => format!("agent:{a}:main"),
                None => tether_protocol::consts::MAIN_SESSION_KEY.to_owned(),
            });
        let key = parse_key(&raw_key)?;
        let run_id = params.idempotency_key.trim().to_owned();
        if run_id.is_empty() || run_id.len() > 256 {
            return Err(ErrorShape::invalid_request(
                "idempotencyKey must be 1..256 characters",
            ));
        }
        let accepted = |status: RunStatus, at: u64| {
            let mut extra = Map::new();
            extra.insert("sessionKey".into(), json!(key.to_string()));
            extra.insert("agentId".into(), json!(key.agent_id()));
            AgentRunResult {
                run_id: run_id.clone(),
                status,
                accepted_at: Some(at),
                summary: None,
                result: None,
                started_at: None,
                ended_at: None,
                error: None,
                extra,
            }
        };
        let existing = self.lookup_or_recall(&key, &run_id);
        let (ack, rx) = match existing {
            Lookup::Active(a) => (
                Ack::new(accepted(RunStatus::InFlight, a.accepted_at), None),
                a.done.clone(),
            ),
            Lookup::Done(o) => {
                let (_tx, rx) = watch::channel(Some(o.clone()));
                (
                    Ack::new(accepted(Self::cached_status(&o), o.ended_at), None),
                    rx,
                )
            }
            Lookup::Unknown => {
                let raw = params.extra.get("attachments").and_then(Value::as_array);
                let attachments = attachments::parse(raw.map(Vec::as_slice))
                    .map_err(ErrorShape::invalid_request)?;
                if params.message.trim().is_empty() && attachments.is_empty() {
                    return Err(ErrorShape::invalid_request("message required"));
                }
                if params.message.len() > MAX_MESSAGE_BYTES {
                    return Err(ErrorShape::invalid_request(format!(
                        "message is larger than {MAX_MESSAGE_BYTES} bytes"
                    )));
                }
                self.check_open()?;
                self.busy(&key)?;
                let timeout = params
                    .timeout
                    .filter(|t| *t > 0)
                    .map(Duration::from_secs)
                    .unwrap_or(self.inner.settings().run_timeout);
                let model = run_model(&self.inner.settings(), &params)?;
                let spec = RunSpec {
                    run_id: run_id.clone(),
                    key: key.clone(),
                    message: params.message.clone(),
                    attachments: attachments.into(),
                    kind: RunKind::Agent,
                    timeout,
                    extra_system_prompt: params.extra_system_prompt.clone(),
                    observer: None,
                    model,
                    timing: None,
                };
                match self.start(caller, spec) {
                    Ok((a, release)) => (
                        Ack::new(accepted(RunStatus::Accepted, a.accepted_at), Some(release)),
                        a.done.clone(),
                    ),
                    Err(Lookup::Active(a)) => (
                        Ack::new(accepted(RunStatus::InFlight, a.accepted_at), None),
                        a.done.clone(),
                    ),
                    Err(Lookup::Done(o)) => {
                        let (_tx, rx) = watch::channel(Some(o.clone()));
                        (
                            Ack::new(accepted(Self::cached_status(&o), o.ended_at), None),
                            rx,
                        )
                    }
                    Err(Lookup::Unknown) => return Err(internal("could not open the session")),
                }
            }
        };
        let rid = run_id.clone();
        let done: AgentDone = Box::pin(async move {
            let mut rx = rx;
            let outcome = match rx.wait_for(|o| o.is_some()).await {
                Ok(o) => o.clone(),
                Err(_) => None,
            };
            let Some(o) = outcome else {
                return Err(ErrorShape::unavailable("the run was lost", 1000));
            };
            agent_final(&rid, &o)
        });
        Ok((ack, done))
    }

    /// `agent.wait`: waits up to `timeoutMs` (default 30 s) for a run to end.
    pub async fn agent_wait(
        &self,
        caller: &EngineCaller,
        params: AgentWaitParams,
    ) -> Result<AgentRunResult, ErrorShape> {
        let timeout =
            Duration::from_millis(params.timeout_ms.unwrap_or(30_000).min(24 * 3_600_000));
        let wait_result = |o: &RunOutcome| AgentRunResult {
            run_id: params.run_id.clone(),
            status: Self::cached_status(o),
            accepted_at: None,
            summary: None,
            result: None,
            started_at: Some(o.started_at),
            ended_at: Some(o.ended_at),
            error: o.error.clone(),
            extra: Map::new(),
        };
        match self.inner.runs.lookup(&params.run_id) {
            Lookup::Done(o) => Ok(wait_result(&o)),
            Lookup::Active(a) => {
                let mut rx = a.done.clone();
                let waited = tokio::time::timeout(timeout, rx.wait_for(|o| o.is_some()))
                    .await
                    .map(|r| r.map(|o| o.clone()));
                match waited {
                    Ok(Ok(o)) => match o {
                        Some(o) => Ok(wait_result(&o)),
                        None => Err(ErrorShape::unavailable("the run was lost", 1000)),
                    },
                    Ok(Err(_)) => Err(ErrorShape::unavailable("the run was lost", 1000)),
                    Err(_) => Ok(AgentRunResult {
                        run_id: params.run_id.clone(),
                        status: RunStatus::Timeout,
                        accepted_at: None,
                        summary: None,
                        result: None,
                        started_at: None,
                        ended_at: None,
                        error: None,
                        extra: Map::new(),
                    }),
                }
            }
            Lookup::Unknown => {
                let msg = format!(
                    "no run {:?} (unknown, or finished more than 5 minutes ago)",
                    params.run_id
                );
                Err(if caller.protocol >= 4 {
                    ErrorShape::new(ErrorCode::AgentResultNotFound, msg)
                } else {
                    ErrorShape::invalid_request(msg)
                })
            }
        }
    }
}

/// `agent`'s final response for an outcome: `ok` with the reply as `result.payloads`, `aborted`
/// likewise, and an error shape for a failed run.
fn agent_final(run_id: &str, o: &RunOutcome) -> Result<AgentRunResult, ErrorShape> {
    let result = run::agent_result(run_id, o);
    let (status, summary) = match o.state {
        ChatState::Final => (RunStatus::Ok, "completed".to_owned()),
        ChatState::Aborted => (
            RunStatus::Aborted,
            format!(
                "aborted ({})",
                o.stop_reason.clone().unwrap_or_else(|| "rpc".into())
            ),
        ),
        _ => {
            let msg = o.error.clone().unwrap_or_else(|| "the run failed".into());
            let mut e = ErrorShape::unavailable(msg.clone(), 1000);
            e.retryable = Some(false);
            e.retry_after_ms = None;
            e.details = Some(json!({"runId": run_id, "status": "error", "summary": msg,
                "errorKind": o.error_kind}));
            return Err(e);
        }
    };
    Ok(AgentRunResult {
        run_id: run_id.to_owned(),
        status,
        accepted_at: None,
        summary: Some(summary),
        result: Some(result),
        started_at: Some(o.started_at),
        ended_at: Some(o.ended_at),
        error: None,
        extra: Map::new(),
    })
}

/// `agent {provider?, model?}`: the run's own model, checked before the run is accepted.
fn run_model(
    settings: &AgentSettings,
    p: &AgentParams,
) -> Result<Option<(String, String)>, ErrorShape> {
    let (provider, model) = match (p.provider.as_deref(), p.model.as_deref()) {
        (None, None) => return Ok(None),
        (Some(pr), Some(m)) => (pr.to_owned(), m.to_owned()),
        (None, Some(m)) => match m.split_once('/') {
            Some((pr, m)) => (pr.to_owned(), m.to_owned()),
            None => {
                return Err(ErrorShape::invalid_request(format!(
                    "model {m:?} needs a provider: pass provider, or model as <provider>/<model>"
                )))
            }
        },
        (Some(_), None) => {
            return Err(ErrorShape::invalid_request("provider needs a model"));
        }
    };
    if provider.is_empty() || model.is_empty() || provider.len() > 128 || model.len() > 256 {
        return Err(ErrorShape::invalid_request(
            "provider and model must be 1..128 and 1..256 characters",
        ));
    }
    settings
        .model_by_ref(&provider, &model)
        .map_err(ErrorShape::invalid_request)?;
    Ok(Some((provider, model)))
}
