//! Shaping parsed events into Microsoft Sentinel table rows (`reference/azure.md` §4).
//!
//! Owns: which table an event belongs to by its kind, and each table's columns, names and types.
//! One module per table. A row is written straight into the caller's buffer as one JSON object,
//! once; nothing here knows about sockets, DCRs or uploads.

mod capture;
mod cef_time;
pub mod cisco_asa;
pub mod common_security_log;
mod device_action;
pub mod json;
pub mod syslog;
pub mod vendors;

use core::net::IpAddr;

pub use capture::{Capture, Captured};
use json::JsonObject;

use tern_parsers::{Body, Event, Timestamp};

/// A Sentinel table Tern writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Syslog,
    CommonSecurityLog,
    /// A custom table (`MyApp_CL`) that collected log files go to; names are interned
    /// ([`custom`]) so `Table` stays `Copy`.
    Custom(&'static str),
}

/// The columns of a custom text-log table (`reference/azure.md` §3.3).
pub const FILE_COLUMNS: [(&str, &str); 4] = [
    ("TimeGenerated", "datetime"),
    ("RawData", "string"),
    ("FilePath", "string"),
    ("Computer", "string"),
];

/// The custom table `name`. Each distinct name is allocated once for the life of the process
/// (a handful of tables, also across DCR reloads), which keeps [`Table`] a `Copy` value.
pub fn custom(name: &str) -> Table {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.iter().find(|n| **n == name) {
        return Table::Custom(known);
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(leaked);
    Table::Custom(leaked)
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Syslog => "Syslog",
            Table::CommonSecurityLog => "CommonSecurityLog",
            Table::Custom(name) => name,
        }
    }

    /// Every column Tern writes into this table, with its Log Analytics type.
    pub fn columns(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Table::Syslog => syslog::COLUMNS.to_vec(),
            Table::CommonSecurityLog => common_security_log::columns(),
            Table::Custom(_) => FILE_COLUMNS.to_vec(),
        }
    }

    /// The table an event belongs to by its kind: CEF, Cisco ASA/FTD and the vendor formats
    /// go to CommonSecurityLog, everything else (LEEF included, as AMA does) to Syslog.
    pub fn for_event(event: &Event<'_>) -> Table {
        match event.body {
            Body::Cef(_) | Body::CiscoAsa(_) | Body::Vendor(_) => Table::CommonSecurityLog,
            Body::Text | Body::Leef(_) => Table::Syslog,
        }
    }
}

/// What the forwarder knows about an event besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// When Tern received it (UTC): `TimeGenerated`.
    pub time: Timestamp,
    /// `time` already written as RFC 3339, when the caller has it: a listener formats it once
    /// per read rather than once per row (1 % of the daemon in the load benchmark). `None`:
    /// each row formats `time`.
    pub time_text: Option<&'a str>,
    /// The sending socket's address, if any (not for unix sockets or stdin).
    pub sender: Option<IpAddr>,
    /// This forwarder's name: `CollectorHostName`.
    pub collector_hostname: &'a str,
    /// UTC offset applied to timestamps that carry no zone (BSD dates), in seconds.
    pub default_offset_seconds: i32,
}

/// Counts of values that did not fit their column, reported by the row writers so that the
/// caller can count them (nothing is dropped silently: such values also go to a text column).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ShapeNotes {
    /// A typed CEF value (number, date) that did not parse; kept in `AdditionalExtensions`.
    pub mistyped_values: u32,
    /// A PROCID/pid that is not a number; the Syslog `ProcessID` column was left empty.
    pub non_numeric_pid: bool,
}

/// Writes the row for `event` in `table` as one JSON object appended to `out`.
pub fn write_row(
    table: Table,
    event: &Event<'_>,
    received: &Received<'_>,
    out: &mut Vec<u8>,
) -> ShapeNotes {
    write_declared_row(table, event, received, None, out)
}

/// The columns of a target's table that its DCR stream does not declare: its rows leave them
/// out (Azure would drop them). Usually none, as `tern dcr scaffold` declares every column,
/// and then rows are written with no check per column at all; otherwise the check is a hash
/// lookup, not a walk over the declaration (decision 88).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Undeclared(rustc_hash::FxHashSet<&'static str>);

