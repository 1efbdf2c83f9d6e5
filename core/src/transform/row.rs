//! A row as the transformation sees it: the table writer's JSON object, split into its
//! columns without parsing their values. A column is turned into a [`Value`] only when an
//! expression reads it, and a column the transformation does not touch is copied to the
//! output as the bytes it was written as. Parsing every row into a map of values cost more
//! than the rest of the pipeline (issue 24's speed target).

use std::sync::Arc;

use super::value::{Type, Value};
use crate::tables::{Capture, Captured};

/// One column of a row being transformed.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'r> {
    /// The column's JSON value as written (a string with its quotes, a number, …).
    Raw(&'r [u8]),
    /// A string column written without escapes: the bytes between its quotes are its text,
    /// read in place.
    Text(&'r [u8]),
    /// A string column written with escapes: as written (with its quotes), and its text
    /// (kept by the writer, so never decoded).
    Escaped { raw: &'r [u8], text: &'r [u8] },
    /// A value computed by the transformation (or given by the caller).
    Value(Value),
}

impl Cell<'_> {
    /// The column's value as `ty`.
    pub fn value(&self, ty: Type) -> Value {
        match self {
            Cell::Value(v) => v.clone(),
            Cell::Raw(raw) => raw_value(raw, ty),
            Cell::Text(text) | Cell::Escaped { text, .. } => match std::str::from_utf8(text) {
                Ok(text) => text_value(Arc::from(text), ty),
                Err(_) => ty.empty(),
            },
        }
    }

    /// Whether the output leaves it out (null, or an empty string).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Value(v) => v.is_empty(),
            Cell::Raw(raw) => matches!(*raw, b"null" | b"\"\""),
            Cell::Text(text) | Cell::Escaped { text, .. } => text.is_empty(),
        }
    }
}

/// The cells of a row a table writer wrote with `capture` recording, in its slot order
/// (`types`: each slot's type, for the null of an absent column).
pub fn captured_cells<'r>(capture: &'r Capture, row: &'r [u8], types: &[Type]) -> Vec<Cell<'r>> {
    let texts = capture.texts();
    capture
        .found()
        .iter()
        .zip(types)
        .map(|(found, ty)| {
            let cell = match found {
                Captured::Absent => None,
                Captured::Raw(r) => row.get(r.clone()).map(Cell::Raw),
                Captured::Text(r) => row.get(r.clone()).map(Cell::Text),
                Captured::Escaped { raw, text } => row
                    .get(raw.clone())
                    .zip(texts.get(text.clone()))
                    .map(|(raw, text)| Cell::Escaped { raw, text }),
            };
            cell.unwrap_or_else(|| Cell::Value(ty.empty()))
        })
        .collect()
}

/// A raw JSON value as a value of type `ty`; what does not fit is null (an empty string).
fn raw_value(raw: &[u8], ty: Type) -> Value {
    match raw.first() {
        Some(b'"') => {
            let text = match string_body(raw) {
                Some(text) => text,
                None => return ty.empty(),
            };
            text_value(text, ty)
        }
        Some(_) => match serde_json::from_slice::<serde_json::Value>(raw) {
            Ok(json) => super::from_json(&json, ty),
            Err(_) => ty.empty(),
        },
        None => ty.empty(),
    }
}

/// A JSON string's text as a value of type `ty`.
fn text_value(text: Arc<str>, ty: Type) -> Value {
    match ty {
        Type::String => Value::Str(text),
        Type::Dynamic => Value::Dynamic(Arc::new(serde_json::Value::String(text.to_string()))),
        _ => super::from_json(&serde_json::Value::String(text.to_string()), ty),
    }
}

/// A JSON string's text: copied once, escapes decoded on the way.
fn string_body(raw: &[u8]) -> Option<Arc<str>> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let text = std::str::from_utf8(inner).ok()?;
    if !inner.contains(&b'\\') {
        return Some(Arc::from(text));
    }
    unescape(text).map(Arc::from)
}

/// JSON string escapes decoded (`\n`, `\"`, `\u00e9`, surrogate pairs); `None` for a bad one.
/// By hand because serde_json's string decoder costs a reader per call on this per-row path.
pub fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Runs without a backslash are copied whole.
    while let Some(at) = memchr::memchr(b'\\', rest.as_bytes()) {
        out.push_str(rest.get(..at)?);
        let mut chars = rest.get(at + 1..)?.chars();
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let unit = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: the low one follows as `\uXXXX`.
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let low = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                out.push(char::from_u32(code)?);
            }
            other => out.push(other),
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

/// The columns of a JSON object: (name, raw value) in order. Total over any input: an object
/// it cannot read is an error, never a panic. Names with escapes are refused (Tern's column
/// names have none).
/// A column of a JSON object: its name and its raw value.
pub type Field<'r> = (&'r [u8], &'r [u8]);

