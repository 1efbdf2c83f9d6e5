//! IBM QRadar Log Event Extended Format, versions 1.0 and 2.0.
//!
//! `LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v…`
//! `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|k=v<D>k=v…`, where the delimiter is one
//! character, or its code as `xHH`/`0xHH` (a code above 0x7F is a Unicode scalar, so `xa6` is
//! `¦`), and an empty field means TAB.
//!
//! Owns: the header and the attribute pairs, iterated lazily without allocating.

use std::borrow::Cow;

use crate::text::utf8_cow;

/// A parsed LEEF record borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leef<'a> {
    pub version: &'a str,
    pub vendor: Cow<'a, str>,
    pub product: Cow<'a, str>,
    pub product_version: Cow<'a, str>,
    pub event_id: Cow<'a, str>,
    pub attributes: Attributes<'a>,
    /// LEEF 2.0 whose delimiter field was not a valid delimiter: TAB was assumed and the field
    /// was read as the first attribute.
    pub bad_delimiter: bool,
}

/// Why a LEEF record could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeefError {
    NotLeef,
    /// Fewer than the five `|`-separated header fields.
    IncompleteHeader {
        fields: usize,
    },
}

impl core::fmt::Display for LeefError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LeefError::NotLeef => f.write_str("not LEEF: expected `LEEF:<version>|`"),
            LeefError::IncompleteHeader { fields } => write!(
                f,
                "LEEF header has {fields} of 5 `|`-separated fields (version, vendor, product, \
                 version, event id)"
            ),
        }
    }
}

impl std::error::Error for LeefError {}

/// An attribute delimiter: up to four bytes (one UTF-8 character, or the two characters `\t`
/// that some senders write instead of a TAB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter {
    bytes: [u8; 4],
    len: u8,
}

impl Delimiter {
    const TAB: Delimiter = Delimiter {
        bytes: [b'\t', 0, 0, 0],
        len: 1,
    };
    const LITERAL_BACKSLASH_T: Delimiter = Delimiter {
        bytes: [b'\\', b't', 0, 0],
        len: 2,
    };

    fn from_char(c: char) -> Delimiter {
        let mut bytes = [0u8; 4];
        let len = c.encode_utf8(&mut bytes).len();
        Delimiter {
            bytes,
            len: u8::try_from(len).unwrap_or(1),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(b"\t")
    }

    /// Reads a LEEF 2.0 delimiter field.
    fn parse(field: &[u8]) -> Option<Delimiter> {
        if field.is_empty() {
            return Some(Delimiter::TAB);
        }
        let hex = field
            .strip_prefix(b"0x")
            .or_else(|| field.strip_prefix(b"0X"))
            .or_else(|| field.strip_prefix(b"x"))
            .or_else(|| field.strip_prefix(b"X"));
        if let Some(hex) = hex.filter(|h| (1..=4).contains(&h.len())) {
            let text = std::str::from_utf8(hex).ok()?;
            let code = u32::from_str_radix(text, 16).ok()?;
            return char::from_u32(code)
                .filter(|c| *c != '\0')
                .map(Delimiter::from_char);
        }
        let text = std::str::from_utf8(field).ok()?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(Delimiter::from_char(c)),
            _ => None,
        }
    }
}

fn unescape_header(raw: &[u8]) -> Cow<'_, str> {
    crate::text::unescape(&crate::text::Source::new(raw), raw, |b| {
        (b == b'|').then_some(b)
    })
}

fn header_field(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut from = 0;
    loop {
        let pos = from + memchr::memchr(b'|', input.get(from..)?)?;
        if pos > 0 && input.get(pos - 1) == Some(&b'\\') {
            from = pos + 1;
            continue;
        }
        return Some((input.get(..pos)?, input.get(pos + 1..)?));
    }
}

/// Parses a LEEF record; `input` starts at `LEEF:`.
pub fn parse_leef(input: &[u8]) -> Result<Leef<'_>, LeefError> {
    let after = input.strip_prefix(b"LEEF:").ok_or(LeefError::NotLeef)?;
    let mut fields: [&[u8]; 5] = [b""; 5];
    let mut rest = after;
    for (i, slot) in fields.iter_mut().enumerate() {
        let (field, r) = header_field(rest).ok_or(LeefError::IncompleteHeader {
            fields: i + usize::from(!rest.is_empty()),
        })?;
        *slot = field;
        rest = r;
    }
    let [version, vendor, product, product_version, event_id] = fields;
    let version_text = crate::text::trim_spaces(version);
    if version_text.is_empty()
        || !version_text
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'.')
    {
        return Err(LeefError::NotLeef);
    }
    let mut bad_delimiter = false;
    let delimiter = if version_text.starts_with(b"2") {
        match header_field(rest) {
            Some((field, after_delim)) => match Delimiter::parse(field) {
                Some(d) => {
                    rest = after_delim;
                    d
                }
                None => {
                    bad_delimiter = true;
                    Delimiter::TAB
                }
            },
            // `LEEF:2.0|…|EventID|` with nothing after it: no attributes.
            None if rest.is_empty() => Delimiter::TAB,
            None => {
                bad_delimiter = true;
                Delimiter::TAB
            }
        }
    } else if !rest.contains(&b'\t') && rest.windows(2).any(|w| w == b"\\t") {
        Delimiter::LITERAL_BACKSLASH_T
    } else {
        Delimiter::TAB
    };
    Ok(Leef {
        version: std::str::from_utf8(version_text).map_err(|_| LeefError::NotLeef)?,
        vendor: unescape_header(vendor),
        product: unescape_header(product),
        product_version: unescape_header(product_version),
        event_id: unescape_header(event_id),
        attributes: Attributes {
            raw: rest,
            delimiter,
        },
        bad_delimiter,
    })
}

