//! RFC 5424 STRUCTURED-DATA: `[id name="value" ...][id2 ...]`, validated once, iterated lazily.
//!
//! Owns: finding where the SD part ends, checking its grammar, and iterating elements and
//! params without allocating. Param values unescape `\"`, `\\` and `\]` into a `Cow`, owned
//! only when an escape is present.

use std::borrow::Cow;

use crate::text::{Source, find_quote_or_backslash};

/// The STRUCTURED-DATA of one message: `-` (empty) or one or more validated SD-ELEMENTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StructuredData<'a> {
    raw: &'a [u8],
    /// Length of the first element, found while validating: most messages carry one
    /// element, which the iterator then splits without walking it again.
    first_len: usize,
    /// A validated span holding `raw`, so names and values become text without validating each.
    source: Source<'a>,
}

/// One SD-ELEMENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a str,
    /// The params text after the id (validated), iterated by [`SdElement::params`].
    params: &'a [u8],
    source: Source<'a>,
}

/// Why an SD part was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdError {
    /// Not `-` and not starting with `[`.
    Missing,
    /// An SD-ID or PARAM-NAME that is empty, too long (> 32) or has a forbidden character.
    BadName,
    /// A param without `="…"`.
    BadParam,
    /// The input ended inside an element or a value.
    Unterminated,
}

/// Which bytes an SD-NAME may hold: PRINTUSASCII except `=`, SP, `]`, `"` (RFC 5424). A table:
/// names are read on every message with structured data, one load per byte instead of four
/// comparisons.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: a bad index fails the build
static NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 33;
    while b <= 126 {
        table[b] = !matches!(b as u8, b'=' | b']' | b'"');
        b += 1;
    }
    table
};

#[inline]
fn is_name_byte(b: u8) -> bool {
    NAME_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// Reads an SD-NAME (printable ASCII, so always valid UTF-8); returns it and the rest.
fn name(input: &[u8]) -> Result<(&[u8], &[u8]), SdError> {
    let len = input.iter().take_while(|&&b| is_name_byte(b)).count();
    if len == 0 || len > 32 {
        return Err(SdError::BadName);
    }
    Ok(input.split_at(len.min(input.len())))
}

/// Reads `"value"` honouring backslash escapes; returns the raw value (between the quotes),
/// whether it holds a backslash (so callers need not search again), and the rest after the
/// closing quote.
fn quoted(input: &[u8]) -> Result<(&[u8], bool, &[u8]), SdError> {
    let body = input.strip_prefix(b"\"").ok_or(SdError::BadParam)?;
    let mut escaped = false;
    let mut at = 0;
    loop {
        let Some(found) = body.get(at..).and_then(find_quote_or_backslash) else {
            return Err(SdError::Unterminated);
        };
        at += found;
        if body.get(at) == Some(&b'"') {
            break;
        }
        escaped = true;
        at += 2;
    }
    let (value, rest) = body.split_at(at.min(body.len()));
    Ok((value, escaped, rest.get(1..).unwrap_or_default()))
}

/// An SD-ELEMENT's parts as bytes, and what follows it.
struct RawElement<'a> {
    id: &'a [u8],
    params: &'a [u8],
    rest: &'a [u8],
}

/// Validates one SD-ELEMENT at the front of `input` (which starts with `[`), returning the
/// element and the rest after its `]`.
fn element(input: &[u8]) -> Result<RawElement<'_>, SdError> {
    let inner = input.strip_prefix(b"[").ok_or(SdError::Missing)?;
    let (id, mut rest) = name(inner)?;
    let params_start = rest;
    loop {
        match rest.first() {
            Some(b']') => {
                let params_len = params_start.len() - rest.len();
                let params = params_start.get(..params_len).unwrap_or_default();
                return Ok(RawElement {
                    id,
                    params,
                    rest: rest.get(1..).unwrap_or_default(),
                });
            }
            Some(b' ') => {
                // Some senders pad with extra spaces, and put one after `=` (the RFC's own
                // example is copied that way by rsyslog's tests); tolerate both.
                while let Some(r) = rest.strip_prefix(b" ") {
                    rest = r;
                }
                if rest.first() == Some(&b']') {
                    continue;
                }
                let (_, r) = name(rest)?;
                let mut r = r.strip_prefix(b"=").ok_or(SdError::BadParam)?;
                while let Some(x) = r.strip_prefix(b" ") {
                    r = x;
                }
                let (_, _, r) = quoted(r)?;
                rest = r;
            }
            None => return Err(SdError::Unterminated),
            Some(_) => return Err(SdError::BadParam),
        }
    }
}

