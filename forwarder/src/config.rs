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

/// A configuration error that names where it is.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub message: String,
}

/// Every problem of a configuration, in file order (never empty).
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The first problem in file order.
    pub fn into_first(self) -> ConfigError {
        self.0.into_iter().next().unwrap_or(ConfigError {
            file: String::new(),
            line: 0,
            message: "invalid configuration".to_owned(),
        })
    }
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The whole file's sections. Read section by section (and entry by entry for `[[listen]]`,
/// `[[output]]` and `[[destination]]`) by [`raw_config`], so that a problem in one does not
/// hide the problems of the others.
#[derive(Debug, Default)]
struct RawConfig {
    hostname: Option<String>,
    /// With each entry's index in the file (a failed entry leaves a gap).
    listen: Vec<(usize, RawListen)>,
    /// Whether the file gives `listen` entries at all (each may have failed on its own).
    listen_given: bool,
    dcr: Option<RawDcr>,
    azure: Option<RawAzure>,
    destination: Vec<(usize, RawDestination)>,
    output: Vec<(usize, RawOutput)>,
    spool: Option<RawSpool>,
    files: Option<RawFiles>,
    metrics: Option<RawMetrics>,
    heartbeat: Option<RawHeartbeat>,
    /// `[azure.auth.<name>]` tables: named credentials, with their spans.
    named_auth: Vec<(String, RawAzureAuth, std::ops::Range<usize>)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFiles {
    checkpoint_path: Option<String>,
    max_record_bytes: Option<Spanned<usize>>,
    start_at: Option<Spanned<String>>,
    partial_flush_ms: Option<u64>,
    /// The only folders log files may be read from (by their real path).
    allowed_roots: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[files]`: how the log files of DCR `logFiles` sources are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    /// Where each file's position is kept (default: beside the spool, else
    /// /var/lib/tern/file-checkpoints.json).
    pub checkpoint_path: PathBuf,
    /// Longer records are cut to this and counted.
    pub max_record_bytes: usize,
    /// Files present when Tern first sees them at start without a checkpoint: read from the
    /// beginning (`true`) or only what is appended (`false`, the default, as `tail -F`).
    pub start_at_beginning: bool,
    /// A last line without its newline (or an open multi-line record) is sent after this.
    pub partial_flush: std::time::Duration,
    /// `allowed_roots`: set, a pattern outside these folders is refused when its DCR is
    /// loaded, and a file whose real path (symlinked folders resolved) is outside them is not
    /// read. `None` (the default): any folder a DCR names.
    pub allowed_roots: Option<Vec<PathBuf>>,
}

impl Default for FilesConfig {
    fn default() -> FilesConfig {
        FilesConfig {
            checkpoint_path: PathBuf::from("/var/lib/tern/file-checkpoints.json"),
            max_record_bytes: 64 * 1024,
            start_at_beginning: false,
            partial_flush: std::time::Duration::from_secs(5),
            allowed_roots: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    protocol: Spanned<String>,
    address: Spanned<String>,
    framing: Option<Spanned<String>>,
    max_message_bytes: Option<Spanned<usize>>,
    format: Option<Spanned<String>>,
    /// Per-sender formats: `{ "10.1.0.0/16" = "meraki" }`.
    #[serde(default)]
    sender_formats: std::collections::BTreeMap<String, Spanned<String>>,
    /// The collection DCRs (by name) this listener's events go through (default: all).
    dcrs: Option<Spanned<Vec<String>>>,
    /// Per-sender DCRs: `{ "10.1.0.0/16" = ["customer-a"] }`, most specific network first.
    #[serde(default)]
    sender_dcrs: std::collections::BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    tls: Option<Spanned<RawTls>>,
    /// UDP: `SO_RCVBUF` in bytes.
    receive_buffer_bytes: Option<usize>,
    /// UDP: sockets sharing the address with `SO_REUSEPORT` (default: one per core).
    sockets: Option<Spanned<usize>>,
    /// TCP: close a connection idle this long.
    idle_timeout_seconds: Option<u64>,
    /// TCP: connections served at once; more wait in the kernel's backlog.
    max_connections: Option<Spanned<usize>>,
    /// TCP: connections one address (an IPv6 /64) may have open at once.
    max_connections_per_source: Option<Spanned<usize>>,
    /// TCP: a frame must be complete this long after its first byte.
    frame_timeout_seconds: Option<Spanned<u64>>,
    /// TCP: bytes all connections' read buffers may take together (`"64MiB"`).
    buffer_budget: Option<Spanned<String>>,
    /// Put Cisco ISE/ACS multi-part messages back together on this listener.
    reassemble: Option<bool>,
    /// Bytes this listener's reassembly may hold (`"16MiB"`).
    reassembly_max_bytes: Option<Spanned<String>>,
    /// The zone of device timestamps that carry none (`UTC`, `local`, `+02:00`, an IANA name).
    timezone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: String,
    key: String,
    client_ca: Option<String>,
    min_version: Option<Spanned<String>>,
    /// Revoked client certificates (PEM CRLs), with `client_ca`.
    crl: Option<String>,
    /// Client certificates accepted, by subject, common name or DNS name, with `client_ca`.
    allowed_names: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDcr {
    paths: Option<Vec<toml::Spanned<String>>>,
    watch: Option<bool>,
    duplicate_cef_to_syslog: Option<bool>,
    /// DCRs from Azure Resource Manager.
    #[serde(default)]
    azure: Vec<Spanned<RawDcrAzure>>,
    /// Seconds between polls of Azure for changed DCRs (default 300).
    poll_interval: Option<Spanned<u64>>,
    /// Where the last good copies of DCRs from Azure are kept.
    cache_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDcrAzure {
    /// A DCR's resource id.
    id: Option<String>,
    /// A VM's or Arc machine's resource id: the DCRs associated with it.
    associated_with: Option<String>,
    /// A named credential (default: `[azure.auth]`).
    auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAzure {
    cloud: Option<Spanned<String>>,
    auth: Option<RawAzureAuth>,
    upload: Option<RawAzureUpload>,
    /// The Azure Resource Manager endpoint (default: the cloud's).
    resource_manager: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAzureAuth {
    method: Spanned<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<String>,
    certificate_file: Option<String>,
    authority_host: Option<String>,
    /// managed-identity: a user-assigned identity by object id or ARM resource id
    /// (`client_id` picks one by client id).
    object_id: Option<String>,
    resource_id: Option<String>,
    /// managed-identity and azure-arc: the token endpoint (IMDS or HIMDS) when not the
    /// platform's own (tests, unusual set-ups).
    identity_endpoint: Option<String>,
    /// azure-arc: the folder the challenge key files must be in.
    arc_key_dir: Option<String>,
    /// workload-identity: the projected service-account token.
    federated_token_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAzureUpload {
    concurrency: Option<usize>,
    /// Where rows the API refuses on their own (400/413) are kept, as JSON lines.
    dead_letter_path: Option<String>,
    /// Per target, how much compressed data may wait in memory while its workspace is slow
    /// or failing (`"256MiB"`), before the target holds back the listeners.
    max_queue: Option<Spanned<String>>,
    proxy: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    /// `fast` (default) or `small`: CPU against upload and spool bytes.
    compression: Option<Spanned<String>>,
    /// The first wait before a retry, doubled per failure up to `retry_cap_ms` (with jitter);
    /// a `Retry-After` from the service takes precedence.
    retry_base_ms: Option<u64>,
    retry_cap_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    name: String,
    endpoint: Spanned<String>,
    dcr_immutable_id: String,
    streams: Spanned<toml::Table>,
    /// The workspace (ARM resource id) this destination writes; without it, the destination
    /// takes its tables' routes from every workspace.
    workspace: Option<String>,
    /// A named credential, `[azure.auth.<name>]` (default: `[azure.auth]`).
    auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    kind: Spanned<String>,
    path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpool {
    dir: Option<String>,
    max_bytes: Option<Spanned<toml::Value>>,
    when_full: Option<Spanned<String>>,
    /// `always`, `interval` (every `fsync_interval`, default 1 s) or `never`.
    fsync: Option<Spanned<String>>,
    fsync_interval_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    address: Option<Spanned<String>>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeartbeat {
    interval: Option<Spanned<u64>>,
}

/// A transport a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Udp,
    Tcp,
    /// RFC 5425: RFC 6587 syslog over TLS.
    Tls,
    /// RELP (rsyslog's `omrelp`): TCP with acknowledgements, sent once rows are spooled;
    /// over TLS when the listener has a `tls` table.
    Relp,
    Unix,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Tls => "tls",
            Protocol::Relp => "relp",
            Protocol::Unix => "unix",
        }
    }
}

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Inet(SocketAddr),
    Path(PathBuf),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Inet(a) => a.fmt(f),
            Address::Path(p) => p.display().fmt(f),
        }
    }
}

/// One `[[listen]]` section, checked.
#[derive(Debug, Clone)]
pub struct Listen {
    pub protocol: Protocol,
    pub address: Address,
    pub framing: Framing,
    pub max_message_bytes: usize,
    pub format: Format,
    /// Formats pinned per sender network, most specific first; senders in none of them get
    /// [`Listen::format`]. For devices whose messages are not self-describing (Meraki) that
    /// share a listener with others.
    pub sender_formats: std::sync::Arc<[(IpNet, Format)]>,
    /// `dcrs`: the index of its set of collection DCRs in `[dcr]`'s scopes
    /// (`DcrConfig::scopes`); `None`: every collection DCR.
    pub scope: Option<usize>,
    /// `sender_dcrs`: scopes per sender network, longest prefix first.
    pub sender_scopes: std::sync::Arc<[(IpNet, usize)]>,
    /// Senders allowed; empty means everyone.
    pub allow: Vec<IpNet>,
    pub receive_buffer_bytes: Option<usize>,
    pub sockets: usize,
    pub idle_timeout: std::time::Duration,
    pub max_connections: usize,
    /// Connections one source may hold: an IPv4 address or an IPv6 /64 (one host's usual
    /// share), so one sender cannot take every slot.
    pub max_connections_per_source: usize,
    /// A frame not complete this long after its first byte ends the connection (counted as
    /// `dropped{reason="frame_timeout"}`): a byte now and then cannot hold a slot forever.
    pub frame_timeout: std::time::Duration,
    /// Bytes the read buffers of all the listener's connections may take; a connection that
    /// needs more waits (is not read) until others give some back.
    pub buffer_budget_bytes: usize,
    /// Reassembly of multi-part messages (`reassemble = true`): the bytes it may hold.
    pub reassembly_max_bytes: Option<usize>,
    /// TLS (`protocol = "tls"`, or RELP over TLS).
    pub tls: Option<TlsFiles>,
    /// The zone zone-less device timestamps are read in (UTC unless set).
    pub timezone: crate::timezone::Zone,
}

/// The lowest TLS version a listener accepts (never below 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

/// A listener's `tls = { cert, key, client_ca, min_version }`: PEM files, read when the
/// listener starts and again when they change or on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate chain, leaf first.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA certificates that client certificates must chain to; set: mutual TLS, required.
    pub client_ca: Option<PathBuf>,
    pub min_version: TlsVersion,
    /// Certificate revocation lists for client certificates (PEM), checked in the handshake.
    pub crl: Option<PathBuf>,
    /// The client certificates accepted among those the CA signed
    /// ([`crate::listen::tls::name_allowed`]); empty: all of them.
    pub allowed_names: Vec<String>,
}

/// The `format` values, for error messages.
pub const FORMAT_NAMES: &str = "auto, rfc3164, rfc5424, cef, leef, cisco_asa, text, or a vendor: checkpoint, \
ciphertrust, fortinet, juniper, mcafee, meraki, nxlog, paloalto, sophos, zeek";

/// A CIDR (`10.0.0.0/8`) or a single address (`192.0.2.1`, a /32 or /128).
fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// The format for messages from `sender`: its network's pin (`pins` most specific first),
/// else `default`.
pub fn pinned_format(
    default: Format,
    pins: &[(IpNet, Format)],
    sender: Option<std::net::IpAddr>,
) -> Format {
    match sender {
        Some(ip) if !pins.is_empty() => pins
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map_or(default, |(_, f)| *f),
        _ => default,
    }
}

impl Listen {
    /// A name for logs and metric labels: `tcp://127.0.0.1:5514`.
    pub fn name(&self) -> String {
        format!("{}://{}", self.protocol.name(), self.address)
    }

    fn default_for(protocol: Protocol, address: Address) -> Listen {
        Listen {
            protocol,
            address,
            framing: Framing::Auto,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            format: Format::Auto,
            sender_formats: std::sync::Arc::new([]),
            scope: None,
            sender_scopes: std::sync::Arc::new([]),
            allow: Vec::new(),
            receive_buffer_bytes: None,
            sockets: default_socket_count(),
            idle_timeout: std::time::Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECONDS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: DEFAULT_MAX_CONNECTIONS / 4,
            frame_timeout: std::time::Duration::from_secs(DEFAULT_FRAME_TIMEOUT_SECONDS),
            buffer_budget_bytes: DEFAULT_BUFFER_BUDGET_BYTES,
            reassembly_max_bytes: None,
            tls: None,
            timezone: crate::timezone::Zone::default(),
        }
    }
}

/// Where rows go locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Stdout => f.write_str("stdout"),
            Output::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

impl Output {
    /// What `tern run` would fail on when it opens this output, so that `tern check` says so
    /// first: a file output whose folder does not exist.
    pub fn problem(&self) -> Option<String> {
        let Output::File(path) = self else {
            return None;
        };
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| std::path::Path::new("."));
        (!folder.is_dir()).then(|| {
            format!(
                "output file {}: the folder {} does not exist",
                path.display(),
                folder.display()
            )
        })
    }
}

