//! The members of one flat JSON object, borrowed: Zeek/Corelight and NXLog records.
//!
//! Written by hand rather than with serde_json because a forwarder needs the members lazily, in
//! order, without building a map per event, and must keep going past what it cannot read: a
//! nested object or array is yielded as its raw JSON text, and anything after a syntax error is
//! yielded whole with an empty key, so no byte of the record is lost.

use std::borrow::Cow;

use crate::text;

/// An iterator over `(key, value)` of a JSON object's top level. String values are unescaped;
/// numbers, `true`/`false` are their text; `null` members are skipped (Zeek writes them for
/// unset fields); objects and arrays are their raw text.
#[derive(Debug, Clone)]
pub struct Members<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Members<'a> {
    /// Starts after the opening `{` (leading whitespace allowed); an input that does not start
    /// with `{` yields itself with an empty key.
    pub fn new(input: &'a [u8]) -> Members<'a> {
        let trimmed = text::trim_spaces(input);
        match trimmed.strip_prefix(b"{") {
            Some(inside) => Members {
                rest: inside,
                done: false,
            },
            None => Members {
                rest: trimmed,
                done: trimmed.is_empty(),
            },
        }
    }

    fn give_up(&mut self) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
        self.done = true;
        let rest = text::trim_spaces(self.rest);
        let rest = rest.strip_suffix(b"}").unwrap_or(rest);
        (!rest.is_empty()).then(|| (Cow::Borrowed(""), text::utf8_cow(rest)))
    }
}

fn skip_whitespace(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    input.get(n..).unwrap_or_default()
}

/// The length of the string body starting after an opening quote, up to the closing quote.
fn string_len(input: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', input.get(at..)?)?;
        if input.get(found) == Some(&b'\\') {
            at = found + 2;
        } else {
            return Some(found);
        }
    }
}

/// The length of a nested object or array at the front of `input` (brackets balanced, strings
/// skipped).
fn nested_len(input: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = input.get(at) {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            b'"' => at += 1 + string_len(input.get(at + 1..)?)?,
            _ => {}
        }
        at += 1;
    }
    None
}

/// Decodes a JSON string body (escapes included), borrowing when it has no escapes.
pub fn unescape(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return text::utf8_cow(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(slash) = memchr::memchr(b'\\', rest) {
        out.push_str(&text::utf8_cow(rest.get(..slash).unwrap_or_default()));
        let escape = rest.get(slash + 1..).unwrap_or_default();
        let (decoded, used) = match escape.first() {
            Some(b'n') => (Some('\n'), 1),
            Some(b't') => (Some('\t'), 1),
            Some(b'r') => (Some('\r'), 1),
            Some(b'b') => (Some('\u{8}'), 1),
            Some(b'f') => (Some('\u{c}'), 1),
            Some(b'u') => unicode_escape(escape.get(1..).unwrap_or_default()),
            Some(&other) => (Some(char::from(other)), 1),
            None => (None, 0),
        };
        out.push(decoded.unwrap_or(char::REPLACEMENT_CHARACTER));
        rest = escape.get(used..).unwrap_or_default();
    }
    out.push_str(&text::utf8_cow(rest));
    Cow::Owned(out)
}

fn hex4(input: &[u8]) -> Option<u32> {
    let digits = std::str::from_utf8(input.get(..4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// `XXXX` (after `\u`), with a following `\uXXXX` low surrogate when the first is a high one.
/// Returns the char and how many bytes after the backslash it used.
fn unicode_escape(input: &[u8]) -> (Option<char>, usize) {
    let Some(first) = hex4(input) else {
        return (None, 1);
    };
    if (0xD800..0xDC00).contains(&first) {
        let low = input
            .get(4..6)
            .filter(|p| *p == b"\\u")
            .and_then(|_| hex4(input.get(6..).unwrap_or_default()))
            .filter(|low| (0xDC00..0xE000).contains(low));
        if let Some(low) = low {
            let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
            return (char::from_u32(code), 11);
        }
        return (None, 5);
    }
    (char::from_u32(first), 5)
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let input = skip_whitespace(self.rest);
            let input = skip_whitespace(input.strip_prefix(b",").unwrap_or(input));
            if input.is_empty() || input.first() == Some(&b'}') {
                self.done = true;
                return None;
            }
            self.rest = input;
            let Some(key_body) = input.strip_prefix(b"\"") else {
                return self.give_up();
            };
            let Some(key_len) = string_len(key_body) else {
                return self.give_up();
            };
            let key = unescape(key_body.get(..key_len).unwrap_or_default());
            let after_key = skip_whitespace(key_body.get(key_len + 1..).unwrap_or_default());
            let Some(value) = after_key.strip_prefix(b":").map(skip_whitespace) else {
                return self.give_up();
            };
            let (text, used) = match value.first() {
                Some(b'"') => {
                    let body = value.get(1..).unwrap_or_default();
                    let Some(len) = string_len(body) else {
                        return self.give_up();
                    };
                    (unescape(body.get(..len).unwrap_or_default()), len + 2)
                }
                Some(b'{' | b'[') => {
                    let Some(len) = nested_len(value) else {
                        return self.give_up();
                    };
                    (text::utf8_cow(value.get(..len).unwrap_or_default()), len)
                }
                Some(_) => {
                    let len = value
                        .iter()
                        .position(|b| matches!(b, b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n'))
                        .unwrap_or(value.len());
                    (text::utf8_cow(value.get(..len).unwrap_or_default()), len)
                }
                None => return self.give_up(),
            };
            self.rest = value.get(used..).unwrap_or_default();
            if text == "null" && value.first() != Some(&b'"') {
                continue;
            }
            return Some((key, text));
        }
    }
}

/// The first member named `key` whose value is a plain string or scalar.
pub fn get<'a>(input: &'a [u8], key: &str) -> Option<Cow<'a, str>> {
    Members::new(input).find(|(k, _)| k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(input: &str) -> Vec<(String, String)> {
        Members::new(input.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn scalars_strings_nested_and_nulls() {
        assert_eq!(
            members(
                r#"{"_path":"dns","id.orig_p":53,"ok":true,"q":"a\"b\u00e9\ud83d\ude00","answers":["x","y]"],"n":null,"o":{"a":{"b":1}}}"#
            ),
            vec![
                ("_path".into(), "dns".into()),
                ("id.orig_p".into(), "53".into()),
                ("ok".into(), "true".into()),
                ("q".into(), "a\"b\u{e9}\u{1f600}".into()),
                ("answers".into(), r#"["x","y]"]"#.into()),
                ("o".into(), r#"{"a":{"b":1}}"#.into()),
            ]
        );
    }

    #[test]
    fn broken_records_keep_the_rest() {
        assert_eq!(
            members(r#"{"a":"1", oops "b":2}"#),
            vec![
                ("a".into(), "1".into()),
                (String::new(), r#"oops "b":2"#.into())
            ]
        );
        assert_eq!(
            members(r#"{"a":"unterminated"#),
            vec![(String::new(), r#""a":"unterminated"#.into())]
        );
        assert_eq!(members("{}"), vec![]);
        assert_eq!(
            members("not json"),
            vec![(String::new(), "not json".into())]
        );
    }
}
