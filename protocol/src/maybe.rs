//! `Maybe<T>`: a field that can be absent, explicitly `null`, or a value.
//!
//! Upstream serializes with `JSON.stringify`, which drops `undefined` but keeps `null`, and some
//! fields mean different things in each case (`shutdown.restartExpectedMs: null` is "not coming
//! back"; absent is "unknown"). `Option<T>` cannot tell them apart, so fields where the
//! difference is observable use this type. Declare them with
//! `#[serde(default, skip_serializing_if = "Maybe::is_absent")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Absent, explicit `null`, or a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Maybe<T> {
    /// The key was not present.
    #[default]
    Absent,
    /// The key was present with the value `null`.
    Null,
    /// The key was present with a value.
    Value(T),
}

impl<T> Maybe<T> {
    /// True when the key was not present (used by `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }

    /// The value, if there is one.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Maybe::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if there is one.
    pub fn into_option(self) -> Option<T> {
        match self {
            Maybe::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T: Copy> Maybe<T> {
    /// The value, if there is one.
    pub fn get(&self) -> Option<T> {
        self.as_ref().copied()
    }
}

impl<T> From<Option<T>> for Maybe<T> {
    /// `None` becomes an explicit `null`.
    fn from(o: Option<T>) -> Self {
        match o {
            Some(v) => Maybe::Value(v),
            None => Maybe::Null,
        }
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Maybe::Value(v) => v.serialize(s),
            Maybe::Null | Maybe::Absent => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    /// Only called when the key is present (absent keys take `Default`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.into())
    }
}
