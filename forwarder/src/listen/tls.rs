//! TLS for stream listeners: RFC 5425 syslog (`protocol = "tls"`) and RELP over TLS.
//!
//! rustls with TLS 1.2 and 1.3 only (`min_version` may raise it to 1.3). The server
//! certificate chain and key come from PEM files; with `client_ca`, every client must present a
//! certificate chaining to it (mutual TLS), and its subject is logged and counted. The files
//! are read again when they change (checked every [`FILE_POLL`]) or on SIGHUP: new connections
//! get the new certificate, open connections keep theirs, and a reload that fails (a key that
//! does not match, an expired certificate, a half-written file) keeps the one in force.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;

use crate::config::{TlsFiles, TlsVersion};
use crate::metrics::TlsMetrics;

/// How often the certificate files are checked for changes.
pub const FILE_POLL: Duration = Duration::from_secs(5);

/// A handshake must finish within this, or the connection is closed (and counted as failed).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Certificates expiring sooner than this are warned about at start, reload and `tern doctor`.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

/// A loaded, checked server configuration.
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    /// The leaf certificate's subject, for logs.
    pub subject: String,
    /// The leaf certificate's notAfter, in Unix seconds.
    pub not_after: i64,
    /// Expired or not yet valid: served anyway at start (see [`load_for_serving`]).
    pub validity_problem: Option<String>,
}

/// What a certificate says about itself.
pub struct CertificateInfo {
    pub subject: String,
    /// The subject's common names and the DNS names of its subjectAltName.
    pub names: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
}

/// Reads the subject and validity of a DER certificate.
pub fn certificate_info(der: &[u8]) -> Result<CertificateInfo, String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let validity = certificate.validity();
    let mut names: Vec<String> = certificate
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect();
    if let Ok(Some(san)) = certificate.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    Ok(CertificateInfo {
        subject: certificate.subject().to_string(),
        names,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}

/// Whether a client certificate is one `allowed` names (`tls.allowed_names`; empty: every
/// certificate the CA signed): its full subject (`CN=relay-01,O=Example`), a common name, or a
/// DNS name of its subjectAltName, exactly or under a `*.` wildcard entry.
pub fn name_allowed(allowed: &[String], info: &CertificateInfo) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|entry| {
            *entry == info.subject
                || info.names.iter().any(|name| {
                    name.eq_ignore_ascii_case(entry)
                        || entry.strip_prefix("*.").is_some_and(|domain| {
                            // One label: `*.example.net` takes `relay.example.net` only.
                            name.split_once('.').is_some_and(|(label, rest)| {
                                !label.is_empty() && rest.eq_ignore_ascii_case(domain)
                            })
                        })
                })
        })
}

