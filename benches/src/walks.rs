//! The contenders of the parser benchmarks, shared by the criterion bench
//! (`benches/parsers.rs`) and the interleaved ratio run (`examples/parser_ratio.rs`): each
//! parses a line and touches every field it produced, so lazy parts are measured too.
#![allow(clippy::expect_used, clippy::panic)]

use crate::corpus_lines;
use tern_parsers::{Body, HeaderKind, Options, Timestamp, parse};

/// The reference time every contender uses (a fixed receive time, so runs compare).
pub fn options() -> Options {
    Options::new(Timestamp::from_unix(1_795_219_200, 0))
}

/// Walks every param of every SD element (Tern's structured data is read lazily).
fn structured_data_len(structured_data: &tern_parsers::StructuredData<'_>) -> usize {
    structured_data
        .elements()
        .flat_map(|element| element.params())
        .map(|(k, v)| k.len() + v.len())
        .sum()
}

/// Touches every field Tern parsed, so lazy parts are measured too.
pub fn tern_walk(line: &str, options: &Options) -> usize {
    let Ok(event) = parse(line.as_bytes(), options) else {
        return 0;
    };
    let mut n = event.hostname.map_or(0, str::len)
        + event.app_name.map_or(0, str::len)
        + event.proc_id.map_or(0, str::len)
        + event.msg_id.map_or(0, str::len)
        + event.message.len()
        + event.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
    n += structured_data_len(&event.structured_data);
    if let Body::Vendor(message) = &event.body {
        for (k, v) in message.fields() {
            n += k.len() + v.len();
        }
    }
    if let Body::Cef(cef) = &event.body {
        n += cef.device_vendor.len()
            + cef.device_product.len()
            + cef.name.len()
            + cef.severity.len();
        for (k, v) in cef.extensions.iter() {
            n += k.len() + v.len();
        }
    }
    n
}

/// Tern's syslog header parsers alone (PRI, header, TAG, structured data), without the body
/// classification (CEF/LEEF/ASA search) that `parse` adds and `syslog_loose` does not do.
pub fn tern_header_walk(line: &str, options: &Options) -> usize {
    let bytes = line.as_bytes();
    let Ok((rest, pri)) = tern_parsers::pri::parse_pri(bytes) else {
        return 0;
    };
    let mut n = usize::from(pri.value());
    if let Some(h) = tern_parsers::rfc5424::parse_rfc5424(rest) {
        n += h.hostname.map_or(0, str::len)
            + h.app_name.map_or(0, str::len)
            + h.proc_id.map_or(0, str::len)
            + h.msg_id.map_or(0, str::len)
            + h.message.len()
            + h.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
        n += structured_data_len(&h.structured_data);
    } else {
        let h = tern_parsers::rfc3164::parse_rfc3164(rest, &options.reference_time);
        let (tag, message) = h.split_tag();
        n += h.hostname.map_or(0, str::len)
            + tag.map_or(0, |t| t.app_name.len() + t.proc_id.map_or(0, str::len))
            + message.len()
            + h.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
    }
    n
}

/// `syslog_loose` in its fastest configuration: a fixed year and UTC (plain `parse_message`
/// calls `Local::now()` per message).
pub fn syslog_loose_walk(line: &str) -> usize {
    let m = syslog_loose::parse_message_with_year_tz(
        line,
        |_| 2026,
        Some(chrono::Utc),
        syslog_loose::Variant::Either,
    );
    let mut n = m.hostname.map_or(0, str::len)
        + m.appname.map_or(0, str::len)
        + m.msgid.map_or(0, str::len)
        + m.msg.len()
        + m.timestamp.map_or(0, |t| t.timestamp() as usize);
    for element in &m.structured_data {
        for (k, v) in element.params() {
            n += k.len() + v.len();
        }
    }
    n
}

/// The lines of a corpus folder that Tern parses and `keep` accepts, and their total size.
pub fn inputs(folder: &str, keep: impl Fn(&tern_parsers::Event<'_>) -> bool) -> (Vec<String>, u64) {
    let options = options();
    let lines: Vec<String> = corpus_lines(folder)
        .into_iter()
        .filter(|l| parse(l.as_bytes(), &options).is_ok_and(|e| keep(&e)))
        .collect();
    assert!(
        !lines.is_empty(),
        "no {folder} corpus lines (set TERN_CORPUS)"
    );
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    (lines, bytes)
}

/// RFC 5424 lines: an RFC 5424 header without anomalies (what both contenders read in full).
pub fn rfc5424_inputs() -> (Vec<String>, u64) {
    inputs("rfc5424", |e| {
        e.header == HeaderKind::Rfc5424 && e.anomalies.is_empty()
    })
}

/// RFC 3164 lines with a PRI.
pub fn rfc3164_inputs() -> (Vec<String>, u64) {
    inputs("rfc3164", |e| {
        e.header == HeaderKind::Rfc3164 && e.pri.is_some()
    })
}
