//! Real relays from Debian forwarding to Tern with the recipes in `conf/relays/` (issue 8):
//! rsyslog over TCP, TLS, mutual TLS and RELP; syslog-ng over TCP, TLS and mutual TLS. Each
//! test sends 3,000 numbered messages into the relay with `logger` and asserts that exactly
//! those rows, each once, reach the mock of Azure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::time::Duration;

use tern_mock_azure::MockAzure;

use crate::support::pki::{Ca, Issued};
use crate::support::{
    Relay, free_port, relay_recipe, rsyslog_with, spawn_tern, stop_tern, syslog_ng_with,
};

const DCR: &str = "dcr-00000000000000000000000000000008";
const STREAM: &str = "Custom-TernSyslog";
const N: usize = 3000;

struct Setup {
    mock: MockAzure,
    dir: tempfile::TempDir,
    ca: Ca,
    server: Issued,
    relay_identity: Issued,
    metrics_port: u16,
}

/// Which Tern listener a relay talks to.
#[derive(Clone, Copy)]
enum Listener {
    Tcp,
    Tls,
    MutualTls,
    Relp,
    RelpMutualTls,
}

impl Setup {
    async fn new() -> Setup {
        let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
        mock.add_client("app", "right");
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "relays");
        let server = ca.server("tern", "tern.example.net");
        let relay_identity = ca.client("relay", "relay-01.example.net");
        Setup {
            mock,
            dir,
            ca,
            server,
            relay_identity,
            metrics_port: free_port(),
        }
    }

    /// Starts Tern with one listener of `kind` on a free port; returns it and the port.
    fn tern(&self, kind: Listener) -> (crate::support::Tern, u16) {
        let port = free_port();
        let tls = format!(
            "tls = {{ cert = \"{}\", key = \"{}\"",
            self.server.cert.display(),
            self.server.key.display()
        );
        let listen = match kind {
            Listener::Tcp => "protocol = \"tcp\"".to_owned(),
            Listener::Tls => format!("protocol = \"tls\"\n{tls} }}"),
            Listener::MutualTls => format!(
                "protocol = \"tls\"\n{tls}, client_ca = \"{}\" }}",
                self.ca.cert.display()
            ),
            Listener::Relp => "protocol = \"relp\"".to_owned(),
            Listener::RelpMutualTls => format!(
                "protocol = \"relp\"\n{tls}, client_ca = \"{}\" }}",
                self.ca.cert.display()
            ),
        };
        let text = format!(
            "hostname = \"fwd-relays\"\n[[listen]]\n{listen}\naddress = \"127.0.0.1:{port}\"\n\n\
             [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n{auth}\n\
             [[destination]]\nname = \"ws\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
             streams = {{ Syslog = \"{STREAM}\" }}\n\n[spool]\ndir = \"{spool}\"\n",
            metrics = self.metrics_port,
            auth = crate::support::secret_auth(self.dir.path(), &self.mock.url()),
            url = self.mock.url(),
            spool = self.dir.path().join("spool").display(),
        );
        let config = self.dir.path().join("tern.toml");
        std::fs::write(&config, text).unwrap();
        let child = spawn_tern(&config);
        drop(crate::support::connect_when_ready(port));
        (child, port)
    }

    /// The replacements that point a recipe at this Tern and these certificates.
    fn rsyslog_files(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "/etc/rsyslog.d/tern-ca.pem",
                self.ca.cert.display().to_string(),
            ),
            (
                "/etc/rsyslog.d/relay-cert.pem",
                self.relay_identity.cert.display().to_string(),
            ),
            (
                "/etc/rsyslog.d/relay-key.pem",
                self.relay_identity.key.display().to_string(),
            ),
        ]
    }

    fn syslog_ng_files(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "/etc/syslog-ng/tern-ca.pem",
                self.ca.cert.display().to_string(),
            ),
            (
                "/etc/syslog-ng/relay-cert.pem",
                self.relay_identity.cert.display().to_string(),
            ),
            (
                "/etc/syslog-ng/relay-key.pem",
                self.relay_identity.key.display().to_string(),
            ),
        ]
    }

    /// How often each sequence number with `marker` arrived.
    fn arrivals(&self, marker: &str) -> HashMap<usize, usize> {
        let mut counts = HashMap::new();
        for row in self.mock.rows(DCR, STREAM) {
            let message = row["SyslogMessage"].as_str().unwrap_or_default();
            if let Some(rest) = message.strip_prefix(&format!("{marker} seq=")) {
                *counts
                    .entry(rest.trim().parse::<usize>().unwrap())
                    .or_insert(0) += 1;
            }
        }
        counts
    }

    /// Sends N numbered messages into the relay at `relay_port` with `logger` (TCP, octet
    /// counting) and asserts each reaches the mock exactly once.
    async fn deliver_through(&self, relay_port: u16, marker: &str) {
        // One message first, through to the workspace: the relay's connection to Tern is up
        // before the run. rsyslog's gnutls client can fail its very first handshake on a
        // loaded machine and lose the message it was for (`reference/interop.md`: plain TCP
        // and TLS from rsyslog are at most once across a broken connection; RELP is the
        // lossless path, tested in `spool.rs`). What is measured is the steady connection.
        let warm_up = self.dir.path().join(format!("{marker}-warm-up.txt"));
        std::fs::write(&warm_up, format!("{marker}-warm-up seq=0\n")).unwrap();
        let mut sent: Option<std::time::Instant> = None;
        crate::support::wait_until_async(
            "the relay's first message",
            Duration::from_secs(60),
            || {
                if !self.arrivals(&format!("{marker}-warm-up")).is_empty() {
                    return true;
                }
                // Sent again every few seconds, in case the relay lost it.
                if sent.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
                    crate::support::logger_file(relay_port, "user.notice", "app", &warm_up);
                    sent = Some(std::time::Instant::now());
                }
                false
            },
        )
        .await;
        let file = self.dir.path().join(format!("{marker}.txt"));
        let lines: String = (0..N).map(|i| format!("{marker} seq={i}\n")).collect();
        std::fs::write(&file, lines).unwrap();
        crate::support::logger_file(relay_port, "user.notice", "app", &file);
        // Up to 60 s; what is missing is reported below.
        crate::support::poll_async(Duration::from_secs(60), || self.arrivals(marker).len() >= N)
            .await;
        // Duplicates, which may come later, are counted once Tern has stopped (`finish`).
        let arrivals = self.arrivals(marker);
        let missing: Vec<usize> = (0..N).filter(|s| !arrivals.contains_key(s)).collect();
        let duplicated: Vec<usize> = arrivals
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(s, _)| *s)
            .collect();
        assert!(
            missing.is_empty() && duplicated.is_empty(),
            "{marker}: {} of {N} arrived; missing {} (first {:?}); duplicated {duplicated:?}; \
             Tern's log:\n{}",
            arrivals.len(),
            missing.len(),
            missing.iter().take(10).collect::<Vec<_>>(),
            crate::support::tern_log(&self.dir.path().join("tern.toml"))
        );
        // The relay's rows carry what logger wrote: tag, facility and severity.
        let row = self
            .mock
            .rows(DCR, STREAM)
            .into_iter()
            .find(|r| r["SyslogMessage"] == format!("{marker} seq=0"))
            .unwrap();
        assert_eq!(row["ProcessName"], "app");
        assert_eq!(row["Facility"], "user");
        assert_eq!(row["SeverityLevel"], "notice");
        assert_eq!(row["CollectorHostName"], "fwd-relays");
    }

    fn metric(&self, name: &str, filter: &str) -> u64 {
        let (_, body) = crate::support::http_get(self.metrics_port, "/metrics").unwrap_or_default();
        crate::support::metric_sum(&body, name, filter)
    }
}

