//! `[[listen]]`: transports, addresses, TLS files, pinned formats and sender networks.

use super::*;

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
pub(super) fn parse_network(text: &str) -> Option<IpNet> {
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

    pub(super) fn default_for(protocol: Protocol, address: Address) -> Listen {
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

/// `listen[i]`, checked. `scopes` collects the sets of DCRs listeners and sender networks
/// are bound to, each once: a listener refers to its set by index.
pub(super) fn listener(
    i: usize,
    l: &RawListen,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
    scopes: &mut Vec<Vec<String>>,
) -> Result<Listen, ConfigError> {
    let key = |name: &str| format!("listen[{i}].{name}");
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
                format!(
                    "listen[{i}].allow[{j}]: `{text}` is not an address or CIDR such as 10.0.0.0/8"
                ),
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
            let min_version = match raw.min_version.as_ref().map(|v| (v, v.get_ref().as_str())) {
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
            if raw.client_ca.is_none() && (raw.crl.is_some() || raw.allowed_names.is_some()) {
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
    if let Some((name, _, _, kinds)) = only_for.iter().find(|(_, given, fits, _)| *given && !fits) {
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
}
