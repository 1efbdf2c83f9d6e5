//! Vendor formats recognised behind [`crate::parse`]. One module per vendor; each reads the
//! message body only (the syslog header is already parsed), borrows from it, and yields the
//! vendor's own field names: which field lands in which Sentinel column is the forwarder's
//! business (`core/src/tables/`), not the parser's.
//!
//! Cisco ASA/FTD has its own body kind ([`cisco_asa`]); every other vendor gives a
//! [`VendorMessage`], whose [`VendorMessage::fields`] walks the payload lazily, so recognising a
//! vendor costs a few byte comparisons and nothing is parsed until a row is written.
//!
//! Recognition (`detect`) runs only on bodies that are neither CEF, LEEF nor ASA, and looks at
//! the first byte of the message before anything else, so plain syslog pays almost nothing.
//! Formats that are not self-describing (Meraki's text, Zeek TSV, Junos daemon messages) are
//! recognised by shape only where that is safe, and always when the listener pins the vendor.

pub mod checkpoint;
pub mod ciphertrust;
pub mod cisco_asa;
pub mod cisco_ise;
pub mod fortinet;
pub mod juniper;
pub mod mcafee;
pub mod meraki;
pub mod nxlog;
pub mod paloalto;
pub mod scan;
pub mod sophos;
pub mod zeek;

use std::borrow::Cow;

use crate::StructuredData;

/// The vendors whose messages Tern maps into CommonSecurityLog (Cisco ASA/FTD aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    CheckPoint,
    CipherTrust,
    Fortinet,
    Juniper,
    McAfee,
    Meraki,
    NxLog,
    PaloAlto,
    Sophos,
    Zeek,
}

impl Vendor {
    pub const ALL: [Vendor; 10] = [
        Vendor::CheckPoint,
        Vendor::CipherTrust,
        Vendor::Fortinet,
        Vendor::Juniper,
        Vendor::McAfee,
        Vendor::Meraki,
        Vendor::NxLog,
        Vendor::PaloAlto,
        Vendor::Sophos,
        Vendor::Zeek,
    ];

    /// The config and metrics spelling (`format = "paloalto"`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::CheckPoint => "checkpoint",
            Vendor::CipherTrust => "ciphertrust",
            Vendor::Fortinet => "fortinet",
            Vendor::Juniper => "juniper",
            Vendor::McAfee => "mcafee",
            Vendor::Meraki => "meraki",
            Vendor::NxLog => "nxlog",
            Vendor::PaloAlto => "paloalto",
            Vendor::Sophos => "sophos",
            Vendor::Zeek => "zeek",
        }
    }

    pub fn from_name(name: &str) -> Option<Vendor> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(name))
    }
}

/// How a vendor's payload is laid out; picks the field walker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `key=value` pairs in the given dialect.
    KeyValue(scan::kv::Dialect),
    /// A flat JSON object.
    Json,
    /// XML whose leaf elements are the fields.
    Xml,
    /// PAN-OS CSV: field names by log type.
    PanOsCsv,
    /// Zeek TSV: no names on the line (see [`zeek`]).
    ZeekTsv,
    /// Meraki: `key=value` with `ip:port` values split, and `request:`/`pattern:` text.
    Meraki,
    /// Junos `RT_FLOW` session text, by position (see [`juniper`]).
    JunosFlowText,
    /// The RFC 5424 structured data carries the fields; the payload is free text.
    StructuredData,
    /// Free text only (the payload becomes `message`).
    Text,
}

/// A message in a vendor format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorMessage<'a> {
    pub vendor: Vendor,
    /// The vendor's own kind of record where the syntax names it: the PAN-OS log type
    /// (`TRAFFIC`), the Zeek path (`conn`), the Meraki event type (`flows`), the Junos event tag
    /// (`RT_FLOW_SESSION_CREATE`), the FortiGate/Sophos `type`…; empty when unknown.
    pub log_type: &'a str,
    /// The vendor payload (headers and prefixes stripped): what [`Self::fields`] walks.
    pub payload: &'a [u8],
    pub layout: Layout,
    /// The message's RFC 5424 structured data, for vendors that put fields there.
    pub structured_data: StructuredData<'a>,
}

