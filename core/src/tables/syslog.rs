//! The Syslog table (`reference/azure.md` §4.1).
//!
//! Columns written: `TimeGenerated`, `EventTime`, `Computer`, `HostName`, `HostIP`, `Facility`,
//! `SeverityLevel`, `ProcessName`, `ProcessID`, `SyslogMessage`, `CollectorHostName`. A column
//! with no value is left out of the row (Log Analytics stores it empty). `SourceSystem` is not
//! sent: whether the API accepts it is unknown (§2).

use super::json::{JsonObject, Record};
use super::{Received, ShapeNotes, computer, host_ip};
use tern_parsers::Event;

/// Every column this module can write, with its Log Analytics type.
pub const COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("EventTime", "datetime"),
    ("Computer", "string"),
    ("HostName", "string"),
    ("HostIP", "string"),
    ("Facility", "string"),
    ("SeverityLevel", "string"),
    ("ProcessName", "string"),
    ("ProcessID", "int"),
    ("SyslogMessage", "string"),
    ("CollectorHostName", "string"),
];

/// Writes an event's Syslog row into `row`, whose declared columns and capture the caller
/// set.
pub fn write_object(
    event: &Event<'_>,
    received: &Received<'_>,
    mut row: JsonObject<'_, impl Record>,
) -> ShapeNotes {
    let mut notes = ShapeNotes::default();
    super::write_time_generated(&mut row, received);
    // A line without a timestamp happened when it arrived.
    let event_time = event.timestamp.unwrap_or(received.time);
    row.datetime("EventTime", &event_time, received.default_offset_seconds);
    if let Some(computer) = computer(event, received) {
        computer.write(&mut row, "Computer");
        computer.write(&mut row, "HostName");
    }
    if let Some(ip) = host_ip(event, received) {
        row.ip("HostIP", ip);
    }
    row.string("Facility", event.facility().name());
    row.string("SeverityLevel", event.severity().name());
    if let Some(app) = event.app_name {
        row.string("ProcessName", app);
    }
    if let Some(pid) = event.proc_id {
        match pid.parse::<i32>() {
            Ok(pid) => row.int("ProcessID", i64::from(pid)),
            Err(_) => notes.non_numeric_pid = true,
        }
    }
    row.bytes("SyslogMessage", event.message);
    row.string("CollectorHostName", received.collector_hostname);
    row.end();
    notes
}
