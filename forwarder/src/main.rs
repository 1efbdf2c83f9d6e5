//! `tern`: the command line (`DESIGN.md` "Command line").
//!
//! Exit codes: 0 success, 2 configuration error, 1 runtime failure.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tern::config::{Config, system_hostname};
use tern::dcr::Compiled;
use tern::doctor::Verdict;
use tern::pipeline::now;
use tern::tables::{Received, Table, write_row};
use tern_parsers::{Format, Options, Timestamp, parse};

/// `tern --version`: the release and the gzip engine built in (the `isal` feature).
const VERSION: &str = if cfg!(feature = "isal") {
    concat!(env!("CARGO_PKG_VERSION"), " (gzip: ISA-L)")
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (gzip: zlib-rs; build with --features isal for ISA-L, about twice as fast)"
    )
};

/// The configuration file read when `--config` is not given, if it exists.
const DEFAULT_CONFIG: &str = "/etc/tern/tern.toml";

#[derive(Parser)]
#[command(
    name = "tern",
    version = VERSION,
    about = "Syslog/CEF forwarder to Microsoft Sentinel"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the forwarder (the default). Without --config it reads /etc/tern/tern.toml if that
    /// exists, else uses the built-in default: UDP and TCP on 127.0.0.1:5514, rows to stdout.
    Run {
        /// The configuration file (TOML; every key in conf/tern.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a configuration and print what it would do; exit 2 on any error.
    Check {
        /// The configuration file to check, with the DCRs and certificates it names.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check this host and each upload target and say what to fix, one line each: listeners,
    /// certificates, kernel UDP drops, the spool, rsyslog/syslog-ng relays on the host, then
    /// token, endpoint, role, stream (a zero-row probe) and clock. Exit 1 on any FAIL.
    Doctor {
        /// The configuration file of the Tern to examine.
        #[arg(long, short)]
        config: PathBuf,
        /// Read the host's files (relay configs) under this folder instead of `/`.
        #[arg(long, default_value = "/", hide = true)]
        root: PathBuf,
    },
    /// Ask a running Tern's health endpoint; exit 0 on 200, else 1 with the reason (the
    /// Docker image's HEALTHCHECK).
    Health {
        /// `/healthz`: the process serves; `/readyz`: its listeners are bound.
        #[arg(long, default_value = "http://127.0.0.1:9280/healthz")]
        url: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5)]
        timeout_seconds: u64,
    },
    /// Data Collection Rule helpers.
    Dcr {
        #[command(subcommand)]
        command: DcrCommand,
    },
    /// Send sample events (plain syslog, CEF, Cisco ASA) to a Tern and, with --config, follow
    /// them through its metrics to the upload; say what went wrong where. Exit 1 if any
    /// event did not arrive, become a row or get uploaded.
    SendTest {
        /// Tern's listener, HOST:PORT.
        #[arg(long)]
        to: String,
        /// udp | tcp | tls
        #[arg(long, default_value = "tcp", value_parser = ["udp", "tcp", "tls"])]
        protocol: String,
        /// syslog | cef | asa | all
        #[arg(long, default_value = "all", value_parser = ["syslog", "cef", "asa", "all"])]
        kind: String,
        /// The Tern's config: its metrics endpoint is read before and after sending.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The metrics endpoint instead of --config, e.g. http://127.0.0.1:9280.
        #[arg(long)]
        metrics: Option<String>,
        /// TLS: the CA certificate (PEM) that signed Tern's certificate.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// TLS: a client certificate and key (mutual TLS).
        #[arg(long)]
        cert: Option<PathBuf>,
        /// TLS: the client certificate's private key (PEM).
        #[arg(long)]
        key: Option<PathBuf>,
        /// TLS: the name to verify in Tern's certificate (default: the host of --to).
        #[arg(long)]
        server_name: Option<String>,
        /// How long to wait for the events to be uploaded.
        #[arg(long, default_value_t = 30)]
        wait_seconds: u64,
    },
    /// Turn a legacy Log Analytics (OMS) agent's syslog forwarding (rsyslog 95-omsagent.conf
    /// and security-config-omsagent.conf, syslog-ng's OMS blocks) into the equivalent
    /// collection DCR, printed as JSON for `az monitor data-collection rule create` and for
    /// Tern's [dcr] paths. Without files, reads the legacy agent's usual paths under /etc.
    Migrate {
        /// An rsyslog file to read (repeatable).
        #[arg(long = "rsyslog", value_name = "FILE")]
        rsyslog: Vec<PathBuf>,
        /// A syslog-ng file to read (repeatable).
        #[arg(long = "syslog-ng", value_name = "FILE")]
        syslog_ng: Vec<PathBuf>,
        /// The Log Analytics workspace's ARM resource id (the DCR's destination).
        #[arg(long)]
        workspace: String,
        /// The DCR's Azure region (the workspace's).
        #[arg(long, default_value = "westeurope")]
        location: String,
        /// The DCR's name.
        #[arg(long, default_value = "tern-migrated-syslog")]
        name: String,
    },
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
        /// The zone of device timestamps that carry none, as a listener's `timezone`: UTC,
        /// local, an offset like +02:00, or an IANA name like Europe/Berlin.
        #[arg(long, default_value = "UTC", value_parser = tern::timezone::Zone::parse)]
        timezone: tern::timezone::Zone,
        /// Apply these collection DCRs (files or folders; repeatable): their facility and
        /// level selection and their dataFlows' transformKql. A line that gives no row prints
        /// `{"dropped": "filtered" | "transform", "line": N}`.
        #[arg(long = "dcr", value_name = "PATH")]
        dcr: Vec<PathBuf>,
    },
    /// DCR transformation (transformKql) helpers.
    Transform {
        #[command(subcommand)]
        command: TransformCommand,
    },
}

