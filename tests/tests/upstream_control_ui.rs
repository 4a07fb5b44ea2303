//! Upstream OpenClaw's own web dashboard (the "Control UI" shipped in the `openclaw` npm
//! package, `dist/control-ui`) against Tether's gateway, exactly as against upstream's.
//!
//! Both gateways get a mock OpenAI-compatible provider that answers with a marker. Upstream's
//! gateway (Node 24, isolated HOME and state dir, a free loopback port, token by environment)
//! serves the UI itself; ours serves the same directory through `gateway.controlUi.root`. The
//! same script, `tests/control-ui/interop.mjs`, then drives Debian's Chromium through
//! playwright-core against each: log in with `/#token=…`, chat, reload, a turn that calls the
//! `read` tool on a file of the agent's workspace, a turn whose `exec` call the user approves in
//! the UI (both gateways configured to ask for every command), a turn stopped while it streams,
//! a second conversation, and open every page of the navigation. It fails on a reply that never
//! renders or shows twice, a history lost on reload, a missing tool card, an approval never
//! shown or a command that did not run once allowed, a stop that does not interrupt the run
//! (and hang up the provider's stream), an RPC answered `unknown method`, or an error banner on
//! any page. Screenshots and `report.json` are
//! kept under `target/control-ui-interop/{upstream,tether}/` for a person to look at.
//!
//! Needs upstream (`.ci/install-upstream`), Chromium (`.ci/install-desktop-deps`) and the UI's
//! npm packages (`npm install` in `ui/`, for playwright-core); fails, never skips, without them.
//! Run: `cargo test -p tether-e2e --test upstream_control_ui -- --nocapture`
//! (`CONTROL_UI_ONLY=tether` or `=upstream` runs one side).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{json, Value};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::mock_openai::{self, MockOpenAi, MockToolCall, Reply};
use tether_testkit::process::{ChildGuard, Stream};
use tether_testkit::upstream::{self, Upstream, UpstreamGateway};

/// What the mock provider answers; the script waits for `MARKER` in the chat.
const MARKER: &str = "MARK-ui-7q";
const REPLY: &str = "Hello there! MARK-ui-7q";
/// The later turns' prompts (as `interop.mjs` types them) and what the mock answers to each.
const TOOL_ASK: &str = "Read notes.txt please";
const TOOL_DONE: &str = "The notes say MARK-tool-done";
const EXEC_ASK: &str = "Run the printf please";
const EXEC_DONE: &str = "The command ran MARK-exec-done";
/// The command the approval turn runs, and what only running it prints (the command's own text
/// does not contain it, so the provider seeing it proves the command ran after the approval).
const EXEC_COMMAND: &str = "printf 'MARK-%s\\n' ran";
const EXEC_OUTPUT: &str = "MARK-ran";
const ABORT_ASK: &str = "Count to a million";
const ABORT_PARTIAL: &str = "One, two, three";
const SECOND_ASK: &str = "A second conversation";
const SECOND_DONE: &str = "Second conversation reply MARK-s2-done";
/// The file the tool turn reads, in each gateway's agent workspace.
const NOTES: &str = "notes.txt";
const CHROMIUM: &str = "/usr/bin/chromium";
/// One whole script run (about 3–4 minutes: ~35 pages, each settled, with a screenshot).
const SCRIPT_DEADLINE: Duration = Duration::from_secs(900);