pub use tern_core::dcr::binding::Destination;

/// `[azure]`: how to reach Azure.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    pub cloud: crate::upload::auth::Cloud,
    /// `None` without an `[azure.auth]` section.
    pub credential: Option<crate::upload::auth::Credential>,
    /// `[azure.auth.<name>]`: credentials a `[[destination]]` names with `auth` (other
    /// tenants' apps), in file order.
    pub credentials: Vec<(String, crate::upload::auth::Credential)>,
    /// Azure Resource Manager (`resource_manager`, else the cloud's), for DCRs from Azure.
    pub resource_manager: String,
    pub concurrency: usize,
    /// Per target, gzip bytes that may wait for a request slot.
    pub max_queue_bytes: usize,
    pub dead_letter: PathBuf,
    /// Proxy (from `proxy` or `HTTPS_PROXY`) and extra trust roots.
    pub http: crate::upload::HttpOptions,
    pub compression: crate::upload::batch::Compression,
    pub retry: crate::upload::sender::RetryPolicy,
}

/// The retry backoff of `[azure.upload]`: `retry_base_ms` (default 500, 10 to 60,000) and
/// `retry_cap_ms` (default 60,000, from the base to 600,000). Out-of-range values are clamped:
/// a base of 0 would retry in a hot loop, and an hour's cap would hide a recovered workspace.
fn retry_policy(upload: Option<&RawAzureUpload>) -> crate::upload::sender::RetryPolicy {
    let default = crate::upload::sender::RetryPolicy::default();
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let base = upload
        .and_then(|u| u.retry_base_ms)
        .unwrap_or(millis(default.base))
        .clamp(10, 60_000);
    let cap = upload
        .and_then(|u| u.retry_cap_ms)
        .unwrap_or(millis(default.cap))
        .clamp(base, 600_000);
    crate::upload::sender::RetryPolicy {
        base: std::time::Duration::from_millis(base),
        cap: std::time::Duration::from_millis(cap),
        configuration_wait: default.configuration_wait,
    }
}

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
            let key = |name: &str| format!("listen[{i}].{name}");
            let checked = (|| -> Result<Listen, ConfigError> {
                let protocol = match l.protocol.get_ref().as_str() {
                    "udp" => Protocol::Udp,
                    "tcp" => Protocol::Tcp,
                    "unix" => Protocol::Unix,
                    "relp" => Protocol::Relp,
                    "tls" => Protocol::Tls,
                    other => {
                        return Err(at(
                            l.protocol.span(),
                            format!(
                                "{}: unknown protocol `{other}`: use udp, tcp, tls, relp or unix",
                                key("protocol")
                            ),
                        ));
                    }
                };
                let address = match protocol {
                Protocol::Unix => Address::Path(PathBuf::from(l.address.get_ref())),
                _ => Address::Inet(l.address.get_ref().parse().map_err(|_| {
                    at(
                        l.address.span(),
                        format!(
                            "{}: `{}` is not an address and port such as 0.0.0.0:514 or [::]:514",
                            key("address"),
                            l.address.get_ref()
                        ),
                    )
                })?),
            };
                let mut checked = Listen::default_for(protocol, address);
                if let Some(framing) = &l.framing {
                    checked.framing = match framing.get_ref().as_str() {
                        "auto" => Framing::Auto,
                        "octet-counting" => Framing::OctetCounting,
                        "newline" => Framing::NonTransparent,
                        other => {
                            return Err(at(
                                framing.span(),
                                format!(
                                    "{}: unknown framing `{other}`: use auto, octet-counting or newline",
                                    key("framing")
                                ),
                            ));
                        }
                    };
                }
                if let Some(max) = &l.max_message_bytes {
                    if !(64..=16 * 1024 * 1024).contains(max.get_ref()) {
                        return Err(at(
                            max.span(),
                            format!(
                                "{}: must be between 64 and 16777216",
                                key("max_message_bytes")
                            ),
                        ));
                    }
                    checked.max_message_bytes = *max.get_ref();
                }
                if let Some(zone) = &l.timezone {
                    checked.timezone = crate::timezone::Zone::parse(zone.get_ref())
                        .map_err(|e| at(zone.span(), format!("{}: {e}", key("timezone"))))?;
                }
                if let Some(format) = &l.format {
                    checked.format = Format::from_name(format.get_ref()).ok_or_else(|| {
                        at(
                            format.span(),
                            format!(
                                "{}: unknown format `{}`: use {}",
                                key("format"),
                                format.get_ref(),
                                FORMAT_NAMES
                            ),
                        )
                    })?;
                }
                let mut sender_formats = Vec::new();
                for (cidr, format) in &l.sender_formats {
                    let net = parse_network(cidr).ok_or_else(|| {
                        at(
                            format.span(),
                            format!(
                                "{}: `{cidr}` is not an address or CIDR such as 10.0.0.0/8",
                                key("sender_formats")
                            ),
                        )
                    })?;
                    let pinned = Format::from_name(format.get_ref()).ok_or_else(|| {
                        at(
                            format.span(),
                            format!(
                                "{}.\"{cidr}\": unknown format `{}`: use {}",
                                key("sender_formats"),
                                format.get_ref(),
                                FORMAT_NAMES
                            ),
                        )
                    })?;
                    sender_formats.push((net, pinned));
                }
                // Most specific network first: the first match is the longest prefix.
                sender_formats.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
                checked.sender_formats = sender_formats.into();
                let mut scope_of = |names: &Spanned<Vec<String>>, what: String| {
                    let mut set: Vec<String> = names.get_ref().clone();
                    set.sort();
                    set.dedup();
                    if set.is_empty() {
                        return Err(at(
                            names.span(),
                            format!("{what}: name at least one collection DCR"),
                        ));
                    }
                    Ok(match scopes.iter().position(|s| *s == set) {
                        Some(at) => at,
                        None => {
                            scopes.push(set);
                            scopes.len() - 1
                        }
                    })
                };
                if let Some(names) = &l.dcrs {
                    checked.scope = Some(scope_of(names, key("dcrs"))?);
                }
                let mut sender_scopes = Vec::new();
                for (cidr, names) in &l.sender_dcrs {
                    let net = parse_network(cidr).ok_or_else(|| {
                        at(
                            names.span(),
                            format!(
                                "{}: `{cidr}` is not an address or CIDR such as 10.0.0.0/8",
                                key("sender_dcrs")
                            ),
                        )
                    })?;
                    sender_scopes.push((
                        net,
                        scope_of(names, format!("{}.\"{cidr}\"", key("sender_dcrs")))?,
                    ));
                }
                sender_scopes.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
                checked.sender_scopes = sender_scopes.into();
                for (j, cidr) in l.allow.iter().enumerate() {
                    let text = cidr.get_ref();
                    let net = parse_network(text).ok_or_else(|| {
                    at(
                        cidr.span(),
                        format!("listen[{i}].allow[{j}]: `{text}` is not an address or CIDR such as 10.0.0.0/8"),
                    )
                })?;
                    checked.allow.push(net);
                }
                checked.tls = match (&l.tls, protocol) {
                    (None, Protocol::Tls) => {
                        return Err(at(
                            l.protocol.span(),
                            format!(
                                "listen[{i}]: a TLS listener needs `tls = {{ cert = \"...\", key = \"...\" }}`"
                            ),
                        ));
                    }
                    (None, _) => None,
                    (Some(tls), Protocol::Tls | Protocol::Relp) => {
                        let raw = tls.get_ref();
                        let min_version = match raw
                            .min_version
                            .as_ref()
                            .map(|v| (v, v.get_ref().as_str()))
                        {
                            None | Some((_, "1.2")) => TlsVersion::V1_2,
                            Some((_, "1.3")) => TlsVersion::V1_3,
                            Some((v, other)) => {
                                return Err(at(
                                    v.span(),
                                    format!(
                                        "{}: `{other}`: use \"1.2\" or \"1.3\" (older versions are not offered)",
                                        key("tls.min_version")
                                    ),
                                ));
                            }
                        };
                        if raw.client_ca.is_none()
                            && (raw.crl.is_some() || raw.allowed_names.is_some())
                        {
                            return Err(at(
                                tls.span(),
                                format!(
                                    "{}: `crl` and `allowed_names` check client certificates: they need `client_ca`",
                                    key("tls")
                                ),
                            ));
                        }
                        Some(TlsFiles {
                            cert: PathBuf::from(&raw.cert),
                            key: PathBuf::from(&raw.key),
                            client_ca: raw.client_ca.as_ref().map(PathBuf::from),
                            min_version,
                            crl: raw.crl.as_ref().map(PathBuf::from),
                            allowed_names: raw.allowed_names.clone().unwrap_or_default(),
                        })
                    }
                    (Some(tls), _) => {
                        return Err(at(
                            tls.span(),
                            format!(
                                "{}: only `protocol = \"tls\"` and `\"relp\"` listeners take TLS settings (for syslog over TLS use protocol \"tls\")",
                                key("tls")
                            ),
                        ));
                    }
                };
                // Keys a listener of this protocol would ignore are errors, not silent no-ops: an
                // `allow` list on a unix socket would protect nothing.
                let stream = matches!(protocol, Protocol::Tcp | Protocol::Tls | Protocol::Relp);
                let only_for = [
                    (
                        "idle_timeout_seconds",
                        l.idle_timeout_seconds.is_some(),
                        stream,
                        "tcp, tls and relp",
                    ),
                    (
                        "max_connections",
                        l.max_connections.is_some(),
                        stream,
                        "tcp, tls and relp",
                    ),
                    (
                        "max_connections_per_source",
                        l.max_connections_per_source.is_some(),
                        stream,
                        "tcp, tls and relp",
                    ),
                    (
                        "frame_timeout_seconds",
                        l.frame_timeout_seconds.is_some(),
                        stream,
                        "tcp, tls and relp",
                    ),
                    (
                        "buffer_budget",
                        l.buffer_budget.is_some(),
                        stream,
                        "tcp, tls and relp",
                    ),
                    (
                        "receive_buffer_bytes",
                        l.receive_buffer_bytes.is_some(),
                        protocol == Protocol::Udp,
                        "udp",
                    ),
                    (
                        "sockets",
                        l.sockets.is_some(),
                        protocol == Protocol::Udp,
                        "udp",
                    ),
                    (
                        "allow",
                        !l.allow.is_empty(),
                        protocol != Protocol::Unix,
                        "network",
                    ),
                    (
                        "sender_formats",
                        !l.sender_formats.is_empty(),
                        protocol != Protocol::Unix,
                        "network",
                    ),
                    (
                        "sender_dcrs",
                        !l.sender_dcrs.is_empty(),
                        protocol != Protocol::Unix,
                        "network",
                    ),
                ];
                if let Some((name, _, _, kinds)) =
                    only_for.iter().find(|(_, given, fits, _)| *given && !fits)
                {
                    return Err(at(
                        l.protocol.span(),
                        format!(
                            "{}: only {kinds} listeners take it (this one is {})",
                            key(name),
                            protocol.name()
                        ),
                    ));
                }
                checked.receive_buffer_bytes = l.receive_buffer_bytes;
                if let Some(sockets) = &l.sockets {
                    if !(1..=256).contains(sockets.get_ref()) {
                        return Err(at(
                            sockets.span(),
                            format!("{}: must be between 1 and 256", key("sockets")),
                        ));
                    }
                    checked.sockets = *sockets.get_ref();
                }
                if let Some(idle) = l.idle_timeout_seconds {
                    // 1 s to a day: a deadline far beyond overflowed the clock's arithmetic.
                    checked.idle_timeout = std::time::Duration::from_secs(idle.clamp(1, 86_400));
                }
                if let Some(max) = &l.max_connections {
                    if !(1..=MAX_CONNECTIONS_LIMIT).contains(max.get_ref()) {
                        return Err(at(
                            max.span(),
                            format!(
                                "{}: must be between 1 and {MAX_CONNECTIONS_LIMIT}",
                                key("max_connections")
                            ),
                        ));
                    }
                    checked.max_connections = *max.get_ref();
                }
                // A quarter of the slots per source unless set: another sender always gets in.
                checked.max_connections_per_source = (checked.max_connections / 4).max(1);
                if let Some(max) = &l.max_connections_per_source {
                    if !(1..=checked.max_connections).contains(max.get_ref()) {
                        return Err(at(
                            max.span(),
                            format!(
                                "{}: must be between 1 and max_connections ({})",
                                key("max_connections_per_source"),
                                checked.max_connections
                            ),
                        ));
                    }
                    checked.max_connections_per_source = *max.get_ref();
                }
                if let Some(seconds) = &l.frame_timeout_seconds {
                    if !(1..=3600).contains(seconds.get_ref()) {
                        return Err(at(
                            seconds.span(),
                            format!(
                                "{}: must be between 1 and 3600",
                                key("frame_timeout_seconds")
                            ),
                        ));
                    }
                    checked.frame_timeout = std::time::Duration::from_secs(*seconds.get_ref());
                }
                if let Some(text) = &l.buffer_budget {
                    checked.buffer_budget_bytes = parse_bytes(text.get_ref())
                        .filter(|b| *b >= 1 << 20)
                        .ok_or_else(|| {
                            at(
                                text.span(),
                                format!(
                                    "{}: `{}` is not a size of at least 1MiB (e.g. \"64MiB\")",
                                    key("buffer_budget"),
                                    text.get_ref()
                                ),
                            )
                        })?;
                }
                if l.reassemble == Some(true) && protocol == Protocol::Relp {
                    // RELP answers a frame once its rows are spooled; a segment held in memory has
                    // none yet, and answering it would promise what a crash can lose.
                    return Err(at(
                        l.protocol.span(),
                        format!(
                            "{}: not on a relp listener (a held segment cannot be acknowledged); \
                         send ISE to a tcp, tls or udp listener",
                            key("reassemble")
                        ),
                    ));
                }
                checked.reassembly_max_bytes = match (l.reassemble, &l.reassembly_max_bytes) {
                    (Some(true), None) => Some(crate::reassembly::DEFAULT_BUDGET_BYTES),
                    (Some(true), Some(text)) => Some(
                        parse_bytes(text.get_ref())
                            .filter(|b| *b >= 64 << 10)
                            .ok_or_else(|| {
                                at(
                                    text.span(),
                                    format!(
                                        "{}: `{}` is not a size of at least 64KiB (e.g. \"16MiB\")",
                                        key("reassembly_max_bytes"),
                                        text.get_ref()
                                    ),
                                )
                            })?,
                    ),
                    (_, Some(text)) => {
                        return Err(at(
                            text.span(),
                            format!(
                                "{}: only with `reassemble = true`",
                                key("reassembly_max_bytes")
                            ),
                        ));
                    }
                    (_, None) => None,
                };
                Ok(checked)
            })();
            match checked {
                Ok(checked) => listen.push(checked),
                Err(e) => errors.push(e),
            }
        }

        let mut outputs = Vec::new();
        for (i, o) in &raw.output {
            let i = *i;
            let output = (|| -> Result<Output, ConfigError> {
                Ok(match (o.kind.get_ref().as_str(), &o.path) {
                    ("stdout", None) => Output::Stdout,
                    ("stdout", Some(path)) => {
                        return Err(at(
                            path.span(),
                            format!("output[{i}].path: a stdout output takes no path"),
                        ));
                    }
                    ("file", Some(path)) => Output::File(PathBuf::from(path.get_ref())),
                    ("file", None) => {
                        return Err(at(
                            o.kind.span(),
                            format!("output[{i}]: a file output needs `path`"),
                        ));
                    }
                    (other, _) => {
                        return Err(at(
                            o.kind.span(),
                            format!(
                                "output[{i}].kind: unknown output `{other}`: use stdout or file"
                            ),
                        ));
                    }
                })
            })();
            match output {
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
                scopes: Vec::new(),
                azure: Vec::new(),
                poll_interval: std::time::Duration::from_secs(300),
                cache_dir: d.cache_dir.as_ref().map(PathBuf::from),
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

        let azure = (|| -> Result<Option<AzureConfig>, ConfigError> {
        Ok(match &raw.azure {
            None => None,
            Some(a) => {
                use crate::upload::auth::Cloud;
                let cloud = match a.cloud.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
                    None | Some(("public", _)) => Cloud::Public,
                    Some(("usgov", _)) => Cloud::UsGov,
                    Some(("china", _)) => Cloud::China,
                    Some((other, span)) => {
                        return Err(at(
                            span,
                            format!(
                                "azure.cloud: unknown cloud `{other}`: use public, usgov or china"
                            ),
                        ));
                    }
                };
                let credential = match &a.auth {
                    None => None,
                    Some(auth) => Some(
                        credential(auth, cloud, &|name| std::env::var(name).ok())
                            .map_err(|message| at(auth.method.span(), message))?,
                    ),
                };
                let mut credentials = Vec::new();
                for (name, auth, _) in &raw.named_auth {
                    // A named credential reads no AZURE_* variable: those are the default's.
                    let made = self::credential(auth, cloud, &|_| None).map_err(|message| {
                        at(
                            auth.method.span(),
                            message.replacen("azure.auth", &format!("azure.auth.{name}"), 1),
                        )
                    })?;
                    credentials.push((name.clone(), made));
                }

                let resource_manager = match &a.resource_manager {
                    None => cloud.resource_manager().to_owned(),
                    Some(text) => {
                        let url = text.get_ref().trim_end_matches('/');
                        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                            .iter()
                            .any(|l| url.starts_with(l));
                        if !url.starts_with("https://") && !loopback {
                            return Err(at(
                                text.span(),
                                format!(
                                    "azure.resource_manager: `{url}`: use https (plain http only on loopback, for tests)"
                                ),
                            ));
                        }
                        url.to_owned()
                    }
                };
                Some(AzureConfig {
                    cloud,
                    credential,
                    credentials,
                    resource_manager,
                    concurrency: a
                        .upload
                        .as_ref()
                        .and_then(|u| u.concurrency)
                        .unwrap_or(4)
                        .clamp(1, 64),
                    max_queue_bytes: match a.upload.as_ref().and_then(|u| u.max_queue.as_ref()) {
                        None if raw.spool.is_some() => DEFAULT_MEMORY_TIER_BYTES,
                        None => DEFAULT_MAX_QUEUE_BYTES,
                        Some(text) => parse_bytes(text.get_ref()).ok_or_else(|| {
                            at(
                                text.span(),
                                format!(
                                    "azure.upload.max_queue: `{}` is not a size (e.g. 256MiB, 1GiB)",
                                    text.get_ref()
                                ),
                            )
                        })?,
                    },
                    dead_letter: a
                        .upload
                        .as_ref()
                        .and_then(|u| u.dead_letter_path.as_ref())
                        .map_or_else(|| PathBuf::from(DEFAULT_DEAD_LETTER), PathBuf::from),
                    http: http_options(a.upload.as_ref(), &|name| std::env::var(name).ok())
                        .map_err(|(span, message)| at(span, message))?,
                    compression: match a.upload.as_ref().and_then(|u| u.compression.as_ref()) {
                        None => crate::upload::batch::Compression::default(),
                        Some(name) => crate::upload::batch::Compression::parse(name.get_ref())
                            .ok_or_else(|| {
                                at(
                                    name.span(),
                                    format!(
                                        "azure.upload.compression: `{}` is not fast or small",
                                        name.get_ref()
                                    ),
                                )
                            })?,
                    },
                    retry: retry_policy(a.upload.as_ref()),
                })
            }
        })
        })()
        .unwrap_or_else(|e| {
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

/// The sections of `root`, each deserialized on its own; a section or entry that does not
/// deserialize is reported through `report` (with its span) and left out.
fn raw_config(
    root: &toml::Spanned<toml::de::DeTable<'_>>,
    report: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> RawConfig {
    use toml::de::DeValue;
    type Item<'i> = toml::Spanned<DeValue<'i>>;
    /// One value into `T`; the error names the key path within `path`.
    fn one<T: serde::de::DeserializeOwned>(
        value: &Item<'_>,
        path: &str,
        report: &mut dyn FnMut(std::ops::Range<usize>, String),
    ) -> Option<T> {
        match T::deserialize(toml::de::ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().unwrap_or_else(|| value.span());
                let key = key_path(value, span.start, path);
                report(span, format!("{key}: {}", plain_message(e.message())));
                None
            }
        }
    }
    /// An array of tables, entry by entry, each with its index.
    fn entries<T: serde::de::DeserializeOwned>(
        value: &Item<'_>,
        name: &str,
        report: &mut dyn FnMut(std::ops::Range<usize>, String),
    ) -> Vec<(usize, T)> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| Some((i, one(item, &format!("{name}[{i}]"), report)?)))
                .collect(),
            _ => {
                report(
                    value.span(),
                    format!("{name}: must be a list of tables, written [[{name}]]"),
                );
                Vec::new()
            }
        }
    }
    let mut raw = RawConfig::default();
    for (key, value) in root.get_ref() {
        let name: &str = key.get_ref();
        match name {
            "hostname" => raw.hostname = one(value, name, report),
            "listen" => {
                raw.listen_given = value.get_ref().as_array().is_none_or(|a| !a.is_empty());
                raw.listen = entries(value, name, report);
            }
            "output" => raw.output = entries(value, name, report),
            "destination" => raw.destination = entries(value, name, report),
            "dcr" => raw.dcr = one(value, name, report),
            "azure" => {
                // `[azure.auth.<name>]` subtables are named credentials; the other keys of
                // `[azure.auth]` are the default one.
                let (azure, named) = split_named_auth(value);
                raw.azure = one(&azure, name, report);
                for (credential, item) in named {
                    let path = format!("azure.auth.{credential}");
                    if let Some(auth) = one(&item, &path, report) {
                        raw.named_auth.push((credential, auth, item.span()));
                    }
                }
            }
            "spool" => raw.spool = one(value, name, report),
            "files" => raw.files = one(value, name, report),
            "metrics" => raw.metrics = one(value, name, report),
            "heartbeat" => raw.heartbeat = one(value, name, report),
            other => report(
                key.span(),
                format!(
                    "{other}: unknown section or key; the known ones are hostname, [[listen]], \
                     [[output]], [metrics], [dcr], [azure], [[destination]], [spool], [files] \
                     and [heartbeat]"
                ),
            ),
        }
    }
    raw
}

