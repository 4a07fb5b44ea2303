//! Reading a config file: JSON5 text → JSON value → typed [`Config`], with every problem located.
//!
//! The file may be absent (defaults apply). When present it must be a regular file owned by this
//! user and not writable by others, at most [`MAX_FILE_BYTES`], checked on the opened file (a FIFO
//! swapped in is refused, never waited on), and nested at most [`depth::MAX_DEPTH`] levels deep,
//! checked on the text before the (recursive) parser sees it. Syntax errors carry the parser's
//! line and column; type errors are traced to the offending key path and its line; keys the schema
//! does not know are collected once each as warnings, never errors. Error texts never quote the
//! file's content (a secret may sit on the failing line).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::depth;
use super::locate::{locate, split_path, Position};
use super::redact::is_secret_key;
use super::schema::Config;

/// Largest config file read.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A config problem: where (file, line, column, key path) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file; `None` when the problem comes from the command line.
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key path, e.g. `gateway.auth.mode`.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    /// A problem with no location.
    pub fn new(file: Option<&Path>, reason: impl Into<String>) -> Self {
        ConfigError {
            file: file.map(Path::to_path_buf),
            line: None,
            column: None,
            key: None,
            reason: reason.into(),
        }
    }

    /// A problem at a key path, located in `text` when given.
    pub fn at_key(file: &Path, text: Option<&str>, key: &str, reason: impl Into<String>) -> Self {
        let pos = text.and_then(|t| locate(t, &split_path(key)));
        ConfigError {
            file: Some(file.to_path_buf()),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            key: Some(key.to_owned()),
            reason: reason.into(),
        }
    }

    /// A problem with a command-line flag.
    pub fn flag(flag: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: None,
            column: None,
            key: Some(flag.to_owned()),
            reason: reason.into(),
        }
    }

    /// The structured form sent to clients (`details.issues[]`, `config.changed`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "file": self.file.as_ref().map(|f| f.display().to_string()),
            "line": self.line,
            "column": self.column,
            "path": self.key,
            "message": self.reason,
        })
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => {
                write!(f, "{}", file.display())?;
                if let Some(line) = self.line {
                    write!(f, ":{line}")?;
                    if let Some(col) = self.column {
                        write!(f, ":{col}")?;
                    }
                }
                f.write_str(": ")?;
            }
            None => f.write_str("command line: ")?,
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// A config file as read: its text, hash, JSON value, typed form and unsupported keys.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// Whether the file exists (absent → defaults).
    pub exists: bool,
    /// The text, when the file exists.
    pub text: Option<String>,
    /// Lower-case hex SHA-256 of the file bytes, when the file exists.
    pub hash: Option<String>,
    /// The parsed JSON5 as JSON (`{}` when absent). Unsupported keys are kept.
    pub doc: Value,
    /// The typed config.
    pub config: Config,
    /// Key paths the schema does not support (one warning each).
    pub unsupported: Vec<String>,
}

/// Lower-case hex SHA-256.
pub fn hash_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and parses `path`. An absent file gives the defaults.
pub fn read(path: &Path) -> Result<Loaded, ConfigError> {
    let (file, meta) = match crate::process::regular_file::open(path) {
        Ok(x) => x,
        Err(e) if e.is_not_found() => return Ok(absent(path)),
        Err(e) => return Err(ConfigError::new(Some(path), format!("cannot read: {e}"))),
    };
    check_file(path, &meta)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_FILE_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| ConfigError::new(Some(path), format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::new(Some(path), "file is not valid UTF-8"))?;
    parse(path, text)
}

fn too_large(path: &Path) -> ConfigError {
    ConfigError::new(
        Some(path),
        format!("file is larger than {MAX_FILE_BYTES} bytes"),
    )
}

/// The hash of the file on disk, if it exists (no parsing).
pub fn hash_on_disk(path: &Path) -> Option<String> {
    crate::process::regular_file::read(path, MAX_FILE_BYTES + 1)
        .ok()
        .map(|(b, _)| hash_bytes(&b))
}

fn absent(path: &Path) -> Loaded {
    Loaded {
        path: path.to_path_buf(),
        exists: false,
        text: None,
        hash: None,
        doc: Value::Object(serde_json::Map::new()),
        config: Config::default(),
        unsupported: Vec::new(),
    }
}

