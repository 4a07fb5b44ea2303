//! Model providers as the settings page edits them, over the gateway's own config.
//!
//! It owns the translation between the gateway config (`models.providers.<id>`,
//! `agents.defaults.model.primary`, as `config.get` returns it with secrets redacted) and the
//! webview's `ProviderView`/`ProviderInput` (IPC.md), and the JSON merge patches `config.patch`
//! applies. An API key only ever travels from the webview to the gateway: views say whether one
//! is set, never what it is; a patch without a key keeps the current one (the gateway restores
//! its own redaction sentinel), an empty key removes it. Pure functions: the commands do the
//! calls, so an invalid edit is refused by the gateway with its located error.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::error::IpcError;

/// What kind of server a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// An OpenAI-compatible API.
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
    /// A local Ollama (OpenAI-compatible, port 11434).
    Ollama,
    /// A local llama.cpp server (OpenAI-compatible, port 8080).
    Llamacpp,
}

impl ProviderKind {
    fn api(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic-messages",
            _ => "openai-completions",
        }
    }

    /// The kind a stored provider most likely is: its wire API, then the local port.
    fn guess(api: Option<&str>, base_url: &str) -> Self {
        if api == Some("anthropic-messages") {
            return ProviderKind::Anthropic;
        }
        let local = ["://127.0.0.1:", "://localhost:", "://[::1]:"]
            .iter()
            .any(|h| base_url.contains(h));
        if local && base_url.contains(":11434") {
            ProviderKind::Ollama
        } else if local && base_url.contains(":8080") {
            ProviderKind::Llamacpp
        } else {
            ProviderKind::Openai
        }
    }
}

/// `ProviderModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderModel {
    /// Model id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Takes images.
    pub image: bool,
}

/// `ProviderView`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Provider id.
    pub id: String,
    /// Kind.
    pub kind: ProviderKind,
    /// Base URL.
    pub base_url: String,
    /// An API key is configured.
    pub api_key_set: bool,
    /// Its models.
    pub models: Vec<ProviderModel>,
}

/// `ProviderInput`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderInput {
    /// Provider id.
    pub id: String,
    /// Kind.
    pub kind: ProviderKind,
    /// Base URL.
    pub base_url: String,
    /// Write-only: absent keeps, empty removes.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Models.
    pub models: Vec<ProviderModel>,
}

// Never print the key.
impl ProviderInput {
    /// A copy safe to log.
    pub fn describe(&self) -> String {
        format!(
            "provider {} ({:?}, {}, {} models, key {})",
            self.id,
            self.kind,
            self.base_url,
            self.models.len(),
            match &self.api_key {
                None => "kept",
                Some(k) if k.is_empty() => "removed",
                Some(_) => "replaced",
            }
        )
    }
}

/// A provider id: `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn valid_provider_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl ProviderInput {
    /// Checks it before anything is sent.
    pub fn validate(&self) -> Result<(), IpcError> {
        if !valid_provider_id(&self.id) {
            return Err(IpcError::invalid(format!(
                "provider id {:?}: use lowercase letters, digits, '-' and '_' (at most 64)",
                self.id
            )));
        }
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() > 2048
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(IpcError::invalid(
                "base URL: an http:// or https:// address, e.g. https://api.openai.com/v1",
            ));
        }
        if let Some(k) = &self.api_key {
            if k.len() > 4096 || k.chars().any(char::is_control) {
                return Err(IpcError::invalid(
                    "API key: at most 4096 characters, one line",
                ));
            }
        }
        if self.models.is_empty() || self.models.len() > 200 {
            return Err(IpcError::invalid("models: list 1 to 200 models"));
        }
        for m in &self.models {
            if m.id.trim().is_empty() || m.id.len() > 256 || m.id.chars().any(char::is_control) {
                return Err(IpcError::invalid(format!(
                    "model id {:?} is not usable",
                    m.id
                )));
            }
        }
        Ok(())
    }

    /// The merge patch that writes this provider.
    pub fn patch(&self) -> Value {
        let models: Vec<Value> = self
            .models
            .iter()
            .map(|m| {
                let mut o = Map::new();
                o.insert("id".into(), json!(m.id.trim()));
                if let Some(n) = m.name.as_deref().filter(|n| !n.trim().is_empty()) {
                    o.insert("name".into(), json!(n.trim()));
                }
                o.insert(
                    "input".into(),
                    if m.image {
                        json!(["text", "image"])
                    } else {
                        json!(["text"])
                    },
                );
                Value::Object(o)
            })
            .collect();
        let mut p = Map::new();
        p.insert("baseUrl".into(), json!(self.base_url.trim()));
        p.insert("api".into(), json!(self.kind.api()));
        p.insert("models".into(), Value::Array(models));
        match self.api_key.as_deref() {
            None => {}
            Some("") => {
                p.insert("apiKey".into(), Value::Null);
            }
            Some(k) => {
                p.insert("apiKey".into(), json!(k));
            }
        }
        json!({"models": {"providers": {self.id.clone(): Value::Object(p)}}})
    }
}

/// The patch that removes a provider.
pub fn delete_patch(id: &str) -> Value {
    json!({"models": {"providers": {id: Value::Null}}})
}