/// `[azure]` without the tables inside `[azure.auth]` (dropping `auth` when nothing else is in
/// it), and those tables by name.
fn split_named_auth<'i>(
    azure: &toml::Spanned<toml::de::DeValue<'i>>,
) -> (
    toml::Spanned<toml::de::DeValue<'i>>,
    Vec<(String, toml::Spanned<toml::de::DeValue<'i>>)>,
) {
    use toml::de::{DeTable, DeValue};
    let DeValue::Table(table) = azure.get_ref() else {
        return (azure.clone(), Vec::new());
    };
    let mut named = Vec::new();
    let mut rebuilt = DeTable::new();
    for (key, value) in table {
        let is_auth: &str = key.get_ref();
        match value.get_ref() {
            DeValue::Table(auth) if is_auth == "auth" => {
                let mut default = DeTable::new();
                for (name, item) in auth {
                    if matches!(item.get_ref(), DeValue::Table(_)) {
                        let name: &str = name.get_ref();
                        named.push((name.to_owned(), item.clone()));
                    } else {
                        default.insert(name.clone(), item.clone());
                    }
                }
                if !default.is_empty() {
                    rebuilt.insert(
                        key.clone(),
                        toml::Spanned::new(value.span(), DeValue::Table(default)),
                    );
                }
            }
            _ => {
                rebuilt.insert(key.clone(), value.clone());
            }
        }
    }
    (
        toml::Spanned::new(azure.span(), DeValue::Table(rebuilt)),
        named,
    )
}

/// The dotted path (`listen[0].max_connections`) of the innermost key of `value` whose key or
/// value holds `offset`, below `path`.
fn key_path(value: &toml::Spanned<toml::de::DeValue<'_>>, offset: usize, path: &str) -> String {
    use toml::de::DeValue;
    let inside = |span: std::ops::Range<usize>| span.contains(&offset);
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, item) in table {
                if inside(key.span()) || inside(item.span()) {
                    let name: &str = key.get_ref();
                    return key_path(item, offset, &format!("{path}.{name}"));
                }
            }
            path.to_owned()
        }
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .find(|(_, item)| inside(item.span()))
            .map_or_else(
                || path.to_owned(),
                |(i, item)| key_path(item, offset, &format!("{path}[{i}]")),
            ),
        _ => path.to_owned(),
    }
}

