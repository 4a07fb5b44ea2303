//! Methods: the one table of what exists and who may call it, and the routing to handlers.
//!
//! [`Method`] is the exhaustive list of implemented methods; [`Method::access`] is the only place a
//! method's required scope is declared (default-deny: a method without an explicit scope needs
//! `operator.admin`; `health` is open to everyone). [`authorize`] runs before any handler, and
//! [`call`] routes an authorized method to its handler with a [`CallContext`]. Adding a method means
//! adding a variant: the compiler then insists on its name, its scope and its handler. Handlers
//! answer by returning; a [`Responder`] can also send later responses with the same request id
//! (upstream's `agent` sends two).

use serde_json::Value;
use tether_protocol::methods::names;
use tether_protocol::{ErrorShape, Scope};

use crate::methods;
use crate::methods::call::CallContext;
use crate::methods::caller::Caller;

/// Every method this gateway implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `health`.
    Health,
    /// `status`.
    Status,
    /// `system-presence`.
    SystemPresence,
    /// `config.get`.
    ConfigGet,
    /// `config.patch`.
    ConfigPatch,
    /// `config.apply`.
    ConfigApply,
    /// `logs.tail`.
    LogsTail,
    /// `sessions.subscribe`.
    SessionsSubscribe,
    /// `sessions.unsubscribe`.
    SessionsUnsubscribe,
    /// `gateway.restart.request`.
    GatewayRestartRequest,
    /// `chat.send`.
    ChatSend,
    /// `chat.abort`.
    ChatAbort,
    /// `chat.history`.
    ChatHistory,
    /// `sessions.list`.
    SessionsList,
    /// `sessions.reset`.
    SessionsReset,
    /// `sessions.delete`.
    SessionsDelete,
    /// `agent` (two responses).
    Agent,
    /// `agent.wait`.
    AgentWait,
    /// `agents.list`.
    AgentsList,
    /// `models.list`.
    ModelsList,
    /// `exec.approval.resolve`.
    ExecApprovalResolve,
    /// `exec.approval.list`.
    ExecApprovalList,
}

/// Who may call a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone authenticated, whatever their scopes (`health`).
    Anyone,
    /// Holders of this scope (see [`Scope::is_satisfied_by`]).
    Scope(Scope),
}

impl Method {
    /// All methods, in the order `hello-ok` advertises them.
    pub const ALL: &'static [Method] = &[
        Method::Health,
        Method::Status,
        Method::SystemPresence,
        Method::ConfigGet,
        Method::ConfigPatch,
        Method::ConfigApply,
        Method::LogsTail,
        Method::SessionsSubscribe,
        Method::SessionsUnsubscribe,
        Method::GatewayRestartRequest,
        Method::ChatSend,
        Method::ChatAbort,
        Method::ChatHistory,
        Method::SessionsList,
        Method::SessionsReset,
        Method::SessionsDelete,
        Method::Agent,
        Method::AgentWait,
        Method::AgentsList,
        Method::ModelsList,
        Method::ExecApprovalResolve,
        Method::ExecApprovalList,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Health => names::HEALTH,
            Method::Status => names::STATUS,
            Method::SystemPresence => names::SYSTEM_PRESENCE,
            Method::ConfigGet => names::CONFIG_GET,
            Method::ConfigPatch => names::CONFIG_PATCH,
            Method::ConfigApply => names::CONFIG_APPLY,
            Method::LogsTail => names::LOGS_TAIL,
            Method::SessionsSubscribe => names::SESSIONS_SUBSCRIBE,
            Method::SessionsUnsubscribe => names::SESSIONS_UNSUBSCRIBE,
            Method::GatewayRestartRequest => names::GATEWAY_RESTART_REQUEST,
            Method::ChatSend => names::CHAT_SEND,
            Method::ChatAbort => names::CHAT_ABORT,
            Method::ChatHistory => names::CHAT_HISTORY,
            Method::SessionsList => names::SESSIONS_LIST,
            Method::SessionsReset => names::SESSIONS_RESET,
            Method::SessionsDelete => names::SESSIONS_DELETE,
            Method::Agent => names::AGENT,
            Method::AgentWait => names::AGENT_WAIT,
            Method::AgentsList => names::AGENTS_LIST,
            Method::ModelsList => names::MODELS_LIST,
            Method::ExecApprovalResolve => names::EXEC_APPROVAL_RESOLVE,
            Method::ExecApprovalList => names::EXEC_APPROVAL_LIST,
        }
    }

    /// The scope table (upstream's `method-scopes.ts` for these methods).
    pub fn access(self) -> Access {
        match self {
            Method::Health => Access::Anyone,
            Method::Status
            | Method::SystemPresence
            | Method::ConfigGet
            | Method::LogsTail
            | Method::SessionsSubscribe
            | Method::SessionsUnsubscribe
            | Method::ChatHistory
            | Method::SessionsList
            | Method::AgentsList
            | Method::ModelsList => Access::Scope(Scope::Read),
            Method::ChatSend | Method::ChatAbort | Method::Agent | Method::AgentWait => {
                Access::Scope(Scope::Write)
            }
            Method::ExecApprovalResolve | Method::ExecApprovalList => {
                Access::Scope(Scope::Approvals)
            }
            Method::ConfigPatch
            | Method::ConfigApply
            | Method::GatewayRestartRequest
            | Method::SessionsReset
            | Method::SessionsDelete => Access::Scope(Scope::Admin),
        }
    }

    /// Whether the method is still served while the gateway drains before a stop or restart.
    /// Methods that start work or change state are refused then; reads are served, and so are
    /// the calls that help a draining run end (`chat.abort`, approvals) or wait for it
    /// (`agent.wait`).
    pub fn served_while_draining(self) -> bool {
        matches!(
            self,
            Method::ChatAbort
                | Method::AgentWait
                | Method::ExecApprovalResolve
                | Method::ExecApprovalList
        ) || matches!(self.access(), Access::Anyone | Access::Scope(Scope::Read))
    }

    /// Looks a method up by wire name.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The names, for `hello-ok.features.methods`.
    pub fn advertised() -> Vec<String> {
        Method::ALL.iter().map(|m| m.name().to_owned()).collect()
    }
}

