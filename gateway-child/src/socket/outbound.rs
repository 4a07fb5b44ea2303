//! The outbound side of one WebSocket: a bounded queue and the writer task that drains it.
//!
//! The hub, handlers and the connection's reader only ever **enqueue** (a short mutex, never an
//! await), so one stalled peer can never slow anyone else. The queue is budgeted in bytes
//! (`policy.maxBufferedBytes`): above the budget a droppable event is skipped and anything else
//! turns the connection into a slow consumer (queue dropped, close 1008 "slow consumer"). Events
//! get their per-connection `seq` here, at the moment they are actually enqueued, so the sequence a
//! client sees is contiguous. Once any close is requested the writer has a grace period to flush
//! and send the close frame, then the socket is dropped regardless.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fastwebsockets::{Frame, Payload, WebSocketError, WebSocketWrite};
use tokio::io::AsyncWrite;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use tether_protocol::close;

/// Grace for a slow consumer to take its close frame.
pub const SLOW_CONSUMER_GRACE: Duration = Duration::from_secs(5);
/// Grace for a normal close (shutdown, restart, handshake failure) to flush.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Bytes counted per event on top of its body (the `seq` suffix).
const SEQ_OVERHEAD: usize = 24;

/// A frame waiting to be written.
#[derive(Debug)]
enum Item {
    /// A complete text frame (responses, the challenge).
    Text(String),
    /// An event body without its closing brace, plus this connection's seq.
    Event { body: Arc<str>, seq: u64 },
    /// A pong answering a ping.
    Pong(Vec<u8>),
}

impl Item {
    fn cost(&self) -> usize {
        match self {
            Item::Text(t) => t.len(),
            Item::Event { body, .. } => body.len() + SEQ_OVERHEAD,
            Item::Pong(p) => p.len(),
        }
    }
}

/// A close the writer will send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Close code.
    pub code: u16,
    /// Reason (at most 120 bytes).
    pub reason: String,
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued (events: with this seq).
    Queued(u64),
    /// A droppable event was skipped because the queue is over budget.
    Skipped,
    /// This push made the connection a slow consumer; it is being closed.
    SlowConsumer,
    /// The connection is already closing; nothing was queued.
    Closed,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Item>,
    bytes: usize,
    seq: u64,
    close: Option<CloseFrame>,
    grace: Duration,
    /// The peer is gone: stop without writing anything more.
    abandoned: bool,
}

/// One connection's outbound queue. Shared by the hub, the reader, handlers and the writer.
#[derive(Debug)]
pub struct Outbound {
    conn: u64,
    state: Mutex<State>,
    wake: Notify,
    budget: usize,
    closing: CancellationToken,
}

enum Next {
    Items(Vec<Item>),
    Close(CloseFrame),
    Done,
}

impl Outbound {
    /// An empty queue with a byte budget, for connection `conn` (named in logs).
    pub fn new(budget: usize, conn: u64) -> Arc<Self> {
        Arc::new(Outbound {
            conn,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                seq: 0,
                close: None,
                grace: CLOSE_GRACE,
                abandoned: false,
            }),
            wake: Notify::new(),
            budget,
            closing: CancellationToken::new(),
        })
    }

    /// The connection this queue belongs to.
    pub fn conn_id(&self) -> u64 {
        self.conn
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, make: impl FnOnce(u64) -> Item, droppable: bool, counts_seq: bool) -> Pushed {
        let mut st = self.lock();
        if st.close.is_some() {
            return Pushed::Closed;
        }
        let seq = if counts_seq { st.seq + 1 } else { 0 };
        let item = make(seq);
        let cost = item.cost();
        if st.bytes + cost > self.budget {
            if droppable {
                return Pushed::Skipped;
            }
            st.queue.clear();
            st.bytes = 0;
            st.close = Some(CloseFrame {
                code: close::POLICY,
                reason: close::REASON_SLOW_CONSUMER.to_owned(),
            });
            st.grace = SLOW_CONSUMER_GRACE;
            drop(st);
            warn!(
                conn = self.conn,
                budget = self.budget,
                "closing slow consumer: outbound queue over budget"
            );
            self.closing.cancel();
            self.wake.notify_one();
            return Pushed::SlowConsumer;
        }
        if counts_seq {
            st.seq = seq;
        }
        st.bytes += cost;
        st.queue.push_back(item);
        drop(st);
        self.wake.notify_one();
        Pushed::Queued(seq)
    }

    /// Enqueues a complete text frame (a response): never dropped, so over budget it closes.
    pub fn push_text(&self, text: String) -> Pushed {
        self.push(|_| Item::Text(text), false, false)
    }

    /// Enqueues an event body (serialized without its final `}`), assigning the next seq.
    pub fn push_event(&self, body: &Arc<str>, droppable: bool) -> Pushed {
        self.push(
            |seq| Item::Event {
                body: Arc::clone(body),
                seq,
            },
            droppable,
            true,
        )
    }

    /// Enqueues a pong (dropped when over budget).
    pub fn push_pong(&self, payload: Vec<u8>) -> Pushed {
        self.push(|_| Item::Pong(payload), true, false)
    }

    /// Requests a close. With `flush`, queued frames go out first; without, they are dropped.
    /// The first close requested wins.
    pub fn close(&self, code: u16, reason: &str, flush: bool) {
        let mut st = self.lock();
        if st.close.is_some() {
            return;
        }
        if !flush {
            st.queue.clear();
            st.bytes = 0;
        }
        st.close = Some(CloseFrame {
            code,
            reason: close::truncate_reason(reason).to_owned(),
        });
        drop(st);
        self.closing.cancel();
        self.wake.notify_one();
    }

    /// The peer went away without a close: unless a close is already under way, the writer
    /// stops at once and nothing more is queued.
    pub fn abandon(&self) {
        let mut st = self.lock();
        if st.close.is_some() {
            return;
        }
        st.abandoned = true;
        st.queue.clear();
        st.bytes = 0;
        st.close = Some(CloseFrame {
            code: close::NORMAL,
            reason: String::new(),
        });
        drop(st);
        self.closing.cancel();
        self.wake.notify_one();
    }

    /// The close requested, if any.
    pub fn close_requested(&self) -> Option<CloseFrame> {
        self.lock().close.clone()
    }

    /// Resolves once a close has been requested.
    pub async fn closing(&self) {
        self.closing.cancelled().await;
    }

    /// The last seq assigned.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Bytes waiting in the queue.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    async fn next(&self) -> Next {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if st.abandoned {
                    return Next::Done;
                }
                if !st.queue.is_empty() {
                    let n = st.queue.len().min(64);
                    let batch: Vec<Item> = st.queue.drain(..n).collect();
                    let cost: usize = batch.iter().map(Item::cost).sum();
                    st.bytes -= cost;
                    return Next::Items(batch);
                }
                if let Some(c) = &st.close {
                    return Next::Close(c.clone());
                }
            }
            notified.await;
        }
    }

    fn grace(&self) -> Duration {
        self.lock().grace
    }

    /// How long the writer may take to deliver a requested close.
    pub fn close_grace(&self) -> Duration {
        self.grace()
    }
}

