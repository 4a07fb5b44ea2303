//! The real upstream `openclaw` CLI (2026.9.6, installed by `.ci/install-upstream`) against
//! `tether-gateway`: `openclaw agent -m … --session-key agent:main:main` (text and `--json`) and
//! `openclaw gateway call health|status|sessions.list|chat.history`. Upstream missing is a test
//! **failure** with the install hint, never a skip. The CLI must not be able to answer on its
//! own: each reply carries a marker only the mock provider produces, the provider must have
//! received the request, and the gateway's transcript must hold the turn.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tether_testkit::mock_openai::Reply;
use tether_testkit::process::{ChildGuard, Stream};
use tether_testkit::upstream::{self, Upstream};

use crate::support::*;

const MAIN: &str = "agent:main:main";
/// Far beyond a CLI run (~1–2 s here); only a hang reaches it.
const CLI_DEADLINE: Duration = Duration::from_secs(120);

struct Cli {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

async fn cli(up: &Upstream, scratch: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Cli> {
    let mut cmd = up.cli(scratch, args)?;
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = ChildGuard::spawn(&mut cmd)?;
    let status = child
        .wait_exit(CLI_DEADLINE)
        .await
        .with_context(|| format!("openclaw {args:?}"))?;
    Ok(Cli {
        status,
        stdout: child.lines(Stream::Stdout).join("\n"),
        stderr: child.lines(Stream::Stderr).join("\n"),
    })
}

fn ok(run: &Cli, what: &str) {
    assert_eq!(
        run.status.code(),
        Some(0),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
}

fn last_user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn upstream_openclaw_agent_runs_turns_on_tether() -> Result<()> {
    let up = upstream::require();
    let rig = Rig::start().await?;
    let scratch = tempfile::tempdir()?;
    let url = rig.gw.ws_url();
    let env = [
        ("OPENCLAW_GATEWAY_URL", url.as_str()),
        ("OPENCLAW_GATEWAY_TOKEN", rig.token()),
    ];

    // Text mode: the reply text on stdout, exit 0.
    rig.mock
        .push(Reply::words("Hello from Tether's mock provider MARK-7f3a."));
    let run = cli(
        &up,
        scratch.path(),
        &[
            "agent",
            "-m",
            "Please just say hello.",
            "--session-key",
            MAIN,
            "--timeout",
            "60",
        ],
        &env,
    )
    .await?;
    ok(&run, "openclaw agent");
    assert!(
        run.stdout
            .contains("Hello from Tether's mock provider MARK-7f3a."),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    // The provider behind Tether answered it (the CLI has no model of its own here).
    let reqs = rig.mock.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(last_user_message(&reqs[0].body), "Please just say hello.");

    // --json: the final payload, pretty-printed.
    rig.mock.push(Reply::words("Second reply MARK-91c2."));
    let run = cli(
        &up,
        scratch.path(),
        &[
            "agent",
            "-m",
            "And again, as JSON.",
            "--session-key",
            MAIN,
            "--timeout",
            "60",
            "--json",
        ],
        &env,
    )
    .await?;
    ok(&run, "openclaw agent --json");
    let start = run.stdout.find('{').context("no JSON on stdout")?;
    let v: Value = serde_json::from_str(&run.stdout[start..])
        .with_context(|| format!("stdout is not JSON:\n{}", run.stdout))?;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["summary"], "completed");
    assert_eq!(
        v["result"]["payloads"][0]["text"],
        "Second reply MARK-91c2."
    );
    assert_eq!(rig.mock.request_count(), 2);

    // The gateway's transcript holds both turns, in order.
    let mut c = rig.connect(&rig.admin()).await?;
    let history = payload(c.call("chat.history", json!({"sessionKey": MAIN})).await?)?;
    let texts = history_texts(&history);
    assert_eq!(
        texts,
        [
            "Please just say hello.",
            "Hello from Tether's mock provider MARK-7f3a.",
            "And again, as JSON.",
            "Second reply MARK-91c2."
        ]
    );
    Ok(())
}

#[tokio::test]
async fn upstream_openclaw_gateway_call_reads_tether() -> Result<()> {
    let up = upstream::require();
    let rig = Rig::start().await?;
    rig.mock
        .push(Reply::words("A reply worth reading MARK-c0de."));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "Leave something in the history.", "gc1").await?;
    until_terminal(&mut c, "gc1").await?;

    let scratch = tempfile::tempdir()?;
    let url = rig.gw.ws_url();
    let token = rig.token().to_owned();
    let call = |method: &'static str, extra: Vec<&'static str>| {
        let mut args = vec![
            "gateway",
            "call",
            method,
            "--url",
            url.as_str(),
            "--token",
            token.as_str(),
        ];
        args.extend(extra);
        args.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>()
    };
    let run_call = |args: Vec<String>| {
        let up = &up;
        let dir = scratch.path().to_path_buf();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(up, &dir, &refs, &[]).await
        }
    };
    let body = |run: &Cli, method: &str| -> Result<Value> {
        let header = format!("Gateway call: {method}");
        let rest = run
            .stdout
            .split_once(&header)
            .map(|(_, r)| r)
            .with_context(|| format!("no '{header}' line:\n{}", run.stdout))?;
        let start = rest.find(['{', '[']).context("no JSON after the header")?;
        Ok(serde_json::from_str(&rest[start..])?)
    };

    let run = run_call(call("health", vec![])).await?;
    ok(&run, "gateway call health");
    let health = body(&run, "health")?;
    assert_eq!(health["ok"], true);
    assert_eq!(health["defaultAgentId"], "main");
    assert_eq!(health["engine"]["defaultModel"], "mock/mock-1");

    let run = run_call(call("status", vec![])).await?;
    ok(&run, "gateway call status");
    let status = body(&run, "status")?;
    assert_eq!(status["bootId"], rig.gw.boot_id.as_str());
    assert_eq!(status["pid"], rig.gw.pid);

    let run = run_call(call("sessions.list", vec![])).await?;
    ok(&run, "gateway call sessions.list");
    let list = body(&run, "sessions.list")?;
    assert_eq!(list["sessions"][0]["key"], MAIN);

    let run = run_call(call(
        "chat.history",
        vec!["--params", r#"{"sessionKey":"agent:main:main","limit":2}"#],
    ))
    .await?;
    ok(&run, "gateway call chat.history");
    let history = body(&run, "chat.history")?;
    let texts = history_texts(&history);
    assert_eq!(
        texts,
        [
            "Leave something in the history.",
            "A reply worth reading MARK-c0de."
        ]
    );

    // Without the required sessionKey: refused like upstream, exit 1.
    let run = run_call(call("chat.history", vec![])).await?;
    assert_eq!(run.status.code(), Some(1), "{}", run.stdout);
    assert!(
        run.stderr.contains("Gateway call failed") && run.stderr.contains("sessionKey"),
        "{}",
        run.stderr
    );
    Ok(())
}

/// Upstream's CLI commands that read a gateway's state, against Tether's: each exits 0 and
/// prints what Tether has (the session store and its sessions, no cron jobs, no nodes, no
/// pending approvals, the models Tether can run), where they used to crash or be refused.
#[tokio::test]
async fn upstream_openclaw_cli_reads_work_against_tether() -> Result<()> {
    let up = upstream::require();
    let rig = Rig::start().await?;
    rig.mock.push(Reply::words("Something to list MARK-5e55."));
    let mut c = rig.connect(&rig.operator()).await?;
    chat_send(&mut c, MAIN, "Start a session.", "cli1").await?;
    until_terminal(&mut c, "cli1").await?;

    let scratch = tempfile::tempdir()?;
    let url = rig.gw.ws_url();
    let env = [
        ("OPENCLAW_GATEWAY_URL", url.as_str()),
        ("OPENCLAW_GATEWAY_TOKEN", rig.token()),
    ];
    let run = |args: &'static [&'static str]| {
        let up = &up;
        let dir = scratch.path().to_path_buf();
        async move {
            let run = cli(up, &dir, args, &env).await?;
            ok(&run, &format!("openclaw {}", args.join(" ")));
            anyhow::Ok(run)
        }
    };

    // `health`: the text renderer reads each agent's session store.
    let health = run(&["health"]).await?;
    assert!(
        health.stdout.contains("Session store (main)") && health.stdout.contains(MAIN),
        "health:\n{}\n{}",
        health.stdout,
        health.stderr
    );
    // `status --json`: the summary with sessions by agent.
    let status = run(&["status", "--json"]).await?;
    let start = status
        .stdout
        .find('{')
        .context("status --json printed no JSON")?;
    let v: Value = serde_json::from_str(&status.stdout[start..])
        .with_context(|| format!("status --json:\n{}", status.stdout))?;
    // The CLI reads `status` with operator.read: the count by agent, not which sessions or
    // where (upstream's status keeps those for admins).
    assert_eq!(
        v["sessions"]["byAgent"][0]["count"], 1,
        "status --json lacks the sessions by agent:\n{}",
        status.stdout
    );
    assert_eq!(
        v["sessions"]["byAgent"][0]["recent"],
        json!([]),
        "{}",
        status.stdout
    );
    assert!(!v.to_string().contains(MAIN), "{}", status.stdout);
    // `cron list`: an empty, complete inventory page.
    let cron = run(&["cron", "list"]).await?;
    assert!(
        !cron.stdout.contains("invalid") && !cron.stderr.contains("invalid"),
        "cron list:\n{}\n{}",
        cron.stdout,
        cron.stderr
    );
    // `nodes status`: no nodes.
    let nodes = run(&["nodes", "status"]).await?;
    assert!(
        nodes.stdout.contains("Known: 0"),
        "nodes status:\n{}\n{}",
        nodes.stdout,
        nodes.stderr
    );
    // `approvals pending --json`: none.
    let approvals = run(&["approvals", "pending", "--json"]).await?;
    let start = approvals.stdout.find('{').context("no JSON")?;
    let v: Value = serde_json::from_str(&approvals.stdout[start..])?;
    assert_eq!(v["approvals"], json!([]), "{}", approvals.stdout);
    // `models list`: the CLI checks the capability first, then lists what Tether can run:
    // the configured model, local (its server is on 127.0.0.1), its key set, the default.
    let models = run(&["models", "list"]).await?;
    let row: Vec<&str> = models
        .stdout
        .lines()
        .find(|l| l.starts_with("mock/mock-1"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        row,
        ["mock/mock-1", "-", "32k", "yes", "yes", "default"],
        "models list:\n{}\n{}",
        models.stdout,
        models.stderr
    );
    Ok(())
}

/// A tmux session that is killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(name: &str, script: &Path, width: u16, height: u16) -> Result<Tmux> {
        let status = std::process::Command::new("tmux")
            .args(["new-session", "-d", "-s", name, "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(format!("sh {}", script.display()))
            .status()
            .context("tmux (apt-get install tmux)")?;
        anyhow::ensure!(status.success(), "tmux new-session failed");
        Ok(Tmux {
            name: name.to_owned(),
        })
    }

    fn screen(&self) -> String {
        std::process::Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn keys(&self, keys: &[&str]) -> Result<()> {
        let status = std::process::Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()?;
        anyhow::ensure!(status.success(), "tmux send-keys failed");
        Ok(())
    }

    /// Waits until the screen satisfies `ready` (checked each time the terminal may have
    /// redrawn), or fails with the last screen after `deadline`.
    async fn until(&self, deadline: Duration, ready: impl Fn(&str) -> bool) -> Result<String> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return Ok(screen);
            }
            if tokio::time::Instant::now() >= end {
                anyhow::bail!("the screen never got there:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// Upstream's TUI (`openclaw tui`) in a real terminal against Tether's gateway: it connects,
/// a message gets the mock's reply, and its footer shows the session's model and token counts
/// (it showed `unknown | … | tokens ?` before the gateway answered `sessions.describe`).
#[tokio::test]
async fn upstream_openclaw_tui_chats_on_tether() -> Result<()> {
    let up = upstream::require();
    let rig = Rig::start().await?;
    let scratch = tempfile::tempdir()?;
    let url = rig.gw.ws_url();
    let cmd = up.cli(scratch.path(), &["tui"])?;
    // The same isolated command, as a script tmux can run.
    let std = cmd.as_std();
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"));
    let mut line = String::from("exec env -i");
    for (k, v) in std.get_envs() {
        if let Some(v) = v {
            line.push_str(&format!(" {}={}", k.to_string_lossy(), quote(v)));
        }
    }
    line.push_str(&format!(
        " OPENCLAW_GATEWAY_URL={} OPENCLAW_GATEWAY_TOKEN={} TERM=xterm-256color",
        quote(url.as_ref()),
        quote(rig.token().as_ref())
    ));
    line.push_str(&format!(" {}", quote(std.get_program())));
    for a in std.get_args() {
        line.push_str(&format!(" {}", quote(a)));
    }
    let script = scratch.path().join("tui.sh");
    std::fs::write(
        &script,
        format!("cd {}\n{line}\n", quote(scratch.path().as_os_str())),
    )?;
    let name = format!("tether-tui-{}", std::process::id());
    let tui = Tmux::start(&name, &script, 160, 40)?;

    // Connected: the footer names the agent and the session.
    tui.until(CLI_DEADLINE, |s| {
        s.contains("agent main") && s.contains("session")
    })
    .await?;
    rig.mock
        .push(Reply::words("Hello from the TUI test MARK-7u1."));
    // Typed, then submitted once the editor shows it (keys in one burst read as a paste).
    tui.keys(&["Say hello from the TUI."])?;
    tui.until(CLI_DEADLINE, |s| s.contains("Say hello from the TUI."))
        .await?;
    // The TUI reads keys that arrive close together as one paste and keeps an Enter in it as
    // a newline; an Enter it takes as a key submits. Repeat Enter until the model is asked
    // (an Enter in an emptied editor sends nothing).
    let mut submitted = false;
    for _ in 0..20 {
        tui.keys(&["Enter"])?;
        if tui
            .until(Duration::from_secs(2), |_| rig.mock.request_count() > 0)
            .await
            .is_ok()
        {
            submitted = true;
            break;
        }
    }
    assert!(
        submitted,
        "the TUI never sent the message:\n{}",
        tui.screen()
    );
    let screen = tui
        .until(CLI_DEADLINE, |s| {
            s.contains("MARK-7u1")
                && s.contains("mock-1")
                && s.contains("tokens ")
                && !s.contains("tokens ?")
        })
        .await?;
    assert!(!screen.contains("unknown |"), "{screen}");
    assert_eq!(rig.mock.request_count(), 1);
    Ok(())
}
