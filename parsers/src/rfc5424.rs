//! RFC 5424 headers: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`
//! (after the PRI, which [`crate::pri`] reads).
//!
//! Owns: deciding whether a line is RFC 5424 and reading its fields. Strict about the shape,
//! lenient about what real senders get wrong: a bad timestamp or SD is flagged in
//! [`Anomalies`] and the data is kept rather than the line thrown away.

use crate::Anomalies;
use crate::structured_data::{StructuredData, scan_structured_data};
use crate::text::{Source, space_mask, split_token};
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

/// VERSION: a non-zero digit followed by at most two digits, then SP. Hand-written: three
/// bytes do not need a combinator, and this runs on every message.
fn version(input: &[u8]) -> Option<(u8, &[u8])> {
    let digit = |at: usize| {
        input
            .get(at)
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0')
    };
    let first = digit(0).filter(|&d| d != 0)?;
    let mut value = u32::from(first);
    let mut at = 1;
    while at < 3 {
        let Some(d) = digit(at) else { break };
        value = value * 10 + u32::from(d);
        at += 1;
    }
    let rest = input.get(at..)?.strip_prefix(b" ")?;
    Some((u8::try_from(value).unwrap_or(u8::MAX), rest))
}

/// A header field: NILVALUE or up to `max` non-space bytes. `Err` for a missing field.
fn field<'a>(
    input: &'a [u8],
    max: usize,
    anomalies: &mut Anomalies,
) -> Option<(Option<&'a [u8]>, &'a [u8])> {
    let (token, rest) = split_token(input);
    let value = field_value(token, max, anomalies)?;
    Some((value, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// A header field's value: `None` inside for NILVALUE; `None` outside when the token is not a
/// field (empty, or the start of a CEF/LEEF record).
#[inline]
fn field_value<'a>(
    token: &'a [u8],
    max: usize,
    anomalies: &mut Anomalies,
) -> Option<Option<&'a [u8]>> {
    // Senders that put CEF/LEEF right after the hostname (no APP-NAME…SD): the record is the
    // message, not header fields.
    let record = match token.first() {
        None => true,
        Some(b'C') => token.starts_with(b"CEF:"),
        Some(b'L') => token.starts_with(b"LEEF:"),
        Some(_) => false,
    };
    if record {
        return None;
    }
    if token == b"-" {
        return Some(None);
    }
    if token.len() > max {
        anomalies.insert(Anomalies::FIELD_TOO_LONG);
    }
    Some(Some(token))
}

/// The four header fields read one after another (any line), and the rest; a missing field
/// flags the header as truncated and leaves the rest from there.
fn fields_one_by_one<'a>(
    mut rest: &'a [u8],
    anomalies: &mut Anomalies,
) -> (HeaderFields<'a>, &'a [u8]) {
    let mut values: [Option<&[u8]>; 4] = [None; 4];
    for (slot, max) in values.iter_mut().zip(FIELD_MAX) {
        match field(rest, max, anomalies) {
            Some((value, r)) => {
                *slot = value;
                rest = r;
            }
            None => {
                anomalies.insert(Anomalies::TRUNCATED_HEADER);
                break;
            }
        }
    }
    (values, rest)
}

/// HOSTNAME, APP-NAME, PROCID and MSGID as bytes; `None` for NILVALUE.
type HeaderFields<'a> = [Option<&'a [u8]>; 4];

/// Maximum lengths of HOSTNAME, APP-NAME, PROCID and MSGID (RFC 5424 §6).
const FIELD_MAX: [usize; 4] = [255, 48, 128, 32];

/// The four header fields and the rest after the space that ends the last, when all four are
/// non-empty and end within the first bytes the space mask covers (almost every line).
///
/// Why not a loop per field: each loop's exit mispredicts, and each field's start waits for
/// the previous one's end to be loaded and compared. Here the ends are the mask's lowest four
/// set bits, found without touching the bytes again, and the fields are then checked
/// independently of one another.
#[inline]
fn fields_from_mask<'a>(
    input: &'a [u8],
    anomalies: &mut Anomalies,
) -> Option<(HeaderFields<'a>, &'a [u8])> {
    let (mut bits, _) = space_mask(input);
    let mut ends = [0usize; 4];
    for end in &mut ends {
        if bits == 0 {
            return None;
        }
        *end = bits.trailing_zeros() as usize;
        bits &= bits - 1;
    }
    let [e0, e1, e2, e3] = ends;
    let token = |start: usize, end: usize| input.get(start..end).unwrap_or_default();
    let tokens = [
        token(0, e0),
        token(e0 + 1, e1),
        token(e1 + 1, e2),
        token(e2 + 1, e3),
    ];
    // Checked separately so that a line the general path reads differently (an empty field,
    // a record in place of a field) gets exactly its reading: this path only ever agrees.
    let mut found = Anomalies::empty();
    let mut values: [Option<&[u8]>; 4] = [None; 4];
    for ((slot, token), max) in values.iter_mut().zip(tokens).zip(FIELD_MAX) {
        *slot = field_value(token, max, &mut found)?;
    }
    anomalies.insert(found);
    Some((values, input.get(e3 + 1..).unwrap_or_default()))
}

