//! `tern`: the command line. For now it offers `tern parse`, the troubleshooting workhorse;
//! the daemon (`tern run`) arrives with the forwarder issue.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};
use tern_parsers::{Body, Event, Format, Options, Timestamp, parse};

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
    /// Read messages on stdin (one per line) and print what the parsers make of each, as JSON
    /// lines: `{"line": N, "event": {...}}` or `{"line": N, "error": "..."}`.
    Parse {
        /// auto | rfc3164 | rfc5424 | cef | leef | cisco_asa | text
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: Format,
    },
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        format!("unknown format `{name}`: use auto, rfc3164, rfc5424, cef, leef, cisco_asa or text")
    })
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

fn rfc3339(ts: &Timestamp) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = ts.write_rfc3339_utc(0, &mut out);
    out
}

fn pairs<'a>(iter: impl Iterator<Item = (&'a str, std::borrow::Cow<'a, str>)>) -> Value {
    let mut map = Map::new();
    for (k, v) in iter {
        map.insert(k.to_owned(), Value::String(v.into_owned()));
    }
    Value::Object(map)
}

fn event_json(event: &Event<'_>) -> Value {
    let mut sd = Map::new();
    for element in event.structured_data.elements() {
        sd.insert(element.id.to_owned(), pairs(element.params()));
    }
    let body = match &event.body {
        Body::Text => json!({"kind": "text"}),
        Body::Cef(cef) => json!({
            "kind": "cef", "version": cef.version, "device_vendor": cef.device_vendor,
            "device_product": cef.device_product, "device_version": cef.device_version,
            "signature_id": cef.signature_id, "name": cef.name, "severity": cef.severity,
            "extensions": pairs(cef.extensions.iter()),
        }),
        Body::Leef(leef) => json!({
            "kind": "leef", "version": leef.version, "vendor": leef.vendor,
            "product": leef.product, "product_version": leef.product_version,
            "event_id": leef.event_id, "attributes": pairs(leef.attributes.iter()),
        }),
        Body::CiscoAsa(asa) => json!({
            "kind": "cisco_asa", "product": asa.product.name(), "level": asa.level,
            "message_id": asa.message_id, "text": String::from_utf8_lossy(asa.text),
        }),
    };
    json!({
        "header": match event.header {
            tern_parsers::HeaderKind::Rfc5424 => "rfc5424",
            tern_parsers::HeaderKind::Rfc3164 => "rfc3164",
        },
        "facility": event.facility().name(),
        "severity": event.severity().name(),
        "timestamp": event.timestamp.as_ref().map(rfc3339),
        "hostname": event.hostname,
        "app_name": event.app_name,
        "proc_id": event.proc_id,
        "msg_id": event.msg_id,
        "structured_data": sd,
        "message": event.message_text(),
        "body": body,
        "body_error": event.body_error.map(|e| e.to_string()),
        "anomalies": format!("{:?}", event.anomalies),
    })
}

fn run_parse(format: Format) -> ExitCode {
    let stdin = std::io::stdin();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    let mut input = stdin.lock();
    let mut number = 0usize;
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
        let mut options = Options::new(now());
        options.format = format;
        let out = match parse(&line, &options) {
            Ok(event) => json!({"line": number, "event": event_json(&event)}),
            Err(e) => json!({"line": number, "error": e.to_string()}),
        };
        if writeln!(stdout, "{out}").is_err() {
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
        Some(Command::Parse { format }) => run_parse(format),
        None => {
            eprintln!(
                "tern: the forwarder daemon is not built yet; try `tern parse < messages.log`"
            );
            ExitCode::from(2)
        }
    }
}
