//! The engine's view of the configuration: the `models`, `agents`, `tools` and
//! `gateway.http` keys resolved into typed values with their defaults applied.
//!
//! It owns defaults (run timeout, exec limits, approval timeout), model selection from
//! `agents.defaults.model.primary`, and `apiKey` resolution (`${ENV}` read at request time).
//! A run takes one `Arc<AgentSettings>` snapshot when it starts and keeps it to the end, so a hot
//! reload never changes a run midway. It must never log or format an API key: keys stay in
//! [`Secret`] until the single `expose()` at the HTTP request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tether_protocol::Secret;

use crate::config::schema::{
    Config, ExecAsk, ExecSecurity, ModelConfig, ProviderApi, ProviderConfig,
};

/// Default run timeout (`agents.defaults.timeoutSeconds`).
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Default exec timeout (`tools.exec.timeoutSeconds`).
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(120);
/// Default exec output cap (`tools.exec.maxOutputBytes`).
pub const DEFAULT_EXEC_MAX_OUTPUT: usize = 64 * 1024;
/// Default approval timeout (`tools.exec.approvalTimeoutSeconds`).
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(120);

/// The built-in offline model's provider id.
pub const OFFLINE_PROVIDER: &str = "tether";
/// The built-in offline model's id.
pub const OFFLINE_MODEL: &str = "offline";

/// Resolved engine settings.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// `models.providers`.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `agents.defaults.model.primary`.
    pub primary: Option<String>,
    /// The agent workspace (absolute; created on demand).
    pub workspace: PathBuf,
    /// Run timeout.
    pub run_timeout: Duration,
    /// Exec tool policy.
    pub exec: ExecPolicy,
    /// Whether `POST /v1/chat/completions` is enabled.
    pub http_chat_completions: bool,
}

/// `tools.exec.*` with defaults applied.
#[derive(Debug, Clone)]
pub struct ExecPolicy {
    /// When to ask.
    pub ask: ExecAsk,
    /// Which commands may run at all (explicit, or implied by `ask`).
    pub security: ExecSecurity,
    /// Allowlist entries (see `allowlist.rs`).
    pub allowlist: Vec<String>,
    /// Per-command timeout.
    pub timeout: Duration,
    /// Output cap in bytes.
    pub max_output: usize,
    /// How long an approval waits.
    pub approval_timeout: Duration,
}

