//! The method table knows every method upstream OpenClaw defines, with upstream's scope.
//!
//! The fixture (`fixtures/upstream-methods.json`) is upstream's table, read once from the
//! installed `openclaw@2026.9.6` (its `source` says from which files). `methods::upstream` is
//! generated from it by `scripts/upstream-methods`; the methods Tether serves are declared in
//! `methods::dispatch`. Both must agree with the fixture.

use std::collections::BTreeMap;

use serde_json::Value;
use tether_gateway::methods::dispatch::{Access, Method};
use tether_gateway::methods::upstream::{self, Requires};

/// Methods Tether serves that upstream 2026.9.6 does not define.
const TETHER_ONLY: &[&str] = &["sessions.unsubscribe"];

struct Upstream {
    scope: Option<String>,
    dynamic_note: Option<String>,
    node: bool,
    advertised: bool,
}

fn fixture() -> BTreeMap<String, Upstream> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/upstream-methods.json"
    );
    let text = std::fs::read_to_string(path).expect("the fixture");
    let v: Value = serde_json::from_str(&text).expect("fixture JSON");
    let methods = v["methods"].as_array().expect("methods");
    assert!(
        methods.len() > 400,
        "the fixture has {} methods",
        methods.len()
    );
    methods
        .iter()
        .map(|m| {
            let name = m["name"].as_str().expect("name").to_owned();
            let scope = m["scope"].as_str().map(str::to_owned);
            let dynamic = scope.as_deref() == Some("dynamic");
            (
                name,
                Upstream {
                    dynamic_note: dynamic.then(|| m["note"].as_str().unwrap_or("").to_owned()),
                    scope: scope.filter(|_| !dynamic),
                    node: m["role"] == "node",
                    advertised: m["advertised"] != Value::Bool(false),
                },
            )
        })
        .collect()
}

#[test]
fn the_generated_table_is_the_fixture() {
    let fx = fixture();
    assert_eq!(
        upstream::METHODS.len(),
        fx.len(),
        "re-run scripts/upstream-methods"
    );
    for m in upstream::METHODS {
        let u = fx
            .get(m.name)
            .unwrap_or_else(|| panic!("{} is not in the fixture", m.name));
        assert_eq!(m.advertised, u.advertised, "{}", m.name);
        match &m.requires {
            Requires::Anyone => assert_eq!(m.name, "health"),
            Requires::Node => assert!(u.node, "{} is not node-only upstream", m.name),
            Requires::Scope(s) => {
                assert_eq!(Some(s.as_str()), u.scope.as_deref(), "{}", m.name)
            }
            Requires::Dynamic(s) => {
                let note = u.dynamic_note.as_deref().unwrap_or_else(|| {
                    panic!("{} has a fixed scope upstream", m.name);
                });
                // sessions.patchMany's rule is "same as sessions.patch".
                let note = if note.starts_with("same as sessions.patch") {
                    fx["sessions.patch"].dynamic_note.as_deref().unwrap_or("")
                } else {
                    note
                };
                assert!(
                    note.contains(s.as_str()) || note.contains("operator.*"),
                    "{}: base {} is not in upstream's rule: {note}",
                    m.name,
                    s.as_str()
                );
            }
        }
    }
    for (name, _) in fx {
        assert!(upstream::find(&name).is_some(), "find({name})");
    }
}

#[test]
fn every_served_method_has_upstream_scope() {
    let fx = fixture();
    for m in Method::ALL {
        let name = m.name();
        if TETHER_ONLY.contains(&name) {
            assert!(!fx.contains_key(name), "{name} is upstream's now");
            continue;
        }
        let u = fx
            .get(name)
            .unwrap_or_else(|| panic!("{name} is served but upstream does not define it"));
        match (m.access(), name) {
            (Access::Anyone, "health") => {}
            (Access::Anyone, _) => panic!("{name} is open to anyone"),
            (Access::Scope(s), _) => match (&u.scope, &u.dynamic_note) {
                (Some(up), _) => assert_eq!(s.as_str(), up, "{name}"),
                // Dynamic upstream: ours must be one of the scopes its rule names, and never
                // below the base the generated table records.
                (None, Some(note)) => {
                    assert!(
                        note.contains(s.as_str()),
                        "{name}: {} vs {note}",
                        s.as_str()
                    );
                    let Some(Requires::Dynamic(base)) =
                        upstream::find(name).map(|k| k.requires.clone())
                    else {
                        panic!("{name} is dynamic upstream but not in the table as such")
                    };
                    assert!(
                        base.is_satisfied_by(std::slice::from_ref(&s)),
                        "{name}: {} is below upstream's base {}",
                        s.as_str(),
                        base.as_str()
                    );
                }
                (None, None) => panic!("{name} is node-only upstream"),
            },
        }
    }
}

#[test]
fn advertised_methods_are_exactly_the_served_ones_upstream_advertises() {
    let fx = fixture();
    let served: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
    let advertised = Method::advertised();
    for name in &advertised {
        assert!(
            served.contains(&name.as_str()),
            "{name} is advertised, not served"
        );
        assert!(
            upstream::find(name).is_some() || TETHER_ONLY.contains(&name.as_str()),
            "{name}"
        );
    }
    // A served method is advertised exactly when upstream advertises it (upstream serves
    // `sessions.usage` without advertising it; its clients call it regardless).
    for name in &served {
        let upstream_advertises = fx.get(*name).is_none_or(|u| u.advertised);
        assert_eq!(
            advertised.iter().any(|a| a == name),
            upstream_advertises,
            "{name}"
        );
    }
    assert!(served.contains(&"sessions.usage"));
    assert!(!advertised.iter().any(|a| a == "sessions.usage"));
    // What upstream's Control UI cannot chat without.
    for needed in [
        "chat.startup",
        "chat.history",
        "chat.send",
        "agent.identity.get",
    ] {
        assert!(advertised.iter().any(|m| m == needed), "{needed}");
    }
}
