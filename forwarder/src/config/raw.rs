//! The file's shape as serde reads it: one `Raw*` struct per section, every key with its
//! span, unknown keys refused. [`raw_config`] reads section by section so that a problem in one
//! does not hide the problems of the others.

use super::*;

/// The whole file's sections. Read section by section (and entry by entry for `[[listen]]`,
/// `[[output]]` and `[[destination]]`) by [`raw_config`], so that a problem in one does not
/// hide the problems of the others.
#[derive(Debug, Default)]
pub(super) struct RawConfig {
    pub(super) hostname: Option<String>,
    /// With each entry's index in the file (a failed entry leaves a gap).
    pub(super) listen: Vec<(usize, RawListen)>,
    /// Whether the file gives `listen` entries at all (each may have failed on its own).
    pub(super) listen_given: bool,
    pub(super) dcr: Option<RawDcr>,
    pub(super) azure: Option<RawAzure>,
    pub(super) destination: Vec<(usize, RawDestination)>,
    pub(super) output: Vec<(usize, RawOutput)>,
    pub(super) spool: Option<RawSpool>,
    pub(super) files: Option<RawFiles>,
    pub(super) metrics: Option<RawMetrics>,
    pub(super) heartbeat: Option<RawHeartbeat>,
    /// `[azure.auth.<name>]` tables: named credentials, with their spans.
    pub(super) named_auth: Vec<(String, RawAzureAuth, std::ops::Range<usize>)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFiles {
    pub(super) checkpoint_path: Option<String>,
    pub(super) max_record_bytes: Option<Spanned<usize>>,
    pub(super) start_at: Option<Spanned<String>>,
    pub(super) partial_flush_ms: Option<u64>,
    /// The only folders log files may be read from (by their real path).
    pub(super) allowed_roots: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawListen {
    pub(super) protocol: Spanned<String>,
    pub(super) address: Spanned<String>,
    pub(super) framing: Option<Spanned<String>>,
    pub(super) max_message_bytes: Option<Spanned<usize>>,
    pub(super) format: Option<Spanned<String>>,
    /// Per-sender formats: `{ "10.1.0.0/16" = "meraki" }`.
    #[serde(default)]
    pub(super) sender_formats: std::collections::BTreeMap<String, Spanned<String>>,
    /// The collection DCRs (by name) this listener's events go through (default: all).
    pub(super) dcrs: Option<Spanned<Vec<String>>>,
    /// Per-sender DCRs: `{ "10.1.0.0/16" = ["customer-a"] }`, most specific network first.
    #[serde(default)]
    pub(super) sender_dcrs: std::collections::BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) allow: Vec<Spanned<String>>,
    pub(super) tls: Option<Spanned<RawTls>>,
    /// UDP: `SO_RCVBUF` in bytes.
    pub(super) receive_buffer_bytes: Option<usize>,
    /// UDP: sockets sharing the address with `SO_REUSEPORT` (default: one per core).
    pub(super) sockets: Option<Spanned<usize>>,
    /// TCP: close a connection idle this long.
    pub(super) idle_timeout_seconds: Option<u64>,
    /// TCP: connections served at once; more wait in the kernel's backlog.
    pub(super) max_connections: Option<Spanned<usize>>,
    /// TCP: connections one address (an IPv6 /64) may have open at once.
    pub(super) max_connections_per_source: Option<Spanned<usize>>,
    /// TCP: a frame must be complete this long after its first byte.
    pub(super) frame_timeout_seconds: Option<Spanned<u64>>,
    /// TCP: bytes all connections' read buffers may take together (`"64MiB"`).
    pub(super) buffer_budget: Option<Spanned<String>>,
    /// Put Cisco ISE/ACS multi-part messages back together on this listener.
    pub(super) reassemble: Option<bool>,
    /// Bytes this listener's reassembly may hold (`"16MiB"`).
    pub(super) reassembly_max_bytes: Option<Spanned<String>>,
    /// The zone of device timestamps that carry none (`UTC`, `local`, `+02:00`, an IANA name).
    pub(super) timezone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert: String,
    pub(super) key: String,
    pub(super) client_ca: Option<String>,
    pub(super) min_version: Option<Spanned<String>>,
    /// Revoked client certificates (PEM CRLs), with `client_ca`.
    pub(super) crl: Option<String>,
    /// Client certificates accepted, by subject, common name or DNS name, with `client_ca`.
    pub(super) allowed_names: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDcr {
    pub(super) paths: Option<Vec<toml::Spanned<String>>>,
    pub(super) watch: Option<bool>,
    pub(super) duplicate_cef_to_syslog: Option<bool>,
    /// DCRs from Azure Resource Manager.
    #[serde(default)]
    pub(super) azure: Vec<Spanned<RawDcrAzure>>,
    /// Seconds between polls of Azure for changed DCRs (default 300).
    pub(super) poll_interval: Option<Spanned<u64>>,
    /// Where the last good copies of DCRs from Azure are kept.
    pub(super) cache_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDcrAzure {
    /// A DCR's resource id.
    pub(super) id: Option<String>,
    /// A VM's or Arc machine's resource id: the DCRs associated with it.
    pub(super) associated_with: Option<String>,
    /// A named credential (default: `[azure.auth]`).
    pub(super) auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzure {
    pub(super) cloud: Option<Spanned<String>>,
    pub(super) auth: Option<RawAzureAuth>,
    pub(super) upload: Option<RawAzureUpload>,
    /// The Azure Resource Manager endpoint (default: the cloud's).
    pub(super) resource_manager: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzureAuth {
    pub(super) method: Spanned<String>,
    pub(super) tenant_id: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret_file: Option<String>,
    pub(super) certificate_file: Option<String>,
    pub(super) authority_host: Option<String>,
    /// managed-identity: a user-assigned identity by object id or ARM resource id
    /// (`client_id` picks one by client id).
    pub(super) object_id: Option<String>,
    pub(super) resource_id: Option<String>,
    /// managed-identity and azure-arc: the token endpoint (IMDS or HIMDS) when not the
    /// platform's own (tests, unusual set-ups).
    pub(super) identity_endpoint: Option<String>,
    /// azure-arc: the folder the challenge key files must be in.
    pub(super) arc_key_dir: Option<String>,
    /// workload-identity: the projected service-account token.
    pub(super) federated_token_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzureUpload {
    pub(super) concurrency: Option<usize>,
    /// Where rows the API refuses on their own (400/413) are kept, as JSON lines.
    pub(super) dead_letter_path: Option<String>,
    /// Per target, how much compressed data may wait in memory while its workspace is slow
    /// or failing (`"256MiB"`), before the target holds back the listeners.
    pub(super) max_queue: Option<Spanned<String>>,
    pub(super) proxy: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    /// `fast` (default) or `small`: CPU against upload and spool bytes.
    pub(super) compression: Option<Spanned<String>>,
    /// The first wait before a retry, doubled per failure up to `retry_cap_ms` (with jitter);
    /// a `Retry-After` from the service takes precedence.
    pub(super) retry_base_ms: Option<u64>,
    pub(super) retry_cap_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDestination {
    pub(super) name: String,
    pub(super) endpoint: Spanned<String>,
    pub(super) dcr_immutable_id: String,
    pub(super) streams: Spanned<toml::Table>,
    /// The workspace (ARM resource id) this destination writes; without it, the destination
    /// takes its tables' routes from every workspace.
    pub(super) workspace: Option<String>,
    /// A named credential, `[azure.auth.<name>]` (default: `[azure.auth]`).
    pub(super) auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    pub(super) kind: Spanned<String>,
    pub(super) path: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpool {
    pub(super) dir: Option<String>,
    pub(super) max_bytes: Option<Spanned<toml::Value>>,
    pub(super) when_full: Option<Spanned<String>>,
    /// `always`, `interval` (every `fsync_interval`, default 1 s) or `never`.
    pub(super) fsync: Option<Spanned<String>>,
    pub(super) fsync_interval_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) address: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    pub(super) interval: Option<Spanned<u64>>,
}

/// The sections of `root`, each deserialized on its own; a section or entry that does not
/// deserialize is reported through `report` (with its span) and left out.
pub(super) fn raw_config(
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
pub(super) fn split_named_auth<'i>(
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