/// Splits an element that [`parse_structured_data`] already validated, without checking the
/// grammar again (the iterators run on every message with SD; validating twice cost a third
/// of RFC 5424 parsing).
fn validated_element(input: &[u8]) -> Option<RawElement<'_>> {
    let inner = input.strip_prefix(b"[")?;
    let id_len = inner.iter().position(|&b| b == b' ' || b == b']')?;
    let (id, after_id) = inner.split_at(id_len);
    let mut at = 0;
    loop {
        match after_id.get(at)? {
            b']' => break,
            b'"' => {
                let (_, _, rest) = quoted(after_id.get(at..)?).ok()?;
                at = after_id.len() - rest.len();
            }
            _ => at += 1,
        }
    }
    Some(RawElement {
        id,
        params: after_id.get(..at)?,
        rest: after_id.get(at + 1..)?,
    })
}

/// Splits a validated element whose length is known into id, params and rest.
fn split_element(input: &[u8], len: usize) -> Option<RawElement<'_>> {
    let (element, rest) = input.split_at_checked(len)?;
    let inner = element.strip_prefix(b"[")?.strip_suffix(b"]")?;
    let id_len = inner.iter().position(|&b| b == b' ').unwrap_or(inner.len());
    let (id, params) = inner.split_at(id_len);
    Some(RawElement { id, params, rest })
}

/// Parses the STRUCTURED-DATA field at the front of `input`; returns it and the rest.
pub fn parse_structured_data(input: &[u8]) -> Result<(StructuredData<'_>, &[u8]), SdError> {
    let (raw, first_len, rest) = scan_structured_data(input)?;
    Ok((StructuredData::new(raw, first_len, Source::new(raw)), rest))
}

/// Validates the STRUCTURED-DATA grammar at the front of `input`; returns the SD part (empty
/// for `-`), the length of its first element and the rest. Text validation is left to the caller, which can then validate the
/// SD together with the header fields before it in one pass.
#[inline]
pub(crate) fn scan_structured_data(input: &[u8]) -> Result<(&[u8], usize, &[u8]), SdError> {
    if let Some(rest) = input.strip_prefix(b"-") {
        return Ok((&[], 0, rest));
    }
    if input.first() != Some(&b'[') {
        return Err(SdError::Missing);
    }
    let mut rest = element(input)?.rest;
    let first_len = input.len() - rest.len();
    while rest.first() == Some(&b'[') {
        rest = element(rest)?.rest;
    }
    let raw = input.get(..input.len() - rest.len()).unwrap_or_default();
    Ok((raw, first_len, rest))
}

impl<'a> StructuredData<'a> {
    /// `raw` must have passed [`scan_structured_data`]; `source` is any validated span that
    /// contains it.
    pub(crate) fn new(raw: &'a [u8], first_len: usize, source: Source<'a>) -> StructuredData<'a> {
        StructuredData {
            raw,
            first_len,
            source,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The SD part exactly as received (empty for `-`).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The elements, in order.
    pub fn elements(&self) -> SdElements<'a> {
        SdElements {
            rest: self.raw,
            next_len: Some(self.first_len),
            source: self.source,
        }
    }
}

/// Iterator over [`SdElement`]s.
#[derive(Debug, Clone)]
pub struct SdElements<'a> {
    rest: &'a [u8],
    /// The length of the next element when already known (the first one's is).
    next_len: Option<usize>,
    source: Source<'a>,
}

impl<'a> Iterator for SdElements<'a> {
    type Item = SdElement<'a>;
    fn next(&mut self) -> Option<SdElement<'a>> {
        // Validated by parse_structured_data, so an error here cannot happen; stop if it does.
        let raw = match self.next_len.take() {
            Some(len) => split_element(self.rest, len)?,
            None => validated_element(self.rest)?,
        };
        self.rest = raw.rest;
        Some(SdElement {
            id: self.source.str_of(raw.id)?,
            params: raw.params,
            source: self.source,
        })
    }
}

impl<'a> SdElement<'a> {
    /// The params as `(name, value)`, values unescaped.
    pub fn params(&self) -> SdParams<'a> {
        SdParams {
            rest: self.params,
            source: self.source,
        }
    }
}

/// Iterator over an element's params.
#[derive(Debug, Clone)]
pub struct SdParams<'a> {
    rest: &'a [u8],
    source: Source<'a>,
}