impl AgentSettings {
    /// Resolves `config`; relative workspace paths are taken relative to `state_dir`.
    pub fn from_config(config: &Config, state_dir: &Path) -> AgentSettings {
        let d = &config.agents.defaults;
        let workspace = match &d.workspace {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => state_dir.join(p),
            None => state_dir.join("workspace"),
        };
        let e = &config.tools.exec;
        AgentSettings {
            providers: config.models.providers.clone(),
            primary: d.model.primary.clone().filter(|p| !p.trim().is_empty()),
            workspace,
            run_timeout: d
                .timeout_seconds
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_RUN_TIMEOUT),
            exec: ExecPolicy {
                ask: e.ask.unwrap_or(ExecAsk::OnMiss),
                security: e
                    .security
                    .unwrap_or_else(|| ExecSecurity::implied_by(e.ask.unwrap_or(ExecAsk::OnMiss))),
                allowlist: e.allowlist.clone(),
                timeout: e
                    .timeout_seconds
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .unwrap_or(DEFAULT_EXEC_TIMEOUT),
                max_output: e
                    .max_output_bytes
                    .filter(|b| *b > 0)
                    .and_then(|b| usize::try_from(b).ok())
                    .unwrap_or(DEFAULT_EXEC_MAX_OUTPUT),
                approval_timeout: e
                    .approval_timeout_seconds
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
            },
            http_chat_completions: config.gateway.http.endpoints.chat_completions.enabled,
        }
    }

    /// A model named by the caller for one run (`agent {provider, model}`): a configured
    /// provider (its model list is only a catalogue: any id the provider serves is accepted) or
    /// the offline model; `Err` names what is missing.
    pub fn model_by_ref(&self, provider: &str, model: &str) -> Result<ModelChoice, String> {
        if provider == OFFLINE_PROVIDER && model == OFFLINE_MODEL {
            return Ok(ModelChoice::offline());
        }
        let p = self
            .providers
            .get(provider)
            .ok_or_else(|| format!("model provider {provider:?} is not in models.providers"))?;
        let m = p.models.iter().find(|m| m.id == model);
        Ok(ModelChoice::from_provider(
            provider,
            p,
            model,
            m,
            ModelSource::Configured,
        ))
    }

    /// The configured model selection, without probing anything:
    /// `Ok(Some)` for a configured model, `Ok(None)` when nothing is configured (discovery or
    /// the offline model apply), `Err` for a selection that names something that is not there.
    pub fn configured_model(&self) -> Result<Option<ModelChoice>, String> {
        if let Some(primary) = &self.primary {
            let (pid, mid) = primary.split_once('/').ok_or_else(|| {
                format!("agents.defaults.model.primary {primary:?} is not of the form <provider>/<model>")
            })?;
            if pid == OFFLINE_PROVIDER && mid == OFFLINE_MODEL {
                return Ok(Some(ModelChoice::offline()));
            }
            let p = self.providers.get(pid).ok_or_else(|| {
                format!("agents.defaults.model.primary names provider {pid:?}, which is not in models.providers")
            })?;
            let m = p.models.iter().find(|m| m.id == mid);
            return Ok(Some(ModelChoice::from_provider(
                pid,
                p,
                mid,
                m,
                ModelSource::Configured,
            )));
        }
        for (pid, p) in &self.providers {
            if let Some(m) = p.models.first() {
                return Ok(Some(ModelChoice::from_provider(
                    pid,
                    p,
                    &m.id,
                    Some(m),
                    ModelSource::Configured,
                )));
            }
        }
        Ok(None)
    }
}

/// Where a model selection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// `models.providers` / `agents.defaults.model.primary`.
    Configured,
    /// A local Ollama found by probing.
    DiscoveredOllama,
    /// A local llama.cpp server found by probing.
    DiscoveredLlamaCpp,
    /// The built-in offline model.
    Offline,
}

impl ModelSource {
    /// A short label for status output.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelSource::Configured => "configured",
            ModelSource::DiscoveredOllama => "ollama",
            ModelSource::DiscoveredLlamaCpp => "llama.cpp",
            ModelSource::Offline => "offline",
        }
    }
}

/// The model a run talks to.
#[derive(Debug, Clone)]
pub struct ModelChoice {
    /// Provider id.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// Wire API (`None` for the offline model).
    pub api: Option<ProviderApi>,
    /// Base URL.
    pub base_url: String,
    /// Literal key or `${ENV}`.
    pub api_key: Option<Secret>,
    /// Max output tokens.
    pub max_tokens: Option<u64>,
    /// Context window.
    pub context_window: Option<u64>,
    /// Whether it accepts images (its `input` lists `"image"`).
    pub images: bool,
    /// Where it came from.
    pub source: ModelSource,
}

impl ModelChoice {
    /// The built-in offline model.
    pub fn offline() -> ModelChoice {
        ModelChoice {
            provider: OFFLINE_PROVIDER.into(),
            model: OFFLINE_MODEL.into(),
            api: None,
            base_url: String::new(),
            api_key: None,
            max_tokens: None,
            context_window: None,
            images: false,
            source: ModelSource::Offline,
        }
    }

    fn from_provider(
        pid: &str,
        p: &ProviderConfig,
        mid: &str,
        m: Option<&ModelConfig>,
        source: ModelSource,
    ) -> ModelChoice {
        ModelChoice {
            provider: pid.into(),
            model: mid.into(),
            api: Some(p.api.unwrap_or(ProviderApi::OpenAiCompletions)),
            base_url: p.base_url.trim_end_matches('/').to_owned(),
            api_key: p.api_key.clone(),
            max_tokens: m.and_then(|m| m.max_tokens),
            context_window: m.and_then(|m| m.context_window),
            images: m
                .and_then(|m| m.input.as_ref())
                .is_some_and(|i| i.iter().any(|k| k == "image")),
            source,
        }
    }

