//! The per-run event emitter: builds `chat` and `agent` events with the run's `seq` and hands
//! them to the [`EventSink`] with the right audience.
//!
//! It owns the per-run sequence (starts at 1, +1 per `agent` event; a `chat` event carries the
//! seq of the agent event it accompanies), the audience rules (`stream:"tool"` only to the
//! `tool-events` connections registered for the run, plus `session.tool` to session
//! subscribers; everything else to all), droppability (chat deltas and `session.tool` only), and
//! the optional observer channel the HTTP endpoint reads, and the `chat.send_timing` steps a UI
//! client's own run reports to it ([`SendTiming`]). It must never write the transcript:
//! callers persist first and emit second, which is what makes a streamed delta crash-safe.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use serde_json::{json, Value};
use tether_protocol::agent::{AgentData, AgentEvent, AgentStream, LifecyclePhase, RunStatusData};
use tether_protocol::chat::{ChatEvent, ChatMessage, ChatState, ErrorKind};
use tether_protocol::events::names as events;
use tether_protocol::Map;
use tokio::sync::mpsc;

use crate::methods::bus::{Audience, ConnId, EventSink, OutEvent};
use crate::process::clock::now_ms;

/// What the HTTP endpoint hears about a run it started.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// A text increment.
    Delta(String),
    /// The run ended: `(state, final text, error message, error kind)`.
    End {
        /// `final`, `aborted` or `error`.
        state: ChatState,
        /// The whole assistant text.
        text: String,
        /// Error text.
        error: Option<String>,
        /// Error kind.
        kind: Option<ErrorKind>,
    },
}

/// The clock of one UI client's `chat.send`, for its `chat.send_timing` events: when the request
/// was received, when its answer went out and when the run's dispatch started. Upstream sends
/// these to operator UI clients only (its Control UI shows them in its timing view).
#[derive(Debug)]
pub struct SendTiming {
    conn: ConnId,
    received: Instant,
    acked: OnceLock<Instant>,
    dispatched: OnceLock<Instant>,
    first_assistant: AtomicBool,
}

impl SendTiming {
    /// A request received at `received` on connection `conn`.
    pub fn new(conn: ConnId, received: Instant) -> Arc<SendTiming> {
        Arc::new(SendTiming {
            conn,
            received,
            acked: OnceLock::new(),
            dispatched: OnceLock::new(),
            first_assistant: AtomicBool::new(false),
        })
    }

    /// The answer to `chat.send` went out (the first call counts).
    pub fn acked(&self) {
        let _ = self.acked.set(Instant::now());
    }

    /// How long ago the request was received, in ms (for the answer's `serverTiming`).
    pub fn received_ms(&self) -> f64 {
        ms(self.received.elapsed())
    }

    fn payload(
        &self,
        phase: &str,
        run: &str,
        key: &str,
        agent: &str,
    ) -> tether_protocol::events::ChatSendTiming {
        let now = Instant::now();
        tether_protocol::events::ChatSendTiming {
            phase: phase.into(),
            run_id: run.into(),
            session_key: key.into(),
            agent_id: agent.into(),
            ack_to_phase_ms: self
                .acked
                .get()
                .map(|a| ms(now.saturating_duration_since(*a))),
            received_to_phase_ms: ms(now.saturating_duration_since(self.received)),
            dispatch_started_to_phase_ms: self
                .dispatched
                .get()
                .map(|d| ms(now.saturating_duration_since(*d))),
            provider: None,
            model: None,
        }
    }
}

/// Milliseconds, to the microsecond (upstream rounds to 3 decimals).
fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Emits one run's events.
pub struct RunEmitter {
    run_id: String,
    session_key: String,
    agent_id: String,
    sink: Arc<dyn EventSink>,
    seq: AtomicU64,
    tool_conns: Arc<Mutex<Vec<ConnId>>>,
    observer: Option<mpsc::UnboundedSender<Observed>>,
    timing: Option<Arc<SendTiming>>,
}