impl Undeclared {
    /// Tern's columns of `table` that `declared` lacks.
    pub fn of(table: Table, declared: &[String]) -> Undeclared {
        Undeclared(
            table
                .columns()
                .into_iter()
                .map(|(name, _)| name)
                .filter(|name| !declared.iter().any(|d| d == name))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, column: &str) -> bool {
        self.0.contains(column)
    }
}

/// Like [`write_row`], leaving out the `undeclared` columns (those a target's stream does not
/// declare): exactly what the target takes, nothing Azure would drop.
pub fn write_declared_row(
    table: Table,
    event: &Event<'_>,
    received: &Received<'_>,
    undeclared: Option<&Undeclared>,
    out: &mut Vec<u8>,
) -> ShapeNotes {
    // Nothing left out: no check per column at all.
    let undeclared = undeclared.filter(|u| !u.is_empty());
    let row = JsonObject::begin_declared(out, undeclared);
    match table {
        Table::CommonSecurityLog => common_security_log::write_object(event, received, row),
        // Routing never sends a syslog event to a custom table (only log files go there);
        // should it ever, the event still lands whole, shaped as Syslog.
        Table::Syslog | Table::Custom(_) => syslog::write_object(event, received, row),
    }
}

/// Like [`write_row`], recording where `capture`'s columns are (for a DCR transformation,
/// which then reads them in place).
pub fn write_captured_row(
    table: Table,
    event: &Event<'_>,
    received: &Received<'_>,
    capture: &mut Capture,
    out: &mut Vec<u8>,
) -> ShapeNotes {
    let row = JsonObject::begin_captured(out, capture);
    match table {
        Table::CommonSecurityLog => common_security_log::write_object(event, received, row),
        Table::Syslog | Table::Custom(_) => syslog::write_object(event, received, row),
    }
}

/// `TimeGenerated`: the time received, formatted once per read when the listener has done so.
fn write_time_generated(
    row: &mut json::JsonObject<'_, impl json::Record>,
    received: &Received<'_>,
) {
    match received.time_text {
        Some(text) => row.clean_string("TimeGenerated", text),
        None => row.datetime("TimeGenerated", &received.time, 0),
    }
}

/// A host as a column value: a name from the header or an address from the socket.
#[derive(Debug, Clone, Copy)]
enum Host<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

impl Host<'_> {
    fn write(self, row: &mut json::JsonObject<'_, impl json::Record>, column: &'static str) {
        match self {
            Host::Name(name) => row.string(column, name),
            Host::Ip(ip) => row.ip(column, ip),
        }
    }
}

/// `Computer`/`HostName`: the header's hostname, else the sender's address.
fn computer<'a>(event: &Event<'a>, received: &Received<'_>) -> Option<Host<'a>> {
    match (event.hostname, received.sender) {
        (Some(host), _) => Some(Host::Name(host)),
        (None, Some(ip)) => Some(Host::Ip(ip)),
        (None, None) => None,
    }
}

