//! Tern's parsers: zero-copy, total parsers for what syslog senders put on the wire.
//!
//! This crate does no I/O and knows nothing of sockets, Azure or configuration. Bytes go in,
//! borrowed values come out; every function is total: any input gives a value or a typed error,
//! never a panic (each parser has a fuzz target in `fuzz/`).
//!
//! The entry point is [`parse`]: it reads the PRI, detects the header kind (RFC 5424 or
//! RFC 3164), then classifies the body (CEF, LEEF, Cisco ASA/FTD, or plain text). Stream
//! transports cut frames first with [`framing::FrameDecoder`].
//!
//! Layout: one module per grammar: [`framing`], [`pri`], [`timestamp`], [`rfc5424`] (with
//! [`structured_data`]), [`rfc3164`], [`cef`], [`leef`], and [`vendor`] for formats that live in
//! a message body. New vendor formats add a [`Body`] variant and a module under `vendor/`.

pub mod cef;
pub mod framing;
pub mod leef;
pub mod pri;
pub mod relp;
pub mod rfc3164;
pub mod rfc5424;
pub mod structured_data;
pub mod text;
pub mod timestamp;
pub mod vendor;

use std::borrow::Cow;

pub use cef::{Cef, CefError};
pub use leef::{Leef, LeefError};
pub use pri::{Facility, Pri, Severity};
pub use structured_data::StructuredData;
pub use timestamp::Timestamp;
pub use vendor::cisco_asa::{AsaMessage, AsaProduct};
pub use vendor::{Vendor, VendorMessage};

bitflags::bitflags! {
    /// Things a sender got wrong that the parser tolerated. Each is worth a counter: the event
    /// was kept, but a field may be empty or approximate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Anomalies: u16 {
        /// `<…>` present but not a valid PRI (e.g. `<192>`, `<abc>`); user.notice was used.
        const BAD_PRI = 1 << 0;
        /// No PRI at all; user.notice was used (RFC 3164 §4.3.3).
        const MISSING_PRI = 1 << 1;
        /// A timestamp-shaped field that is not a valid date or time.
        const BAD_TIMESTAMP = 1 << 2;
        /// RFC 5424 structured data missing or malformed; kept as message text.
        const BAD_STRUCTURED_DATA = 1 << 3;
        /// RFC 5424 header ended before MSGID.
        const TRUNCATED_HEADER = 1 << 4;
        /// An RFC 5424 header field longer than the RFC allows (kept whole).
        const FIELD_TOO_LONG = 1 << 5;
        /// An RFC 5424 header field that is not UTF-8 (left out; the bytes stay in the line).
        const NON_UTF8_HEADER = 1 << 6;
        /// A relay's header in front of the device's; the device's was used.
        const RELAYED_HEADER = 1 << 7;
    }
}

/// Which parser to use. `Auto` detects; the others pin a listener to one format for senders
/// whose messages are not self-describing or are known to be of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    /// RFC 3164 header; the body is still classified.
    Rfc3164,
    /// RFC 5424 header required; the body is still classified.
    Rfc5424,
    /// The body must be CEF (found anywhere in the message, after any header).
    Cef,
    /// The body must be LEEF (found anywhere in the message).
    Leef,
    /// The body must carry a Cisco ASA/FTD/PIX tag.
    CiscoAsa,
    /// Plain syslog: the body is never classified.
    Text,
    /// The body must be this vendor's format (or CEF/LEEF, which vendors also emit); shapes
    /// that are not self-describing (Meraki, Zeek TSV, Junos daemons) are read as the vendor's.
    Vendor(Vendor),
}

impl Format {
    /// The config spelling (`rfc3164`, `cisco_asa`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Rfc3164 => "rfc3164",
            Format::Rfc5424 => "rfc5424",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::CiscoAsa => "cisco_asa",
            Format::Text => "text",
            Format::Vendor(vendor) => vendor.name(),
        }
    }

    /// Parses the config spelling.
    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Auto,
            Format::Rfc3164,
            Format::Rfc5424,
            Format::Cef,
            Format::Leef,
            Format::CiscoAsa,
            Format::Text,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
        .or_else(|| Vendor::from_name(name).map(Format::Vendor))
    }
}

/// What the parser needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The receive time (UTC); completes BSD timestamps that carry no year.
    pub reference_time: Timestamp,
    pub format: Format,
}

