//! ArcSight Common Event Format: `CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
//!
//! Owns: the seven header fields (with `\|` and `\\` unescaped) and the extension's
//! `key=value` pairs (with `\=`, `\\`, `\n`, `\r` unescaped), iterated lazily so that parsing
//! allocates nothing unless an escape forces a copy. Values may hold spaces and unescaped `=`
//! (URLs); a new key starts only at a space followed by a valid key and `=`.

use std::borrow::Cow;

use memchr::memchr2;

use crate::text::{Source, trim_end_whitespace};

/// A parsed CEF record borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cef<'a> {
    /// The version after `CEF:` (`0` or `1`; any digits accepted).
    pub version: &'a str,
    pub device_vendor: Cow<'a, str>,
    pub device_product: Cow<'a, str>,
    pub device_version: Cow<'a, str>,
    pub signature_id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    /// As written: `0`–`10` or `Unknown`/`Low`/`Medium`/`High`/`Very-High`.
    pub severity: Cow<'a, str>,
    pub extensions: Extensions<'a>,
}

/// Why a CEF record could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CefError {
    /// The input does not start with `CEF:` and a version.
    NotCef,
    /// Fewer than the seven `|`-separated header fields; `fields` were found.
    IncompleteHeader { fields: usize },
}

impl core::fmt::Display for CefError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CefError::NotCef => f.write_str("not CEF: expected `CEF:<version>|`"),
            CefError::IncompleteHeader { fields } => write!(
                f,
                "CEF header has {fields} of 7 `|`-separated fields (version, vendor, product, \
                 version, signature id, name, severity)"
            ),
        }
    }
}

impl std::error::Error for CefError {}

/// Unescapes a header field (`\|` and `\\`; other backslashes are kept).
fn unescape_header<'a>(source: &Source<'a>, (raw, escaped): HeaderField<'a>) -> Cow<'a, str> {
    if !escaped {
        // Known from the split: no second search for a backslash.
        return source.cow_of(raw);
    }
    crate::text::unescape(source, raw, |b| matches!(b, b'|' | b'\\').then_some(b))
}

/// A header field's bytes and whether it holds a backslash.
type HeaderField<'a> = (&'a [u8], bool);

/// Splits off the next header field, ending at an unescaped `|`.
fn header_field(input: &[u8]) -> Option<(HeaderField<'_>, &[u8])> {
    let mut from = 0;
    let mut escaped = false;
    loop {
        let pos = from + memchr2(b'|', b'\\', input.get(from..)?)?;
        if input.get(pos) == Some(&b'\\') {
            escaped = true;
            from = pos + 2;
            continue;
        }
        return Some(((input.get(..pos)?, escaped), input.get(pos + 1..)?));
    }
}

/// The last header field when no `|` ends it: up to the first space, the rest being the
/// extensions.
fn severity_without_pipe(rest: &[u8]) -> (HeaderField<'_>, &[u8]) {
    let (severity, extensions) = match memchr::memchr(b' ', rest) {
        Some(at) => (
            rest.get(..at).unwrap_or_default(),
            rest.get(at + 1..).unwrap_or_default(),
        ),
        None => (rest, &b""[..]),
    };
    let mut severity = crate::text::trim_spaces(severity);
    while let [head @ .., b'\r' | b'\n'] = severity {
        severity = head;
    }
    ((severity, severity.contains(&b'\\')), extensions)
}

