//! The configuration file (TOML, `DESIGN.md` "Configuration file"): its keys, defaults and
//! checks.
//!
//! Owns: reading and validating `tern.toml` into [`Config`]. Every problem is reported with the
//! file, line and key; unknown keys are errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use tern_parsers::Format;
use tern_parsers::framing::Framing;
use toml::Spanned;

mod azure;
mod errors;
mod files;
mod listen;
mod outputs;
mod raw;
mod spool;

pub use azure::*;
pub use errors::*;
pub use files::*;
pub use listen::*;
pub use outputs::*;
use raw::*;
use spool::*;

/// `[heartbeat]`: how often `TernHeartbeat_CL` rows are sent (`crate::heartbeat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    /// Seconds between beats (at least 1; AMA beats once a minute).
    pub interval: std::time::Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> HeartbeatConfig {
        HeartbeatConfig {
            interval: std::time::Duration::from_secs(60),
        }
    }
}

pub use tern_core::dcr::binding::Destination;

pub use crate::dcr::DcrConfig;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub azure: Option<AzureConfig>,
    /// `[spool]`: without it, batches waiting for upload are held in memory only.
    pub spool: Option<crate::spool::SpoolConfig>,
    pub dcr: DcrConfig,
    pub destinations: Vec<Destination>,
    /// `CollectorHostName`.
    pub hostname: String,
    pub listen: Vec<Listen>,
    /// `[[output]]` sections; empty: rows go to stdout unless there is an upload target
    /// ([`Config::outputs_for`]).
    pub outputs: Vec<Output>,
    pub metrics_address: Option<SocketAddr>,
    /// Where this configuration came from (a path, or "built-in default").
    pub source: String,
    /// `[files]`: reading the log files of DCR `logFiles` sources.
    pub files: FilesConfig,
    /// `[heartbeat]`: how often `TernHeartbeat_CL` rows are sent.
    pub heartbeat: HeartbeatConfig,
}

pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 65_536;
/// 256 MiB of gzip per target: several minutes of a busy firewall (log rows compress about
/// 10:1) on a VM that can spare it.
const DEFAULT_MAX_QUEUE_BYTES: usize = 256 << 20;
/// With a spool the queue in memory is only a cache of what is on disk (the page cache keeps
/// recent segments anyway), so it is kept small: the daemon's memory stays bounded through an
/// outage (decision 74).
const DEFAULT_MEMORY_TIER_BYTES: usize = 32 << 20;
pub const DEFAULT_DEAD_LETTER: &str = "/var/lib/tern/dead-letter.jsonl";
/// Where the last good copies of DCRs from Azure are kept (`[dcr] cache_dir`).
pub const DEFAULT_DCR_CACHE: &str = "/var/lib/tern/dcr-cache";
const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 300;
const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// The most `max_connections` may be (a file descriptor each).
const MAX_CONNECTIONS_LIMIT: usize = 1 << 20;
const DEFAULT_FRAME_TIMEOUT_SECONDS: u64 = 60;
/// 256 MiB: 4,096 connections with a 64 KiB read buffer each.
const DEFAULT_BUFFER_BUDGET_BYTES: usize = 256 << 20;
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:5514";
pub const DEFAULT_METRICS_ADDRESS: &str = "127.0.0.1:9280";

