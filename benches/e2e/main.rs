//! The end-to-end load benchmark: Tern, rsyslog and syslog-ng doing the same job on this
//! machine (syslog over TCP in, JSON rows out to a local sink), measured by events delivered,
//! CPU seconds of the forwarder process, peak RSS and loss; then Tern alone at full speed, on
//! CEF only, over UDP at a fixed rate, and at 100,000 events/s through an upstream outage.
//!
//! One command: `benches/e2e/run.sh` (builds, then runs this). See `benches/README.md` for the
//! figures and `peers.rs` for exactly what each forwarder does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod generator;
mod peers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use generator::Mix;
use tern_mock_azure::{MockAzure, Sequences};
use tokio::io::AsyncReadExt;

const DCR: &str = "dcr-bench";
const STREAM_SYSLOG: &str = "Custom-BenchSyslog";
const STREAM_CSL: &str = "Custom-BenchCEF";

struct Args {
    runs: usize,
    count: u64,
    connections: usize,
    mix: String,
    peers: Vec<String>,
    scenarios: Vec<String>,
    udp_rate: u64,
    udp_seconds: u64,
    memory_rate: u64,
    memory_seconds: u64,
    outage_seconds: u64,
    tern: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        runs: 3,
        count: 1_000_000,
        connections: 4,
        mix: "cef=60,asa=15,rfc3164=15,rfc5424=10".to_owned(),
        peers: vec![
            "tern".into(),
            "rsyslog".into(),
            "rsyslog-zlib".into(),
            "syslog-ng".into(),
        ],
        scenarios: vec![
            "compare".into(),
            "max".into(),
            "cef".into(),
            "udp".into(),
            "memory".into(),
        ],
        udp_rate: 200_000,
        udp_seconds: 60,
        memory_rate: 100_000,
        memory_seconds: 300,
        outage_seconds: 120,
        tern: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/tern"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--runs" => a.runs = usize::try_from(number(value()?)?).unwrap_or(1).max(1),
            "--count" => a.count = number(value()?)?,
            "--connections" => a.connections = usize::try_from(number(value()?)?).unwrap_or(1),
            "--mix" => a.mix = value()?,
            "--peers" => a.peers = value()?.split(',').map(str::to_owned).collect(),
            "--scenarios" => a.scenarios = value()?.split(',').map(str::to_owned).collect(),
            "--udp-rate" => a.udp_rate = number(value()?)?,
            "--udp-seconds" => a.udp_seconds = number(value()?)?,
            "--memory-rate" => a.memory_rate = number(value()?)?,
            "--memory-seconds" => a.memory_seconds = number(value()?)?,
            "--outage-seconds" => a.outage_seconds = number(value()?)?,
            "--tern" => a.tern = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!(
                    "usage: e2e [--scenarios compare,max,cef,transform,udp,memory] [--peers tern,rsyslog,rsyslog-zlib,syslog-ng]\n\
                     \x20          [--runs 3] [--count 1000000] [--connections 4] [--mix cef=60,asa=15,rfc3164=15,rfc5424=10]\n\
                     \x20          [--udp-rate 200000] [--udp-seconds 60] [--memory-rate 100000] [--memory-seconds 300]\n\
                     \x20          [--outage-seconds 120] [--tern target/release/tern]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(a)
}

/// The sinks: the mock Logs Ingestion API (Tern, syslog-ng) and a TCP line sink (rsyslog).
struct Sinks {
    mock: MockAzure,
    lines: Arc<Mutex<Sequences>>,
    config: peers::Sink,
}

impl Sinks {
    fn reset(&self) {
        self.mock.set_sequence_check(true);
        if let Ok(mut l) = self.lines.lock() {
            *l = Sequences::default();
        }
    }

