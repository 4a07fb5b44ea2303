//! The agent's tools: their model-visible JSON schemas, and running one tool call with the
//! events upstream emits around it.
//!
//! It owns the tool catalogue (`read`, `ls`, `write`, `edit`, `exec`), the per-call event
//! sequence (`item start` → `tool start` → [`tool update` / `item update` / `command_output
//! delta`]… → `tool result` → `item end` → [`command_output end`]) and the exec approval gate
//! (ask policy, allowlist, allow-always, then `approvals.rs`). It must never let a tool touch a
//! path that did not go through [`workspace::Workspace`], and never run `exec` without the gate.

pub mod exec;
pub mod fs;
pub mod workspace;

use std::time::Duration;

use serde_json::{json, Value};
use tether_protocol::agent::{AgentData, AgentStream};
use tether_protocol::events::ExecApprovalRequest;
use tether_protocol::Map;
use tokio_util::sync::CancellationToken;

use super::allowlist::{is_allowlisted, preview};
use super::approvals::{Approvals, Verdict};
use super::emit::RunEmitter;
use super::provider::ToolSpec;
use super::settings::ExecPolicy;
use super::transcript::ToolCall;
use crate::config::schema::{ExecAsk, ExecSecurity};
use crate::process::clock::now_ms;
use workspace::Workspace;

/// A tool's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// What the model sees.
    pub text: String,
    /// Whether the tool failed.
    pub is_error: bool,
    /// Extra structure for events.
    pub details: Value,
}

impl ToolOutput {
    /// Success.
    pub fn ok(text: impl Into<String>, details: Value) -> Self {
        ToolOutput {
            text: text.into(),
            is_error: false,
            details,
        }
    }

    /// Failure.
    pub fn error(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            is_error: true,
            details: json!({"status": "error"}),
        }
    }
}

/// The tools the model is offered, with JSON schemas for their arguments.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read",
            description: "Read a UTF-8 text file from the workspace. Paths are relative to the workspace root.",
            parameters: json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "File path relative to the workspace"}},
                "required": ["path"], "additionalProperties": false}),
        },
        ToolSpec {
            name: "ls",
            description: "List a directory of the workspace (directories end with '/', symlinks with '@').",
            parameters: json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Directory relative to the workspace (default '.')"}},
                "additionalProperties": false}),
        },
        ToolSpec {
            name: "write",
            description: "Create or overwrite a file in the workspace with the given content. Missing directories are created.",
            parameters: json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "File path relative to the workspace"},
                "content": {"type": "string", "description": "The complete new file content"}},
                "required": ["path", "content"], "additionalProperties": false}),
        },
        ToolSpec {
            name: "edit",
            description: "Replace an exact string in a workspace file. oldText must occur exactly once unless replaceAll is true.",
            parameters: json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "File path relative to the workspace"},
                "oldText": {"type": "string", "description": "Exact text to replace"},
                "newText": {"type": "string", "description": "Replacement text"},
                "replaceAll": {"type": "boolean", "description": "Replace every occurrence (default false)"}},
                "required": ["path", "oldText", "newText"], "additionalProperties": false}),
        },
        ToolSpec {
            name: "exec",
            description: "Run a shell command (sh -c) with the workspace as working directory. May need the user's approval. Output is capped; long commands time out.",
            parameters: json!({"type": "object", "properties": {
                "command": {"type": "string", "description": "The shell command"},
                "title": {"type": "string", "description": "Short description shown to the user"},
                "timeout": {"type": "integer", "minimum": 1, "description": "Timeout in seconds (capped by the gateway's limit)"}},
                "required": ["command"], "additionalProperties": false}),
        },
    ]
}

/// What a run gives a tool call.
pub struct ToolEnv<'a> {
    /// The workspace.
    pub ws: &'a Workspace,
    /// Where events go.
    pub emitter: &'a RunEmitter,
    /// The approval broker.
    pub approvals: &'a Approvals,
    /// Exec policy (from the run's settings snapshot).
    pub exec: &'a ExecPolicy,
    /// Scrubbed environment for exec.
    pub env: &'a [(String, String)],
    /// The run's cancellation.
    pub cancel: &'a CancellationToken,
    /// Canonical session key.
    pub session_key: &'a str,
    /// Agent id.
    pub agent_id: &'a str,
}

