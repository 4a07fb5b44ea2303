//! Config hot reload and config RPCs: token rotation (4001, old token refused), invalid files
//! (last good kept, error with line sent to clients), unsafe files, write storms, symlinks,
//! `config.get` redaction and hash, `config.patch`/`config.apply` with `baseHash`, live vs
//! restart changes. (SECURITY §4 items 11, 12, 21, 32–37.)

mod support;

use anyhow::Result;
use serde_json::json;
use support::{code, detail, message, D};
use tether_testkit::gateway::{Gateway, GatewayOptions};
use tether_testkit::process::Stream;
use tether_testkit::ws::{ConnectOpts, WsClient};

/// A gateway whose token comes from its config file (so the file can rotate it).
async fn config_token_gateway(extra: &str) -> Result<Gateway> {
    Gateway::spawn(GatewayOptions {
        token: None,
        config: Some(format!(
            "{{ gateway: {{ auth: {{ mode: 'token', token: 'token-A' }}, reload: {{ debounceMs: 50 }}{extra} }} }}"
        )),
        ..GatewayOptions::default()
    })
    .await
}

#[tokio::test]
async fn a_rotated_token_closes_old_connections_with_4001() -> Result<()> {
    let mut gw = config_token_gateway("").await?;
    let (mut old, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A")).await?;
    let old_boot = gw.boot_id.clone();
    support::write_config(
        &gw.config_path(),
        "{ gateway: { auth: { mode: 'token', token: 'token-B' }, reload: { debounceMs: 50 } } }",
    )?;
    let changed = old.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(changed["valid"], true);
    assert_eq!(changed["action"], "restart");
    assert_eq!(changed["changedPaths"], json!(["gateway.auth.token"]));
    assert_eq!(old.closed(D).await?, (4001, "gateway auth changed".into()));
    let ready = gw.wait_ready_again(D).await?;
    assert_ne!(ready.boot_id, old_boot);
    let mut c = WsClient::open(&gw.ws_url()).await?;
    let res = c.handshake(&ConnectOpts::cli("token-A")).await?;
    assert_eq!(detail(&res), "AUTH_TOKEN_MISMATCH");
    assert!(
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-B"))
            .await
            .is_ok()
    );
    Ok(())
}

#[tokio::test]
async fn an_invalid_file_keeps_the_last_good_config_and_says_why() -> Result<()> {
    let gw = config_token_gateway("").await?;
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A")).await?;
    support::write_config(
        &gw.config_path(),
        "{\n  gateway: {\n    auth: { mode: 'token', token: 'token-A' }\n    oops\n",
    )?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], false);
    assert!(ev["error"]["line"].as_u64().is_some(), "{ev}");
    assert!(ev["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid JSON5"));
    assert!(
        !ev.to_string().contains("token-A"),
        "no secret in the error"
    );
    gw.process
        .wait_for_line(
            Stream::Stderr,
            |l| l.contains("keeping the last good config"),
            D,
        )
        .await?;
    // Still serving, same run, old token still valid.
    assert!(c.call("health", json!({})).await?.ok);
    assert!(
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A"))
            .await
            .is_ok()
    );
    // Lan without auth is refused the same way, and nothing is rebound.
    support::write_config(
        &gw.config_path(),
        "{ gateway: { bind: 'lan', auth: { mode: 'none' }, reload: { debounceMs: 50 } } }",
    )?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], false);
    assert_eq!(ev["error"]["path"], "gateway.bind");
    assert!(
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A"))
            .await
            .is_ok()
    );
    // Fixing the file later is picked up.
    support::write_config(
        &gw.config_path(),
        "{ gateway: { auth: { mode: 'token', token: 'token-A' }, reload: { debounceMs: 50 } }, agents: { defaults: { model: { primary: 'a/b' } } } }",
    )?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], true);
    assert_eq!(ev["action"], "hot");
    Ok(())
}

