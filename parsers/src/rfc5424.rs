//! RFC 5424 headers: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`
//! (after the PRI, which [`crate::pri`] reads).
//!
//! Owns: deciding whether a line is RFC 5424 and reading its fields. Strict about the shape,
//! lenient about what real senders get wrong: a bad timestamp or SD is flagged in
//! [`Anomalies`] and the data is kept rather than the line thrown away.

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while_m_n},
    character::complete::satisfy,
};

use crate::Anomalies;
use crate::structured_data::{StructuredData, parse_structured_data};
use crate::text::{as_str, split_token};
use crate::timestamp::{Timestamp, parse_rfc3339};

/// The fields of an RFC 5424 header. `None` stands for NILVALUE (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc5424<'a> {
    pub version: u8,
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    pub app_name: Option<&'a str>,
    pub proc_id: Option<&'a str>,
    pub msg_id: Option<&'a str>,
    pub structured_data: StructuredData<'a>,
    /// MSG with a leading UTF-8 BOM removed; may be empty.
    pub message: &'a [u8],
    /// Whether MSG started with a BOM (RFC 5424 says it is then UTF-8).
    pub bom: bool,
    pub anomalies: Anomalies,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// VERSION: a non-zero digit followed by at most two digits, then SP.
fn version(input: &[u8]) -> IResult<&[u8], u8> {
    let (rest, (first, more, _)) = (
        satisfy(|c| ('1'..='9').contains(&c)),
        take_while_m_n(0, 2, |b: u8| b.is_ascii_digit()),
        tag(&b" "[..]),
    )
        .parse(input)?;
    let value = more
        .iter()
        .fold(u32::from(first) - u32::from('0'), |acc, d| {
            acc * 10 + u32::from(d - b'0')
        });
    Ok((rest, u8::try_from(value).unwrap_or(u8::MAX)))
}

/// A header field: NILVALUE or up to `max` non-space bytes. `Err` for a missing field.
fn field<'a>(
    input: &'a [u8],
    max: usize,
    anomalies: &mut Anomalies,
) -> Option<(Option<&'a [u8]>, &'a [u8])> {
    let (token, rest) = split_token(input);
    // Senders that put CEF/LEEF right after the hostname (no APP-NAME…SD): the record is the
    // message, not header fields.
    if token.is_empty() || token.starts_with(b"CEF:") || token.starts_with(b"LEEF:") {
        return None;
    }
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    if token == b"-" {
        return Some((None, rest));
    }
    if token.len() > max {
        anomalies.insert(Anomalies::FIELD_TOO_LONG);
    }
    Some((Some(token), rest))
}

/// The header fields as text. The span holding them is validated as UTF-8 once (one call
/// instead of four: this runs on every message); a field that is not UTF-8 is left out and
/// flagged.
fn fields_as_text<'a>(
    span: &'a [u8],
    tokens: [Option<&'a [u8]>; 4],
    anomalies: &mut Anomalies,
) -> [Option<&'a str>; 4] {
    let span_text = std::str::from_utf8(span).ok();
    tokens.map(|token| {
        let token = token?;
        let text = match span_text {
            Some(text) => {
                let offset = (token.as_ptr() as usize).wrapping_sub(span.as_ptr() as usize);
                text.get(offset..offset + token.len())
            }
            None => as_str(token),
        };
        if text.is_none() {
            anomalies.insert(Anomalies::NON_UTF8_HEADER);
        }
        text
    })
}

/// Whether `token` is shaped like a date (`dddd-`), so a bad one is a broken RFC 5424
/// timestamp rather than a sign that the line is not RFC 5424 at all.
fn looks_like_date(token: &[u8]) -> bool {
    token.len() >= 5 && token.iter().take(4).all(u8::is_ascii_digit) && token.get(4) == Some(&b'-')
}