impl std::fmt::Debug for ToolEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolEnv").field("ws", &self.ws).finish()
    }
}

fn data(stream: AgentStream, v: Value) -> AgentData {
    AgentData::parse(&stream, &v).unwrap_or(AgentData::Other(stream, v))
}

fn clip(s: &str, n: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

/// `(title, meta)` for a call, as upstream shows them.
pub fn describe(call: &ToolCall) -> (String, String) {
    let path = fs::path_arg(&call.args).unwrap_or(".");
    match call.name.as_str() {
        "read" => (format!("Read from {path}"), format!("from {path}")),
        "ls" => (format!("List {path}"), path.to_owned()),
        "write" => (format!("Write to {path}"), format!("to {path}")),
        "edit" => (format!("Edit {path}"), path.to_owned()),
        "exec" => {
            let meta = call
                .args
                .get("title")
                .and_then(Value::as_str)
                .map(|t| clip(t, 80))
                .unwrap_or_else(|| {
                    clip(
                        &preview(
                            call.args
                                .get("command")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        ),
                        80,
                    )
                });
            (format!("Exec {meta}"), meta)
        }
        other => (other.to_owned(), String::new()),
    }
}

/// Runs one tool call, emitting its events. The caller records the result in the transcript
/// *before* calling [`finish`] with it.
pub async fn run(call: &ToolCall, env: &ToolEnv<'_>) -> ToolOutput {
    let tool: fn(&Workspace, &Value) -> ToolOutput = match call.name.as_str() {
        "read" => fs::read,
        "ls" => fs::ls,
        "write" => fs::write,
        "edit" => fs::edit,
        "exec" => return run_exec(call, env).await,
        other => {
            return ToolOutput::error(format!(
                "unknown tool {other:?}; available: read, ls, write, edit, exec"
            ))
        }
    };
    // File IO on the blocking pool: a slow filesystem stalls this call, never the runtime.
    let (ws, args) = (env.ws.clone(), call.args.clone());
    tokio::task::spawn_blocking(move || tool(&ws, &args))
        .await
        .unwrap_or_else(|e| ToolOutput::error(format!("the {} tool failed: {e}", call.name)))
}

/// Emits `item start` and `tool start`; returns the start time.
pub fn start(call: &ToolCall, env: &ToolEnv<'_>) -> u64 {
    let (title, meta) = describe(call);
    let started = now_ms();
    env.emitter.agent(data(
        AgentStream::Item,
        json!({"itemId": format!("tool:{}", call.id), "toolCallId": call.id, "name": call.name,
            "kind": "tool", "phase": "start", "title": title, "status": "running", "meta": meta,
            "commandBearing": call.name == "exec", "startedAt": started}),
    ));
    env.emitter.agent(data(
        AgentStream::Tool,
        json!({"phase": "start", "name": call.name, "toolCallId": call.id, "args": call.args}),
    ));
    started
}

/// Emits `tool result`, `item end` and, for exec, `command_output end`.
pub fn finish(call: &ToolCall, env: &ToolEnv<'_>, started: u64, out: &ToolOutput) {
    let (title, meta) = describe(call);
    env.emitter.agent(data(
        AgentStream::Tool,
        json!({"phase": "result", "name": call.name, "toolCallId": call.id, "meta": meta,
            "isError": out.is_error, "commandBearing": call.name == "exec",
            "result": {"content": [{"type": "text", "text": out.text}], "details": out.details}}),
    ));
    let mut end = json!({"itemId": format!("tool:{}", call.id), "toolCallId": call.id,
        "name": call.name, "kind": "tool", "phase": "end", "title": title,
        "status": if out.is_error { "failed" } else { "completed" }, "meta": meta,
        "commandBearing": call.name == "exec", "startedAt": started, "endedAt": now_ms()});
    if out.is_error {
        end["error"] = json!(clip(&out.text, 200));
    }
    env.emitter.agent(data(AgentStream::Item, end));
    if call.name == "exec" && out.details.get("exitCode").is_some() {
        let d = &out.details;
        env.emitter.agent(data(
            AgentStream::CommandOutput,
            json!({"itemId": format!("command:{}", call.id), "phase": "end",
                "title": format!("command {meta}"), "toolCallId": call.id, "name": "exec",
                "output": d.get("aggregated").cloned().unwrap_or(json!("")),
                "status": if out.is_error { "failed" } else { "completed" },
                "exitCode": d.get("exitCode").cloned().unwrap_or(Value::Null),
                "durationMs": d.get("durationMs").cloned().unwrap_or(Value::Null),
                "cwd": d.get("cwd").cloned().unwrap_or(Value::Null)}),
        ));
    }
}

/// The decisions a request offers under `ask`, and those it does not. With `always` every command
/// asks each time, so "allow always" would promise what the policy does not keep: it is not
/// offered (as upstream: durable trust does not suppress prompts under `always`).
pub fn decisions_offered(ask: ExecAsk) -> (&'static [&'static str], &'static [&'static str]) {
    match ask {
        ExecAsk::Always => (&["allow-once", "deny"], &["allow-always"]),
        ExecAsk::OnMiss | ExecAsk::Off => (&["allow-once", "allow-always", "deny"], &[]),
    }
}