#[tokio::test]
async fn a_symlink_to_a_foreign_file_is_refused_without_echoing_it() -> Result<()> {
    let gw = config_token_gateway("").await?;
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A")).await?;
    let other = tempfile::tempdir()?;
    let shadow = other.path().join("shadow");
    std::fs::write(&shadow, "root:$6$verysecrethash:19000:0:99999:7:::\n")?;
    let tmp_link = gw.state_dir().join("link.tmp");
    std::os::unix::fs::symlink(&shadow, &tmp_link)?;
    std::fs::rename(&tmp_link, gw.config_path())?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], false);
    assert!(!ev.to_string().contains("verysecrethash"));
    let log = std::fs::read_to_string(gw.log_path())?;
    assert!(!log.contains("verysecrethash"));
    assert!(c.call("health", json!({})).await?.ok);
    Ok(())
}

#[tokio::test]
async fn a_write_storm_is_coalesced() -> Result<()> {
    let gw = config_token_gateway("").await?;
    let (mut c, _) = WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A")).await?;
    let mut last = String::new();
    for i in 0..100 {
        last = format!(
            "{{ gateway: {{ auth: {{ mode: 'token', token: 'token-A' }}, reload: {{ debounceMs: 50 }} }}, agents: {{ defaults: {{ model: {{ primary: 'p/m{i}' }} }} }} }}"
        );
        std::fs::write(gw.config_path(), &last)?;
    }
    let want = {
        use sha2::{Digest, Sha256};
        Sha256::digest(last.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut applied = 0;
    loop {
        let ev = c.event("config.changed", D).await?.payload.unwrap();
        if ev["valid"] == true {
            applied += 1;
        }
        if ev["hash"] == want.as_str() {
            break;
        }
    }
    assert!(applied <= 3, "{applied} reloads for 100 writes");
    let got = support::payload(c.call("config.get", json!({})).await?)?;
    assert_eq!(
        got["config"]["agents"]["defaults"]["model"]["primary"],
        "p/m99"
    );
    Ok(())
}

#[tokio::test]
async fn config_get_is_redacted_and_hashed() -> Result<()> {
    let gw = Gateway::spawn(GatewayOptions::with_config(
        "{ gateway: { auth: { token: 'cfg-token-secret' } }, models: { providers: { p: { baseUrl: 'http://h/v1', apiKey: 'sk-secret-key' } } }, channels: { x: { botToken: 'bot-secret' } } }",
    ))
    .await?;
    let (mut c, _) = support::admin(&gw).await?;
    let got = support::payload(c.call("config.get", json!({})).await?)?;
    let text = got.to_string();
    for secret in ["cfg-token-secret", "sk-secret-key", "bot-secret"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert_eq!(
        got["config"]["gateway"]["auth"]["token"],
        "__OPENCLAW_REDACTED__"
    );
    assert_eq!(got["exists"], true);
    assert_eq!(got["valid"], true);
    assert_eq!(got["hash"].as_str().unwrap().len(), 64);
    assert_eq!(got["warnings"][0]["path"], "channels");
    // A read-only client may read it too (still redacted).
    let (mut ro, _) = WsClient::connect(
        &gw.ws_url(),
        &ConnectOpts::cli(gw.token()?).scopes(&["operator.read"]),
    )
    .await?;
    let got2 = support::payload(ro.call("config.get", json!({})).await?)?;
    assert!(!got2.to_string().contains("sk-secret-key"));
    let res = ro
        .call(
            "config.patch",
            json!({"raw": "{}", "baseHash": got2["hash"]}),
        )
        .await?;
    assert_eq!(message(&res), "missing scope: operator.admin");
    Ok(())
}

#[tokio::test]
async fn config_patch_needs_the_base_hash_and_keeps_redacted_secrets() -> Result<()> {
    let gw = Gateway::spawn(GatewayOptions::with_config(
        "{ models: { providers: { p: { baseUrl: 'http://h/v1', apiKey: 'sk-keep-me' } } } }",
    ))
    .await?;
    let (mut c, _) = support::admin(&gw).await?;
    let got = support::payload(c.call("config.get", json!({})).await?)?;
    let hash = got["hash"].as_str().unwrap().to_owned();

    let res = c.call("config.patch", json!({"raw": "{}"})).await?;
    assert_eq!(
        message(&res),
        "config base hash required; re-run config.get and retry"
    );
    let res = c
        .call(
            "config.patch",
            json!({"raw": "{}", "baseHash": "0".repeat(64)}),
        )
        .await?;
    assert_eq!(
        message(&res),
        "config changed since last load; re-run config.get and retry"
    );

    // Send the redacted document back with one change: the secret survives.
    let mut doc = got["config"].clone();
    doc["agents"] = json!({"defaults": {"model": {"primary": "p/m"}}});
    let res = c
        .call(
            "config.apply",
            json!({"raw": doc.to_string(), "baseHash": hash}),
        )
        .await?;
    let applied = support::payload(res)?;
    assert_eq!(applied["restart"], false);
    assert_eq!(applied["action"], "hot");
    let on_disk = std::fs::read_to_string(gw.config_path())?;
    assert!(on_disk.contains("sk-keep-me"));
    assert!(!on_disk.contains("__OPENCLAW_REDACTED__"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(gw.config_path())?.permissions().mode() & 0o777,
        0o600
    );
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["source"], "rpc");
    assert_eq!(ev["changedPaths"], json!(["agents.defaults.model.primary"]));

    // A merge patch on top of it, with the new hash; invalid values are refused with issues.
    // (A client with its own device key has its own write budget.)
    let (mut c, _) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?).with_device()).await?;
    let hash2 = applied["hash"].as_str().unwrap().to_owned();
    let res = c
        .call(
            "config.patch",
            json!({"raw": "{ gateway: { port: 'x' } }", "baseHash": hash2}),
        )
        .await?;
    assert!(
        message(&res).starts_with("invalid config:"),
        "{}",
        message(&res)
    );
    let issues = res.error.unwrap().details.unwrap()["issues"].clone();
    assert_eq!(issues[0]["path"], "gateway.port");
    let res = c
        .call("config.patch", json!({"raw": "{ gateway: { auth: { password: '__OPENCLAW_REDACTED__' } } }", "baseHash": hash2}))
        .await?;
    assert!(
        message(&res).contains("nothing to restore"),
        "{}",
        message(&res)
    );
    let res = c
        .call(
            "config.patch",
            json!({"raw": "{ not json5", "baseHash": hash2}),
        )
        .await?;
    assert!(
        message(&res).starts_with("invalid raw"),
        "{}",
        message(&res)
    );
    // A no-op patch changes nothing.
    let (mut c, _) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?).with_device()).await?;
    let res = c
        .call("config.patch", json!({"raw": "{}", "baseHash": hash2}))
        .await?;
    assert_eq!(support::payload(res)?["noop"], true);
    Ok(())
}

