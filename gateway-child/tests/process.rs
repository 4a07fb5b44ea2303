//! Process behaviour of the real binary: the instance lock (exit 10), a taken port (exit 11),
//! `kill -9` then restart, invalid or unsafe config (exit 78 with file:line), the command line
//! (exit 2, `--version`), the readiness line, the lock file and the generated token.
//! (SECURITY §4 items 22, 34, 38, 39, 48.)

mod support;

use std::os::unix::fs::PermissionsExt;

use anyhow::Result;
use serde_json::Value;
use support::D;
use tether_testkit::gateway::{prepare, Gateway, GatewayOptions, ReadyLine};
use tether_testkit::process::{ChildGuard, Stream};
use tether_testkit::ws::{http_get, ConnectOpts, WsClient};

/// Runs the gateway expecting it to exit; returns the code and stderr.
async fn exits(opts: &GatewayOptions) -> Result<(i32, String)> {
    let mut p = prepare(opts)?;
    let mut child = ChildGuard::spawn(&mut p.command)?;
    let status = child.wait_exit(D).await?;
    let stderr = child.lines(Stream::Stderr).join("\n");
    Ok((status.code().unwrap_or(-1), stderr))
}

#[tokio::test]
async fn a_second_instance_exits_10_and_the_first_keeps_serving() -> Result<()> {
    let gw = support::gateway().await?;
    let (code, stderr) = exits(&GatewayOptions {
        state_dir: Some(gw.state_dir().to_path_buf()),
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 10, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "already running (pid {}, port {})",
            gw.pid, gw.port
        )),
        "{stderr}"
    );
    let (mut c, _) = support::admin(&gw).await?;
    assert!(c.call("health", serde_json::json!({})).await?.ok);
    Ok(())
}

#[tokio::test]
async fn the_lock_file_and_readiness_line() -> Result<()> {
    let gw = support::gateway().await?;
    let lock: Value = serde_json::from_str(&std::fs::read_to_string(gw.lock_path())?)?;
    assert_eq!(lock["pid"], gw.pid);
    assert_eq!(lock["port"], gw.port);
    assert_eq!(lock["bootId"], gw.boot_id.as_str());
    assert_eq!(lock["version"], env!("CARGO_PKG_VERSION"));
    assert!(lock["startedAtMs"].as_u64().unwrap() > 1_700_000_000_000);
    let keys: Vec<&String> = lock.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    // Exactly one stdout line, the readiness line; logs go to stderr.
    let stdout = gw.process.lines(Stream::Stdout);
    assert_eq!(stdout.len(), 1, "{stdout:?}");
    let ready = ReadyLine::parse(&stdout[0]).unwrap();
    assert_eq!(ready.port, gw.port);
    assert_eq!(ready.pid, gw.pid);
    // The re-execution that moves secrets out of the environment keeps the process's name, so
    // `ps`, `pgrep tether-gateway` and the desktop app's process views still find it.
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", gw.pid))?;
    assert_eq!(comm.trim(), "tether-gateway");
    Ok(())
}

