//! `diagnostics_get`, `diagnostics_export`, `reveal_path`, `metrics_sample`, `logs_read`.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Map, Value};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::bridge::wall_ms;
use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::logs::{self, LogLevel, LogLine, LogQuery, LogSource};
use crate::redact;
use crate::view::StatusView;

/// `Diagnostics`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    /// When.
    pub captured_at_ms: u64,
    /// Transitions, oldest first (status events without the port).
    pub journal: Vec<Value>,
    /// Now.
    pub status: StatusView,
    /// Counters.
    pub counters: Map<String, Value>,
    /// The gateway's last output lines.
    pub last_output: Vec<LogLine>,
}

/// The webview's view of the supervisor's diagnostics export: no port, lines as `LogLine`s.
pub fn for_webview(export: &Value, status: StatusView, now_ms: u64) -> Diagnostics {
    let journal = export
        .get("journal")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    if let Some(ev) = e.get_mut("event").and_then(Value::as_object_mut) {
                        ev.remove("port");
                    }
                    e
                })
                .collect()
        })
        .unwrap_or_default();
    let last_output = export
        .get("lastOutput")
        .and_then(Value::as_array)
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| {
                    let level: LogLevel = serde_json::from_value(l.get("level")?.clone()).ok()?;
                    Some(LogLine {
                        source: LogSource::Gateway,
                        at_ms: None,
                        level,
                        text: l.get("text")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Diagnostics {
        captured_at_ms: now_ms,
        journal,
        status,
        counters: export
            .get("counters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        last_output,
    }
}

/// `diagnostics_get`.
#[tauri::command]
pub async fn diagnostics_get(d: State<'_, Desktop>) -> IpcResult<Diagnostics> {
    let r = async {
        let h = d.handle().await?;
        let export = h.diagnostics().await.ok_or_else(IpcError::gone)?;
        let snap = h.status().await.ok_or_else(IpcError::gone)?;
        let now = wall_ms();
        Ok(for_webview(
            &export,
            StatusView::from_snapshot(&snap, now),
            now,
        ))
    }
    .await;
    d.tap.result("diagnostics_get", r)
}

/// `{path}`.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// Where the bundle is.
    pub path: String,
}

/// Lines of each log in a bundle.
const BUNDLE_LOG_LINES: usize = 1000;

/// `diagnostics_export`: the supervisor's export, the app's facts and settings, and the last
/// lines of both logs, scrubbed of every secret this machine knows (the gateway token, the
/// device key, provider keys in the gateway config) and of anything shaped like one.
#[tauri::command]
pub async fn diagnostics_export(d: State<'_, Desktop>) -> IpcResult<Exported> {
    let r = async {
        let supervisor = match d.handle().await {
            Ok(h) => h.diagnostics().await.unwrap_or(Value::Null),
            Err(e) => json!({"error": e.message}),
        };
        let now = wall_ms();
        let log_dir = d.paths.log_dir.clone();
        let logs = tokio::task::spawn_blocking(move || {
            let read = |source| {
                logs::read(
                    &log_dir,
                    &LogQuery {
                        source,
                        limit: BUNDLE_LOG_LINES,
                        contains: None,
                        min_level: None,
                    },
                )
                .unwrap_or_default()
            };
            (read(LogSource::App), read(LogSource::Gateway))
        })
        .await
        .map_err(|e| IpcError::internal(e.to_string()))?;
        let bundle = json!({
            "kind": "tether-diagnostics",
            "capturedAtMs": now,
            "app": {
                "version": env!("CARGO_PKG_VERSION"),
                "osLocale": d.os_locale,
                "renderer": d.renderer,
                "settings": d.settings(),
                "stateDir": d.paths.state_dir,
                "logDir": d.paths.log_dir,
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
            },
            "supervisor": supervisor,
            "logs": {"app": logs.0, "gateway": logs.1},
        });
        let secrets = redact::known_secrets(&d.paths.state_dir);
        let clean = redact::scrub(&bundle, &secrets);
        let dir = d.paths.export_dir.clone();
        let path = dir.join(format!(
            "tether-diagnostics-{}.json",
            logs::rfc3339(now).replace(':', "-")
        ));
        let bytes =
            serde_json::to_vec_pretty(&clean).map_err(|e| IpcError::internal(e.to_string()))?;
        let p2 = path.clone();
        tokio::task::spawn_blocking(move || {
            tether_supervisor::profile::create_private_dir(&dir)?;
            tether_supervisor::profile::write_private(&p2, &bytes)
        })
        .await
        .map_err(|e| IpcError::internal(e.to_string()))?
        .map_err(|e| IpcError::io(format!("cannot write {}: {e}", path.display())))?;
        if let Ok(mut x) = d.exports.lock() {
            x.push(path.clone());
        }
        tracing::info!("diagnostics exported to {}", path.display());
        Ok(Exported {
            path: path.display().to_string(),
        })
    }
    .await;
    d.tap.result("diagnostics_export", r)
}

/// `reveal_path {path}`: only a file `diagnostics_export` wrote.
#[tauri::command]
pub fn reveal_path<R: Runtime>(
    app: AppHandle<R>,
    d: State<'_, Desktop>,
    path: String,
) -> IpcResult<()> {
    let p = PathBuf::from(&path);
    let known = d.exports.lock().map(|x| x.contains(&p)).unwrap_or(false);
    let r = if known {
        app.opener()
            .reveal_item_in_dir(&p)
            .map_err(|e| IpcError::io(format!("cannot show {path}: {e}")))
    } else {
        Err(IpcError::invalid(
            "only files this app exported can be shown",
        ))
    };
    d.tap.result("reveal_path", r)
}

/// `LatencySummary` as the webview reads it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Calls.
    pub count: u64,
}

/// `MetricsSample`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSample {
    /// When.
    pub at_ms: u64,
    /// Gateway RSS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_rss_bytes: Option<u64>,
    /// Gateway CPU, % of a core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_cpu_percent: Option<f32>,
    /// Restarts so far.
    pub restarts_total: u64,
    /// Reconnects so far.
    pub reconnects_total: u64,
    /// Calls answered since the previous sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_latency: Option<Latency>,
}