#[tokio::test]
async fn control_plane_writes_are_budgeted_per_client() -> Result<()> {
    let gw = support::gateway_with("{}").await?;
    let (mut c, _) = support::admin(&gw).await?;
    // The whole budget in a window, whatever the outcomes; one more is refused before anything
    // is read or written, retryably, in upstream's shape.
    for _ in 0..tether_gateway::socket::rate_limit::WRITE_LIMIT {
        let res = c.call("config.patch", json!({"raw": "{}"})).await?;
        assert!(message(&res).contains("base hash"), "{}", message(&res));
    }
    let res = c.call("config.patch", json!({"raw": "{}"})).await?;
    let e = res.error.clone().unwrap();
    assert_eq!(e.code.as_str(), "UNAVAILABLE");
    assert_eq!(e.retryable, Some(true));
    let retry = e.retry_after_ms.unwrap();
    assert!(retry > 0 && retry <= 60_000, "{retry}");
    assert!(e
        .message
        .starts_with("rate limit exceeded for config.patch; retry after "));
    assert_eq!(
        e.details.unwrap(),
        json!({"method": "config.patch", "limit": "30 per 60s"})
    );
    // Another device-less connection from the same address shares the bucket…
    let (mut again, _) = support::admin(&gw).await?;
    let res = again.call("config.patch", json!({"raw": "{}"})).await?;
    assert_eq!(code(&res), "UNAVAILABLE");
    // …while config.apply and a client with its own device key have their own budgets.
    let res = again.call("config.apply", json!({"raw": "{}"})).await?;
    assert!(message(&res).contains("base hash"), "{}", message(&res));
    let (mut device, _) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli(gw.token()?).with_device()).await?;
    let res = device.call("config.patch", json!({"raw": "{}"})).await?;
    assert!(message(&res).contains("base hash"), "{}", message(&res));
    Ok(())
}