/// The certificates in a PEM file; errors name the setting and the file.
pub fn read_certificates(
    setting: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{setting} {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{setting} {}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{setting} {}: no `-----BEGIN CERTIFICATE-----` block",
            path.display()
        ));
    }
    Ok(certificates)
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A Unix time as RFC 3339 for messages.
pub fn rfc3339(unix: i64) -> String {
    x509_parser::time::ASN1Time::from_timestamp(unix)
        .map(|t| t.to_datetime().to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// Reads and checks the files: the chain parses, the key matches the leaf, the leaf is valid
/// now, and `client_ca` holds at least one usable CA certificate. What `tern check` and a
/// reload use: a certificate outside its validity is refused.
pub fn load(files: &TlsFiles) -> Result<Loaded, TlsLoadError> {
    let loaded = load_for_serving(files).map_err(TlsLoadError::Unusable)?;
    match loaded.validity_problem {
        Some(problem) if loaded.not_after < unix_now() => Err(TlsLoadError::Expired(problem)),
        Some(problem) => Err(TlsLoadError::NotYetValid(problem)),
        None => Ok(loaded),
    }
}

/// Why [`load`] refused a listener's certificate files; each kind has its own fix (`tern
/// doctor`). The text names the setting and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsLoadError {
    /// Unreadable, not PEM, a key that does not match, no usable client CA.
    #[error("{0}")]
    Unusable(String),
    /// Past its `notAfter`: renew it.
    #[error("{0}")]
    Expired(String),
    /// Before its `notBefore`: the clock (or a certificate issued for later).
    #[error("{0}")]
    NotYetValid(String),
}

/// [`load`], except that a certificate outside its validity is still served (and reported in
/// [`Loaded::validity_problem`]): at start, refusing would take every other listener down
/// with it, and many senders do not check validity (decision 52).
pub fn load_for_serving(files: &TlsFiles) -> Result<Loaded, String> {
    let chain = read_certificates("tls.cert", &files.cert)?;
    let leaf = chain
        .first()
        .ok_or_else(|| format!("tls.cert {}: empty", files.cert.display()))?;
    let info =
        certificate_info(leaf).map_err(|e| format!("tls.cert {}: {e}", files.cert.display()))?;
    let now = unix_now();
    let validity_problem = if info.not_after < now {
        Some(format!(
            "tls.cert {}: the certificate ({}) expired at {}; renew it",
            files.cert.display(),
            info.subject,
            rfc3339(info.not_after)
        ))
    } else if info.not_before > now {
        Some(format!(
            "tls.cert {}: the certificate ({}) is not valid before {} (check the clock)",
            files.cert.display(),
            info.subject,
            rfc3339(info.not_before)
        ))
    } else {
        None
    };
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => format!(
            "tls.key {}: no private key (`-----BEGIN PRIVATE KEY-----`, RSA or EC) in the file",
            files.key.display()
        ),
        other => format!("tls.key {}: {other}", files.key.display()),
    })?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match files.min_version {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates("tls.client_ca", path)? {
                roots
                    .add(certificate)
                    .map_err(|e| format!("tls.client_ca {}: {e}", path.display()))?;
            }
            let mut crls = Vec::new();
            if let Some(crl) = &files.crl {
                use rustls_pki_types::pem::PemObject;
                crls = rustls_pki_types::CertificateRevocationListDer::pem_file_iter(crl)
                    .map_err(|e| format!("tls.crl {}: {e}", crl.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("tls.crl {}: {e}", crl.display()))?;
                if crls.is_empty() {
                    return Err(format!(
                        "tls.crl {}: no `-----BEGIN X509 CRL-----` block",
                        crl.display()
                    ));
                }
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .with_crls(crls)
                .build()
                .map_err(|e| format!("tls.client_ca {}: {e}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "tls.key {} does not belong to the certificate in tls.cert {}",
            files.key.display(),
            files.cert.display()
        ),
        other => format!(
            "tls.cert {} / tls.key {}: {other}",
            files.cert.display(),
            files.key.display()
        ),
    })?;
    // Syslog senders do not resume sessions, and rsyslog's GnuTLS client never reads from the
    // connection, so TLS 1.3 session tickets would only sit unread in its socket buffer
    // (docs/decisions.md).
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(Loaded {
        config: Arc::new(config),
        subject: info.subject,
        not_after: info.not_after,
        validity_problem,
    })
}

/// A listener's TLS configuration in force, swapped whole on reload.
#[derive(Clone)]
pub struct Tls {
    current: Arc<ArcSwap<ServerConfig>>,
    pub metrics: TlsMetrics,
    pub mutual: bool,
}

impl Tls {
    /// Loads the files (errors stop the listener from starting) and starts watching them.
    pub fn start(
        files: &TlsFiles,
        listener: &str,
        metrics: TlsMetrics,
        reload: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Tls, String> {
        let loaded = load_for_serving(files)?;
        if let Some(problem) = &loaded.validity_problem {
            tracing::error!(listener, error = %problem, "serving a certificate outside its validity: senders that check it will refuse to connect");
        }
        announce(listener, &loaded, &metrics);
        let tls = Tls {
            current: Arc::new(ArcSwap::new(loaded.config)),
            metrics,
            mutual: files.client_ca.is_some(),
        };
        tokio::spawn(watch_files(
            files.clone(),
            listener.to_owned(),
            tls.clone(),
            reload,
            shutdown,
        ));
        Ok(tls)
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.current.load_full())
    }
}

fn announce(listener: &str, loaded: &Loaded, metrics: &TlsMetrics) {
    metrics.not_after.set(loaded.not_after);
    let left = loaded.not_after.saturating_sub(unix_now());
    if left < i64::try_from(EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX) {
        tracing::warn!(listener, subject = %loaded.subject, expires = %rfc3339(loaded.not_after),
            "the server certificate expires within 30 days; renew it (Tern reloads it when the file changes)");
    } else {
        tracing::info!(listener, subject = %loaded.subject, expires = %rfc3339(loaded.not_after), "TLS certificate loaded");
    }
}

/// What identifies a version of the files: a rewrite, a rename over them or a symlink swap
/// (Kubernetes secrets, certbot) changes one of these.
fn signature(files: &TlsFiles) -> Vec<Option<(SystemTime, u64, u64)>> {
    use std::os::unix::fs::MetadataExt;
    let paths: [Option<&PathBuf>; 4] = [
        Some(&files.cert),
        Some(&files.key),
        files.client_ca.as_ref(),
        files.crl.as_ref(),
    ];
    paths
        .iter()
        .flatten()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().unwrap_or(UNIX_EPOCH), m.len(), m.ino()))
        })
        .collect()
}

async fn watch_files(
    files: TlsFiles,
    listener: String,
    tls: Tls,
    mut reload: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut seen = signature(&files);
    loop {
        let forced = tokio::select! {
            _ = tokio::time::sleep(FILE_POLL) => false,
            changed = reload.changed() => {
                if changed.is_err() {
                    return;
                }
                true
            }
            _ = shutdown.changed() => return,
        };
        let now = signature(&files);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        match load(&files) {
            Ok(loaded) => {
                tls.current.store(Arc::clone(&loaded.config));
                tls.metrics.reloads_ok.inc();
                announce(&listener, &loaded, &tls.metrics);
            }
            Err(e) => {
                tls.metrics.reloads_failed.inc();
                tracing::error!(listener = %listener, error = %e, "TLS reload failed; the certificate in force stays");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(subject: &str, names: &[&str]) -> CertificateInfo {
        CertificateInfo {
            subject: subject.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            not_before: 0,
            not_after: 0,
        }
    }

    #[test]
    fn allowed_names_match_subject_common_name_or_dns_name() {
        let relay = info(
            "CN=relay-01.example.net, O=Example",
            &["relay-01.example.net", "relay.example.net"],
        );
        let allow = |entries: &[&str]| {
            let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
            name_allowed(&entries, &relay)
        };
        assert!(allow(&[]), "no list: every certificate the CA signed");
        assert!(allow(&["CN=relay-01.example.net, O=Example"]));
        assert!(allow(&["RELAY.example.net"]));
        assert!(allow(&["*.example.net"]));
        assert!(!allow(&["*.net"]), "a wildcard covers one label");
        assert!(!allow(&["relay-02.example.net", "CN=relay-01.example.net"]));
        assert!(!allow(&["*.other.example"]));
    }
}
