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

use crate::metrics::sum_in as sum;

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
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    received: f64,
    filtered: f64,
    dropped: f64,
    parsed_text: f64,
    parsed_cef: f64,
    parsed_asa: f64,
    rows_syslog: f64,
    rows_csl: f64,
    uploaded: f64,
}

fn read_counters(metrics: &str) -> Result<Counters, String> {
    let (status, text) = crate::health::get(&format!("{metrics}/metrics"), Duration::from_secs(5))?;
    if status != 200 {
        return Err(format!("{metrics}/metrics answered {status}"));
    }
    Ok(Counters {
        received: sum(&text, "tern_received_total", ""),
        filtered: sum(&text, "tern_filtered_total", ""),
        dropped: sum(&text, "tern_dropped_total", ""),
        parsed_text: sum(&text, "tern_parsed_total", "kind=\"text\""),
        parsed_cef: sum(&text, "tern_parsed_total", "kind=\"cef\""),
        parsed_asa: sum(&text, "tern_parsed_total", "kind=\"cisco_asa\""),
        rows_syslog: sum(&text, "tern_rows_total", "table=\"Syslog\""),
        rows_csl: sum(&text, "tern_rows_total", "table=\"CommonSecurityLog\""),
        uploaded: sum(&text, "tern_upload_rows_total", ""),
    })
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
    let host = crate::config::system_hostname();
    let messages: Vec<String> = options
        .kinds
        .iter()
        .map(|k| sample(*k, &run_id, &host))
        .collect();
    let before = match &options.metrics {
        Some(m) => Some(read_counters(m).map_err(|e| {
            vec![
                format!("cannot read Tern's metrics: {e}"),
                "is Tern running with [metrics] address as in its config?".to_owned(),
            ]
        })?),
        None => None,
    };
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
    let (Some(metrics), Some(before)) = (&options.metrics, before) else {
        lines.push(format!(
            "give --config (or --metrics) to follow them through Tern; in the workspace: Syslog | where SyslogMessage has \"{run_id}\""
        ));
        return Ok(lines);
    };
    let sent = messages.len() as f64;
    let want_csl = options.kinds.iter().filter(|k| **k != Kind::Syslog).count() as f64;
    let deadline = Instant::now() + options.wait;
    let mut now = before;
    loop {
        if let Ok(c) = read_counters(metrics) {
            now = c;
        }
        let received = now.received - before.received;
        let rows = (now.rows_syslog + now.rows_csl) - (before.rows_syslog + before.rows_csl);
        let uploaded = now.uploaded - before.uploaded;
        let filtered = now.filtered - before.filtered;
        let settled = received >= sent && (rows + filtered >= sent) && (uploaded >= rows);
        if settled || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let delta = |a: f64, b: f64| (a - b).max(0.0);
    let received = delta(now.received, before.received);
    let filtered = delta(now.filtered, before.filtered);
    let dropped = delta(now.dropped, before.dropped);
    let rows_syslog = delta(now.rows_syslog, before.rows_syslog);
    let rows_csl = delta(now.rows_csl, before.rows_csl);
    let uploaded = delta(now.uploaded, before.uploaded);
    lines.push(format!(
        "Tern received {received} (parsed: text {}, cef {}, cisco_asa {}), filtered {filtered}, dropped {dropped}",
        delta(now.parsed_text, before.parsed_text),
        delta(now.parsed_cef, before.parsed_cef),
        delta(now.parsed_asa, before.parsed_asa)
    ));
    lines.push(format!(
        "rows: Syslog {rows_syslog}, CommonSecurityLog {rows_csl}; uploaded {uploaded}"
    ));
    lines.push(format!(
        "in the workspace: Syslog | where SyslogMessage has \"{run_id}\" / CommonSecurityLog | where Message has \"{run_id}\""
    ));
    // Counters are shared with other senders: more than sent is fine, less is not.
    let problem = if received < sent {
        Some(format!(
            "Tern received {received} of {sent}: check firewalls between here and Tern, the address, and tern_dropped_total (rejected_sender: the listener's allow list)"
        ))
    } else if filtered > 0.0 && rows_syslog + rows_csl < sent {
        Some("some events were filtered by the collection DCR: it does not select user.notice (syslog) or local4.info (CEF/ASA); see `tern check` for the routing".to_owned())
    } else if rows_csl < want_csl {
        Some("CEF/ASA events did not become CommonSecurityLog rows: check the DCR has a Microsoft-CommonSecurityLog source (tern check)".to_owned())
    } else if uploaded < rows_syslog + rows_csl {
        Some(format!(
            "rows were not uploaded within {:?}: run `tern doctor` (credential, role, endpoint), and see tern_upload_requests_total",
            options.wait
        ))
    } else {
        None
    };
    match problem {
        None => {
            lines.push("ok: every event arrived, became a row and was uploaded".to_owned());
            Ok(lines)
        }
        Some(p) => {
            lines.push(p);
            Err(lines)
        }
    }
}
