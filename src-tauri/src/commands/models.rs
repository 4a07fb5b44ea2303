//! `models_get`, `provider_save`, `provider_delete`, `default_model_set`, `provider_test`:
//! model providers, written through the gateway's `config.patch` so the gateway validates
//! every edit and an invalid one changes nothing.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use tauri::State;
use tether_protocol::methods::{names, ChatHistory, ModelsList};

use super::decode;
use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::providers::{self, ProviderInput, ProviderView};

/// `AvailableModel`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailableModel {
    /// `provider/model`.
    #[serde(rename = "ref")]
    pub model_ref: String,
    /// Provider.
    pub provider: String,
    /// Model id.
    pub id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `ModelSettings`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSettings {
    /// Providers.
    pub providers: Vec<ProviderView>,
    /// Default model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_model: Option<String>,
    /// What the gateway can run.
    pub available: Vec<AvailableModel>,
}

async fn read(d: &Desktop) -> IpcResult<ModelSettings> {
    let h = d.handle().await?;
    let snapshot = h.call(names::CONFIG_GET, json!({})).await?;
    let config = snapshot.get("config").cloned().unwrap_or(Value::Null);
    let (providers, default_model) = providers::read(&config);
    let available = match h.call(names::MODELS_LIST, json!({})).await {
        Ok(v) => decode::<ModelsList>(names::MODELS_LIST, v)?
            .models
            .into_iter()
            .map(|m| AvailableModel {
                model_ref: format!("{}/{}", m.provider, m.id),
                provider: m.provider,
                id: m.id,
                name: m.name,
            })
            .collect(),
        Err(e) => {
            tracing::warn!("models.list: {e}");
            Vec::new()
        }
    };
    Ok(ModelSettings {
        providers,
        default_model,
        available,
    })
}

async fn patch(d: &Desktop, patch: &Value) -> IpcResult<()> {
    d.handle()
        .await?
        .call(
            names::CONFIG_PATCH,
            json!({"raw": patch.to_string(), "note": "tether desktop settings"}),
        )
        .await?;
    Ok(())
}

/// `models_get`.
#[tauri::command]
pub async fn models_get(d: State<'_, Desktop>) -> IpcResult<ModelSettings> {
    let r = read(&d).await;
    d.tap.result("models_get", r)
}

/// `provider_save {provider}`.
#[tauri::command]
pub async fn provider_save(
    d: State<'_, Desktop>,
    provider: ProviderInput,
) -> IpcResult<ModelSettings> {
    let r = async {
        provider.validate()?;
        tracing::info!("saving {}", provider.describe());
        patch(&d, &provider.patch()).await?;
        read(&d).await
    }
    .await;
    d.tap.result("provider_save", r)
}

/// `provider_delete {id}`.
#[tauri::command]
pub async fn provider_delete(d: State<'_, Desktop>, id: String) -> IpcResult<ModelSettings> {
    let r = async {
        if !providers::valid_provider_id(&id) {
            return Err(IpcError::invalid(format!(
                "provider id {id:?} is not valid"
            )));
        }
        patch(&d, &providers::delete_patch(&id)).await?;
        read(&d).await
    }
    .await;
    d.tap.result("provider_delete", r)
}

/// `default_model_set {model}`.
#[tauri::command]
pub async fn default_model_set(d: State<'_, Desktop>, model: String) -> IpcResult<ModelSettings> {
    let r = async {
        if !providers::valid_model_ref(&model) {
            return Err(IpcError::invalid("model: <provider>/<model>"));
        }
        patch(&d, &providers::default_model_patch(&model)).await?;
        read(&d).await
    }
    .await;
    d.tap.result("default_model_set", r)
}

/// `ProviderTestResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTestResult {
    /// The model answered.
    pub ok: bool,
    /// Time to the answer.
    pub latency_ms: u64,
    /// The answer's first words, or what went wrong.
    pub message: String,
    /// The kind of failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

/// How long a test may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// `provider_test {id, model}`: one real turn through the gateway on that provider's model, in
/// a throw-away session that is deleted afterwards.
#[tauri::command]
pub async fn provider_test(
    d: State<'_, Desktop>,
    id: String,
    model: Option<String>,
) -> IpcResult<ProviderTestResult> {
    let r = async {
        if !providers::valid_provider_id(&id) {
            return Err(IpcError::invalid(format!(
                "provider id {id:?} is not valid"
            )));
        }
        let model = match model {
            Some(m) if !m.trim().is_empty() && m.len() <= 256 => m,
            Some(_) => return Err(IpcError::invalid("model: 1–256 characters")),
            None => {
                let current = read(&d).await?;
                current
                    .providers
                    .iter()
                    .find(|p| p.id == id)
                    .and_then(|p| p.models.first())
                    .map(|m| m.id.clone())
                    .ok_or_else(|| {
                        IpcError::invalid(format!("provider {id:?} has no model to test"))
                    })?
            }
        };
        let h = d.handle().await?;
        let run = uuid::Uuid::new_v4().to_string();
        let key = format!("agent:main:tether-probe-{}", &run[..8]);
        let started = Instant::now();
        let ack = h
            .call(
                names::AGENT,
                json!({"message": "Reply with the single word: OK", "idempotencyKey": run,
                       "sessionKey": key, "provider": id, "model": model,
                       "timeout": TEST_TIMEOUT.as_secs()}),
            )
            .await;
        let outcome = match ack {
            Err(e) => Err(IpcError::from(e)),
            Ok(_) => h
                .call_with_timeout(
                    "agent.wait",
                    json!({"runId": run, "timeoutMs": TEST_TIMEOUT.as_millis() as u64}),
                    TEST_TIMEOUT + Duration::from_secs(5),
                )
                .await
                .map_err(IpcError::from),
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let result = match outcome {
            Ok(w) => {
                let status = w.get("status").and_then(Value::as_str).unwrap_or("");
                if status == "ok" {
                    let reply = h
                        .call(names::CHAT_HISTORY, json!({"sessionKey": key, "limit": 4}))
                        .await
                        .ok()
                        .and_then(|v| serde_json::from_value::<ChatHistory>(v).ok())
                        .and_then(|hist| {
                            hist.messages
                                .iter()
                                .rev()
                                .find(|m| m.role == "assistant")
                                .map(|m| m.text())
                        })
                        .unwrap_or_default();
                    let words: String = reply
                        .split_whitespace()
                        .take(12)
                        .collect::<Vec<_>>()
                        .join(" ");
                    Ok(ProviderTestResult {
                        ok: true,
                        latency_ms,
                        message: if words.is_empty() {
                            "the model answered".into()
                        } else {
                            words
                        },
                        error_kind: None,
                    })
                } else {
                    let error = w
                        .get("error")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("the test run ended {status}"));
                    Ok(ProviderTestResult {
                        ok: false,
                        latency_ms,
                        message: error,
                        error_kind: w
                            .pointer("/details/errorKind")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    })
                }
            }
            Err(e) if e.code == crate::error::ErrorCode::Gateway => Ok(ProviderTestResult {
                ok: false,
                latency_ms,
                message: e.message,
                error_kind: e.gateway_code,
            }),
            Err(e) => Err(e),
        };
        if let Err(e) = h
            .call(
                names::SESSIONS_DELETE,
                json!({"key": key, "deleteTranscript": true}),
            )
            .await
        {
            tracing::debug!("could not delete the probe session: {e}");
        }
        result
    }
    .await;
    d.tap.result("provider_test", r)
}
