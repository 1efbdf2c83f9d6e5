//! `key=value` lists as firewalls write them: FortiGate and Sophos (`key=value key="quoted
//! value"`), Check Point's log exporter (`key=value|key=value`, `\|` and `\=` escaped) and its
//! syslog form (`[key:"value"; key:"value"]`).
//!
//! Written by hand because the rules are the devices', not a standard one a crate implements: a
//! new key starts only at a separator followed by `key=`, so unquoted values may hold the
//! separator (`origin=1.1.1.1|2.2.2.2`) and `=` (URLs) where the dialect allows; text that belongs to no key
//! is yielded with an empty key, so that nothing in the payload is lost.

use std::borrow::Cow;

use crate::text;

/// The punctuation of one `key=value` dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Between pairs (`' '`, `'|'`, `';'`).
    pub separator: u8,
    /// Between key and value (`'='`, `':'`).
    pub assign: u8,
    /// Whether a backslash escapes the next byte (in quoted and unquoted values).
    pub backslash_escapes: bool,
    /// The quote that may enclose a value (`"`, or `'` for Meraki).
    pub quote: u8,
    /// Whether an unquoted value ends at the first separator (devices that quote every value
    /// with spaces) rather than where the next `key=` starts (Check Point's `a|b` values).
    pub unquoted_ends_at_separator: bool,
}

/// FortiGate, Sophos XG, Meraki: `key=value key="value with spaces"`.
pub const SPACED: Dialect = Dialect {
    separator: b' ',
    assign: b'=',
    backslash_escapes: false,
    quote: b'"',
    unquoted_ends_at_separator: true,
};

/// Cisco Meraki: `key=value key='value with spaces'`.
pub const SINGLE_QUOTED: Dialect = Dialect {
    separator: b' ',
    assign: b'=',
    backslash_escapes: false,
    quote: b'\'',
    unquoted_ends_at_separator: true,
};

/// Check Point log exporter: `key=value|key=value` with `\|`, `\=`, `\\`.
pub const PIPED: Dialect = Dialect {
    separator: b'|',
    assign: b'=',
    backslash_escapes: true,
    quote: b'"',
    unquoted_ends_at_separator: false,
};

/// Check Point syslog: `key:"value"; key:"value"` (inside `[…]`, stripped by the caller).
pub const COLON_QUOTED: Dialect = Dialect {
    separator: b';',
    assign: b':',
    backslash_escapes: true,
    quote: b'"',
    unquoted_ends_at_separator: false,
};

/// An iterator over the pairs of a `key=value` list; see the module docs for the rules.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: &'a [u8],
    dialect: Dialect,
}