    /// `<provider>/<model>`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

/// Resolves an `apiKey` value: `${NAME}` reads the environment variable `NAME` now; anything
/// else is the key itself. `Err` names the missing variable (never a key).
pub fn resolve_api_key(key: Option<&Secret>) -> Result<Option<Secret>, String> {
    let Some(key) = key else { return Ok(None) };
    let raw = key.expose().trim();
    if let Some(name) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return match crate::process::environ::var(name) {
            Some(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err(format!(
                "apiKey refers to the environment variable {name}, which is not set"
            )),
        };
    }
    if raw.is_empty() {
        return Ok(None);
    }
    Ok(Some(key.clone()))
}

/// The names of environment variables that configured `apiKey`s refer to (scrubbed from
/// `exec`'s environment even if they were otherwise allowed).
pub fn api_key_env_names(providers: &BTreeMap<String, ProviderConfig>) -> Vec<String> {
    providers
        .values()
        .filter_map(|p| p.api_key.as_ref())
        .filter_map(|k| {
            k.expose()
                .trim()
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .map(str::to_owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::Config;
    use serde_json::json;

    fn config(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_apply() {
        let s = AgentSettings::from_config(&Config::default(), Path::new("/state"));
        assert_eq!(s.workspace, PathBuf::from("/state/workspace"));
        assert_eq!(s.run_timeout, DEFAULT_RUN_TIMEOUT);
        assert_eq!(s.exec.ask, ExecAsk::OnMiss);
        assert_eq!(s.exec.max_output, DEFAULT_EXEC_MAX_OUTPUT);
        assert!(s.configured_model().unwrap().is_none());
    }

    #[test]
    fn primary_selects_provider_model() {
        let c = config(json!({
            "models": {"providers": {"mock": {"baseUrl": "http://x/v1/", "apiKey": "k",
                "models": [{"id": "m1", "maxTokens": 99}]}}},
            "agents": {"defaults": {"model": {"primary": "mock/m1"}, "workspace": "ws"}}
        }));
        let s = AgentSettings::from_config(&c, Path::new("/state"));
        assert_eq!(s.workspace, PathBuf::from("/state/ws"));
        let m = s.configured_model().unwrap().unwrap();
        assert_eq!(m.label(), "mock/m1");
        assert_eq!(m.base_url, "http://x/v1");
        assert_eq!(m.max_tokens, Some(99));
        assert_eq!(m.api, Some(ProviderApi::OpenAiCompletions));

        let bad = config(json!({"agents": {"defaults": {"model": {"primary": "nope/m"}}}}));
        assert!(AgentSettings::from_config(&bad, Path::new("/s"))
            .configured_model()
            .is_err());
        let off = config(json!({"agents": {"defaults": {"model": {"primary": "tether/offline"}}}}));
        let m = AgentSettings::from_config(&off, Path::new("/s"))
            .configured_model()
            .unwrap()
            .unwrap();
        assert_eq!(m.source, ModelSource::Offline);
    }

    #[test]
    fn api_key_env_resolution() {
        assert_eq!(resolve_api_key(None).unwrap(), None);
        assert_eq!(
            resolve_api_key(Some(&Secret::new("lit"))).unwrap(),
            Some(Secret::new("lit"))
        );
        let err =
            resolve_api_key(Some(&Secret::new("${TETHER_TEST_SURELY_UNSET_VAR}"))).unwrap_err();
        assert!(err.contains("TETHER_TEST_SURELY_UNSET_VAR"));
        let path = resolve_api_key(Some(&Secret::new("${PATH}"))).unwrap();
        assert!(path.is_some());
    }
}