impl Options {
    pub fn new(reference_time: Timestamp) -> Options {
        Options {
            reference_time,
            format: Format::Auto,
        }
    }
}

/// Which kind of syslog header a line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    Rfc5424,
    Rfc3164,
}

/// The body of a message, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// Plain text: the message is all there is.
    Text,
    Cef(Cef<'a>),
    Leef(Leef<'a>),
    CiscoAsa(AsaMessage<'a>),
    /// A vendor format read at the edge (see [`vendor`]).
    Vendor(VendorMessage<'a>),
}

impl Body<'_> {
    /// A short name for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Text => "text",
            Body::Cef(_) => "cef",
            Body::Leef(_) => "leef",
            Body::CiscoAsa(_) => "cisco_asa",
            Body::Vendor(v) => v.vendor.name(),
        }
    }
}

/// Why a body that looked like CEF or LEEF was kept as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Cef(CefError),
    Leef(LeefError),
}

impl core::fmt::Display for BodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BodyError::Cef(e) => e.fmt(f),
            BodyError::Leef(e) => e.fmt(f),
        }
    }
}

/// One parsed syslog message, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// The PRI as written; `None` when missing or invalid (see [`Event::pri_or_default`]).
    pub pri: Option<Pri>,
    pub header: HeaderKind,
    /// The event's own time; year-less BSD dates completed from [`Options::reference_time`].
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    /// RFC 5424 APP-NAME or the RFC 3164 TAG without `[pid]`.
    pub app_name: Option<&'a str>,
    pub proc_id: Option<&'a str>,
    pub msg_id: Option<&'a str>,
    pub structured_data: StructuredData<'a>,
    /// The message text (RFC 5424 MSG without BOM, or what follows the RFC 3164 TAG).
    pub message: &'a [u8],
    pub body: Body<'a>,
    /// Set when the message looked like CEF/LEEF but could not be read as such.
    pub body_error: Option<BodyError>,
    pub anomalies: Anomalies,
}

impl<'a> Event<'a> {
    /// The PRI, or RFC 3164's default user.notice when the line had none.
    pub fn pri_or_default(&self) -> Pri {
        self.pri.unwrap_or(Pri::DEFAULT)
    }

    pub fn facility(&self) -> Facility {
        self.pri_or_default().facility
    }

    pub fn severity(&self) -> Severity {
        self.pri_or_default().severity
    }

    /// The message as text, borrowed unless it is not valid UTF-8.
    pub fn message_text(&self) -> Cow<'a, str> {
        text::utf8_cow(self.message)
    }
}