fn default_socket_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// This machine's host name.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl Config {
    /// The local outputs in force: the `[[output]]` sections, or stdout when there are none
    /// and nothing is uploaded (so a first run shows its rows). With upload targets and no
    /// `[[output]]`, rows are not copied anywhere locally: under systemd, stdout is the
    /// journal, and a copy of every row there would cost more than the upload.
    pub fn outputs_for(&self, uploading: bool) -> Vec<Output> {
        if self.outputs.is_empty() && !uploading {
            vec![Output::Stdout]
        } else {
            self.outputs.clone()
        }
    }

    /// The built-in default: UDP and TCP on 127.0.0.1:5514, every event to stdout.
    pub fn builtin() -> Config {
        let address = DEFAULT_ADDRESS.parse().map_or_else(
            |_| Address::Path(PathBuf::from(DEFAULT_ADDRESS)),
            Address::Inet,
        );
        Config {
            hostname: system_hostname(),
            listen: vec![
                Listen::default_for(Protocol::Udp, address.clone()),
                Listen::default_for(Protocol::Tcp, address),
            ],
            outputs: vec![Output::Stdout],
            metrics_address: DEFAULT_METRICS_ADDRESS.parse().ok(),
            source: "built-in default".to_owned(),
            dcr: DcrConfig::default(),
            destinations: Vec::new(),
            azure: None,
            spool: None,
            files: FilesConfig::default(),
            heartbeat: HeartbeatConfig::default(),
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: 0,
                message: format!("cannot read: {e}"),
            }])
        })?;
        Config::parse(&file, &text)
    }

    /// Checks configuration text; `file` names it in errors. Every problem is reported, in
    /// file order: each section and each `[[listen]]`, `[[output]]` and `[[destination]]`
    /// entry is checked on its own (an entry stops at its first problem).
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigErrors> {
        let at = |span: std::ops::Range<usize>, message: String| ConfigError {
            file: file.to_owned(),
            line: line_of(text, span.start),
            message,
        };
        let root = toml::de::DeTable::parse(text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.to_owned(),
                line: e.span().map_or(0, |s| line_of(text, s.start)),
                message: plain_message(e.message()),
            }])
        })?;
        let mut errors: Vec<ConfigError> = Vec::new();
        let raw = raw_config(&root, &mut |span, message| errors.push(at(span, message)));

        let mut listen = Vec::new();
        // The sets of collection DCRs listeners and sender networks are bound to (`dcrs`,
        // `sender_dcrs`), each once; a listener refers to its set by index.
        let mut scopes: Vec<Vec<String>> = Vec::new();
        for (i, l) in &raw.listen {
            let i = *i;
            let checked = listener(i, l, &at, &mut scopes);
            match checked {
                Ok(checked) => listen.push(checked),
                Err(e) => errors.push(e),
            }
        }

        let mut outputs = Vec::new();
        for (i, o) in &raw.output {
            let i = *i;
            match output(i, o, &at) {
                Ok(output) => outputs.push(output),
                Err(e) => errors.push(e),
            }
        }

        let metrics_address = match raw.metrics.as_ref().and_then(|m| m.address.as_ref()) {
            Some(address) if address.get_ref().is_empty() => None,
            Some(address) => match address.get_ref().parse() {
                Ok(address) => Some(address),
                Err(_) => {
                    errors.push(at(
                        address.span(),
                        format!(
                            "metrics.address: `{}` is not an address and port such as 127.0.0.1:9280",
                            address.get_ref()
                        ),
                    ));
                    None
                }
            },
            None => DEFAULT_METRICS_ADDRESS.parse().ok(),
        };

        let mut heartbeat = HeartbeatConfig::default();
        if let Some(interval) = raw.heartbeat.as_ref().and_then(|h| h.interval.as_ref()) {
            if *interval.get_ref() == 0 {
                errors.push(at(
                    interval.span(),
                    "heartbeat.interval: at least 1 (seconds)".to_owned(),
                ));
            } else {
                heartbeat.interval = std::time::Duration::from_secs(*interval.get_ref());
            }
        }

        let mut dcr = match &raw.dcr {
            Some(d) => DcrConfig {
                paths: d
                    .paths
                    .iter()
                    .flatten()
                    .map(|p| PathBuf::from(p.get_ref()))
                    .collect(),
                origins: d
                    .paths
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, p)| {
                        format!("{file}:{}: dcr.paths[{i}]", line_of(text, p.span().start))
                    })
                    .collect(),
                watch: d.watch.unwrap_or(false),
                duplicate_cef_to_syslog: d.duplicate_cef_to_syslog.unwrap_or(false),
                cache_dir: d.cache_dir.as_ref().map(PathBuf::from),
                ..DcrConfig::default()
            },
            None => DcrConfig::default(),
        };
        dcr.scopes = scopes;
        // (credential name, its span, where): checked once `[azure]` is read.
        let mut arm_auth: Vec<(String, std::ops::Range<usize>, String)> = Vec::new();
        if let Some(d) = &raw.dcr {
            if let Some(interval) = &d.poll_interval {
                if *interval.get_ref() == 0 {
                    errors.push(at(
                        interval.span(),
                        "dcr.poll_interval: at least 1 (seconds)".to_owned(),
                    ));
                } else {
                    dcr.poll_interval = std::time::Duration::from_secs(*interval.get_ref());
                }
            }
            for (i, entry) in d.azure.iter().enumerate() {
                let e = entry.get_ref();
                let source = match (&e.id, &e.associated_with) {
                    (Some(id), None) => tern_core::dcr::arm::check_dcr_id(id)
                        .map(|()| tern_core::dcr::arm::ArmSource::Dcr(id.clone())),
                    (None, Some(machine)) => tern_core::dcr::arm::check_machine_id(machine)
                        .map(|()| tern_core::dcr::arm::ArmSource::AssociatedWith(machine.clone())),
                    _ => Err(
                        "give `id` (a DCR) or `associated_with` (a machine), not both".to_owned(),
                    ),
                };
                match source {
                    Ok(source) => dcr.azure.push(crate::dcr::ArmEntry {
                        source,
                        auth: e.auth.as_ref().map(|a| a.get_ref().clone()),
                    }),
                    Err(message) => {
                        errors.push(at(entry.span(), format!("dcr.azure[{i}]: {message}")))
                    }
                }
                if let Some(auth) = &e.auth {
                    arm_auth.push((
                        auth.get_ref().clone(),
                        auth.span(),
                        format!("dcr.azure[{i}]"),
                    ));
                }
            }
            if !d.azure.is_empty() && dcr.cache_dir.is_none() {
                dcr.cache_dir = Some(PathBuf::from(DEFAULT_DCR_CACHE));
            }
        }

        let azure = azure_config(&raw, &at).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let mut destinations = Vec::new();
        // (credential name, its span, destination index): checked once `[azure]` is read.
        let mut destination_auth: Vec<(String, std::ops::Range<usize>, usize)> = Vec::new();
        for (i, d) in &raw.destination {
            let i = *i;
            let destination = (|| -> Result<Destination, ConfigError> {
                let endpoint = d.endpoint.get_ref();
                if let Some(why) = crate::upload::endpoint::refusal(endpoint) {
                    return Err(at(
                        d.endpoint.span(),
                        format!("destination[{i}].endpoint: {why}"),
                    ));
                }
                let mut streams = Vec::new();
                for (table, stream) in d.streams.get_ref() {
                    let stream = stream.as_str().filter(|s| s.starts_with("Custom-"));
                    let custom = table.ends_with("_CL") && table.len() > 3;
                    match (table.as_str(), stream) {
                        ("Syslog" | "CommonSecurityLog", Some(stream)) => {
                            streams.push((table.clone(), stream.to_owned()));
                        }
                        (_, Some(stream)) if custom => {
                            streams.push((table.clone(), stream.to_owned()));
                        }
                        _ => {
                            return Err(at(
                                d.streams.span(),
                                format!(
                                    "destination[{i}].streams: `{table}` must be Syslog, \
                                 CommonSecurityLog or a custom table (`…_CL`), mapped to a `Custom-*` stream name"
                                ),
                            ));
                        }
                    }
                }
                if let Some(auth) = &d.auth {
                    destination_auth.push((auth.get_ref().clone(), auth.span(), i));
                }
                Ok(Destination {
                    name: d.name.clone(),
                    endpoint: endpoint.clone(),
                    dcr_immutable_id: d.dcr_immutable_id.clone(),
                    streams,
                    workspace: d.workspace.clone(),
                    auth: d.auth.as_ref().map(|a| a.get_ref().clone()),
                })
            })();
            match destination {
                Ok(destination) => destinations.push(destination),
                Err(e) => errors.push(e),
            }
        }
        for (name, span, place) in arm_auth {
            let known = azure
                .as_ref()
                .is_some_and(|a| a.credentials.iter().any(|(n, _)| *n == name));
            if !known {
                errors.push(at(
                    span,
                    format!("{place}.auth: no credential `{name}`: define [azure.auth.{name}]"),
                ));
            }
        }
        if !dcr.azure.is_empty() && azure.is_none() {
            errors.push(at(
                0..0,
                "dcr.azure: DCRs from Azure need an [azure] section with a credential".to_owned(),
            ));
        }
        for (name, span, i) in destination_auth {
            let known = azure
                .as_ref()
                .is_some_and(|a| a.credentials.iter().any(|(n, _)| *n == name));
            if !known {
                let defined: Vec<String> = raw
                    .named_auth
                    .iter()
                    .map(|(n, ..)| format!("[azure.auth.{n}]"))
                    .collect();
                errors.push(at(
                    span,
                    format!(
                        "destination[{i}].auth: no credential `{name}`: define [azure.auth.{name}] \
                         (defined: {})",
                        if defined.is_empty() {
                            "none".to_owned()
                        } else {
                            defined.join(", ")
                        }
                    ),
                ));
            }
        }

        let spool = match &raw.spool {
            None => None,
            Some(sp) => match spool_config(sp) {
                Ok(spool) => Some(spool),
                Err((span, message)) => {
                    errors.push(at(span, message));
                    None
                }
            },
        };
        if !raw.listen_given {
            errors.push(ConfigError {
                file: file.to_owned(),
                line: 0,
                message: "no [[listen]] section: Tern would receive nothing".to_owned(),
            });
        }
        let mut files = FilesConfig::default();
        if let Some(spool) = &spool {
            if let Some(parent) = spool.dir.parent() {
                files.checkpoint_path = parent.join("file-checkpoints.json");
            }
        }
        if let Some(raw_files) = &raw.files {
            let checked = (|| -> Result<(), ConfigError> {
                if let Some(path) = &raw_files.checkpoint_path {
                    files.checkpoint_path = PathBuf::from(path);
                }
                if let Some(max) = &raw_files.max_record_bytes {
                    if !(256..=16 * 1024 * 1024).contains(max.get_ref()) {
                        return Err(at(
                            max.span(),
                            "files.max_record_bytes: must be between 256 and 16777216".to_owned(),
                        ));
                    }
                    files.max_record_bytes = *max.get_ref();
                }
                if let Some(start) = &raw_files.start_at {
                    files.start_at_beginning = match start.get_ref().as_str() {
                        "end" => false,
                        "beginning" => true,
                        other => {
                            return Err(at(
                                start.span(),
                                format!("files.start_at: `{other}`: use end or beginning"),
                            ));
                        }
                    };
                }
                if let Some(ms) = raw_files.partial_flush_ms {
                    files.partial_flush = std::time::Duration::from_millis(ms.clamp(10, 600_000));
                }
                if let Some(roots) = &raw_files.allowed_roots {
                    if roots.get_ref().is_empty() {
                        // Would refuse every file: more likely a mistake than the intent.
                        return Err(at(
                            roots.span(),
                            "files.allowed_roots: empty: list the folders log files may be read \
                         from (e.g. [\"/var/log\"]), or leave the key out"
                                .to_owned(),
                        ));
                    }
                    let mut allowed = Vec::new();
                    for root in roots.get_ref() {
                        let path = Path::new(root.get_ref());
                        // `..` is refused rather than resolved: a root is compared by its path.
                        if !path.is_absolute()
                            || path
                                .components()
                                .any(|c| c == std::path::Component::ParentDir)
                        {
                            return Err(at(
                                root.span(),
                                format!(
                                    "files.allowed_roots: `{}`: not an absolute folder without `..` \
                                 (e.g. /var/log)",
                                    root.get_ref()
                                ),
                            ));
                        }
                        allowed.push(path.to_path_buf());
                    }
                    files.allowed_roots = Some(allowed);
                }
                Ok(())
            })();
            if let Err(e) = checked {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            // File order; a problem of the file as a whole (line 0) first.
            errors.sort_by_key(|e| e.line);
            return Err(ConfigErrors(errors));
        }
        Ok(Config {
            hostname: raw.hostname.unwrap_or_else(system_hostname),
            listen,
            outputs,
            metrics_address,
            source: file.to_owned(),
            dcr,
            destinations,
            azure,
            spool,
            files,
            heartbeat,
        })
    }
}

