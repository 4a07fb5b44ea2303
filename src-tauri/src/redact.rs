//! Scrubbing a diagnostics bundle of secrets before it is written.
//!
//! It owns two rules. [`known_secrets`] collects every secret this machine holds for Tether —
//! the gateway tokens, the device key seed, and the provider keys written literally in the
//! gateway configs — so their exact values can be removed wherever they appear. [`scrub`] walks
//! a JSON document and replaces: any value under a secret-looking key, every known secret inside
//! any string, and anything shaped like a key (`sk-…`, `Bearer …`). What it returns is safe to
//! hand to somebody else; nothing here logs what it found.

use std::path::Path;

use serde_json::{Map, Value};

/// What replaces a secret.
pub const MASK: &str = "***";

/// Key names that hold secrets (the gateway's own list, and the device seed).
fn is_secret_key(key: &str) -> bool {
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
        "seed",
    ]
    .iter()
    .any(|n| k.contains(n))
}

/// Shortest string treated as a secret value (shorter ones would mask ordinary words).
const MIN_SECRET: usize = 8;

fn collect(v: &Value, under_secret: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                collect(x, under_secret || is_secret_key(k), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, under_secret, out)),
        Value::String(s) if under_secret && s.len() >= MIN_SECRET && !s.starts_with("${") => {
            out.push(s.clone())
        }
        _ => {}
    }
}

/// The secrets stored under a supervisor state directory: token files, the device identity,
/// and literal secrets in the gateway configs (ours and upstream's).
pub fn known_secrets(state_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for token in ["gateway/gateway-token", "openclaw/gateway-token"] {
        if let Ok(t) = std::fs::read_to_string(state_dir.join(token)) {
            let t = t.trim();
            if t.len() >= MIN_SECRET {
                out.push(t.to_owned());
            }
        }
    }
    for doc in [
        "device.json",
        "gateway/gateway.json",
        "openclaw/openclaw.json",
    ] {
        if let Ok(text) = std::fs::read_to_string(state_dir.join(doc)) {
            if let Ok(v) = json5::from_str::<Value>(&text) {
                collect(&v, false, &mut out);
            }
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `s` with every known secret and key-shaped run masked.
fn scrub_str(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    mask_shapes(&out)
}

/// `sk-…` runs of 16+ key characters and the word after `Bearer `.
fn mask_shapes(s: &str) -> String {
    let key_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let sk = rest.find("sk-");
        let bearer = rest.find("Bearer ");
        let (at, prefix) = match (sk, bearer) {
            (Some(a), Some(b)) if b < a => (b, "Bearer "),
            (Some(a), _) => (a, "sk-"),
            (None, Some(b)) => (b, "Bearer "),
            (None, None) => break,
        };
        out.push_str(&rest[..at + prefix.len()]);
        let tail = &rest[at + prefix.len()..];
        let in_token = |c: char| {
            if prefix == "sk-" {
                key_char(c)
            } else {
                !c.is_whitespace() && !matches!(c, '"' | '\'' | ',' | ';')
            }
        };
        let run = tail.find(|c: char| !in_token(c)).unwrap_or(tail.len());
        let long_enough = if prefix == "sk-" { run >= 16 } else { run >= 1 };
        if long_enough {
            out.push_str(MASK);
        } else {
            out.push_str(&tail[..run]);
        }
        rest = &tail[run..];
    }
    out.push_str(rest);
    out
}

/// `v` with secrets masked (see the module docs).
pub fn scrub(v: &Value, secrets: &[String]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let masked = match x {
                        Value::String(_) if is_secret_key(k) => Value::String(MASK.into()),
                        other => scrub(other, secrets),
                    };
                    (k.clone(), masked)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| scrub(x, secrets)).collect()),
        Value::String(s) => Value::String(scrub_str(s, secrets)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_known_values_keys_and_shapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gateway")).unwrap();
        let token = "f".repeat(64);
        std::fs::write(
            dir.path().join("gateway/gateway-token"),
            format!("{token}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("gateway/gateway.json"),
            r#"{ models: { providers: { p: { baseUrl: "https://x", apiKey: "plain-provider-key-42" },
                 q: { apiKey: "${ENV_KEY}" } } } }"#,
        )
        .unwrap();
        let secrets = known_secrets(dir.path());
        assert!(secrets.contains(&token));
        assert!(secrets.contains(&"plain-provider-key-42".to_owned()));
        assert!(
            !secrets.iter().any(|s| s.contains("ENV_KEY")),
            "an env reference is not a secret"
        );
        let doc = json!({
            "log": [format!("connect with {token} failed"), "auth Bearer abc.def ok", "key sk-ABCDEFGHIJKLMNOPQRSTUV used",
                    "echo plain-provider-key-42", "sk-short stays"],
            "nested": {"apiKey": "anything", "count": 3, "deviceSeed": "zzz"},
            "plain": "nothing to see"
        });
        let out = scrub(&doc, &secrets);
        let text = out.to_string();
        for leaked in [
            token.as_str(),
            "abc.def",
            "ABCDEFGHIJKLMNOPQRSTUV",
            "plain-provider-key-42",
            "anything",
            "zzz",
        ] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
        assert_eq!(out["log"][1], "auth Bearer *** ok");
        assert_eq!(out["log"][4], "sk-short stays");
        assert_eq!(out["nested"]["count"], 3);
        assert_eq!(out["plain"], "nothing to see");
    }
}
