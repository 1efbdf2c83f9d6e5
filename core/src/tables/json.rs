//! A JSON object writer that appends one row straight into a byte buffer.
//!
//! Hand-written rather than `serde_json` because rows are built from borrowed parser output
//! (bytes that may not be UTF-8, timestamps without chrono) and must be written once, without
//! building an intermediate value tree or `String` per field.

use core::fmt::Write as _;

use tern_parsers::Timestamp;

/// Appends `{"Column":value,...}` to a buffer. Columns are written in call order. `R` learns
/// where they land: nothing for the rows Tern uploads ([`NoRecord`], compiled away), a
/// [`super::Capture`] for a transformation.
pub struct JsonObject<'b, R: Record = NoRecord> {
    out: &'b mut Vec<u8>,
    first: bool,
    /// When set, these columns are left out (not declared by the target's stream).
    undeclared: Option<&'b super::Undeclared>,
    record: R,
}

/// What a [`JsonObject`] reports as it writes: a key written with its value starting at
/// `at` (`open`), the open value ending (`close`), a string written at `written` with its text
/// when escaped (`string`), columns taken back (`rewind`).
pub trait Record {
    /// Whether anything is recorded: a string's text is worked out only then.
    const ACTIVE: bool = false;
    fn open(&mut self, _name: &str, _at: usize) {}
    fn close(&mut self, _end: usize) {}
    fn string(&mut self, _written: core::ops::Range<usize>, _escaped: Option<&[u8]>) {}
    fn rewind(&mut self, _len: usize) {}
}

/// Records nothing: the writers' code for uploaded rows is as if there were no recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRecord;

impl Record for NoRecord {}

/// A point in an object's columns ([`JsonObject::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    first: bool,
}

/// Adapts a byte buffer to `fmt::Write` for numbers and timestamps.
struct Bytes<'b>(&'b mut Vec<u8>);

impl core::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether any byte of `word` is a control character, `"`, `\\` or DEL: the bytes a JSON
/// string cannot hold as they are. Eight bytes at a time (SWAR), because almost all text has
/// none and this runs over every byte of every row.
#[inline]
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    // Bytes below 0x20 (ASCII only: bytes ≥ 0x80 are masked out by `!word`).
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    control != 0
        || has_zero(word ^ (ONES * u64::from(b'"'))) != 0
        || has_zero(word ^ (ONES * u64::from(b'\\'))) != 0
        || has_zero(word ^ (ONES * 0x7f)) != 0
}

/// What each byte becomes in a JSON string: 0 for itself, else the letter after the backslash
/// (`u` for `\u00XX`). Control characters and DEL are escaped, `"` and `\\` of course.
#[allow(clippy::indexing_slicing)] // const evaluation: an index out of range fails the build
const ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x7f] = b'u';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table
};

/// Where the first byte that needs escaping may be: the start of the first eight-byte word
/// holding one, or `None` when the text is clean (almost always). Short tails are checked
/// as the last eight bytes, overlapping, so that no byte is looked at alone unless the whole
/// text is shorter than a word.
#[inline]
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let word_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|chunk| chunk.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let mut at = 0;
    while let Some(word) = word_at(at) {
        if needs_escape(word) {
            return Some(at);
        }
        at += 8;
    }
    if at == bytes.len() {
        return None;
    }
    match bytes.len().checked_sub(8) {
        // The overlapping last word.
        Some(last) => word_at(last).is_some_and(needs_escape).then_some(last),
        None => bytes
            .iter()
            .any(|&b| ESCAPES.get(usize::from(b)).is_some_and(|&e| e != 0))
            .then_some(0),
    }
}

/// Writes `text` as a JSON string body (without quotes), escaping what JSON requires; returns
/// whether anything was escaped. Runs over every value of every row (some 40 per
/// CommonSecurityLog row), so the clean case is one check per eight bytes and one copy.
#[inline]
pub fn escape_str_into(text: &str, out: &mut Vec<u8>) -> bool {
    let bytes = text.as_bytes();
    match first_to_escape(bytes) {
        None => {
            out.extend_from_slice(bytes);
            false
        }
        Some(at) => {
            escape_from(bytes, at, out);
            true
        }
    }
}

