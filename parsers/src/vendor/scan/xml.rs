//! The leaf elements of an XML document, borrowed: `<Name>text</Name>` pairs in document order
//! (McAfee/Trellix ePO events, NXLog's XML output).
//!
//! Written by hand: a forwarder needs the leaves only, lazily and without building a tree, and
//! must not fail on the truncated or non-conforming XML that syslog transports deliver (ePO's
//! `<?xml version="1.0"encoding="UTF-8"?>` has no space; messages get cut at 1 or 8 KiB).
//! Attributes are not read; text after the last readable element is yielded with an empty key.

use std::borrow::Cow;

use crate::text;

/// An iterator over `(element name, text)` of every element that holds text only.
#[derive(Debug, Clone)]
pub struct Leaves<'a> {
    rest: &'a [u8],
}

impl<'a> Leaves<'a> {
    pub fn new(input: &'a [u8]) -> Leaves<'a> {
        Leaves { rest: input }
    }
}

/// Replaces the five predefined entities and numeric references, borrowing when there are none.
pub fn unescape(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'&') {
        return text::utf8_cow(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = memchr::memchr(b'&', rest) {
        out.push_str(&text::utf8_cow(rest.get(..amp).unwrap_or_default()));
        let entity = rest.get(amp + 1..).unwrap_or_default();
        let semi = entity.iter().take(10).position(|&b| b == b';');
        let decoded = semi.and_then(|s| {
            let name = entity.get(..s)?;
            let c = match name {
                b"lt" => '<',
                b"gt" => '>',
                b"amp" => '&',
                b"quot" => '"',
                b"apos" => '\'',
                _ => {
                    let number = name.strip_prefix(b"#")?;
                    let code = match number.strip_prefix(b"x") {
                        Some(hex) => u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16),
                        None => std::str::from_utf8(number).ok()?.parse(),
                    };
                    char::from_u32(code.ok()?)?
                }
            };
            Some((c, s + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = entity.get(used..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = entity;
            }
        }
    }
    out.push_str(&text::utf8_cow(rest));
    Cow::Owned(out)
}

impl<'a> Iterator for Leaves<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(open) = memchr::memchr(b'<', self.rest) else {
                // Text after the last element.
                let left = text::trim_spaces(std::mem::take(&mut self.rest));
                return (!left.is_empty()).then(|| (Cow::Borrowed(""), unescape(left)));
            };
            let before = text::trim_spaces(self.rest.get(..open).unwrap_or_default());
            if !before.is_empty() {
                // Text outside any leaf (a prefix, mixed content).
                self.rest = self.rest.get(open..).unwrap_or_default();
                return Some((Cow::Borrowed(""), unescape(before)));
            }
            let tag = self.rest.get(open + 1..).unwrap_or_default();
            let Some(close) = memchr::memchr(b'>', tag) else {
                // A cut-off tag: keep what is left.
                let left = text::trim_spaces(self.rest);
                self.rest = &[];
                return (!left.is_empty()).then(|| (Cow::Borrowed(""), text::utf8_cow(left)));
            };
            let inside = tag.get(..close).unwrap_or_default();
            let after = tag.get(close + 1..).unwrap_or_default();
            self.rest = after;
            // Declarations, comments, closing and self-closing tags hold no text.
            if matches!(inside.first(), Some(b'?' | b'!' | b'/')) || inside.ends_with(b"/") {
                continue;
            }
            let name_len = inside
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(inside.len());
            let name = inside.get(..name_len).unwrap_or_default();
            let text_len = memchr::memchr(b'<', after).unwrap_or(after.len());
            let content = after.get(..text_len).unwrap_or_default();
            let next = after.get(text_len..).unwrap_or_default();
            // A leaf: its text is followed by its own closing tag.
            let is_leaf = next
                .strip_prefix(b"</")
                .and_then(|n| n.strip_prefix(name))
                .is_some_and(|n| n.first() == Some(&b'>'));
            if !is_leaf {
                if next.is_empty() && !text::trim_spaces(content).is_empty() {
                    // Text cut off inside an element.
                    self.rest = next;
                    return Some((text::utf8_cow(name), unescape(content)));
                }
                continue;
            }
            self.rest = next.get(name.len() + 3..).unwrap_or_default();
            return Some((text::utf8_cow(name), unescape(content)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(input: &str) -> Vec<(String, String)> {
        Leaves::new(input.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn leaves_in_order() {
        assert_eq!(
            leaves(
                r#"<?xml version="1.0"encoding="UTF-8"?><EPOEvent><MachineInfo><MachineName>PC&amp;1</MachineName><IPAddress>10.0.0.1</IPAddress><Empty/><E></E></MachineInfo><X a="1">t&#x41;</X></EPOEvent>"#
            ),
            vec![
                ("MachineName".into(), "PC&1".into()),
                ("IPAddress".into(), "10.0.0.1".into()),
                ("E".into(), String::new()),
                ("X".into(), "tA".into()),
            ]
        );
    }

    #[test]
    fn truncated_documents_keep_the_tail() {
        assert_eq!(
            leaves("<A><B>one</B><C>cut off"),
            vec![("B".into(), "one".into()), ("C".into(), "cut off".into())]
        );
        assert_eq!(
            leaves("<A><B>one</B><C"),
            vec![("B".into(), "one".into()), (String::new(), "<C".into())]
        );
    }
}
