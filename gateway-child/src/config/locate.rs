//! Finds where a key path sits in JSON5 text, so config errors can name a line.
//!
//! The JSON5 parser reports lines for syntax errors only; type and policy errors come from the
//! typed layer, which knows the key path (`gateway.auth.mode`, `models.providers.x.models.0.id`)
//! but not the text. This module skims the text (strings, comments, unquoted keys, nesting) to map
//! a path back to a 1-based line and column. It reads only the text it is given and never fails
//! loudly: an unknown path simply has no location.

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

/// Splits a dotted path (`a.b.0.c`) into segments. Numeric segments also match array indices.
pub fn split_path(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.split('.').map(str::to_owned).collect()
}

/// The position of the key (for object members) or the value (for array elements) at `path`.
pub fn locate(text: &str, path: &[String]) -> Option<Position> {
    let mut skim = Skim {
        s: text.as_bytes(),
        i: 0,
    };
    let at = skim.find(path, 0)?;
    Some(position_of(text, at))
}

/// The 1-based line and column of a byte offset.
pub fn position_of(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Position { line, column }
}

const MAX_DEPTH: usize = 256;

struct Skim<'a> {
    s: &'a [u8],
    i: usize,
}

impl Skim<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(b) if b.is_ascii_whitespace() => self.i += 1,
                // Non-ASCII whitespace (NBSP, BOM, line separators) as JSON5 allows.
                Some(0xc2) if self.s.get(self.i + 1) == Some(&0xa0) => self.i += 2,
                Some(0xef) if self.s.get(self.i + 1..self.i + 3) == Some(&[0xbb, 0xbf]) => {
                    self.i += 3
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'/') => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'*') => {
                    self.i += 2;
                    while self.i < self.s.len() {
                        if self.s[self.i] == b'*' && self.s.get(self.i + 1) == Some(&b'/') {
                            self.i += 2;
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// A quoted string at the cursor, unescaped loosely (escapes keep the escaped char).
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            if b == quote {
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            if b == b'\\' {
                if let Some(n) = self.peek() {
                    self.i += 1;
                    out.push(n);
                }
                continue;
            }
            out.push(b);
        }
        None
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
                self.i += 1;
            } else {
                break;
            }
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn key(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' | b'\'' => self.string(),
            _ => self.ident(),
        }
    }

    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        _ => {
                            self.key()?;
                            self.skip_ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.i += 1;
                            self.skip_value(depth + 1)?;
                        }
                    }
                }
            }
            b'[' => {
                self.i += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        b',' => self.i += 1,
                        _ => self.skip_value(depth + 1)?,
                    }
                }
            }
            b'"' | b'\'' => self.string().map(|_| ()),
            _ => {
                let start = self.i;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b'/') || b.is_ascii_whitespace() {
                        break;
                    }
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }

    fn find(&mut self, path: &[String], depth: usize) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let Some((first, rest)) = path.split_first() else {
            return Some(self.i);
        };
        match self.peek()? {
            b'{' => {
                self.i += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => return None,
                        b',' => self.i += 1,
                        _ => {
                            let key_at = self.i;
                            let key = self.key()?;
                            self.skip_ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.i += 1;
                            if &key == first {
                                if rest.is_empty() {
                                    return Some(key_at);
                                }
                                return self.find(rest, depth + 1);
                            }
                            self.skip_value(depth + 1)?;
                        }
                    }
                }
            }
            b'[' => {
                let want: usize = first.parse().ok()?;
                self.i += 1;
                let mut index = 0usize;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => return None,
                        b',' => self.i += 1,
                        _ => {
                            if index == want {
                                return self.find(rest, depth + 1);
                            }
                            self.skip_value(depth + 1)?;
                            index += 1;
                        }
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"// Tether config
{
  gateway: {
    port: 18789, /* inline */
    "bind": 'lan',
    auth: { mode: "token", token: "a}b\"c" },
  },
  models: {
    providers: {
      'mock-1': {
        baseUrl: "http://127.0.0.1:1/v1",
        models: [
          { id: "m1" },
          // second
          { id: 5 },
        ],
      },
    },
  },
}
"#;

    fn check(path: &str, expect: Option<(usize, usize)>) {
        let got = locate(TEXT, &split_path(path)).map(|p| (p.line, p.column));
        assert_eq!(got, expect, "{path}");
    }

    #[test]
    fn finds_keys_quoted_or_not_past_comments_and_strings() {
        check("", Some((2, 1)));
        check("gateway", Some((3, 3)));
        check("gateway.port", Some((4, 5)));
        check("gateway.bind", Some((5, 5)));
        check("gateway.auth.mode", Some((6, 13)));
        check("gateway.auth.token", Some((6, 28)));
        check("models.providers.mock-1.baseUrl", Some((11, 9)));
        check("models.providers.mock-1.models.0.id", Some((13, 13)));
        check("models.providers.mock-1.models.1", Some((15, 11)));
        check("models.providers.mock-1.models.1.id", Some((15, 13)));
    }

    #[test]
    fn unknown_paths_have_no_position() {
        check("gateway.nope", None);
        check("models.providers.mock-1.models.7", None);
        check("gateway.port.deeper", None);
        assert_eq!(locate("{ broken", &split_path("a")), None);
    }

    #[test]
    fn columns_count_characters() {
        let text = "{ \"é\": 1, b: 2 }";
        assert_eq!(
            locate(text, &split_path("b")),
            Some(Position {
                line: 1,
                column: 11
            })
        );
    }
}