/// A size: a number of bytes, or with a unit (`KiB`, `MiB`, `GiB`; `KB`, `MB`, `GB` are
/// powers of ten).
fn parse_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().ok()?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_design_example_loads() {
        let text = r#"
    hostname = "fwd-01"

    [[listen]]
    protocol = "udp"
    address = "0.0.0.0:514"

    [[listen]]
    protocol = "tcp"
    address = "[::]:514"
    framing = "octet-counting"
    max_message_bytes = 131072
    format = "cef"
    allow = ["10.0.0.0/8", "192.0.2.1"]

    [dcr]
    paths = ["/etc/tern/dcr.d"]
    watch = true
    duplicate_cef_to_syslog = false

    [azure]
    cloud = "public"
    [azure.auth]
    method = "client-secret"
    tenant_id = "t"
    client_id = "c"
    client_secret_file = "/etc/tern/client-secret"
    [azure.upload]
    concurrency = 4

    [[destination]]
    name = "sentinel-eu"
    endpoint = "https://x.ingest.monitor.azure.com"
    dcr_immutable_id = "dcr-1"
    streams = { Syslog = "Custom-TernSyslog", CommonSecurityLog = "Custom-TernCEF" }

    [[output]]
    kind = "file"
    path = "/var/log/tern/rows.jsonl"

    [spool]
    dir = "/var/lib/tern/spool"
    max_bytes = "10GiB"
    when_full = "block"

    [metrics]
    address = "127.0.0.1:9280"
    "#;
        let secret =
            std::env::temp_dir().join(format!("tern-config-test-secret-{}", std::process::id()));
        std::fs::write(&secret, "s3cret\n").unwrap();
        let text = text.replace("/etc/tern/client-secret", &secret.display().to_string());
        let c = Config::parse("tern.toml", &text).unwrap();
        let _ = std::fs::remove_file(&secret);
        let Some(crate::upload::auth::Credential::ClientSecret(credential)) =
            c.azure.as_ref().unwrap().credential.as_ref()
        else {
            panic!("not a client secret");
        };
        // Named, not read: parsing touches no secret (the file is already gone here).
        assert!(matches!(&credential.secret, crate::upload::auth::Secret::File(f) if *f == secret));
        assert_eq!(
            credential.authority_host,
            "https://login.microsoftonline.com"
        );
        assert_eq!(c.azure.as_ref().unwrap().concurrency, 4);
        assert_eq!(c.hostname, "fwd-01");
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.listen[1].framing, Framing::OctetCounting);
        assert_eq!(c.listen[1].format, Format::Cef);
        assert_eq!(c.listen[1].allow.len(), 2);
        assert_eq!(c.listen[1].max_message_bytes, 131_072);
        assert_eq!(
            c.outputs,
            vec![Output::File(PathBuf::from("/var/log/tern/rows.jsonl"))]
        );
        let spool = c.spool.as_ref().unwrap();
        assert_eq!(spool.max_bytes, 10 << 30);
        assert_eq!(spool.when_full, crate::spool::WhenFull::Block);
        assert_eq!(
            spool.fsync,
            crate::spool::FsyncPolicy::Interval(std::time::Duration::from_secs(1))
        );
        assert_eq!(c.dcr.paths, vec![PathBuf::from("/etc/tern/dcr.d")]);
        assert!(!c.dcr.duplicate_cef_to_syslog);
        assert!(c.dcr.watch);
    }

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_bytes("256MiB"), Some(256 << 20));
        assert_eq!(parse_bytes("1 GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("5MB"), Some(5_000_000));
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("10 parsecs"), None);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"0.0.0.0:514\"\nport = 5\n",
        )
        .unwrap_err()
        .into_first();
        assert_eq!(err.file, "t.toml");
        assert_eq!(err.line, 4);
        assert!(
            err.message.contains("unknown key `port`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_values_name_their_line_and_key() {
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"nowhere\"\n",
        )
        .unwrap_err()
        .into_first();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("listen[0].address"), "{}", err.message);
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nallow = [\"10.0.0.0/33\"]\n",
        )
        .unwrap_err()
        .into_first();
        assert_eq!(err.line, 4);
        assert!(
            err.message.contains("listen[0].allow[0]"),
            "{}",
            err.message
        );
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"smtp\"\naddress = \"127.0.0.1:1\"\n",
        )
        .unwrap_err()
        .into_first();
        assert_eq!(err.line, 2);
        let err = Config::parse("t.toml", "hostname = \n")
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 1);
        let err = Config::parse("t.toml", "hostname = \"x\"\n")
            .unwrap_err()
            .into_first();
        assert!(err.message.contains("no [[listen]]"));
    }
}
