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

/// Where each of `needles` is in the first 64 bytes of `bytes` (in whole 16-byte blocks): bit
/// `i` of mask `n` set when byte `i` is `needles[n]`, and how many bytes the masks cover.
///
/// Why: splitting space-separated header fields with a byte loop per field mispredicts once
/// per field, at its end (fields vary in length from line to line); those exits were a fifth
/// of RFC 5424 header time. Sixteen bytes per SSE2 comparison (part of every x86-64) and the
/// fields' ends read off the mask have no data-dependent branch. Hand-written because
/// `memchr` finds one match per call (its setup costs more than a short field) and gives no
/// mask; `safe_arch` wraps the intrinsics, which this crate may not call (`unsafe`).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn byte_masks<const N: usize>(bytes: &[u8], needles: [u8; N]) -> ([u64; N], usize) {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let splats = needles.map(|b| set_splat_i8_m128i(b as i8));
    let mut masks = [0u64; N];
    let mut covered = 0;
    for block in bytes.chunks_exact(16).take(4) {
        let Ok(block) = <[u8; 16]>::try_from(block) else {
            break;
        };
        let lanes = m128i::from(block);
        for (mask, splat) in masks.iter_mut().zip(splats) {
            let matches = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(lanes, splat));
            *mask |= u64::from(matches as u16) << covered;
        }
        covered += 16;
    }
    (masks, covered)
}

/// Other targets: empty masks covering nothing, so callers take their general path.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn byte_masks<const N: usize>(_bytes: &[u8], _needles: [u8; N]) -> ([u64; N], usize) {
    ([0; N], 0)
}

/// [`byte_masks`] for spaces alone.
#[inline]
pub fn space_mask(bytes: &[u8]) -> (u64, usize) {
    let ([spaces], covered) = byte_masks(bytes, [b' ']);
    (spaces, covered)
}

/// The offset of the first `"` or `\\` in `bytes`: the end of a quoted SD value or its next
/// escape. Sixteen bytes per comparison, for the same reason as [`space_mask`]: a byte loop
/// over values of varying length mispredicts at every value's end (9 % of RFC 5424 header
/// time; the same for SD names, which are shorter, gained nothing and was not kept).
#[inline]
pub fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    let at = match quote_or_backslash_in_blocks(bytes) {
        Ok(found) => return Some(found),
        Err(scanned) => scanned,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let at = 0;
    bytes
        .get(at..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| at + i)
}

/// [`find_quote_or_backslash`] over the whole 16-byte blocks: the offset found, or how many
/// bytes were scanned without one.
#[cfg(target_arch = "x86_64")]
#[inline]
fn quote_or_backslash_in_blocks(bytes: &[u8]) -> Result<usize, usize> {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let quote = set_splat_i8_m128i(b'"' as i8);
    let backslash = set_splat_i8_m128i(b'\\' as i8);
    let mut at = 0;
    for block in bytes.chunks_exact(16) {
        let Ok(block) = <[u8; 16]>::try_from(block) else {
            break;
        };
        let lanes = m128i::from(block);
        let hits = cmp_eq_mask_i8_m128i(lanes, quote) | cmp_eq_mask_i8_m128i(lanes, backslash);
        let mask = move_mask_i8_m128i(hits);
        if mask != 0 {
            return Ok(at + mask.trailing_zeros() as usize);
        }
        at += 16;
    }
    Err(at)
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
    fn space_mask_marks_every_space_of_the_whole_blocks() {
        for len in 0..80usize {
            let line: Vec<u8> = (0..len)
                .map(|i| {
                    if i % 3 == 0 || i % 7 == 0 {
                        b' '
                    } else {
                        b'a' + (i % 26) as u8
                    }
                })
                .collect();
            let (bits, covered) = space_mask(&line);
            if cfg!(target_arch = "x86_64") {
                assert_eq!(covered, (len / 16).min(4) * 16, "len {len}");
            }
            for (i, &b) in line.iter().enumerate().take(covered) {
                assert_eq!(bits >> i & 1 == 1, b == b' ', "len {len} byte {i}");
            }
            assert_eq!(bits.checked_shr(covered as u32).unwrap_or(0), 0);
        }
    }

    #[test]
    fn quote_or_backslash_is_found_wherever_it_is() {
        for len in 0..50usize {
            assert_eq!(find_quote_or_backslash(&vec![b'x'; len]), None);
            for at in 0..len {
                for special in [b'"', b'\\'] {
                    let mut value = vec![b'x'; len];
                    if let Some(b) = value.get_mut(at) {
                        *b = special;
                    }
                    // A second one later must not win.
                    if let Some(b) = value.get_mut(at + 17) {
                        *b = b'"';
                    }
                    assert_eq!(
                        find_quote_or_backslash(&value),
                        Some(at),
                        "len {len} at {at}"
                    );
                }
            }
        }
    }

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