#[tokio::test]
async fn a_taken_port_exits_11_naming_it_and_the_owner_is_untouched() -> Result<()> {
    let foreign = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = foreign.local_addr()?.port();
    let (code, stderr) = exits(&GatewayOptions {
        port,
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 11, "{stderr}");
    assert!(
        stderr.contains(&format!("port {port} is in use")),
        "{stderr}"
    );
    // The foreign listener still accepts.
    let _c = std::net::TcpStream::connect(("127.0.0.1", port))?;
    assert!(foreign.accept().is_ok());
    Ok(())
}

#[tokio::test]
async fn after_kill_9_a_new_instance_starts_at_once_on_the_same_port() -> Result<()> {
    let gw = support::gateway().await?;
    let state = gw.state_dir().to_path_buf();
    let port = gw.port;
    gw.process.kill_group();
    let mut gw = gw;
    let status = gw.process.wait_exit(D).await?;
    assert!(!status.success());
    let again = Gateway::spawn(GatewayOptions {
        state_dir: Some(state),
        port,
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(again.port, port);
    assert_ne!(again.pid, gw.pid);
    let (mut c, _) = support::admin(&again).await?;
    assert!(c.call("health", serde_json::json!({})).await?.ok);
    drop(gw);
    Ok(())
}

#[tokio::test]
async fn invalid_config_exits_78_with_file_line_and_reason() -> Result<()> {
    let cases = [
        (
            "{\n  gateway: {\n    port: 'eighty',\n  },\n}\n",
            3,
            "gateway.port",
        ),
        (
            "{\n  gateway: { bind: 'lan',\n    auth: { mode: 'none' } },\n}\n",
            2,
            "gateway.bind",
        ),
        (
            "{\n gateway: {\n  auth: {\n   mode: 'password' } } }\n",
            4,
            "gateway.auth.mode",
        ),
        (
            "{\n  gateway: {\n    port: 1,,\n  }\n}\n",
            3,
            "invalid JSON5",
        ),
    ];
    for (config, line, what) in cases {
        let opts = GatewayOptions::with_config(config);
        let (code, stderr) = exits(&opts).await?;
        assert_eq!(code, 78, "{config}: {stderr}");
        assert!(
            stderr.contains(&format!("gateway.json:{line}:")),
            "{config}: {stderr}"
        );
        assert!(stderr.contains(what), "{config}: {stderr}");
    }
    // Unsafe flags are refused the same way.
    let (code, stderr) = exits(&GatewayOptions {
        args: vec![
            "--bind".into(),
            "lan".into(),
            "--auth".into(),
            "none".into(),
        ],
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("--bind"), "{stderr}");
    // A world-writable config is not trusted.
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("gateway.json");
    std::fs::write(&cfg, "{}")?;
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666))?;
    let (code, stderr) = exits(&GatewayOptions {
        state_dir: Some(dir.path().to_path_buf()),
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("writable by every user"), "{stderr}");
    Ok(())
}

/// A config nested 20 000 deep (40 KB) is a config error like any other (exit 78, located), not a
/// stack overflow.
#[tokio::test]
async fn a_deeply_nested_config_exits_78_instead_of_aborting() -> Result<()> {
    let config = format!(
        "{{\n  probe: {}1{}\n}}\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let (code, stderr) = exits(&GatewayOptions::with_config(&config)).await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("gateway.json:2:"), "{stderr}");
    assert!(
        stderr.contains("nested more than 64 levels deep"),
        "{stderr}"
    );
    Ok(())
}

#[tokio::test]
async fn unsupported_keys_warn_once_each_and_an_openclaw_json_loads() -> Result<()> {
    let gw = support::gateway_with(
        r#"{
          gateway: { mode: "local", port: 18789, bind: "loopback", tailscale: { mode: "off" } },
          update: { checkOnStart: false },
          models: { mode: "merge", providers: { mock: { baseUrl: "http://127.0.0.1:18800/v1",
             apiKey: "mock-key", api: "openai-completions",
             models: [ { id: "mock-1", name: "Mock 1", input: ["text"], cost: { input: 0 },
                       contextWindow: 32000 } ] } } },
          agents: { defaults: { model: { primary: "mock/mock-1" } } },
        }"#,
    )
    .await;
    // Port 18789 from the file is overridden by --port 0 from the test launcher.
    let gw = gw?;
    let stderr = gw.process.lines(Stream::Stderr).join("\n");
    for key in [
        "gateway.tailscale",
        "update",
        "models.mode",
        "models.providers.mock.models.0.cost",
    ] {
        let n = stderr
            .matches(&format!("config key {key} is not supported"))
            .count();
        assert_eq!(n, 1, "{key}: {stderr}");
    }
    Ok(())
}

#[tokio::test]
async fn command_line_errors_exit_2_and_version_exits_0() -> Result<()> {
    let (code, stderr) = exits(&GatewayOptions {
        args: vec!["--bind".into(), "tailnet".into()],
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 2, "{stderr}");
    let bin = tether_testkit::bins::binary("tether-gateway", "tether-gateway")?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--version");
    let mut child = ChildGuard::spawn(&mut cmd)?;
    assert_eq!(child.wait_exit(D).await?.code(), Some(0));
    assert!(child.lines(Stream::Stdout)[0].contains(env!("CARGO_PKG_VERSION")));
    Ok(())
}

#[tokio::test]
async fn without_a_token_one_is_generated_privately_and_only_its_path_logged() -> Result<()> {
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        ..GatewayOptions::default()
    })
    .await?;
    let path = gw.state_dir().join("gateway-token");
    let token = std::fs::read_to_string(&path)?.trim().to_owned();
    assert!(token.len() >= 43, "≥ 256 bits");
    assert_eq!(
        std::fs::metadata(&path)?.permissions().mode() & 0o777,
        0o600
    );
    let stderr = gw.process.lines(Stream::Stderr).join("\n");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(!stderr.contains(&token));
    assert!(!std::fs::read_to_string(gw.log_path())?.contains(&token));
    let (_, hello) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token)).await?;
    assert_eq!(hello.auth.unwrap().scopes.len(), 4);
    // The state dir is private.
    assert_eq!(
        std::fs::metadata(gw.state_dir().join("logs"))?
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    Ok(())
}

#[tokio::test]
async fn a_token_on_argv_works_but_is_warned_about() -> Result<()> {
    let token = tether_testkit::gateway::random_token();
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        args: vec![
            "--token".into(),
            token.clone(),
            "--allow-unconfigured".into(),
        ],
        ..GatewayOptions::default()
    })
    .await?;
    gw.process
        .wait_for_line(
            Stream::Stderr,
            |l| l.contains("--token is visible to other local users"),
            D,
        )
        .await?;
    assert!(WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token))
        .await
        .is_ok());
    // Listening on loopback only.
    let r = http_get(&gw.addr(), "/healthz", &[]).await?;
    assert_eq!(r.status, 200);
    Ok(())
}

