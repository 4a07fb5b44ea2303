//! Methods: the one table of what exists and who may call it, and the routing to handlers.
//!
//! [`Method`] is the exhaustive list of served methods; [`Method::access`] is the only place a
//! served method's required scope is declared (`health` is open to everyone), and a test holds it
//! to upstream's. Every other method upstream OpenClaw defines is in [`upstream::METHODS`] with
//! upstream's scope: it is authorized the same way and answered `UNAVAILABLE` with
//! `details.code: UNSUPPORTED` naming the feature Tether's gateway does not have. A name in
//! neither table is `unknown method` for every client. `hello-ok` advertises the served methods
//! upstream advertises too ([`Method::advertised`]). [`authorize`] runs before any handler,
//! and [`call`] routes an authorized call with a [`CallContext`]. Adding a method means adding a
//! variant: the compiler then insists on its name, its scope and its handler. Handlers answer by
//! returning; a [`Responder`] can also send later responses with the same request id (upstream's
//! `agent` sends two).

use serde_json::Value;
use tether_protocol::methods::names;
use tether_protocol::{ErrorShape, Scope};

use crate::methods;
use crate::methods::call::CallContext;
use crate::methods::caller::Caller;
use crate::methods::upstream::{self, Requires, UpstreamMethod};

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
    /// `sessions.create`.
    SessionsCreate,
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
    /// `chat.startup`.
    ChatStartup,
    /// `chat.metadata`.
    ChatMetadata,
    /// `agent.identity.get`.
    AgentIdentityGet,
    /// `tools.effective`.
    ToolsEffective,
    /// `sessions.describe`.
    SessionsDescribe,
    /// `sessions.messages.subscribe`.
    SessionsMessagesSubscribe,
    /// `sessions.messages.unsubscribe`.
    SessionsMessagesUnsubscribe,
    /// `sessions.observer.visibility`.
    SessionsObserverVisibility,
    /// `sessions.branches.list`.
    SessionsBranchesList,
    /// `sessions.companion.state`.
    SessionsCompanionState,
    /// `models.authStatus`.
    ModelsAuthStatus,
    /// `commands.list`.
    CommandsList,
    /// `system.info`.
    SystemInfo,
    /// `environments.list`.
    EnvironmentsList,
    /// `artifacts.list`.
    ArtifactsList,
    /// `usage.status`.
    UsageStatus,
    /// `last-heartbeat`.
    LastHeartbeat,
    /// `question.list`.
    QuestionList,
    /// `plugin.approval.list`.
    PluginApprovalList,
    /// `openclaw.approval.list`.
    OpenclawApprovalList,
    /// `tasks.list`.
    TasksList,
    /// `progressCard.get`.
    ProgressCardGet,
    /// `talk.catalog`.
    TalkCatalog,
    /// `cron.list`.
    CronList,
    /// `cron.status`.
    CronStatus,
    /// `cron.runs`.
    CronRuns,
    /// `node.list`.
    NodeList,
    /// `channels.status`.
    ChannelsStatus,
    /// `channels.pairing.list`.
    ChannelsPairingList,
    /// `plugins.list`.
    PluginsList,
    /// `skills.status`.
    SkillsStatus,
    /// `skills.library.list`.
    SkillsLibraryList,
    /// `approval.history`.
    ApprovalHistory,
    /// `exec.approvals.get`.
    ExecApprovalsGet,
    /// `sessions.usage`.
    SessionsUsage,
    /// `diagnostics.lanes`.
    DiagnosticsLanes,
    /// `transcripts.list`.
    TranscriptsList,
    /// `themes.list`.
    ThemesList,
    /// `tools.github.status`.
    ToolsGithubStatus,
    /// `device.pair.list`.
    DevicePairList,
    /// `webSearch.status`.
    WebSearchStatus,
    /// `doctor.memory.status`.
    DoctorMemoryStatus,
    /// `update.status`.
    UpdateStatus,
    /// `plugins.catalog.browse`.
    PluginsCatalogBrowse,
    /// `exec.approval.grants.list`.
    ExecApprovalGrantsList,
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
        Method::SessionsCreate,
        Method::Agent,
        Method::AgentWait,
        Method::AgentsList,
        Method::ModelsList,
        Method::ExecApprovalResolve,
        Method::ExecApprovalList,
        Method::ChatStartup,
        Method::ChatMetadata,
        Method::AgentIdentityGet,
        Method::ToolsEffective,
        Method::SessionsDescribe,
        Method::SessionsMessagesSubscribe,
        Method::SessionsMessagesUnsubscribe,
        Method::SessionsObserverVisibility,
        Method::SessionsBranchesList,
        Method::SessionsCompanionState,
        Method::ModelsAuthStatus,
        Method::CommandsList,
        Method::SystemInfo,
        Method::EnvironmentsList,
        Method::ArtifactsList,
        Method::UsageStatus,
        Method::LastHeartbeat,
        Method::QuestionList,
        Method::PluginApprovalList,
        Method::OpenclawApprovalList,
        Method::TasksList,
        Method::ProgressCardGet,
        Method::TalkCatalog,
        Method::CronList,
        Method::CronStatus,
        Method::CronRuns,
        Method::NodeList,
        Method::ChannelsStatus,
        Method::ChannelsPairingList,
        Method::PluginsList,
        Method::SkillsStatus,
        Method::SkillsLibraryList,
        Method::ApprovalHistory,
        Method::ExecApprovalsGet,
        Method::SessionsUsage,
        Method::DiagnosticsLanes,
        Method::TranscriptsList,
        Method::ThemesList,
        Method::ToolsGithubStatus,
        Method::DevicePairList,
        Method::WebSearchStatus,
        Method::DoctorMemoryStatus,
        Method::UpdateStatus,
        Method::PluginsCatalogBrowse,
        Method::ExecApprovalGrantsList,
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
            Method::SessionsCreate => names::SESSIONS_CREATE,
            Method::Agent => names::AGENT,
            Method::AgentWait => names::AGENT_WAIT,
            Method::AgentsList => names::AGENTS_LIST,
            Method::ModelsList => names::MODELS_LIST,
            Method::ExecApprovalResolve => names::EXEC_APPROVAL_RESOLVE,
            Method::ExecApprovalList => names::EXEC_APPROVAL_LIST,
            Method::ChatStartup => names::CHAT_STARTUP,
            Method::ChatMetadata => names::CHAT_METADATA,
            Method::AgentIdentityGet => names::AGENT_IDENTITY_GET,
            Method::ToolsEffective => names::TOOLS_EFFECTIVE,
            Method::SessionsDescribe => names::SESSIONS_DESCRIBE,
            Method::SessionsMessagesSubscribe => names::SESSIONS_MESSAGES_SUBSCRIBE,
            Method::SessionsMessagesUnsubscribe => names::SESSIONS_MESSAGES_UNSUBSCRIBE,
            Method::SessionsObserverVisibility => names::SESSIONS_OBSERVER_VISIBILITY,
            Method::SessionsBranchesList => names::SESSIONS_BRANCHES_LIST,
            Method::SessionsCompanionState => names::SESSIONS_COMPANION_STATE,
            Method::ModelsAuthStatus => names::MODELS_AUTH_STATUS,
            Method::CommandsList => names::COMMANDS_LIST,
            Method::SystemInfo => names::SYSTEM_INFO,
            Method::EnvironmentsList => names::ENVIRONMENTS_LIST,
            Method::ArtifactsList => names::ARTIFACTS_LIST,
            Method::UsageStatus => names::USAGE_STATUS,
            Method::LastHeartbeat => names::LAST_HEARTBEAT,
            Method::QuestionList => names::QUESTION_LIST,
            Method::PluginApprovalList => names::PLUGIN_APPROVAL_LIST,
            Method::OpenclawApprovalList => names::OPENCLAW_APPROVAL_LIST,
            Method::TasksList => names::TASKS_LIST,
            Method::ProgressCardGet => names::PROGRESS_CARD_GET,
            Method::TalkCatalog => names::TALK_CATALOG,
            Method::CronList => names::CRON_LIST,
            Method::CronStatus => names::CRON_STATUS,
            Method::CronRuns => names::CRON_RUNS,
            Method::NodeList => names::NODE_LIST,
            Method::ChannelsStatus => names::CHANNELS_STATUS,
            Method::ChannelsPairingList => names::CHANNELS_PAIRING_LIST,
            Method::PluginsList => names::PLUGINS_LIST,
            Method::SkillsStatus => names::SKILLS_STATUS,
            Method::SkillsLibraryList => names::SKILLS_LIBRARY_LIST,
            Method::ApprovalHistory => names::APPROVAL_HISTORY,
            Method::ExecApprovalsGet => names::EXEC_APPROVALS_GET,
            Method::SessionsUsage => names::SESSIONS_USAGE,
            Method::DiagnosticsLanes => names::DIAGNOSTICS_LANES,
            Method::TranscriptsList => names::TRANSCRIPTS_LIST,
            Method::ThemesList => names::THEMES_LIST,
            Method::ToolsGithubStatus => names::TOOLS_GITHUB_STATUS,
            Method::DevicePairList => names::DEVICE_PAIR_LIST,
            Method::WebSearchStatus => names::WEB_SEARCH_STATUS,
            Method::DoctorMemoryStatus => names::DOCTOR_MEMORY_STATUS,
            Method::UpdateStatus => names::UPDATE_STATUS,
            Method::PluginsCatalogBrowse => names::PLUGINS_CATALOG_BROWSE,
            Method::ExecApprovalGrantsList => names::EXEC_APPROVAL_GRANTS_LIST,
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
            | Method::ModelsList
            | Method::ChatStartup
            | Method::ChatMetadata
            | Method::AgentIdentityGet
            | Method::ToolsEffective
            | Method::SessionsDescribe
            | Method::SessionsMessagesSubscribe
            | Method::SessionsMessagesUnsubscribe
            | Method::SessionsObserverVisibility
            | Method::SessionsBranchesList
            | Method::SessionsCompanionState
            | Method::ModelsAuthStatus
            | Method::CommandsList
            | Method::SystemInfo
            | Method::EnvironmentsList
            | Method::ArtifactsList
            | Method::UsageStatus
            | Method::LastHeartbeat
            | Method::TasksList
            | Method::ProgressCardGet
            | Method::TalkCatalog
            | Method::CronList
            | Method::CronStatus
            | Method::CronRuns
            | Method::NodeList
            | Method::ChannelsStatus
            | Method::PluginsList
            | Method::SkillsStatus
            | Method::SkillsLibraryList
            | Method::SessionsUsage
            | Method::DiagnosticsLanes
            | Method::TranscriptsList
            | Method::ThemesList
            | Method::ToolsGithubStatus
            | Method::WebSearchStatus
            | Method::DoctorMemoryStatus
            | Method::PluginsCatalogBrowse => Access::Scope(Scope::Read),
            // `sessions.create` is dynamic upstream: admin for the options Tether refuses anyway
            // (incognito, tool overrides, permission modes), write otherwise.
            Method::ChatSend
            | Method::ChatAbort
            | Method::Agent
            | Method::AgentWait
            | Method::SessionsCreate => Access::Scope(Scope::Write),
            Method::ExecApprovalResolve
            | Method::ExecApprovalList
            | Method::PluginApprovalList
            | Method::OpenclawApprovalList
            | Method::ApprovalHistory
            | Method::ExecApprovalGrantsList => Access::Scope(Scope::Approvals),
            Method::QuestionList => Access::Scope(Scope::Questions),
            Method::ChannelsPairingList | Method::DevicePairList => Access::Scope(Scope::Pairing),
            Method::ConfigPatch
            | Method::ConfigApply
            | Method::GatewayRestartRequest
            | Method::SessionsReset
            | Method::SessionsDelete
            | Method::ExecApprovalsGet
            | Method::UpdateStatus => Access::Scope(Scope::Admin),
        }
    }

    /// Whether the method is still served while the gateway drains before a stop or restart.
    /// Methods that start work or change state are refused then; reads are served (whatever
    /// scope they need), and so are the calls that help a draining run end (`chat.abort`,
    /// approvals) or wait for it (`agent.wait`).
    pub fn served_while_draining(self) -> bool {
        matches!(
            self,
            Method::ChatAbort
                | Method::AgentWait
                | Method::ExecApprovalResolve
                | Method::ExecApprovalList
                | Method::PluginApprovalList
                | Method::OpenclawApprovalList
                | Method::QuestionList
                | Method::ChannelsPairingList
                | Method::ApprovalHistory
                | Method::ExecApprovalGrantsList
                | Method::DevicePairList
                | Method::ExecApprovalsGet
                | Method::UpdateStatus
        ) || matches!(self.access(), Access::Anyone | Access::Scope(Scope::Read))
    }

    /// Looks a method up by wire name.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// The names, for `hello-ok.features.methods`: every served method upstream advertises
    /// too (upstream serves a few without advertising them, e.g. `sessions.usage`, and its
    /// clients call those regardless).
    pub fn advertised() -> Vec<String> {
        Method::ALL
            .iter()
            .filter(|m| upstream::find(m.name()).is_none_or(|u| u.advertised))
            .map(|m| m.name().to_owned())
            .collect()
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

/// What an authorized call reaches.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A method this gateway serves.
    Served(Method),
    /// A method upstream defines for a feature this gateway does not have.
    Absent(&'static UpstreamMethod),
}

/// Checks a call before any handler runs: a name neither table knows is `unknown method` for
/// every client (it still counts toward the flood guard for a client that is not an admin);
/// then the scope the method needs.
pub fn authorize(caller: &Caller, name: &str, draining: bool) -> Result<Target, Denied> {
    let Some(method) = Method::parse(name) else {
        let Some(known) = upstream::find(name) else {
            return Err(Denied {
                error: ErrorShape::invalid_request(format!("unknown method: {name}")),
                unauthorized: !caller.is_admin(),
            });
        };
        return authorize_upstream(caller, known).map(Target::Absent);
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
    Ok(Target::Served(method))
}

fn authorize_upstream(
    caller: &Caller,
    known: &'static UpstreamMethod,
) -> Result<&'static UpstreamMethod, Denied> {
    match &known.requires {
        Requires::Anyone => Ok(known),
        Requires::Scope(required) | Requires::Dynamic(required) => {
            if required.is_satisfied_by(&caller.scopes) {
                Ok(known)
            } else {
                Err(Denied {
                    error: ErrorShape::missing_scope(caller.protocol, required.as_str()),
                    unauthorized: true,
                })
            }
        }
        Requires::Node if caller.role == tether_protocol::Role::Node => Ok(known),
        Requires::Node => Err(Denied {
            error: ErrorShape::invalid_request(format!(
                "unauthorized role: {}",
                caller.role.as_str()
            )),
            unauthorized: true,
        }),
    }
}

/// Runs an authorized method. The first response goes out when the handler returns, unless the
/// handler already answered through its [`Responder`].
pub async fn call(target: Target, ctx: CallContext, params: Value) {
    let responder = ctx.responder();
    let result = match target {
        Target::Served(method) => route(method, &ctx, params).await,
        Target::Absent(known) => Err(methods::absent::answer(known)),
    };
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
        Method::SessionsCreate => methods::sessions::create(ctx, params).await,
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
        Method::ChatStartup => methods::chat::startup(ctx, params).await,
        Method::ChatMetadata => {
            methods::chat::metadata(engine, &ctx.caller.for_engine(), params).await
        }
        Method::AgentIdentityGet => methods::agent::identity(ctx, params).await,
        Method::ToolsEffective => methods::agent::tools_effective(ctx, params).await,
        Method::SessionsDescribe => {
            methods::sessions::describe(engine, &ctx.caller.for_engine(), params).await
        }
        Method::SessionsMessagesSubscribe => {
            methods::sessions::messages_subscribe(ctx, params, true).await
        }
        Method::SessionsMessagesUnsubscribe => {
            methods::sessions::messages_subscribe(ctx, params, false).await
        }
        Method::SessionsObserverVisibility => methods::sessions::observer_visibility(params),
        Method::SessionsBranchesList => Ok(methods::absent::branches_list()),
        Method::SessionsCompanionState => Ok(methods::absent::companion_state()),
        Method::ModelsAuthStatus => methods::models::auth_status(ctx, params).await,
        Method::CommandsList => Ok(methods::agent::commands_list()),
        Method::SystemInfo => methods::system::info(ctx, params).await,
        Method::EnvironmentsList => methods::system::environments(ctx, params).await,
        Method::ArtifactsList => methods::absent::artifacts_list(&params),
        Method::UsageStatus => Ok(methods::absent::usage_status()),
        Method::LastHeartbeat => Ok(methods::absent::last_heartbeat()),
        Method::QuestionList => Ok(methods::absent::question_list()),
        Method::PluginApprovalList => Ok(methods::absent::no_approvals()),
        Method::OpenclawApprovalList => Ok(methods::absent::no_approvals()),
        Method::TasksList => Ok(methods::absent::tasks_list()),
        Method::ProgressCardGet => Ok(methods::absent::progress_card()),
        Method::TalkCatalog => Ok(methods::absent::talk_catalog()),
        Method::CronList => Ok(methods::absent::cron_list(&params)),
        Method::CronStatus => Ok(methods::absent::cron_status()),
        Method::CronRuns => Ok(methods::absent::cron_runs()),
        Method::NodeList => Ok(methods::absent::node_list()),
        Method::ChannelsStatus => Ok(methods::absent::channels_status()),
        Method::ChannelsPairingList => Ok(methods::absent::channels_pairing_list()),
        Method::PluginsList => Ok(methods::absent::plugins_list()),
        Method::SkillsStatus => Ok(methods::absent::skills_status(
            &engine.workspace().display().to_string(),
        )),
        Method::SkillsLibraryList => Ok(methods::absent::skills_library_list()),
        Method::ApprovalHistory => {
            methods::approvals::history(engine, &ctx.caller.for_engine(), params).await
        }
        Method::ExecApprovalsGet => methods::approvals::document(engine, params).await,
        Method::SessionsUsage => methods::usage::sessions_usage(engine, params).await,
        Method::DiagnosticsLanes => methods::system::lanes(ctx, params).await,
        Method::TranscriptsList => Ok(methods::absent::transcripts_list()),
        Method::ThemesList => Ok(methods::absent::themes_list()),
        Method::ToolsGithubStatus => methods::absent::tools_github_status(&params),
        Method::DevicePairList => Ok(methods::absent::device_pair_list()),
        Method::WebSearchStatus => {
            methods::absent::web_search_status(&params, &engine.model_defaults())
        }
        Method::DoctorMemoryStatus => methods::absent::doctor_memory_status(&params),
        Method::UpdateStatus => Ok(methods::absent::update_status()),
        Method::PluginsCatalogBrowse => Ok(methods::absent::plugins_catalog_browse()),
        Method::ExecApprovalGrantsList => Ok(methods::absent::standing_grants()),
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
        // Served but, as upstream, not advertised.
        assert!(Method::parse("sessions.usage").is_some());
        assert!(!Method::advertised().iter().any(|m| m == "sessions.usage"));
        assert_eq!(Method::advertised().len(), Method::ALL.len() - 1);
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
        assert!(matches!(
            authorize(&nobody, "health", false),
            Ok(Target::Served(Method::Health))
        ));
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

        // An unknown method is unknown for everyone; it still counts toward the flood guard
        // for a client that is not an admin.
        let d = authorize(&writer, "no.such", false).unwrap_err();
        assert!(d.unauthorized);
        assert_eq!(d.error.code, ErrorCode::InvalidRequest);
        assert_eq!(d.error.message, "unknown method: no.such");
        let admin = caller(4, &[Scope::Admin]);
        let d = authorize(&admin, "no.such", false).unwrap_err();
        assert!(!d.unauthorized);
        assert_eq!(d.error.message, "unknown method: no.such");
        assert!(authorize(&admin, "config.apply", false).is_ok());
    }

    #[test]
    fn upstream_methods_tether_lacks_are_authorized_with_upstream_scopes() {
        let reader = caller(4, &[Scope::Read]);
        // cron.add needs admin upstream: a reader is refused the way upstream refuses.
        let d = authorize(&reader, "cron.add", false).unwrap_err();
        assert_eq!(d.error.code, ErrorCode::Forbidden);
        assert_eq!(d.error.message, "missing scope: operator.admin");
        let admin = caller(4, &[Scope::Admin]);
        match authorize(&admin, "cron.add", false) {
            Ok(Target::Absent(m)) => assert_eq!(m.name, "cron.add"),
            other => panic!("cron.add should reach the absent answer: {other:?}"),
        }
        // A read method upstream defines and Tether lacks is served to readers as absent.
        assert!(matches!(
            authorize(&reader, "tools.catalog", false),
            Ok(Target::Absent(_))
        ));
        // Node-only methods refuse operators by role, as upstream does.
        let d = authorize(&admin, "node.event", false).unwrap_err();
        assert_eq!(d.error.message, "unauthorized role: operator");
        // Served stand-ins for features Tether lacks keep upstream's scopes.
        assert!(authorize(&reader, "cron.list", false).is_ok());
        assert!(authorize(&reader, "plugin.approval.list", false).is_err());
        let writer = caller(4, &[Scope::Write]);
        assert!(authorize(&writer, "question.list", false).is_err());
        assert!(authorize(&caller(4, &[Scope::Questions]), "question.list", false).is_ok());
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
