//! The CommonSecurityLog table (`reference/azure.md` §4.2–§4.4): CEF records mapped key by key,
//! and Cisco ASA/FTD messages by their tag.
//!
//! Mapping rules, beyond the key table:
//! - Header: vendor, product, version, signature id → `DeviceVendor`, `DeviceProduct`,
//!   `DeviceVersion`, `DeviceEventClassID`; name → `Activity`; severity → `LogSeverity` as
//!   written (AMA does the same; the band mapping is not applied) when it is CEF's 0–10 or a
//!   CEF 1.x word, else to `AdditionalExtensions` as `LogSeverity=…` (counted).
//!   `OriginalLogSeverity` stays empty for CEF.
//! - Typed columns (`int`, `long`, `real`, `datetime`) get the value only when it parses; a value
//!   that does not is kept in `AdditionalExtensions` and counted, never dropped.
//! - `externalId` always fills `ExtID`, and the deprecated `ExternalID` (int) when it fits.
//!   `cnN` fills `FieldDeviceCustomNumberN` (long) and the deprecated `DeviceCustomNumberN`
//!   (int) when it fits.
//! - `deviceDirection` `0`/`1` → `CommunicationDirection` `Inbound`/`Outbound`, and then
//!   `RemoteIP`/`RemotePort` from the source (inbound) or destination (outbound).
//! - `start`/`end` → `StartTime`/`EndTime` in every CEF date form ([`super::cef_time`]).
//! - Port columns take 0–65535 only; a value outside goes to `AdditionalExtensions` (counted).
//! - `SimplifiedDeviceAction` from `DeviceAction` ([`super::device_action`]).
//! - Every key not in the table goes to `AdditionalExtensions` as `key=value` joined by `;`, in
//!   the order received, a `;` inside written `\;`. Keys are case-sensitive.
//! - A key given twice: the last value wins (the parser reports the duplicates).

use std::borrow::Cow;

use tern_parsers::{Body, Cef, Event, Timestamp, VendorMessage};

use super::cef_time::{self, TimeBasis};
use super::json::{JsonObject, Record};
use super::{Received, ShapeNotes, computer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    /// An `int` column that holds a TCP/UDP port: 0 to 65535, else the value is kept in
    /// `AdditionalExtensions` and counted like any value that does not fit.
    Port,
    Long,
    Real,
    Datetime,
}

use Kind::{Datetime, Int, Long, Port, Real, Str};

/// Columns filled from CEF extension keys, in the order they are written.
const COLUMNS: &[(&str, Kind)] = &[
    ("DeviceAction", Str),
    ("ApplicationProtocol", Str),
    ("DeviceEventCategory", Str),
    ("EventCount", Int),
    ("DestinationDnsDomain", Str),
    ("DestinationServiceName", Str),
    ("DestinationTranslatedAddress", Str),
    ("DestinationTranslatedPort", Port),
    ("DeviceDnsDomain", Str),
    ("DeviceExternalID", Str),
    ("DeviceFacility", Str),
    ("DeviceInboundInterface", Str),
    ("DeviceNtDomain", Str),
    ("DeviceOutboundInterface", Str),
    ("DevicePayloadId", Str),
    ("ProcessName", Str),
    ("DeviceTranslatedAddress", Str),
    ("DestinationHostName", Str),
    ("DestinationMACAddress", Str),
    ("DestinationNTDomain", Str),
    ("DestinationProcessId", Int),
    ("DestinationUserPrivileges", Str),
    ("DestinationProcessName", Str),
    ("DestinationPort", Port),
    ("DestinationIP", Str),
    ("DeviceTimeZone", Str),
    ("DestinationUserID", Str),
    ("DestinationUserName", Str),
    ("DeviceAddress", Str),
    ("DeviceName", Str),
    ("DeviceMacAddress", Str),
    ("ProcessID", Int),
    ("ReceivedBytes", Long),
    ("SentBytes", Long),
    ("Message", Str),
    ("EventOutcome", Str),
    ("Protocol", Str),
    ("Reason", Str),
    ("RequestURL", Str),
    ("RequestClientApplication", Str),
    ("RequestContext", Str),
    ("RequestCookies", Str),
    ("RequestMethod", Str),
    ("ReceiptTime", Str),
    ("SourceHostName", Str),
    ("SourceMACAddress", Str),
    ("SourceNTDomain", Str),
    ("SourceDnsDomain", Str),
    ("SourceServiceName", Str),
    ("SourceTranslatedAddress", Str),
    ("SourceTranslatedPort", Port),
    ("SourceProcessId", Int),
    ("SourceUserPrivileges", Str),
    ("SourceProcessName", Str),
    ("SourcePort", Port),
    ("SourceIP", Str),
    ("SourceUserID", Str),
    ("SourceUserName", Str),
    ("EventType", Int),
    ("FileCreateTime", Str),
    ("FileHash", Str),
    ("FileID", Str),
    ("FileModificationTime", Str),
    ("FilePath", Str),
    ("FilePermission", Str),
    ("FileType", Str),
    ("FileName", Str),
    ("FileSize", Int),
    ("OldFileCreateTime", Str),
    ("OldFileHash", Str),
    ("OldFileID", Str),
    ("OldFileModificationTime", Str),
    ("OldFileName", Str),
    ("OldFilePath", Str),
    ("OldFilePermission", Str),
    ("OldFileSize", Int),
    ("OldFileType", Str),
    ("DeviceCustomString1", Str),
    ("DeviceCustomString2", Str),
    ("DeviceCustomString3", Str),
    ("DeviceCustomString4", Str),
    ("DeviceCustomString5", Str),
    ("DeviceCustomString6", Str),
    ("DeviceCustomString1Label", Str),
    ("DeviceCustomString2Label", Str),
    ("DeviceCustomString3Label", Str),
    ("DeviceCustomString4Label", Str),
    ("DeviceCustomString5Label", Str),
    ("DeviceCustomString6Label", Str),
    ("FieldDeviceCustomNumber1", Long),
    ("FieldDeviceCustomNumber2", Long),
    ("FieldDeviceCustomNumber3", Long),
    ("DeviceCustomNumber1Label", Str),
    ("DeviceCustomNumber2Label", Str),
    ("DeviceCustomNumber3Label", Str),
    ("DeviceCustomFloatingPoint1", Real),
    ("DeviceCustomFloatingPoint2", Real),
    ("DeviceCustomFloatingPoint3", Real),
    ("DeviceCustomFloatingPoint4", Real),
    ("DeviceCustomFloatingPoint1Label", Str),
    ("DeviceCustomFloatingPoint2Label", Str),
    ("DeviceCustomFloatingPoint3Label", Str),
    ("DeviceCustomFloatingPoint4Label", Str),
    ("DeviceCustomIPv6Address1", Str),
    ("DeviceCustomIPv6Address2", Str),
    ("DeviceCustomIPv6Address3", Str),
    ("DeviceCustomIPv6Address4", Str),
    ("DeviceCustomIPv6Address1Label", Str),
    ("DeviceCustomIPv6Address2Label", Str),
    ("DeviceCustomIPv6Address3Label", Str),
    ("DeviceCustomIPv6Address4Label", Str),
    ("DeviceCustomDate1", Str),
    ("DeviceCustomDate2", Str),
    ("DeviceCustomDate1Label", Str),
    ("DeviceCustomDate2Label", Str),
    ("FlexDate1", Str),
    ("FlexDate1Label", Str),
    ("FlexNumber1", Int),
    ("FlexNumber2", Int),
    ("FlexNumber1Label", Str),
    ("FlexNumber2Label", Str),
    ("FlexString1", Str),
    ("FlexString2", Str),
    ("FlexString1Label", Str),
    ("FlexString2Label", Str),
    ("StartTime", Datetime),
    ("EndTime", Datetime),
    ("ExtID", Str),
    ("CommunicationDirection", Str),
    // Header columns, filled by vendor mappings (CEF writes them from its header).
    ("DeviceVendor", Str),
    ("DeviceProduct", Str),
    ("DeviceVersion", Str),
    ("DeviceEventClassID", Str),
    ("Activity", Str),
    ("LogSeverity", Str),
    ("OriginalLogSeverity", Str),
];

