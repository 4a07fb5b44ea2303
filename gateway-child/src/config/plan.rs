//! The reload plan: what a config change means for a running gateway.
//!
//! Every changed leaf path is classified by a prefix table in the spirit of upstream's
//! (`config-reload-plan.ts`): the listener and auth (`gateway.*`) need an in-process restart;
//! `gateway.reload`, `gateway.controlUi`, `gateway.http`, `models`, `agents` and `tools` are
//! applied live (the engine receives the new config); keys Tether does not support change nothing.
//! `gateway.reload.mode` then turns the classification into one action. Pure: it compares values
//! and never applies anything itself.

use serde_json::Value;

use super::schema::ReloadMode;

/// What a changed path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// No effect on a running gateway (unsupported or informational keys).
    None,
    /// Applied live.
    Hot,
    /// Needs an in-process restart.
    Restart,
}

/// Prefix → class; the first matching prefix wins.
const TABLE: &[(&str, Class)] = &[
    ("gateway.reload", Class::Hot),
    ("gateway.controlUi", Class::Hot),
    ("gateway.http", Class::Hot),
    ("gateway.mode", Class::None),
    ("gateway", Class::Restart),
    ("models", Class::Hot),
    ("agents", Class::Hot),
    ("tools", Class::Hot),
];

/// Classifies one changed path (keys outside the table are not supported by Tether). A path
/// that is an ancestor of table entries (a whole section added or removed) takes the most
/// severe class below it.
pub fn classify(path: &str) -> Class {
    let own = TABLE
        .iter()
        .find(|(prefix, _)| within(path, prefix))
        .map_or(Class::None, |(_, class)| *class);
    let below = TABLE
        .iter()
        .filter(|(prefix, _)| within(prefix, path) && *prefix != path)
        .map(|(_, class)| *class)
        .max()
        .unwrap_or(Class::None);
    own.max(below)
}

/// Whether `path` is `ancestor` or lies below it (segment-wise).
fn within(path: &str, ancestor: &str) -> bool {
    path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'.'))
}

/// What the running gateway will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing to apply.
    Nothing,
    /// Apply live.
    Hot,
    /// Restart in-process.
    Restart,
    /// `hot` mode and a change needs a restart: hot parts applied, the rest waits.
    RestartSkipped,
    /// `off` mode: changes are not applied.
    Off,
}

impl Action {
    /// The name used in logs and `config.changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Nothing => "none",
            Action::Hot => "hot",
            Action::Restart => "restart",
            Action::RestartSkipped => "restart-skipped",
            Action::Off => "off",
        }
    }
}

/// The outcome of comparing two config documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every changed leaf path.
    pub changed: Vec<String>,
    /// Those applied live.
    pub hot: Vec<String>,
    /// Those needing a restart.
    pub restart: Vec<String>,
    /// The action.
    pub action: Action,
}

/// Leaf paths whose values differ (objects are compared key by key, anything else whole).
pub fn changed_paths(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(old, new, &mut String::new(), &mut out);
    out.sort();
    out
}

fn diff(old: &Value, new: &Value, path: &mut String, out: &mut Vec<String>) {
    const ABSENT: &Value = &Value::Null;
    let empty = serde_json::Map::new();
    // A missing side of an object is compared as an empty object, so adding or removing a whole
    // section yields its leaf paths (and a live section added whole stays live).
    let (a, b) = match (old, new) {
        (Value::Object(a), Value::Object(b)) => (a, b),
        (Value::Object(a), Value::Null) => (a, &empty),
        (Value::Null, Value::Object(b)) => (&empty, b),
        (a, b) => {
            if a != b {
                out.push(path.clone());
            }
            return;
        }
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
        diff(
            a.get(k).unwrap_or(ABSENT),
            b.get(k).unwrap_or(ABSENT),
            path,
            out,
        );
        path.truncate(len);
    }
}

fn is_unsupported(path: &str, unsupported: &[String]) -> bool {
    unsupported.iter().any(|u| within(path, u))
}

