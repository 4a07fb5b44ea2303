//! `Secret`: a token, password or key that must never reach a log, an error or a `Debug` dump.
//!
//! It serializes as the plain string (it has to go on the wire inside `connect.auth`), but its
//! `Debug` and `Display` print `***`. Comparison is constant-time over SHA-256 digests, so neither
//! the content nor the length leaks through timing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret string. Prints as `***`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call sites that use this are the places to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality: both sides are hashed, then the digests compared with `subtle`.
    pub fn ct_eq(&self, other: &str) -> bool {
        secret_eq(&self.0, other)
    }
}

/// Constant-time comparison of two secret strings of any lengths.
pub fn secret_eq(a: &str, b: &str) -> bool {
    let da = Sha256::digest(a.as_bytes());
    let db = Sha256::digest(b.as_bytes());
    bool::from(da.as_slice().ct_eq(db.as_slice()))
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(&other.0)
    }
}

impl Eq for Secret {}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
    }

    #[test]
    fn compares_by_value() {
        let s = Secret::new("abc");
        assert!(s.ct_eq("abc"));
        assert!(!s.ct_eq("abd"));
        assert!(!s.ct_eq("ab"));
        assert!(!s.ct_eq(""));
        assert_eq!(s, Secret::from("abc"));
    }

    #[test]
    fn serializes_transparently() {
        let s = Secret::new("t0k");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"t0k\"");
        let back: Secret = serde_json::from_str("\"t0k\"").unwrap();
        assert_eq!(back.expose(), "t0k");
    }
}