/// The header columns a vendor row writes first, in this order.
const VENDOR_HEADER: [&str; 7] = [
    "DeviceVendor",
    "DeviceProduct",
    "DeviceVersion",
    "DeviceEventClassID",
    "Activity",
    "LogSeverity",
    "OriginalLogSeverity",
];

/// CEF key → (column, its index in [`COLUMNS`]): a perfect-hash map, as this lookup runs for
/// every key of every record. Keys handled by special rules (`deviceDirection`, `externalId`,
/// `cn1`–`cn3`) map to the column they fill first. A test checks every index against its name.
static KEYS: phf::Map<&'static str, (&'static str, usize)> = phf::phf_map! {
    "act" => ("DeviceAction", 0),
    "app" => ("ApplicationProtocol", 1),
    "c6a1" => ("DeviceCustomIPv6Address1", 103),
    "c6a1Label" => ("DeviceCustomIPv6Address1Label", 107),
    "c6a2" => ("DeviceCustomIPv6Address2", 104),
    "c6a2Label" => ("DeviceCustomIPv6Address2Label", 108),
    "c6a3" => ("DeviceCustomIPv6Address3", 105),
    "c6a3Label" => ("DeviceCustomIPv6Address3Label", 109),
    "c6a4" => ("DeviceCustomIPv6Address4", 106),
    "c6a4Label" => ("DeviceCustomIPv6Address4Label", 110),
    "cat" => ("DeviceEventCategory", 2),
    "cfp1" => ("DeviceCustomFloatingPoint1", 95),
    "cfp1Label" => ("DeviceCustomFloatingPoint1Label", 99),
    "cfp2" => ("DeviceCustomFloatingPoint2", 96),
    "cfp2Label" => ("DeviceCustomFloatingPoint2Label", 100),
    "cfp3" => ("DeviceCustomFloatingPoint3", 97),
    "cfp3Label" => ("DeviceCustomFloatingPoint3Label", 101),
    "cfp4" => ("DeviceCustomFloatingPoint4", 98),
    "cfp4Label" => ("DeviceCustomFloatingPoint4Label", 102),
    "cn1" => ("FieldDeviceCustomNumber1", 89),
    "cn1Label" => ("DeviceCustomNumber1Label", 92),
    "cn2" => ("FieldDeviceCustomNumber2", 90),
    "cn2Label" => ("DeviceCustomNumber2Label", 93),
    "cn3" => ("FieldDeviceCustomNumber3", 91),
    "cn3Label" => ("DeviceCustomNumber3Label", 94),
    "cnt" => ("EventCount", 3),
    "cs1" => ("DeviceCustomString1", 77),
    "cs1Label" => ("DeviceCustomString1Label", 83),
    "cs2" => ("DeviceCustomString2", 78),
    "cs2Label" => ("DeviceCustomString2Label", 84),
    "cs3" => ("DeviceCustomString3", 79),
    "cs3Label" => ("DeviceCustomString3Label", 85),
    "cs4" => ("DeviceCustomString4", 80),
    "cs4Label" => ("DeviceCustomString4Label", 86),
    "cs5" => ("DeviceCustomString5", 81),
    "cs5Label" => ("DeviceCustomString5Label", 87),
    "cs6" => ("DeviceCustomString6", 82),
    "cs6Label" => ("DeviceCustomString6Label", 88),
    "destinationDnsDomain" => ("DestinationDnsDomain", 4),
    "destinationServiceName" => ("DestinationServiceName", 5),
    "destinationTranslatedAddress" => ("DestinationTranslatedAddress", 6),
    "destinationTranslatedPort" => ("DestinationTranslatedPort", 7),
    "deviceCustomDate1" => ("DeviceCustomDate1", 111),
    "deviceCustomDate1Label" => ("DeviceCustomDate1Label", 113),
    "deviceCustomDate2" => ("DeviceCustomDate2", 112),
    "deviceCustomDate2Label" => ("DeviceCustomDate2Label", 114),
    "deviceDirection" => ("CommunicationDirection", 128),
    "deviceDnsDomain" => ("DeviceDnsDomain", 8),
    "deviceExternalId" => ("DeviceExternalID", 9),
    "deviceFacility" => ("DeviceFacility", 10),
    "deviceInboundInterface" => ("DeviceInboundInterface", 11),
    "deviceNtDomain" => ("DeviceNtDomain", 12),
    "deviceOutboundInterface" => ("DeviceOutboundInterface", 13),
    "devicePayloadId" => ("DevicePayloadId", 14),
    "deviceProcessName" => ("ProcessName", 15),
    "deviceTranslatedAddress" => ("DeviceTranslatedAddress", 16),
    "dhost" => ("DestinationHostName", 17),
    "dmac" => ("DestinationMACAddress", 18),
    "dntdom" => ("DestinationNTDomain", 19),
    "dpid" => ("DestinationProcessId", 20),
    "dpriv" => ("DestinationUserPrivileges", 21),
    "dproc" => ("DestinationProcessName", 22),
    "dpt" => ("DestinationPort", 23),
    "dst" => ("DestinationIP", 24),
    "dtz" => ("DeviceTimeZone", 25),
    "duid" => ("DestinationUserID", 26),
    "duser" => ("DestinationUserName", 27),
    "dvc" => ("DeviceAddress", 28),
    "dvchost" => ("DeviceName", 29),
    "dvcmac" => ("DeviceMacAddress", 30),
    "dvcpid" => ("ProcessID", 31),
    "end" => ("EndTime", 126),
    "externalId" => ("ExtID", 127),
    "fileCreateTime" => ("FileCreateTime", 59),
    "fileHash" => ("FileHash", 60),
    "fileId" => ("FileID", 61),
    "fileModificationTime" => ("FileModificationTime", 62),
    "filePath" => ("FilePath", 63),
    "filePermission" => ("FilePermission", 64),
    "fileType" => ("FileType", 65),
    "flexDate1" => ("FlexDate1", 115),
    "flexDate1Label" => ("FlexDate1Label", 116),
    "flexNumber1" => ("FlexNumber1", 117),
    "flexNumber1Label" => ("FlexNumber1Label", 119),
    "flexNumber2" => ("FlexNumber2", 118),
    "flexNumber2Label" => ("FlexNumber2Label", 120),
    "flexString1" => ("FlexString1", 121),
    "flexString1Label" => ("FlexString1Label", 123),
    "flexString2" => ("FlexString2", 122),
    "flexString2Label" => ("FlexString2Label", 124),
    "fname" => ("FileName", 66),
    "fsize" => ("FileSize", 67),
    "in" => ("ReceivedBytes", 32),
    "msg" => ("Message", 34),
    "oldFileCreateTime" => ("OldFileCreateTime", 68),
    "oldFileHash" => ("OldFileHash", 69),
    "oldFileId" => ("OldFileID", 70),
    "oldFileModificationTime" => ("OldFileModificationTime", 71),
    "oldFileName" => ("OldFileName", 72),
    "oldFilePath" => ("OldFilePath", 73),
    "oldFilePermission" => ("OldFilePermission", 74),
    "oldFileSize" => ("OldFileSize", 75),
    "oldFileType" => ("OldFileType", 76),
    "out" => ("SentBytes", 33),
    "outcome" => ("EventOutcome", 35),
    "proto" => ("Protocol", 36),
    "reason" => ("Reason", 37),
    "request" => ("RequestURL", 38),
    "requestClientApplication" => ("RequestClientApplication", 39),
    "requestContext" => ("RequestContext", 40),
    "requestCookies" => ("RequestCookies", 41),
    "requestMethod" => ("RequestMethod", 42),
    "rt" => ("ReceiptTime", 43),
    "shost" => ("SourceHostName", 44),
    "smac" => ("SourceMACAddress", 45),
    "sntdom" => ("SourceNTDomain", 46),
    "sourceDnsDomain" => ("SourceDnsDomain", 47),
    "sourceServiceName" => ("SourceServiceName", 48),
    "sourceTranslatedAddress" => ("SourceTranslatedAddress", 49),
    "sourceTranslatedPort" => ("SourceTranslatedPort", 50),
    "spid" => ("SourceProcessId", 51),
    "spriv" => ("SourceUserPrivileges", 52),
    "sproc" => ("SourceProcessName", 53),
    "spt" => ("SourcePort", 54),
    "src" => ("SourceIP", 55),
    "start" => ("StartTime", 125),
    "suid" => ("SourceUserID", 56),
    "suser" => ("SourceUserName", 57),
    "type" => ("EventType", 58),
};

