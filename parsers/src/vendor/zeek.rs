//! Zeek and Corelight logs over syslog: NDJSON records (`{"_path":"conn","uid":"C…",
//! "id.orig_h":…}`, Corelight's and the JSON Streaming package's shape) and Zeek's default TSV.
//!
//! TSV lines carry no field names (they are in the file's `#fields` header, which syslog
//! transports do not repeat per line). Every Zeek log that describes a connection starts with
//! `ts uid id.orig_h id.orig_p id.resp_h id.resp_p`, so a TSV line whose second field is a
//! connection uid gets those six names; the remaining fields come out in order with an empty
//! key. Header lines (`#fields …`, `#separator …`) are recognised as Zeek with the log type
//! `header`.

use std::borrow::Cow;

use super::scan::{delimited, json};
use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// Built once: building a searcher costs more than one search.
static ORIG_H: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"id.orig_h\""));

/// The first fields of every connection-based Zeek log.
const CONNECTION_PREFIX: [&str; 6] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
];

const HEADER_LINES: [&[u8]; 9] = [
    b"#separator",
    b"#set_separator",
    b"#empty_field",
    b"#unset_field",
    b"#path",
    b"#open",
    b"#close",
    b"#fields",
    b"#types",
];

/// `1432555199.633017`: seconds and a fraction.
fn is_epoch(field: &[u8]) -> bool {
    let Some(dot) = field.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (seconds, fraction) = field.split_at(dot);
    (9..=11).contains(&seconds.len())
        && seconds.iter().all(u8::is_ascii_digit)
        && fraction.len() > 1
        && fraction.iter().skip(1).all(u8::is_ascii_digit)
}

/// A Zeek uid (`CHhAvVGS1DHFjwGM9`, `FakNcS1Jfe01uljb3`): letters and digits.
fn is_uid(field: &[u8]) -> bool {
    (10..=22).contains(&field.len()) && field.iter().all(u8::is_ascii_alphanumeric)
}

fn path_of(record: &[u8]) -> &str {
    // `_path` is the first member in Zeek's and Corelight's JSON; only then is it borrowed
    // cheaply, so look no further.
    match json::Members::new(record).next() {
        Some((key, Cow::Borrowed(path))) if key == "_path" => path,
        _ => "",
    }
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    match m.first() {
        Some(b'{') => {
            // Zeek and Corelight write `_path` first and the connection fields early.
            let head = m.get(..m.len().min(256)).unwrap_or_default();
            let zeek = m.starts_with(b"{\"_path\":")
                || ORIG_H.find(head).is_some()
                || (pinned && memchr::memmem::find(head, b"\"ts\"").is_some());
            if !zeek {
                return None;
            }
            Some(message(Vendor::Zeek, path_of(m), m, Layout::Json))
        }
        Some(b'#') => HEADER_LINES
            .iter()
            .any(|h| {
                m.strip_prefix(*h)
                    .is_some_and(|r| matches!(r.first(), Some(b' ' | b'\t')))
            })
            .then(|| message(Vendor::Zeek, "header", m, Layout::Text)),
        _ => {
            // An epoch with a fraction (within the first bytes), then at least three more
            // tab-separated fields.
            let tsv = m
                .iter()
                .take(24)
                .position(|&b| b == b'\t')
                .is_some_and(|tab| {
                    is_epoch(m.get(..tab).unwrap_or_default())
                        && m.iter().filter(|&&b| b == b'\t').take(3).count() >= 3
                });
            (tsv || (pinned && m.contains(&b'\t')))
                .then(|| message(Vendor::Zeek, "", m, Layout::ZeekTsv))
        }
    }
}

/// The fields of a TSV line; see the module docs for how they are named.
#[derive(Debug, Clone)]
pub struct TsvFields<'a> {
    values: delimited::Fields<'a>,
    names: &'static [&'static str],
    index: usize,
}

impl<'a> TsvFields<'a> {
    pub fn new(payload: &'a [u8]) -> TsvFields<'a> {
        let mut head = payload.splitn(3, |&b| b == b'\t');
        let named = is_epoch(head.next().unwrap_or_default())
            && is_uid(head.next().unwrap_or_default())
            // files.log puts the file id second and hosts third; its fourth field is no port.
            && payload
                .split(|&b| b == b'\t')
                .nth(3)
                .is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
        TsvFields {
            values: delimited::Fields::tsv(payload),
            names: if named { &CONNECTION_PREFIX } else { &[] },
            index: 0,
        }
    }
}

impl<'a> Iterator for TsvFields<'a> {
    type Item = super::Field<'a>;

    fn next(&mut self) -> Option<super::Field<'a>> {
        loop {
            let value = self.values.next()?;
            let name = self.names.get(self.index).copied().unwrap_or("");
            self.index += 1;
            // `-` is Zeek's unset field, `(empty)` its empty set.
            if value == "-" || value == "(empty)" {
                continue;
            }
            return Some((Cow::Borrowed(name), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(message: &[u8]) -> Candidate<'_> {
        Candidate {
            app_name: None,
            msg_id: None,
            message,
            content: message,
            structured_data: crate::StructuredData::default(),
        }
    }

    #[test]
    fn json_and_tsv() {
        let m = recognise(
            &candidate(
                br#"{"_path":"conn","uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5,"x":null}"#,
            ),
            false,
        )
        .unwrap();
        assert_eq!(m.log_type, "conn");
        assert_eq!(m.fields().count(), 4);
        let line = b"1300475168.853899\tC4J4Th3PJpwUYZZ6gc\t141.142.220.118\t43927\t141.142.2.2\t53\tudp\t-\tdns";
        let m = recognise(&candidate(line), false).unwrap();
        let f: Vec<(String, String)> = m
            .fields()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            f.get(2),
            Some(&("id.orig_h".into(), "141.142.220.118".into()))
        );
        assert_eq!(f.get(6), Some(&(String::new(), "udp".into())));
        assert_eq!(f.get(7), Some(&(String::new(), "dns".into())));
        assert!(recognise(&candidate(b"#fields\tts\tuid"), false).is_some());
        assert!(recognise(&candidate(b"12345.6 not zeek"), false).is_none());
    }
}