pub fn split_object(bytes: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut at = skip_ws(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return Err("a row must be a JSON object".to_owned());
    }
    at = skip_ws(bytes, at + 1);
    let mut fields = Vec::with_capacity(24);
    if bytes.get(at) == Some(&b'}') {
        return Ok(fields);
    }
    loop {
        let name_end = string_end(bytes, at).ok_or("a column name must be a string")?;
        // Compared as bytes with the schema's names; never decoded.
        let name = bytes.get(at + 1..name_end - 1).unwrap_or_default();
        let shown = || String::from_utf8_lossy(name).into_owned();
        at = skip_ws(bytes, name_end);
        if bytes.get(at) != Some(&b':') {
            return Err(format!("no `:` after column `{}`", shown()));
        }
        let start = skip_ws(bytes, at + 1);
        let end =
            value_end(bytes, start).ok_or_else(|| format!("column `{}`: bad value", shown()))?;
        fields.push((name, bytes.get(start..end).unwrap_or_default()));
        at = skip_ws(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_ws(bytes, at + 1),
            Some(b'}') => return Ok(fields),
            _ => return Err(format!("expected `,` or `}}` after column `{}`", shown())),
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Finds the raw value of one top-level column of a JSON object whose values hold no nested
/// objects (a table writer's row) by searching for `"name":`, which cannot occur inside a
/// JSON string (its quotes are escaped there). Built once per transformation.
#[derive(Debug)]
pub struct FieldFinder {
    finder: memchr::memmem::Finder<'static>,
}

impl FieldFinder {
    pub fn new(name: &str) -> FieldFinder {
        let mut pattern = Vec::with_capacity(name.len() + 3);
        pattern.push(b'"');
        pattern.extend_from_slice(name.as_bytes());
        pattern.extend_from_slice(b"\":");
        FieldFinder {
            finder: memchr::memmem::Finder::new(&pattern).into_owned(),
        }
    }

    /// The column's value as written (a string without escapes as [`Cell::Text`]); `None`
    /// when absent or unreadable.
    pub fn find<'r>(&self, row: &'r [u8]) -> Option<Cell<'r>> {
        let at = self.finder.find(row)?;
        let start = skip_ws(row, at + self.finder.needle().len());
        if row.get(start) == Some(&b'"') {
            let (end, escaped) = string_end_escaped(row, start)?;
            return Some(if escaped {
                Cell::Raw(row.get(start..end)?)
            } else {
                Cell::Text(row.get(start + 1..end - 1)?)
            });
        }
        let end = value_end(row, start)?;
        Some(Cell::Raw(row.get(start..end)?))
    }
}

/// The index after the string starting at `at` (its opening quote).
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    string_end_escaped(bytes, at).map(|(end, _)| end)
}

/// [`string_end`], and whether the string holds an escape.
fn string_end_escaped(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        let offset = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        i += offset;
        match bytes.get(i)? {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => return Some((i + 1, escaped)),
        }
    }
}

/// The index after the JSON value starting at `at`.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            // Nested: count brackets outside strings.
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            // A number, true, false or null: up to the next delimiter, and only those.
            let len = bytes
                .get(at..)?
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(bytes.len() - at);
            let word = bytes.get(at..at + len)?;
            let literal = matches!(word, b"true" | b"false" | b"null")
                || serde_json::from_slice::<serde_json::Number>(word).is_ok();
            (len > 0 && literal).then_some(at + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_columns_without_parsing_values() {
        let row = br#"{"A":"x\"y","B":12,"C":{"d":[1,"]"]},"D":true}"#;
        let fields = split_object(row).unwrap_or_default();
        let names: Vec<&[u8]> = fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [b"A", b"B", b"C", b"D"]);
        assert_eq!(FieldFinder::new("D").find(row), Some(Cell::Raw(b"true")));
        assert_eq!(FieldFinder::new("B").find(row), Some(Cell::Raw(b"12")));
        assert_eq!(FieldFinder::new("E").find(row), None);
        assert_eq!(fields[0].1, br#""x\"y""#);
        assert_eq!(fields[2].1, br#"{"d":[1,"]"]}"#);
        assert_eq!(
            Cell::Raw(fields[0].1).value(Type::String),
            Value::str("x\"y")
        );
        assert_eq!(Cell::Raw(fields[1].1).value(Type::Int), Value::Long(12));
        assert_eq!(
            unescape(r#"a\"b\\c\n\u00e9\ud83d\ude00"#).as_deref(),
            Some("a\"b\\c\né😀")
        );
        assert_eq!(unescape(r"\ud83d"), None);
        assert!(split_object(b"[1]").is_err());
        assert!(split_object(br#"{"A":"open"#).is_err());
        assert!(split_object(br#"{"A":}"#).is_err());
        assert!(split_object(br#"{"A":rrr"x"}"#).is_err());
        assert!(split_object(br#"{"A":-1.5e3,"B":null}"#).is_ok());
    }
}