/// The attribute part of a LEEF record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes<'a> {
    raw: &'a [u8],
    delimiter: Delimiter,
}

impl<'a> Attributes<'a> {
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn delimiter(&self) -> Delimiter {
        self.delimiter
    }

    /// `(key, value)` pairs in order. The value runs to the next delimiter and may contain `=`.
    /// An entry without `=` is yielded with an empty key so that nothing is lost.
    pub fn iter(&self) -> AttributeIter<'a> {
        AttributeIter {
            rest: Some(self.raw),
            delimiter: self.delimiter,
        }
    }

    /// The value of `key` (the last one if repeated).
    pub fn get(&self, key: &str) -> Option<Cow<'a, str>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }
}

/// Iterator over LEEF attributes.
#[derive(Debug, Clone)]
pub struct AttributeIter<'a> {
    rest: Option<&'a [u8]>,
    delimiter: Delimiter,
}

impl<'a> Iterator for AttributeIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let delim = self.delimiter.as_bytes();
            let (entry, next) = match memchr::memmem::find(rest, delim) {
                Some(pos) => (
                    rest.get(..pos).unwrap_or_default(),
                    rest.get(pos + delim.len()..),
                ),
                None => (rest, None),
            };
            self.rest = next;
            let entry = crate::text::trim_end_whitespace(entry);
            if entry.is_empty() {
                continue;
            }
            return Some(match memchr::memchr(b'=', entry) {
                Some(eq) => {
                    let key = crate::text::trim_spaces(entry.get(..eq).unwrap_or_default());
                    let value = entry.get(eq + 1..).unwrap_or_default();
                    match std::str::from_utf8(key) {
                        Ok(k) => (k, utf8_cow(value)),
                        Err(_) => ("", utf8_cow(entry)),
                    }
                }
                None => ("", utf8_cow(entry)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(leef: &Leef<'_>) -> Vec<(String, String)> {
        leef.attributes
            .iter()
            .map(|(k, v)| (k.to_owned(), v.into_owned()))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn leef1_tabs() {
        let leef = parse_leef(
            b"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5",
        )
        .unwrap();
        assert_eq!(leef.version, "1.0");
        assert_eq!(leef.vendor, "Microsoft");
        assert_eq!(leef.product, "MSExchange");
        assert_eq!(leef.product_version, "4.0 SP1");
        assert_eq!(leef.event_id, "15345");
        assert_eq!(
            pairs(&leef),
            vec![
                p("src", "192.0.2.0"),
                p("dst", "172.50.123.1"),
                p("sev", "5")
            ]
        );
    }

    #[test]
    fn leef2_delimiters() {
        let leef = parse_leef(b"LEEF:2.0|M|E|4|1|^|foo=bar^bar=baz^baz=tik=tak").unwrap();
        assert_eq!(
            pairs(&leef),
            vec![p("foo", "bar"), p("bar", "baz"), p("baz", "tik=tak")]
        );
        for spec in ["0x40", "x40", "@"] {
            let line = format!("LEEF:2.0|M|E|4|1|{spec}|foo=bar@bar=baz");
            let leef = parse_leef(line.as_bytes()).unwrap();
            assert_eq!(
                pairs(&leef),
                vec![p("foo", "bar"), p("bar", "baz")],
                "{spec}"
            );
        }
        let leef = parse_leef("LEEF:2.0|E|R|7|d|xa6|a=1¦b=2".as_bytes()).unwrap();
        assert_eq!(pairs(&leef), vec![p("a", "1"), p("b", "2")]);
        let leef = parse_leef(b"LEEF:2.0|M|E|4|1||foo=bar\tbar=baz").unwrap();
        assert_eq!(pairs(&leef), vec![p("foo", "bar"), p("bar", "baz")]);
    }

    #[test]
    fn leef2_invalid_delimiter_falls_back_to_tab() {
        let leef = parse_leef(b"LEEF:2.0|M|E|4|1|INVALID|foo=bar\tbar=baz").unwrap();
        assert!(leef.bad_delimiter);
        assert_eq!(pairs(&leef), vec![p("INVALID|foo", "bar"), p("bar", "baz")]);
    }

    #[test]
    fn escaped_pipe_and_literal_backslash_t() {
        let leef = parse_leef(br"LEEF:1.0|Micro\|soft|E|4|1|a=1\tb=2").unwrap();
        assert_eq!(leef.vendor, "Micro|soft");
        assert_eq!(pairs(&leef), vec![p("a", "1"), p("b", "2")]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_leef(b"LEEF:1.0|Microsoft|MSExchange"),
            Err(LeefError::IncompleteHeader { fields: 3 })
        );
        assert_eq!(parse_leef(b"CEF:0|"), Err(LeefError::NotLeef));
    }
}