/// Stops the relay and Tern; over mutual TLS, the relay's certificate subject was counted.
async fn finish(setup: &Setup, kind: Listener, tern: crate::support::Tern, relay: Relay) {
    if matches!(kind, Listener::MutualTls | Listener::RelpMutualTls) {
        assert!(
            setup.metric(
                "tern_tls_peer_connections_total",
                "subject=\"CN=relay-01.example.net\""
            ) >= 1
        );
    }
    drop(relay);
    assert!(stop_tern(tern).await.success());
    // Stopped, Tern has made every upload it will: each message is there exactly once.
    let messages: Vec<String> = setup
        .mock
        .rows(DCR, STREAM)
        .iter()
        .map(|r| r["SyslogMessage"].as_str().unwrap_or_default().to_owned())
        .filter(|m| !m.contains("-warm-up seq="))
        .collect();
    let distinct: std::collections::HashSet<&String> = messages.iter().collect();
    assert_eq!(distinct.len(), messages.len(), "no message twice");
    assert_eq!(messages.len(), N, "every message once");
}

/// An rsyslog recipe without certificates (TCP, RELP): its host and port pointed at Tern.
async fn rsyslog_plain(kind: Listener, recipe: &str, default_port: &str, marker: &str) {
    let setup = Setup::new().await;
    let (tern, port) = setup.tern(kind);
    let relay_port = free_port();
    let port_setting = format!("port=\"{port}\"");
    let relay = rsyslog_with(
        relay_port,
        &relay_recipe(
            recipe,
            &[("TERN_HOST", "127.0.0.1"), (default_port, &port_setting)],
        ),
    );
    setup.deliver_through(relay_port, marker).await;
    finish(&setup, kind, tern, relay).await;
}