/// A header field as text, borrowed from the span validated once for all header fields and
/// the SD (one validation instead of five: this runs on every message); a field that is not
/// UTF-8 is left out and flagged.
#[inline]
fn field_text<'a>(
    source: &Source<'a>,
    token: Option<&'a [u8]>,
    anomalies: &mut Anomalies,
) -> Option<&'a str> {
    let token = token?;
    let text = source.str_of(token);
    if text.is_none() {
        anomalies.insert(Anomalies::NON_UTF8_HEADER);
    }
    text
}

/// Whether `token` is shaped like a date (`dddd-`), so a bad one is a broken RFC 5424
/// timestamp rather than a sign that the line is not RFC 5424 at all.
fn looks_like_date(token: &[u8]) -> bool {
    token.len() >= 5 && token.iter().take(4).all(u8::is_ascii_digit) && token.get(4) == Some(&b'-')
}

/// Parses the part after the PRI. `None` when the line is not RFC 5424.
pub fn parse_rfc5424(input: &[u8]) -> Option<Rfc5424<'_>> {
    let (version, rest) = version(input)?;
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
    // Built from locals at each return (not a mutable struct filled in): the 160-byte result
    // then goes straight into the caller's slot instead of through a memcpy per message.
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
    let fields_start = rest;
    let (values, rest) = match fields_from_mask(rest, &mut anomalies) {
        Some(found) => found,
        None => fields_one_by_one(rest, &mut anomalies),
    };
    let (sd_raw, sd_first_len, message) = if anomalies.contains(Anomalies::TRUNCATED_HEADER) {
        (&[][..], 0, rest)
    } else {
        match scan_structured_data(rest) {
            Ok((raw, first_len, after)) => match after.split_first() {
                None => (raw, first_len, after),
                Some((b' ', message)) => (raw, first_len, message),
                // `[a b="c"]msg` without the SP: keep the text as message.
                Some(_) => {
                    anomalies.insert(Anomalies::BAD_STRUCTURED_DATA);
                    (raw, first_len, after)
                }
            },
            Err(_) => {
                // Missing `-` or broken SD: keep everything from here as the message.
                anomalies.insert(Anomalies::BAD_STRUCTURED_DATA);
                (&[][..], 0, rest)
            }
        }
    };
    // The header fields and the SD right after them, validated as text in one pass.
    let text_span = fields_start
        .get(..fields_start.len() - rest.len() + sd_raw.len())
        .unwrap_or_default();
    let source = Source::new(text_span);
    let [hostname, app_name, proc_id, msg_id] = values;
    let hostname = field_text(&source, hostname, &mut anomalies);
    let app_name = field_text(&source, app_name, &mut anomalies);
    let proc_id = field_text(&source, proc_id, &mut anomalies);
    let msg_id = field_text(&source, msg_id, &mut anomalies);
    let structured_data = StructuredData::new(sd_raw, sd_first_len, source);
    let (message, bom) = match message.strip_prefix(BOM) {
        Some(m) => (m, true),
        None => (message, false),
    };
    Some(Rfc5424 {
        version,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        message,
        bom,
        anomalies,
    })
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

    /// The mask path must read every line it accepts exactly as the field-by-field path does.
    #[test]
    fn fields_from_the_space_mask_agree_with_fields_one_by_one() {
        let tokens: [&[u8]; 9] = [
            b"",
            b"-",
            b"host.example.com",
            b"CEF:0|a|b|1|2|n|3|",
            b"LEEF:2.0|x",
            b"app\xff",
            b"Capp",
            b"a-very-long-application-name-over-the-forty-eight-byte-limit",
            b"[x@1 a=\"b\"]",
        ];
        let mut checked = 0;
        let mut from_mask = 0;
        for a in tokens {
            for b in tokens {
                for c in tokens {
                    for d in [b"-".as_slice(), b"ID47", b"", b"LEEF:1.0|y"] {
                        for tail in [b"".as_slice(), b" - msg", b" [x@1 k=\"v\"] msg", b" "] {
                            let line = [a, b, c, d].join(&b' ');
                            let line = [line.as_slice(), tail].concat();
                            let mut by_mask = Anomalies::empty();
                            let mut by_loop = Anomalies::empty();
                            if let Some(fast) = fields_from_mask(&line, &mut by_mask) {
                                let slow = fields_one_by_one(&line, &mut by_loop);
                                assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(&line));
                                assert_eq!(by_mask, by_loop);
                                from_mask += 1;
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 9 * 9 * 4 * 4);
        // The fast path must actually be taken for ordinary lines.
        assert!(from_mask > 500, "{from_mask}");
    }

    #[test]
    fn fields_past_the_mask_are_read_one_by_one() {
        let host = "h".repeat(70);
        let line = format!("1 2003-10-11T22:14:15Z {host} app 12 ID - msg");
        let h = parse_rfc5424(line.as_bytes()).unwrap();
        assert_eq!(h.hostname, Some(host.as_str()));
        assert_eq!(
            (h.app_name, h.proc_id, h.msg_id),
            (Some("app"), Some("12"), Some("ID"))
        );
        assert_eq!(h.message, b"msg");
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
