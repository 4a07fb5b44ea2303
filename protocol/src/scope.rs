//! Roles and operator scopes, and the rule for when held scopes satisfy a required one.
//!
//! The gateway decides which method needs which scope (its dispatch table); this module only
//! names the scopes and says what covers what: `operator.admin` covers every operator scope, and
//! a required `operator.read` is also satisfied by `operator.write`. Everything else must be held
//! exactly.

use crate::macros::string_enum;

string_enum! {
    /// A connection's role (`operator` by default).
    #[derive(Default)]
    pub enum Role {
        /// Control plane: CLI, UI, supervisor, automation.
        #[default]
        Operator = "operator",
        /// Capability host (camera, canvas, `system.run`).
        Node = "node",
    }
}

string_enum! {
    /// Operator scopes.
    pub enum Scope {
        Admin = "operator.admin",
        Read = "operator.read",
        Write = "operator.write",
        Approvals = "operator.approvals",
        Pairing = "operator.pairing",
        TalkSecrets = "operator.talk.secrets",
        /// v4.
        Talk = "operator.talk",
        /// v4.
        Questions = "operator.questions",
        /// Reading sessions only (upstream 2026.8+).
        SessionsRead = "operator.sessions.read",
        /// Writing sessions only (upstream 2026.8+).
        SessionsWrite = "operator.sessions.write",
    }
}

impl Scope {
    /// Whether `held` satisfies this required scope, as upstream decides it: admin covers
    /// everything; write covers read, talk and both session scopes; read and session-write each
    /// cover session-read. Approvals, questions, pairing and talk secrets are covered only by
    /// themselves (and admin).
    pub fn is_satisfied_by<'a>(&self, held: impl IntoIterator<Item = &'a Scope>) -> bool {
        held.into_iter().any(|h| match (h, self) {
            (Scope::Admin, _) => true,
            (
                Scope::Write,
                Scope::Read | Scope::Talk | Scope::SessionsRead | Scope::SessionsWrite,
            ) => true,
            (Scope::Read | Scope::SessionsWrite, Scope::SessionsRead) => true,
            (h, r) => h == r,
        })
    }
}

/// The scopes Tether's own clients request: everything a desktop supervisor needs.
pub fn supervisor_scopes() -> Vec<Scope> {
    vec![Scope::Admin, Scope::Read, Scope::Write, Scope::Approvals]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(held: &[&str], required: &str, expect: bool) {
        let held: Vec<Scope> = held.iter().map(|s| Scope::from(*s)).collect();
        assert_eq!(
            Scope::from(required).is_satisfied_by(&held),
            expect,
            "held {held:?} required {required}"
        );
    }

    #[test]
    fn coverage_rules() {
        check(&["operator.admin"], "operator.approvals", true);
        check(&["operator.admin"], "operator.read", true);
        check(&["operator.write"], "operator.read", true);
        check(&["operator.read"], "operator.write", false);
        check(&["operator.read"], "operator.read", true);
        check(&["operator.write"], "operator.approvals", false);
        check(&["operator.approvals"], "operator.admin", false);
        check(&[], "operator.read", false);
        check(&["operator.future"], "operator.future", true);
        check(&["operator.future"], "operator.read", false);
        // Upstream's implications for the narrower scopes.
        check(&["operator.write"], "operator.talk", true);
        check(&["operator.write"], "operator.sessions.write", true);
        check(&["operator.write"], "operator.sessions.read", true);
        check(&["operator.read"], "operator.sessions.read", true);
        check(&["operator.sessions.write"], "operator.sessions.read", true);
        check(&["operator.sessions.read"], "operator.read", false);
        check(&["operator.sessions.write"], "operator.write", false);
        check(&["operator.read"], "operator.talk", false);
        check(&["operator.write"], "operator.questions", false);
        check(&["operator.write"], "operator.pairing", false);
        check(&["operator.write"], "operator.talk.secrets", false);
    }

    #[test]
    fn role_defaults_to_operator_and_keeps_unknowns() {
        assert_eq!(Role::default(), Role::Operator);
        assert_eq!(Role::from("node"), Role::Node);
        assert_eq!(Role::from("admin").as_str(), "admin");
        assert!(!Role::from("admin").is_known());
    }
}
