//! How deep a config document may nest, checked before anything recursive sees it.
//!
//! The JSON5 parser, serde, redaction, merge-patch and every JSON consumer downstream (the
//! supervisor parses frames with a 128-level limit) recurse once per level of nesting, so a
//! value nested thousands deep overflows a stack instead of being refused. [`check_text`] skims
//! JSON5 text without recursion (strings, comments and brackets only, linear time, no
//! allocation) and refuses anything nested deeper than [`MAX_DEPTH`] with the line and column of
//! the bracket that goes too deep; [`value_depth`] measures a parsed value iteratively. A real
//! config nests about six levels. This module never parses values and never fails on text it
//! does not understand: syntax is the parser's job, once the depth is known to be safe.

use serde_json::Value;

use super::locate::{position_of, Position};

/// The deepest nesting of objects and arrays a config may have (the top-level object is 1).
/// With the frame around it (`{"payload":{"config":…}}`) a config stays far below the
/// 128-level limit every JSON parser on the wire applies.
pub const MAX_DEPTH: usize = 64;

/// The config nests deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("nested more than {MAX_DEPTH} levels deep")]
pub struct TooDeep {
    /// Where the first bracket beyond the limit is, when the input was text.
    pub at: Option<Position>,
}

/// Checks the nesting depth of JSON5 (or JSON) text without parsing it.
pub fn check_text(text: &str) -> Result<(), TooDeep> {
    let s = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < s.len() {
        match s[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < s.len() && s[i] != q {
                    // An escape takes the next byte with it (a line continuation included).
                    i += if s[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if s.get(i + 1) == Some(&b'/') => {
                while i < s.len() && s[i] != b'\n' && s[i] != b'\r' {
                    i += 1;
                }
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < s.len() && !(s[i] == b'*' && s.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(TooDeep {
                        at: Some(position_of(text, i)),
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The nesting depth of a value (a scalar is 0, `{}` and `[]` are 1), measured iteratively.
pub fn value_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((node, d)) = stack.pop() {
        match node {
            Value::Object(m) => {
                deepest = deepest.max(d + 1);
                stack.extend(m.values().map(|c| (c, d + 1)));
            }
            Value::Array(a) => {
                deepest = deepest.max(d + 1);
                stack.extend(a.iter().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Checks a parsed value against [`MAX_DEPTH`].
pub fn check_value(v: &Value) -> Result<(), TooDeep> {
    if value_depth(v) > MAX_DEPTH {
        return Err(TooDeep { at: None });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("{{a:{}1{}}}", "[".repeat(n - 1), "]".repeat(n - 1))
    }

    #[test]
    fn the_limit_is_inclusive_and_located() {
        assert_eq!(check_text(&nested(MAX_DEPTH)), Ok(()));
        let e = check_text(&nested(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(
            e.at,
            Some(Position {
                line: 1,
                column: MAX_DEPTH + 3
            })
        );
        assert!(check_text(&nested(20_000)).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep_string = format!("{{a: \"{}\", b: '{}'}}", "[".repeat(500), "{".repeat(500));
        assert_eq!(check_text(&deep_string), Ok(()));
        let escaped = format!("{{a: \"\\\"{}\"}}", "[".repeat(500));
        assert_eq!(check_text(&escaped), Ok(()));
        let comments = format!(
            "// {}\n{{ /* {} */ a: 1 }}",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(check_text(&comments), Ok(()));
        // Siblings do not add up.
        let wide = format!("{{a: [{}]}}", vec!["[[1]]"; 1000].join(","));
        assert_eq!(check_text(&wide), Ok(()));
    }

    #[test]
    fn values_are_measured_without_recursion() {
        assert_eq!(value_depth(&serde_json::json!(1)), 0);
        assert_eq!(value_depth(&serde_json::json!({"a": [1, {"b": []}]})), 4);
        let mut v = serde_json::json!(1);
        for _ in 0..MAX_DEPTH {
            v = Value::Array(vec![v]);
        }
        assert_eq!(check_value(&v), Ok(()));
        v = Value::Array(vec![v]);
        assert!(check_value(&v).is_err());
    }
}
