//! The load generator: a realistic mix of corpus messages (CEF, Cisco ASA, RFC 3164, RFC 5424),
//! each carrying `tseq=N` so the sink can count losses and duplicates, sent over TCP (several
//! connections, LF or octet-counted framing) or UDP, at full speed or a fixed rate.
//!
//! Messages are formatted into large buffers and written with few syscalls: a generator that
//! costs more than the forwarder under test would measure itself (`loggen` spends about 5 µs of
//! CPU per message on this machine; this one well under 1).

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use tern_benches::corpus_lines;
use tern_parsers::{Body, Options, Timestamp, parse};

/// Which kinds of message, in what proportions (percent).
#[derive(Debug, Clone)]
pub struct Mix {
    /// Message lines, each ending where ` tseq=N` is appended; repeated in this order.
    lines: Vec<String>,
}

/// The kinds a mix can draw from, with the corpus folder and how Tern must read them.
const KINDS: [(&str, &str); 4] = [
    ("cef", "cef"),
    ("asa", "cisco_asa"),
    ("rfc3164", "rfc3164"),
    ("rfc5424", "rfc5424"),
];

impl Mix {
    /// `spec` like `cef=60,asa=15,rfc3164=15,rfc5424=10`: lines drawn from the corpus folders
    /// in these proportions (per 100 messages), kept only when Tern reads them as that kind
    /// with a PRI (so every forwarder gets well-formed syslog), valid UTF-8, one line each.
    pub fn from_spec(spec: &str) -> Result<Mix, String> {
        let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
        let mut pools: Vec<(Vec<String>, usize)> = Vec::new();
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (kind, share) = part
                .split_once('=')
                .ok_or_else(|| format!("mix part `{part}`: use kind=percent"))?;
            let share: usize = share
                .parse()
                .map_err(|_| format!("mix part `{part}`: not a number"))?;
            let folder = KINDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, f)| *f)
                .ok_or_else(|| format!("mix kind `{kind}`: use cef, asa, rfc3164 or rfc5424"))?;
            let pool: Vec<String> = corpus_lines(folder)
                .into_iter()
                // Cisco ISE segments are left out: Tern puts them back together, so numbered
                // copies of one segment would be joined into one row (every number still counted,
                // but a lost datagram would hold its group until the next one arrives).
                .filter(|l| l.starts_with('<') && !l.contains("tseq=") && l.len() < 2000)
                .filter(|l| !l.contains("CISE_") && !l.contains("CSCOacs_"))
                .filter(|l| {
                    // Well-formed (no anomaly), and the appended number lands in the message
                    // (not in a truncated header's PROCID), for every forwarder alike.
                    let tagged = format!("{} tseq=1", l.trim_end());
                    parse(tagged.as_bytes(), &options).is_ok_and(|e| {
                        e.pri.is_some()
                            && e.anomalies.is_empty()
                            && e.message.ends_with(b" tseq=1")
                            && match kind {
                                "cef" => matches!(e.body, Body::Cef(_)),
                                "asa" => matches!(e.body, Body::CiscoAsa(_)),
                                _ => matches!(e.body, Body::Text),
                            }
                    })
                })
                .map(|l| l.trim_end().to_owned())
                .collect();
            if pool.is_empty() {
                return Err(format!("no usable {kind} lines in the corpus ({folder}/)"));
            }
            pools.push((pool, share));
        }
        let mut lines = Vec::new();
        // 100 rounds: each kind contributes its share of every 100 messages.
        for round in 0..100 {
            for (pool, share) in &pools {
                for i in 0..*share {
                    if let Some(line) = pool.get((round * share + i) % pool.len()) {
                        lines.push(line.clone());
                    }
                }
            }
        }
        if lines.is_empty() {
            return Err("the mix is empty".to_owned());
        }
        Ok(Mix { lines })
    }

    /// The line message `seq` is made of.
    pub fn line_of(&self, seq: u64) -> &str {
        let index = usize::try_from(seq).unwrap_or(0) % self.lines.len();
        self.lines.get(index).map_or("", String::as_str)
    }

    /// Average message size in bytes (without framing and sequence number).
    pub fn average_bytes(&self) -> usize {
        self.lines.iter().map(String::len).sum::<usize>() / self.lines.len().max(1)
    }

    /// Appends message `seq`, framed, to `out`.
    fn write(&self, seq: u64, octet_counted: bool, out: &mut Vec<u8>) {
        let index = usize::try_from(seq).unwrap_or(0) % self.lines.len();
        let line = self.lines.get(index).map_or("", String::as_str);
        let mut number = itoa::Buffer::new();
        let number = number.format(seq);
        if octet_counted {
            let len = line.len() + 6 + number.len();
            let mut prefix = itoa::Buffer::new();
            out.extend_from_slice(prefix.format(len).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b" tseq=");
        out.extend_from_slice(number.as_bytes());
        if !octet_counted {
            out.push(b'\n');
        }
    }

    /// Message `seq` alone (a datagram).
    fn datagram(&self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        self.write(seq, true, out);
        // Drop the octet count: a datagram is one message.
        if let Some(space) = out.iter().position(|&b| b == b' ') {
            out.drain(..=space);
        }
    }
}