    fn delivered(&self, peer: &str) -> Sequences {
        if peer.starts_with("rsyslog") {
            self.lines.lock().map(|l| l.clone()).unwrap_or_default()
        } else {
            self.mock.sequences()
        }
    }
}

/// rsyslog's rows, one JSON object per line; a connection whose first byte is a zlib header
/// (`0x78`, `omfwd` with `compression.mode="stream:always"`) is inflated first.
async fn line_sink(listener: tokio::net::TcpListener, seen: Arc<Mutex<Sequences>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut raw = vec![0u8; 1 << 16];
            let mut pending: Vec<u8> = Vec::with_capacity(1 << 20);
            let mut zlib: Option<Option<flate2::Decompress>> = None;
            loop {
                let n = match stream.read(&mut raw).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let chunk = raw.get(..n).unwrap_or_default();
                let inflater = zlib.get_or_insert_with(|| {
                    (chunk.first() == Some(&0x78)).then(|| flate2::Decompress::new(true))
                });
                match inflater {
                    None => pending.extend_from_slice(chunk),
                    Some(inflater) => {
                        if !inflate_into(inflater, chunk, &mut pending) {
                            eprintln!("line sink: the zlib stream is corrupt");
                            return;
                        }
                    }
                }
                // Whole lines only: a number cut by a read must not count twice.
                if let Some(end) = pending.iter().rposition(|&c| c == b'\n') {
                    if let Ok(mut s) = seen.lock() {
                        s.record(pending.get(..=end).unwrap_or_default());
                    }
                    pending.drain(..=end);
                }
            }
        });
    }
}

/// Inflates all of `input` onto the end of `out`; false if the stream is corrupt.
fn inflate_into(inflater: &mut flate2::Decompress, mut input: &[u8], out: &mut Vec<u8>) -> bool {
    while !input.is_empty() {
        out.reserve(1 << 16);
        let (in_before, out_before) = (inflater.total_in(), out.len());
        if inflater
            .decompress_vec(input, out, flate2::FlushDecompress::None)
            .is_err()
        {
            return false;
        }
        let used = usize::try_from(inflater.total_in() - in_before).unwrap_or(usize::MAX);
        input = input.get(used..).unwrap_or_default();
        if used == 0 && out.len() == out_before {
            // The stream ended (or wants no more input): what follows is not zlib.
            return input.is_empty();
        }
    }
    true
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

/// One measured run.
#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    sent: u64,
    delivered: u64,
    duplicates: u64,
    seconds: f64,
    cpu: f64,
    rss: u64,
}

impl Measured {
    fn events_per_second(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }
    fn events_per_cpu_second(&self) -> f64 {
        self.delivered as f64 / self.cpu.max(1e-9)
    }
    fn cpu_per_million(&self) -> f64 {
        self.cpu / (self.delivered.max(1) as f64) * 1e6
    }
    fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.delivered)
    }
}

