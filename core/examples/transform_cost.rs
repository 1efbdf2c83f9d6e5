//! Cost of one transformation per event, in-process, on the pipeline's path: the table writer
//! records the transformation's columns while writing the row, the transformation runs on
//! them, the kept row is written out. Against writing the row alone. For profiling:
//! `cargo run --release -p tern-core --example transform_cost -- LINES` (syslog lines, one
//! per line; `ONLY=extend` picks transformations by text), under `perf record` if wanted.
use tern_core::tables::{Capture, Received, Table, write_captured_row, write_row};
use tern_core::transform::{Outcome, Transform};

fn main() {
    let lines: Vec<Vec<u8>> = match std::env::args().nth(1) {
        Some(path) => std::fs::read(&path)
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        None => vec![b"<38>Dec  7 10:00:00 fw1 sshd[1234]: Accepted password for alice".to_vec()],
    };
    let time = tern_parsers::Timestamp::from_unix(1_795_219_201, 0);
    let options = tern_parsers::Options::new(time);
    let events: Vec<_> = lines
        .iter()
        .filter_map(|line| tern_parsers::parse(line, &options).ok())
        .filter(|event| Table::for_event(event) == Table::Syslog)
        .collect();
    if events.is_empty() {
        eprintln!("no syslog events in the input");
        std::process::exit(2);
    }
    let received = Received {
        time,
        time_text: None,
        sender: Some([10, 1, 2, 3].into()),
        collector_hostname: "bench",
        default_offset_seconds: 0,
    };
    let n = 2_000_000;
    let mut out = Vec::with_capacity(4096);
    let start = std::time::Instant::now();
    for i in 0..n {
        out.clear();
        if let Some(event) = events.get(i % events.len()) {
            write_row(Table::Syslog, event, &received, &mut out);
        }
    }
    let alone = start.elapsed().as_nanos() as f64 / n as f64;
    println!("writing the row alone: {alone:.0} ns per event");
    let only = std::env::var("ONLY").ok();
    let columns = Table::Syslog.columns();
    for kql in [
        "source | where SyslogMessage !has \"zzzz\"",
        "source | extend ProcessName = strcat(ProcessName, \"-x\") | project-away CollectorHostName",
    ] {
        if only.as_deref().is_some_and(|o| !kql.contains(o)) {
            continue;
        }
        let transform = match Transform::compile(kql, &columns) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}", e.render(kql));
                std::process::exit(2);
            }
        };
        let (mut row, mut capture) = (Vec::with_capacity(4096), Capture::default());
        let at = jiff::Timestamp::UNIX_EPOCH;
        let start = std::time::Instant::now();
        for i in 0..n {
            out.clear();
            row.clear();
            let Some(event) = events.get(i % events.len()) else {
                continue;
            };
            capture.reset(transform.captures());
            write_captured_row(Table::Syslog, event, &received, &mut capture, &mut row);
            if let Outcome::Kept(cells) = transform.run_captured(&capture, &row, at) {
                transform.write_kept(&row, &cells, None, &mut out);
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        let more = (ns - alone) / alone * 100.0;
        println!("{kql}: {ns:.0} ns per event ({more:+.0} %)");
    }
}
