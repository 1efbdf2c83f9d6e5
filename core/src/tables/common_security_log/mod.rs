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

mod catalogue;
mod keys;
mod vendor;

pub(super) use catalogue::column_index;
pub use catalogue::columns;
use catalogue::*;
use keys::*;
use vendor::*;

use Kind::{Datetime, Int, Long, Port, Real, Str};

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
