//! Delimited records: PAN-OS CSV (`a,"b, with comma",c`, a quote inside a quoted value doubled)
//! and Zeek TSV (tab-separated, no quoting). Fields are borrowed unless a doubled quote forces a
//! copy.

use std::borrow::Cow;

use crate::text;

/// An iterator over the fields of one record.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: Option<&'a [u8]>,
    separator: u8,
    quotes: bool,
}

impl<'a> Fields<'a> {
    /// Comma-separated, with `"…"` quoting.
    pub fn csv(input: &'a [u8]) -> Fields<'a> {
        Fields {
            rest: Some(input),
            separator: b',',
            quotes: true,
        }
    }

    /// Tab-separated, no quoting.
    pub fn tsv(input: &'a [u8]) -> Fields<'a> {
        Fields {
            rest: Some(input),
            separator: b'\t',
            quotes: false,
        }
    }

    /// What is left after the fields taken so far (starting at the next field).
    pub fn remainder(&self) -> &'a [u8] {
        self.rest.unwrap_or_default()
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        let input = self.rest?;
        if self.quotes {
            if let Some(quoted) = input.strip_prefix(b"\"") {
                // Find the closing quote: a `"` not doubled.
                let mut at = 0;
                let mut doubled = false;
                while let Some(q) = memchr::memchr(b'"', quoted.get(at..).unwrap_or_default()) {
                    let q = at + q;
                    if quoted.get(q + 1) == Some(&b'"') {
                        doubled = true;
                        at = q + 2;
                        continue;
                    }
                    let raw = quoted.get(..q).unwrap_or_default();
                    let after = quoted.get(q + 1..).unwrap_or_default();
                    // Anything between the quote and the separator stays with the value.
                    let tail_end = memchr::memchr(self.separator, after).unwrap_or(after.len());
                    self.rest = after.get(tail_end + 1..);
                    let value = if doubled {
                        let mut owned = Vec::with_capacity(raw.len());
                        let mut bytes = raw.iter().peekable();
                        while let Some(&b) = bytes.next() {
                            owned.push(b);
                            if b == b'"' && bytes.peek() == Some(&&b'"') {
                                bytes.next();
                            }
                        }
                        owned.extend_from_slice(after.get(..tail_end).unwrap_or_default());
                        text::owned_text(owned)
                    } else if tail_end == 0 {
                        text::utf8_cow(raw)
                    } else {
                        // `"a"b,` is not CSV; keep every byte of it.
                        let whole = input.get(..q + 2 + tail_end).unwrap_or_default();
                        text::utf8_cow(whole)
                    };
                    return Some(value);
                }
                // No closing quote: the rest is one field, quote included.
                self.rest = None;
                return Some(text::utf8_cow(input));
            }
        }
        match memchr::memchr(self.separator, input) {
            Some(end) => {
                self.rest = input.get(end + 1..);
                Some(text::utf8_cow(input.get(..end).unwrap_or_default()))
            }
            None => {
                self.rest = None;
                Some(text::utf8_cow(input))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(input: &str) -> Vec<String> {
        Fields::csv(input.as_bytes()).map(Cow::into_owned).collect()
    }

    #[test]
    fn csv_fields() {
        assert_eq!(csv("a,,b"), ["a", "", "b"]);
        assert_eq!(csv(r#"1,"x, y",z"#), ["1", "x, y", "z"]);
        assert_eq!(csv(r#""say ""hi""",2"#), [r#"say "hi""#, "2"]);
        assert_eq!(csv(r#""open,2"#), [r#""open,2"#]);
        assert_eq!(csv("a,"), ["a", ""]);
        assert_eq!(csv(r#""a"b,c"#), [r#""a"b"#, "c"]);
    }

    #[test]
    fn tsv_fields() {
        let f: Vec<String> = Fields::tsv(b"1.5\tCabc\t-\t\"q\"")
            .map(Cow::into_owned)
            .collect();
        assert_eq!(f, ["1.5", "Cabc", "-", "\"q\""]);
    }
}