/// Banners that are the truth rather than a failure, each narrowed to its page and text.
///
/// Both sides: the config forms of two settings pages contain a schema node the form cannot
/// render (upstream's own schema), so it says so in a `callout danger`: the UI's limit.
///
/// Tether only, for features Tether's gateway does not have, where the UI's own words for the
/// truthful answer are a banner:
/// - Automations: `cron.status` says there is no scheduler (`enabled: false`, no jobs), and the
///   UI shows "Scheduler disabled". Answering `enabled: true` would hide that nothing would
///   ever run.
/// - Settings › Ask OpenClaw: upstream's setup assistant (`openclaw.chat`) is not served, so it
///   is not advertised, and the UI asks for a newer gateway. Advertising it would make
///   `hello-ok.features.methods` list a method that is not served.
fn known_banners(which: &str) -> Value {
    let mut known = vec![json!({
        "text": r"^Unsupported schema node\. Use Raw mode\.$",
        "pages": ["Settings: Communications", "Settings: Advanced"],
        "reason": "upstream's config form cannot render one node of upstream's own schema",
    })];
    if which == "tether" {
        known.push(json!({
            "text": r"^Scheduler disabled The scheduler is stopped\.$",
            "pages": ["Pages: Automations"],
            "reason": "Tether's gateway has no scheduler: cron.status says enabled: false",
        }));
        known.push(json!({
            "text": r"^Update the Gateway to continue setup with OpenClaw\.$",
            "pages": ["Settings: Ask OpenClaw"],
            "reason": "Tether's gateway has no setup assistant (openclaw.chat is not served)",
        }));
    }
    Value::Array(known)
}

fn repo_root() -> PathBuf {
    tether_testkit::bins::workspace_root()
}

/// `target/control-ui-interop/<which>/`.
fn shots_dir_path(which: &str) -> PathBuf {
    tether_testkit::bins::profile_dir()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| repo_root().join("target"))
        .join("control-ui-interop")
        .join(which)
}

