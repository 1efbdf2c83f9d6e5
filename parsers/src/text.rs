//! Byte-to-text helpers shared by the parsers.
//!
//! Non-UTF-8 bytes are never an error by themselves: fields stay `&[u8]` where the caller may
//! decide, and become text through these helpers, borrowing when the bytes are valid UTF-8 and
//! copying (with U+FFFD replacements) only when they are not.

use std::borrow::Cow;

/// Borrows `bytes` as text when valid UTF-8, else converts lossily.
#[inline]
pub fn utf8_cow(bytes: &[u8]) -> Cow<'_, str> {
    // A checked conversion first: `from_utf8_lossy` walks chunk by chunk even when all is valid.
    match as_str(bytes) {
        Some(text) => Cow::Borrowed(text),
        None => lossy(bytes),
    }
}

/// Text that is not UTF-8, with U+FFFD replacements. Out of line and cold: the conversions
/// above run per field and inline only while this rare path stays out of them.
#[cold]
#[inline(never)]
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    Cow::Owned(String::from_utf8_lossy(bytes).into_owned())
}

/// Strips ASCII spaces and tabs from both ends. Byte by byte from each end: the usual message
/// has nothing to strip and pays two comparisons (iterator searches cost ten times that, on
/// every message).
pub fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Strips ASCII spaces from the front only (cheap: the usual message has none).
#[inline]
pub fn trim_leading_spaces(bytes: &[u8]) -> &[u8] {
    let mut rest = bytes;
    while let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    rest
}

/// Strips ASCII whitespace (including CR and LF) from the end.
pub fn trim_end_whitespace(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace());
    end.and_then(|e| bytes.get(..=e)).unwrap_or_default()
}

/// The first token of `bytes`, up to a space, and the rest starting at that space.
#[inline]
pub fn split_token(bytes: &[u8]) -> (&[u8], &[u8]) {
    // Tokens are usually short: a plain scan of the first bytes beats memchr's setup cost.
    let head = bytes.get(..bytes.len().min(32)).unwrap_or_default();
    let end = match head.iter().position(|&b| b == b' ') {
        Some(end) => end,
        None => bytes
            .get(head.len()..)
            .and_then(|tail| memchr::memchr(b' ', tail))
            .map_or(bytes.len(), |e| e + head.len()),
    };
    bytes.split_at(end)
}

/// `bytes` as `&str` if it is valid UTF-8.
///
/// ASCII is checked first, and only other text goes through `from_utf8`: on the short spans a
/// syslog header has (tens of bytes), `from_utf8` walks byte by byte until its input is aligned
/// and costs several times `is_ascii`, which reads whole words from the start; it was a tenth
/// of RFC 5424 header parsing. The `ascii` crate turns checked ASCII into `&str` without
/// `unsafe` here (the workspace forbids it).
#[inline]
pub fn as_str(bytes: &[u8]) -> Option<&str> {
    match ascii::AsciiStr::from_ascii(bytes) {
        Ok(ascii) => Some(ascii.as_str()),
        Err(_) => std::str::from_utf8(bytes).ok(),
    }
}

/// Turns unescaped bytes into owned text, reusing the buffer when it is valid UTF-8 (one
/// allocation per unescaped value, not two).
pub fn owned_text<'a>(bytes: Vec<u8>) -> std::borrow::Cow<'a, str> {
    match String::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(e) => std::borrow::Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// A byte slice validated as UTF-8 once, so that sub-slices become `&str` without validating
/// each again (validation per short field was a fifth of CEF parsing time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Source<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Source<'a> {
    pub fn new(bytes: &'a [u8]) -> Source<'a> {
        Source {
            bytes,
            text: as_str(bytes),
        }
    }

    /// `sub` (a sub-slice of this source) as text, if it is valid UTF-8.
    #[inline]
    pub fn str_of(&self, sub: &'a [u8]) -> Option<&'a str> {
        let offset = (sub.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
        match self.text {
            Some(text) if offset <= self.bytes.len() => text.get(offset..offset + sub.len()),
            _ => as_str(sub),
        }
    }

    /// `sub` as text, borrowed when valid UTF-8, else with U+FFFD replacements.
    #[inline]
    pub fn cow_of(&self, sub: &'a [u8]) -> Cow<'a, str> {
        match self.str_of(sub) {
            Some(text) => Cow::Borrowed(text),
            None => lossy(sub),
        }
    }
}

/// Copies `raw` with backslash escapes decoded by `decode` (the byte after a backslash → the
/// byte it stands for, or `None` to keep both as written). Each format has its own escapes;
/// the walk is the same. Borrowed (through `source`) when there is no backslash at all.
pub fn unescape<'a>(
    source: &Source<'a>,
    raw: &'a [u8],
    decode: impl Fn(u8) -> Option<u8>,
) -> Cow<'a, str> {
    let Some(mut at) = memchr::memchr(b'\\', raw) else {
        return source.cow_of(raw);
    };
    // The runs between backslashes are copied whole.
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        let (byte, skip) = match rest.get(at + 1).copied().and_then(&decode) {
            Some(decoded) => (decoded, 2),
            // Not an escape this format knows: the backslash stays, the next byte is read anew.
            None => (b'\\', 1),
        };
        out.push(byte);
        rest = rest.get(at + skip..).unwrap_or_default();
        match memchr::memchr(b'\\', rest) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(rest);
    owned_text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_takes_ascii_fast_and_other_utf8_the_slow_way() {
        assert_eq!(as_str(b"host-1 app 42"), Some("host-1 app 42"));
        assert_eq!(as_str(b""), Some(""));
        assert_eq!(
            as_str("caf\u{e9} \u{1F600}".as_bytes()),
            Some("caf\u{e9} \u{1F600}")
        );
        assert_eq!(as_str(b"caf\xe9"), None);
        assert_eq!(as_str(b"\xed\xa0\x80"), None); // a UTF-16 surrogate, not UTF-8
        assert_eq!(utf8_cow(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn unescape_copies_runs_and_keeps_unknown_escapes() {
        let decode = |b: u8| matches!(b, b'=' | b'\\').then_some(b);
        let un = |raw: &'static [u8]| unescape(&Source::new(raw), raw, decode).into_owned();
        assert_eq!(un(b"plain"), "plain");
        assert_eq!(un(br"a\=b"), "a=b");
        assert_eq!(un(br"\\\\"), r"\\");
        assert_eq!(un(br"\\\="), r"\=");
        assert_eq!(un(br"x\qy"), r"x\qy");
        assert_eq!(un(br"\\\"), r"\\");
        assert_eq!(un(br"end\"), r"end\");
        assert!(matches!(
            unescape(&Source::new(b"plain"), b"plain", decode),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn trims_spaces_and_tabs_only() {
        assert_eq!(trim_spaces(b" \t a b \t "), b"a b");
        assert_eq!(trim_spaces(b"   "), b"");
        assert_eq!(trim_spaces(b"\na\r"), b"\na\r");
    }
}