/// Parses the part after the PRI. `None` when the line is not RFC 5424.
pub fn parse_rfc5424(input: &[u8]) -> Option<Rfc5424<'_>> {
    let (rest, version) = version(input).ok()?;
    let mut anomalies = Anomalies::empty();
    let (timestamp, rest) = if let Some(r) = rest.strip_prefix(b"-") {
        (None, r)
    } else if let Some((ts, r)) = parse_rfc3339(rest).filter(|(_, r)| r.first() != Some(&b'T')) {
        (Some(ts), r)
    } else {
        let (token, r) = split_token(rest);
        if !looks_like_date(token) {
            return None;
        }
        anomalies.insert(Anomalies::BAD_TIMESTAMP);
        (None, r)
    };
    let Some(rest) = rest.strip_prefix(b" ") else {
        // `<13>1 2020-01-01T00:00:00Z` and nothing else: a header cut short.
        anomalies.insert(Anomalies::TRUNCATED_HEADER);
        return Some(Rfc5424 {
            version,
            timestamp,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: StructuredData::default(),
            message: rest,
            bom: false,
            anomalies,
        });
    };
    let mut header = Rfc5424 {
        version,
        timestamp,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: StructuredData::default(),
        message: b"",
        bom: false,
        anomalies,
    };
    let fields_start = rest;
    let mut rest = rest;
    let mut values: [Option<&[u8]>; 4] = [None; 4];
    for (slot, max) in values.iter_mut().zip([255, 48, 128, 32]) {
        match field(rest, max, &mut header.anomalies) {
            Some((value, r)) => {
                *slot = value;
                rest = r;
            }
            None => {
                header.anomalies.insert(Anomalies::TRUNCATED_HEADER);
                break;
            }
        }
    }
    let span = fields_start
        .get(..fields_start.len() - rest.len())
        .unwrap_or_default();
    [
        header.hostname,
        header.app_name,
        header.proc_id,
        header.msg_id,
    ] = fields_as_text(span, values, &mut header.anomalies);
    if header.anomalies.contains(Anomalies::TRUNCATED_HEADER) {
        header.message = rest;
        return Some(header);
    }
    let message = match parse_structured_data(rest) {
        Ok((sd, r)) => {
            header.structured_data = sd;
            match r.first() {
                None => r,
                Some(b' ') => r.get(1..).unwrap_or_default(),
                // `[a b="c"]msg` without the SP: keep the text as message.
                Some(_) => {
                    header.anomalies.insert(Anomalies::BAD_STRUCTURED_DATA);
                    r
                }
            }
        }
        Err(_) => {
            // Missing `-` or broken SD: keep everything from here as the message.
            header.anomalies.insert(Anomalies::BAD_STRUCTURED_DATA);
            rest
        }
    };
    match message.strip_prefix(BOM) {
        Some(m) => {
            header.message = m;
            header.bom = true;
        }
        None => header.message = message,
    }
    Some(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_with_bom_and_nils() {
        let h = parse_rfc5424(
            b"1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed",
        )
        .unwrap();
        assert_eq!(h.version, 1);
        assert_eq!(h.hostname, Some("mymachine.example.com"));
        assert_eq!(h.app_name, Some("su"));
        assert_eq!(h.proc_id, None);
        assert_eq!(h.msg_id, Some("ID47"));
        assert!(h.structured_data.is_empty());
        assert!(h.bom);
        assert_eq!(h.message, b"'su root' failed");
        assert_eq!(h.timestamp.unwrap().nanos, 3_000_000);
        assert!(h.anomalies.is_empty());
    }

    #[test]
    fn all_nil_and_no_message() {
        let h = parse_rfc5424(b"1 - - - - - -").unwrap();
        assert_eq!(h.timestamp, None);
        assert_eq!(
            (h.hostname, h.app_name, h.proc_id, h.msg_id),
            (None, None, None, None)
        );
        assert_eq!(h.message, b"");
        assert!(h.anomalies.is_empty());
    }

    #[test]
    fn structured_data_then_message() {
        let h = parse_rfc5424(
            br#"1 2003-10-11T22:14:15.003Z host evntslog 123 ID47 [exampleSDID@32473 iut="3"][p@1 c="h"] An entry"#,
        )
        .unwrap();
        assert_eq!(h.proc_id, Some("123"));
        assert_eq!(h.structured_data.elements().count(), 2);
        assert_eq!(h.message, b"An entry");
    }

    #[test]
    fn not_rfc5424() {
        assert!(parse_rfc5424(b"Oct 11 22:14:15 host su: x").is_none());
        assert!(parse_rfc5424(b"1 hello world").is_none());
        assert!(parse_rfc5424(b"0 - - - - - -").is_none());
    }

    #[test]
    fn lenient_about_broken_parts() {
        let h = parse_rfc5424(b"1 2003-13-11T22:14:15Z host app - - - msg").unwrap();
        assert!(h.anomalies.contains(Anomalies::BAD_TIMESTAMP));
        assert_eq!(h.hostname, Some("host"));
        assert_eq!(h.message, b"msg");
        let h = parse_rfc5424(b"1 2003-10-11T22:14:15Z host app - - no sd here").unwrap();
        assert!(h.anomalies.contains(Anomalies::BAD_STRUCTURED_DATA));
        assert_eq!(h.message, b"no sd here");
        let h = parse_rfc5424(b"1 2003-10-11T22:14:15Z host").unwrap();
        assert!(h.anomalies.contains(Anomalies::TRUNCATED_HEADER));
    }
}