/// `target/control-ui-interop/<which>/`, emptied first.
fn shots_dir(which: &str) -> PathBuf {
    let dir = shots_dir_path(which);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The installed package's Control UI (`node_modules/openclaw/dist/control-ui`).
fn control_ui_root(up: &Upstream) -> PathBuf {
    let root = up
        .openclaw
        .parent()
        .expect("openclaw.mjs has a directory")
        .join("dist")
        .join("control-ui");
    assert!(
        root.join("index.html").is_file(),
        "no Control UI in the upstream package at {}",
        root.display()
    );
    root
}

/// The blocks both gateways share: the mock provider with one model, `mock/mock-1`, at `base`,
/// as the default model, and every `exec` command asking for approval (`tools.exec.ask`, the
/// same key on both gateways; upstream's default is not to ask).
fn mock_config(base: &str) -> Value {
    json!({
        "models": {"providers": {"mock": mock_openai::provider_config(base)}},
        "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
        "tools": {"exec": {"ask": "always"}},
    })
}

/// A fresh agent workspace holding [`NOTES`] for the tool turn, named in `config` as the
/// agents' workspace (the same key on both gateways).
fn with_workspace(mut config: Value) -> (Value, tempfile::TempDir) {
    let dir = tempfile::Builder::new()
        .prefix("tether-cui-workspace-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join(NOTES), "Remember the milk.\n").unwrap();
    config["agents"]["defaults"]["workspace"] = json!(dir.path());
    (config, dir)
}

/// Tether's gateway serving the package's Control UI, with the mock provider.
async fn start_tether(root: &Path, config: Value) -> Result<Gateway> {
    let mut config = config;
    config["gateway"] = json!({"controlUi": {"root": root}});
    Gateway::spawn(GatewayOptions::with_config(&config.to_string())).await
}

/// What one script run produced.
#[derive(Debug)]
struct Run {
    which: &'static str,
    ok: bool,
    report: Option<Value>,
    output: String,
    took: Duration,
}

impl Run {
    fn failures(&self) -> Vec<String> {
        self.report
            .as_ref()
            .and_then(|r| r["failures"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Each distinct failed RPC once: `method: CODE message (pages)`.
    fn failed_rpcs(&self) -> Vec<String> {
        let mut seen: Vec<(String, Vec<String>)> = Vec::new();
        let rpcs = self
            .report
            .as_ref()
            .and_then(|r| r["failedRpcs"].as_array());
        for f in rpcs.into_iter().flatten() {
            let e = &f["error"];
            let key = format!(
                "{}: {} {}",
                f["method"].as_str().unwrap_or("?"),
                e["code"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("")
            );
            let page = f["page"].as_str().unwrap_or("?").to_owned();
            match seen.iter_mut().find(|(k, _)| *k == key) {
                Some((_, pages)) if !pages.contains(&page) => pages.push(page),
                Some(_) => {}
                None => seen.push((key, vec![page])),
            }
        }
        seen.into_iter()
            .map(|(k, pages)| format!("{k} ({})", pages.join(", ")))
            .collect()
    }
}

/// Runs `interop.mjs` against `base_url` with Node `node`; the token travels by environment
/// (never on a command line), everything else as the JSON argument.
async fn run_script(node: &Path, which: &'static str, base_url: &str, token: &str) -> Result<Run> {
    let out = shots_dir(which);
    let arg = json!({
        "baseUrl": base_url,
        "outDir": out,
        "marker": MARKER,
        "label": which,
        "chromium": CHROMIUM,
        "timeoutMs": u64::try_from(SCRIPT_DEADLINE.as_millis())? - 30_000,
        "knownBanners": known_banners(which),
    });
    let mut cmd = tokio::process::Command::new(node);
    cmd.arg(repo_root().join("tests/control-ui/interop.mjs"))
        .arg(arg.to_string())
        .env("CONTROL_UI_TOKEN", token)
        .env_remove("TETHER_GATEWAY_TOKEN")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .current_dir(repo_root());
    let t0 = Instant::now();
    let mut process = ChildGuard::spawn(&mut cmd)?;
    let status = process.wait_exit(SCRIPT_DEADLINE).await?;
    let took = t0.elapsed();
    let mut output = process.lines(Stream::Stdout);
    output.extend(process.lines(Stream::Stderr));
    let output = output.join("\n");
    eprintln!(
        "--- interop.mjs against {which} ({:.0} s, {status}) ---\n{output}",
        took.as_secs_f64()
    );
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok(Run {
        which,
        ok: status.success(),
        report,
        output,
        took,
    })
}

/// The mock's script for the later turns: the tool turn calls `read` on [`NOTES`] and then
/// answers; the abort turn streams a little and then stalls until the gateway hangs up.
fn script_turns(mock: &MockOpenAi) {
    mock.push_for(
        TOOL_ASK,
        Reply::ToolCalls(vec![MockToolCall::new(
            "call_read_1",
            "read",
            json!({"path": NOTES}),
        )]),
    );
    mock.push_for(TOOL_ASK, Reply::words(TOOL_DONE));
    mock.push_for(
        EXEC_ASK,
        Reply::ToolCalls(vec![MockToolCall::new(
            "call_exec_1",
            "exec",
            json!({"command": EXEC_COMMAND}),
        )]),
    );
    mock.push_for(EXEC_ASK, Reply::words(EXEC_DONE));
    // Twice: upstream also asks its model for a title for a conversation it creates, with the
    // first message in the request (ours titles it by that message and leaves one unused).
    mock.push_for(SECOND_ASK, Reply::words(SECOND_DONE));
    mock.push_for(SECOND_ASK, Reply::words(SECOND_DONE));
    mock.push_for(
        ABORT_ASK,
        Reply::Stall(vec![format!("{ABORT_PARTIAL}, "), "four, ".into()]),
    );
}

/// Whether the approved command ran: its output came back to the provider as the tool's result.
fn mock_saw_exec_output(mock: &MockOpenAi) -> bool {
    mock.requests()
        .iter()
        .any(|r| r.body.to_string().contains(EXEC_OUTPUT))
}

/// Whether the mock saw the chat's message (so the reply on screen came through the gateway's
/// provider, not from anywhere else).
fn mock_saw_chat(mock: &MockOpenAi) -> bool {
    mock.requests()
        .iter()
        .any(|r| r.body.to_string().contains("Say hello"))
}

fn check_prerequisites() -> Upstream {
    let up = upstream::require();
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install Debian's chromium (`.ci/install-desktop-deps`)"
    );
    assert!(
        repo_root()
            .join("ui/node_modules/playwright-core/package.json")
            .is_file(),
        "ui/node_modules/playwright-core is missing: run `npm install` in ui/ (committed lockfile)"
    );
    up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_control_ui_works_against_tether_as_against_upstream() {
    let t0 = Instant::now();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", t0.elapsed().as_secs_f64());
    let up = check_prerequisites();
    let root = control_ui_root(&up);

    // Upstream first (the reference), then ours; one gateway at a time next to Chromium, so the
    // two shared cores and upstream's ~900 MB are not spent twice over. While working on one
    // side, `CONTROL_UI_ONLY=tether` (or `upstream`) runs just that one.
    let only = std::env::var("CONTROL_UI_ONLY").ok();
    let wanted = |which: &str| only.as_deref().is_none_or(|o| o == which);
    let mut runs = Vec::new();
    if wanted("upstream") {
        let up_mock = mock_openai::start().await.unwrap();
        up_mock.set_default(Reply::words(REPLY));
        script_turns(&up_mock);
        let (config, _workspace) = with_workspace(mock_config(&up_mock.base_url()));
        let upstream_gw = UpstreamGateway::start(&up, &config).unwrap();
        upstream_gw.wait_ready().await.unwrap();
        step(&format!(
            "upstream's gateway ready on port {}",
            upstream_gw.port
        ));
        let base = format!("http://127.0.0.1:{}", upstream_gw.port);
        let run = run_script(&up.node, "upstream", &base, upstream_gw.token())
            .await
            .unwrap();
        runs.push((
            run,
            mock_saw_chat(&up_mock),
            mock_saw_exec_output(&up_mock),
            up_mock.cancelled(),
        ));
        drop(upstream_gw);
        step("upstream run done");
    }

    let mut tether_stderr = Vec::new();
    if wanted("tether") {
        let our_mock = mock_openai::start().await.unwrap();
        our_mock.set_default(Reply::words(REPLY));
        script_turns(&our_mock);
        let (config, _workspace) = with_workspace(mock_config(&our_mock.base_url()));
        let ours = start_tether(&root, config).await.unwrap();
        step(&format!("tether-gateway ready on port {}", ours.port));
        let base = format!("http://127.0.0.1:{}", ours.port);
        let run = run_script(&up.node, "tether", &base, ours.token().unwrap())
            .await
            .unwrap();
        if !run.ok {
            tether_stderr = ours.process.lines(Stream::Stderr);
        }
        runs.push((
            run,
            mock_saw_chat(&our_mock),
            mock_saw_exec_output(&our_mock),
            our_mock.cancelled(),
        ));
        step("tether run done");
    }
    assert!(
        !runs.is_empty(),
        "CONTROL_UI_ONLY={only:?} names neither side (tether, upstream)"
    );

    let mut problems = Vec::new();
    for (run, saw_chat, saw_exec, cancelled) in &runs {
        let saw_chat = *saw_chat;
        // The allowed command ran: its output reached the provider.
        if run.ok && !saw_exec {
            problems.push(format!(
                "{}: the approved command's output never reached the provider",
                run.which
            ));
        }
        // The Stop button reached the provider: the gateway hung up the stalled stream.
        if run.ok && *cancelled == 0 {
            problems.push(format!(
                "{}: the stopped turn never cancelled the provider's stream",
                run.which
            ));
        }
        eprintln!(
            "{}: {} in {:.0} s, screenshots and report.json in {}",
            run.which,
            if run.ok { "passed" } else { "FAILED" },
            run.took.as_secs_f64(),
            shots_dir_path(run.which).display()
        );
        if !run.ok {
            let failures = run.failures();
            if failures.is_empty() {
                problems.push(format!(
                    "{}: the script failed:\n{}",
                    run.which,
                    tail(&run.output)
                ));
            }
            for f in failures {
                problems.push(format!("{}: {f}", run.which));
            }
        }
        let rpcs = run.failed_rpcs();
        if !rpcs.is_empty() {
            eprintln!("{}: failed RPCs:\n  {}", run.which, rpcs.join("\n  "));
        }
        if run.report.is_none() {
            problems.push(format!("{}: no report.json", run.which));
        }
        if !saw_chat {
            problems.push(format!(
                "{}: the mock provider never got the chat message",
                run.which
            ));
        }
    }
    if !tether_stderr.is_empty() {
        eprintln!(
            "--- tether-gateway stderr (last lines) ---\n{}",
            tail(&tether_stderr.join("\n"))
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
