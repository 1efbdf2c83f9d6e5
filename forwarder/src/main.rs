//! `tern`: the command line (`DESIGN.md` "Command line").
//!
//! Exit codes: 0 success, 2 configuration error, 1 runtime failure.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use commands::load::load_routing;
use commands::parse::{parse_format, parse_time};
use tern::config::system_hostname;
use tern_parsers::{Format, Timestamp};

/// `tern --version`: the release and the gzip engine built in (the `isal` feature).
const VERSION: &str = if cfg!(feature = "isal") {
    concat!(env!("CARGO_PKG_VERSION"), " (gzip: ISA-L)")
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (gzip: zlib-rs; build with --features isal for ISA-L, about twice as fast)"
    )
};

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
    SendTest(commands::send_test::SendTestArgs),
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
        None => commands::run::run_daemon(None),
        Some(Command::Run { config }) => commands::run::run_daemon(config),
        Some(Command::Check { config }) => commands::check::check(config),
        Some(Command::Doctor { config, root }) => commands::doctor::doctor(config, &root),
        Some(Command::SendTest(args)) => commands::send_test::send_test(args),
        Some(Command::Migrate {
            rsyslog,
            syslog_ng,
            workspace,
            location,
            name,
        }) => commands::migrate::migrate(rsyslog, syslog_ng, &workspace, &location, &name),
        Some(Command::Health {
            url,
            timeout_seconds,
        }) => commands::health::health(&url, timeout_seconds),
        Some(Command::Dcr {
            command:
                DcrCommand::Scaffold {
                    workspace,
                    location,
                    name,
                    dcr,
                },
        }) => commands::dcr::scaffold(&workspace, &location, &name, &dcr),
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
            commands::parse::run_parse(commands::parse::ParseArgs {
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
        }) => commands::transform::transform_test(&dcr, at.unwrap_or_else(tern::pipeline::now)),
    }
}
