//! Upstream OpenClaw's method table: every method its gateway defines, who may call it, and
//! whether its `hello-ok` advertises it. Written by `scripts/upstream-methods` from
//! `gateway-child/tests/fixtures/upstream-methods.json`; do not edit by hand.
//! Source: openclaw@2026.9.6.

use tether_protocol::Scope;

/// Who upstream lets call a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requires {
    /// Any connected client (`health`).
    Anyone,
    /// Operators holding this scope.
    Scope(Scope),
    /// Operators holding at least this scope; upstream asks more for some params.
    Dynamic(Scope),
    /// Node-role clients only.
    Node,
}

/// One upstream method.
#[derive(Debug)]
pub struct UpstreamMethod {
    /// The wire name.
    pub name: &'static str,
    /// Who may call it.
    pub requires: Requires,
    /// Whether upstream's `hello-ok.features.methods` lists it.
    pub advertised: bool,
}

/// All 482 of them, sorted by name.
pub static METHODS: &[UpstreamMethod] = &[
    UpstreamMethod {
        name: "agent",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "agent.identity.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "agent.wait",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.create",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.delete",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.files.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.files.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.files.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.update",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.workspace.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "agents.workspace.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "approval.get",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "approval.history",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "approval.resolve",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "artifacts.download",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "artifacts.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "artifacts.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "assistant.media.get",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "attach.grant",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "attach.revoke",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "audit.activity.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "audit.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "audit.run.inspect",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.action",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.data.read",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.event",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.prompt.authorize",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.update",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.widget.appView",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.widget.grant",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "board.widget.put",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "canvas.document.preview",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "canvas.document.view",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.logout",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.pairing.approve",
        requires: Requires::Dynamic(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.pairing.dismiss",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.pairing.list",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "channels.stop",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.abort",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.history",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.inject",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "chat.message.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.metadata",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.send",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.startup",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "chat.toolTitles",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "claws.monitors",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "claws.packages.remove",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "commands.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "computer.invoke",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "computer.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.apply",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.openFile",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "config.patch",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.schema",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.schema.lookup",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "config.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "connect",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "controlUi.githubDetail",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "controlUi.githubPreview",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "controlUi.linkPreview",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "controlUi.sessionPreview",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "controlUi.sessionPullRequests.checks",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "controlUi.sessionPullRequests.subscribe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "conversations.list",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "conversations.send",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "conversations.turn",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "conversations.turn.cancel",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.add",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.remove",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.run",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.runs",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.scratch.get",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.scratch.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "cron.update",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "desktop.launch",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "desktop.observe",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "desktop.release",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.approve",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.list",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.reject",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.remove",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.rename",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.pair.setupCode",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "device.pair.setupStatus",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "device.scopes.requestUpgrade",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.scopes.waitUpgrade",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.token.revoke",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "device.token.rotate",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "diagnostics.cpuProfile",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "diagnostics.heapProfile",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "diagnostics.lanes",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "diagnostics.stability",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.backfillDreamDiary",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.dedupeDreamDiary",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.dreamDiary",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.repairDreamingArtifacts",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.resetDreamDiary",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.resetGroundedShortTerm",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "doctor.memory.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.create",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.destroy",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.list",
        requires: Requires::Dynamic(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.prepare",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.session.create",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.session.destroy",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.session.exec",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.session.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "environments.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.get",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.grants.list",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.grants.revoke",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.list",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.request",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.resolve",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approval.waitDecision",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approvals.get",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approvals.node.get",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approvals.node.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "exec.approvals.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "fs.listDir",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.identity.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.restart.preflight",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.restart.request",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.suspend.handoff",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.suspend.prepare",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.suspend.resume",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "gateway.suspend.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "health",
        requires: Requires::Anyone,
        advertised: true,
    },
    UpstreamMethod {
        name: "hooks.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "last-heartbeat",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "logs.tail",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.callTool",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.listResourceTemplates",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.listResources",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.listTools",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.readResource",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.updateModelContext",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.app.view",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mcp.authLogin",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "memory.search",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mentions.dismiss",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "mentions.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "message.action",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "migrations.memory.apply",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "migrations.memory.plan",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authLogin",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authLogout",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authOrderSet",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authRefresh",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authSetApiKey",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.authStatus",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "models.probe",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "nativeHook.invoke",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "node.describe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.event",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.invoke",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.invoke.progress",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.invoke.result",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pair.approve",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pair.list",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pair.reject",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pair.remove",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pending.ack",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pending.drain",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pending.enqueue",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pending.pull",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pluginSurface.refresh",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.pluginTools.update",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "node.rename",
        requires: Requires::Scope(Scope::Pairing),
        advertised: true,
    },
    UpstreamMethod {
        name: "node.runnerInventory.update",
        requires: Requires::Node,
        advertised: false,
    },
    UpstreamMethod {
        name: "node.skills.update",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.approval.list",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.changes.list",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.chat",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.chat.history",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.activate",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.activate.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.auth.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.detect",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.prepare.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "openclaw.setup.verify",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugin.approval.list",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugin.approval.request",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugin.approval.resolve",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugin.approval.waitDecision",
        requires: Requires::Scope(Scope::Approvals),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugin.surface.refresh",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.catalog.browse",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.catalog.categories",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.catalog.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.controlUi.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.controlUi.reload",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.controlUi.report",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.controlUi.status",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.credentials.inspect",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.inspect",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.install",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.refresh",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.reload",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.search",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.sessionAction",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.setEnabled",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.skills.read",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.uiDescriptors",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "plugins.uninstall",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "poll",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "portal.close",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "portal.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "portal.open",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "progressCard.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "progressCard.put",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "progressCard.refresh",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "projects.add",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "projects.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "projects.register",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "projects.remove",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "projects.searchRemote",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "push.test",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "push.web.preferences.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "push.web.preferences.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "push.web.subscribe",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "push.web.test",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "push.web.unsubscribe",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "push.web.vapidPublicKey",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "question.get",
        requires: Requires::Scope(Scope::Questions),
        advertised: true,
    },
    UpstreamMethod {
        name: "question.list",
        requires: Requires::Scope(Scope::Questions),
        advertised: true,
    },
    UpstreamMethod {
        name: "question.request",
        requires: Requires::Scope(Scope::Questions),
        advertised: true,
    },
    UpstreamMethod {
        name: "question.resolve",
        requires: Requires::Scope(Scope::Questions),
        advertised: true,
    },
    UpstreamMethod {
        name: "question.waitAnswer",
        requires: Requires::Scope(Scope::Questions),
        advertised: true,
    },
    UpstreamMethod {
        name: "secrets.reload",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "secrets.resolve",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "secrets.store.delete",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "secrets.store.list",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "secrets.store.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "send",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.discussion.info",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.discussion.open",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.members.add",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.members.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.members.listEvidence",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.members.remove",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.publicShare.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.suggestions.add",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.suggestions.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.suggestions.resolve",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.typing",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "session.visibility.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.abort",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.activitySummary.ensure",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.assignOwner",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.branches.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.branches.switch",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.catalog.archive",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.catalog.continue",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.catalog.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.catalog.read",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.catalog.startTerminal",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.cleanup",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.compact",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.companion.ask",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.companion.reset",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.companion.state",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.create",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.delete",
        requires: Requires::Dynamic(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.describe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.diff",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.dispatch",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.files.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.files.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.files.reveal",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.files.set",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.fork",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.get",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.github.confirm",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.github.options",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.github.publish",
        requires: Requires::Scope(Scope::SessionsWrite),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.github.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.goal.clear",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.goal.update",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.defaults",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.delete",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.put",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.rename",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.groups.update",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.messages.subscribe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.messages.unsubscribe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.move",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.observer.visibility",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.patch",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.patchMany",
        requires: Requires::Dynamic(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.pluginPatch",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.preview",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.providerReview.continue",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.reclaim",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.recover",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.reset",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.resolve",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.rewind",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.search",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.send",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.setInvolvement",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.steer",
        requires: Requires::Scope(Scope::Write),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.storage.run",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.storage.status",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.subscribe",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.title.prepare",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "sessions.usage",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.usage.logs",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.usage.timeseries",
        requires: Requires::Scope(Scope::Read),
        advertised: false,
    },
    UpstreamMethod {
        name: "sessions.viewers.set",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "set-heartbeats",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.bins",
        requires: Requires::Node,
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.curator.pin",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.curator.restore",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.curator.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.curator.unpin",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.detail",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.install",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.activate",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.import",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.mutate",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.read",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.save",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.library.upload",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.apply",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.create",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.evaluate",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.events.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.historyScan",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.historyStatus",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.inspect",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.quarantine",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.reject",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.requestRevision",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.revise",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.proposals.update",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.search",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.securityVerdicts",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.skillCard",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.update",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.upload.begin",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.upload.chunk",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.upload.commit",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "skills.workshop.read",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "system-event",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "system-presence",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "system.info",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.catalog",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.client.close",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.client.create",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.client.steer",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.client.toolCall",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.client.transcript",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.config",
        requires: Requires::Dynamic(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.mode",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.acknowledgeMark",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.appendAudio",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.cancelOutput",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.close",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.create",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.steer",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.session.submitToolResult",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.speak",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.voice.complete",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.voice.get",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "talk.voice.set",
        requires: Requires::Scope(Scope::Talk),
        advertised: true,
    },
    UpstreamMethod {
        name: "taskSuggestions.accept",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "taskSuggestions.create",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "taskSuggestions.dismiss",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "taskSuggestions.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.cancel",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.dismiss",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.history",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tasks.retry",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.attach",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.close",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.input",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.list",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.open",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.resize",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "terminal.upload",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "themes.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "themes.import",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "themes.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "themes.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.catalog",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.effective",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.github.authorize.cancel",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.github.authorize.poll",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.github.authorize.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.github.configure",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.github.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tools.invoke",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "transcripts.export",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "transcripts.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "transcripts.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "transcripts.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "transcripts.summarize",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.convert",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.disable",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.enable",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.personas",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.providers",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.setPersona",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.setProvider",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.speak",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "tts.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "ui.command",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.hold",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.report",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.run",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.runs.get",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.runs.list",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "update.status",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "usage.cost",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "usage.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.authConnect.answer",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.authConnect.cancel",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.authConnect.catalog",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.authConnect.start",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.authConnect.status",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.github.authorize.cancel",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.github.authorize.poll",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.github.authorize.start",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.github.disconnect",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.github.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.linkAuthProfile",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.linkChannelIdentity",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.linkEmail",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.listAuthLinks",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.listChannelIdentities",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.listModelAccounts",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.mentionable",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.prefs.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.prefs.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.selectModelAccount",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.self",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.setAvatar",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.setDisplayName",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.setRole",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.unlinkAuthProfile",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "users.unlinkChannelIdentity",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "voicewake.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "voicewake.routing.get",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "voicewake.set",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "wake",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "web.login.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "web.login.wait",
        requires: Requires::Scope(Scope::Admin),
        advertised: false,
    },
    UpstreamMethod {
        name: "webSearch.status",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "webSearch.test",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "wizard.cancel",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "wizard.next",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "wizard.start",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "wizard.status",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "worker.desktop.launch",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "worker.desktop.observe",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.branches",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.create",
        requires: Requires::Scope(Scope::Write),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.gc",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.list",
        requires: Requires::Scope(Scope::Read),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.remove",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
    UpstreamMethod {
        name: "worktrees.restore",
        requires: Requires::Scope(Scope::Admin),
        advertised: true,
    },
];

/// Looks a method up by wire name.
pub fn find(name: &str) -> Option<&'static UpstreamMethod> {
    METHODS
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METHODS[i])
}