impl std::fmt::Debug for RunEmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunEmitter")
            .field("run_id", &self.run_id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl RunEmitter {
    /// A new emitter at seq 0.
    pub fn new(
        run_id: String,
        session_key: String,
        agent_id: String,
        sink: Arc<dyn EventSink>,
        tool_conns: Arc<Mutex<Vec<ConnId>>>,
        observer: Option<mpsc::UnboundedSender<Observed>>,
    ) -> RunEmitter {
        RunEmitter {
            run_id,
            session_key,
            agent_id,
            sink,
            seq: AtomicU64::new(0),
            tool_conns,
            observer,
            timing: None,
        }
    }

    /// Reports this run's steps as `chat.send_timing` to the UI client that sent it.
    pub fn with_timing(mut self, timing: Option<Arc<SendTiming>>) -> RunEmitter {
        self.timing = timing;
        self
    }

    /// One `chat.send_timing` step, when this run has a [`SendTiming`]. `dispatch-started`
    /// also starts the dispatch clock.
    pub fn timing(&self, phase: &str, model: Option<(&str, &str)>) {
        let Some(t) = &self.timing else { return };
        if phase == "dispatch-started" {
            let _ = t.dispatched.set(Instant::now());
        }
        let mut payload = t.payload(phase, &self.run_id, &self.session_key, &self.agent_id);
        if let Some((p, m)) = model {
            payload.provider = Some(p.into());
            payload.model = Some(m.into());
        }
        self.sink.emit(
            OutEvent::Named {
                event: events::CHAT_SEND_TIMING,
                payload: serde_json::to_value(payload).unwrap_or(Value::Null),
            },
            Audience::Conn(t.conn),
            true,
        );
    }

    /// The timing steps an agent event marks: the run's start, its model, its first assistant
    /// output (text or a tool call).
    fn timing_for(&self, data: &AgentData) {
        let Some(t) = &self.timing else { return };
        match data {
            AgentData::Lifecycle(l) if l.phase == LifecyclePhase::Start => {
                self.timing("agent-run-started", None);
            }
            AgentData::Lifecycle(l) if l.phase == LifecyclePhase::Model => {
                let provider = l.provider.as_ref().map(String::as_str).unwrap_or_default();
                let model = l.model.as_ref().map(String::as_str).unwrap_or_default();
                self.timing("model-selected", Some((provider, model)));
            }
            AgentData::Assistant(_) | AgentData::Tool(_)
                if !t.first_assistant.swap(true, Ordering::SeqCst) =>
            {
                self.timing("first-assistant-event", None);
            }
            _ => {}
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The seq of the last agent event (0 before the first).
    pub fn current_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Emits an agent event; returns its seq.
    pub fn agent(&self, data: AgentData) -> u64 {
        self.timing_for(&data);
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut ev = AgentEvent::new(&self.run_id, seq, now_ms(), &self.session_key, data);
        ev.agent_id = Some(self.agent_id.clone());
        if ev.stream == AgentStream::Tool {
            let conns = self
                .tool_conns
                .lock()
                .map(|c| c.clone())
                .unwrap_or_default();
            let mut session_tool = serde_json::to_value(&ev).unwrap_or(Value::Null);
            self.sink
                .emit(OutEvent::Agent(ev), Audience::ToolEventsOf(conns), false);
            if let Value::Object(m) = &mut session_tool {
                m.insert("sessionKey".into(), json!(self.session_key));
            }
            self.sink.emit(
                OutEvent::Named {
                    event: events::SESSION_TOOL,
                    payload: session_tool,
                },
                Audience::SessionSubscribers,
                true,
            );
        } else {
            self.sink.emit(OutEvent::Agent(ev), Audience::All, false);
        }
        seq
    }

    fn chat(&self, mut ev: ChatEvent, droppable: bool) {
        ev.seq = Some(self.current_seq());
        ev.agent_id = Some(self.agent_id.clone());
        self.sink.emit(OutEvent::Chat(ev), Audience::All, droppable);
    }

    fn base(&self, state: ChatState) -> ChatEvent {
        ChatEvent::new(&self.run_id, &self.session_key, state)
    }

    /// v4 preparation phase: `chat {state:"status", phase}` then `agent run_status`, one seq.
    pub fn status(&self, phase: &str) {
        let mut ev = self.base(ChatState::Status);
        ev.phase = Some(phase.into());
        ev.seq = Some(self.current_seq() + 1);
        ev.agent_id = Some(self.agent_id.clone());
        self.sink.emit(OutEvent::Chat(ev), Audience::All, false);
        self.agent(AgentData::RunStatus(RunStatusData {
            phase: phase.into(),
            extra: Map::new(),
        }));
    }

    /// A streamed text increment: `agent assistant` then `chat delta`.
    pub fn text_delta(&self, delta: &str, cumulative: &str, item_id: &str) {
        let mut extra = Map::new();
        extra.insert("itemId".into(), json!(item_id));
        self.agent(AgentData::Assistant(
            tether_protocol::agent::AssistantData {
                text: Some(cumulative.into()),
                delta: Some(delta.into()),
                replace: None,
                extra,
            },
        ));
        let mut ev = self.base(ChatState::Delta);
        ev.delta_text = Some(delta.into());
        ev.message = Some(ChatMessage::assistant_text(cumulative, now_ms()));
        self.chat(ev, true);
        if let Some(o) = &self.observer {
            let _ = o.send(Observed::Delta(delta.into()));
        }
    }

    /// Terminal `chat final`.
    pub fn chat_final(&self, text: &str, stop_reason: &str) {
        let mut ev = self.base(ChatState::Final);
        ev.stop_reason = Some(stop_reason.into());
        if !text.is_empty() {
            ev.message = Some(ChatMessage::assistant_text(text, now_ms()));
        }
        self.chat(ev, false);
        self.observe_end(ChatState::Final, text, None, None);
    }

    /// Terminal `chat aborted`, with the partial text if any.
    pub fn chat_aborted(&self, text: &str, stop_reason: &str) {
        let mut ev = self.base(ChatState::Aborted);
        ev.stop_reason = Some(stop_reason.into());
        if !text.is_empty() {
            ev.message = Some(ChatMessage::assistant_text(text, now_ms()));
        }
        self.chat(ev, false);
        self.observe_end(ChatState::Aborted, text, Some(stop_reason.into()), None);
    }

    /// Terminal `chat error`.
    pub fn chat_error(&self, text: &str, message: &str, kind: ErrorKind) {
        let mut ev = self.base(ChatState::Error);
        ev.error_message = Some(message.into());
        ev.error_kind = Some(kind.clone());
        self.chat(ev, false);
        self.observe_end(ChatState::Error, text, Some(message.into()), Some(kind));
    }

    fn observe_end(
        &self,
        state: ChatState,
        text: &str,
        error: Option<String>,
        kind: Option<ErrorKind>,
    ) {
        if let Some(o) = &self.observer {
            let _ = o.send(Observed::End {
                state,
                text: text.into(),
                error,
                kind,
            });
        }
    }

    /// Any other event.
    pub fn named(&self, event: &'static str, payload: Value, audience: Audience, droppable: bool) {
        self.sink
            .emit(OutEvent::Named { event, payload }, audience, droppable);
    }
}