impl<'a> Iterator for SdParams<'a> {
    type Item = (&'a str, Cow<'a, str>);
    fn next(&mut self) -> Option<Self::Item> {
        let mut rest = self.rest;
        while let Some(r) = rest.strip_prefix(b" ") {
            rest = r;
        }
        // Validated already: the name is whatever precedes `=`.
        let (param, r) = rest.split_at(rest.iter().position(|&b| b == b'=')?);
        let mut r = r.strip_prefix(b"=")?;
        while let Some(x) = r.strip_prefix(b" ") {
            r = x;
        }
        let (raw, escaped, r) = quoted(r).ok()?;
        self.rest = r;
        let value = if escaped {
            unescape_param(raw)
        } else {
            self.source.cow_of(raw)
        };
        Some((self.source.str_of(param)?, value))
    }
}

/// Unescapes `\"`, `\\` and `\]`; any other backslash is kept (RFC 5424 §6.3.3).
pub fn unescape_param(raw: &[u8]) -> Cow<'_, str> {
    crate::text::unescape(&Source::new(raw), raw, |b| {
        matches!(b, b'"' | b'\\' | b']').then_some(b)
    })
}

/// Escapes a param value for rendering (the inverse of [`unescape_param`]).
pub fn escape_param(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_elements_and_escapes() {
        let input = br#"[exampleSDID@32473 iut="3" eventSource="Appl\"ic\\at\]ion"][examplePriority@32473 class="high"] msg"#;
        let (sd, rest) = parse_structured_data(input).unwrap();
        assert_eq!(rest, b" msg");
        let els: Vec<_> = sd.elements().collect();
        assert_eq!(els.len(), 2);
        assert_eq!(els[0].id, "exampleSDID@32473");
        let params: Vec<_> = els[0].params().collect();
        assert_eq!(params[0], ("iut", Cow::Borrowed("3")));
        assert_eq!(params[1].0, "eventSource");
        assert_eq!(params[1].1, r#"Appl"ic\at]ion"#);
        assert!(matches!(params[0].1, Cow::Borrowed(_)));
        assert_eq!(
            els[1].params().collect::<Vec<_>>(),
            vec![("class", Cow::Borrowed("high"))]
        );
    }

    #[test]
    fn later_elements_split_right_around_quoted_brackets() {
        // The first element is split by its recorded length, later ones by a walk that must
        // skip `]` and `[` inside quoted values.
        let input = br#"[a@1 x="1"][b@1 y="]not the end[" z="\\"][c@1] m"#;
        let (sd, rest) = parse_structured_data(input).unwrap();
        assert_eq!(rest, b" m");
        let els: Vec<_> = sd
            .elements()
            .map(|e| (e.id, e.params().collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            els,
            vec![
                ("a@1", vec![("x", Cow::Borrowed("1"))]),
                (
                    "b@1",
                    vec![
                        ("y", Cow::Borrowed("]not the end[")),
                        ("z", Cow::Owned::<str>("\\".to_string()))
                    ]
                ),
                ("c@1", vec![]),
            ]
        );
    }

    #[test]
    fn nil_and_empty_element() {
        let (sd, rest) = parse_structured_data(b"- msg").unwrap();
        assert!(sd.is_empty());
        assert_eq!(rest, b" msg");
        let (sd, _) = parse_structured_data(b"[id]").unwrap();
        assert_eq!(sd.elements().next().unwrap().params().count(), 0);
    }

    #[test]
    fn space_after_equals_is_tolerated() {
        let (sd, _) =
            parse_structured_data(br#"[x@1 eventSource= "Application" eventID="1011"]"#).unwrap();
        let params: Vec<_> = sd.elements().next().unwrap().params().collect();
        assert_eq!(params[0].1, "Application");
        assert_eq!(params[1].1, "1011");
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_structured_data(b"x"), Err(SdError::Missing));
        assert_eq!(
            parse_structured_data(b"[id a=\"b"),
            Err(SdError::Unterminated)
        );
        assert_eq!(parse_structured_data(b"[id a=b]"), Err(SdError::BadParam));
        assert_eq!(parse_structured_data(b"[ a=\"b\"]"), Err(SdError::BadName));
        assert_eq!(parse_structured_data(b"[id"), Err(SdError::Unterminated));
        // The name table: exactly PRINTUSASCII less `=`, SP, `]`, `"`.
        for b in 0..=255u8 {
            let expected = (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"');
            assert_eq!(is_name_byte(b), expected, "byte {b}");
        }
        let long = format!("[{}]", "a".repeat(33));
        assert_eq!(
            parse_structured_data(long.as_bytes()),
            Err(SdError::BadName)
        );
    }
}
