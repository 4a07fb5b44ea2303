//! `tether/offline`: the built-in model used when no provider is configured or found.
//!
//! It owns a deterministic, honest reply: it says what it is, that no provider is configured,
//! and exactly how to configure one (the config file, the keys and an example). When the user
//! asks about files it makes a real `ls` tool call on the workspace and then reports the result,
//! so a first launch shows the whole pipeline (streaming, tools, events, transcript) with no
//! network. It must never pretend to understand the message, and never touch the network.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{ModelRequest, ModelTurn, OnText, TurnError};
use crate::agent::transcript::{Msg, ToolCall};

/// Facts the offline model reports.
#[derive(Debug, Clone, Default)]
pub struct OfflineInfo {
    /// The gateway's config file, when known.
    pub config_path: Option<String>,
    /// The workspace.
    pub workspace: String,
    /// What local discovery found (e.g. "no local Ollama on 127.0.0.1:11434").
    pub discovery_note: String,
}

fn asks_about_files(text: &str) -> bool {
    let t = text.to_lowercase();
    ["file", "folder", "director", "workspace", " ls", "list "]
        .iter()
        .any(|w| t.contains(w))
        || t.starts_with("ls")
}

/// The explanation text.
pub fn explanation(info: &OfflineInfo) -> String {
    let config = info.config_path.clone().unwrap_or_else(|| {
        "the gateway config file (`$TETHER_CONFIG`, default `<state dir>/gateway.json`)".into()
    });
    format!(
        "I'm tether/offline, the built-in offline model of Tether's gateway. No model provider is configured{note}, so I can't actually read or answer your message: this reply is canned. It did travel the whole pipeline, though: session, transcript, streaming events and tools all work.\n\n\
To talk to a real model, add a provider under `models.providers` in {config} and select it with `agents.defaults.model.primary` (`<provider>/<model>`). For example, for a local Ollama:\n\n\
```json5\n{{\n  models: {{\n    providers: {{\n      ollama: {{\n        baseUrl: \"http://127.0.0.1:11434/v1\",\n        api: \"openai-completions\",\n        models: [{{ id: \"llama3.2\" }}],\n      }},\n    }},\n  }},\n  agents: {{ defaults: {{ model: {{ primary: \"ollama/llama3.2\" }} }} }},\n}}\n```\n\n\
For OpenAI use `baseUrl: \"https://api.openai.com/v1\"` with `apiKey: \"${{OPENAI_API_KEY}}\"`; for Anthropic use `api: \"anthropic-messages\"`, `baseUrl: \"https://api.anthropic.com\"` and `apiKey: \"${{ANTHROPIC_API_KEY}}\"`. A `${{NAME}}` key is read from the environment when a request is made. The gateway picks up the change when the file is saved.\n\n\
Ask me about your files to see a tool call.",
        note = if info.discovery_note.is_empty() { String::new() } else { format!(" ({})", info.discovery_note) },
    )
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if c == ' ' || c == '\n' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

async fn say(
    text: &str,
    cancel: &CancellationToken,
    on_text: &mut OnText<'_>,
) -> Result<String, TurnError> {
    let mut all = String::new();
    for w in words(text) {
        if cancel.is_cancelled() {
            return Err(TurnError::Cancelled);
        }
        all.push_str(&w);
        if !on_text(&w) {
            return Err(TurnError::Stopped);
        }
        tokio::task::yield_now().await;
    }
    Ok(all)
}

/// One turn of the offline model.
pub async fn stream(
    req: &ModelRequest<'_>,
    cancel: &CancellationToken,
    on_text: &mut OnText<'_>,
) -> Result<ModelTurn, TurnError> {
    // After our own ls call: report its result.
    if let Some(Msg::Tool {
        name,
        text,
        is_error,
        ..
    }) = req.messages.last()
    {
        let reply = if name == "ls" && !is_error {
            let listing = if text == "(empty directory)" {
                "It is empty.".to_owned()
            } else {
                let lines: Vec<String> = text.lines().map(|l| format!("- {l}")).collect();
                format!("It contains:\n{}", lines.join("\n"))
            };
            format!(
                "I listed the workspace `{}` with the `ls` tool. {listing}\n\n(That was a real tool call; the words around it are canned. Configure a model provider to get real answers.)",
                req.offline.workspace
            )
        } else {
            format!("The tool returned: {text}\n\n(I'm the offline model; configure a model provider to get real answers.)")
        };
        let text = say(&reply, cancel, on_text).await?;
        return Ok(ModelTurn {
            text,
            stop_reason: "stop".into(),
            ..Default::default()
        });
    }
    let last_user = req
        .messages
        .iter()
        .rev()
        .find_map(|m| match m {
            Msg::User { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .unwrap_or("");
    if asks_about_files(last_user) && req.tools.iter().any(|t| t.name == "ls") {
        let text = say(
            "I'm the offline model, but I can show you a real tool call: listing the workspace. ",
            cancel,
            on_text,
        )
        .await?;
        let n = req.messages.len();
        return Ok(ModelTurn {
            text,
            tool_calls: vec![ToolCall {
                id: format!("call_offline_{n}"),
                name: "ls".into(),
                args: json!({"path": "."}),
            }],
            stop_reason: "tool_calls".into(),
            usage: None,
        });
    }
    let text = say(&explanation(req.offline), cancel, on_text).await?;
    Ok(ModelTurn {
        text,
        stop_reason: "stop".into(),
        ..Default::default()
    })
}