/// A deserializer's message in the terms of the file: TOML types, not Rust's.
fn plain_message(message: &str) -> String {
    let mut text = message.trim_end().to_owned();
    for (rust, plain) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a table"),
        ("unknown field", "unknown key"),
        ("missing field", "missing key"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: sequence", "invalid type: list"),
    ] {
        text = text.replace(rust, plain);
    }
    text
}

/// `[spool]`; errors carry the key's span.
fn spool_config(
    raw: &RawSpool,
) -> Result<crate::spool::SpoolConfig, (std::ops::Range<usize>, String)> {
    use crate::spool::{FsyncPolicy, SpoolConfig, WhenFull};
    let max_bytes = match &raw.max_bytes {
        None => 10 << 30,
        Some(value) => match value.get_ref() {
            toml::Value::Integer(n) => u64::try_from(*n).ok(),
            toml::Value::String(text) => parse_bytes(text).map(|n| n as u64),
            _ => None,
        }
        .filter(|&n| n >= 1 << 20)
        .ok_or_else(|| {
            (
                value.span(),
                "spool.max_bytes: not a size of at least 1MiB (e.g. \"10GiB\")".to_owned(),
            )
        })?,
    };
    let when_full = match raw
        .when_full
        .as_ref()
        .map(|w| (w.get_ref().as_str(), w.span()))
    {
        None | Some(("block", _)) => WhenFull::Block,
        Some(("drop-oldest", _)) => WhenFull::DropOldest,
        Some((other, span)) => {
            return Err((
                span,
                format!("spool.when_full: `{other}`: use block or drop-oldest"),
            ));
        }
    };
    // 10 ms to a minute: the spool's durability window (docs/hardening.md).
    let interval =
        std::time::Duration::from_millis(raw.fsync_interval_ms.unwrap_or(1000).clamp(10, 60_000));
    let fsync = match raw.fsync.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
        None | Some(("interval", _)) => FsyncPolicy::Interval(interval),
        Some(("always", _)) => FsyncPolicy::Always,
        Some(("never", _)) => FsyncPolicy::Never,
        Some((other, span)) => {
            return Err((
                span,
                format!("spool.fsync: `{other}`: use always, interval or never"),
            ));
        }
    };
    Ok(SpoolConfig {
        dir: PathBuf::from(raw.dir.as_deref().unwrap_or("/var/lib/tern/spool")),
        max_bytes,
        when_full,
        fsync,
    })
}

