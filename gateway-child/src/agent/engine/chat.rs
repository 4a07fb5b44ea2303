//! `chat.send`, `chat.abort`, `chat.history`, and starting runs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tether_protocol::chat::ChatState;
use tether_protocol::methods::{
    ChatAbortParams, ChatAbortResult, ChatHistory, ChatHistoryParams, ChatSendParams, RunAck,
    RunStatus,
};
use tether_protocol::session_key::SessionKey;
use tether_protocol::{ErrorShape, Map, Scope};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::agent::emit::SendTiming;
use crate::agent::run::{RunKind, RunSpec};
use crate::agent::runs::{ActiveRun, Lookup, RunOutcome};
use crate::agent::*;
use crate::process::clock::now_ms;

impl Engine {
    /// Registers and spawns a run; the returned sender releases it.
    pub(in crate::agent) fn start(
        &self,
        caller: &EngineCaller,
        spec: RunSpec,
    ) -> Result<(ActiveRun, oneshot::Sender<()>), Lookup> {
        let settings = self.inner.settings();
        self.evict_idle_sessions();
        let slot = match self.inner.sessions.get(&spec.key) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "session load failed");
                return Err(Lookup::Unknown);
            }
        };
        let (done_tx, done_rx) = watch::channel(None);
        let tool_conns = match (caller.conn, caller.tool_events) {
            (Some(c), true) => vec![c],
            _ => Vec::new(),
        };
        let active = ActiveRun {
            session_key: spec.key.to_string(),
            cancel: CancellationToken::new(),
            reason: Arc::new(Mutex::new(None)),
            owner_conn: caller.conn,
            owner_client: caller.client.clone(),
            tool_conns: Arc::new(Mutex::new(tool_conns)),
            done: done_rx,
            accepted_at: now_ms(),
        };
        self.inner.runs.insert(&spec.run_id, active.clone())?;
        // Counted until the run holds the session's run lock (decremented by the driver).
        slot.queued
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (release_tx, release_rx) = oneshot::channel();
        let inner = self.inner.clone();
        let a = active.clone();
        tracing::info!(
            run = %crate::process::logging::Clean(&spec.run_id),
            session = %spec.key,
            client = %crate::process::logging::Clean(&caller.client),
            "run accepted"
        );
        self.inner.tasks.spawn(run::drive(
            inner, spec, a, settings, slot, release_rx, done_tx,
        ));
        Ok((active, release_tx))
    }

    /// Looks a run id up in the registry, else in the session's transcript: a run of an earlier
    /// gateway generation or process (the registry does not survive a restart) is still the
    /// same run, so repeating its idempotency key after a restart never runs it twice. A
    /// recalled run is cached like a finished one.
    pub(in crate::agent) fn lookup_or_recall(&self, key: &SessionKey, run_id: &str) -> Lookup {
        match self.inner.runs.lookup(run_id) {
            Lookup::Unknown => match self.recall(key, run_id) {
                Some(o) => {
                    self.inner.runs.finish(run_id, o.clone());
                    Lookup::Done(o)
                }
                None => Lookup::Unknown,
            },
            found => found,
        }
    }

    /// Rebuilds a finished run's outcome from the session's transcript.
    pub(in crate::agent) fn recall(
        &self,
        key: &SessionKey,
        run_id: &str,
    ) -> Option<Arc<RunOutcome>> {
        let slot = self.inner.sessions.existing(key).ok()??;
        let s = slot.lock();
        let mut started_at = None;
        let mut ended_at = 0;
        let mut text = String::new();
        let mut stop: Option<String> = None;
        for m in s.msgs() {
            match m {
                transcript::Msg::User { run_id: r, ts, .. } if r == run_id => {
                    started_at = Some(*ts);
                    ended_at = *ts;
                }
                transcript::Msg::Assistant {
                    run_id: r,
                    ts,
                    text: t,
                    stop: st,
                    ..
                } if r == run_id => {
                    if !t.is_empty() {
                        if !text.is_empty() {
                            text.push_str("\n\n");
                        }
                        text.push_str(t);
                    }
                    if st.is_some() {
                        stop.clone_from(st);
                    }
                    ended_at = *ts;
                }
                _ => {}
            }
        }
        let started_at = started_at?;
        let state = match stop.as_deref() {
            None => ChatState::Final,
            Some("aborted") => ChatState::Aborted,
            Some(_) => ChatState::Error,
        };
        let error = (state == ChatState::Error)
            .then(|| format!("the run ended {}", stop.as_deref().unwrap_or("abnormally")));
        Some(Arc::new(RunOutcome {
            state,
            stop_reason: Some(stop.unwrap_or_else(|| "stop".into())),
            error,
            error_kind: None,
            text,
            started_at,
            ended_at,
            provider: None,
            model: None,
            session_id: Some(s.id.clone()),
            usage: None,
        }))
    }

    pub(in crate::agent) fn busy(&self, key: &SessionKey) -> Result<(), ErrorShape> {
        if let Ok(Some(slot)) = self.inner.sessions.existing(key) {
            let waiting = slot.queued.load(std::sync::atomic::Ordering::SeqCst);
            if waiting >= MAX_QUEUED_PER_SESSION {
                return Err(ErrorShape::unavailable(
                    format!("session {key} is busy: {waiting} runs are already queued"),
                    2000,
                ));
            }
        }
        Ok(())
    }

    pub(in crate::agent) fn cached_status(o: &RunOutcome) -> RunStatus {
        match o.state {
            ChatState::Final => RunStatus::Ok,
            ChatState::Aborted => RunStatus::Aborted,
            _ => RunStatus::Error,
        }
    }

    /// `chat.send`: validates, registers the run and returns `{runId, status:"started"}` (or
    /// the idempotent status). The run's events start when the [`Ack`] is dropped.
    pub async fn chat_send(
        &self,
        caller: &EngineCaller,
        params: ChatSendParams,
    ) -> Result<Ack<RunAck>, ErrorShape> {
        let timing = caller
            .conn
            .filter(|_| caller.operator_ui)
            .map(|conn| SendTiming::new(conn, Instant::now()));
        let key = parse_key(&params.session_key)?;
        let run_id = params.idempotency_key.trim().to_owned();
        if run_id.is_empty() || run_id.len() > 256 {
            return Err(ErrorShape::invalid_request(
                "idempotencyKey must be 1..256 characters",
            ));
        }
        let ack = |status| RunAck {
            run_id: run_id.clone(),
            status,
            summary: None,
            extra: Map::new(),
        };
        match self.lookup_or_recall(&key, &run_id) {
            Lookup::Active(_) => return Ok(Ack::new(ack(RunStatus::InFlight), None)),
            Lookup::Done(o) => return Ok(Ack::new(ack(Self::cached_status(&o)), None)),
            Lookup::Unknown => {}
        }
        if params.message.trim().is_empty() && params.attachments.as_ref().is_none_or(Vec::is_empty)
        {
            return Err(ErrorShape::invalid_request(
                "message or attachment required",
            ));
        }
        if params.message.len() > MAX_MESSAGE_BYTES {
            return Err(ErrorShape::invalid_request(format!(
                "message is larger than {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        if params.message.trim() == "/stop" {
            let r = self
                .chat_abort(
                    caller,
                    ChatAbortParams {
                        session_key: params.session_key.clone(),
                        run_id: None,
                        extra: Map::new(),
                    },
                )
                .await?;
            let mut a = ack(RunStatus::Ok);
            a.extra.insert("ok".into(), json!(true));
            a.extra.insert("aborted".into(), json!(r.aborted));
            a.extra.insert("runIds".into(), json!(r.run_ids));
            return Ok(Ack::new(a, None));
        }
        self.check_open()?;
        self.busy(&key)?;
        let settings = self.inner.settings();
        let timeout = params
            .timeout_ms
            .filter(|t| *t > 0)
            .map(Duration::from_millis)
            .unwrap_or(settings.run_timeout);
        let attachments = attachments::parse(params.attachments.as_deref())
            .map_err(ErrorShape::invalid_request)?;
        let spec = RunSpec {
            run_id: run_id.clone(),
            key,
            message: params.message,
            attachments: attachments.into(),
            kind: RunKind::Chat,
            timeout,
            extra_system_prompt: None,
            observer: None,
            model: None,
            timing: timing.clone(),
        };
        match self.start(caller, spec) {
            Ok((_, release)) => {
                let mut a = ack(RunStatus::Started);
                if let Some(t) = &timing {
                    // Upstream tells a UI client how long the gateway took to answer.
                    a.extra.insert(
                        "serverTiming".into(),
                        json!({"receivedToAckMs": t.received_ms()}),
                    );
                }
                Ok(Ack::new(a, Some(release)))
            }
            Err(Lookup::Active(_)) => Ok(Ack::new(ack(RunStatus::InFlight), None)),
            Err(Lookup::Done(o)) => Ok(Ack::new(ack(Self::cached_status(&o)), None)),
            Err(Lookup::Unknown) => Err(internal("could not open the session")),
        }
    }

    /// `chat.abort`: aborts the session's runs (or one of them). Only the connection or client
    /// that started a run, or an admin, may abort it.
    pub async fn chat_abort(
        &self,
        caller: &EngineCaller,
        params: ChatAbortParams,
    ) -> Result<ChatAbortResult, ErrorShape> {
        let key = parse_key(&params.session_key)?.to_string();
        let mut targets = self.inner.runs.active(Some(&key));
        if let Some(id) = &params.run_id {
            match self.inner.runs.lookup(id) {
                Lookup::Active(a) if a.session_key != key => {
                    return Err(ErrorShape::invalid_request(
                        "runId does not match sessionKey",
                    ))
                }
                Lookup::Done(_) | Lookup::Unknown => targets.clear(),
                Lookup::Active(_) => targets.retain(|(rid, _)| rid == id),
            }
        }
        let allowed = |a: &ActiveRun| {
            caller.has(Scope::Admin)
                || (caller.conn.is_some() && a.owner_conn == caller.conn)
                || a.owner_client == caller.client
        };
        if params.run_id.is_some() && targets.iter().any(|(_, a)| !allowed(a)) {
            return Err(ErrorShape::invalid_request("unauthorized"));
        }
        let mut run_ids = Vec::new();
        for (id, a) in targets {
            if allowed(&a) {
                a.stop("rpc");
                run_ids.push(id);
            }
        }
        // Wait for the terminal events so callers see them before the response.
        for id in &run_ids {
            if let Lookup::Active(a) = self.inner.runs.lookup(id) {
                let mut rx = a.done.clone();
                let _ = rx.wait_for(|o| o.is_some()).await;
            }
        }
        Ok(ChatAbortResult {
            ok: true,
            aborted: !run_ids.is_empty(),
            run_ids,
            extra: Map::new(),
        })
    }

    /// `chat.history`.
    pub async fn chat_history(
        &self,
        _caller: &EngineCaller,
        params: ChatHistoryParams,
    ) -> Result<ChatHistory, ErrorShape> {
        let key = parse_key(&params.session_key)?;
        let limit = params.limit.unwrap_or(HISTORY_DEFAULT_LIMIT);
        if !(1..=HISTORY_MAX_LIMIT).contains(&limit) {
            return Err(ErrorShape::invalid_request(format!(
                "limit must be 1..{HISTORY_MAX_LIMIT}"
            )));
        }
        let max_chars = match params.max_chars {
            Some(m) if !(1..=HISTORY_MAX_CHARS).contains(&m) => {
                return Err(ErrorShape::invalid_request(format!(
                    "maxChars must be 1..{HISTORY_MAX_CHARS}"
                )))
            }
            m => m.map(|m| m as usize),
        };
        let slot = self.inner.sessions.existing(&key).map_err(internal)?;
        let Some(slot) = slot else {
            return Ok(ChatHistory {
                session_key: key.to_string(),
                session_id: None,
                messages: Vec::new(),
                has_more: Some(false),
                total_messages: Some(0),
                extra: Map::new(),
            });
        };
        let (msgs, from, total, session_id) = {
            let s = slot.lock();
            let total = s.msgs().len();
            let from = total.saturating_sub(limit as usize);
            (s.msgs()[from..].to_vec(), from, total, s.id.clone())
        };
        let mut out = Vec::with_capacity(msgs.len());
        let mut bytes = 0usize;
        let mut has_more = total > msgs.len();
        for (i, m) in msgs.iter().enumerate().rev() {
            let mut chat = m.to_chat_at(&session_id, from + i + 1);
            if let Some(max) = max_chars {
                truncate_message(&mut chat, max);
            }
            let size = serde_json::to_vec(&chat).map(|v| v.len()).unwrap_or(0);
            if size > HISTORY_ENTRY_MAX_BYTES {
                chat = placeholder(&chat, size);
            }
            let size = serde_json::to_vec(&chat).map(|v| v.len()).unwrap_or(0);
            if bytes + size > HISTORY_TOTAL_MAX_BYTES {
                has_more = true;
                break;
            }
            bytes += size;
            out.push(chat);
        }
        out.reverse();
        Ok(ChatHistory {
            session_key: key.to_string(),
            session_id: Some(session_id),
            messages: out,
            has_more: Some(has_more),
            total_messages: Some(total as u64),
            extra: Map::new(),
        })
    }

    /// Starts a run for the HTTP endpoint with an observer; returns the run's cancel handle.
    pub(crate) fn start_observed(
        &self,
        key: SessionKey,
        message: String,
        observer: tokio::sync::mpsc::UnboundedSender<emit::Observed>,
    ) -> Result<ActiveRun, ErrorShape> {
        self.check_open()?;
        self.busy(&key)?;
        let run_id = format!("http-{}", uuid::Uuid::new_v4());
        let spec = RunSpec {
            run_id,
            key,
            message,
            attachments: Arc::from([]),
            kind: RunKind::Http,
            timeout: self.inner.settings().run_timeout,
            extra_system_prompt: None,
            observer: Some(observer),
            model: None,
            timing: None,
        };
        let caller = EngineCaller {
            conn: None,
            client: "http".into(),
            protocol: 4,
            tool_events: false,
            scopes: Vec::new(),
            operator_ui: false,
        };
        match self.start(&caller, spec) {
            Ok((a, release)) => {
                let _ = release.send(());
                Ok(a)
            }
            Err(_) => Err(internal("could not start the run")),
        }
    }
}

fn truncate_message(m: &mut tether_protocol::ChatMessage, max: usize) {
    use tether_protocol::MessageContent;
    let cut = |s: &mut String| {
        if s.chars().count() > max {
            let kept: String = s.chars().take(max).collect();
            *s = format!("{kept}\n…[truncated]");
        }
    };
    match &mut m.content {
        MessageContent::Text(t) => cut(t),
        MessageContent::Blocks(bs) => {
            for b in bs {
                if let Some(t) = &mut b.text {
                    cut(t);
                }
            }
        }
    }
}

fn placeholder(m: &tether_protocol::ChatMessage, size: usize) -> tether_protocol::ChatMessage {
    let mut extra = Map::new();
    extra.insert("omitted".into(), json!(true));
    // The placeholder stands for the message: same run, same place, same idempotency key.
    for k in ["runId", "idempotencyKey", "__openclaw"] {
        if let Some(v) = m.extra.get(k) {
            extra.insert(k.into(), v.clone());
        }
    }
    tether_protocol::ChatMessage {
        role: m.role.clone(),
        content: tether_protocol::MessageContent::Blocks(vec![
            tether_protocol::ContentBlock::text(format!(
                "[message omitted from history: {size} bytes]"
            )),
        ]),
        timestamp: m.timestamp,
        extra,
    }
}