#[tokio::test]
async fn live_and_restart_changes_through_config_patch() -> Result<()> {
    let mut gw = support::gateway().await?;
    let (mut c, _) = support::admin(&gw).await?;
    // Allowing a browser origin applies live: no restart, and the origin gets through at once.
    let res = c
        .call(
            "config.patch",
            json!({"raw": "{ gateway: { controlUi: { allowedOrigins: ['tauri://localhost'] } } }"}),
        )
        .await?;
    let p = support::payload(res)?;
    assert_eq!(p["restart"], false);
    assert!(
        WsClient::try_open(&gw.ws_url(), &[("Origin", "tauri://localhost")])
            .await?
            .is_ok()
    );
    // A listener-class change restarts in-process, after the reply.
    let hash = p["hash"].as_str().unwrap().to_owned();
    let res = c
        .call(
            "config.patch",
            json!({"raw": "{ gateway: { tickIntervalMs: 40 } }", "baseHash": hash}),
        )
        .await?;
    assert_eq!(support::payload(res)?["restart"], true);
    let shutdown = c.event("shutdown", D).await?;
    assert_eq!(shutdown.payload.unwrap()["reason"], "gateway restarting");
    assert_eq!(c.closed(D).await?.0, 1012);
    gw.wait_ready_again(D).await?;
    let (_, hello) = support::admin(&gw).await?;
    assert_eq!(hello.policy.tick_interval_ms, 40);
    Ok(())
}

/// A value nested thousands deep, by `config.patch` or in the file, is refused with where it
/// is, and the running gateway keeps serving on its last good config (it used to overflow its
/// stack and abort). A write that would be larger than the load cap once pretty-printed is
/// refused and nothing is written (it used to leave a file the next start refused).
#[tokio::test]
async fn deep_or_oversized_configs_are_refused_and_the_gateway_keeps_running() -> Result<()> {
    let gw = config_token_gateway("").await?;
    let (mut c, _) =
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A").with_device()).await?;
    let get = support::payload(c.call("config.get", json!({})).await?)?;
    let hash = get["hash"].as_str().unwrap().to_owned();
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    for depth in [4000, 1500, 64] {
        let raw = format!("{{probe:{}}}", nested(depth));
        let res = c
            .call("config.patch", json!({"raw": raw, "baseHash": hash}))
            .await?;
        assert_eq!(code(&res), "INVALID_REQUEST", "depth {depth}");
        assert!(
            message(&res).contains("nested more than 64 levels deep"),
            "depth {depth}: {}",
            message(&res)
        );
    }
    // 70 KB as sent, over 4 MiB once pretty-printed (one indented line per element).
    let wide = format!(
        "{{probe:{}{}{}}}",
        "[".repeat(59),
        "1,".repeat(35_000),
        "]".repeat(59)
    );
    let res = c
        .call("config.patch", json!({"raw": wide, "baseHash": hash}))
        .await?;
    assert_eq!(code(&res), "INVALID_REQUEST");
    assert!(
        message(&res).contains("more than the 4194304 a config file may have"),
        "{}",
        message(&res)
    );
    // Over the cap as sent: refused before parsing.
    let blob = "x".repeat(4 * 1024 * 1024);
    let res = c
        .call(
            "config.patch",
            json!({"raw": format!("{{\"probeBlob\":\"{blob}\"}}"), "baseHash": hash}),
        )
        .await?;
    assert!(
        message(&res).starts_with("invalid raw"),
        "{}",
        message(&res)
    );
    // Nothing was written.
    let after = support::payload(c.call("config.get", json!({})).await?)?;
    assert_eq!(after["hash"], json!(hash));
    assert_eq!(after["valid"], true);

    // The same value written to the file: refused at reload, located, last good config kept.
    support::write_config(
        &gw.config_path(),
        &format!(
            "{{ gateway: {{ auth: {{ mode: 'token', token: 'token-A' }}, reload: {{ debounceMs: 50 }} }},\n  probe: {} }}",
            nested(4000)
        ),
    )?;
    let ev = c.event("config.changed", D).await?.payload.unwrap();
    assert_eq!(ev["valid"], false);
    assert_eq!(ev["error"]["line"], 2, "{ev}");
    assert!(ev["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nested more than 64 levels deep"));
    assert!(c.call("health", json!({})).await?.ok);
    assert!(
        WsClient::connect(&gw.ws_url(), &ConnectOpts::cli("token-A"))
            .await
            .is_ok()
    );
    Ok(())
}
