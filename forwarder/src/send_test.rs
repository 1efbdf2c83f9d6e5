//! `tern send-test`: sends sample events (plain syslog, CEF, Cisco ASA) to a Tern over UDP, TCP
//! or TLS, then, given the Tern's metrics endpoint (from its config), follows them through the
//! counters: received, filtered or dropped, parsed by kind, shaped into rows by table, and
//! uploaded. Each run marks its syslog and CEF events with a run id, so they can be found in
//! the workspace (`Syslog | where SyslogMessage has "<run id>"`).

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, ServerName};

use crate::dcr::routing::EventKind;
use crate::marked::RunCounts;

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Syslog,
    Cef,
    Asa,
}

impl Kind {
    pub fn from_name(name: &str) -> Option<Vec<Kind>> {
        Some(match name {
            "syslog" => vec![Kind::Syslog],
            "cef" => vec![Kind::Cef],
            "asa" => vec![Kind::Asa],
            "all" => vec![Kind::Syslog, Kind::Cef, Kind::Asa],
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// The command's options.
pub struct SendTest {
    pub to: String,
    pub transport: Transport,
    pub kinds: Vec<Kind>,
    /// TLS: the CA that signed Tern's certificate; with `cert`/`key`, a client identity.
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub server_name: Option<String>,
    /// Tern's metrics endpoint (`http://host:port`), to follow the events.
    pub metrics: Option<String>,
    pub wait: Duration,
    /// Tern's configuration and its compiled DCRs (from `--config`): they explain why an event
    /// was filtered or a row not uploaded.
    pub loaded: Option<(crate::config::Config, crate::dcr::Compiled)>,
}

/// One sample message, RFC 3164 as most devices send (the run id in the syslog and CEF ones).
fn sample(kind: Kind, run: &str, host: &str) -> String {
    let now = crate::pipeline::now();
    let mut stamp = String::new();
    let _ = now.write_rfc3339_utc(0, &mut stamp);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let bsd = format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS
            .get(usize::from(now.month.saturating_sub(1)))
            .unwrap_or(&"Jan"),
        now.day,
        now.hour,
        now.minute,
        now.second
    );
    match kind {
        // user.notice
        Kind::Syslog => format!("<13>1 {stamp} {host} tern-send-test - - - tern send-test {run}"),
        // local4.info, where Sentinel's CEF connector DCRs collect by default.
        Kind::Cef => format!(
            "<166>1 {stamp} {host} CEF - - - CEF:0|Tern|send-test|1.0|100|Tern send-test event|3|src=192.0.2.10 dst=198.51.100.20 spt=51000 dpt=443 proto=TCP act=allowed msg=tern send-test {run}"
        ),
        Kind::Asa => format!(
            "<166>{bsd} {host} : %ASA-6-302013: Built outbound TCP connection 1001 for outside:198.51.100.20/443 (198.51.100.20/443) to inside:192.0.2.10/51000 (192.0.2.10/51000)"
        ),
    }
}

/// The counters an event passes, summed from the exposition text.
/// This run's own counts, as Tern keeps them for events it marked (`crate::marked`); `None`
/// until Tern has seen one of them.
fn read_run(metrics: &str, run: &str) -> Result<Option<RunCounts>, String> {
    let (status, text) = crate::health::get(
        &format!("{metrics}/send-test/{run}"),
        Duration::from_secs(5),
    )?;
    match status {
        200 => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{metrics}/send-test/{run}: {e}")),
        404 => Ok(None),
        other => Err(format!("{metrics}/send-test/{run} answered {other}")),
    }
}

fn tls_config(options: &SendTest) -> Result<Arc<rustls::ClientConfig>, String> {
    let ca = options
        .ca
        .as_ref()
        .ok_or("TLS needs --ca: the CA certificate (PEM) that signed Tern's certificate")?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in crate::listen::tls::read_certificates("--ca", ca)? {
        roots
            .add(certificate)
            .map_err(|e| format!("--ca {}: {e}", ca.display()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    let config = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => {
            let chain = crate::listen::tls::read_certificates("--cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("--key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("--cert/--key: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("give both --cert and --key for a client certificate".to_owned()),
    };
    Ok(Arc::new(config))
}

fn send(options: &SendTest, address: SocketAddr, messages: &[String]) -> Result<(), String> {
    match options.transport {
        Transport::Udp => {
            let bind = if address.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
            for message in messages {
                socket
                    .send_to(message.as_bytes(), address)
                    .map_err(|e| format!("{address}: {e}"))?;
            }
            Ok(())
        }
        Transport::Tcp | Transport::Tls => {
            let mut frames = Vec::new();
            for message in messages {
                // RFC 6587 octet counting: what relays send and what survives any content.
                frames.extend_from_slice(format!("{} {message}", message.len()).as_bytes());
            }
            let tcp = TcpStream::connect_timeout(&address, Duration::from_secs(5))
                .map_err(|e| format!("cannot connect to {address}: {e}"))?;
            if options.transport == Transport::Tcp {
                let mut tcp = tcp;
                return tcp
                    .write_all(&frames)
                    .map_err(|e| format!("{address}: {e}"));
            }
            let host = options.server_name.clone().unwrap_or_else(|| {
                options
                    .to
                    .rsplit_once(':')
                    .map_or(options.to.clone(), |(h, _)| {
                        h.trim_matches(['[', ']']).to_owned()
                    })
            });
            let name = ServerName::try_from(host.clone())
                .map_err(|e| format!("server name `{host}`: {e}"))?;
            let connection = rustls::ClientConnection::new(tls_config(options)?, name)
                .map_err(|e| e.to_string())?;
            let mut stream = rustls::StreamOwned::new(connection, tcp);
            while stream.conn.is_handshaking() {
                stream
                    .conn
                    .complete_io(&mut stream.sock)
                    .map_err(|e| format!("TLS handshake with {address} ({host}): {e}"))?;
            }
            stream
                .write_all(&frames)
                .and_then(|()| {
                    stream.conn.send_close_notify();
                    stream.flush()
                })
                .map_err(|e| format!("{address}: {e}"))
        }
    }
}

/// Runs the test; `Ok` lines to print when everything arrived where expected, `Err` lines
/// (the last one says what to do) otherwise.
pub fn run(options: &SendTest) -> Result<Vec<String>, Vec<String>> {
    let address = options
        .to
        .to_socket_addrs()
        .map_err(|e| vec![format!("--to {}: {e}", options.to)])?
        .next()
        .ok_or_else(|| vec![format!("--to {}: no address", options.to)])?;
    let run_id = format!(
        "run-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    );
    // The mark: Tern counts events with this header hostname per run (`crate::marked`).
    let host = format!("{}{run_id}", crate::marked::HOST_PREFIX);
    let messages: Vec<String> = options
        .kinds
        .iter()
        .map(|k| sample(*k, &run_id, &host))
        .collect();
    if let Some(metrics) = &options.metrics {
        crate::health::get(&format!("{metrics}/healthz"), Duration::from_secs(5)).map_err(|e| {
            vec![
                format!("cannot reach Tern's metrics endpoint: {e}"),
                "is Tern running with [metrics] address as in its config?".to_owned(),
            ]
        })?;
    }
    let mut lines = vec![format!(
        "sending {} event(s) over {:?} to {address} (run id {run_id})",
        messages.len(),
        options.transport
    )];
    send(options, address, &messages).map_err(|e| {
        let mut l = lines.clone();
        l.push(e);
        l.push("check the address, the port and that a Tern listener of this protocol is there (tern doctor)".to_owned());
        l
    })?;
    lines.push(format!("sent {}", messages.len()));
    let query = format!(
        "in the workspace: Syslog | where Computer == \"{host}\" / CommonSecurityLog | where Computer == \"{host}\""
    );
    let Some(metrics) = &options.metrics else {
        lines.push(format!(
            "give --config (or --metrics) to follow them through Tern; {query}"
        ));
        return Ok(lines);
    };
    let sent = messages.len() as u64;
    let deadline = Instant::now() + options.wait;
    let mut counts = RunCounts::default();
    loop {
        if let Ok(Some(now)) = read_run(metrics, &run_id) {
            counts = now;
        }
        let rows = counts.syslog_rows + counts.common_security_log_rows;
        let settled = counts.received() >= sent
            && counts.filtered + rows + counts.no_uploader >= sent
            && counts.uploaded >= counts.queued;
        if settled || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    lines.push(format!(
        "Tern received {} of {sent} (parsed: text {}, cef {}, cisco_asa {}), filtered {}",
        counts.received(),
        counts.text,
        counts.cef,
        counts.asa,
        counts.filtered
    ));
    lines.push(format!(
        "rows: Syslog {}, CommonSecurityLog {}; queued for upload {}, uploaded {}, local outputs {}, no uploader {}",
        counts.syslog_rows,
        counts.common_security_log_rows,
        counts.queued,
        counts.uploaded,
        counts.local,
        counts.no_uploader
    ));
    lines.push(query);
    match diagnose(options, sent, &counts) {
        None => {
            lines.push(if counts.queued == 0 {
                "ok: every event arrived and became a row (local outputs: nothing is uploaded)"
                    .to_owned()
            } else {
                "ok: every event arrived, became a row and was uploaded".to_owned()
            });
            Ok(lines)
        }
        Some(problems) => {
            lines.extend(problems);
            Err(lines)
        }
    }
}

/// What went wrong for this run, worded for the operator, or `None` when nothing did.
fn diagnose(options: &SendTest, sent: u64, counts: &RunCounts) -> Option<Vec<String>> {
    let mut problems = Vec::new();
    if counts.received() < sent {
        problems.push(format!(
            "Tern received {} of {sent}: check firewalls between here and Tern, the address, and \
             tern_dropped_total (rejected_sender: the listener's allow list)",
            counts.received()
        ));
    }
    if counts.filtered > 0 {
        problems.extend(why_filtered(options));
        if problems.len() < 2 {
            problems.push(format!(
                "{} event(s) were filtered by the collection DCRs (see `tern check` for the routing)",
                counts.filtered
            ));
        }
    }
    if counts.no_uploader > 0 {
        problems.push(format!(
            "{} row(s) had no uploader to go to and were dropped:",
            counts.no_uploader
        ));
        match &options.loaded {
            Some((config, compiled)) => problems.extend(
                crate::preflight::upload_gaps(config, compiled)
                    .into_iter()
                    .map(|gap| format!("  {gap}")),
            ),
            None => problems.push("  run `tern check` on Tern's configuration".to_owned()),
        }
    }
    if counts.uploaded < counts.queued {
        problems.push(format!(
            "{} of {} row(s) were not uploaded within {:?}: run `tern doctor` (credential, role, \
             endpoint) and see Tern's log (it names the cause of failing uploads)",
            counts.queued - counts.uploaded,
            counts.queued,
            options.wait
        ));
    }
    (!problems.is_empty()).then_some(problems)
}

/// For each sample kind the collection DCRs do not select, why: no DCR has the stream for
/// that kind at all, or the facility and severity are not among those selected.
fn why_filtered(options: &SendTest) -> Vec<String> {
    let Some((_, compiled)) = &options.loaded else {
        return Vec::new();
    };
    let routing = &compiled.routing;
    let selected = |facility: u8, severity: u8, kind: EventKind| {
        routing
            .lookup(Some(facility), severity, kind)
            .is_none_or(|routes| !routes.is_empty())
    };
    let mut reasons = Vec::new();
    for kind in &options.kinds {
        // The samples' facility and severity: user.notice, and local4.info for CEF and ASA.
        let (event_kind, facility, severity, stream, what) = match kind {
            Kind::Syslog => (EventKind::Syslog, 1, 5, "Microsoft-Syslog", "syslog"),
            Kind::Cef => (EventKind::Cef, 20, 6, "Microsoft-CommonSecurityLog", "CEF"),
            Kind::Asa => (EventKind::Asa, 20, 6, "Microsoft-CiscoAsa", "Cisco ASA"),
        };
        if selected(facility, severity, event_kind) {
            continue;
        }
        let any = (0..24u8).any(|f| (0..8u8).any(|s| selected(f, s, event_kind)));
        reasons.push(if any {
            format!(
                "the {what} sample ({}) is filtered: the collection DCRs do not select that \
                 facility and severity for {what} events",
                if facility == 1 {
                    "user.notice"
                } else {
                    "local4.info"
                }
            )
        } else {
            format!(
                "the {what} sample is filtered: no collection DCR has the {stream} stream, so \
                 {what} events are not collected (add it to a DCR's dataSources, as the \
                 Sentinel connector for {what} does)"
            )
        });
    }
    reasons
}
