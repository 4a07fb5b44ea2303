//! Session keys: `agent:<agentId>:<name>`, e.g. `agent:main:main`.
//!
//! Clients may send a short key (`main`, `work`); the canonical form puts it under an agent.

use crate::consts::DEFAULT_AGENT_ID;

/// Longest session key accepted (upstream: 512 chars).
pub const MAX_SESSION_KEY_LEN: usize = 512;

/// A parsed, canonical session key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    agent_id: String,
    name: String,
}

/// Why a session key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    /// Empty or whitespace.
    #[error("session key is empty")]
    Empty,
    /// Longer than [`MAX_SESSION_KEY_LEN`].
    #[error("session key is longer than {MAX_SESSION_KEY_LEN} characters")]
    TooLong,
    /// Contains characters outside `[A-Za-z0-9._:-]` or has an empty part.
    #[error("session key {0:?} is not of the form agent:<agentId>:<name> (letters, digits, '.', '_', '-', ':')")]
    Malformed(String),
}

fn valid_part(s: &str, allow_colon: bool) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') || (allow_colon && c == ':')
        })
        && s.split(':').all(|p| !p.is_empty() && p != "." && p != "..")
}

impl SessionKey {
    /// Parses a key: `agent:<agentId>:<name>`, or a bare `<name>` under the default agent.
    pub fn parse(raw: &str) -> Result<SessionKey, SessionKeyError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(SessionKeyError::Empty);
        }
        if s.chars().count() > MAX_SESSION_KEY_LEN {
            return Err(SessionKeyError::TooLong);
        }
        let (agent_id, name) = match s.strip_prefix("agent:") {
            Some(rest) => rest
                .split_once(':')
                .ok_or_else(|| SessionKeyError::Malformed(s.to_owned()))?,
            None => (DEFAULT_AGENT_ID, s),
        };
        if !valid_part(agent_id, false) || !valid_part(name, true) {
            return Err(SessionKeyError::Malformed(s.to_owned()));
        }
        Ok(SessionKey {
            agent_id: agent_id.to_ascii_lowercase(),
            name: name.to_owned(),
        })
    }

    /// The main session of the default agent.
    pub fn main() -> SessionKey {
        SessionKey {
            agent_id: DEFAULT_AGENT_ID.into(),
            name: DEFAULT_AGENT_ID.into(),
        }
    }

    /// The agent id.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The session name within the agent.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "agent:{}:{}", self.agent_id, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            SessionKey::parse("agent:main:main").unwrap().to_string(),
            "agent:main:main"
        );
        assert_eq!(
            SessionKey::parse("main").unwrap().to_string(),
            "agent:main:main"
        );
        assert_eq!(
            SessionKey::parse(" work ").unwrap().to_string(),
            "agent:main:work"
        );
        assert_eq!(
            SessionKey::parse("agent:Ops:x-1").unwrap().to_string(),
            "agent:ops:x-1"
        );
        assert_eq!(
            SessionKey::main(),
            SessionKey::parse("agent:main:main").unwrap()
        );
        let nested = SessionKey::parse("agent:main:telegram:dm:42").unwrap();
        assert_eq!(nested.name(), "telegram:dm:42");
    }

    #[test]
    fn refuses_bad_keys() {
        for bad in [
            "",
            "  ",
            "agent:main",
            "agent::x",
            "agent:a:",
            "../etc",
            "a/b",
            "a\0b",
            "agent:..:x",
            "a b",
            "agent:main:a::b",
            "agent:main:x:..",
        ] {
            assert!(SessionKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            SessionKey::parse(&"x".repeat(600)),
            Err(SessionKeyError::TooLong)
        );
    }
}