/// The values that landed in columns: (column index, position of the pair, value). A short
/// list rather than an array over all 129 columns: a record fills a dozen or two, and
/// initialising an array per event cost more than searching the list. A bit per column says
/// which are in the list, so that a column set for the first time (almost every one) is not
/// searched for.
#[derive(Default)]
struct Landed<'a> {
    entries: smallvec::SmallVec<[(usize, usize, Typed<'a>); 32]>,
    present: [u64; 3],
}

impl<'a> Landed<'a> {
    /// Whether `column` has an entry (columns beyond the bits are always searched).
    fn may_hold(&self, column: usize) -> bool {
        self.present
            .get(column / 64)
            .is_none_or(|bits| bits & (1 << (column % 64)) != 0)
    }

    /// Sets (or, with `None`, clears) a column's value.
    fn set(&mut self, column: usize, value: Option<(usize, Typed<'a>)>) {
        let existing = if self.may_hold(column) {
            self.entries.iter().position(|(c, _, _)| *c == column)
        } else {
            None
        };
        match (existing, value) {
            (Some(i), Some((position, v))) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    *entry = (column, position, v);
                }
            }
            (Some(i), None) => {
                // The bit stays set: it only means "search".
                self.entries.remove(i);
            }
            (None, Some((position, v))) => {
                if let Some(bits) = self.present.get_mut(column / 64) {
                    *bits |= 1 << (column % 64);
                }
                self.entries.push((column, position, v));
            }
            (None, None) => {}
        }
    }

    /// The (position, value) in `column`.
    fn get(&self, column: usize) -> Option<(usize, &Typed<'a>)> {
        if !self.may_hold(column) {
            return None;
        }
        self.entries
            .iter()
            .find(|(c, _, _)| *c == column)
            .map(|(_, p, v)| (*p, v))
    }

    fn sort_by_column(&mut self) {
        self.entries.sort_unstable_by_key(|(c, _, _)| *c);
    }

    fn iter(&self) -> impl Iterator<Item = (usize, usize, &Typed<'a>)> {
        self.entries.iter().map(|(c, p, v)| (*c, *p, v))
    }

    /// Which pair positions landed in a column, answered without looking keys up again.
    fn positions(&self) -> LandedPositions<'_, 'a> {
        let low = self
            .entries
            .iter()
            .filter(|(_, p, _)| *p < 128)
            .fold(0u128, |bits, (_, p, _)| bits | 1 << p);
        LandedPositions { low, all: self }
    }
}

/// [`Landed::positions`]: a bit per position below 128, the list beyond.
struct LandedPositions<'l, 'a> {
    low: u128,
    all: &'l Landed<'a>,
}

impl LandedPositions<'_, '_> {
    fn contains(&self, position: usize) -> bool {
        if position < 128 {
            self.low & (1 << position) != 0
        } else {
            self.all.entries.iter().any(|(_, p, _)| *p == position)
        }
    }
}

/// The index of a column in [`COLUMNS`]; hashed, as vendor rows look up a few per event.
pub(super) fn column_index(column: &str) -> Option<usize> {
    COLUMN_INDEX.get(column).copied()
}

static COLUMN_INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        let mut index = rustc_hash::FxHashMap::default();
        for (i, (name, _)) in COLUMNS.iter().enumerate() {
            index.entry(*name).or_insert(i);
        }
        index
    });

/// Writes a column's checked value.
fn write_typed(row: &mut JsonObject<'_, impl Record>, index: usize, value: &Typed<'_>) {
    let column = COLUMNS.get(index).map_or("", |(name, _)| name);
    match value {
        Typed::Text(text) => row.string(column, text),
        Typed::Int(n) => row.int(column, *n),
        Typed::Real(f) => row.real(column, *f),
        Typed::Time(ts) => row.datetime(column, ts, 0),
    }
}

/// Writes `AdditionalExtensions`: `prefix` (text before the first pair) unkeyed, then every
/// pair in `extra` as `key=value` (just `value` for an empty key) joined by `;`, straight into
/// the row; nothing when there is nothing.
fn write_additional<K: AsRef<str>, V: AsRef<str>>(
    row: &mut JsonObject<'_, impl Record>,
    prefix: Option<&[u8]>,
    extra: impl Iterator<Item = (K, V)>,
) {
    let mut extra = extra.peekable();
    if extra.peek().is_none() && prefix.is_none() {
        return;
    }
    let Some(out) = row.raw("AdditionalExtensions") else {
        return;
    };
    out.push(b'"');
    let mut first = true;
    if let Some(text) = prefix {
        escape_additional_bytes_into(text, out);
        first = false;
    }
    for (key, value) in extra {
        if !first {
            out.push(b';');
        }
        first = false;
        if !key.as_ref().is_empty() {
            escape_additional_into(key.as_ref(), out);
            out.push(b'=');
        }
        escape_additional_into(value.as_ref(), out);
    }
    out.push(b'"');
}

/// One part of `AdditionalExtensions`, JSON-escaped, with `;` (the pair separator) written
/// `\;`: a value holding `;` cannot be read as two pairs. Backslashes stay as sent (decision
/// 100): `CORP\user` and Windows paths are common there, and doubling them would break every
/// query that reads them.
fn escape_additional_into(text: &str, out: &mut Vec<u8>) {
    let mut rest = text;
    // `;` is ASCII: every position memchr finds is a character boundary.
    while let Some(at) = memchr::memchr(b';', rest.as_bytes()) {
        super::json::escape_str_into(rest.get(..at).unwrap_or_default(), out);
        // A backslash in JSON, then the separator it escapes.
        out.extend_from_slice(b"\\\\;");
        rest = rest.get(at + 1..).unwrap_or_default();
    }
    super::json::escape_str_into(rest, out);
}

