//! `status_get`, `gateway_start`, `gateway_stop`, `gateway_restart`.

use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::bridge::wall_ms;
use crate::desktop::Desktop;
use crate::error::{IpcError, IpcResult};
use crate::view::StatusView;

/// `{message}`.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// What the supervisor said.
    pub message: String,
}

/// `status_get`.
#[tauri::command]
pub async fn status_get(d: State<'_, Desktop>) -> IpcResult<StatusView> {
    let r = match d.handle().await {
        Ok(h) => match h.status().await {
            Some(s) => Ok(StatusView::from_snapshot(&s, wall_ms())),
            None => Err(IpcError::gone()),
        },
        Err(_) => Ok(crate::window::unsupervised_view(&d)),
    };
    d.tap.result("status_get", r)
}

/// `gateway_start`: also (re)builds the supervisor when it could not be built before (a
/// gateway that was missing and is there now).
#[tauri::command]
pub async fn gateway_start<R: Runtime>(
    app: AppHandle<R>,
    d: State<'_, Desktop>,
) -> IpcResult<Message> {
    let r = async {
        if !d.supervising().await {
            crate::window::supervise(&app)
                .await
                .map_err(|e| IpcError::new(crate::error::ErrorCode::Refused, e))?;
            return Ok(Message {
                message: "starting".into(),
            });
        }
        let message = d.handle().await?.start().await?;
        Ok(Message { message })
    }
    .await;
    d.tap.result("gateway_start", r)
}

/// `gateway_stop`.
#[tauri::command]
pub async fn gateway_stop(d: State<'_, Desktop>) -> IpcResult<Message> {
    let r = async {
        let message = d.handle().await?.stop().await?;
        Ok(Message { message })
    }
    .await;
    d.tap.result("gateway_stop", r)
}

/// `gateway_restart {force}`.
#[tauri::command]
pub async fn gateway_restart(d: State<'_, Desktop>, force: bool) -> IpcResult<Message> {
    let r = async {
        let message = d.handle().await?.restart(force).await?;
        Ok(Message { message })
    }
    .await;
    d.tap.result("gateway_restart", r)
}