/// What happens to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecGate {
    /// It runs.
    Run,
    /// A human decides.
    Ask,
    /// It does not run, and the model is told why.
    Refuse(&'static str),
}

/// What `security` and `ask` do with a command that is (`allowed`) or is not on the allowlist
/// or allowed always, as upstream combines them: `deny` refuses everything; `always` asks
/// before everything else; `full` runs the rest; `allowlist` runs what is allowed and, for a
/// miss, asks under `on-miss` and refuses under `off`.
pub fn exec_gate(security: ExecSecurity, ask: ExecAsk, allowed: bool) -> ExecGate {
    match (security, ask) {
        (ExecSecurity::Deny, _) => ExecGate::Refuse(
            "exec is turned off on this gateway (tools.exec.security is \"deny\"): no command runs",
        ),
        (_, ExecAsk::Always) => ExecGate::Ask,
        (ExecSecurity::Full, _) => ExecGate::Run,
        (ExecSecurity::Allowlist, _) if allowed => ExecGate::Run,
        (ExecSecurity::Allowlist, ExecAsk::OnMiss) => ExecGate::Ask,
        (ExecSecurity::Allowlist, ExecAsk::Off) => ExecGate::Refuse(
            "this command is not on the allowlist, and nobody is asked (tools.exec.security is \"allowlist\" and tools.exec.ask is \"off\"): only allowlisted commands run",
        ),
    }
}

/// What `policy` does with `command` run in `cwd`. Whether the command is allowed (allowlisted
/// or allowed always) matters only under `allowlist` without `always`, so only then is it looked up.
pub fn gate(policy: &ExecPolicy, approvals: &Approvals, command: &str, cwd: &str) -> ExecGate {
    let allowed = policy.security == ExecSecurity::Allowlist
        && policy.ask != ExecAsk::Always
        && (is_allowlisted(command, &policy.allowlist)
            || approvals.is_always_allowed(command, cwd));
    exec_gate(policy.security, policy.ask, allowed)
}

