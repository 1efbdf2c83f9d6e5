//! TLS listeners (issue 8): RFC 5425 and mutual TLS with a rustls client, the peer subject in
//! the metrics, certificates reloaded on change and on SIGHUP without dropping connections,
//! and clear errors for bad certificates. Real relays over TLS are in `relays.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConnection, StreamOwned};

use crate::support::pki::{Ca, Issued};
use crate::support::{connect_when_ready, free_port, http_get, metric_sum, spawn_tern, stop_tern};

type Client = StreamOwned<ClientConnection, TcpStream>;

fn client_config(ca: &Path, identity: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = CertificateDer::pem_file_iter(&id.cert)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(&id.key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    })
}

/// Connects and completes the handshake (from the client's side).
fn connect(port: u16, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Client> {
    let tcp = connect_when_ready(port);
    let name = ServerName::try_from("localhost").unwrap();
    let connection = ClientConnection::new(Arc::clone(config), name).unwrap();
    let mut client = StreamOwned::new(connection, tcp);
    while client.conn.is_handshaking() {
        client.conn.complete_io(&mut client.sock)?;
    }
    Ok(client)
}

/// Octet-counted RFC 5424 messages `seq=from..to` carrying `marker`.
fn frames(marker: &str, seqs: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in seqs {
        let message = format!("<14>1 2026-11-22T10:00:00Z relay app - - - {marker} seq={seq}");
        out.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
    }
    out
}

fn server_subject(client: &Client) -> String {
    let leaf = client.conn.peer_certificates().unwrap().first().unwrap();
    tern::listen::tls::certificate_info(leaf).unwrap().subject
}

struct Tern {
    dir: tempfile::TempDir,
    ca: Ca,
    server: Issued,
    tls_port: u16,
    mtls_port: u16,
    metrics_port: u16,
}

impl Tern {
    fn new() -> Tern {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "tern-test");
        let server = ca.server("server", "tern-1");
        Tern {
            dir,
            ca,
            server,
            tls_port: free_port(),
            mtls_port: free_port(),
            metrics_port: free_port(),
        }
    }

    fn rows_path(&self) -> PathBuf {
        self.dir.path().join("rows.jsonl")
    }

    fn config(&self) -> PathBuf {
        self.config_with("")
    }

    /// [`Tern::config`] with `mtls_extra` added to the mutual-TLS listener's `tls` table.
    fn config_with(&self, mtls_extra: &str) -> PathBuf {
        let tls = format!(
            "cert = \"{}\", key = \"{}\"",
            self.server.cert.display(),
            self.server.key.display()
        );
        let text = format!(
            "hostname = \"fwd-tls\"\n\
             [[listen]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:{tls_port}\"\ntls = {{ {tls} }}\n\n\
             [[listen]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:{mtls_port}\"\n\
             tls = {{ {tls}, client_ca = \"{ca}\"{mtls_extra} }}\n\n\
             [[output]]\nkind = \"file\"\npath = \"{rows}\"\n\n[metrics]\naddress = \"127.0.0.1:{metrics}\"\n",
            tls_port = self.tls_port,
            mtls_port = self.mtls_port,
            ca = self.ca.cert.display(),
            rows = self.rows_path().display(),
            metrics = self.metrics_port,
        );
        let path = self.dir.path().join("tern.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn metric(&self, name: &str, filter: &str) -> u64 {
        let (_, body) = http_get(self.metrics_port, "/metrics").unwrap_or_default();
        metric_sum(&body, name, filter)
    }

    fn rows_with(&self, marker: &str) -> usize {
        std::fs::read_to_string(self.rows_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!("{marker} seq=")))
            .count()
    }

    /// Waits until `condition` holds, for up to 20 s.
    async fn until(&self, what: &str, mut condition: impl FnMut(&Tern) -> bool) {
        crate::support::wait_until_async(what, Duration::from_secs(20), || condition(self)).await;
    }
}

