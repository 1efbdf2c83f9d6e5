//! Tern's decisions, without I/O (issue 23): pure functions and state machines that take
//! inputs (parsed events, request outcomes, counter readings, the time) and return what to
//! write or do. No sockets, no files, no async runtime; `tests/sans_io.rs` checks the sources
//! and the dependency tree. The `tern` binary is the shell that performs the actions.
//!
//! - [`tables`]: rows for Sentinel's Syslog and CommonSecurityLog tables and custom tables,
//!   written as JSON straight from the parsers' borrowed events.
//! - [`dcr`]: Data Collection Rules read from their text, compiled into routing and bound to
//!   the ingestion targets; the DCRs Tern writes (scaffold, migrate).
//! - [`delivery`]: what to do after each Logs Ingestion request (retry, split, quarantine, wait).
//! - [`heartbeat`]: the `TernHeartbeat_CL` rows a forwarder sends every interval.
//! - [`loss_report`]: the periodic "events not delivered" log lines from counter readings.
//! - [`reassembly`]: multi-part messages (Cisco ISE) put back together, within budgets.
//! - [`marked`]: the per-run counts of the events `tern send-test` marks.
//! - [`transform`]: DCR transformations (`transformKql`), compiled once and run per row.

pub mod dcr;
pub mod delivery;
pub mod exposition;
pub mod heartbeat;
pub mod loss_report;
pub mod marked;
pub mod reassembly;
pub mod spool_cursor;
pub mod tables;
pub mod transform;
pub mod uploading;