/// Why [`parse`] gave no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but whitespace.
    Empty,
    /// A pinned [`Format`] did not match the line.
    NotFormat(Format),
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty message"),
            ParseError::NotFormat(format) => {
                write!(
                    f,
                    "message is not {} (the format this input is pinned to)",
                    format.name()
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Strips what framing leaves at the end (CR, LF, NUL) and spaces before the PRI (Cisco puts a
/// space after the LF of the previous frame).
///
/// Byte by byte from each end: the usual line has nothing to strip. Never inlined: inlined, it
/// changed how `parse` moves the header, and two struct copies per message cost more than the
/// call.
#[inline(never)]
fn trim_line(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b'\n' | b'\0'] = line {
        line = rest;
    }
    while let [b' ' | b'\t', rest @ ..] = line {
        line = rest;
    }
    line
}

/// Parses one syslog message (one frame or datagram).
#[inline]
pub fn parse<'a>(input: &'a [u8], options: &Options) -> Result<Event<'a>, ParseError> {
    let line = trim_line(input);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut anomalies = Anomalies::empty();
    let (pri, after_pri) = match pri::parse_pri(line) {
        Ok((rest, pri)) => (Some(pri), rest),
        Err(e) => {
            anomalies.insert(match e {
                pri::PriError::Invalid => Anomalies::BAD_PRI,
                pri::PriError::Missing => Anomalies::MISSING_PRI,
            });
            (None, line)
        }
    };

    // The header fields, then the body, then one `Event` built in place: events are large
    // enough that moving them between stages showed in profiles.
    let rfc5424 = match options.format {
        Format::Rfc3164 => None,
        _ if pri.is_some() => rfc5424::parse_rfc5424(after_pri),
        // An RFC 5424 header whose PRI a relay or file stripped (`1 2019-05-15T16:27:07Z host…`).
        _ if line.starts_with(b"1 ") && line.get(6) == Some(&b'-') => rfc5424::parse_rfc5424(line),
        _ => None,
    };
    let (header, fields, content) = match rfc5424 {
        Some(h) => {
            anomalies |= h.anomalies;
            (
                HeaderKind::Rfc5424,
                HeaderFields {
                    timestamp: h.timestamp,
                    hostname: h.hostname,
                    app_name: h.app_name,
                    proc_id: h.proc_id,
                    msg_id: h.msg_id,
                    structured_data: h.structured_data,
                    message: h.message,
                },
                h.message,
            )
        }
        None if options.format == Format::Rfc5424 => {
            return Err(ParseError::NotFormat(Format::Rfc5424));
        }
        None => {
            let h = rfc3164::parse_rfc3164(after_pri, &options.reference_time);
            anomalies |= h.anomalies;
            let (tag, message) = h.split_tag();
            (
                HeaderKind::Rfc3164,
                HeaderFields {
                    timestamp: h.timestamp,
                    hostname: h.hostname,
                    app_name: tag.map(|t| t.app_name),
                    proc_id: tag.and_then(|t| t.proc_id),
                    msg_id: None,
                    structured_data: StructuredData::default(),
                    message,
                },
                // An ASA tag is the TAG itself: look for it before the TAG was split off.
                h.content,
            )
        }
    };
    let asa = match options.format {
        Format::Text => None,
        _ => vendor::cisco_asa::parse_asa(content),
    };
    // One binding, never reassigned: the body is then built straight into the `Event` below
    // (a reassigned one was copied, 208 bytes per message).
    let (body, body_error) = match asa {
        Some(asa) => (Body::CiscoAsa(asa), None),
        None => classify_body(
            &BodyContext {
                message: fields.message,
                content,
                app_name: fields.app_name,
                msg_id: fields.msg_id,
                structured_data: &fields.structured_data,
            },
            options.format,
        ),
    };
    match (options.format, &body) {
        (Format::Cef, Body::Cef(_))
        | (Format::Leef, Body::Leef(_))
        | (Format::CiscoAsa, Body::CiscoAsa(_))
        | (Format::Vendor(_), Body::Vendor(_) | Body::Cef(_) | Body::Leef(_))
        | (Format::Auto | Format::Rfc3164 | Format::Rfc5424 | Format::Text, _) => Ok(Event {
            pri,
            header,
            timestamp: fields.timestamp,
            hostname: fields.hostname,
            app_name: fields.app_name,
            proc_id: fields.proc_id,
            msg_id: fields.msg_id,
            structured_data: fields.structured_data,
            message: fields.message,
            body,
            body_error,
            anomalies,
        }),
        (pinned, _) => Err(ParseError::NotFormat(pinned)),
    }
}

/// A vendor format in a body that is neither CEF, LEEF nor ASA, when the format allows one.
#[inline]
fn detect_vendor<'a>(header: &BodyContext<'_, 'a>, format: Format) -> Option<VendorMessage<'a>> {
    let pinned = match format {
        Format::Auto => None,
        Format::Vendor(vendor) => Some(vendor),
        _ => return None,
    };
    let message = text::trim_leading_spaces(header.message);
    if pinned.is_none() && !vendor::may_match(message, header.app_name, header.structured_data) {
        return None;
    }
    recognise_vendor(header, message, pinned)
}

/// [`detect_vendor`] past its cheap gate (taken by few messages).
#[inline]
fn recognise_vendor<'a>(
    header: &BodyContext<'_, 'a>,
    message: &'a [u8],
    pinned: Option<Vendor>,
) -> Option<VendorMessage<'a>> {
    // `host devid=FG…  date=…`: a key=value pair taken for a TAG is part of the body (the rest
    // of such a body is key=value too, so the gate passed).
    let tag_is_pair = header
        .app_name
        .is_some_and(|a| a.as_bytes().contains(&b'='));
    let message = if tag_is_pair {
        text::trim_leading_spaces(header.content)
    } else {
        message
    };
    let candidate = vendor::Candidate {
        app_name: header.app_name,
        msg_id: header.msg_id,
        message,
        content: header.content,
        structured_data: *header.structured_data,
    };
    vendor::detect(&candidate, pinned)
}