/// One field of a vendor message: the vendor's key (empty for text that belongs to no key)
/// and the value, borrowed unless unescaping forced a copy.
pub type Field<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The fields of a [`VendorMessage`], in the order the message has them.
#[derive(Debug, Clone)]
pub enum Fields<'a> {
    KeyValue(scan::kv::Pairs<'a>),
    Json(scan::json::Members<'a>),
    Xml(scan::xml::Leaves<'a>),
    PanOs(paloalto::Fields<'a>),
    ZeekTsv(zeek::TsvFields<'a>),
    Meraki(meraki::Fields<'a>),
    JunosFlow(juniper::FlowFields<'a>),
    StructuredData {
        elements: crate::structured_data::SdElements<'a>,
        params: Option<crate::structured_data::SdParams<'a>>,
        text: &'a [u8],
    },
    Text(Option<&'a [u8]>),
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        match self {
            Fields::KeyValue(pairs) => pairs.next(),
            Fields::Json(members) => members.next(),
            Fields::Xml(leaves) => leaves.next(),
            Fields::PanOs(fields) => fields.next(),
            Fields::ZeekTsv(fields) => fields.next(),
            Fields::Meraki(fields) => fields.next(),
            Fields::JunosFlow(fields) => fields.next(),
            Fields::StructuredData {
                elements,
                params,
                text,
            } => loop {
                if let Some(p) = params.as_mut() {
                    if let Some((key, value)) = p.next() {
                        return Some((Cow::Borrowed(key), value));
                    }
                }
                match elements.next() {
                    Some(element) => *params = Some(element.params()),
                    None => {
                        let text = crate::text::trim_spaces(std::mem::take(text));
                        return (!text.is_empty())
                            .then(|| (Cow::Borrowed("message"), crate::text::utf8_cow(text)));
                    }
                }
            },
            Fields::Text(text) => {
                let text = crate::text::trim_spaces(text.take()?);
                (!text.is_empty()).then(|| (Cow::Borrowed("message"), crate::text::utf8_cow(text)))
            }
        }
    }
}

impl<'a> VendorMessage<'a> {
    /// Walks the fields; every byte of the payload comes out in some field.
    pub fn fields(&self) -> Fields<'a> {
        match self.layout {
            Layout::KeyValue(dialect) => {
                Fields::KeyValue(scan::kv::Pairs::new(self.payload, dialect))
            }
            Layout::Json => Fields::Json(scan::json::Members::new(self.payload)),
            Layout::Xml => Fields::Xml(scan::xml::Leaves::new(self.payload)),
            Layout::PanOsCsv => Fields::PanOs(paloalto::Fields::new(self.payload, self.log_type)),
            Layout::ZeekTsv => Fields::ZeekTsv(zeek::TsvFields::new(self.payload)),
            Layout::Meraki => Fields::Meraki(meraki::Fields::new(self.payload)),
            Layout::JunosFlowText => {
                Fields::JunosFlow(juniper::FlowFields::new(self.payload, self.log_type))
            }
            Layout::StructuredData => Fields::StructuredData {
                elements: self.structured_data.elements(),
                params: None,
                text: self.payload,
            },
            Layout::Text => Fields::Text(Some(self.payload)),
        }
    }
}

/// What a recogniser sees of a message.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The header's APP-NAME or TAG.
    pub app_name: Option<&'a str>,
    /// The RFC 5424 MSGID.
    pub msg_id: Option<&'a str>,
    /// The message after the TAG, spaces trimmed.
    pub message: &'a [u8],
    /// The RFC 3164 content before the TAG was split off (the message for RFC 5424).
    pub content: &'a [u8],
    pub structured_data: StructuredData<'a>,
}

/// Whether the message's first bytes could start a vendor's self-describing shape: the same
/// prefixes [`detect`] dispatches on, checked first so that most plain syslog pays a byte or two.
#[inline]
fn message_may_match(m: &[u8]) -> bool {
    let second = m.get(1).copied().unwrap_or(0);
    match m.first() {
        // date=, device=, devname=, devid=, device_id=, logver=, time=, timestamp=, category=,
        // hostname=: a letter pair, then (checked by the recognisers) the `=`.
        Some(b'd') => matches!(second, b'a' | b'e'),
        Some(b'l') => second == b'o',
        Some(b't') => second == b'i',
        Some(b'c') => second == b'a',
        Some(b'h') => second == b'o',
        Some(b'|' | b'[' | b'{' | b'<' | b'?' | b'#' | 0xEF) => true,
        Some(b'N') => second == b'e',
        Some(b'S') => second == b'o',
        // `1,2024/…` (PAN-OS), an epoch `1563249630.77…` (Meraki, Zeek), `1 1563…` (Meraki
        // behind a version digit).
        Some(b'0'..=b'9') => {
            second == b','
                || starts_with_epoch_word(m)
                || (m.starts_with(b"1 ") && m.get(2).is_some_and(u8::is_ascii_digit))
        }
        _ => false,
    }
}

/// Whether `m` starts with a whole word that is an epoch with a fraction (`1563249630.774034`
/// then a space, a tab or the end), as Meraki and Zeek TSV lines do. Exact, so that lines
/// that merely start with an address or a number (`10.203.28.21 …`) stop at the gate.
#[inline]
fn starts_with_epoch_word(m: &[u8]) -> bool {
    let seconds = m.iter().take(12).take_while(|b| b.is_ascii_digit()).count();
    if !(9..=11).contains(&seconds) || m.get(seconds) != Some(&b'.') {
        return false;
    }
    let after_dot = m.get(seconds + 1..).unwrap_or_default();
    let fraction = after_dot
        .iter()
        .take(20)
        .take_while(|b| b.is_ascii_digit())
        .count();
    fraction > 0 && matches!(after_dot.get(fraction), None | Some(b' ' | b'\t'))
}

/// The vendor a TAG names, if any: the one list the gate ([`may_match`]) and [`detect`] both
/// use. Split by first letter, so that most TAGs fail on one byte or on their length.
#[inline]
fn vendor_by_tag(app: &str) -> Option<Vendor> {
    let vendor = match app.as_bytes().first()? {
        b'C' if app == "CheckPoint" => Vendor::CheckPoint,
        b'C' if app.eq_ignore_ascii_case("CipherTrust") => Vendor::CipherTrust,
        // McAfee: ePO's `EPOEvents`, Network Security Platform's `Syslog…Forwarder`, Web
        // Gateway's `mwg`.
        b'E' if app == "EPOEvents" => Vendor::McAfee,
        b'S' if app.starts_with("Syslog") && app.ends_with("Forwarder") => Vendor::McAfee,
        b'm' if app == "mwg" => Vendor::McAfee,
        b'R' | b'j' if app.starts_with("RT_") || app.starts_with("junos") => Vendor::Juniper,
        b'v' | b'd' if app.starts_with("vee-") || app.starts_with("dsm") => Vendor::CipherTrust,
        _ => return None,
    };
    Some(vendor)
}

/// The SD-ID of the first element, read from the raw bytes (`[junos@2636…`): walking the
/// elements costs more, and this runs on every RFC 5424 message with SD.
#[inline]
fn first_sd_id<'a>(structured_data: &StructuredData<'a>) -> &'a [u8] {
    let raw = structured_data.raw().strip_prefix(b"[").unwrap_or_default();
    let id_len = raw
        .iter()
        .take(64)
        .position(|b| matches!(b, b' ' | b']'))
        .unwrap_or(0);
    raw.get(..id_len).unwrap_or_default()
}

/// The vendor an SD-ID names (`junos@…`, Vormetric's `CGP@21513`/`COM@21513`, `NXLOG@…`).
fn vendor_by_sd_id(id: &[u8]) -> Option<Vendor> {
    if id.starts_with(b"junos@") {
        Some(Vendor::Juniper)
    } else if id.ends_with(b"@21513") {
        Some(Vendor::CipherTrust)
    } else if id.starts_with(b"NXLOG@") {
        Some(Vendor::NxLog)
    } else {
        None
    }
}

/// Whether [`detect`] could find anything; most plain syslog stops here, after a few byte
/// comparisons.
#[inline]
pub fn may_match(
    message: &[u8],
    app_name: Option<&str>,
    structured_data: &StructuredData<'_>,
) -> bool {
    // SD-IDs: `junos@…`, `NXLOG@…`, Vormetric's `CGP@21513`/`COM@21513`; their first letter
    // first.
    let sd_start = structured_data.raw().get(1).copied();
    message_may_match(message)
        || app_name.and_then(vendor_by_tag).is_some()
        || (matches!(sd_start, Some(b'j' | b'N' | b'C'))
            && vendor_by_sd_id(first_sd_id(structured_data)).is_some())
}

/// Recognises a vendor format; `pinned` names the only vendor to try (and lets recognisers
/// accept shapes that are only safe to read as that vendor's when the listener says so).
#[inline]
pub fn detect<'a>(candidate: &Candidate<'a>, pinned: Option<Vendor>) -> Option<VendorMessage<'a>> {
    if let Some(vendor) = pinned {
        return recognise(vendor, candidate, true);
    }
    // Every arm checks a prefix or a name before a recogniser runs: this is on the path of
    // every plain syslog message, which must pay a few comparisons and no scan.
    let m = candidate.message;
    let try_vendor = |vendor| recognise(vendor, candidate, false);
    let by_message = match m.first() {
        Some(b'c' | b'd' | b'l' | b't' | b'h' | b'|') => {
            if m.starts_with(b"device=") || m.starts_with(b"date=") {
                try_vendor(Vendor::Sophos).or_else(|| try_vendor(Vendor::Fortinet))
            } else if fortinet::starts_like(m) {
                try_vendor(Vendor::Fortinet)
            } else {
                None
            }
            .or_else(|| {
                checkpoint::starts_like(m)
                    .then(|| try_vendor(Vendor::CheckPoint))
                    .flatten()
            })
        }
        Some(b'[') => try_vendor(Vendor::CheckPoint),
        Some(b'{') => try_vendor(Vendor::Zeek).or_else(|| try_vendor(Vendor::NxLog)),
        Some(b'<' | b'?' | 0xEF) => {
            try_vendor(Vendor::McAfee).or_else(|| try_vendor(Vendor::NxLog))
        }
        Some(b'0'..=b'9') => {
            // The first non-digit tells the shapes apart: `1,2024/…` PAN-OS, `1563249630.77…`
            // Meraki or Zeek, `1 1563…` Meraki behind a version digit.
            match m.iter().take(12).find(|b| !b.is_ascii_digit()) {
                Some(b',') => try_vendor(Vendor::PaloAlto),
                Some(b'.') => try_vendor(Vendor::Meraki).or_else(|| try_vendor(Vendor::Zeek)),
                Some(b' ') if m.starts_with(b"1 ") => try_vendor(Vendor::Meraki),
                _ => None,
            }
        }
        Some(b'#') => try_vendor(Vendor::Zeek),
        Some(b'N') if m.starts_with(b"NetScreen device_id=") => try_vendor(Vendor::Juniper),
        Some(b'S') if m.starts_with(b"SourceModuleName=") => try_vendor(Vendor::NxLog),
        _ => None,
    };
    if by_message.is_some() {
        return by_message;
    }
    // Vendors named by their TAG, then by their structured data's SD-ID.
    candidate
        .app_name
        .and_then(vendor_by_tag)
        .and_then(try_vendor)
        .or_else(|| vendor_by_sd_id(first_sd_id(&candidate.structured_data)).and_then(try_vendor))
}