async fn run_exec(call: &ToolCall, env: &ToolEnv<'_>) -> ToolOutput {
    let Some(command) = call.args.get("command").and_then(Value::as_str) else {
        return ToolOutput::error("exec needs a \"command\"");
    };
    if command.trim().is_empty() {
        return ToolOutput::error("exec needs a non-empty command");
    }
    if command.contains('\0') {
        return ToolOutput::error("the command contains a NUL byte");
    }
    let cwd = env.ws.root().display().to_string();
    let (title, meta) = describe(call);
    let item_id = format!("tool:{}", call.id);

    let policy = gate(env.exec, env.approvals, command, &cwd);
    if let ExecGate::Refuse(why) = policy {
        return ToolOutput::error(why);
    }
    if policy == ExecGate::Ask {
        let (allowed, unavailable) = decisions_offered(env.exec.ask);
        let mut extra = Map::new();
        if !unavailable.is_empty() {
            extra.insert("unavailableDecisions".into(), json!(unavailable));
        }
        extra.insert("commandPreview".into(), json!(preview(command)));
        extra.insert("host".into(), json!("gateway"));
        extra.insert(
            "ask".into(),
            json!(match env.exec.ask {
                ExecAsk::Always => "always",
                ExecAsk::OnMiss => "on-miss",
                ExecAsk::Off => "off",
            }),
        );
        let request = ExecApprovalRequest {
            command: command.to_owned(),
            cwd: Some(cwd.clone()),
            session_key: Some(env.session_key.to_owned()),
            agent_id: Some(env.agent_id.to_owned()),
            run_id: Some(env.emitter.run_id().to_owned()),
            tool_call_id: Some(call.id.clone()),
            allowed_decisions: Some(allowed.iter().map(|d| (*d).to_owned()).collect()),
            extra,
        };
        let mut approval_id = String::new();
        let verdict = env
            .approvals
            .ask(request, env.exec.approval_timeout, env.cancel, |id| {
                approval_id = id.to_owned();
                env.emitter.agent(data(
                    AgentStream::Item,
                    json!({"itemId": item_id, "toolCallId": call.id, "name": "exec", "kind": "tool",
                        "phase": "update", "title": title, "status": "blocked", "meta": meta,
                        "approvalId": id}),
                ));
                env.emitter.agent(data(
                    AgentStream::Approval,
                    json!({"phase": "requested", "kind": "exec", "status": "pending",
                        "title": title, "itemId": item_id, "toolCallId": call.id,
                        "approvalId": id, "command": preview(command)}),
                ));
                // The run waits on a person (upstream's UI says "Waiting for approval…").
                env.emitter.agent(data(
                    AgentStream::Lifecycle,
                    json!({"phase": "waiting-approval", "approvalId": id,
                        "toolCallId": call.id}),
                ));
            })
            .await;
        let status = match verdict {
            Verdict::Allow { .. } => "approved",
            Verdict::Deny { .. } => "denied",
            Verdict::Cancelled => "failed",
        };
        env.emitter.agent(data(
            AgentStream::Approval,
            json!({"phase": "resolved", "kind": "exec", "status": status, "title": title,
                "itemId": item_id, "toolCallId": call.id, "approvalId": approval_id}),
        ));
        env.emitter.agent(data(
            AgentStream::Lifecycle,
            json!({"phase": "approval-resolved", "approvalId": approval_id,
                "toolCallId": call.id}),
        ));
        match verdict {
            Verdict::Allow { .. } => {}
            Verdict::Deny { expired: false } => {
                return ToolOutput::error("The user denied this command; it did not run.")
            }
            Verdict::Deny { expired: true } => {
                return ToolOutput::error("Nobody approved this command in time; it did not run.")
            }
            Verdict::Cancelled => {
                return ToolOutput::error("The run was aborted; the command did not run.")
            }
        }
    }

    let limit = env.exec.timeout;
    let timeout = call
        .args
        .get("timeout")
        .and_then(Value::as_u64)
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t).min(limit))
        .unwrap_or(limit);
    let emitter = env.emitter;
    let cmd_title = format!("command {meta}");
    let mut on_output = |cum: &str, pid: Option<u32>| {
        emitter.agent(data(
            AgentStream::Tool,
            json!({"phase": "update", "name": "exec", "toolCallId": call.id,
                "partialResult": {"content": [{"type": "text", "text": cum}],
                    "details": {"status": "running", "pid": pid, "cwd": cwd, "tail": tail(cum)}}}),
        ));
        emitter.agent(data(
            AgentStream::Item,
            json!({"itemId": item_id, "toolCallId": call.id, "name": "exec", "kind": "tool",
                "phase": "update", "title": title, "status": "running", "meta": meta,
                "commandBearing": true}),
        ));
        emitter.agent(data(
            AgentStream::CommandOutput,
            json!({"itemId": format!("command:{}", call.id), "phase": "delta",
                "title": cmd_title, "toolCallId": call.id, "name": "exec",
                "output": cum.trim_end(), "status": "running"}),
        ));
    };
    let result = exec::run(
        command,
        env.ws.root(),
        env.env,
        timeout,
        env.exec.max_output,
        env.cancel,
        Duration::from_millis(100),
        &mut on_output,
    )
    .await;
    let o = match result {
        Ok(o) => o,
        Err(e) => return ToolOutput::error(format!("could not start the command: {e}")),
    };
    let aggregated = o.output.trim_end().to_owned();
    let mut text = if aggregated.is_empty() {
        "(no output)".to_owned()
    } else {
        aggregated.clone()
    };
    let secs = timeout.as_secs();
    if o.timed_out {
        text.push_str(&format!(
            "\n[timed out after {secs} s; the command was killed]"
        ));
    } else if o.aborted {
        text.push_str("\n[aborted; the command was killed]");
    } else if let Some(code) = o.exit_code.filter(|c| *c != 0) {
        text.push_str(&format!("\n[exit code {code}]"));
    } else if let Some(sig) = o.signal {
        text.push_str(&format!("\n[killed by signal {sig}]"));
    }
    let ok = !o.timed_out && !o.aborted && o.exit_code == Some(0);
    let details = json!({
        "status": if ok { "completed" } else { "failed" },
        "exitCode": o.exit_code,
        "exitSignal": o.signal,
        "exitReason": if o.timed_out { "timeout" } else if o.aborted { "aborted" } else if o.signal.is_some() { "signal" } else { "exit" },
        "durationMs": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        "aggregated": aggregated,
        "truncated": o.truncated,
        "pid": o.pid,
        "cwd": cwd,
    });
    ToolOutput {
        text,
        is_error: !ok,
        details,
    }
}