/// Parses a CEF record; `input` starts at `CEF:`.
pub fn parse_cef(input: &[u8]) -> Result<Cef<'_>, CefError> {
    let after = input.strip_prefix(b"CEF:").ok_or(CefError::NotCef)?;
    let mut fields: [HeaderField<'_>; 7] = [(b"", false); 7];
    let mut rest = after;
    for (i, slot) in fields.iter_mut().enumerate() {
        let (field, r) = match header_field(rest) {
            Some(split) => split,
            // Severity without the `|` that should close it (some senders drop it when there
            // are no extensions, or write a space instead): Severity is the next word and the
            // extensions follow it.
            None if i == 6 && !rest.is_empty() => severity_without_pipe(rest),
            None => {
                return Err(CefError::IncompleteHeader {
                    fields: i + usize::from(!rest.is_empty()),
                });
            }
        };
        *slot = field;
        rest = r;
    }
    let [
        version,
        vendor,
        product,
        dev_version,
        signature,
        name,
        severity,
    ] = fields;
    let version = crate::text::trim_spaces(version.0);
    if version.is_empty() || !version.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return Err(CefError::NotCef);
    }
    let source = Source::new(input);
    Ok(Cef {
        version: source.str_of(version).ok_or(CefError::NotCef)?,
        device_vendor: unescape_header(&source, vendor),
        device_product: unescape_header(&source, product),
        device_version: unescape_header(&source, dev_version),
        signature_id: unescape_header(&source, signature),
        name: unescape_header(&source, name),
        severity: unescape_header(&source, severity),
        extensions: Extensions { raw: rest, source },
    })
}

/// The extension part of a CEF record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extensions<'a> {
    raw: &'a [u8],
    /// The whole record, validated once.
    source: Source<'a>,
}

/// Bytes a key may hold, as a table: this test runs on every byte of every extension. (Indexing
/// in a const block is checked at compile time.)
#[allow(clippy::indexing_slicing)]
const KEY_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']');
        b += 1;
    }
    table
};

#[inline]
fn is_key_byte(b: u8) -> bool {
    KEY_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// Finds the next key after `from`: returns (start of the key, position of its `=`). A key
/// starts after a space, is made of key bytes, and is followed by an unescaped `=`.
fn next_key(raw: &[u8], from: usize) -> Option<(usize, usize)> {
    scan_value(raw, from).0
}

/// Scans a value that starts at `from` up to the next key: returns that key (start, position
/// of its `=`) if there is one, and whether the value holds a backslash (and so needs
/// unescaping). Jumps between `=` and `\` with memchr; at each unescaped `=` it looks back
/// over the key bytes for the space that starts a key.
#[inline]
fn scan_value(raw: &[u8], from: usize) -> (Option<(usize, usize)>, bool) {
    let mut has_escape = false;
    let mut search = from;
    loop {
        let Some(at) = raw
            .get(search..)
            .and_then(|tail| memchr2(b'=', b'\\', tail))
            .map(|offset| search + offset)
        else {
            return (None, has_escape);
        };
        if raw.get(at) == Some(&b'\\') {
            has_escape = true;
            search = at + 2; // the escaped byte is never a key end
            continue;
        }
        search = at + 1;
        let key_len = raw
            .get(from..at)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|&&b| is_key_byte(b))
            .count();
        let start = at - key_len;
        if key_len > 0 && start > from && raw.get(start - 1) == Some(&b' ') {
            return (Some((start, at)), has_escape);
        }
    }
}

/// The key at the very start of `raw` (after spaces), if the extension begins with one.
fn first_key(raw: &[u8]) -> Option<(usize, usize)> {
    let start = raw.iter().take_while(|&&b| b == b' ').count();
    let len = raw
        .get(start..)?
        .iter()
        .take_while(|&&b| is_key_byte(b))
        .count();
    (len > 0 && raw.get(start + len) == Some(&b'=')).then_some((start, start + len))
}

/// Unescapes an extension value: `\=`, `\\`, `\n`, `\r` (and `\|`, which some senders add);
/// other backslashes are kept.
pub fn unescape_value(raw: &[u8]) -> Cow<'_, str> {
    unescape_value_in(&Source::new(raw), raw)
}

fn unescape_value_in<'a>(source: &Source<'a>, raw: &'a [u8]) -> Cow<'a, str> {
    crate::text::unescape(source, raw, |b| match b {
        b'=' | b'\\' | b'|' => Some(b),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        _ => None,
    })
}