impl<'a> Pairs<'a> {
    pub fn new(input: &'a [u8], dialect: Dialect) -> Pairs<'a> {
        Pairs {
            rest: input,
            dialect,
        }
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@')
}

impl Dialect {
    fn is_gap(self, b: u8) -> bool {
        b == self.separator || b == b' ' || b == b'\t'
    }

    /// The length of a `key` + assign at the front of `input`, if one is there.
    fn key_at(self, input: &[u8]) -> Option<usize> {
        let key_len = input.iter().take_while(|&&b| is_key_byte(b)).count();
        (key_len > 0 && input.get(key_len) == Some(&self.assign)).then_some(key_len)
    }

    /// Where the next pair starts in `input` (a separator, gaps, then `key=`), or its end.
    fn next_key(self, input: &[u8]) -> usize {
        let mut at = 0;
        while let Some(offset) = memchr::memchr(self.separator, input.get(at..).unwrap_or_default())
        {
            let sep = at + offset;
            if self.backslash_escapes && escaped(input, sep) {
                at = sep + 1;
                continue;
            }
            let after = input.get(sep + 1..).unwrap_or_default();
            let gaps = after.iter().take_while(|&&b| self.is_gap(b)).count();
            let next = after.get(gaps..).unwrap_or_default();
            // A trailing separator ends the value too (`…|last=value|`).
            if next.is_empty() || self.key_at(next).is_some() {
                return sep;
            }
            at = sep + 1;
        }
        input.len()
    }
}

/// Whether the byte at `at` follows an odd number of backslashes.
fn escaped(input: &[u8], at: usize) -> bool {
    let before = input.get(..at).unwrap_or_default();
    before.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Turns `\"` into `"` and keeps every other backslash: devices that do not escape write
/// Windows names (`CORP\alice`) as they are.
fn unescape_quotes(raw: &[u8], quote: u8) -> Cow<'_, str> {
    let escaped_quote = [b'\\', quote];
    if memchr::memmem::find(raw, &escaped_quote).is_none() {
        return text::utf8_cow(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\\' && bytes.peek() == Some(&&quote) {
            continue;
        }
        out.push(b);
    }
    text::owned_text(out)
}

/// Removes backslash escapes, borrowing when there are none.
fn unescape(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return text::utf8_cow(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            match bytes.next() {
                Some(b'n') => out.push(b'\n'),
                Some(b't') => out.push(b'\t'),
                Some(b'r') => out.push(b'\r'),
                Some(&other) => out.push(other),
                None => out.push(b'\\'),
            }
        } else {
            out.push(b);
        }
    }
    text::owned_text(out)
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let d = self.dialect;
        let skip = self.rest.iter().take_while(|&&b| d.is_gap(b)).count();
        let input = self.rest.get(skip..).unwrap_or_default();
        if input.is_empty() {
            self.rest = input;
            return None;
        }
        let Some(key_len) = d.key_at(input) else {
            // Text outside any pair: up to where the next pair starts.
            let end = d.next_key(input);
            let (loose, rest) = input.split_at(end);
            self.rest = rest;
            return Some((Cow::Borrowed(""), text::utf8_cow(text::trim_spaces(loose))));
        };
        let key = text::utf8_cow(input.get(..key_len).unwrap_or_default());
        let value_start = input.get(key_len + 1..).unwrap_or_default();
        if let Some(quoted) = value_start.strip_prefix(&[d.quote]) {
            if let Some(close) = closing_quote(quoted, d.quote) {
                let raw = quoted.get(..close).unwrap_or_default();
                self.rest = quoted.get(close + 1..).unwrap_or_default();
                let value = if !raw.contains(&b'\\') {
                    text::utf8_cow(raw)
                } else if d.backslash_escapes {
                    unescape(raw)
                } else {
                    unescape_quotes(raw, d.quote)
                };
                return Some((key, value));
            }
        }
        let end = if d.unquoted_ends_at_separator {
            memchr::memchr(d.separator, value_start).unwrap_or(value_start.len())
        } else {
            d.next_key(value_start)
        };
        let (raw, rest) = value_start.split_at(end);
        self.rest = rest;
        let raw = text::trim_end_whitespace(raw);
        let value = if d.backslash_escapes {
            unescape(raw)
        } else {
            text::utf8_cow(raw)
        };
        Some((key, value))
    }
}

/// The index of the quote that closes a quoted value (one not escaped by a backslash).
fn closing_quote(quoted: &[u8], quote: u8) -> Option<usize> {
    let mut at = 0;
    loop {
        let found = at + memchr::memchr(quote, quoted.get(at..)?)?;
        if !escaped(quoted, found) {
            return Some(found);
        }
        at = found + 1;
    }
}

/// Whether `input` starts with `key` followed by the dialect's assign byte.
pub fn starts_with_key(input: &[u8], key: &[u8], assign: u8) -> bool {
    input.strip_prefix(key).and_then(|r| r.first()) == Some(&assign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str, dialect: Dialect) -> Vec<(String, String)> {
        Pairs::new(input.as_bytes(), dialect)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn spaced_with_quotes_and_loose_text() {
        assert_eq!(
            pairs(
                r#"date=2021-01-15 devname="FORTI 1" msg="say \"hi\"" user="CORP\al" url=/a?b=c ui=ssh(x) status="" RADIUS server up"#,
                SPACED
            ),
            owned(&[
                ("date", "2021-01-15"),
                ("devname", "FORTI 1"),
                ("msg", r#"say "hi""#),
                ("user", r"CORP\al"),
                ("url", "/a?b=c"),
                ("ui", "ssh(x)"),
                ("status", ""),
                ("", "RADIUS server up"),
            ])
        );
        assert_eq!(
            pairs("time=10: 13:03 level=notice", SPACED),
            owned(&[("time", "10:"), ("", "13:03"), ("level", "notice")])
        );
    }

    #[test]
    fn piped_and_colon_quoted() {
        assert_eq!(
            pairs(
                r"|hostname=GW|origin=1.1.1.1|2.2.2.2|originsicname=cn\=cp_mgmt,o\=x|a=b\|c|",
                PIPED
            ),
            owned(&[
                ("hostname", "GW"),
                ("origin", "1.1.1.1|2.2.2.2"),
                ("originsicname", "cn=cp_mgmt,o=x"),
                ("a", "b|c"),
            ])
        );
        assert_eq!(
            pairs(
                r#"action:"Drop"; flags:"400644"; ifdir:"inbound""#,
                COLON_QUOTED
            ),
            owned(&[
                ("action", "Drop"),
                ("flags", "400644"),
                ("ifdir", "inbound")
            ])
        );
    }

    #[test]
    fn unterminated_quote_keeps_the_rest() {
        assert_eq!(
            pairs(r#"a="open value b=1"#, SPACED),
            owned(&[("a", "\"open"), ("", "value"), ("b", "1")])
        );
    }
}