/// The credential of `[azure.auth]`. `env` reads the environment variables the Azure SDKs
/// honour (`AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`, `IDENTITY_ENDPOINT`), which fill in
/// what the file leaves out; the file wins when it gives both.
fn credential(
    auth: &RawAzureAuth,
    cloud: crate::upload::auth::Cloud,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::upload::auth::Credential, String> {
    use crate::upload::auth::{
        AzureArc, ClientCertificate, ClientSecret, Credential, ManagedIdentity, Secret,
        UserAssigned, WorkloadIdentity, managed_identity,
    };
    let method = auth.method.get_ref().as_str();
    let either = |value: &Option<String>, variable: &str| value.clone().or_else(|| env(variable));
    let required = |value: Option<String>, key: &str| {
        value.ok_or_else(|| format!("azure.auth: `{key}` is required for {method}"))
    };
    let authority_host = either(&auth.authority_host, "AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| cloud.authority_host().to_owned());
    if let Some(why) = crate::upload::endpoint::refusal(&authority_host) {
        return Err(format!("azure.auth.authority_host: {why}"));
    }
    let unused = |keys: &[(&str, bool)]| -> Result<(), String> {
        match keys.iter().find(|(_, given)| *given) {
            Some((key, _)) => Err(format!("azure.auth.{key}: not used by {method}")),
            None => Ok(()),
        }
    };
    let identity_keys = [
        ("object_id", auth.object_id.is_some()),
        ("resource_id", auth.resource_id.is_some()),
        ("identity_endpoint", auth.identity_endpoint.is_some()),
        ("arc_key_dir", auth.arc_key_dir.is_some()),
    ];
    match method {
        "client-secret" => {
            unused(&identity_keys)?;
            // The file is read when a token is asked for (and checked before the daemon
            // starts), not here: parsing reads no secret. It never appears in a message.
            let secret = match &auth.client_secret_file {
                Some(file) => Secret::File(PathBuf::from(file)),
                None => Secret::Value(env("AZURE_CLIENT_SECRET").ok_or(
                    "azure.auth: `client_secret_file` (or the AZURE_CLIENT_SECRET environment variable) is required for client-secret",
                )?),
            };
            Ok(Credential::ClientSecret(ClientSecret {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                secret,
                scope: cloud.scope().to_owned(),
            }))
        }
        "client-certificate" => {
            unused(&identity_keys)?;
            let file = required(auth.certificate_file.clone(), "certificate_file")?;
            Ok(Credential::ClientCertificate(ClientCertificate {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                scope: cloud.scope().to_owned(),
                certificate_file: PathBuf::from(file),
            }))
        }
        "workload-identity" => {
            unused(&identity_keys)?;
            let token_file = required(
                either(&auth.federated_token_file, "AZURE_FEDERATED_TOKEN_FILE"),
                "federated_token_file",
            )?;
            Ok(Credential::WorkloadIdentity(WorkloadIdentity {
                authority_host,
                tenant_id: required(either(&auth.tenant_id, "AZURE_TENANT_ID"), "tenant_id")?,
                client_id: required(either(&auth.client_id, "AZURE_CLIENT_ID"), "client_id")?,
                scope: cloud.scope().to_owned(),
                token_file: PathBuf::from(token_file),
            }))
        }
        "managed-identity" => {
            unused(&[("arc_key_dir", auth.arc_key_dir.is_some())])?;
            let ids = [
                auth.client_id.clone().map(UserAssigned::ClientId),
                auth.object_id.clone().map(UserAssigned::ObjectId),
                auth.resource_id.clone().map(UserAssigned::ResourceId),
            ];
            let mut given = ids.into_iter().flatten();
            let user_assigned = given.next();
            if given.next().is_some() {
                return Err(
                    "azure.auth: give one of client_id, object_id or resource_id for a user-assigned identity"
                        .into(),
                );
            }
            Ok(Credential::ManagedIdentity(ManagedIdentity {
                endpoint: auth
                    .identity_endpoint
                    .clone()
                    .unwrap_or_else(|| managed_identity::IMDS_ENDPOINT.to_owned()),
                resource: cloud.resource().to_owned(),
                user_assigned,
            }))
        }
        "azure-arc" => {
            unused(&[
                ("client_id", auth.client_id.is_some()),
                ("object_id", auth.object_id.is_some()),
                ("resource_id", auth.resource_id.is_some()),
            ])?;
            Ok(Credential::AzureArc(AzureArc {
                endpoint: either(&auth.identity_endpoint, "IDENTITY_ENDPOINT")
                    .unwrap_or_else(|| managed_identity::ARC_ENDPOINT.to_owned()),
                resource: cloud.resource().to_owned(),
                key_dir: PathBuf::from(
                    auth.arc_key_dir
                        .as_deref()
                        .unwrap_or(managed_identity::ARC_KEY_DIR),
                ),
            }))
        }
        other => Err(format!(
            "azure.auth.method: unknown method `{other}`: use client-secret, client-certificate, \
             managed-identity, azure-arc or workload-identity"
        )),
    }
}

/// `[azure.upload]`'s proxy (or the environment's) and `ca_file`.
/// Errors carry the span of the key (empty for a bad proxy variable in the environment).
fn http_options(
    upload: Option<&RawAzureUpload>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::upload::HttpOptions, (std::ops::Range<usize>, String)> {
    use crate::upload::ProxyConfig;
    let proxy = match upload.and_then(|u| u.proxy.as_ref()) {
        Some(text) => Some(
            ProxyConfig::parse(text.get_ref())
                .map_err(|e| (text.span(), format!("azure.upload.proxy: {e}")))?,
        ),
        None => match ProxyConfig::from_env(env) {
            Some((variable, text)) => Some(
                ProxyConfig::parse(&text)
                    .map_err(|e| (0..0, format!("the {variable} environment variable: {e}")))?,
            ),
            None => None,
        },
    };
    let ca_file = match upload.and_then(|u| u.ca_file.as_ref()) {
        Some(path) if !std::path::Path::new(path.get_ref()).is_file() => {
            return Err((
                path.span(),
                format!(
                    "azure.upload.ca_file: {} is not a readable file",
                    path.get_ref()
                ),
            ));
        }
        Some(path) => Some(PathBuf::from(path.get_ref())),
        None => None,
    };
    Ok(crate::upload::HttpOptions { proxy, ca_file })
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

/// `https://`, or `http://` on a loopback address (DESIGN.md: tests only).
/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_formats_and_sender_pins() {
        let c = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nformat = \"paloalto\"\n\
             sender_formats = { \"10.1.0.0/16\" = \"meraki\", \"10.1.2.0/24\" = \"fortinet\", \"192.0.2.9\" = \"cef\" }\n",
        )
        .unwrap();
        let l = &c.listen[0];
        assert_eq!(l.format, Format::Vendor(tern_parsers::Vendor::PaloAlto));
        let at = |ip: &str| pinned_format(l.format, &l.sender_formats, Some(ip.parse().unwrap()));
        assert_eq!(
            at("10.1.2.3"),
            Format::Vendor(tern_parsers::Vendor::Fortinet)
        );
        assert_eq!(at("10.1.9.9"), Format::Vendor(tern_parsers::Vendor::Meraki));
        assert_eq!(at("192.0.2.9"), Format::Cef);
        assert_eq!(at("192.0.2.10"), l.format);
        assert_eq!(pinned_format(l.format, &l.sender_formats, None), l.format);
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nsender_formats = { \"10.0.0.0/8\" = \"merakii\" }\n",
        )
        .unwrap_err().into_first();
        assert!(
            err.message.contains("listen[0].sender_formats") && err.message.contains("meraki"),
            "{}",
            err.message
        );
    }

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

    /// `[azure.auth]` with `lines`, through [`credential`] with `vars` as the environment.
    fn auth(lines: &str, vars: &[(&str, &str)]) -> Result<crate::upload::auth::Credential, String> {
        let raw: RawAzureAuth = toml::from_str(lines).unwrap();
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        credential(&raw, crate::upload::auth::Cloud::UsGov, &env)
    }

    #[test]
    fn every_credential_kind_is_configured_from_file_or_environment() {
        use crate::upload::auth::{Credential, UserAssigned};
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/test-only-client-certificate.pem"
        );
        let Ok(Credential::ClientSecret(c)) = auth(
            "method = \"client-secret\"\ntenant_id = \"t\"",
            &[
                ("AZURE_CLIENT_ID", "app"),
                ("AZURE_CLIENT_SECRET", "from-env"),
            ],
        ) else {
            panic!("client secret from the environment");
        };
        assert_eq!(c.client_id, "app");
        assert!(matches!(&c.secret, crate::upload::auth::Secret::Value(v) if v == "from-env"));
        assert_eq!(c.authority_host, "https://login.microsoftonline.us");
        assert_eq!(c.scope, "https://monitor.azure.us/.default");

        let Ok(Credential::ClientCertificate(c)) = auth(
            &format!(
                "method = \"client-certificate\"\ntenant_id = \"t\"\nclient_id = \"app\"\ncertificate_file = \"{fixture}\""
            ),
            &[],
        ) else {
            panic!("client certificate");
        };
        assert_eq!(c.certificate_file, PathBuf::from(&fixture));
        assert_eq!(Credential::ClientCertificate(c).check_files(), Ok(()));

        let Ok(Credential::WorkloadIdentity(c)) = auth(
            "method = \"workload-identity\"",
            &[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "app"),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "/var/run/secrets/azure/tokens/azure-identity-token",
                ),
                ("AZURE_AUTHORITY_HOST", "https://login.example/"),
            ],
        ) else {
            panic!("workload identity");
        };
        assert_eq!(c.authority_host, "https://login.example/");
        assert_eq!(
            c.token_file,
            PathBuf::from("/var/run/secrets/azure/tokens/azure-identity-token")
        );

        let Ok(Credential::ManagedIdentity(m)) =
            auth("method = \"managed-identity\"\nobject_id = \"oid\"", &[])
        else {
            panic!("managed identity");
        };
        assert_eq!(m.user_assigned, Some(UserAssigned::ObjectId("oid".into())));
        assert_eq!(m.resource, "https://monitor.azure.us");
        assert_eq!(
            m.endpoint,
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );

        let Ok(Credential::AzureArc(a)) = auth(
            "method = \"azure-arc\"",
            &[(
                "IDENTITY_ENDPOINT",
                "http://localhost:40342/metadata/identity/oauth2/token",
            )],
        ) else {
            panic!("azure arc");
        };
        assert_eq!(a.key_dir, PathBuf::from("/var/opt/azcmagent/tokens"));
    }

    #[test]
    fn credential_mistakes_are_named() {
        let err = |lines: &str| auth(lines, &[]).err().unwrap_or_default();
        assert_eq!(
            err("method = \"client-certificate\"\ntenant_id = \"t\"\nclient_id = \"c\""),
            "azure.auth: `certificate_file` is required for client-certificate"
        );
        // Files are named while parsing and read by `check_files` (before the daemon starts)
        // and for each token: the message names the setting and the file.
        for (lines, wanted) in [
            (
                "certificate_file = \"/nonexistent.pem\"\nmethod = \"client-certificate\"",
                "certificate_file: cannot read /nonexistent.pem",
            ),
            (
                "client_secret_file = \"/nonexistent-secret\"\nmethod = \"client-secret\"",
                "client_secret_file: cannot read /nonexistent-secret",
            ),
        ] {
            let credential = auth(
                &format!("{lines}\ntenant_id = \"t\"\nclient_id = \"c\""),
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let e = credential.check_files().unwrap_err();
            assert!(e.starts_with(wanted), "{e}");
        }
        assert_eq!(
            err("method = \"managed-identity\"\nclient_id = \"a\"\nobject_id = \"b\""),
            "azure.auth: give one of client_id, object_id or resource_id for a user-assigned identity"
        );
        assert_eq!(
            err("method = \"azure-arc\"\nclient_id = \"a\""),
            "azure.auth.client_id: not used by azure-arc"
        );
        assert!(
            err("method = \"client-secret\"\nauthority_host = \"http://login.example\"")
                .contains("must be https://")
        );
        assert!(
            err("method = \"password\"")
                .starts_with("azure.auth.method: unknown method `password`")
        );
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
    fn listeners_and_sender_networks_bound_to_dcr_sets_share_scopes() {
        let c = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\ndcrs = [\"b\", \"a\"]\n\
             sender_dcrs = { \"10.0.0.0/8\" = [\"a\"], \"10.1.0.0/16\" = [\"c\"] }\n\
             [[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\ndcrs = [\"a\", \"b\"]\n",
        )
        .unwrap();
        assert_eq!(
            c.dcr.scopes,
            [
                vec!["a".to_owned(), "b".to_owned()],
                vec!["a".to_owned()],
                vec!["c".to_owned()]
            ]
        );
        assert_eq!(c.listen[0].scope, Some(0));
        assert_eq!(c.listen[1].scope, Some(0));
        // Longest prefix first.
        let nets: Vec<(String, usize)> = c.listen[0]
            .sender_scopes
            .iter()
            .map(|(net, scope)| (net.to_string(), *scope))
            .collect();
        assert_eq!(
            nets,
            [("10.1.0.0/16".to_owned(), 2), ("10.0.0.0/8".to_owned(), 1)]
        );
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\ndcrs = []\n",
        )
        .unwrap_err()
        .into_first();
        assert_eq!(
            err.message,
            "listen[0].dcrs: name at least one collection DCR"
        );
    }

    #[test]
    fn named_credentials_beside_the_default_and_destinations_naming_them() {
        let base = "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n\
                    [azure.auth]\nmethod = \"managed-identity\"\n\
                    [azure.auth.tenant-b]\nmethod = \"managed-identity\"\nclient_id = \"b\"\n\
                    [[destination]]\nname = \"b\"\nendpoint = \"https://dce.example\"\n\
                    dcr_immutable_id = \"dcr-1\"\nstreams = { Syslog = \"Custom-S\" }\n";
        let config = Config::parse("t.toml", &format!("{base}auth = \"tenant-b\"\n")).unwrap();
        let azure = config.azure.unwrap();
        assert!(azure.credential.is_some());
        let names: Vec<&str> = azure.credentials.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["tenant-b"]);
        assert_eq!(config.destinations[0].auth.as_deref(), Some("tenant-b"));
        let err = Config::parse("t.toml", &format!("{base}auth = \"tenant-c\"\n"))
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 14);
        assert_eq!(
            err.message,
            "destination[0].auth: no credential `tenant-c`: define [azure.auth.tenant-c] \
             (defined: [azure.auth.tenant-b])"
        );
        // A named credential is checked like the default, under its own name.
        let err = Config::parse(
            "t.toml",
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n\
             [azure.auth.x]\nmethod = \"client-secret\"\nclient_id = \"c\"\n",
        )
        .unwrap_err()
        .into_first();
        assert!(
            err.message
                .starts_with("azure.auth.x: `client_secret_file`"),
            "{}",
            err.message
        );
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
        let err = Config::parse("t.toml", "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nallow = [\"10.0.0.0/33\"]\n").unwrap_err().into_first();
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

    #[test]
    fn listener_timezone_is_utc_unless_set_and_a_wrong_one_is_named() {
        use crate::timezone::Zone;
        let with = |extra: &str| {
            Config::parse(
                "t.toml",
                &format!("[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n{extra}"),
            )
        };
        assert_eq!(with("").unwrap().listen[0].timezone, Zone::Fixed(0));
        let berlin = with("timezone = \"Europe/Berlin\"\n").unwrap();
        assert!(
            matches!(&berlin.listen[0].timezone, Zone::Named { name, .. } if name == "Europe/Berlin")
        );
        assert_eq!(
            with("timezone = \"-03:00\"\n").unwrap().listen[0].timezone,
            Zone::Fixed(-10_800)
        );
        let err = with("timezone = \"Europe/Berlni\"\n")
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 4);
        assert!(
            err.message
                .contains("listen[0].timezone: `Europe/Berlni` is not a time zone"),
            "{}",
            err.message
        );
    }

    #[test]
    fn listener_limits_are_checked_and_keys_of_other_protocols_refused() {
        let listen = |protocol: &str, extra: &str| {
            Config::parse(
                "t.toml",
                &format!(
                    "[[listen]]\nprotocol = \"{protocol}\"\naddress = \"{}\"\n{extra}",
                    if protocol == "unix" {
                        "/run/x.sock"
                    } else {
                        "127.0.0.1:1"
                    }
                ),
            )
        };
        let tcp = listen("tcp", "max_connections = 100\n").unwrap();
        assert_eq!(tcp.listen[0].max_connections_per_source, 25);
        assert_eq!(
            tcp.listen[0].frame_timeout,
            std::time::Duration::from_secs(60)
        );
        assert_eq!(tcp.listen[0].reassembly_max_bytes, None);
        let ise = listen("udp", "reassemble = true\n").unwrap();
        assert_eq!(ise.listen[0].reassembly_max_bytes, Some(16 << 20));
        for (protocol, extra, wanted) in [
            (
                "tcp",
                "max_connections = 99999999999\n",
                "listen[0].max_connections: must be between",
            ),
            (
                "tcp",
                "max_connections = 10\nmax_connections_per_source = 11\n",
                "max_connections_per_source: must be between 1 and max_connections (10)",
            ),
            (
                "tcp",
                "frame_timeout_seconds = 0\n",
                "frame_timeout_seconds: must be between 1 and 3600",
            ),
            (
                "tcp",
                "buffer_budget = \"1KiB\"\n",
                "buffer_budget: `1KiB` is not a size of at least 1MiB",
            ),
            (
                "tcp",
                "reassembly_max_bytes = \"1MiB\"\n",
                "reassembly_max_bytes: only with `reassemble = true`",
            ),
            (
                "unix",
                "allow = [\"10.0.0.0/8\"]\n",
                "listen[0].allow: only network listeners take it (this one is unix)",
            ),
            (
                "udp",
                "max_connections = 5\n",
                "listen[0].max_connections: only tcp, tls and relp listeners take it (this one is udp)",
            ),
            (
                "tcp",
                "sockets = 2\n",
                "listen[0].sockets: only udp listeners take it",
            ),
            (
                "relp",
                "reassemble = true\n",
                "listen[0].reassemble: not on a relp listener",
            ),
        ] {
            let err = listen(protocol, extra).unwrap_err().into_first();
            assert!(err.message.contains(wanted), "{extra}: {}", err.message);
        }
    }

    #[test]
    fn retry_backoff_defaults_and_is_clamped_to_its_range() {
        use std::time::Duration;
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let retry = |upload: &str| {
            Config::parse("t.toml", &format!("{listen}[azure]\n{upload}"))
                .unwrap()
                .azure
                .unwrap()
                .retry
        };
        let default = retry("");
        assert_eq!(default.base, Duration::from_millis(500));
        assert_eq!(default.cap, Duration::from_secs(60));
        let fast = retry("[azure.upload]\nretry_base_ms = 50\nretry_cap_ms = 400\n");
        assert_eq!(
            (fast.base, fast.cap),
            (Duration::from_millis(50), Duration::from_millis(400))
        );
        let wild = retry("[azure.upload]\nretry_base_ms = 0\nretry_cap_ms = 99999999\n");
        assert_eq!(
            (wild.base, wild.cap),
            (Duration::from_millis(10), Duration::from_secs(600))
        );
        let inverted = retry("[azure.upload]\nretry_base_ms = 2000\nretry_cap_ms = 100\n");
        assert_eq!(inverted.cap, Duration::from_millis(2000));
    }

    #[test]
    fn upload_compression_is_fast_unless_asked_for_small() {
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let with = |upload: &str| Config::parse("t.toml", &format!("{listen}[azure]\n{upload}"));
        let compression = |config: Config| config.azure.unwrap().compression;
        use crate::upload::batch::Compression;
        assert_eq!(compression(with("").unwrap()), Compression::Fast);
        let small = with("[azure.upload]\ncompression = \"small\"\n").unwrap();
        assert_eq!(compression(small), Compression::Small);
        let err = with("[azure.upload]\ncompression = \"zstd\"\n")
            .unwrap_err()
            .into_first();
        assert_eq!(err.line, 6);
        assert!(
            err.message.contains("azure.upload.compression: `zstd`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn files_allowed_roots_are_absolute_folders_or_unset() {
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let with = |files: &str| Config::parse("t.toml", &format!("{listen}[files]\n{files}"));
        assert_eq!(with("").unwrap().files.allowed_roots, None);
        let set = with("allowed_roots = [\"/var/log\", \"/srv/app/logs/\"]\n").unwrap();
        assert_eq!(
            set.files.allowed_roots,
            Some(vec![
                PathBuf::from("/var/log"),
                PathBuf::from("/srv/app/logs")
            ])
        );
        for bad in ["[\"var/log\"]", "[\"/var/log/../../etc\"]", "[]"] {
            let err = with(&format!("allowed_roots = {bad}\n"))
                .unwrap_err()
                .into_first();
            assert_eq!(err.line, 5, "{bad}");
            assert!(
                err.message.starts_with("files.allowed_roots: "),
                "{}",
                err.message
            );
        }
    }
}