/// [`escape_additional_into`] for text that may not be UTF-8 (the unkeyed prefix).
fn escape_additional_bytes_into(text: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(text) {
        Ok(text) => escape_additional_into(text, out),
        // Not UTF-8: escaped byte by byte (a `;` stays as sent).
        Err(_) => {
            super::json::escape_bytes_into(text, out);
        }
    }
}

/// The column a CEF key fills, if it is a mapped key.
#[inline]
fn column_for_key(key: &str) -> Option<usize> {
    match short_key(key.as_bytes()) {
        Some(word) if !SHORT_KEYS.slots.is_empty() => SHORT_KEYS.column(word, key.len()),
        _ => KEY_INDEX.get(key).copied(),
    }
}

/// A key of at most eight bytes as one integer. Most CEF keys are this short (`src`, `dpt`,
/// `cs1Label`). From four bytes on, the first four and the last four (overlapping below
/// eight) make the word; shorter keys are zero-padded. Either way two keys of the same length
/// give different words, so a lookup compares the length too.
#[inline]
fn short_key(key: &[u8]) -> Option<u64> {
    let four = |at: usize| {
        key.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    match key.len() {
        0..=3 => Some(
            key.iter()
                .enumerate()
                .fold(0u64, |word, (i, &b)| word | u64::from(b) << (8 * i)),
        ),
        4..=8 => Some(u64::from(four(0)?) | u64::from(four(key.len() - 4)?) << 32),
        _ => None,
    }
}

/// The short keys of [`KEYS`] in a table indexed by a perfect hash of their [`short_key`]
/// word: one multiply, one shift, one load and one compare per lookup, with no probing and
/// no call to `memcmp`. A string-keyed hash map cost 4 % of the daemon in the load benchmark
/// (a hashing loop, a probe and `memcmp` per pair), and phf's SipHash more. No crate builds
/// a perfect hash over integers at startup, and the search is a few lines: multipliers are
/// tried from a fixed sequence until one puts every key in a slot of its own.
struct ShortKeys {
    multiplier: u64,
    /// (word, column index, key length); length 0 marks an empty slot.
    slots: Box<[(u64, u16, u8)]>,
}

/// Slots of [`ShortKeys`]: 2^10 for about a hundred keys, so that a collision-free
/// multiplier turns up within a few hundred tries (16 KB of table).
const SHORT_KEY_BITS: u32 = 10;

impl ShortKeys {
    fn slot(multiplier: u64, word: u64) -> usize {
        usize::try_from(word.wrapping_mul(multiplier) >> (64 - SHORT_KEY_BITS)).unwrap_or(0)
    }

    /// The table for `keys` (word, column, length), or `None` if no multiplier of the
    /// sequence separates them.
    fn build(keys: &[(u64, usize, usize)]) -> Option<ShortKeys> {
        // SplitMix64: a fixed, well-spread sequence, so every run builds the same table.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let multiplier = (z ^ (z >> 31)) | 1;
            let mut slots = vec![(0u64, 0u16, 0u8); 1 << SHORT_KEY_BITS].into_boxed_slice();
            let placed = keys.iter().all(|&(word, column, len)| {
                match slots.get_mut(Self::slot(multiplier, word)) {
                    Some(slot) if slot.2 == 0 => {
                        *slot = (
                            word,
                            u16::try_from(column).unwrap_or(u16::MAX),
                            u8::try_from(len).unwrap_or(0),
                        );
                        true
                    }
                    _ => false,
                }
            });
            if placed {
                return Some(ShortKeys { multiplier, slots });
            }
        }
        None
    }

    #[inline]
    fn column(&self, word: u64, len: usize) -> Option<usize> {
        let (stored, column, stored_len) = *self.slots.get(Self::slot(self.multiplier, word))?;
        (stored == word && usize::from(stored_len) == len && len > 0).then_some(usize::from(column))
    }
}

static SHORT_KEYS: std::sync::LazyLock<ShortKeys> = std::sync::LazyLock::new(|| {
    let keys: Vec<(u64, usize, usize)> = KEYS
        .entries()
        .filter_map(|(key, (_, column))| Some((short_key(key.as_bytes())?, *column, key.len())))
        .collect();
    // Found in a few hundred tries for the keys of the CEF table (a unit test checks); an
    // empty table would only send every short key down the slower map.
    ShortKeys::build(&keys).unwrap_or(ShortKeys {
        multiplier: 1,
        slots: Box::new([]),
    })
});

/// [`KEYS`] with a fast hash, for keys longer than eight bytes: phf's SipHash cost more than
/// the rest of a key's handling (profile of the load benchmark); Fx hashes a key in a few
/// instructions, and the keys are fixed, so no untrusted input chooses them.
static KEY_INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        KEYS.entries()
            .map(|(key, (_, index))| (*key, *index))
            .collect()
    });

/// Indices of the columns the special rules read back.
struct SpecialColumns {
    action: Option<usize>,
    direction: Option<usize>,
    /// Columns that hold an IP address.
    addresses: [Option<usize>; 5],
    source_ip: Option<usize>,
    source_port: Option<usize>,
    destination_ip: Option<usize>,
    destination_port: Option<usize>,
}

static SPECIAL: std::sync::LazyLock<SpecialColumns> = std::sync::LazyLock::new(|| SpecialColumns {
    action: column_index("DeviceAction"),
    direction: column_index("CommunicationDirection"),
    addresses: [
        "SourceIP",
        "DestinationIP",
        "SourceTranslatedAddress",
        "DestinationTranslatedAddress",
        "DeviceAddress",
    ]
    .map(column_index),
    source_ip: column_index("SourceIP"),
    source_port: column_index("SourcePort"),
    destination_ip: column_index("DestinationIP"),
    destination_port: column_index("DestinationPort"),
});

/// A value checked against its column's type.
enum Typed<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Real(f64),
    Time(Timestamp),
}

fn typed<'a>(kind: Kind, value: Cow<'a, str>, basis: TimeBasis<'_>) -> Option<Typed<'a>> {
    // Text is kept as sent; only values read as numbers or times are trimmed.
    Some(match kind {
        Str => Typed::Text(value),
        Int => Typed::Int(i64::from(value.trim().parse::<i32>().ok()?)),
        Port => Typed::Int(i64::from(value.trim().parse::<u16>().ok()?)),
        Long => Typed::Int(value.trim().parse::<i64>().ok()?),
        Real => Typed::Real(value.trim().parse::<f64>().ok().filter(|f| f.is_finite())?),
        Datetime => Typed::Time(cef_time::parse(&value, basis)?),
    })
}

/// Columns written outside the key table, with their Log Analytics types.
const HEADER_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("Computer", "string"),
    ("CollectorHostName", "string"),
    ("DeviceVendor", "string"),
    ("DeviceProduct", "string"),
    ("DeviceVersion", "string"),
    ("DeviceEventClassID", "string"),
    ("Activity", "string"),
    ("LogSeverity", "string"),
    ("OriginalLogSeverity", "string"),
    ("ExternalID", "int"),
    ("DeviceCustomNumber1", "int"),
    ("DeviceCustomNumber2", "int"),
    ("DeviceCustomNumber3", "int"),
    ("RemoteIP", "string"),
    ("RemotePort", "string"),
    ("SimplifiedDeviceAction", "string"),
    ("AdditionalExtensions", "string"),
];