/// A refused call.
#[derive(Debug, Clone)]
pub struct Denied {
    /// The error to send.
    pub error: ErrorShape,
    /// It counts toward the unauthorized-call flood guard.
    pub unauthorized: bool,
}

/// Checks a call before any handler runs.
pub fn authorize(caller: &Caller, name: &str, draining: bool) -> Result<Method, Denied> {
    let Some(method) = Method::parse(name) else {
        return Err(if caller.is_admin() {
            Denied {
                error: ErrorShape::invalid_request(format!("unknown method: {name}")),
                unauthorized: false,
            }
        } else {
            Denied {
                error: ErrorShape::missing_scope(caller.protocol, Scope::Admin.as_str()),
                unauthorized: true,
            }
        });
    };
    if let Access::Scope(required) = method.access() {
        if !required.is_satisfied_by(&caller.scopes) {
            return Err(Denied {
                error: ErrorShape::missing_scope(caller.protocol, required.as_str()),
                unauthorized: true,
            });
        }
    }
    if draining && !method.served_while_draining() {
        let mut e = ErrorShape::unavailable(
            format!("{} unavailable: gateway is stopping", method.name()),
            crate::server::services::RESTART_EXPECTED.as_millis() as u64,
        );
        e.details = Some(serde_json::json!({"method": method.name(), "reason": "draining"}));
        return Err(Denied {
            error: e,
            unauthorized: false,
        });
    }
    Ok(method)
}

/// Runs an authorized method. The first response goes out when the handler returns, unless the
/// handler already answered through its [`Responder`].
pub async fn call(method: Method, ctx: CallContext, params: Value) {
    let responder = ctx.responder();
    let result = route(method, &ctx, params).await;
    if !responder.answered() {
        responder.respond(result);
    }
}

