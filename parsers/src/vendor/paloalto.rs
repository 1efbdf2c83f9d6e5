//! Palo Alto Networks PAN-OS syslog in its default CSV form:
//! `1,2012/04/10 04:39:55,001606000117,TRAFFIC,end,1,2012/04/10 04:39:54,192.168.0.2,…`.
//!
//! Fields have no names on the wire: they are named by position from the log type (the fourth
//! field) using the field lists of PAN-OS 10.x/11.x (`paloalto/field_lists.rs`). Older PAN-OS versions
//! write a prefix of the same list (fields were only ever appended), so shorter records name
//! what they have; values past the known list come out with an empty key, in order. PAN-OS's
//! CEF and LEEF forms are read as CEF and LEEF.

mod field_lists;

use std::borrow::Cow;

use super::scan::delimited;
use super::{Candidate, Layout, Vendor, VendorMessage, message};

/// The field names of a log type, by position (empty for an unknown type).
pub fn field_names(log_type: &str) -> &'static [&'static str] {
    field_lists::for_type(log_type)
}

/// Whether `field` is a PAN-OS date, `YYYY/MM/DD HH:MM:SS` (milliseconds allowed).
fn is_panos_time(field: &[u8]) -> bool {
    let field = match field.get(19) {
        Some(b'.') if field.iter().skip(20).all(u8::is_ascii_digit) => {
            field.get(..19).unwrap_or_default()
        }
        _ => field,
    };
    field.len() == 19
        && field.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'/',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

pub fn recognise<'a>(c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let m = c.message;
    // `FUTURE_USE,receive_time,serial,TYPE,`: the shape is distinctive and cheap to check.
    let mut parts = m.splitn(5, |&b| b == b',');
    let future_use = parts.next()?;
    let receive_time = parts.next()?;
    let _serial = parts.next();
    let log_type = parts.next().unwrap_or_default();
    let shaped = future_use.iter().all(u8::is_ascii_digit)
        && is_panos_time(receive_time)
        && !log_type.is_empty()
        && log_type
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_');
    if !(shaped || (pinned && m.contains(&b','))) {
        return None;
    }
    let log_type = if shaped {
        std::str::from_utf8(log_type).unwrap_or_default()
    } else {
        ""
    };
    Some(message(Vendor::PaloAlto, log_type, m, Layout::PanOsCsv))
}

/// The fields of a PAN-OS CSV record, named by position.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    values: delimited::Fields<'a>,
    names: std::slice::Iter<'static, &'static str>,
}

impl<'a> Fields<'a> {
    pub fn new(payload: &'a [u8], log_type: &str) -> Fields<'a> {
        Fields {
            values: delimited::Fields::csv(payload),
            names: field_names(log_type).iter(),
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = super::Field<'a>;

    fn next(&mut self) -> Option<super::Field<'a>> {
        loop {
            let value = self.values.next()?;
            let name = self.names.next().copied().unwrap_or("");
            // Reserved and empty fields carry nothing.
            if name.starts_with("future_use") || value.is_empty() {
                continue;
            }
            return Some((Cow::Borrowed(name), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_position() {
        let line = b"1,2012/04/10 04:39:55,001606000117,TRAFFIC,end,1,2012/04/10 04:39:54,192.168.0.2,204.232.231.46,0.0.0.0,0.0.0.0,rule1,,,web-browsing,vsys1,trust,untrust,ethernet1/2,ethernet1/1,forwardAll,2012/04/10 04:39:55,8720,1,53009,80,0,0,0x400000,tcp,allow,1288,586,702,12,2012/04/10 04:39:37,12,search-engines,0,1178,0x0,192.168.0.0-192.168.255.255,United States,0,6,6";
        let c = Candidate {
            app_name: None,
            msg_id: None,
            message: line,
            content: line,
            structured_data: crate::StructuredData::default(),
        };
        let m = recognise(&c, false).unwrap();
        assert_eq!(m.log_type, "TRAFFIC");
        let f: Vec<(String, String)> = m
            .fields()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("src"), Some("192.168.0.2"));
        assert_eq!(get("dst"), Some("204.232.231.46"));
        assert_eq!(get("sport"), Some("53009"));
        assert_eq!(get("dport"), Some("80"));
        assert_eq!(get("proto"), Some("tcp"));
        assert_eq!(get("action"), Some("allow"));
        assert_eq!(get("rule"), Some("rule1"));
        assert_eq!(get("app"), Some("web-browsing"));
        assert_eq!(get("bytes_sent"), Some("586"));
        assert_eq!(get("bytes_received"), Some("702"));
        assert_eq!(get("srcloc"), Some("192.168.0.0-192.168.255.255"));
        assert!(
            recognise(
                &Candidate {
                    message: b"1,2,3",
                    ..c
                },
                false
            )
            .is_none()
        );
    }
}
