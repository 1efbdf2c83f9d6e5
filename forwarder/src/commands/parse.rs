//! `tern parse`: the row each line on stdin would become, with `--dcr` through collection
//! DCRs' selection and transformations.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use tern::pipeline::now;
use tern::tables::{Received, Table, write_row};
use tern_parsers::{Format, Options, Timestamp, parse};

pub(crate) fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        format!(
            "unknown format `{name}`: use {}",
            tern::config::FORMAT_NAMES
        )
    })
}

pub(crate) fn parse_time(text: &str) -> Result<Timestamp, String> {
    match tern_parsers::timestamp::parse_rfc3339(text.as_bytes()) {
        Some((ts, [])) => Ok(ts.to_utc(0)),
        _ => Err(format!(
            "`{text}` is not an RFC 3339 time such as 2026-11-21T10:00:00Z"
        )),
    }
}

pub(crate) struct ParseArgs {
    pub(crate) format: Format,
    pub(crate) hostname: String,
    pub(crate) received_at: Option<Timestamp>,
    pub(crate) sender: Option<std::net::IpAddr>,
    pub(crate) zone: tern::timezone::ZoneClock,
    /// The collection DCRs' routing (`--dcr`), and whether more than one DCR was loaded.
    pub(crate) routing: Option<(tern::dcr::routing::Routing, bool)>,
}

/// Writes the lines `tern parse --dcr` prints for one event: a row per route (transformed
/// where the route's dataFlow has a transformation), or why there is none.
pub(crate) fn write_routed(
    routing: &tern::dcr::routing::Routing,
    several: bool,
    event: &tern_parsers::Event<'_>,
    received: &Received<'_>,
    number: usize,
    out: &mut Vec<u8>,
) {
    use tern::dcr::routing::EventKind;
    use tern_parsers::Body;
    let kind = match event.body {
        Body::Cef(_) | Body::Vendor(_) => EventKind::Cef,
        Body::CiscoAsa(_) => EventKind::Asa,
        Body::Text | Body::Leef(_) => EventKind::Syslog,
    };
    let facility = event.pri.map(|p| p.facility.code());
    let Some(routes) = routing.lookup(facility, event.severity().code(), kind) else {
        let table = Table::for_event(event);
        write_line(table, None, event, received, out);
        return;
    };
    let mut written = false;
    let mut plain_tables: Vec<Table> = Vec::new();
    for route in routes.ids().filter_map(|id| routing.route(id)) {
        match &route.transform {
            None => {
                if !plain_tables.contains(&route.table) {
                    plain_tables.push(route.table);
                    write_line(route.table, None, event, received, out);
                    written = true;
                }
            }
            Some(flow) => {
                let mut full = Vec::new();
                write_row(route.table, event, received, &mut full);
                let mut row = Vec::new();
                let at = tern::pipeline::jiff_time(received.time);
                match flow.transform.apply_json(&full, at, None, &mut row) {
                    tern_core::transform::Applied::Kept => {
                        out.extend_from_slice(b"{\"table\":\"");
                        out.extend_from_slice(route.table.name().as_bytes());
                        out.extend_from_slice(b"\"");
                        if several {
                            out.extend_from_slice(b",\"dcr\":");
                            out.extend_from_slice(
                                serde_json::Value::from(flow.dcr.as_str())
                                    .to_string()
                                    .as_bytes(),
                            );
                        }
                        out.extend_from_slice(b",\"row\":");
                        out.extend_from_slice(&row);
                        out.extend_from_slice(b"}\n");
                        written = true;
                    }
                    tern_core::transform::Applied::Dropped => {}
                    tern_core::transform::Applied::Failed(e) => {
                        let line = serde_json::json!({
                            "error": format!("transformation of {}: {e}", flow.origin),
                            "line": number,
                        });
                        out.extend_from_slice(line.to_string().as_bytes());
                        out.push(b'\n');
                        written = true;
                    }
                }
            }
        }
    }
    if !written {
        let reason = if routes.is_empty() {
            "filtered"
        } else {
            "transform"
        };
        let line = serde_json::json!({"dropped": reason, "line": number});
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
}

pub(crate) fn write_line(
    table: Table,
    _dcr: Option<&str>,
    event: &tern_parsers::Event<'_>,
    received: &Received<'_>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"table\":\"");
    out.extend_from_slice(table.name().as_bytes());
    out.extend_from_slice(b"\",\"row\":");
    write_row(table, event, received, out);
    out.extend_from_slice(b"}\n");
}

pub(crate) fn run_parse(mut args: ParseArgs) -> ExitCode {
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
                let received = Received {
                    time: received_time,
                    time_text: None,
                    sender: args.sender,
                    collector_hostname: &args.hostname,
                    default_offset_seconds: args
                        .zone
                        .offset_for(event.timestamp.as_ref(), &received_time),
                };
                match &args.routing {
                    Some((routing, several)) => {
                        write_routed(routing, *several, &event, &received, number, &mut out);
                    }
                    None => write_line(Table::for_event(&event), None, &event, &received, &mut out),
                }
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