/// The patch that sets the default model.
pub fn default_model_patch(model_ref: &str) -> Value {
    json!({"agents": {"defaults": {"model": {"primary": model_ref}}}})
}

/// Providers and the default model from a (redacted) gateway config.
pub fn read(config: &Value) -> (Vec<ProviderView>, Option<String>) {
    let providers = config
        .pointer("/models/providers")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(id, p)| {
                    let base_url = p
                        .get("baseUrl")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let kind = ProviderKind::guess(p.get("api").and_then(Value::as_str), &base_url);
                    let models = p
                        .get("models")
                        .and_then(Value::as_array)
                        .map(|ms| {
                            ms.iter()
                                .filter_map(|m| {
                                    Some(ProviderModel {
                                        id: m.get("id")?.as_str()?.to_owned(),
                                        name: m
                                            .get("name")
                                            .and_then(Value::as_str)
                                            .map(str::to_owned),
                                        image: m
                                            .get("input")
                                            .and_then(Value::as_array)
                                            .is_some_and(|i| i.iter().any(|x| x == "image")),
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    ProviderView {
                        id: id.clone(),
                        kind,
                        base_url,
                        api_key_set: p
                            .get("apiKey")
                            .and_then(Value::as_str)
                            .is_some_and(|k| !k.is_empty()),
                        models,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let default = config
        .pointer("/agents/defaults/model/primary")
        .and_then(Value::as_str)
        .map(str::to_owned);
    (providers, default)
}

/// A model reference: `<provider>/<model>`.
pub fn valid_model_ref(r: &str) -> bool {
    r.len() <= 320
        && r.split_once('/').is_some_and(|(p, m)| {
            !p.is_empty() && !m.trim().is_empty() && !m.chars().any(char::is_control)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(key: Option<&str>) -> ProviderInput {
        ProviderInput {
            id: "openai".into(),
            kind: ProviderKind::Openai,
            base_url: "https://api.openai.com/v1".into(),
            api_key: key.map(str::to_owned),
            models: vec![ProviderModel {
                id: "gpt-4.1-mini".into(),
                name: None,
                image: true,
            }],
        }
    }

    #[test]
    fn a_key_is_written_kept_or_removed_and_never_described() {
        let p = input(Some("sk-secret-123")).patch();
        assert_eq!(
            p["models"]["providers"]["openai"]["apiKey"],
            "sk-secret-123"
        );
        assert_eq!(
            p["models"]["providers"]["openai"]["models"][0]["input"],
            json!(["text", "image"])
        );
        assert!(input(None).patch()["models"]["providers"]["openai"]
            .get("apiKey")
            .is_none());
        assert_eq!(
            input(Some("")).patch()["models"]["providers"]["openai"]["apiKey"],
            Value::Null
        );
        assert!(!input(Some("sk-secret-123"))
            .describe()
            .contains("sk-secret"));
    }

    #[test]
    fn views_say_whether_a_key_is_set_not_what_it_is() {
        let cfg = json!({
            "models": {"providers": {
                "local": {"baseUrl": "http://127.0.0.1:11434/v1", "models": [{"id": "llama3.2"}]},
                "claude": {"baseUrl": "https://api.anthropic.com", "api": "anthropic-messages",
                    "apiKey": "__OPENCLAW_REDACTED__", "models": [{"id": "claude-x", "input": ["text", "image"]}]},
                "cpp": {"baseUrl": "http://localhost:8080/v1", "models": []}
            }},
            "agents": {"defaults": {"model": {"primary": "claude/claude-x"}}}
        });
        let (ps, default) = read(&cfg);
        assert_eq!(default.as_deref(), Some("claude/claude-x"));
        let by_id = |id: &str| ps.iter().find(|p| p.id == id).unwrap();
        assert_eq!(by_id("local").kind, ProviderKind::Ollama);
        assert!(!by_id("local").api_key_set);
        assert_eq!(by_id("claude").kind, ProviderKind::Anthropic);
        assert!(by_id("claude").api_key_set);
        assert!(by_id("claude").models[0].image);
        assert_eq!(by_id("cpp").kind, ProviderKind::Llamacpp);
        let text = serde_json::to_string(&ps).unwrap();
        assert!(
            !text.contains("REDACTED") && !text.contains("apiKey\""),
            "{text}"
        );
    }

    #[test]
    fn validation() {
        input(Some("k")).validate().unwrap();
        let bad = |f: &dyn Fn(&mut ProviderInput)| {
            let mut i = input(None);
            f(&mut i);
            i.validate().unwrap_err().message
        };
        assert!(bad(&|i| i.id = "Open AI".into()).contains("provider id"));
        assert!(bad(&|i| i.base_url = "ftp://x".into()).contains("base URL"));
        assert!(bad(&|i| i.models.clear()).contains("models"));
        assert!(bad(&|i| i.api_key = Some("a\nb".into())).contains("API key"));
        assert!(valid_model_ref("openai/gpt-4.1"));
        assert!(!valid_model_ref("gpt-4.1"));
        assert!(!valid_model_ref("/x"));
    }
}