/// `metrics_sample`: one reading, taken now (nothing samples between calls).
#[tauri::command]
pub async fn metrics_sample(d: State<'_, Desktop>) -> IpcResult<MetricsSample> {
    let r = async {
        let m = d
            .handle()
            .await?
            .metrics()
            .await
            .ok_or_else(IpcError::gone)?;
        let process = m
            .pid
            .and_then(|pid| d.sampler.lock().ok().and_then(|mut s| s.sample(pid)));
        Ok(MetricsSample {
            at_ms: wall_ms(),
            gateway_rss_bytes: process.map(|p| p.rss_bytes),
            gateway_cpu_percent: process.and_then(|p| p.cpu_percent),
            restarts_total: m.restarts_total,
            reconnects_total: m.connects_total.saturating_sub(m.spawns_total.max(1)),
            rpc_latency: m.latency.map(|l| Latency {
                p50_ms: l.p50_ms,
                p95_ms: l.p95_ms,
                max_ms: l.max_ms,
                count: l.count,
            }),
        })
    }
    .await;
    d.tap.result("metrics_sample", r)
}

/// `logs_read {query}`.
#[tauri::command]
pub async fn logs_read(d: State<'_, Desktop>, query: LogQuery) -> IpcResult<Vec<LogLine>> {
    let r = async {
        if !(1..=5000).contains(&query.limit) {
            return Err(IpcError::invalid("limit: 1–5000"));
        }
        if query.contains.as_ref().is_some_and(|c| c.len() > 200) {
            return Err(IpcError::invalid("filter: at most 200 characters"));
        }
        let dir = d.paths.log_dir.clone();
        tokio::task::spawn_blocking(move || logs::read(&dir, &query))
            .await
            .map_err(|e| IpcError::internal(e.to_string()))?
            .map_err(|e| IpcError::io(format!("cannot read the log: {e}")))
    }
    .await;
    d.tap.result("logs_read", r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{GatewayStatus, GovernorView};

    #[test]
    fn the_webview_view_has_no_port_and_typed_lines() {
        let export = json!({
            "journal": [{"atMs": 1, "event": {"type": "status", "phase": "running", "port": 40123, "reason": "up"}}],
            "counters": {"spawns": 2},
            "lastOutput": [{"stream": "stderr", "level": "warn", "text": "slow", "repeats": 0}]
        });
        let status: StatusView = StatusView {
            status: serde_json::from_value::<tether_supervisor::events::StatusEvent>(json!({
                "phase": "running", "headline": "running", "sinceMs": 1, "generation": 1,
                "reason": "", "owned": true, "gateway": "tether", "port": 40123
            }))
            .map(|s| GatewayStatus::from_event(&s, 5))
            .unwrap(),
            governor: GovernorView::from_snapshot(
                &serde_json::from_value(
                    json!({"state": "closed", "reason": "", "restartsInWindow": 0,
                    "windowMs": 1, "maxRestarts": 5, "openForMs": 0, "trips": 0, "executedTotal": 0,
                    "suppressedTotal": 0, "overrideAvailable": false}),
                )
                .unwrap(),
                5,
            ),
        };
        let v = serde_json::to_value(for_webview(&export, status, 9)).unwrap();
        assert!(!v.to_string().contains("40123"), "{v}");
        assert_eq!(
            v["lastOutput"][0],
            json!({"source": "gateway", "level": "warn", "text": "slow"})
        );
        assert_eq!(v["counters"]["spawns"], 2);
        assert_eq!(v["journal"][0]["event"]["reason"], "up");
    }
}
