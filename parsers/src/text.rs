//! Byte-to-text helpers shared by the parsers.
//!
//! Non-UTF-8 bytes are never an error by themselves: fields stay `&[u8]` where the caller may
//! decide, and become text through these helpers, borrowing when the bytes are valid UTF-8 and
//! copying (with U+FFFD replacements) only when they are not.

use std::borrow::Cow;

/// Borrows `bytes` as text when valid UTF-8, else converts lossily.
pub fn utf8_cow(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Strips ASCII spaces and tabs from both ends.
pub fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(s), Some(e)) => bytes.get(s..=e).unwrap_or_default(),
        _ => &[],
    }
}

/// Strips ASCII whitespace (including CR and LF) from the end.
pub fn trim_end_whitespace(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace());
    end.and_then(|e| bytes.get(..=e)).unwrap_or_default()
}

/// The first token of `bytes`, up to a space, and the rest starting at that space.
pub fn split_token(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b' ', bytes).unwrap_or(bytes.len());
    bytes.split_at(end)
}

/// `bytes` as `&str` if it is valid UTF-8.
pub fn as_str(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Turns unescaped bytes into owned text, reusing the buffer when it is valid UTF-8 (one
/// allocation per unescaped value, not two).
pub fn owned_text<'a>(bytes: Vec<u8>) -> std::borrow::Cow<'a, str> {
    match String::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Owned(s),
        Err(e) => std::borrow::Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}