/// What body classification needs of the header: a few fields, passed by value or by
/// reference so that the header's struct can stay in registers in the hot path.
#[derive(Clone, Copy)]
struct BodyContext<'h, 'a> {
    message: &'a [u8],
    /// The RFC 3164 content before the TAG was split off.
    content: &'a [u8],
    app_name: Option<&'a str>,
    msg_id: Option<&'a str>,
    structured_data: &'h StructuredData<'a>,
}

/// The header part of an [`Event`], whichever syslog flavour it came from.
struct HeaderFields<'a> {
    timestamp: Option<Timestamp>,
    hostname: Option<&'a str>,
    app_name: Option<&'a str>,
    proc_id: Option<&'a str>,
    msg_id: Option<&'a str>,
    structured_data: StructuredData<'a>,
    message: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Cef,
    Leef,
}

/// Finds the first `CEF:<version>|` or `LEEF:<version>|` that starts a word of `message`.
///
/// The record may follow a vendor prefix (`vectra_cef -: CEF:0|…`, `host AEM CEF:0|…`), as AMA
/// accepts any TAG that contains CEF; requiring a word start, a version and `|` keeps prose that
/// mentions "CEF:" as text.
///
/// The search runs on every message, so it is a single-byte search for the `F` of `EF:`
/// (vectorised, four words per step) rather than a substring search (two bytes per word, one
/// word per step): the search costs 15 % less, the whole parse 1.3 % less (benches/README.md).
#[inline]
fn find_record(message: &[u8]) -> Option<(Record, usize)> {
    memchr::memchr_iter(b'F', message).find_map(|f| {
        let is_ef =
            f >= 1 && message.get(f + 1) == Some(&b':') && message.get(f - 1) == Some(&b'E');
        is_ef.then(|| record_at(message, f - 1)).flatten()
    })
}

/// Whether the `EF:` at `ef` belongs to a `CEF:<version>|` or `LEEF:<version>|` that starts a
/// word.
#[inline]
fn record_at(message: &[u8], ef: usize) -> Option<(Record, usize)> {
    {
        let (record, at) = if ef >= 1 && message.get(ef - 1) == Some(&b'C') {
            (Record::Cef, ef - 1)
        } else if ef >= 2 && message.get(ef - 2..ef) == Some(b"LE") {
            (Record::Leef, ef - 2)
        } else {
            return None;
        };
        let word_start = at == 0
            || message
                .get(at - 1)
                .is_some_and(|b| matches!(b, b' ' | b':' | b'\t' | b'-' | b'|'));
        let after = message.get(ef + 3..).unwrap_or_default();
        // Trend Micro Deep Security writes `CEF: 0|`.
        let after = after.strip_prefix(b" ").unwrap_or(after);
        let digits = after
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
        (word_start && digits > 0 && after.get(digits) == Some(&b'|')).then_some((record, at))
    }
}