pub(crate) async fn tls_and_mutual_tls_deliver_and_reject_what_they_must() {
    let tern = Tern::new();
    let child = spawn_tern(&tern.config());
    let plain = client_config(&tern.ca.cert, None);
    let relay_identity = tern.ca.client("relay", "relay-01.example.net");
    let with_identity = client_config(&tern.ca.cert, Some(&relay_identity));

    // Server authentication only.
    let mut client = connect(tern.tls_port, &plain).unwrap();
    assert_eq!(server_subject(&client), "CN=tern-1");
    client.write_all(&frames("one-way", 0..1000)).unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    drop(client);

    // Mutual TLS with a certificate from the trusted CA.
    let mut client = connect(tern.mtls_port, &with_identity).unwrap();
    client.write_all(&frames("mutual", 0..1000)).unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    drop(client);
    tern.until("1000 + 1000 rows", |t| {
        t.rows_with("one-way") == 1000 && t.rows_with("mutual") == 1000
    })
    .await;
    assert_eq!(
        tern.metric(
            "tern_tls_peer_connections_total",
            "subject=\"CN=relay-01.example.net\""
        ),
        1
    );

    // Mutual TLS without a certificate, and with one from another CA: refused, counted.
    let stranger_ca = Ca::new(tern.dir.path(), "stranger");
    let stranger = stranger_ca.client("stranger", "stranger.example.net");
    for config in [plain.clone(), client_config(&tern.ca.cert, Some(&stranger))] {
        // With TLS 1.3 the client finishes first; the server's refusal arrives as an alert.
        if let Ok(mut client) = connect(tern.mtls_port, &config) {
            let _ = client.write_all(&frames("refused", 0..10));
            let _ = client.flush();
            let mut sink = [0u8; 64];
            let _ = std::io::Read::read(&mut client, &mut sink);
        }
    }
    tern.until("two failed handshakes", |t| {
        t.metric("tern_tls_handshakes_total", "result=\"failed\"") == 2
    })
    .await;
    assert_eq!(
        tern.metric("tern_tls_handshakes_total", "result=\"ok\""),
        2,
        "one per accepted connection"
    );
    assert_eq!(tern.rows_with("refused"), 0);
    // A client that offers only TLS 1.1 or older cannot even start: rustls has no such
    // versions, so the oldest a client can try against Tern is 1.2.
    assert!(stop_tern(child).await.success());
}

pub(crate) async fn certificates_reload_on_change_and_sighup_without_dropping_connections() {
    let tern = Tern::new();
    let child = spawn_tern(&tern.config());
    let plain = client_config(&tern.ca.cert, None);

    let mut old = connect(tern.tls_port, &plain).unwrap();
    assert_eq!(server_subject(&old), "CN=tern-1");
    old.write_all(&frames("old-connection", 0..100)).unwrap();
    old.flush().unwrap();

    // Renew: a new certificate and key written over the files (as certbot's deploy hook or a
    // configuration manager would).
    let renewed = tern.ca.server("renewed", "tern-2");
    std::fs::copy(&renewed.key, &tern.server.key).unwrap();
    std::fs::copy(&renewed.cert, &tern.server.cert).unwrap();
    tern.until("a reload", |t| {
        t.metric("tern_tls_reloads_total", "result=\"ok\"") >= 1
    })
    .await;
    let new = connect(tern.tls_port, &plain).unwrap();
    assert_eq!(server_subject(&new), "CN=tern-2");
    drop(new);

    // The connection made before the reload carries on.
    old.write_all(&frames("old-connection", 100..200)).unwrap();
    old.conn.send_close_notify();
    old.flush().unwrap();
    drop(old);
    tern.until("200 rows over the old connection", |t| {
        t.rows_with("old-connection") == 200
    })
    .await;

    // SIGHUP reloads even when nothing changed (each TLS listener once).
    let ok_on_tls_port = format!(
        "listener=\"tls://127.0.0.1:{}\",result=\"ok\"",
        tern.tls_port
    );
    let before = tern.metric("tern_tls_reloads_total", &ok_on_tls_port);
    crate::support::signal(child.id(), nix::sys::signal::Signal::SIGHUP);
    tern.until("a SIGHUP reload", |t| {
        t.metric("tern_tls_reloads_total", &ok_on_tls_port) == before + 1
    })
    .await;

    // A key that does not match: the reload fails, counted, and the certificate in force stays.
    let other = tern.ca.server("other", "tern-3");
    std::fs::copy(&other.key, &tern.server.key).unwrap();
    tern.until("a failed reload", |t| {
        t.metric("tern_tls_reloads_total", "result=\"failed\"") >= 1
    })
    .await;
    let after = connect(tern.tls_port, &plain).unwrap();
    assert_eq!(server_subject(&after), "CN=tern-2");
    drop(after);
    assert!(stop_tern(child).await.success());
}

