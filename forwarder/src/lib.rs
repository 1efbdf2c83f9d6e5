//! The `tern` forwarder: listeners, routing, row shaping, outputs and uploads around the
//! `tern-parsers` crate. The binary (`main.rs`) is the command line; everything it runs lives
//! here, one folder per stage an event passes through.

pub mod config;
pub mod dcr;
pub mod doctor;
pub mod files;
pub mod health;
pub mod listen;
pub mod log_limit;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod preflight;
pub mod run;
pub mod secure_file;
pub mod send_test;
pub mod spool;
pub mod systemd;
pub mod timezone;
pub mod upload;

// The decisions without I/O live in tern-core; re-exported under the paths the daemon used.
pub use tern_core::{loss_report, marked, reassembly, tables};