/// Escapes a value for rendering a CEF extension (the inverse of [`unescape_value`]).
pub fn escape_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Escapes a header field for rendering (the inverse of the header unescaping).
pub fn escape_header(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
}

impl<'a> Extensions<'a> {
    /// The extension text as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// All pairs in order, duplicates included.
    pub fn iter(&self) -> ExtensionIter<'a> {
        ExtensionIter {
            raw: self.raw,
            source: self.source,
            next: first_key(self.raw).or_else(|| next_key(self.raw, 0)),
        }
    }

    /// Text before the first key (a malformed extension), if any.
    pub fn unkeyed_prefix(&self) -> Option<&'a [u8]> {
        if first_key(self.raw).is_some() {
            return None;
        }
        let end = next_key(self.raw, 0).map_or(self.raw.len(), |(start, _)| start);
        let text = crate::text::trim_spaces(self.raw.get(..end).unwrap_or_default());
        (!text.is_empty()).then_some(text)
    }

    /// The value of `key`; when it occurs more than once the last one wins.
    pub fn get(&self, key: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }

    /// Keys that occur more than once (each reported once, in first-seen order).
    pub fn duplicate_keys(&self) -> Vec<&'a str> {
        let mut seen: Vec<&str> = Vec::new();
        let mut dups: Vec<&str> = Vec::new();
        for (k, _) in self.iter() {
            if seen.contains(&k) {
                if !dups.contains(&k) {
                    dups.push(k);
                }
            } else {
                seen.push(k);
            }
        }
        dups
    }
}

impl<'a> IntoIterator for &Extensions<'a> {
    type Item = (&'a str, Cow<'a, str>);
    type IntoIter = ExtensionIter<'a>;
    fn into_iter(self) -> ExtensionIter<'a> {
        self.iter()
    }
}