/// [`escape_str_into`] once a byte to escape may lie at or after `from`.
#[inline(never)]
fn escape_from(bytes: &[u8], from: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.get(..from).unwrap_or_default());
    let bytes = bytes.get(from..).unwrap_or_default();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPES.get(usize::from(b)).copied().unwrap_or(0);
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// How [`escape_bytes_into`] wrote its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// As they were.
    AsIs,
    /// Valid UTF-8, with escapes.
    Escaped,
    /// Not UTF-8: invalid sequences became U+FFFD.
    Replaced,
}

/// Writes bytes as a JSON string body; invalid UTF-8 sequences become U+FFFD.
pub fn escape_bytes_into(bytes: &[u8], out: &mut Vec<u8>) -> Written {
    // Almost always valid: one fast validation instead of walking chunks.
    if let Ok(text) = std::str::from_utf8(bytes) {
        return match escape_str_into(text, out) {
            false => Written::AsIs,
            true => Written::Escaped,
        };
    }
    for chunk in bytes.utf8_chunks() {
        escape_str_into(chunk.valid(), out);
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    Written::Replaced
}

impl<'b> JsonObject<'b> {
    pub fn begin(out: &'b mut Vec<u8>) -> JsonObject<'b> {
        JsonObject::begin_declared(out, None)
    }

    /// An object that leaves out the `undeclared` columns (writes all when `None`).
    pub fn begin_declared(
        out: &'b mut Vec<u8>,
        undeclared: Option<&'b super::Undeclared>,
    ) -> JsonObject<'b> {
        out.push(b'{');
        JsonObject {
            out,
            first: true,
            undeclared,
            record: NoRecord,
        }
    }
}

impl<'b> JsonObject<'b, &'b mut super::Capture> {
    /// An object writing every column and recording where `capture`'s columns are.
    pub fn begin_captured(
        out: &'b mut Vec<u8>,
        capture: &'b mut super::Capture,
    ) -> JsonObject<'b, &'b mut super::Capture> {
        out.push(b'{');
        JsonObject {
            out,
            first: true,
            undeclared: None,
            record: capture,
        }
    }
}

