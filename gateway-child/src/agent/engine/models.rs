//! `models.list`.

use serde_json::{json, Value};
use tether_protocol::methods::{ModelEntry, ModelsList};
use tether_protocol::{ErrorShape, Map};

use crate::agent::provider::discovery;
use crate::agent::*;
use crate::config::schema::ProviderApi;

impl Engine {
    /// `models.list`: configured models (marked `available` when their server answers and any
    /// `${ENV}` key is set), discovered local models, and `tether/offline`.
    pub async fn models_list(&self, _caller: &EngineCaller) -> Result<ModelsList, ErrorShape> {
        let s = self.inner.settings();
        let default = match s.configured_model() {
            Ok(Some(m)) => Some(m.label()),
            Ok(None) => self.inner.resolve_model(&s).await.ok().map(|m| m.label()),
            Err(_) => None,
        };
        let mut models = Vec::new();
        let mut checks = Vec::new();
        for p in s.providers.values() {
            let api = p.api.unwrap_or(ProviderApi::OpenAiCompletions);
            let base = p.base_url.trim_end_matches('/').to_owned();
            let http = self.inner.http.clone();
            checks.push(async move { discovery::reachable(&http, &base, api).await });
        }
        let reach: Vec<bool> = futures_util::future::join_all(checks).await;
        for ((pid, p), reachable) in s.providers.iter().zip(reach) {
            let key_state = settings::resolve_api_key(p.api_key.as_ref());
            let (status, reason) = match (&key_state, reachable) {
                (Err(m), _) => ("unconfigured", Some(m.clone())),
                (Ok(_), false) => (
                    "unreachable",
                    Some(format!("{} did not answer", p.base_url)),
                ),
                (Ok(_), true) => ("ok", None),
            };
            for m in &p.models {
                let label = format!("{pid}/{}", m.id);
                models.push(ModelEntry {
                    id: m.id.clone(),
                    name: Some(m.name.clone().unwrap_or_else(|| m.id.clone())),
                    provider: pid.clone(),
                    context_window: m.context_window,
                    reasoning: m.reasoning,
                    input: m.input.clone(),
                    available: Some(status == "ok"),
                    status: Some(status.to_owned()),
                    reason: reason.clone(),
                    is_default: Some(default.as_deref() == Some(label.as_str())),
                    source: None,
                    builtin: None,
                    extra: Map::new(),
                });
            }
        }
        let discovered = self
            .inner
            .discovered
            .lock()
            .ok()
            .and_then(|d| d.as_ref().and_then(|d| d.choice.clone()));
        if let Some(d) = discovered.filter(|_| s.providers.is_empty()) {
            models.push(ModelEntry {
                id: d.model.clone(),
                name: Some(d.model.clone()),
                provider: d.provider.clone(),
                context_window: None,
                reasoning: None,
                input: None,
                available: Some(true),
                status: Some("ok".into()),
                reason: None,
                is_default: Some(default.as_deref() == Some(d.label().as_str())),
                source: Some(d.source.as_str().to_owned()),
                builtin: None,
                extra: Map::new(),
            });
        }
        models.push(ModelEntry {
            id: settings::OFFLINE_MODEL.into(),
            name: Some("Tether offline (no provider configured)".into()),
            provider: settings::OFFLINE_PROVIDER.into(),
            context_window: None,
            reasoning: Some(false),
            input: None,
            available: Some(true),
            status: Some("ok".into()),
            reason: None,
            is_default: Some(default.as_deref() == Some("tether/offline")),
            source: None,
            builtin: Some(true),
            extra: Map::new(),
        });
        Ok(ModelsList {
            models,
            default,
            extra: Map::new(),
        })
    }
}

impl Engine {
    /// `models.authStatus`: each configured provider and whether its key is there. Keys are
    /// static here (no logins, nothing expires): `static` when a key resolves, `missing` when
    /// the configured key does not (an unset `${ENV}`), `ok` for a provider that needs none.
    pub fn models_auth_status(&self) -> Value {
        let s = self.inner.settings();
        let providers: Vec<Value> = s
            .providers
            .iter()
            .map(|(pid, p)| {
                let (status, reason) = match settings::resolve_api_key(p.api_key.as_ref()) {
                    Ok(Some(_)) => ("static", None),
                    Ok(None) => ("ok", None),
                    Err(m) => ("missing", Some(m)),
                };
                let mut entry = json!({
                    "provider": pid,
                    "authProvider": pid,
                    "displayName": pid,
                    "status": status,
                    "expiry": null,
                    "profiles": [],
                });
                if let Some(r) = reason {
                    entry["reason"] = json!(r);
                }
                entry
            })
            .collect();
        json!({
            "ts": crate::process::clock::now_ms(),
            "providers": providers,
            "providerCapabilities": [],
        })
    }
}