fn check(config: &Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

pub(crate) fn bad_certificates_are_clear_errors_naming_the_file() {
    let tern = Tern::new();
    let config = tern.config();
    let (ok, text) = check(&config);
    assert!(ok, "{text}");

    // Expired.
    let expired = tern.ca.expired_server("expired");
    std::fs::copy(&expired.cert, &tern.server.cert).unwrap();
    std::fs::copy(&expired.key, &tern.server.key).unwrap();
    let (ok, text) = check(&config);
    assert!(!ok);
    assert!(
        text.contains(&format!("tls.cert {}", tern.server.cert.display()))
            && text.contains("expired at 2021-01-01"),
        "{text}"
    );
    // `tern run` serves it anyway (other listeners must not go down with it) and says why
    // senders that check validity will refuse it.
    let log = tern.dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(&config)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http_get(tern.metrics_port, "/readyz").is_none_or(|(s, _)| s != 200) {
        assert!(
            Instant::now() < deadline,
            "tern did not start with an expired certificate"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    crate::support::stop_tern_ref(&mut child);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("serving a certificate outside its validity")
            && stderr.contains("expired at 2021-01-01"),
        "{stderr}"
    );

    // A key that belongs to another certificate.
    let good = tern.ca.server("good", "tern-1");
    let other = tern.ca.server("other", "tern-x");
    std::fs::copy(&good.cert, &tern.server.cert).unwrap();
    std::fs::copy(&other.key, &tern.server.key).unwrap();
    let (ok, text) = check(&config);
    assert!(!ok);
    assert!(
        text.contains("does not belong to the certificate"),
        "{text}"
    );

    // Not PEM at all, and a missing file.
    std::fs::write(&tern.server.key, "not a key\n").unwrap();
    let (ok, text) = check(&config);
    assert!(!ok);
    assert!(
        text.contains(&format!(
            "tls.key {}: no private key",
            tern.server.key.display()
        )),
        "{text}"
    );
    std::fs::remove_file(&tern.ca.cert).unwrap();
    std::fs::copy(&good.key, &tern.server.key).unwrap();
    let (ok, text) = check(&config);
    assert!(!ok);
    assert!(
        text.contains(&format!("tls.client_ca {}", tern.ca.cert.display())),
        "{text}"
    );
}

/// `tls.allowed_names`: among the certificates the CA signed, only the named clients get in;
/// another is closed after its handshake, counted, and nothing it sent becomes a row.
pub(crate) async fn mutual_tls_takes_only_the_allowed_names() {
    let tern = Tern::new();
    let child = spawn_tern(&tern.config_with(", allowed_names = [\"*.relays.example.net\"]"));
    let allowed = tern.ca.client("allowed", "relay-01.relays.example.net");
    let other = tern.ca.client("other", "laptop.example.net");
    let mut client = connect(
        tern.mtls_port,
        &client_config(&tern.ca.cert, Some(&allowed)),
    )
    .unwrap();
    client.write_all(&frames("named", 0..100)).unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    drop(client);
    if let Ok(mut client) = connect(tern.mtls_port, &client_config(&tern.ca.cert, Some(&other))) {
        let _ = client.write_all(&frames("unnamed", 0..100));
        let _ = client.flush();
        let mut sink = [0u8; 64];
        let _ = std::io::Read::read(&mut client, &mut sink);
    }
    tern.until("the named client's rows and the refusal", |t| {
        t.rows_with("named") == 100
            && t.metric("tern_tls_handshakes_total", "result=\"name_refused\"") == 1
    })
    .await;
    assert!(stop_tern(child).await.success());
    assert_eq!(tern.rows_with("unnamed"), 0);
    assert_eq!(tern.rows_with("named"), 100);
}

/// `tls.crl`: a client certificate the CA revoked is refused in the handshake (counted), one it
/// did not revoke gets in.
pub(crate) async fn mutual_tls_refuses_revoked_client_certificates() {
    let tern = Tern::new();
    let revoked = tern
        .ca
        .client_with_serial("revoked", "revoked.example.net", 666);
    let good = tern.ca.client_with_serial("good", "good.example.net", 777);
    let crl = tern.ca.crl("relays", &[666]);
    let child = spawn_tern(&tern.config_with(&format!(", crl = \"{}\"", crl.display())));
    if let Ok(mut client) = connect(
        tern.mtls_port,
        &client_config(&tern.ca.cert, Some(&revoked)),
    ) {
        let _ = client.write_all(&frames("revoked", 0..10));
        let _ = client.flush();
        let mut sink = [0u8; 64];
        let _ = std::io::Read::read(&mut client, &mut sink);
    }
    let mut client = connect(tern.mtls_port, &client_config(&tern.ca.cert, Some(&good))).unwrap();
    client.write_all(&frames("good", 0..10)).unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    drop(client);
    tern.until("the good client's rows and the refused handshake", |t| {
        t.rows_with("good") == 10 && t.metric("tern_tls_handshakes_total", "result=\"failed\"") == 1
    })
    .await;
    assert!(stop_tern(child).await.success());
    assert_eq!(tern.rows_with("revoked"), 0);
}