impl<R: Record> JsonObject<'_, R> {
    /// Whether `name` is written (declared, or no declaration applies).
    pub fn keeps(&self, name: &'static str) -> bool {
        self.undeclared.is_none_or(|u| !u.contains(name))
    }

    /// Writes the key unless the column is not declared; returns whether it did. Column names
    /// are Tern's own constants (letters, digits, `_`), so they are written without escaping.
    fn key(&mut self, name: &'static str) -> bool {
        if !self.keeps(name) {
            return false;
        }
        // One reservation, single bytes pushed and one copy: three copies of variable length
        // were three calls to memcpy per column (2.5 % of the daemon in the load benchmark).
        self.out.reserve(name.len() + 4);
        self.record.close(self.out.len());
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'"');
        self.out.push(b':');
        self.record.open(name, self.out.len());
        true
    }

    pub fn string(&mut self, name: &'static str, value: &str) {
        if !self.key(name) {
            return;
        }
        let start = self.out.len();
        self.out.push(b'"');
        let escaped = escape_str_into(value, self.out);
        self.out.push(b'"');
        self.record
            .string(start..self.out.len(), escaped.then_some(value.as_bytes()));
    }

    pub fn bytes(&mut self, name: &'static str, value: &[u8]) {
        if !self.key(name) {
            return;
        }
        let start = self.out.len();
        self.out.push(b'"');
        let written = escape_bytes_into(value, self.out);
        self.out.push(b'"');
        if R::ACTIVE {
            let span = start..self.out.len();
            match written {
                Written::AsIs => self.record.string(span, None),
                Written::Escaped => self.record.string(span, Some(value)),
                // The text as written: invalid UTF-8 became U+FFFD.
                Written::Replaced => {
                    let text = String::from_utf8_lossy(value);
                    self.record.string(span, Some(text.as_bytes()));
                }
            }
        }
    }

    /// Text that needs no JSON escaping (Tern's own formatting: times, numbers), as a string.
    pub fn clean_string(&mut self, name: &'static str, value: &str) {
        if !self.key(name) {
            return;
        }
        self.out.reserve(value.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }

    /// A value whose `Display` form needs no JSON escaping (addresses, numbers), as a string.
    pub fn plain(&mut self, name: &'static str, value: &dyn core::fmt::Display) {
        if !self.key(name) {
            return;
        }
        self.out.push(b'"');
        let _ = write!(Bytes(self.out), "{value}");
        self.out.push(b'"');
    }

    pub fn int(&mut self, name: &'static str, value: i64) {
        if !self.key(name) {
            return;
        }
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// An address as a string; IPv4 written by hand (`core::fmt` cost some 400 instructions
    /// per row that names its sender by address).
    pub fn ip(&mut self, name: &'static str, ip: core::net::IpAddr) {
        if !self.key(name) {
            return;
        }
        self.out.push(b'"');
        match ip {
            core::net::IpAddr::V4(v4) => {
                let mut digits = itoa::Buffer::new();
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(b'.');
                    }
                    self.out.extend_from_slice(digits.format(octet).as_bytes());
                }
            }
            core::net::IpAddr::V6(_) => {
                let _ = write!(Bytes(self.out), "{ip}");
            }
        }
        self.out.push(b'"');
    }

    /// A number as a string (`RemotePort`, typed `string` in the table).
    pub fn int_text(&mut self, name: &'static str, value: i64) {
        if !self.key(name) {
            return;
        }
        self.out.push(b'"');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.out.push(b'"');
    }

    /// A finite float (the caller has checked); written so that JSON readers get it back.
    pub fn real(&mut self, name: &'static str, value: f64) {
        if !self.key(name) {
            return;
        }
        let _ = write!(Bytes(self.out), "{value:?}");
    }

    /// RFC 3339 UTC, as Log Analytics `datetime` columns take it.
    pub fn datetime(&mut self, name: &'static str, value: &Timestamp, default_offset_seconds: i32) {
        if !self.key(name) {
            return;
        }
        self.out.push(b'"');
        let _ = value.write_rfc3339_utc(default_offset_seconds, &mut Bytes(self.out));
        self.out.push(b'"');
    }

    /// The buffer, positioned for a value the caller writes itself (already JSON); `None` when
    /// the column is not declared.
    pub fn raw(&mut self, name: &'static str) -> Option<&mut Vec<u8>> {
        if !self.key(name) {
            return None;
        }
        Some(self.out)
    }

    /// Where the object stands, to [`JsonObject::rewind`] to.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.out.len(),
            first: self.first,
        }
    }

    /// Takes back every column written since `mark`.
    pub fn rewind(&mut self, mark: Mark) {
        self.out.truncate(mark.len);
        self.first = mark.first;
        self.record.rewind(mark.len);
    }

    pub fn end(mut self) {
        self.record.close(self.out.len());
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_types() {
        let mut out = Vec::new();
        let mut o = JsonObject::begin(&mut out);
        o.string("a", "q\"b\\s\n\t\u{1}é");
        o.bytes("b", b"caf\xe9");
        o.int("c", -42);
        o.real("d", 1.5);
        o.datetime("e", &Timestamp::from_unix(0, 5_000_000), 0);
        o.end();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#"{"a":"q\"b\\s\n\t\u0001é","b":"caf�","c":-42,"d":1.5,"e":"1970-01-01T00:00:00.005Z"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a"], "q\"b\\s\n\t\u{1}é");
    }

    #[test]
    fn addresses() {
        let mut out = Vec::new();
        let mut o = JsonObject::begin(&mut out);
        o.ip("a", "10.0.255.7".parse().unwrap());
        o.ip("b", "0.0.0.0".parse().unwrap());
        o.ip("c", "2001:db8::1".parse().unwrap());
        o.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"10.0.255.7","b":"0.0.0.0","c":"2001:db8::1"}"#
        );
    }

    #[test]
    fn every_ascii_byte_at_every_position_round_trips() {
        // The eight-byte fast path must see an escapable byte wherever it sits in a word, in
        // texts shorter than a word, a whole number of words, and with an overlapping tail.
        for (b, len, at) in (0u8..0x80)
            .flat_map(|b| (1..=19).map(move |len| (b, len)))
            .flat_map(|(b, len)| (0..len).map(move |at| (b, len, at)))
        {
            let mut text = "abcdefghijklmnopqrs"[..len].to_owned().into_bytes();
            if let Some(slot) = text.get_mut(at) {
                *slot = b;
            }
            let text = String::from_utf8(text).unwrap();
            let mut out = b"\"".to_vec();
            escape_str_into(&text, &mut out);
            out.push(b'"');
            let back: String = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!(
                    "byte {b:#x} at {at} of {len}: {e}: {:?}",
                    String::from_utf8_lossy(&out)
                )
            });
            assert_eq!(back, text);
        }
        let mut out = Vec::new();
        escape_str_into("héllo wörld, ünïcödé text", &mut out);
        assert_eq!(out, "héllo wörld, ünïcödé text".as_bytes());
    }
}