/// Every column this module can write, with its Log Analytics type, in a stable order.
pub fn columns() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = HEADER_COLUMNS.to_vec();
    for (name, kind) in COLUMNS {
        if all.iter().any(|(n, _)| n == name) {
            continue;
        }
        all.push((
            name,
            match kind {
                Str => "string",
                Int | Port => "int",
                Long => "long",
                Real => "real",
                Datetime => "datetime",
            },
        ));
    }
    all
}

/// Writes the row for a CEF record or an ASA message; other bodies get a header-only row.
/// Into `row`, whose declared columns and capture the caller set.
pub fn write_object(
    event: &Event<'_>,
    received: &Received<'_>,
    mut row: JsonObject<'_, impl Record>,
) -> ShapeNotes {
    super::write_time_generated(&mut row, received);
    if let Some(computer) = computer(event, received) {
        computer.write(&mut row, "Computer");
    }
    row.string("CollectorHostName", received.collector_hostname);
    let notes = match &event.body {
        Body::Cef(cef) => write_cef(cef, received, &mut row),
        Body::CiscoAsa(asa) => {
            super::cisco_asa::write(asa, &mut row);
            ShapeNotes::default()
        }
        Body::Vendor(message) => write_vendor(message, received, &mut row),
        Body::Text | Body::Leef(_) => {
            row.bytes("Message", event.message);
            ShapeNotes::default()
        }
    };
    row.end();
    notes
}

fn write_cef(
    cef: &Cef<'_>,
    received: &Received<'_>,
    row: &mut JsonObject<'_, impl Record>,
) -> ShapeNotes {
    row.string("DeviceVendor", &cef.device_vendor);
    row.string("DeviceProduct", &cef.device_product);
    row.string("DeviceVersion", &cef.device_version);
    row.string("DeviceEventClassID", &cef.signature_id);
    row.string("Activity", &cef.name);
    // A severity outside CEF's range fills no column: kept in AdditionalExtensions, counted.
    let bad_severity = if cef.severity.is_empty() {
        None
    } else if is_cef_severity(&cef.severity) {
        row.string("LogSeverity", &cef.severity);
        None
    } else {
        Some(cef.severity.as_ref())
    };
    let mark = row.mark();
    let mut notes = match write_extensions_once(cef, bad_severity, received, row) {
        Some(notes) => notes,
        None => {
            // A mapped key came twice: written again by the rule for repeats.
            row.rewind(mark);
            write_extensions_with_repeats(cef, bad_severity, received, row)
        }
    };
    notes.mistyped_values += u32::from(bad_severity.is_some());
    notes
}

/// CEF's Severity: 0 to 10, or (CEF 1.x) `Unknown`, `Low`, `Medium`, `High`, `Very-High`.
fn is_cef_severity(severity: &str) -> bool {
    match severity.parse::<u8>() {
        Ok(level) => level <= 10,
        Err(_) => ["Unknown", "Low", "Medium", "High", "Very-High"]
            .iter()
            .any(|word| word.eq_ignore_ascii_case(severity)),
    }
}

/// The values a row's `RemoteIP`/`RemotePort` are chosen from, as they landed.
#[derive(Default)]
struct RemoteParts<'a> {
    /// `DeviceAction` as it landed: `SimplifiedDeviceAction` is derived from it.
    action: Option<Cow<'a, str>>,
    inbound: Option<bool>,
    source_ip: Option<Cow<'a, str>>,
    source_port: Option<i64>,
    destination_ip: Option<Cow<'a, str>>,
    destination_port: Option<i64>,
}

impl RemoteParts<'_> {
    fn write(self, row: &mut JsonObject<'_, impl Record>) {
        if let Some(simplified) = self
            .action
            .as_deref()
            .and_then(super::device_action::simplified)
        {
            row.string("SimplifiedDeviceAction", simplified);
        }
        let (ip, port) = match self.inbound {
            Some(true) => (self.source_ip, self.source_port),
            Some(false) => (self.destination_ip, self.destination_port),
            None => return,
        };
        if let Some(ip) = ip {
            row.string("RemoteIP", &ip);
        }
        if let Some(port) = port {
            row.int_text("RemotePort", port);
        }
    }
}

/// A mapped CEF pair's value checked for its column, with the legacy columns the special keys
/// also fill: what both extension writers share.
fn accept<'v>(
    key: &str,
    kind: Kind,
    value: &'v str,
    received: &Received<'_>,
    legacy_external_id: &mut Option<i32>,
    legacy_numbers: &mut [Option<i64>; 3],
) -> Option<Typed<'v>> {
    match key {
        "deviceDirection" => match value.trim() {
            "0" => Some(Typed::Text(Cow::Borrowed("Inbound"))),
            "1" => Some(Typed::Text(Cow::Borrowed("Outbound"))),
            _ => None,
        },
        "externalId" => {
            *legacy_external_id = value.trim().parse::<i32>().ok();
            Some(Typed::Text(Cow::Borrowed(value)))
        }
        "cn1" | "cn2" | "cn3" => {
            let n = value.trim().parse::<i64>().ok();
            let slot = usize::from(key.as_bytes().get(2).copied().unwrap_or(b'1') - b'1');
            if let Some(legacy) = legacy_numbers.get_mut(slot) {
                *legacy = n;
            }
            n.map(Typed::Int)
        }
        _ => typed(kind, Cow::Borrowed(value), TimeBasis::of(received)),
    }
}

/// `ExternalID` and `DeviceCustomNumber1`–`3`: the deprecated `int` columns, when the value fits.
fn write_legacy_columns(
    row: &mut JsonObject<'_, impl Record>,
    external_id: Option<i32>,
    numbers: [Option<i64>; 3],
) {
    if let Some(id) = external_id {
        row.int("ExternalID", i64::from(id));
    }
    for (column, n) in LEGACY_NUMBER_COLUMNS.iter().zip(numbers) {
        if let Some(n) = n.and_then(|n| i32::try_from(n).ok()) {
            row.int(column, i64::from(n));
        }
    }
}