fn tail(s: &str) -> String {
    let n = s.chars().count();
    if n <= 2000 {
        s.to_owned()
    } else {
        s.chars().skip(n - 2000).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of `security` and `ask`, for a command on the allowlist and one off
    /// it, as upstream combines them.
    #[test]
    fn security_and_ask_combine_as_upstream() {
        use ExecAsk::{Always, Off, OnMiss};
        use ExecGate::{Ask, Run};
        let refused = |g: &ExecGate| matches!(g, ExecGate::Refuse(_));
        for ask in [OnMiss, Always, Off] {
            for allowed in [true, false] {
                assert!(refused(&exec_gate(ExecSecurity::Deny, ask, allowed)));
            }
        }
        let cases = [
            (ExecSecurity::Allowlist, OnMiss, true, Some(Run)),
            (ExecSecurity::Allowlist, OnMiss, false, Some(Ask)),
            (ExecSecurity::Allowlist, Always, true, Some(Ask)),
            (ExecSecurity::Allowlist, Always, false, Some(Ask)),
            (ExecSecurity::Allowlist, Off, true, Some(Run)),
            (ExecSecurity::Allowlist, Off, false, None),
            (ExecSecurity::Full, OnMiss, false, Some(Run)),
            (ExecSecurity::Full, Always, true, Some(Ask)),
            (ExecSecurity::Full, Off, false, Some(Run)),
        ];
        for (security, ask, allowed, want) in cases {
            let got = exec_gate(security, ask, allowed);
            match want {
                Some(w) => assert_eq!(got, w, "{security:?} {ask:?} allowed={allowed}"),
                None => assert!(
                    refused(&got),
                    "{security:?} {ask:?} allowed={allowed}: {got:?}"
                ),
            }
        }
    }

    /// Without `security`, `ask` alone means what it always meant.
    #[test]
    fn ask_alone_keeps_its_meaning() {
        for (ask, allowed, want) in [
            (ExecAsk::OnMiss, true, ExecGate::Run),
            (ExecAsk::OnMiss, false, ExecGate::Ask),
            (ExecAsk::Always, true, ExecGate::Ask),
            (ExecAsk::Off, false, ExecGate::Run),
        ] {
            assert_eq!(exec_gate(ExecSecurity::implied_by(ask), ask, allowed), want);
        }
    }
}