/// Waits until `sent` distinct numbers arrived, or nothing new came for `quiet`; returns what
/// arrived and when the last of it did.
fn wait_delivered(
    sinks: &Sinks,
    peer: &str,
    sent: u64,
    start: Instant,
    quiet: Duration,
) -> (Sequences, f64) {
    let mut last = (0u64, start.elapsed().as_secs_f64(), Instant::now());
    loop {
        let got = sinks.delivered(peer);
        if got.unique != last.0 {
            last = (got.unique, start.elapsed().as_secs_f64(), Instant::now());
        }
        if got.unique >= sent || last.2.elapsed() >= quiet {
            return (got, last.1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_peer(name: &str, args: &Args, port: u16, sinks: &Sinks) -> Result<peers::Running, String> {
    match name {
        "tern" => peers::tern(&args.tern, port, false, "", &sinks.config),
        "rsyslog" => peers::rsyslog(port, &sinks.config, false),
        "rsyslog-zlib" => peers::rsyslog(port, &sinks.config, true),
        "syslog-ng" => peers::syslog_ng(port, &sinks.config),
        other => Err(format!("unknown peer {other}")),
    }
}

/// Sends `count` messages of `mix` over TCP to a fresh `peer` and measures it.
fn tcp_run(
    args: &Args,
    sinks: &Sinks,
    peer: &str,
    mix: &Mix,
    count: u64,
    connections: usize,
) -> Result<Measured, String> {
    sinks.reset();
    let port = free_port();
    let running = start_peer(peer, args, port, sinks)?;
    measure_tcp(sinks, peer, running, port, mix, count, connections, count)
}

/// Sends `count` messages to a started peer listening on `port` and measures it until
/// `expected` distinct messages have arrived (fewer than `count` when a transformation drops
/// some).
#[allow(clippy::too_many_arguments)]
fn measure_tcp(
    sinks: &Sinks,
    peer: &str,
    running: peers::Running,
    port: u16,
    mix: &Mix,
    count: u64,
    connections: usize,
    expected: u64,
) -> Result<Measured, String> {
    let pid = running.pid();
    let cpu0 = peers::cpu_seconds(pid);
    let start = Instant::now();
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    let sent = generator::send_tcp(mix, to, connections, count, None, false)
        .map_err(|e| format!("sending: {e}"))?;
    let (got, seconds) = wait_delivered(sinks, peer, expected, start, Duration::from_secs(15));
    if got.unique < expected {
        eprintln!(
            "{peer}: {} of {} missing, first: {:?} (mix lines {:?})",
            sent.messages - got.unique,
            sent.messages,
            got.first_missing(sent.messages, 5),
            got.first_missing(sent.messages, 5)
                .iter()
                .map(|n| mix.line_of(*n))
                .collect::<Vec<_>>()
        );
    }
    let measured = Measured {
        sent: sent.messages,
        delivered: got.unique,
        duplicates: got.duplicates,
        seconds,
        cpu: peers::cpu_seconds(pid) - cpu0,
        rss: peers::peak_rss(pid),
    };
    running.stop();
    Ok(measured)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn print_runs(title: &str, rows: &[(String, Vec<Measured>)]) {
    println!("\n## {title}\n");
    println!(
        "| forwarder | run | delivered | lost | dup | seconds | events/s | CPU-s | events per CPU-s | CPU-s per M | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (peer, runs) in rows {
        for (i, m) in runs.iter().enumerate() {
            println!(
                "| {peer} | {} | {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {:.1} |",
                i + 1,
                m.delivered,
                m.lost(),
                m.duplicates,
                m.seconds,
                m.events_per_second(),
                m.cpu,
                m.events_per_cpu_second(),
                m.cpu_per_million(),
                m.rss as f64 / 1e6
            );
        }
        if runs.len() > 1 {
            println!(
                "| **{peer} median** | | | {} | | | {:.0} | | {:.0} | {:.2} | {:.1} |",
                runs.iter().map(Measured::lost).max().unwrap_or(0),
                median(runs.iter().map(Measured::events_per_second).collect()),
                median(runs.iter().map(Measured::events_per_cpu_second).collect()),
                median(runs.iter().map(Measured::cpu_per_million).collect()),
                median(runs.iter().map(|m| m.rss as f64 / 1e6).collect()),
            );
        }
    }
}

fn compare(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec(&args.mix)?;
    println!(
        "\nmix {} ({} bytes per message on average), {} messages per run over {} TCP connections (LF framing)",
        args.mix,
        mix.average_bytes(),
        args.count,
        args.connections
    );
    let mut rows: Vec<(String, Vec<Measured>)> =
        args.peers.iter().map(|p| (p.clone(), Vec::new())).collect();
    // Interleaved: run 1 of every peer, then run 2…, so drift on the machine hits all alike.
    for _ in 0..args.runs {
        for (peer, runs) in rows.iter_mut() {
            eprintln!("compare: {peer}…");
            runs.push(tcp_run(
                args,
                sinks,
                peer,
                &mix,
                args.count,
                args.connections,
            )?);
        }
    }
    print_runs("TCP, same job, same run", &rows);
    let per_cpu = |name: &str| {
        rows.iter()
            .find(|(p, _)| p == name)
            .map(|(_, r)| median(r.iter().map(Measured::events_per_cpu_second).collect()))
    };
    if let Some(tern) = per_cpu("tern") {
        // The job includes compression; each peer compresses where it can (decision 87):
        // rsyslog's `omfwd` with zlib, syslog-ng 3.38 not at all (it has no compression).
        let better_of = |peers: &[&'static str]| {
            peers
                .iter()
                .filter_map(|p| per_cpu(p).map(|v| (*p, v)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        if let Some((peer, value)) = better_of(&["rsyslog-zlib", "syslog-ng"]) {
            println!(
                "\nTern delivers {:.2}× the events per CPU-second of {peer}, the better peer doing the job \
                 with compression where it can (medians).",
                tern / value.max(1e-9)
            );
        }
        if let Some((peer, value)) = better_of(&["rsyslog"]) {
            println!(
                "Tern delivers {:.2}× the events per CPU-second of {peer} without compression (less work than the job; medians).",
                tern / value.max(1e-9)
            );
        }
    }
    Ok(())
}

fn max_speed(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec(&args.mix)?;
    let count = args.count * 2;
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        eprintln!("max: tern…");
        runs.push(tcp_run(args, sinks, "tern", &mix, count, 8)?);
    }
    print_runs(
        &format!("Tern at full speed: {count} messages of the mix over 8 TCP connections"),
        &[("tern".into(), runs)],
    );
    Ok(())
}

/// The transformations of issue 24's speed targets, on the Syslog stream of a collection DCR
/// that selects everything: (name, transformKql, which sequence numbers it keeps).
const TRANSFORMS: [(&str, &str, u64); 4] = [
    ("none (`source`)", "source", 1),
    (
        "where SyslogMessage !has (keeps all)",
        "source | where SyslogMessage !has \"zzzz\"",
        1,
    ),
    (
        "extend + project-away",
        "source | extend ProcessName = strcat(ProcessName, \"-x\") | project-away CollectorHostName",
        1,
    ),
    (
        "where … endswith \"0\" (drops 90 %)",
        "source | where SyslogMessage endswith \"0\"",
        10,
    ),
];

/// CPU per received event with each of [`TRANSFORMS`] (syslog messages only, so every event
/// goes through the transformation), runs interleaved.
fn transform_cost(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec("rfc3164=60,rfc5424=40")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut rows: Vec<(String, Vec<Measured>)> = Vec::new();
    for _ in 0..args.runs {
        for (index, (name, kql, keep_one_in)) in TRANSFORMS.iter().enumerate() {
            // `E2E_TRANSFORMS=1,3`: only those variants (for profiling one).
            if std::env::var("E2E_TRANSFORMS")
                .is_ok_and(|only| !only.split(',').any(|i| i == index.to_string()))
            {
                continue;
            }
            eprintln!("transform: {name}…");
            let dcr = dir.path().join(format!("collect-{index}.json"));
            let text = serde_json::json!({"properties": {
                "dataSources": {"syslog": [{"name": "all", "streams": ["Microsoft-Syslog"], "facilityNames": ["*"], "logLevels": ["*"]}]},
                "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/bench"}]},
                "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"], "transformKql": kql}]
            }});
            std::fs::write(&dcr, text.to_string()).map_err(|e| e.to_string())?;
            sinks.reset();
            let port = free_port();
            let extra = format!("[dcr]\npaths = [\"{}\"]\n", dcr.display());
            let running = peers::tern(&args.tern, port, false, &extra, &sinks.config)?;
            let expected = args.count.div_ceil(*keep_one_in);
            let mut measured = measure_tcp(
                sinks,
                "tern",
                running,
                port,
                &mix,
                args.count,
                args.connections,
                expected,
            )?;
            // Per received event: what an operator pays for each message sent to Tern.
            measured.delivered = if measured.delivered >= expected {
                args.count
            } else {
                measured.delivered * keep_one_in
            };
            match rows.iter_mut().find(|(n, _)| n == name) {
                Some((_, runs)) => runs.push(measured),
                None => rows.push(((*name).to_owned(), vec![measured])),
            }
        }
    }
    print_runs(
        "Transformations (syslog only; per received event; all rows expected arrived)",
        &rows,
    );
    Ok(())
}

fn cef_cost(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec("cef=100")?;
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        eprintln!("cef: tern…");
        runs.push(tcp_run(
            args,
            sinks,
            "tern",
            &mix,
            args.count,
            args.connections,
        )?);
    }
    print_runs(
        &format!(
            "CEF only ({} bytes per message): CPU per million events, end to end",
            mix.average_bytes()
        ),
        &[("tern".into(), runs)],
    );
    Ok(())
}

