//! `tern send-test`: sample events sent to a Tern and followed through its metrics.

use std::path::PathBuf;
use std::process::ExitCode;

use super::load::load_all;

/// `tern send-test`'s options.
#[derive(clap::Args)]
pub(crate) struct SendTestArgs {
    /// Tern's listener, HOST:PORT.
    #[arg(long)]
    pub(crate) to: String,
    /// udp | tcp | tls
    #[arg(long, default_value = "tcp", value_parser = ["udp", "tcp", "tls"])]
    pub(crate) protocol: String,
    /// syslog | cef | asa | all
    #[arg(long, default_value = "all", value_parser = ["syslog", "cef", "asa", "all"])]
    pub(crate) kind: String,
    /// The Tern's config: its metrics endpoint is read before and after sending.
    #[arg(long, short)]
    pub(crate) config: Option<PathBuf>,
    /// The metrics endpoint instead of --config, e.g. http://127.0.0.1:9280.
    #[arg(long)]
    pub(crate) metrics: Option<String>,
    /// TLS: the CA certificate (PEM) that signed Tern's certificate.
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// TLS: a client certificate and key (mutual TLS).
    #[arg(long)]
    pub(crate) cert: Option<PathBuf>,
    /// TLS: the client certificate's private key (PEM).
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// TLS: the name to verify in Tern's certificate (default: the host of --to).
    #[arg(long)]
    pub(crate) server_name: Option<String>,
    /// How long to wait for the events to be uploaded.
    #[arg(long, default_value_t = 30)]
    pub(crate) wait_seconds: u64,
}

pub(crate) fn send_test(args: SendTestArgs) -> ExitCode {
    let SendTestArgs {
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
    } = args;
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