/// The extension pairs in one walk, each mapped value written as it comes, in the order
/// received: the path of every record whose mapped keys are all different. Pairs that land in
/// no column (unmapped, or a value that does not fit the column's type) are kept for
/// `AdditionalExtensions`. `None` at the first mapped key seen twice: the last value must win,
/// and the row is then written by [`write_extensions_with_repeats`]. Collecting, sorting and
/// walking the pairs a second time cost a tenth of the writer (decision 89).
fn write_extensions_once(
    cef: &Cef<'_>,
    bad_severity: Option<&str>,
    received: &Received<'_>,
    row: &mut JsonObject<'_, impl Record>,
) -> Option<ShapeNotes> {
    let mut notes = ShapeNotes::default();
    let special = &*SPECIAL;
    let mut seen = [0u64; 3];
    let mut extra: smallvec::SmallVec<[(&str, Cow<'_, str>); 16]> = smallvec::SmallVec::new();
    let mut remote = RemoteParts::default();
    let mut legacy_external_id = None;
    let mut legacy_numbers: [Option<i64>; 3] = [None; 3];
    for (key, value) in cef.extensions.iter() {
        let Some((index, kind)) = column_for_key(key).and_then(|i| Some((i, COLUMNS.get(i)?.1)))
        else {
            extra.push((key, value));
            continue;
        };
        let bits = seen.get_mut(index / 64)?;
        if *bits & (1 << (index % 64)) != 0 {
            return None;
        }
        *bits |= 1 << (index % 64);
        let accepted = accept(
            key,
            kind,
            &value,
            received,
            &mut legacy_external_id,
            &mut legacy_numbers,
        );
        let Some(accepted) = accepted else {
            notes.mistyped_values += 1;
            extra.push((key, value));
            continue;
        };
        write_typed(row, index, &accepted);
        let column = Some(index);
        if column == special.direction {
            remote.inbound = match accepted {
                Typed::Text(Cow::Borrowed("Inbound")) => Some(true),
                _ => Some(false),
            };
        } else if let Typed::Int(port) = accepted {
            if column == special.source_port {
                remote.source_port = Some(port);
            } else if column == special.destination_port {
                remote.destination_port = Some(port);
            }
        } else if column == special.action {
            remote.action = Some(value);
        } else if column == special.source_ip {
            remote.source_ip = Some(value);
        } else if column == special.destination_ip {
            remote.destination_ip = Some(value);
        }
    }
    write_legacy_columns(row, legacy_external_id, legacy_numbers);
    remote.write(row);
    write_additional(
        row,
        cef.extensions.unkeyed_prefix(),
        severity_pair(bad_severity)
            .into_iter()
            .chain(extra.iter().map(|(k, v)| (*k, v.as_ref()))),
    );
    Some(notes)
}

/// [`write_extensions_once`] for a record with a mapped key given more than once: the pairs
/// are collected, the last value of each column wins (even one that does not fit its type),
/// and every other pair goes to `AdditionalExtensions`, so nothing is lost.
fn write_extensions_with_repeats(
    cef: &Cef<'_>,
    bad_severity: Option<&str>,
    received: &Received<'_>,
    row: &mut JsonObject<'_, impl Record>,
) -> ShapeNotes {
    let mut notes = ShapeNotes::default();
    // Collect first, then write each column once. A slot holds the value that landed in the
    // column and the position of its pair, so that every other pair (unmapped, mistyped, or an
    // earlier duplicate) goes to AdditionalExtensions and nothing is lost. The pairs are
    // walked once and kept: finding them is most of the cost of a CEF row.
    // Filled in place: `collect` built the 2 KB vector and then moved it (a memcpy per record).
    let mut pairs: smallvec::SmallVec<[(&str, Cow<'_, str>); 48]> = smallvec::SmallVec::new();
    pairs.extend(cef.extensions.iter());
    let mut values = Landed::default();
    let mut legacy_external_id = None;
    let mut legacy_numbers: [Option<i64>; 3] = [None; 3];
    for (position, (key, value)) in pairs.iter().enumerate() {
        let Some((index, kind)) = column_for_key(key).and_then(|i| Some((i, COLUMNS.get(i)?.1)))
        else {
            continue;
        };
        let accepted = accept(
            key,
            kind,
            value,
            received,
            &mut legacy_external_id,
            &mut legacy_numbers,
        );
        if accepted.is_none() {
            notes.mistyped_values += 1;
        }
        // The last occurrence of a key wins, even when its value does not fit.
        values.set(index, accepted.map(|v| (position, v)));
    }

    values.sort_by_column();
    for (index, _, value) in values.iter() {
        write_typed(row, index, value);
    }
    write_legacy_columns(row, legacy_external_id, legacy_numbers);
    let special = &*SPECIAL;
    let text_of = |column: Option<usize>| match column.and_then(|i| values.get(i)) {
        Some((_, Typed::Text(text))) => Some(Cow::Borrowed(text.as_ref())),
        _ => None,
    };
    let int_of = |column: Option<usize>| match column.and_then(|i| values.get(i)) {
        Some((_, Typed::Int(n))) => Some(*n),
        _ => None,
    };
    RemoteParts {
        action: text_of(special.action),
        inbound: match text_of(special.direction).as_deref() {
            Some("Inbound") => Some(true),
            Some("Outbound") => Some(false),
            _ => None,
        },
        source_ip: text_of(special.source_ip),
        source_port: int_of(special.source_port),
        destination_ip: text_of(special.destination_ip),
        destination_port: int_of(special.destination_port),
    }
    .write(row);
    write_additional_extensions(cef, bad_severity, &pairs, &values, row);
    notes
}

const LEGACY_NUMBER_COLUMNS: [&str; 3] = [
    "DeviceCustomNumber1",
    "DeviceCustomNumber2",
    "DeviceCustomNumber3",
];

/// `key=value;key=value` of every pair that did not land in a column: unmapped keys, values
/// that did not fit the column's type, and earlier occurrences of repeated keys; in the order
/// received, written straight into the row. Text before the first key leads, unkeyed.
fn write_additional_extensions(
    cef: &Cef<'_>,
    bad_severity: Option<&str>,
    pairs: &[(&str, Cow<'_, str>)],
    values: &Landed<'_>,
    row: &mut JsonObject<'_, impl Record>,
) {
    let landed = values.positions();
    let extra = pairs
        .iter()
        .enumerate()
        .filter(|(position, _)| !landed.contains(*position))
        .map(|(_, (key, value))| (*key, value.as_ref()));
    write_additional(
        row,
        cef.extensions.unkeyed_prefix(),
        severity_pair(bad_severity).into_iter().chain(extra),
    );
}

/// The header's Severity as an `AdditionalExtensions` pair, named after the column it did not fit.
fn severity_pair(bad_severity: Option<&str>) -> Option<(&str, &str)> {
    bad_severity.map(|severity| ("LogSeverity", severity))
}

/// Values devices write for "none": such a field fills no column (and is not repeated in
/// `AdditionalExtensions`).
fn is_placeholder(value: &str) -> bool {
    matches!(
        value,
        "" | "-" | "N/A" | "n/a" | "None" | "(empty)" | "0.0.0.0" | "::"
    )
}

/// Vendor times beyond CEF's: epoch seconds with a fraction (Zeek, Meraki) and
/// `YYYY/MM/DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS` (PAN-OS, NXLog), the latter in the zone
/// configured for zone-less times.
fn parse_vendor_time(value: &str, basis: TimeBasis<'_>) -> Option<Timestamp> {
    let value = value.trim();
    let b = value.as_bytes();
    if b.len() >= 19 && matches!(b.get(4), Some(b'/' | b'-')) && b.get(10) == Some(&b' ') {
        let number = |range: std::ops::Range<usize>| value.get(range)?.parse::<u32>().ok();
        let ts = Timestamp::new(
            i32::try_from(number(0..4)?).ok()?,
            u8::try_from(number(5..7)?).ok()?,
            u8::try_from(number(8..10)?).ok()?,
            u8::try_from(number(11..13)?).ok()?,
            u8::try_from(number(14..16)?).ok()?,
            u8::try_from(number(17..19)?).ok()?,
            0,
            None,
        )?;
        return Some(ts.to_utc(basis.default_offset_seconds));
    }
    cef_time::parse(value, basis)
}

/// A vendor message's value for a column, checked against the column's type; direction
/// words are normalised to `Inbound`/`Outbound`.
fn vendor_value<'a>(
    column: usize,
    kind: Kind,
    value: Cow<'a, str>,
    basis: TimeBasis<'_>,
) -> Option<Typed<'a>> {
    if Some(column) == SPECIAL.direction {
        let direction = match value.trim().to_ascii_lowercase().as_str() {
            "0" | "inbound" | "in" | "incoming" | "ingress" => "Inbound",
            "1" | "outbound" | "out" | "outgoing" | "egress" => "Outbound",
            _ => return None,
        };
        return Some(Typed::Text(Cow::Borrowed(direction)));
    }
    if kind == Datetime {
        return parse_vendor_time(&value, basis).map(Typed::Time);
    }
    // Address columns take addresses only: Meraki's Air Marshal `src`/`dst` are MACs.
    if SPECIAL.addresses.contains(&Some(column))
        && value.trim().parse::<core::net::IpAddr>().is_err()
    {
        return None;
    }
    typed(kind, value, basis)
}

/// Writes a vendor message: its fields mapped to columns by the vendor's table
/// ([`super::vendors`]); every field that does not land in a column (unmapped, a value that
/// does not fit the column's type, an earlier duplicate, text outside any field) goes to
/// `AdditionalExtensions` as `key=value` joined by `;`, so nothing is lost.
fn write_vendor<'a>(
    message: &VendorMessage<'a>,
    received: &Received<'_>,
    row: &mut JsonObject<'_, impl Record>,
) -> ShapeNotes {
    let mut notes = ShapeNotes::default();
    let vendor = message.vendor;
    let mapping = super::vendors::mapping(vendor);
    let offset = TimeBasis::of(received);
    let mut values: Landed<'a> = Landed::default();
    // Values not from one field sit at a position no field has: a mapped field replaces them.
    let set_derived = |values: &mut Landed<'a>, column: &str, value: Cow<'a, str>| {
        if let Some(index) = column_index(column) {
            let kind = COLUMNS.get(index).map_or(Str, |(_, k)| *k);
            if let Some(v) = vendor_value(index, kind, value, offset) {
                values.set(index, Some((usize::MAX, v)));
            }
        }
    };
    set_derived(
        &mut values,
        "DeviceVendor",
        Cow::Borrowed(mapping.device_vendor),
    );
    set_derived(
        &mut values,
        "DeviceProduct",
        Cow::Borrowed(mapping.device_product),
    );
    if !message.log_type.is_empty() {
        for column in mapping.log_type_columns {
            set_derived(&mut values, column, Cow::Borrowed(message.log_type));
        }
    }
    if let Some(derive) = mapping.derive {
        derive(message, &mut |column, value| {
            if !is_placeholder(&value) {
                set_derived(&mut values, column, value);
            }
        });
    }
    let mut placeholders = 0u64;
    for (position, (key, value)) in message.fields().enumerate() {
        let Some(target) = mapping.target(vendor, &key) else {
            continue;
        };
        if is_placeholder(value.trim()) || (value == "0" && target.translated) {
            placeholders |= 1 << position.min(63);
            continue;
        }
        let Some((_, kind)) = COLUMNS.get(target.column) else {
            continue;
        };
        let accepted = vendor_value(target.column, *kind, value, offset);
        if accepted.is_none() {
            notes.mistyped_values += 1;
        } else if let Some((label_column, label)) = target.label {
            values.set(
                label_column,
                Some((usize::MAX, Typed::Text(Cow::Borrowed(label)))),
            );
        }
        values.set(target.column, accepted.map(|v| (position, v)));
    }
    let header: [Option<usize>; 7] = VENDOR_HEADER.map(column_index);
    for index in header.iter().flatten() {
        if let Some((_, value)) = values.get(*index) {
            write_typed(row, *index, value);
        }
    }
    values.sort_by_column();
    for (index, _, value) in values.iter() {
        if !header.contains(&Some(index)) {
            write_typed(row, index, value);
        }
    }
    if let Some((_, Typed::Text(action))) = SPECIAL.action.and_then(|i| values.get(i)) {
        if let Some(simplified) = super::device_action::simplified(action) {
            row.string("SimplifiedDeviceAction", simplified);
        }
    }
    let landed = values.positions();
    let consumed = |position: usize| {
        (position < 63 && placeholders & (1 << position) != 0) || landed.contains(position)
    };
    let derived = |column: &str| {
        column_index(column)
            .and_then(|i| values.get(i))
            .is_some_and(|(position, _)| position == usize::MAX)
    };
    let replaced = |key: &str| {
        mapping.replaced.iter().any(|(field, sets)| {
            *field == key && sets.iter().any(|set| set.iter().all(|c| derived(c)))
        })
    };
    let extra = message
        .fields()
        .enumerate()
        .filter(|(position, (key, _))| !consumed(*position) && !replaced(key))
        .map(|(_, field)| field);
    write_additional(row, None, extra);
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_found_and_near_misses_are_not() {
        for (key, (_, index)) in KEYS.entries() {
            assert_eq!(column_for_key(key), Some(*index), "{key}");
            for near in [
                format!("{key}\0"),
                format!("{key}x"),
                key[..key.len() - 1].to_owned(),
                key.to_uppercase(),
            ] {
                if !KEYS.contains_key(near.as_str()) {
                    assert_eq!(column_for_key(&near), None, "{near:?}");
                }
            }
        }
        assert!(!SHORT_KEYS.slots.is_empty(), "no perfect hash found");
        let short = SHORT_KEYS
            .slots
            .iter()
            .filter(|(_, _, len)| *len > 0)
            .count();
        assert!(short > 60, "{short}");
        assert_eq!(column_for_key(""), None);
    }

    #[test]
    fn every_key_points_at_its_named_column() {
        assert_eq!(KEYS.len(), 129);
        for (key, (column, index)) in KEYS.entries() {
            assert_eq!(COLUMNS[*index].0, *column, "{key}");
        }
        // Every column but the special-rule ones is reachable from a key.
        for (column, _) in COLUMNS {
            let reached = KEYS.values().any(|(c, _)| c == column);
            assert!(
                reached
                    || *column == "CommunicationDirection"
                    || *column == "ExtID"
                    || VENDOR_HEADER.contains(column),
                "{column}"
            );
        }
    }
}

#[cfg(test)]
mod row_tests {
    use super::super::{Received, Table, write_row};
    use tern_parsers::{Options, Timestamp, parse};

    fn row(line: &str) -> serde_json::Value {
        row_as(line, tern_parsers::Format::Auto)
    }

    fn row_as(line: &str, format: tern_parsers::Format) -> serde_json::Value {
        let time = Timestamp::from_unix(1_795_219_201, 0);
        let mut options = Options::new(time);
        options.format = format;
        let event = parse(line.as_bytes(), &options).unwrap();
        let received = super::super::tests::received(time);
        let mut out = Vec::new();
        write_row(Table::for_event(&event), &event, &received, &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    /// Values outside their column's range fill no column, are kept in AdditionalExtensions
    /// and are counted (issue 26), on both writers (the second record repeats `dpt`).
    #[test]
    fn out_of_range_severity_and_ports_are_kept_and_counted() {
        for line in [
            "CEF:0|V|P|1|9|out of range|11|spt=70000 dpt=443 src=10.0.0.3",
            "CEF:0|V|P|1|9|out of range|11|spt=70000 dpt=1 dpt=443 src=10.0.0.3",
        ] {
            let time = Timestamp::from_unix(1_795_219_201, 0);
            let event = parse(line.as_bytes(), &Options::new(time)).unwrap();
            let received = super::super::tests::received(time);
            let mut out = Vec::new();
            let notes = write_row(Table::CommonSecurityLog, &event, &received, &mut out);
            let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(notes.mistyped_values, 2, "{line}");
            assert!(row.get("LogSeverity").is_none(), "{row}");
            assert!(row.get("SourcePort").is_none(), "{row}");
            assert_eq!(row["DestinationPort"], 443);
            let extra = row["AdditionalExtensions"].as_str().unwrap();
            assert!(extra.starts_with("LogSeverity=11;spt=70000"), "{extra}");
        }
    }

    /// The one-walk writer (decision 89) gives every CEF record of the corpus the same columns
    /// and values as the collecting writer it stands in front of, and gives way to it exactly
    /// when a mapped key repeats.
    #[test]
    fn one_walk_and_collecting_writers_agree_on_every_corpus_record() {
        use super::super::json::JsonObject;
        let time = Timestamp::from_unix(1_795_219_201, 0);
        let received = Received {
            default_offset_seconds: 3600,
            ..super::super::tests::received(time)
        };
        let (mut agreed, mut repeated) = (0, 0);
        // The special rules, which few corpus records exercise.
        let rules: &[u8] =
            b"CEF:0|V|P|1|2|N|3|deviceDirection=0 src=10.0.0.1 spt=443 dst=10.0.0.2 dpt=80 cnt=x\n\
CEF:0|V|P|1|2|N|3|dpt=80 dst=10.0.0.2 deviceDirection=1 spt=443 src=10.0.0.1\n\
CEF:0|V|P|1|2|N|3|deviceDirection=2 src=10.0.0.1 spt=x\n\
CEF:0|V|P|1|2|N|3|externalId=12 cn1=5000000000 cn2=7 cn3=y in=x out=9 start=1700000000000 end=bad\n\
CEF:0|V|P|1|2|N|3|lead text src=a\\=b x=1 suser=\\\\u cfp1=1.5 cfp2=nan rt=Jan 15 2026 10:00:00\n\
CEF:0|V|P|1|2|N|3|unmapped=1 another=2 act=a=b\n\
CEF:0|V|P|1|2|N|3|src=10.0.0.1 src=10.0.0.9 deviceDirection=0\n";
        // Without the corpus, the special-rule lines alone.
        let corpus = super::super::tests::corpus_files(
            "one_walk_and_collecting_writers_agree_on_every_corpus_record (corpus part)",
        );
        let with_corpus = corpus.is_some();
        let corpus = corpus
            .unwrap_or_default()
            .into_iter()
            .map(|file| (file.display().to_string(), std::fs::read(&file).unwrap()));
        for (file, bytes) in std::iter::once(("rules".to_owned(), rules.to_vec())).chain(corpus) {
            for line in bytes.split(|&b| b == b'\n') {
                let Ok(event) = parse(line, &Options::new(time)) else {
                    continue;
                };
                let tern_parsers::Body::Cef(cef) = &event.body else {
                    continue;
                };
                let mut collected = Vec::new();
                let mut row = JsonObject::begin(&mut collected);
                let collecting_notes =
                    super::write_extensions_with_repeats(cef, None, &received, &mut row);
                row.end();
                let collected: serde_json::Value = serde_json::from_slice(&collected).unwrap();
                let mut walked = Vec::new();
                let mut row = JsonObject::begin(&mut walked);
                let notes = super::write_extensions_once(cef, None, &received, &mut row);
                row.end();
                let repeats = cef
                    .extensions
                    .duplicate_keys()
                    .iter()
                    .any(|k| super::column_for_key(k).is_some());
                match notes {
                    None => {
                        assert!(repeats, "{file}: gave way without a repeated mapped key");
                        repeated += 1;
                    }
                    Some(notes) => {
                        assert!(!repeats, "{file}: a repeated mapped key was written once");
                        let walked: serde_json::Value = serde_json::from_slice(&walked).unwrap();
                        assert_eq!(
                            walked,
                            collected,
                            "{file}: {}",
                            String::from_utf8_lossy(line)
                        );
                        assert_eq!(notes, collecting_notes);
                        agreed += 1;
                    }
                }
            }
        }
        // The rule lines: all but the one with a repeated key; the corpus adds hundreds.
        assert!(
            if with_corpus {
                agreed > 200
            } else {
                agreed == 6
            },
            "{agreed} records"
        );
        println!("{agreed} records agree, {repeated} with a repeated mapped key");
    }

    #[test]
    fn a_vendor_field_turned_whole_into_columns_is_not_repeated_but_one_that_is_not_stays() {
        let meraki = tern_parsers::Format::Vendor(tern_parsers::Vendor::Meraki);
        let split = row_as(
            "1374543213.342705328 MX84 urls src=192.0.2.1:63735 request: GET https://a.example/?q=1",
            meraki,
        );
        assert_eq!(split["RequestMethod"], "GET");
        assert_eq!(split["RequestURL"], "https://a.example/?q=1");
        assert!(split.get("AdditionalExtensions").is_none(), "{split}");
        // Not `METHOD URL`: nothing derived from it, so it is kept as sent.
        let kept = row_as(
            "1374543213.342705328 MX84 urls src=192.0.2.1:63735 request: opaque",
            meraki,
        );
        assert!(kept.get("RequestMethod").is_none());
        assert_eq!(kept["AdditionalExtensions"], "request=opaque");
    }

    #[test]
    fn table_spellings_not_mapping_page_spellings() {
        let r =
            row("CEF:0|V|P|1|2|N|3|smac=aa dmac=bb duid=u deviceExternalId=x dvcpid=7 cfp1Label=L");
        assert_eq!(r["SourceMACAddress"], "aa");
        assert_eq!(r["DestinationMACAddress"], "bb");
        assert_eq!(r["DestinationUserID"], "u");
        assert_eq!(r["DeviceExternalID"], "x");
        assert_eq!(r["ProcessID"], 7);
        assert_eq!(r["DeviceCustomFloatingPoint1Label"], "L");
    }

    #[test]
    fn bad_direction_and_duplicates_keep_every_value() {
        let r = row("CEF:0|V|P|1|2|N|3|deviceDirection=sideways src=1.1.1.1 src=2.2.2.2 cnt=many");
        assert!(r.get("CommunicationDirection").is_none());
        assert!(r.get("RemoteIP").is_none());
        assert_eq!(r["SourceIP"], "2.2.2.2");
        assert!(r.get("EventCount").is_none());
        assert_eq!(
            r["AdditionalExtensions"],
            "deviceDirection=sideways;src=1.1.1.1;cnt=many"
        );
    }

    #[test]
    fn custom_columns_and_labels() {
        let r = row(
            "CEF:0|V|P|1|2|N|3|cs6=s cs6Label=sl cn3=-5 cn3Label=nl cfp4=2.5 c6a3=::1 c6a3Label=v6 \
             deviceCustomDate2=Nov 21 2026 flexNumber2=9 flexString1=f flexDate1=d end=Nov 21 2026 10:00:00 UTC",
        );
        assert_eq!(r["DeviceCustomString6"], "s");
        assert_eq!(r["DeviceCustomString6Label"], "sl");
        assert_eq!(r["FieldDeviceCustomNumber3"], -5);
        assert_eq!(r["DeviceCustomNumber3"], -5);
        assert_eq!(r["DeviceCustomNumber3Label"], "nl");
        assert_eq!(r["DeviceCustomFloatingPoint4"], 2.5);
        assert_eq!(r["DeviceCustomIPv6Address3"], "::1");
        assert_eq!(r["DeviceCustomIPv6Address3Label"], "v6");
        assert_eq!(r["DeviceCustomDate2"], "Nov 21 2026");
        assert_eq!(r["FlexNumber2"], 9);
        assert_eq!(r["FlexString1"], "f");
        assert_eq!(r["FlexDate1"], "d");
        assert_eq!(r["EndTime"], "2026-11-21T10:00:00Z");
        assert!(r.get("AdditionalExtensions").is_none());
    }
}