/// Reads a metric's sum from Tern's Prometheus endpoint.
fn metric(port: u16, name: &str) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = write!(stream, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    tern::metrics::sum_in(&text, name, "")
}

/// The kernel's UDP receive-buffer errors so far (`/proc/net/snmp`, `Udp: … RcvbufErrors`).
fn kernel_udp_drops() -> u64 {
    let text = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn udp(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec(&args.mix)?;
    sinks.reset();
    let (port, metrics_port) = (free_port(), free_port());
    let extra = format!("[metrics]\naddress = \"127.0.0.1:{metrics_port}\"\n");
    let running = peers::tern(&args.tern, port, true, &extra, &sinks.config)?;
    let pid = running.pid();
    let (cpu0, kernel0) = (peers::cpu_seconds(pid), kernel_udp_drops());
    let count = args.udp_rate * args.udp_seconds;
    eprintln!("udp: {count} datagrams at {}/s…", args.udp_rate);
    let start = Instant::now();
    let sent = generator::send_udp(
        &mix,
        ([127, 0, 0, 1], port).into(),
        8,
        count,
        Some(args.udp_rate),
    )
    .map_err(|e| format!("sending: {e}"))?;
    let (got, seconds) =
        wait_delivered(sinks, "tern", sent.messages, start, Duration::from_secs(15));
    let received = metric(metrics_port, "tern_received_total") as u64;
    let tern_kernel_drops = metric(metrics_port, "tern_udp_kernel_drops_total") as u64;
    let kernel = kernel_udp_drops().saturating_sub(kernel0);
    let cpu = peers::cpu_seconds(pid) - cpu0;
    let rss = peers::peak_rss(pid);
    running.stop();
    let lost = sent.messages.saturating_sub(got.unique);
    println!("\n## UDP at a fixed rate\n");
    println!(
        "sent {} datagrams in {:.1} s ({:.0}/s); Tern received {received} (its counter), delivered {} \
         ({:.1} s); lost {lost} = {:.4} %; kernel drops: {tern_kernel_drops} by Tern's counter \
         (SO_RXQ_OVFL), {kernel} by /proc/net/snmp RcvbufErrors (all sockets); duplicates {}; \
         Tern CPU {cpu:.1} s; peak RSS {:.1} MB",
        sent.messages,
        sent.elapsed.as_secs_f64(),
        sent.messages as f64 / sent.elapsed.as_secs_f64().max(1e-9),
        got.unique,
        seconds,
        lost as f64 * 100.0 / sent.messages.max(1) as f64,
        got.duplicates,
        rss as f64 / 1e6
    );
    Ok(())
}

fn memory(args: &Args, sinks: &Sinks) -> Result<(), String> {
    let mix = Mix::from_spec(&args.mix)?;
    sinks.reset();
    let spool = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port();
    let mut extra = format!("[spool]\ndir = \"{}\"\n", spool.path().display());
    if let Some(queue) = std::env::var_os("E2E_MAX_QUEUE") {
        extra = format!(
            "[azure.upload]\nmax_queue = \"{}\"\n\n{extra}",
            queue.to_string_lossy()
        );
    }
    let running = peers::tern(&args.tern, port, false, &extra, &sinks.config)?;
    let pid = running.pid();
    let count = args.memory_rate * args.memory_seconds;
    let outage_at = (args.memory_seconds.saturating_sub(args.outage_seconds)) / 2;
    eprintln!(
        "memory: {count} messages at {}/s, upstream down from {outage_at} s for {} s…",
        args.memory_rate, args.outage_seconds
    );
    let start = Instant::now();
    let sampler = std::thread::scope(|scope| -> Result<(u64, u64), String> {
        let sender = scope.spawn(|| {
            generator::send_tcp(
                &mix,
                ([127, 0, 0, 1], port).into(),
                2,
                count,
                Some(args.memory_rate),
                false,
            )
        });
        let (mut healthy_peak, mut outage_started) = (0u64, false);
        while !sender.is_finished() {
            let t = start.elapsed().as_secs();
            if !outage_started && t >= outage_at {
                sinks
                    .mock
                    .outage(503, Duration::from_secs(args.outage_seconds), Some(5));
                outage_started = true;
            }
            if !outage_started {
                healthy_peak = peers::peak_rss(pid);
            }
            if t % 10 == 0 && std::env::var_os("E2E_TRACE").is_some() {
                eprintln!(
                    "memory: {t} s, RSS now {:.0} MB, peak {:.0} MB",
                    peers::rss_now(pid) as f64 / 1e6,
                    peers::peak_rss(pid) as f64 / 1e6
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let sent = sender
            .join()
            .map_err(|_| "sender panicked".to_owned())?
            .map_err(|e| format!("sending: {e}"))?;
        Ok((healthy_peak, sent.messages))
    })?;
    let (healthy_peak, sent) = sampler;
    let (got, seconds) = wait_delivered(sinks, "tern", sent, start, Duration::from_secs(60));
    let overall_peak = peers::peak_rss(pid);
    running.stop();
    println!(
        "\n## Memory at {}/s for {} s\n",
        args.memory_rate, args.memory_seconds
    );
    println!(
        "peak RSS {:.1} MB with a healthy upstream (first {outage_at} s), {:.1} MB over the whole \
         run including a {} s outage (503, spool on disk); delivered {} of {sent} ({} lost, {} \
         duplicates) {:.0} s after the start",
        healthy_peak as f64 / 1e6,
        overall_peak as f64 / 1e6,
        args.outage_seconds,
        got.unique,
        sent.saturating_sub(got.unique),
        got.duplicates,
        seconds
    );
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("e2e: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("e2e: {e}");
            std::process::exit(1);
        }
    };
    let sinks = runtime.block_on(async {
        let mock = MockAzure::start(&[(DCR, STREAM_SYSLOG), (DCR, STREAM_CSL)]).await?;
        mock.add_client("bench", "bench");
        mock.set_sequence_check(true);
        let token = mock.issue_token("bench", Duration::from_secs(24 * 3600));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let line_port = listener.local_addr()?.port();
        let lines = Arc::new(Mutex::new(Sequences::default()));
        tokio::spawn(line_sink(listener, Arc::clone(&lines)));
        Ok::<_, std::io::Error>(Sinks {
            config: peers::Sink {
                api_url: mock.url(),
                dcr: DCR.to_owned(),
                stream_syslog: STREAM_SYSLOG.to_owned(),
                stream_csl: STREAM_CSL.to_owned(),
                token,
                line_port,
            },
            mock,
            lines,
        })
    });
    let sinks = match sinks {
        Ok(s) => s,
        Err(e) => {
            eprintln!("e2e: sinks: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    for scenario in &args.scenarios {
        let result = match scenario.as_str() {
            "compare" => compare(&args, &sinks),
            "max" => max_speed(&args, &sinks),
            "cef" => cef_cost(&args, &sinks),
            "transform" => transform_cost(&args, &sinks),
            "udp" => udp(&args, &sinks),
            "memory" => memory(&args, &sinks),
            other => Err(format!("unknown scenario {other}")),
        };
        if let Err(e) = result {
            eprintln!("e2e: {scenario}: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "\n(harness wall time {:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