pub(crate) async fn rsyslog_over_tcp() {
    rsyslog_plain(
        Listener::Tcp,
        "rsyslog-tcp-to-tern.conf",
        "port=\"514\"",
        "rsyslog-tcp",
    )
    .await;
}

async fn rsyslog_over_tls(kind: Listener, recipe: &str, marker: &str) {
    let setup = Setup::new().await;
    let (tern, port) = setup.tern(kind);
    let relay_port = free_port();
    let port_setting = format!("port=\"{port}\"");
    let files = setup.rsyslog_files();
    let default_port = if matches!(kind, Listener::RelpMutualTls) {
        "port=\"2514\""
    } else {
        "port=\"6514\""
    };
    let mut replace: Vec<(&str, &str)> =
        vec![("TERN_HOST", "localhost"), (default_port, &port_setting)];
    for (from, to) in &files {
        if relay_recipe(recipe, &[]).contains(from) {
            replace.push((from, to));
        }
    }
    let relay = rsyslog_with(relay_port, &relay_recipe(recipe, &replace));
    setup.deliver_through(relay_port, marker).await;
    finish(&setup, kind, tern, relay).await;
}

pub(crate) async fn rsyslog_over_relp_in_mutual_tls() {
    rsyslog_over_tls(
        Listener::RelpMutualTls,
        "rsyslog-relp-tls-to-tern.conf",
        "rsyslog-relp-tls",
    )
    .await;
}

pub(crate) async fn rsyslog_over_tls_server_authenticated() {
    rsyslog_over_tls(Listener::Tls, "rsyslog-tls-to-tern.conf", "rsyslog-tls").await;
}

/// The case `reference/interop.md` saw lose messages against another TLS 1.3 server.
pub(crate) async fn rsyslog_over_mutual_tls() {
    rsyslog_over_tls(
        Listener::MutualTls,
        "rsyslog-mtls-to-tern.conf",
        "rsyslog-mtls",
    )
    .await;
}

pub(crate) async fn rsyslog_over_relp() {
    rsyslog_plain(
        Listener::Relp,
        "rsyslog-relp-to-tern.conf",
        "port=\"2514\"",
        "rsyslog-relp",
    )
    .await;
}

async fn syslog_ng_to(kind: Listener, recipe: &str, default_port: &str, marker: &str) {
    let setup = Setup::new().await;
    let (tern, port) = setup.tern(kind);
    let relay_port = free_port();
    let port_setting = format!("port({port})");
    let files = setup.syslog_ng_files();
    let host = if matches!(kind, Listener::Tcp) {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let mut replace: Vec<(&str, &str)> = vec![("TERN_HOST", host), (default_port, &port_setting)];
    for (from, to) in &files {
        if relay_recipe(recipe, &[]).contains(from) {
            replace.push((from, to));
        }
    }
    let relay = syslog_ng_with(relay_port, &relay_recipe(recipe, &replace));
    setup.deliver_through(relay_port, marker).await;
    finish(&setup, kind, tern, relay).await;
}

pub(crate) async fn syslog_ng_over_tcp() {
    syslog_ng_to(
        Listener::Tcp,
        "syslog-ng-tcp-to-tern.conf",
        "port(514)",
        "sng-tcp",
    )
    .await;
}

pub(crate) async fn syslog_ng_over_tls() {
    syslog_ng_to(
        Listener::Tls,
        "syslog-ng-tls-to-tern.conf",
        "port(6514)",
        "sng-tls",
    )
    .await;
}

pub(crate) async fn syslog_ng_over_mutual_tls() {
    syslog_ng_to(
        Listener::MutualTls,
        "syslog-ng-mtls-to-tern.conf",
        "port(6514)",
        "sng-mtls",
    )
    .await;
}