/// Plans the move from `old` to `new`. `unsupported` are the ignored key paths of both documents.
pub fn plan(old: &Value, new: &Value, unsupported: &[String], mode: ReloadMode) -> Plan {
    let changed = changed_paths(old, new);
    let mut hot = Vec::new();
    let mut restart = Vec::new();
    for p in &changed {
        if is_unsupported(p, unsupported) {
            continue;
        }
        match classify(p) {
            Class::None => {}
            Class::Hot => hot.push(p.clone()),
            Class::Restart => restart.push(p.clone()),
        }
    }
    let action = match mode {
        ReloadMode::Off => Action::Off,
        ReloadMode::Restart if !hot.is_empty() || !restart.is_empty() => Action::Restart,
        ReloadMode::Hybrid if !restart.is_empty() => Action::Restart,
        ReloadMode::Hot if !restart.is_empty() => Action::RestartSkipped,
        ReloadMode::Hot | ReloadMode::Hybrid if !hot.is_empty() => Action::Hot,
        ReloadMode::Hot | ReloadMode::Hybrid | ReloadMode::Restart => Action::Nothing,
    };
    Plan {
        changed,
        hot,
        restart,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classification_table() {
        for (path, class) in [
            ("gateway.port", Class::Restart),
            ("gateway.bind", Class::Restart),
            ("gateway.auth.token", Class::Restart),
            ("gateway.auth", Class::Restart),
            ("gateway.tickIntervalMs", Class::Restart),
            ("gateway.reload.debounceMs", Class::Hot),
            ("gateway.reloadX", Class::Restart),
            ("gateway.controlUi.allowedOrigins", Class::Hot),
            ("gateway.http.endpoints.chatCompletions.enabled", Class::Hot),
            ("gateway.mode", Class::None),
            ("models.providers.x.baseUrl", Class::Hot),
            ("agents.defaults.model.primary", Class::Hot),
            ("tools.exec.ask", Class::Hot),
            ("update.checkOnStart", Class::None),
            ("gateway", Class::Restart),
        ] {
            assert_eq!(classify(path), class, "{path}");
        }
    }

    #[test]
    fn changed_leaf_paths() {
        let a = json!({"gateway": {"port": 1, "auth": {"token": "a"}}, "x": [1]});
        let b = json!({"gateway": {"port": 1, "auth": {"token": "b"}, "bind": "lan"}, "x": [2]});
        assert_eq!(
            changed_paths(&a, &b),
            vec!["gateway.auth.token", "gateway.bind", "x"]
        );
        assert!(changed_paths(&a, &a).is_empty());
        // A whole section appearing yields its leaves.
        assert_eq!(
            changed_paths(
                &json!({}),
                &json!({"gateway": {"controlUi": {"allowedOrigins": ["o"]}}})
            ),
            vec!["gateway.controlUi.allowedOrigins"]
        );
        assert_eq!(
            changed_paths(&json!({"a": {"b": 1}}), &json!({})),
            vec!["a.b"]
        );
    }

    fn check(old: Value, new: Value, unsupported: &[&str], mode: ReloadMode, expect: Action) {
        let unsupported: Vec<String> = unsupported.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            plan(&old, &new, &unsupported, mode).action,
            expect,
            "{old} → {new} in {mode:?}"
        );
    }

    #[test]
    fn actions_per_mode() {
        use Action::*;
        use ReloadMode as M;
        let port = (
            json!({"gateway": {"port": 1}}),
            json!({"gateway": {"port": 2}}),
        );
        let model = (
            json!({"agents": {"defaults": {"model": {"primary": "a/b"}}}}),
            json!({"agents": {"defaults": {"model": {"primary": "a/c"}}}}),
        );
        let unknown = (json!({"update": {"x": 1}}), json!({"update": {"x": 2}}));
        check(port.0.clone(), port.1.clone(), &[], M::Hybrid, Restart);
        check(port.0.clone(), port.1.clone(), &[], M::Hot, RestartSkipped);
        check(port.0.clone(), port.1.clone(), &[], M::Off, Off);
        check(port.0, port.1, &[], M::Restart, Restart);
        check(model.0.clone(), model.1.clone(), &[], M::Hybrid, Hot);
        check(model.0.clone(), model.1.clone(), &[], M::Hot, Hot);
        check(model.0, model.1, &[], M::Restart, Restart);
        check(
            unknown.0.clone(),
            unknown.1.clone(),
            &["update"],
            M::Hybrid,
            Nothing,
        );
        check(unknown.0, unknown.1, &["update"], M::Restart, Nothing);
        // An unsupported key inside `gateway` does not restart anything.
        check(
            json!({"gateway": {"tailscale": {"mode": "off"}}}),
            json!({"gateway": {"tailscale": {"mode": "serve"}}}),
            &["gateway.tailscale"],
            M::Hybrid,
            Nothing,
        );
    }
}