/// Looks at the message for CEF, LEEF, an ASA tag, then a vendor format.
#[inline]
fn classify_body<'a>(
    header: &BodyContext<'_, 'a>,
    format: Format,
) -> (Body<'a>, Option<BodyError>) {
    if format == Format::Text {
        return (Body::Text, None);
    }
    let message = text::trim_spaces(header.message);
    match find_record(message) {
        Some((Record::Cef, at)) if format != Format::Leef => {
            match cef::parse_cef(message.get(at..).unwrap_or_default()) {
                Ok(cef) => (Body::Cef(cef), None),
                Err(e) => (Body::Text, Some(BodyError::Cef(e))),
            }
        }
        Some((Record::Leef, at)) if format != Format::Cef => {
            match leef::parse_leef(message.get(at..).unwrap_or_default()) {
                Ok(leef) => (Body::Leef(leef), None),
                Err(e) => (Body::Text, Some(BodyError::Leef(e))),
            }
        }
        _ => match vendor::cisco_asa::parse_asa(message) {
            Some(asa) => (Body::CiscoAsa(asa), None),
            None => match detect_vendor(header, format) {
                Some(found) => (Body::Vendor(found), None),
                None => (Body::Text, None),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::new(Timestamp::from_unix(1_795_000_000, 0))
    }

    #[test]
    fn missing_pri_is_user_notice_with_whole_line_as_message() {
        let e = parse(b"just some text", &options()).unwrap();
        assert_eq!(e.pri, None);
        assert_eq!(e.facility(), Facility::User);
        assert_eq!(e.severity(), Severity::Notice);
        assert_eq!(e.message, b"just some text");
        assert!(e.anomalies.contains(Anomalies::MISSING_PRI));
        let e = parse(b"<999>text", &options()).unwrap();
        assert_eq!(e.pri, None);
        assert_eq!(e.message, b"<999>text");
        assert!(e.anomalies.contains(Anomalies::BAD_PRI));
    }

    #[test]
    fn detects_header_and_body() {
        let e = parse(
            b"<165>1 2003-10-11T22:14:15.003Z host app 1 ID - CEF:0|V|P|1|2|N|3|src=1",
            &options(),
        )
        .unwrap();
        assert_eq!(e.header, HeaderKind::Rfc5424);
        assert!(matches!(e.body, Body::Cef(_)));
        let e = parse(
            b"<134>Feb 14 19:04:54 host LEEF:1.0|V|P|1|2|a=b",
            &options(),
        )
        .unwrap();
        assert_eq!(e.header, HeaderKind::Rfc3164);
        assert!(matches!(e.body, Body::Leef(_)));
        let e = parse(
            b"<166>Nov 21 2026 10:00:00 fw01 : %ASA-6-302013: Built",
            &options(),
        )
        .unwrap();
        let Body::CiscoAsa(asa) = e.body else {
            panic!("not ASA: {e:?}")
        };
        assert_eq!(asa.message_id, "302013");
        assert_eq!(asa.text, b"Built");
        assert_eq!(e.hostname, Some("fw01"));
        assert_eq!(e.app_name, Some("%ASA-6-302013"));
        let e = parse(b"<13>Feb 14 19:04:54 host app: CEF:0|broken", &options()).unwrap();
        assert!(matches!(e.body, Body::Text));
        assert_eq!(
            e.body_error,
            Some(BodyError::Cef(CefError::IncompleteHeader { fields: 2 }))
        );
    }

    #[test]
    fn pinned_formats() {
        let mut o = options();
        o.format = Format::Cef;
        let e = parse(
            b"<13>Feb 14 19:04:54 host vendor said CEF:0|V|P|1|2|N|3|a=b",
            &o,
        )
        .unwrap();
        assert!(matches!(e.body, Body::Cef(_)));
        assert_eq!(
            parse(b"<13>Feb 14 19:04:54 host plain", &o),
            Err(ParseError::NotFormat(Format::Cef))
        );
        o.format = Format::Rfc5424;
        assert_eq!(
            parse(b"<13>Feb 14 19:04:54 host x: y", &o),
            Err(ParseError::NotFormat(Format::Rfc5424))
        );
        o.format = Format::Text;
        let e = parse(b"<13>Feb 14 19:04:54 host x: CEF:0|V|P|1|2|N|3|a=b", &o).unwrap();
        assert!(matches!(e.body, Body::Text));
    }

    #[test]
    fn empty_and_framing_residue() {
        assert_eq!(parse(b"", &options()), Err(ParseError::Empty));
        assert_eq!(parse(b" \r\n", &options()), Err(ParseError::Empty));
        let e = parse(b" <181>01\r\n", &options()).unwrap();
        assert_eq!(e.pri.unwrap().value(), 181);
        assert_eq!(e.message, b"01");
    }

    #[test]
    fn record_search_skips_lookalikes_before_the_record() {
        // `F`s, `EF:` without a word start, `CEF:` without a version, then the record.
        let line = b"FF: XEF:0| CEF:x| LEEF:| vendor CEF: 0|V|P|1|2|N|3|a=b";
        assert_eq!(find_record(line), Some((Record::Cef, 32)));
        assert_eq!(find_record(b"LEEF:2.0|V|P|1|e|"), Some((Record::Leef, 0)));
        assert_eq!(find_record(b"EF:0|"), None);
        assert_eq!(find_record(b"F:0|"), None);
        assert_eq!(find_record(b"we log CEF:0 and LEEF:1 as text"), None);
    }

    #[test]
    fn non_utf8_message_is_kept_as_bytes() {
        let e = parse(b"<13>Feb 14 19:04:54 host app: caf\xe9", &options()).unwrap();
        assert_eq!(e.message, b"caf\xe9");
        assert_eq!(e.message_text(), "caf\u{fffd}");
    }
}
