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
    }
}

impl Scope {
    /// Whether `held` satisfies this required scope.
    pub fn is_satisfied_by<'a>(&self, held: impl IntoIterator<Item = &'a Scope>) -> bool {
        held.into_iter().any(|h| match (h, self) {
            (Scope::Admin, _) => true,
            (Scope::Write, Scope::Read) => true,
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
    }

    #[test]
    fn role_defaults_to_operator_and_keeps_unknowns() {
        assert_eq!(Role::default(), Role::Operator);
        assert_eq!(Role::from("node"), Role::Node);
        assert_eq!(Role::from("admin").as_str(), "admin");
        assert!(!Role::from("admin").is_known());
    }
}