#[tokio::test]
async fn openclaw_token_variable_is_accepted() -> Result<()> {
    let token = tether_testkit::gateway::random_token();
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        env: vec![("OPENCLAW_GATEWAY_TOKEN".into(), token.clone())],
        ..GatewayOptions::default()
    })
    .await?;
    assert!(WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token))
        .await
        .is_ok());
    Ok(())
}

#[tokio::test]
async fn a_token_file_is_read_and_a_readable_one_is_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("handed-token");
    let token = tether_testkit::gateway::random_token();
    std::fs::write(&file, format!("{token}\n"))?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    // By flag: no token in the environment or argv of the gateway at all.
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        args: vec!["--token-file".into(), file.display().to_string()],
        ..GatewayOptions::default()
    })
    .await?;
    WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token)).await?;
    assert!(WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("wrong"))
        .await
        .is_err());
    let environ = std::fs::read(format!("/proc/{}/environ", gw.pid))?;
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", gw.pid))?;
    for bytes in [environ, cmdline] {
        assert!(!String::from_utf8_lossy(&bytes).contains(&token));
    }
    drop(gw);
    // By environment variable.
    let gw = Gateway::spawn(GatewayOptions {
        token: None,
        env: vec![(
            "TETHER_GATEWAY_TOKEN_FILE".into(),
            file.display().to_string(),
        )],
        ..GatewayOptions::default()
    })
    .await?;
    WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(&token)).await?;
    drop(gw);
    // Group- or world-readable: refused at start with a clear error (exit 78), no secret shown.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let (code, stderr) = exits(&GatewayOptions {
        token: None,
        args: vec!["--token-file".into(), file.display().to_string()],
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("--token-file"), "{stderr}");
    assert!(stderr.contains("readable by group or others"), "{stderr}");
    assert!(!stderr.contains(&token));
    Ok(())
}

/// A token file that is a FIFO (nobody writes to it) is refused at once like a config FIFO;
/// it used to hang the start, deaf to SIGTERM.
#[tokio::test]
async fn a_fifo_token_file_is_refused_at_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("token-fifo");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )?;
    let (code, stderr) = exits(&GatewayOptions {
        token: None,
        env: vec![(
            "TETHER_GATEWAY_TOKEN_FILE".into(),
            fifo.display().to_string(),
        )],
        ..GatewayOptions::default()
    })
    .await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("not a regular file (a FIFO)"), "{stderr}");
    Ok(())
}

/// A state directory other users may write is refused (exit 78, saying how to fix it); one
/// they may only read is restricted to 0700.
#[tokio::test]
async fn an_open_state_directory_is_refused_and_a_readable_one_restricted() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir(&state)?;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777))?;
    let opts = GatewayOptions {
        state_dir: Some(state.clone()),
        ..GatewayOptions::default()
    };
    let (code, stderr) = exits(&opts).await?;
    assert_eq!(code, 78, "{stderr}");
    assert!(
        stderr.contains("writable by group or others (mode 0777)"),
        "{stderr}"
    );
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755))?;
    let gw = Gateway::spawn(opts).await?;
    let mode = std::fs::metadata(&state)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    drop(gw);
    Ok(())
}

/// Started under a low soft limit on open files (desktop sessions often get 1024, macOS 256),
/// the gateway raises it to its hard limit, so a few hundred clients never hit EMFILE.
#[tokio::test]
async fn a_low_open_file_limit_is_raised_to_the_hard_limit() -> Result<()> {
    let p = prepare(&GatewayOptions::default())?;
    let std_cmd = p.command.as_std();
    let mut wrapped = tokio::process::Command::new("sh");
    wrapped
        .arg("-c")
        .arg("ulimit -Sn 256 && exec \"$0\" \"$@\"")
        .arg(std_cmd.get_program())
        .args(std_cmd.get_args());
    for (k, v) in std_cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    let child = ChildGuard::spawn(&mut wrapped)?;
    let line = child
        .wait_for_line(Stream::Stdout, |l| ReadyLine::parse(l).is_some(), D)
        .await?;
    let pid = ReadyLine::parse(&line).unwrap().pid;
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let row: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    let (soft, hard) = (row[3], row[4]);
    let want = if hard == "unlimited" {
        65_536
    } else {
        hard.parse::<u64>()?.min(65_536)
    };
    assert_eq!(soft, want.to_string(), "{limits}");
    if want > 256 {
        assert!(child
            .lines(Stream::Stderr)
            .iter()
            .any(|l| l.contains("raised the open-file limit")));
    }
    Ok(())
}
