//! `models.list`.

use serde_json::{json, Value};
use tether_protocol::methods::{ModelEntry, ModelsList};
use tether_protocol::{ErrorShape, Map};

use crate::agent::provider::discovery;
use crate::agent::*;
use crate::config::schema::ProviderApi;

/// Upstream's `isLocalBaseUrl`: the URL's host (as a WHATWG URL parser normalizes it) is
/// `localhost`, a loopback IPv4 address, `0.0.0.0`, `::`, `::1`, or a name under `.local`.
pub fn is_local_base_url(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => host == "localhost" || host.ends_with(".local"),
    }
}

/// Upstream's tags of a model: `default` on the one new sessions use.
fn tags(is_default: bool) -> Option<Vec<String>> {
    is_default.then(|| vec!["default".to_owned()])
}

impl Engine {
    /// `models.list`: configured models (marked `available` when their server answers and any
    /// `${ENV}` key is set), discovered local models, and `tether/offline` when it is the model
    /// new sessions use (no provider configured or found, or selected by name). It can always
    /// be named for one run (`agent {provider:"tether", model:"offline"}`), but while another
    /// model is the default it is left out: its canned reply only explains how to configure a
    /// provider, so it is no model to pick beside one.
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
            let local = is_local_base_url(&p.base_url);
            for m in &p.models {
                let label = format!("{pid}/{}", m.id);
                let is_default = default.as_deref() == Some(label.as_str());
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
                    is_default: Some(is_default),
                    source: None,
                    builtin: None,
                    local: Some(local),
                    tags: tags(is_default),
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
            let is_default = default.as_deref() == Some(d.label().as_str());
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
                is_default: Some(is_default),
                source: Some(d.source.as_str().to_owned()),
                builtin: None,
                local: Some(is_local_base_url(&d.base_url)),
                tags: tags(is_default),
                extra: Map::new(),
            });
        }
        let offline = format!("{}/{}", settings::OFFLINE_PROVIDER, settings::OFFLINE_MODEL);
        if default.as_deref() == Some(offline.as_str()) {
            models.push(ModelEntry {
                id: settings::OFFLINE_MODEL.into(),
                name: Some("Tether offline (built-in, canned replies)".into()),
                provider: settings::OFFLINE_PROVIDER.into(),
                context_window: None,
                reasoning: Some(false),
                input: None,
                available: Some(true),
                status: Some("ok".into()),
                reason: None,
                is_default: Some(true),
                source: None,
                builtin: Some(true),
                local: None,
                tags: tags(true),
                extra: Map::new(),
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_means_what_upstream_means() {
        for local in [
            "http://localhost:11434/v1",
            "http://LOCALHOST:8080",
            "http://127.0.0.1:8080/v1",
            "http://127.1/v1",
            "http://127.45.6.7",
            "http://0.0.0.0:1234",
            "http://[::1]:8080/v1",
            "http://[0:0::1]/",
            "http://[::]/",
            "http://gpu-box.local:11434/v1",
        ] {
            assert!(is_local_base_url(local), "{local}");
        }
        for remote in [
            "https://api.openai.com/v1",
            "https://api.anthropic.com",
            "http://192.168.1.5:11434/v1",
            "http://localhost.:8080",
            "http://localhost.evil.com",
            "http://127.evil.com",
            "http://[::ffff:127.0.0.1]/",
            "not a url",
            "",
        ] {
            assert!(!is_local_base_url(remote), "{remote}");
        }
    }

    #[test]
    fn only_the_default_is_tagged() {
        assert_eq!(tags(true), Some(vec!["default".to_owned()]));
        assert_eq!(tags(false), None);
    }
}
