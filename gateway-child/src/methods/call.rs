//! What a handler gets: the call's context (caller, services) and its [`Responder`], which can
//! also answer later with the same request id.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tether_protocol::{ErrorShape, Frame, Response};

use crate::methods::caller::Caller;
use crate::server::services::Services;
use crate::socket::outbound::{Outbound, Pushed};

/// Sends responses for one request id on one connection. Cheap to clone; usable after the
/// handler returned (for a second, final response).
#[derive(Debug, Clone)]
pub struct Responder {
    id: Arc<str>,
    out: Arc<Outbound>,
    answered: Arc<AtomicBool>,
}

impl Responder {
    /// A responder for request `id` on `out`.
    pub fn new(id: &str, out: Arc<Outbound>) -> Self {
        Responder {
            id: Arc::from(id),
            out,
            answered: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends a response. Returns false when the connection is closing (or too slow).
    pub fn respond(&self, result: Result<Value, ErrorShape>) -> bool {
        let res = match result {
            Ok(payload) => Response::ok(&*self.id, payload),
            Err(e) => Response::err(&*self.id, e),
        };
        self.send(res)
    }

    /// Sends a response frame as built by the caller (e.g. `ok:false` with a payload).
    pub fn send(&self, mut res: Response) -> bool {
        self.answered.store(true, Ordering::SeqCst);
        (*self.id).clone_into(&mut res.id);
        matches!(
            self.out.push_text(Frame::Res(res).to_json()),
            Pushed::Queued(_)
        )
    }

    /// Whether a response was sent.
    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }
}

/// What a handler gets: who calls, the run's services, and the responder.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The caller.
    pub caller: Arc<Caller>,
    /// The run's shared services.
    pub services: Arc<Services>,
    responder: Responder,
}

impl CallContext {
    /// A context for one request.
    pub fn new(caller: Arc<Caller>, services: Arc<Services>, responder: Responder) -> Self {
        CallContext {
            caller,
            services,
            responder,
        }
    }

    /// The responder for this request (send now, or later).
    pub fn responder(&self) -> Responder {
        self.responder.clone()
    }

    /// The request id.
    pub fn request_id(&self) -> &str {
        self.responder.id()
    }
}
