//! `tern`: the command line. For now it offers `tern parse`, the troubleshooting workhorse,
//! which prints the Sentinel rows messages would become; the daemon (`tern run`) follows.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tern::tables::{Received, Table, write_row};
use tern_parsers::{Format, Options, Timestamp, parse};

#[derive(Parser)]
#[command(
    name = "tern",
    version,
    about = "Syslog/CEF forwarder to Microsoft Sentinel"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Read messages on stdin (one per line) and print the Sentinel row each would become, as
    /// JSON lines: `{"table": "Syslog", "row": {...}}` or `{"error": "...", "line": N}`.
    Parse {
        /// auto | rfc3164 | rfc5424 | cef | leef | cisco_asa | text
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: Format,
        /// `CollectorHostName` (default: this machine's host name).
        #[arg(long)]
        hostname: Option<String>,
        /// Receive time to use instead of now (RFC 3339), for reproducible output.
        #[arg(long, value_parser = parse_time)]
        received_at: Option<Timestamp>,
        /// Sender address, as a listener would see it (fills `HostIP` when the header has none).
        #[arg(long)]
        sender: Option<std::net::IpAddr>,
    },
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        format!("unknown format `{name}`: use auto, rfc3164, rfc5424, cef, leef, cisco_asa or text")
    })
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    match tern_parsers::timestamp::parse_rfc3339(text.as_bytes()) {
        Some((ts, [])) => Ok(ts.to_utc(0)),
        _ => Err(format!(
            "`{text}` is not an RFC 3339 time such as 2026-11-21T10:00:00Z"
        )),
    }
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        since.subsec_nanos(),
    )
}

/// This machine's host name, for `CollectorHostName`.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

struct ParseArgs {
    format: Format,
    hostname: String,
    received_at: Option<Timestamp>,
    sender: Option<std::net::IpAddr>,
}

fn run_parse(args: ParseArgs) -> ExitCode {
    let stdin = std::io::stdin();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    let mut input = stdin.lock();
    let mut number = 0usize;
    let mut out = Vec::with_capacity(4096);
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("tern parse: reading stdin: {e}");
                return ExitCode::from(1);
            }
        }
        number += 1;
        let received_time = args.received_at.unwrap_or_else(now);
        let mut options = Options::new(received_time);
        options.format = args.format;
        out.clear();
        match parse(&line, &options) {
            Ok(event) => {
                let table = Table::for_event(&event);
                let received = Received {
                    time: received_time,
                    sender: args.sender,
                    collector_hostname: &args.hostname,
                    default_offset_seconds: 0,
                };
                out.extend_from_slice(b"{\"table\":\"");
                out.extend_from_slice(table.name().as_bytes());
                out.extend_from_slice(b"\",\"row\":");
                write_row(table, &event, &received, &mut out);
                out.extend_from_slice(b"}\n");
            }
            Err(e) => {
                let error = serde_json::json!({"error": e.to_string(), "line": number});
                out.extend_from_slice(error.to_string().as_bytes());
                out.push(b'\n');
            }
        }
        if stdout.write_all(&out).is_err() {
            return ExitCode::from(1);
        }
    }
    if stdout.flush().is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Parse {
            format,
            hostname,
            received_at,
            sender,
        }) => run_parse(ParseArgs {
            format,
            hostname: hostname.unwrap_or_else(system_hostname),
            received_at,
            sender,
        }),
        None => {
            eprintln!(
                "tern: the forwarder daemon is not built yet; try `tern parse < messages.log`"
            );
            ExitCode::from(2)
        }
    }
}