/// `HostIP`: the hostname when it is an IP address, else the sender's address.
fn host_ip(event: &Event<'_>, received: &Received<'_>) -> Option<IpAddr> {
    event
        .hostname
        .and_then(|h| h.parse::<IpAddr>().ok())
        .or(received.sender)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tern_parsers::{Format, Options, Timestamp, Vendor, parse};

    /// What the row tests receive with: no sender, collector `fwd`, times in UTC.
    pub(crate) fn received(time: Timestamp) -> Received<'static> {
        Received {
            time,
            time_text: None,
            sender: None,
            collector_hostname: "fwd",
            default_offset_seconds: 0,
        }
    }

    /// Every non-empty line of the corpus files ([`corpus_files`]); none when it is absent.
    pub(crate) fn corpus_lines(test: &str) -> Vec<Vec<u8>> {
        corpus_files(test)
            .unwrap_or_default()
            .iter()
            .flat_map(|file| {
                let bytes = std::fs::read(file).unwrap_or_default();
                bytes
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every file of `../shared/corpus` (or `TERN_CORPUS`); `None`, with a visible line, when
    /// the corpus is not beside this checkout (it is outside the repository), unless
    /// `TERN_TEST_REQUIRE_ALL=1` (CI), when the test fails.
    pub(crate) fn corpus_files(test: &str) -> Option<Vec<std::path::PathBuf>> {
        let root = std::env::var_os("TERN_CORPUS").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
            std::path::PathBuf::from,
        );
        if !root.is_dir() {
            let why = format!(
                "needs the log corpus at {} (the shared/ folder beside the checkout, or set \
                 TERN_CORPUS)",
                root.display()
            );
            assert!(
                std::env::var_os("TERN_TEST_REQUIRE_ALL").is_none_or(|v| v != "1"),
                "{test}: {why} (TERN_TEST_REQUIRE_ALL=1)"
            );
            // Straight to stderr: the harness captures `eprintln!` of passing tests.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return None;
        }
        let mut files = Vec::new();
        let mut folders = vec![root];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        Some(files)
    }

    /// A stream that declares only some columns gets rows of those only; one that declares
    /// every column (or none is given) gets every column.
    #[test]
    fn rows_leave_out_the_columns_a_stream_does_not_declare() {
        let time = Timestamp::from_unix(1_795_219_201, 0);
        let received = received(time);
        let line = b"<13>1 2026-11-21T10:00:00Z host app 42 - - hello";
        let event = parse(line, &Options::new(time)).unwrap();
        let keys = |undeclared: Option<&Undeclared>| {
            let mut out = Vec::new();
            write_declared_row(Table::Syslog, &event, &received, undeclared, &mut out);
            let row: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&out).unwrap();
            row.keys().cloned().collect::<Vec<_>>()
        };
        let some = Undeclared::of(
            Table::Syslog,
            &["TimeGenerated".to_owned(), "SyslogMessage".to_owned()],
        );
        assert_eq!(keys(Some(&some)), ["SyslogMessage", "TimeGenerated"]);
        let all: Vec<String> = Table::Syslog
            .columns()
            .into_iter()
            .map(|(n, _)| n.to_owned())
            .collect();
        let everything = Undeclared::of(Table::Syslog, &all);
        assert!(everything.is_empty());
        assert_eq!(keys(Some(&everything)), keys(None));
        assert!(keys(None).len() > 8, "{:?}", keys(None));
    }

    /// A target's declaration is checked against [`Table::columns`] only (decision 88), so a
    /// column written but missing from that list would reach a stream that does not declare
    /// it. Every corpus line, read as every format and shaped into both tables, writes only
    /// listed columns.
    #[test]
    fn every_column_written_is_one_the_table_lists() {
        let time = Timestamp::from_unix(1_795_219_201, 0);
        let received = Received {
            sender: Some(IpAddr::from([192, 0, 2, 1])),
            ..received(time)
        };
        let formats: Vec<Format> = [Format::Auto]
            .into_iter()
            .chain(Vendor::ALL.map(Format::Vendor))
            .collect();
        let listed: Vec<(Table, Vec<&str>)> = [Table::Syslog, Table::CommonSecurityLog]
            .into_iter()
            .map(|t| (t, t.columns().into_iter().map(|(n, _)| n).collect()))
            .collect();
        let Some(corpus) = corpus_files("every_column_written_is_one_the_table_lists") else {
            return;
        };
        let (mut rows, mut csl_rows_with_extensions) = (0, 0);
        for file in corpus {
            let bytes = std::fs::read(&file).unwrap();
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                for format in &formats {
                    let mut options = Options::new(time);
                    options.format = *format;
                    let Ok(event) = parse(line, &options) else {
                        continue;
                    };
                    for (table, columns) in &listed {
                        let mut out = Vec::new();
                        write_row(*table, &event, &received, &mut out);
                        let row: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_slice(&out).unwrap();
                        for name in row.keys() {
                            assert!(
                                columns.contains(&name.as_str()),
                                "{}: {name} written to {} but not in its columns()",
                                file.display(),
                                table.name()
                            );
                        }
                        rows += 1;
                        if *table == Table::CommonSecurityLog && row.len() > 12 {
                            csl_rows_with_extensions += 1;
                        }
                    }
                }
            }
        }
        // The corpus was found and its events filled many columns.
        assert!(rows > 10_000, "{rows} rows");
        assert!(
            csl_rows_with_extensions > 1_000,
            "{csl_rows_with_extensions}"
        );
    }
}