/// Drains `out` into the socket until a close is sent, the grace after a close request runs
/// out, the peer goes away, or `kill` fires.
pub async fn write_loop<W>(out: Arc<Outbound>, mut ws: WebSocketWrite<W>, kill: CancellationToken)
where
    W: AsyncWrite + Unpin,
{
    let grace_expired = async {
        out.closing().await;
        tokio::time::sleep(out.grace()).await;
    };
    tokio::select! {
        biased;
        () = kill.cancelled() => {}
        () = grace_expired => {}
        _ = pump(&out, &mut ws) => {}
    }
}

async fn pump<W: AsyncWrite + Unpin>(
    out: &Outbound,
    ws: &mut WebSocketWrite<W>,
) -> Result<(), WebSocketError> {
    let mut scratch = Vec::new();
    loop {
        match out.next().await {
            Next::Items(items) => {
                for item in items {
                    let frame = match item {
                        Item::Text(t) => Frame::text(Payload::Owned(t.into_bytes())),
                        Item::Event { body, seq } => {
                            scratch.clear();
                            scratch.extend_from_slice(body.as_bytes());
                            scratch.extend_from_slice(b",\"seq\":");
                            scratch.extend_from_slice(seq.to_string().as_bytes());
                            scratch.push(b'}');
                            Frame::text(Payload::Borrowed(&scratch))
                        }
                        Item::Pong(p) => Frame::pong(Payload::Owned(p)),
                    };
                    ws.write_frame(frame).await?;
                }
                if out.lock().queue.is_empty() {
                    ws.flush().await?;
                }
            }
            Next::Close(c) => {
                ws.write_frame(Frame::close(c.code, c.reason.as_bytes()))
                    .await?;
                ws.flush().await?;
                return Ok(());
            }
            Next::Done => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn seq_is_contiguous_over_what_was_actually_queued() {
        let out = Outbound::new(200, 1);
        let small = body("{\"type\":\"event\",\"event\":\"tick\"");
        assert_eq!(out.push_event(&small, true), Pushed::Queued(1));
        assert_eq!(out.push_event(&small, true), Pushed::Queued(2));
        let big = body(&"x".repeat(150));
        // Skipped events do not consume a seq.
        assert_eq!(out.push_event(&big, true), Pushed::Skipped);
        assert_eq!(out.push_event(&small, true), Pushed::Queued(3));
        assert_eq!(out.seq(), 3);
    }

    #[test]
    fn a_non_droppable_overflow_makes_a_slow_consumer() {
        let out = Outbound::new(100, 1);
        assert_eq!(out.push_text("a".repeat(60)), Pushed::Queued(0));
        assert_eq!(out.push_text("b".repeat(60)), Pushed::SlowConsumer);
        assert_eq!(out.queued_bytes(), 0);
        assert_eq!(
            out.close_requested(),
            Some(CloseFrame {
                code: 1008,
                reason: "slow consumer".into()
            })
        );
        assert_eq!(out.push_text("c".into()), Pushed::Closed);
    }

    #[test]
    fn the_first_close_wins_and_reasons_are_cut() {
        let out = Outbound::new(1000, 1);
        out.close(1012, &"r".repeat(300), true);
        out.close(1000, "", false);
        let c = out.close_requested().unwrap();
        assert_eq!(c.code, 1012);
        assert_eq!(c.reason.len(), 120);
    }

    #[tokio::test]
    async fn next_yields_items_then_the_close() {
        let out = Outbound::new(1000, 1);
        out.push_text("one".into());
        out.close(1000, "bye", true);
        match out.next().await {
            Next::Items(items) => assert_eq!(items.len(), 1),
            Next::Close(_) | Next::Done => panic!("items first"),
        }
        match out.next().await {
            Next::Close(c) => assert_eq!(c.reason, "bye"),
            Next::Items(_) | Next::Done => panic!("close next"),
        }
        // Abandoning after a close changes nothing; before one, it stops the writer.
        out.abandon();
        assert!(matches!(out.next().await, Next::Close(_)));
        let gone = Outbound::new(1000, 2);
        gone.push_text("lost".into());
        gone.abandon();
        assert!(matches!(gone.next().await, Next::Done));
    }
}