/// Iterator over `(key, value)` pairs of an extension.
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    raw: &'a [u8],
    source: Source<'a>,
    /// The next key: (start of key, position of `=`).
    next: Option<(usize, usize)>,
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let (start, eq) = self.next?;
        let value_start = eq + 1;
        let (following, has_escape) = scan_value(self.raw, value_start);
        let value_end = following.map_or(self.raw.len(), |(s, _)| s);
        self.next = following;
        let key = self.source.str_of(self.raw.get(start..eq)?)?;
        let value = trim_end_whitespace(self.raw.get(value_start..value_end)?);
        let value = if has_escape {
            unescape_value_in(&self.source, value)
        } else {
            self.source.cow_of(value)
        };
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs<'a>(cef: &Cef<'a>) -> Vec<(&'a str, String)> {
        cef.extensions
            .iter()
            .map(|(k, v)| (k, v.into_owned()))
            .collect()
    }

    #[test]
    fn header_and_extension() {
        let cef = parse_cef(
            b"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
        )
        .unwrap();
        assert_eq!(cef.version, "0");
        assert_eq!(cef.device_vendor, "Security");
        assert_eq!(cef.device_product, "threatmanager");
        assert_eq!(cef.device_version, "1.0");
        assert_eq!(cef.signature_id, "100");
        assert_eq!(cef.name, "worm successfully stopped");
        assert_eq!(cef.severity, "10");
        assert_eq!(
            pairs(&cef),
            vec![
                ("src", "10.0.0.1".into()),
                ("dst", "2.1.2.2".into()),
                ("spt", "1232".into())
            ]
        );
    }

    #[test]
    fn header_escapes() {
        let cef = parse_cef(br"CEF:0|security\|inc|thr\\eat|1.0|100|na\|me|10|").unwrap();
        assert_eq!(cef.device_vendor, "security|inc");
        assert_eq!(cef.device_product, r"thr\eat");
        assert_eq!(cef.name, "na|me");
        assert!(matches!(cef.device_version, Cow::Borrowed(_)));
        assert_eq!(cef.extensions.iter().count(), 0);
    }

    #[test]
    fn extension_escapes_spaces_and_urls() {
        let cef = parse_cef(
            br"CEF:0|V|P|1|2|N|3|msg=a\=b c\\d\nnext request=https://x.example/p?a=1&b=2 cs1=with spaces  act= cs2Label=L",
        )
        .unwrap();
        assert_eq!(
            pairs(&cef),
            vec![
                ("msg", "a=b c\\d\nnext".into()),
                ("request", "https://x.example/p?a=1&b=2".into()),
                ("cs1", "with spaces".into()),
                ("act", "".into()),
                ("cs2Label", "L".into()),
            ]
        );
    }

    #[test]
    fn trailing_whitespace_and_duplicates() {
        let cef = parse_cef(b"CEF:1|V|P|1|2|N|3|src=1 src=2 dst=3  \r\n").unwrap();
        assert_eq!(cef.extensions.get("src").unwrap(), "2");
        assert_eq!(cef.extensions.get("dst").unwrap(), "3");
        assert_eq!(cef.extensions.duplicate_keys(), vec!["src"]);
        assert_eq!(cef.extensions.iter().count(), 3);
    }

    #[test]
    fn borrowed_unless_escaped() {
        let cef = parse_cef(br"CEF:0|V|P|1|2|N|3|a=plain b=esc\=aped").unwrap();
        let values: Vec<_> = cef.extensions.iter().map(|(_, v)| v).collect();
        assert!(matches!(values[0], Cow::Borrowed(_)));
        assert!(matches!(values[1], Cow::Owned(_)));
    }

    #[test]
    fn incomplete_header_is_an_error() {
        assert_eq!(
            parse_cef(b"CEF:0|V|P|1"),
            Err(CefError::IncompleteHeader { fields: 4 })
        );
        assert_eq!(parse_cef(b"LEEF:1.0|V"), Err(CefError::NotCef));
        assert_eq!(parse_cef(b"CEF:x|a|b|c|d|e|f|"), Err(CefError::NotCef));
    }

    #[test]
    fn a_header_without_its_last_pipe_is_read() {
        let cef = parse_cef(b"CEF:0|V|P|1|100|No pipe after severity|5").unwrap();
        assert_eq!(cef.name, "No pipe after severity");
        assert_eq!(cef.severity, "5");
        assert_eq!(cef.extensions.iter().count(), 0);
        let cef = parse_cef(b"CEF:0|V|P|1|100|N|High\r\n").unwrap();
        assert_eq!(cef.severity, "High");
        let cef = parse_cef(b"CEF:0|V|P|1|100|N|7 src=10.0.0.1 act=blocked").unwrap();
        assert_eq!(cef.severity, "7");
        let pairs: Vec<(&str, String)> = cef
            .extensions
            .iter()
            .map(|(k, v)| (k, v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("src", "10.0.0.1".to_owned()),
                ("act", "blocked".to_owned())
            ]
        );
        // Six fields and nothing after the last pipe is still incomplete.
        assert_eq!(
            parse_cef(b"CEF:0|V|P|1|100|N|"),
            Err(CefError::IncompleteHeader { fields: 6 })
        );
    }

    #[test]
    fn unkeyed_prefix_is_kept() {
        let cef = parse_cef(b"CEF:0|V|P|1|2|N|3|garbage here src=1").unwrap();
        assert_eq!(cef.extensions.unkeyed_prefix(), Some(&b"garbage here"[..]));
        assert_eq!(pairs(&cef), vec![("src", "1".into())]);
    }

    #[test]
    fn non_utf8_value_is_replaced_not_rejected() {
        let cef = parse_cef(b"CEF:0|V|P|1|2|N|3|msg=caf\xe9 src=1").unwrap();
        let (_, v) = cef.extensions.iter().next().unwrap();
        assert_eq!(v, "caf\u{fffd}");
    }
}