fn check_file(path: &Path, meta: &std::fs::Metadata) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    if !meta.is_file() {
        return Err(ConfigError::new(Some(path), "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(ConfigError::new(
            Some(path),
            "file is owned by another user; refusing to trust it",
        ));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(ConfigError::new(
            Some(path),
            "file is writable by every user; refusing to trust it (chmod o-w)",
        ));
    }
    Ok(())
}

/// Parses config text (pure). The text is checked for size and nesting depth first, so what
/// passes here is also what [`read`] accepts from disk.
pub fn parse(path: &Path, text: String) -> Result<Loaded, ConfigError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    depth::check_text(&text).map_err(|e| ConfigError {
        file: Some(path.to_path_buf()),
        line: e.at.map(|p| p.line),
        column: e.at.map(|p| p.column),
        key: None,
        reason: format!("invalid JSON5: {e}"),
    })?;
    let doc: Value = json5::from_str(&text).map_err(|e| syntax_error(path, &e))?;
    if !doc.is_object() {
        return Err(ConfigError {
            file: Some(path.to_path_buf()),
            line: Some(1),
            column: Some(1),
            key: None,
            reason: "the config must be a JSON5 object".into(),
        });
    }
    let (config, unsupported) = typed(&doc)
        .map_err(|(key, reason)| ConfigError::at_key(path, Some(&text), &key, reason))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        exists: true,
        hash: Some(hash_bytes(text.as_bytes())),
        text: Some(text),
        doc,
        config,
        unsupported,
    })
}

/// Converts a JSON value into the typed config. On failure: the key path and the reason.
pub fn typed(doc: &Value) -> Result<(Config, Vec<String>), (String, String)> {
    let mut unsupported = Vec::new();
    let result: Result<Config, serde_json::Error> =
        serde_ignored::deserialize(doc, |p| unsupported.push(p.to_string()));
    match result {
        Ok(config) => {
            unsupported.sort();
            unsupported.dedup();
            Ok((config, unsupported))
        }
        Err(e) => {
            let message = e.to_string();
            let path = failing_path(doc, &message);
            let key = path.join(".");
            let secret = path.iter().any(|seg| is_secret_key(seg));
            let reason = if secret {
                // Never echo what was found where a secret belongs.
                "invalid value (expected a string)".to_owned()
            } else {
                message
            };
            Err((key, reason))
        }
    }
}

fn type_error(doc: &Value) -> Option<String> {
    serde_json::from_value::<Config>(doc.clone())
        .err()
        .map(|e| e.to_string())
}

/// Finds the key path whose value causes `message`. A child is the culprit when removing it
/// changes the error and either keeping only it (among its siblings) reproduces the error, or
/// removing it makes the error disappear (its siblings are required). Errors about the node
/// itself (a missing required field) stop the descent there.
fn failing_path(doc: &Value, message: &str) -> Vec<String> {
    let mut path: Vec<String> = Vec::new();
    for _ in 0..64 {
        let Some(node) = pointer(doc, &path) else {
            break;
        };
        let children: Vec<String> = match node {
            Value::Object(m) => m.keys().cloned().collect(),
            Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
            _ => break,
        };
        let culprit = children.into_iter().find(|child| {
            let removed = type_error(&with_node(doc, &path, |n| remove_child(n, child)));
            if removed.as_deref() == Some(message) {
                return false;
            }
            removed.is_none()
                || type_error(&with_node(doc, &path, |n| keep_only(n, child))).as_deref()
                    == Some(message)
        });
        match culprit {
            Some(child) => path.push(child),
            None => break,
        }
    }
    path
}

