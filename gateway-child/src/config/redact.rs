//! Redaction of config documents for `config.get`, and the reverse for writes.
//!
//! Every string under a secret-looking key (`token`, `password`, `apiKey`, `secret`, ...; unknown
//! upstream keys included) is replaced by [`SENTINEL`]. When a client writes a document back, any
//! sentinel is restored from the current config at the same path, so a read-modify-write round trip
//! never stores the sentinel and never needs the client to know the secret. This module must never
//! let a secret value into its output or its error texts.

use serde_json::Value;

/// The placeholder that replaces a secret value (upstream's spelling).
pub const SENTINEL: &str = "__OPENCLAW_REDACTED__";

/// Whether a key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "token",
        "password",
        "passwd",
        "secret",
        "apikey",
        "api_key",
        "privatekey",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|needle| k.contains(needle))
}

/// A copy of `doc` with every secret string replaced by [`SENTINEL`].
pub fn redact(doc: &Value) -> Value {
    redact_inner(doc, false)
}

fn redact_inner(v: &Value, secret: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), redact_inner(v, secret || is_secret_key(k))))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| redact_inner(v, secret)).collect()),
        Value::String(s) if secret && !s.is_empty() => Value::String(SENTINEL.to_owned()),
        other => other.clone(),
    }
}

/// Replaces each [`SENTINEL`] in `doc` by the string at the same path in `current`.
/// Fails with the dotted path of a sentinel that has no stored value.
pub fn restore(doc: &mut Value, current: &Value) -> Result<(), String> {
    let mut path = Vec::new();
    restore_inner(doc, Some(current), &mut path)
}

fn restore_inner(
    v: &mut Value,
    current: Option<&Value>,
    path: &mut Vec<String>,
) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                path.push(k.clone());
                let cur = current.and_then(|c| c.get(k));
                restore_inner(child, cur, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(a) => {
            for (i, child) in a.iter_mut().enumerate() {
                path.push(i.to_string());
                let cur = current.and_then(|c| c.get(i));
                restore_inner(child, cur, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::String(s) if s == SENTINEL => match current {
            Some(Value::String(orig)) if orig != SENTINEL => {
                *s = orig.clone();
                Ok(())
            }
            _ => Err(path.join(".")),
        },
        _ => Ok(()),
    }
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "gateway": {"port": 1, "auth": {"mode": "token", "token": "T0KEN"}},
            "models": {"providers": {"p": {"baseUrl": "http://h", "apiKey": "sk-123",
                        "models": [{"id": "m", "maxTokens": 10}]}}},
            "channels": {"telegram": {"botToken": "bt", "secrets": {"nested": "n", "n2": 5}}},
        })
    }

    #[test]
    fn every_secret_is_replaced() {
        let r = redact(&doc());
        let text = r.to_string();
        for secret in ["T0KEN", "sk-123", "\"bt\"", "\"n\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(r["gateway"]["auth"]["token"], SENTINEL);
        assert_eq!(r["gateway"]["auth"]["mode"], "token");
        assert_eq!(r["models"]["providers"]["p"]["models"][0]["maxTokens"], 10);
        assert_eq!(r["channels"]["telegram"]["secrets"]["n2"], 5);
    }

    #[test]
    fn a_round_trip_restores_secrets() {
        let mut back = redact(&doc());
        back["gateway"]["port"] = json!(2);
        restore(&mut back, &doc()).unwrap();
        let mut expect = doc();
        expect["gateway"]["port"] = json!(2);
        assert_eq!(back, expect);
    }

    #[test]
    fn a_sentinel_with_nothing_behind_it_is_refused() {
        let mut v = json!({"gateway": {"auth": {"password": SENTINEL}}});
        assert_eq!(
            restore(&mut v, &doc()),
            Err("gateway.auth.password".to_owned())
        );
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1]});
        merge_patch(&mut t, &json!({"a": {"b": 1}, "n": null}));
        assert_eq!(t, json!({"a": {"b": 1}}));
        let mut t = json!({"a": 1});
        merge_patch(&mut t, &json!(["x"]));
        assert_eq!(t, json!(["x"]));
    }
}