async fn route(method: Method, ctx: &CallContext, params: Value) -> Result<Value, ErrorShape> {
    // The handlers that need only the engine get only the engine.
    let engine = &ctx.services.engine();
    match method {
        Method::Health => methods::system::health(ctx, params).await,
        Method::Status => methods::system::status(ctx, params).await,
        Method::SystemPresence => methods::system::presence(ctx, params).await,
        Method::ConfigGet => methods::config::get(ctx, params).await,
        Method::ConfigPatch => methods::config::patch(ctx, params).await,
        Method::ConfigApply => methods::config::apply(ctx, params).await,
        Method::LogsTail => methods::logs::tail(ctx, params).await,
        Method::SessionsSubscribe => methods::sessions::subscribe(ctx, params, true).await,
        Method::SessionsUnsubscribe => methods::sessions::subscribe(ctx, params, false).await,
        Method::GatewayRestartRequest => methods::restart::request(ctx, params).await,
        Method::ChatSend => methods::chat::send(ctx, params).await,
        Method::ChatAbort => methods::chat::abort(ctx, params).await,
        Method::ChatHistory => methods::chat::history(ctx, params).await,
        Method::SessionsList => {
            methods::sessions::list(engine, &ctx.caller.for_engine(), params).await
        }
        Method::SessionsReset => {
            methods::sessions::reset(engine, &ctx.caller.for_engine(), params).await
        }
        Method::SessionsDelete => {
            methods::sessions::delete(engine, &ctx.caller.for_engine(), params).await
        }
        Method::Agent => methods::agent::agent(ctx, params).await,
        Method::AgentWait => methods::agent::wait(ctx, params).await,
        Method::AgentsList => methods::agent::agents_list(ctx, params).await,
        Method::ModelsList => methods::models::list(engine, &ctx.caller.for_engine(), params).await,
        Method::ExecApprovalResolve => {
            methods::approvals::resolve(engine, &ctx.caller.for_engine(), params).await
        }
        Method::ExecApprovalList => {
            methods::approvals::list(engine, &ctx.caller.for_engine(), params).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_protocol::{DetailCode, ErrorCode};

    fn caller(protocol: u32, scopes: &[Scope]) -> Caller {
        Caller {
            protocol,
            scopes: scopes.to_vec(),
            ..Caller::default()
        }
    }

    #[test]
    fn the_table_is_complete_and_default_deny() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(*m));
        }
        assert_eq!(Method::Health.access(), Access::Anyone);
        assert_eq!(Method::ConfigGet.access(), Access::Scope(Scope::Read));
        assert_eq!(Method::ConfigPatch.access(), Access::Scope(Scope::Admin));
        assert_eq!(Method::advertised().len(), Method::ALL.len());
        // The engine's methods, as upstream's method-scopes.ts.
        for (m, scope) in [
            ("chat.send", Scope::Write),
            ("chat.abort", Scope::Write),
            ("agent", Scope::Write),
            ("agent.wait", Scope::Write),
            ("chat.history", Scope::Read),
            ("sessions.list", Scope::Read),
            ("models.list", Scope::Read),
            ("agents.list", Scope::Read),
            ("sessions.reset", Scope::Admin),
            ("sessions.delete", Scope::Admin),
            ("exec.approval.resolve", Scope::Approvals),
            ("exec.approval.list", Scope::Approvals),
        ] {
            let method = Method::parse(m).unwrap();
            assert_eq!(method.access(), Access::Scope(scope), "{m}");
        }
    }

    #[test]
    fn authorization_before_dispatch() {
        let nobody = caller(4, &[]);
        assert_eq!(authorize(&nobody, "health", false).unwrap(), Method::Health);
        let d = authorize(&nobody, "status", false).unwrap_err();
        assert!(d.unauthorized);
        assert_eq!(d.error.code, ErrorCode::Forbidden);
        assert_eq!(d.error.detail_code(), Some(DetailCode::MissingScope));
        assert_eq!(d.error.message, "missing scope: operator.read");

        let v3 = caller(3, &[]);
        let d = authorize(&v3, "status", false).unwrap_err();
        assert_eq!(d.error.code, ErrorCode::InvalidRequest);
        assert_eq!(d.error.message, "missing scope: operator.read");

        let writer = caller(4, &[Scope::Write]);
        assert!(authorize(&writer, "status", false).is_ok());
        let d = authorize(&writer, "config.apply", false).unwrap_err();
        assert_eq!(d.error.message, "missing scope: operator.admin");

        // Unknown methods: non-admins see a missing admin scope, admins the real reason.
        let d = authorize(&writer, "no.such", false).unwrap_err();
        assert!(d.unauthorized);
        assert_eq!(d.error.message, "missing scope: operator.admin");
        let admin = caller(4, &[Scope::Admin]);
        let d = authorize(&admin, "no.such", false).unwrap_err();
        assert!(!d.unauthorized);
        assert_eq!(d.error.message, "unknown method: no.such");
        assert!(authorize(&admin, "config.apply", false).is_ok());
    }

    #[test]
    fn draining_refuses_state_changes_only() {
        let admin = caller(4, &[Scope::Admin]);
        assert!(authorize(&admin, "status", true).is_ok());
        assert!(authorize(&admin, "health", true).is_ok());
        let d = authorize(&admin, "config.patch", true).unwrap_err();
        assert_eq!(d.error.code, ErrorCode::Unavailable);
        assert_eq!(d.error.retryable, Some(true));
        assert!(!d.unauthorized);
        // No new runs while draining; aborting, approving and reading still work.
        assert!(authorize(&admin, "chat.send", true).is_err());
        assert!(authorize(&admin, "agent", true).is_err());
        assert!(authorize(&admin, "sessions.reset", true).is_err());
        for m in [
            "chat.abort",
            "agent.wait",
            "exec.approval.resolve",
            "chat.history",
        ] {
            assert!(authorize(&admin, m, true).is_ok(), "{m}");
        }
    }
}