#[derive(Subcommand)]
enum TransformCommand {
    /// Run each dataFlow transformation of a DCR over sample rows read on stdin (one JSON
    /// object per line, the input stream's columns) and print what each gives, for writing
    /// transformations without Azure. Exit 2 if a transformation cannot run.
    Test {
        /// The DCR file (as exported from Azure).
        #[arg(long)]
        dcr: PathBuf,
        /// The time `now()` and `ago()` read (RFC 3339; default: now).
        #[arg(long, value_parser = parse_time)]
        now: Option<Timestamp>,
    },
}

#[derive(Subcommand)]
enum DcrCommand {
    /// Print the ingestion DCR (an ARM template) that matches Tern's Syslog and
    /// CommonSecurityLog columns; deploy it with `az deployment group create`.
    Scaffold {
        /// The Log Analytics workspace's ARM resource id.
        #[arg(long)]
        workspace: String,
        /// The DCR's Azure region (the workspace's).
        #[arg(long, default_value = "westeurope")]
        location: String,
        /// The DCR's name.
        #[arg(long, default_value = "tern-ingestion")]
        name: String,
        /// Collection DCRs (files or folders; repeatable) whose transformations add columns:
        /// the streams declare those too.
        #[arg(long = "dcr", value_name = "PATH")]
        dcr: Vec<PathBuf>,
    },
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        format!(
            "unknown format `{name}`: use {}",
            tern::config::FORMAT_NAMES
        )
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

struct ParseArgs {
    format: Format,
    hostname: String,
    received_at: Option<Timestamp>,
    sender: Option<std::net::IpAddr>,
    zone: tern::timezone::ZoneClock,
    /// The collection DCRs' routing (`--dcr`), and whether more than one DCR was loaded.
    routing: Option<(tern::dcr::routing::Routing, bool)>,
}

/// Writes the lines `tern parse --dcr` prints for one event: a row per route (transformed
/// where the route's dataFlow has a transformation), or why there is none.
fn write_routed(
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

fn write_line(
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

fn run_parse(mut args: ParseArgs) -> ExitCode {
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

/// The collection DCRs of `paths` compiled into routing (with their transformations); every
/// error printed, exit code 2.
fn load_routing(paths: &[PathBuf]) -> Result<(tern::dcr::routing::Routing, bool), ExitCode> {
    let print = |errors: Vec<tern::dcr::DcrError>| {
        for e in errors {
            eprintln!("tern: dcr error: {e}");
        }
        ExitCode::from(2)
    };
    let dcrs = tern::dcr::load::load_paths(paths).map_err(print)?;
    let several = dcrs.iter().filter(|d| d.is_collection()).count() > 1;
    let routing = tern::dcr::routing::Routing::compile(&dcrs, false).map_err(print)?;
    Ok((routing, several))
}

/// `tern transform test`: each dataFlow transformation of one DCR over JSON rows on stdin.
fn transform_test(path: &std::path::Path, at: Timestamp) -> ExitCode {
    let dcrs = match tern::dcr::load::load_file(path) {
        Ok(dcrs) => dcrs,
        Err(errors) => {
            for e in errors {
                eprintln!("tern: dcr error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let mut flows = Vec::new();
    let mut failed = false;
    for dcr in &dcrs {
        for (flow, stream, compiled) in tern::dcr::routing::all_flow_transforms(dcr) {
            match compiled {
                Ok(transform) => flows.push((format!("{flow} ({stream})"), transform)),
                Err(e) => {
                    eprintln!(
                        "tern: dcr error: {}: {flow}.transformKql: Tern cannot run this transformation: {e}",
                        dcr.file
                    );
                    failed = true;
                }
            }
        }
    }
    if failed {
        return ExitCode::from(2);
    }
    if flows.is_empty() {
        eprintln!(
            "tern: {}: no dataFlow has a transformKql other than `source`",
            path.display()
        );
        return ExitCode::from(1);
    }
    let at = tern::pipeline::jiff_time(at);
    let stdin = std::io::stdin();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, line) in stdin.lock().lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("tern transform test: reading stdin: {e}");
                return ExitCode::from(1);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        for (name, transform) in &flows {
            let mut row = Vec::new();
            let result = match transform.apply_json(line.as_bytes(), at, None, &mut row) {
                tern_core::transform::Applied::Kept => {
                    let row: serde_json::Value =
                        serde_json::from_slice(&row).unwrap_or(serde_json::Value::Null);
                    serde_json::json!({"dataFlow": name, "line": index + 1, "row": row})
                }
                tern_core::transform::Applied::Dropped => {
                    serde_json::json!({"dataFlow": name, "line": index + 1, "dropped": "transform"})
                }
                tern_core::transform::Applied::Failed(e) => {
                    serde_json::json!({"dataFlow": name, "line": index + 1, "error": e})
                }
            };
            if writeln!(stdout, "{result}").is_err() {
                return ExitCode::from(1);
            }
        }
    }
    if stdout.flush().is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Loads `--config`, else the default file if present, else the built-in default.
fn load_config(path: Option<PathBuf>) -> Result<Config, tern::config::ConfigErrors> {
    match path {
        Some(path) => Config::load(&path),
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => {
            Config::load(std::path::Path::new(DEFAULT_CONFIG))
        }
        None => Ok(Config::builtin()),
    }
}

/// Loads the configuration (see [`load_config`]) and compiles its DCRs. Every error is
/// printed, one per line; `Err` is the exit code (2: configuration).
fn load_all(path: Option<PathBuf>) -> Result<(Config, Compiled), ExitCode> {
    let config = load_config(path).map_err(|errors| {
        for e in errors.0 {
            eprintln!("tern: config error: {e}");
        }
        ExitCode::from(2)
    })?;
    let compiled = tern::dcr::compile(&config.dcr, &config.destinations).map_err(|errors| {
        for e in errors {
            eprintln!("tern: dcr error: {e}");
        }
        ExitCode::from(2)
    })?;
    Ok((config, compiled))
}

/// Reads every TLS listener's certificate files as the listener would; errors (exit code 2)
/// name the listener, the setting and the file. Returns notes for certificates expiring soon.
/// `strict` (`tern check`): a certificate outside its validity is an error; otherwise (`tern
/// run`) the listener logs it and serves it anyway (decision 52).
fn check_tls(config: &Config, strict: bool) -> Result<Vec<String>, ExitCode> {
    let mut failed = false;
    let mut notes = Vec::new();
    for listen in &config.listen {
        let Some(files) = &listen.tls else { continue };
        let loaded = if strict {
            tern::listen::tls::load(files)
        } else {
            tern::listen::tls::load_for_serving(files)
        };
        match loaded {
            Ok(loaded) => {
                let left = loaded.not_after - tern::listen::tls::unix_now();
                if left
                    < i64::try_from(tern::listen::tls::EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX)
                {
                    notes.push(format!(
                        "listener {}: the certificate {} expires at {} (in {} days); renew it",
                        listen.name(),
                        files.cert.display(),
                        tern::listen::tls::rfc3339(loaded.not_after),
                        left / 86_400
                    ));
                }
            }
            Err(e) => {
                eprintln!(
                    "tern: config error: {}: listener {}: {e}",
                    config.source,
                    listen.name()
                );
                failed = true;
            }
        }
    }
    if failed {
        Err(ExitCode::from(2))
    } else {
        Ok(notes)
    }
}

/// A tokio runtime, or the exit code of a runtime failure.
fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("tern: cannot start: {e}");
        ExitCode::from(1)
    })
}

fn check(path: PathBuf) -> ExitCode {
    let (config, compiled) = match load_all(Some(path)) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let tls_notes = match check_tls(&config, true) {
        Ok(notes) => notes,
        Err(code) => return code,
    };
    // What `run` would refuse when it opens its outputs, `check` refuses too.
    let output_problems: Vec<String> = config
        .outputs
        .iter()
        .filter_map(tern::config::Output::problem)
        .collect();
    let gaps = tern::preflight::upload_gaps(&config, &compiled);
    if !output_problems.is_empty() || !gaps.is_empty() {
        for problem in output_problems {
            eprintln!("tern: config error: {}: {problem}", config.source);
        }
        for gap in gaps {
            eprintln!("tern: dcr error: {gap}");
        }
        return ExitCode::from(2);
    }
    let Compiled {
        routing,
        bindings,
        files,
        scopes,
    } = compiled;
    println!("{}: ok", config.source);
    println!("collector host name: {}", config.hostname);
    for listen in &config.listen {
        println!(
            "listen {} (format {}, max message {} bytes{})",
            listen.name(),
            listen.format.name(),
            listen.max_message_bytes,
            if listen.allow.is_empty() {
                String::new()
            } else {
                format!(
                    ", allow {}",
                    listen
                        .allow
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        );
    }
    for output in &config.outputs_for(!bindings.targets.is_empty()) {
        println!("output {output}");
    }
    for path in &config.dcr.paths {
        println!("dcr path {}", path.display());
    }
    println!(
        "routing (duplicate_cef_to_syslog = {}):",
        config.dcr.duplicate_cef_to_syslog
    );
    for line in routing.describe() {
        println!("  {line}");
    }
    for scope in &scopes {
        println!(
            "routing of listeners and senders bound to {}:",
            scope.dcrs.join(", ")
        );
        for line in scope.routing.describe() {
            println!("  {line}");
        }
    }
    for file in &files {
        println!(
            "files {} ({:?}{}) → {} ({} target(s)) from {}",
            file.source.patterns.join(" "),
            file.source.format,
            file.source
                .record_start
                .map(|r| format!(", records start with {r:?}"))
                .unwrap_or_default(),
            file.table.name(),
            file.targets.len(),
            file.origin
        );
    }
    if !bindings.targets.is_empty() {
        println!("upload targets:");
        for line in bindings.describe(&routing) {
            println!("  {line}");
        }
    }
    for note in routing
        .notes
        .iter()
        .chain(&bindings.notes)
        .chain(&tls_notes)
    {
        println!("note: {note}");
    }
    ExitCode::SUCCESS
}

fn doctor(path: PathBuf, root: &std::path::Path) -> ExitCode {
    let ((config, compiled), runtime) =
        match load_all(Some(path)).and_then(|l| Ok((l, runtime(false)?))) {
            Ok(ready) => ready,
            Err(code) => return code,
        };
    let checks = runtime.block_on(tern::doctor::run(&config, &compiled, root));
    for c in &checks {
        let verdict = match c.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        println!("{verdict} {}: {}", c.what, c.detail);
        if let Some(fix) = &c.fix {
            println!("     fix: {fix}");
        }
    }
    if checks.iter().all(|c| c.verdict != Verdict::Fail) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints a JSON document (a DCR) for `az` and for Tern's `[dcr] paths`.
fn print_json(value: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::from(1)
        }
    }
}

/// The legacy agent's files, where it put them (`reference/azure.md` §9.2).
const LEGACY_RSYSLOG: [&str; 2] = [
    "/etc/rsyslog.d/95-omsagent.conf",
    "/etc/rsyslog.d/security-config-omsagent.conf",
];
const LEGACY_SYSLOG_NG: [&str; 2] = [
    "/etc/syslog-ng/syslog-ng.conf",
    "/etc/syslog-ng/conf.d/security-config-omsagent.conf",
];

fn migrate(
    mut rsyslog: Vec<PathBuf>,
    mut syslog_ng: Vec<PathBuf>,
    workspace: &str,
    location: &str,
    name: &str,
) -> ExitCode {
    use tern::dcr::migrate;
    if rsyslog.is_empty() && syslog_ng.is_empty() {
        rsyslog = LEGACY_RSYSLOG
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        syslog_ng = LEGACY_SYSLOG_NG
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        if rsyslog.is_empty() && syslog_ng.is_empty() {
            eprintln!(
                "tern: no legacy agent configuration found ({}); name files with --rsyslog or --syslog-ng",
                LEGACY_RSYSLOG
                    .iter()
                    .chain(&LEGACY_SYSLOG_NG)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let mut selection = migrate::Selection::default();
    let files = rsyslog
        .iter()
        .map(|f| (f, true))
        .chain(syslog_ng.iter().map(|f| (f, false)));
    for (file, is_rsyslog) in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("tern: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        let label = file.display().to_string();
        if is_rsyslog {
            migrate::rsyslog(&label, &text, &mut selection);
        } else {
            migrate::syslog_ng(&label, &text, &mut selection);
        }
    }
    for note in &selection.notes {
        eprintln!("tern: note: {note}");
    }
    if selection.syslog.iter().all(|m| *m == 0) && !selection.cef {
        eprintln!("tern: the files forward nothing to the legacy agent (ports 25224, 25226)");
        return ExitCode::from(1);
    }
    if selection.cef {
        eprintln!(
            "tern: note: CEF/ASA was matched by content on every facility; narrow facilityNames of \
             DS_CommonSecurityLog to what the devices use (reference: Sentinel's CEF connector)"
        );
    }
    print_json(&migrate::dcr(&selection, name, location, workspace))
}

fn run_daemon(path: Option<PathBuf>) -> ExitCode {
    let (config, compiled) = match load_all(path) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // The same messages as `tern check`, before anything binds; the listener logs the notes.
    if let Err(code) = check_tls(&config, false) {
        return code;
    }
    // Before the runtime's threads exist: taking the sockets unsets LISTEN_FDS, and changing
    // the environment while other threads may read it is not safe.
    let inherited = tern::listen::activation::Inherited::from_env();
    let runtime = match runtime(true) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // DCRs from Azure: asked for once before starting (the cached copies otherwise).
    let mut compiled = compiled;
    let poller = match tern::arm::ArmPoller::new(&config) {
        Ok(poller) => poller,
        Err(e) => {
            eprintln!("tern: config error: {}: {e}", config.source);
            return ExitCode::from(2);
        }
    };
    let poller = poller.map(|mut poller| {
        let first = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(30), poller.poll()).await
        });
        match first {
            Ok(polled) => {
                for problem in &polled.problems {
                    tracing::warn!(%problem, "DCRs from Azure: starting from the cached copy");
                }
                if polled.changed {
                    match tern::dcr::compile(&config.dcr, &config.destinations) {
                        Ok(fresh) => compiled = fresh,
                        Err(errors) => {
                            for e in errors {
                                tracing::error!(
                                    "DCRs from Azure do not compile (keeping the cached set): {e}"
                                );
                            }
                        }
                    }
                }
            }
            Err(_) => tracing::warn!(
                "DCRs from Azure: no answer within 30 s: starting from the cached copies"
            ),
        }
        poller
    });
    match runtime.block_on(tern::run::run(config, compiled, inherited, poller)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr (stdout carries rows); TERN_LOG sets the level (e.g. `debug`).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TERN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command {
        None => run_daemon(None),
        Some(Command::Run { config }) => run_daemon(config),
        Some(Command::Check { config }) => check(config),
        Some(Command::Doctor { config, root }) => doctor(config, &root),
        Some(Command::SendTest {
            to,
            protocol,
            kind,
            config,
            metrics,
            ca,
            cert,
            key,
            server_name,
            wait_seconds,
        }) => {
            use tern::send_test::{Kind, SendTest, Transport};
            // The configuration names the metrics endpoint, and its DCRs explain a filtered
            // event or a row with no uploader.
            let loaded = match config {
                Some(path) => match load_all(Some(path)) {
                    Ok(loaded) => Some(loaded),
                    Err(code) => return code,
                },
                None => None,
            };
            let metrics = metrics.or_else(|| {
                loaded
                    .as_ref()
                    .and_then(|(config, _)| config.metrics_address)
                    .map(|a| format!("http://{a}"))
            });
            let options = SendTest {
                to,
                transport: match protocol.as_str() {
                    "udp" => Transport::Udp,
                    "tls" => Transport::Tls,
                    _ => Transport::Tcp,
                },
                kinds: Kind::from_name(&kind).unwrap_or_default(),
                ca,
                cert,
                key,
                server_name,
                metrics,
                wait: std::time::Duration::from_secs(wait_seconds),
                loaded,
            };
            match tern::send_test::run(&options) {
                Ok(lines) => {
                    for line in lines {
                        println!("{line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(lines) => {
                    for line in lines {
                        println!("{line}");
                    }
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Migrate {
            rsyslog,
            syslog_ng,
            workspace,
            location,
            name,
        }) => migrate(rsyslog, syslog_ng, &workspace, &location, &name),
        Some(Command::Health {
            url,
            timeout_seconds,
        }) => match tern::health::check(&url, std::time::Duration::from_secs(timeout_seconds)) {
            Ok(status) => {
                println!("{url}: {status}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tern: unhealthy: {e}");
                ExitCode::from(1)
            }
        },
        Some(Command::Dcr {
            command:
                DcrCommand::Scaffold {
                    workspace,
                    location,
                    name,
                    dcr,
                },
        }) => {
            let extra = if dcr.is_empty() {
                Vec::new()
            } else {
                match load_routing(&dcr) {
                    Ok((routing, _)) => tern::dcr::scaffold::transform_columns(&routing),
                    Err(code) => return code,
                }
            };
            eprintln!(
                "tern: the heartbeat stream needs the table {} in the workspace; create it once with:\n  {}",
                tern_core::heartbeat::TABLE,
                tern::dcr::scaffold::heartbeat_table_command(&workspace)
            );
            print_json(&tern::dcr::scaffold::template_with(
                &workspace, &location, &name, &extra,
            ))
        }
        Some(Command::Parse {
            format,
            hostname,
            received_at,
            sender,
            timezone,
            dcr,
        }) => {
            let routing = if dcr.is_empty() {
                None
            } else {
                match load_routing(&dcr) {
                    Ok(routing) => Some(routing),
                    Err(code) => return code,
                }
            };
            run_parse(ParseArgs {
                format,
                hostname: hostname.unwrap_or_else(system_hostname),
                received_at,
                sender,
                zone: tern::timezone::ZoneClock::new(timezone),
                routing,
            })
        }
        Some(Command::Transform {
            command: TransformCommand::Test { dcr, now: at },
        }) => transform_test(&dcr, at.unwrap_or_else(now)),
    }
}
