//! Who is calling: the authenticated connection's identity as handlers and the hub see it.

use std::net::{IpAddr, Ipv4Addr};

use tether_protocol::{Role, Scope};

use crate::methods::bus::ConnId;

/// The client's self-description, for logs, presence and `status`.
#[derive(Debug, Clone, Default)]
pub struct ClientLabel {
    /// `client.id`.
    pub id: String,
    /// `client.mode`.
    pub mode: String,
    /// `client.displayName`.
    pub display_name: Option<String>,
    /// `client.version`.
    pub version: String,
    /// `client.platform`.
    pub platform: String,
    /// Verified device id.
    pub device_id: Option<String>,
}

/// The caller of a method: one authenticated connection and what it was granted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Connection id.
    pub conn: ConnId,
    /// Negotiated protocol (3 or 4).
    pub protocol: u32,
    /// Role.
    pub role: Role,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// Advertised caps.
    pub caps: Vec<String>,
    /// Advertised `tool-events`.
    pub tool_events: bool,
    /// Client label.
    pub client: ClientLabel,
    /// Canonical client address.
    pub ip: IpAddr,
}

impl Default for Caller {
    fn default() -> Self {
        Caller {
            conn: 0,
            protocol: 4,
            role: Role::Operator,
            scopes: Vec::new(),
            caps: Vec::new(),
            tool_events: false,
            client: ClientLabel::default(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

impl Caller {
    /// Whether the caller holds `operator.admin`.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// The caller as the agent engine sees it. Its client label (run ownership for aborts,
    /// `resolvedBy` of approvals) is the verified device when there is one, else `id/mode`.
    pub fn for_engine(&self) -> crate::agent::EngineCaller {
        let client = match &self.client.device_id {
            Some(d) => format!("device:{d}"),
            None => format!("{}/{}", self.client.id, self.client.mode),
        };
        crate::agent::EngineCaller {
            conn: Some(self.conn),
            client,
            protocol: self.protocol,
            tool_events: self.tool_events,
            scopes: self.scopes.clone(),
            operator_ui: self.client.id == "openclaw-control-ui" || self.client.mode == "webchat",
        }
    }

    /// `id/mode` (sanitized for logs).
    pub fn label(&self) -> String {
        format!(
            "{}/{}",
            crate::process::logging::Clean(&self.client.id),
            crate::process::logging::Clean(&self.client.mode)
        )
    }
}
