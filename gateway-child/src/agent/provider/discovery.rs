//! Local model servers: probing for a running Ollama or llama.cpp server when nothing is
//! configured, and checking whether configured providers answer (for `models.list`).
//!
//! It owns the probe requests (short timeouts, loopback addresses given by the caller) and the
//! interpretation of their answers. It must never probe anything but the addresses it is given,
//! never send a key to a probe, and never block a run for longer than the probe timeout.

use std::time::Duration;

use serde_json::Value;

use crate::agent::settings::{ModelChoice, ModelSource};
use crate::config::schema::ProviderApi;

/// How long a probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(400);

/// A local server kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// Ollama (`GET /api/tags`).
    Ollama,
    /// llama.cpp server (`GET /v1/models`).
    LlamaCpp,
}

/// Where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalProbe {
    /// Kind.
    pub kind: LocalKind,
    /// Origin, e.g. `http://127.0.0.1:11434`.
    pub origin: String,
}

/// The default probes: Ollama on 11434, llama.cpp on 8080.
pub fn default_probes() -> Vec<LocalProbe> {
    vec![
        LocalProbe {
            kind: LocalKind::Ollama,
            origin: "http://127.0.0.1:11434".into(),
        },
        LocalProbe {
            kind: LocalKind::LlamaCpp,
            origin: "http://127.0.0.1:8080".into(),
        },
    ]
}

/// Probes in order; the first server that answers with at least one model wins.
/// Returns the choice (if any) and a one-line note of what was tried.
pub async fn discover(
    client: &reqwest::Client,
    probes: &[LocalProbe],
) -> (Option<ModelChoice>, String) {
    let mut tried = Vec::new();
    for p in probes {
        match probe(client, p).await {
            Some(model) => {
                let (provider, source, label) = match p.kind {
                    LocalKind::Ollama => ("ollama", ModelSource::DiscoveredOllama, "Ollama"),
                    LocalKind::LlamaCpp => {
                        ("llamacpp", ModelSource::DiscoveredLlamaCpp, "llama.cpp")
                    }
                };
                let choice = ModelChoice {
                    provider: provider.into(),
                    model,
                    api: Some(ProviderApi::OpenAiCompletions),
                    base_url: format!("{}/v1", p.origin),
                    api_key: None,
                    max_tokens: None,
                    context_window: None,
                    images: false,
                    source,
                };
                let note = format!(
                    "found a local {label} server at {} serving {}",
                    p.origin, choice.model
                );
                return (Some(choice), note);
            }
            None => tried.push(match p.kind {
                LocalKind::Ollama => format!("no local Ollama at {}", p.origin),
                LocalKind::LlamaCpp => format!("no local llama.cpp server at {}", p.origin),
            }),
        }
    }
    (None, tried.join(", "))
}

async fn probe(client: &reqwest::Client, p: &LocalProbe) -> Option<String> {
    let url = match p.kind {
        LocalKind::Ollama => format!("{}/api/tags", p.origin),
        LocalKind::LlamaCpp => format!("{}/v1/models", p.origin),
    };
    let resp = client.get(&url).timeout(PROBE_TIMEOUT).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let v: Value = tokio::time::timeout(PROBE_TIMEOUT, resp.json())
        .await
        .ok()?
        .ok()?;
    let first = match p.kind {
        LocalKind::Ollama => v
            .pointer("/models/0/name")
            .or_else(|| v.pointer("/models/0/model")),
        LocalKind::LlamaCpp => v
            .pointer("/data/0/id")
            .or_else(|| v.pointer("/models/0/name")),
    };
    first
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether a configured provider answers HTTP at all (any status counts: a 401 still means
/// the server is there).
pub async fn reachable(client: &reqwest::Client, base_url: &str, api: ProviderApi) -> bool {
    let url = match api {
        ProviderApi::OpenAiCompletions => format!("{base_url}/models"),
        ProviderApi::AnthropicMessages => base_url.to_owned(),
    };
    client.get(url).timeout(PROBE_TIMEOUT).send().await.is_ok()
}