fn recognise<'a>(vendor: Vendor, c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    let found = recognise_own(vendor, c, pinned);
    if found.is_some() || !pinned {
        return found;
    }
    // Pinned, but not in a shape the vendor's module knows: the listener says whose it is, so
    // keep it as that vendor's, with its `key=value` pairs or as text.
    let message = c.message;
    let keyed = scan::kv::Pairs::new(message, scan::kv::SPACED)
        .take(3)
        .filter(|(k, _)| !k.is_empty())
        .count();
    let layout = if !c.structured_data.is_empty() {
        Layout::StructuredData
    } else if keyed >= 2 {
        Layout::KeyValue(scan::kv::SPACED)
    } else {
        Layout::Text
    };
    Some(VendorMessage {
        vendor,
        log_type: c.msg_id.unwrap_or_default(),
        payload: message,
        layout,
        structured_data: c.structured_data,
    })
}

fn recognise_own<'a>(vendor: Vendor, c: &Candidate<'a>, pinned: bool) -> Option<VendorMessage<'a>> {
    match vendor {
        Vendor::CheckPoint => checkpoint::recognise(c, pinned),
        Vendor::CipherTrust => ciphertrust::recognise(c, pinned),
        Vendor::Fortinet => fortinet::recognise(c, pinned),
        Vendor::Juniper => juniper::recognise(c, pinned),
        Vendor::McAfee => mcafee::recognise(c, pinned),
        Vendor::Meraki => meraki::recognise(c, pinned),
        Vendor::NxLog => nxlog::recognise(c, pinned),
        Vendor::PaloAlto => paloalto::recognise(c, pinned),
        Vendor::Sophos => sophos::recognise(c, pinned),
        Vendor::Zeek => zeek::recognise(c, pinned),
    }
}

/// A [`VendorMessage`] with no structured data.
fn message<'a>(
    vendor: Vendor,
    log_type: &'a str,
    payload: &'a [u8],
    layout: Layout,
) -> VendorMessage<'a> {
    VendorMessage {
        vendor,
        log_type,
        payload,
        layout,
        structured_data: StructuredData::default(),
    }
}

/// The text of `key=value` (or `key="value"`) among the first pairs of a `key=value` payload.
fn early_value<'a>(payload: &'a [u8], key: &str, dialect: scan::kv::Dialect) -> Option<&'a str> {
    scan::kv::Pairs::new(payload, dialect)
        .take(12)
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| match v {
            Cow::Borrowed(v) => Some(v),
            Cow::Owned(_) => None,
        })
}
