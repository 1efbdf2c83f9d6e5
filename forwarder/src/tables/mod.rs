//! Shaping parsed events into Microsoft Sentinel table rows (`reference/azure.md` §4).
//!
//! Owns: which table an event belongs to by its kind, and each table's columns, names and types.
//! One module per table. A row is written straight into the caller's buffer as one JSON object,
//! once; nothing here knows about sockets, DCRs or uploads.

pub mod cisco_asa;
pub mod common_security_log;
pub mod json;
pub mod syslog;
pub mod vendors;

use std::net::IpAddr;

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

/// Like [`write_row`], writing only the `declared` columns (a target's stream declaration):
/// exactly what the target takes, nothing Azure would drop.
pub fn write_declared_row(
    table: Table,
    event: &Event<'_>,
    received: &Received<'_>,
    declared: Option<&[String]>,
    out: &mut Vec<u8>,
) -> ShapeNotes {
    match table {
        Table::Syslog => syslog::write(event, received, declared, out),
        Table::CommonSecurityLog => common_security_log::write(event, received, declared, out),
        // Routing never sends a syslog event to a custom table (only log files go there);
        // should it ever, the event still lands whole, shaped as Syslog.
        Table::Custom(_) => syslog::write(event, received, declared, out),
    }
}

/// A host as a column value: a name from the header or an address from the socket.
#[derive(Debug, Clone, Copy)]
enum Host<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

impl Host<'_> {
    fn write(self, row: &mut json::JsonObject<'_>, column: &'static str) {
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