/// What a sender did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub messages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// How fast to send: `None` is as fast as the receiver takes them.
fn pace(start: Instant, sent: u64, rate: Option<u64>) {
    let Some(rate) = rate.filter(|r| *r > 0) else {
        return;
    };
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    let elapsed = start.elapsed();
    if due > elapsed {
        std::thread::sleep(due - elapsed);
    }
}

/// Sends `count` messages (sequence numbers `0..count`) over `connections` TCP connections,
/// message `n` on connection `n % connections`, at `rate` messages/s in total (or full speed).
pub fn send_tcp(
    mix: &Mix,
    to: SocketAddr,
    connections: usize,
    count: u64,
    rate: Option<u64>,
    octet_counted: bool,
) -> std::io::Result<Sent> {
    let connections = connections.max(1);
    let start = Instant::now();
    let results: Vec<std::io::Result<Sent>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                scope.spawn(move || -> std::io::Result<Sent> {
                    let mut stream = TcpStream::connect(to)?;
                    stream.set_nodelay(false)?;
                    let mut buffer = Vec::with_capacity(256 * 1024);
                    let mut sent = Sent::default();
                    let per_connection_rate = rate.map(|r| r / connections as u64);
                    let mut seq = c as u64;
                    let mut mine = 0u64;
                    while seq < count {
                        mix.write(seq, octet_counted, &mut buffer);
                        seq += connections as u64;
                        mine += 1;
                        if buffer.len() >= 128 * 1024
                            || seq >= count
                            || mine % 256 == 0 && rate.is_some()
                        {
                            stream.write_all(&buffer)?;
                            sent.bytes += buffer.len() as u64;
                            buffer.clear();
                            pace(start, mine, per_connection_rate);
                        }
                    }
                    stream.flush()?;
                    sent.messages = mine;
                    sent.elapsed = start.elapsed();
                    Ok(sent)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("sender panicked")))
            })
            .collect()
    });
    let mut total = Sent::default();
    for result in results {
        let sent = result?;
        total.messages += sent.messages;
        total.bytes += sent.bytes;
        total.elapsed = total.elapsed.max(sent.elapsed);
    }
    Ok(total)
}

/// Sends `count` datagrams at `rate` per second, round-robin from `sources` sockets (several
/// devices: the receiver's `SO_REUSEPORT` sockets each get a share).
pub fn send_udp(
    mix: &Mix,
    to: SocketAddr,
    sources: usize,
    count: u64,
    rate: Option<u64>,
) -> std::io::Result<Sent> {
    let sockets = (0..sources.max(1))
        .map(|_| {
            let socket = UdpSocket::bind(("127.0.0.1", 0))?;
            socket.connect(to)?;
            Ok(socket)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let start = Instant::now();
    let mut datagram = Vec::with_capacity(2048);
    let mut sent = Sent::default();
    for seq in 0..count {
        mix.datagram(seq, &mut datagram);
        let index = usize::try_from(seq).unwrap_or(0) % sockets.len();
        let Some(socket) = sockets.get(index) else {
            continue;
        };
        // A full socket buffer on the sending side is our problem, not the receiver's: retry.
        loop {
            match socket.send(&datagram) {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) if e.raw_os_error() == Some(105) => std::thread::yield_now(), // ENOBUFS
                Err(e) => return Err(e),
            }
        }
        sent.bytes += datagram.len() as u64;
        if seq % 64 == 63 {
            pace(start, seq + 1, rate);
        }
    }
    sent.messages = count;
    sent.elapsed = start.elapsed();
    Ok(sent)
}