fn pointer<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |node, seg| match node {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn with_node(v: &Value, path: &[String], f: impl FnOnce(&mut Value)) -> Value {
    let mut out = v.clone();
    let mut node = &mut out;
    for seg in path {
        node = match node {
            Value::Object(m) => match m.get_mut(seg) {
                Some(n) => n,
                None => return out,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(n) => n,
                None => return out,
            },
            _ => return out,
        };
    }
    f(node);
    out
}

fn keep_only(node: &mut Value, child: &str) {
    match node {
        Value::Object(m) => m.retain(|k, _| k == child),
        Value::Array(a) => {
            if let Some(i) = child.parse::<usize>().ok().filter(|i| *i < a.len()) {
                let kept = a.swap_remove(i);
                a.clear();
                a.push(kept);
            }
        }
        _ => {}
    }
}

fn remove_child(node: &mut Value, child: &str) {
    match node {
        Value::Object(m) => {
            m.remove(child);
        }
        Value::Array(a) => {
            if let Some(i) = child.parse::<usize>().ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn syntax_error(path: &Path, e: &json5::Error) -> ConfigError {
    let json5::Error::Message { msg, location } = e;
    // pest renders the offending line into the message; keep only its "expected …" summary.
    let summary = msg
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("= "))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if msg.contains('\n') || msg.len() > 200 {
                "syntax error".to_owned()
            } else {
                msg.clone()
            }
        });
    ConfigError {
        file: Some(path.to_path_buf()),
        line: location.as_ref().map(|l| l.line),
        column: location.as_ref().map(|l| l.column),
        key: None,
        reason: format!("invalid JSON5: {summary}"),
    }
}

/// Where a key sits in a loaded file, if it does.
pub fn position(loaded: &Loaded, key: &str) -> Option<Position> {
    loaded
        .text
        .as_deref()
        .and_then(|t| locate(t, &split_path(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/cfg/gateway.json")
    }

    fn err(text: &str) -> ConfigError {
        parse(&p(), text.to_owned()).unwrap_err()
    }

    #[test]
    fn an_openclaw_json_loads_and_unknown_keys_are_warnings() {
        let text = r#"{
          // upstream keys Tether ignores
          update: { checkOnStart: false },
          gateway: { mode: "local", port: 18789, bind: "loopback",
                     auth: { mode: "token", token: "research-token-123" }, tailscale: {} },
          models: { mode: "merge", providers: { mock: {
              baseUrl: "http://127.0.0.1:18800/v1", apiKey: "mock-key", api: "openai-completions",
              models: [ { id: "mock-1", name: "Mock 1", input: ["text"], contextWindow: 32000 } ] } } },
          agents: { defaults: { model: { primary: "mock/mock-1" } } },
        }"#;
        let l = parse(&p(), text.to_owned()).unwrap();
        assert_eq!(l.config.gateway.port, Some(18789));
        assert_eq!(
            l.config.gateway.auth.token.as_ref().unwrap().expose(),
            "research-token-123"
        );
        assert_eq!(
            l.unsupported,
            vec!["gateway.tailscale", "models.mode", "update"]
        );
        assert_eq!(
            l.config.models.providers["mock"].models[0].input,
            Some(vec!["text".to_owned()])
        );
        assert!(l.hash.as_ref().unwrap().len() == 64);
    }

    #[test]
    fn syntax_errors_have_a_line_and_never_quote_the_file() {
        let e = err("{\n  gateway: {\n    auth: { token: \"s3cret\" \n  }\n");
        assert_eq!(e.file, Some(p()));
        assert!(e.line.is_some());
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(e.to_string().starts_with("/cfg/gateway.json:"), "{e}");
    }

    #[test]
    fn type_errors_name_the_key_and_its_line() {
        let e = err("{\n  gateway: {\n    port: \"eighty\",\n  },\n}");
        assert_eq!(e.key.as_deref(), Some("gateway.port"));
        assert_eq!(e.line, Some(3));
        assert!(e.reason.contains("expected u16"), "{}", e.reason);
        assert_eq!(
            e.to_string(),
            format!("/cfg/gateway.json:3:5: gateway.port: {}", e.reason)
        );

        let e = err("{ gateway: { bind: 'everywhere' } }");
        assert_eq!(e.key.as_deref(), Some("gateway.bind"));
        assert!(e.reason.contains("unknown variant"), "{}", e.reason);

        let e = err("{ gateway: { port: 70000 } }");
        assert_eq!(e.key.as_deref(), Some("gateway.port"));
    }

    #[test]
    fn errors_below_required_siblings_are_found() {
        let text = "{\n models: { providers: { x: {\n  baseUrl: 'http://h',\n  models: [ { id: 'a' }, { id: 5 } ],\n } } } }";
        let e = err(text);
        assert_eq!(e.key.as_deref(), Some("models.providers.x.models.1.id"));
        assert_eq!(e.line, Some(4));
        let e = err("{ models: { providers: { x: { models: [] } } } }");
        assert_eq!(e.key.as_deref(), Some("models.providers.x"));
        assert!(e.reason.contains("baseUrl"), "{}", e.reason);
    }

    #[test]
    fn secret_values_are_not_echoed() {
        let e = err("{ gateway: { auth: { token: 123456789 } } }");
        assert_eq!(e.key.as_deref(), Some("gateway.auth.token"));
        assert!(!e.to_string().contains("123456789"), "{e}");
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(err("[1, 2]").reason.contains("object"));
        assert!(err("12").reason.contains("object"));
    }
}
