//! Cost of one transformation per row, in-process (no pipeline), for profiling:
//! `cargo run --release -p tern-core --example transform_cost` (under `perf record`), on the
//! pipeline's path: `run_json` on a row from a table writer, then `write_kept`.
fn main() {
    let columns = tern_core::tables::Table::Syslog.columns();
    let row = br#"{"TimeGenerated":"2026-12-07T10:00:00Z","EventTime":"2026-12-07T10:00:00Z","Computer":"fw1","HostName":"fw1","HostIP":"10.1.2.3","Facility":"auth","SeverityLevel":"info","ProcessName":"sshd","ProcessID":1234,"SyslogMessage":"Accepted password for alice from 10.1.2.3 port 22 ssh2 tseq=123456","CollectorHostName":"bench"}"#;
    // Rows from a file (one JSON object per line, as `tern parse` prints them), else one.
    let rows: Vec<Vec<u8>> = match std::env::args().nth(1) {
        Some(path) => std::fs::read(&path)
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
        None => vec![row.to_vec()],
    };
    let only = std::env::var("ONLY").ok();
    for kql in [
        "source | where SyslogMessage !has \"zzzz\"",
        "source | extend ProcessName = strcat(ProcessName, \"-x\") | project-away CollectorHostName",
    ] {
        if only.as_deref().is_some_and(|o| !kql.contains(o)) {
            continue;
        }
        let t = match tern_core::transform::Transform::compile(kql, &columns) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}", e.render(kql));
                std::process::exit(2);
            }
        };
        let mut out = Vec::with_capacity(1024);
        let n = 2_000_000;
        // What the pipeline does per row (its rows come from Tern's writers, so they are not
        // validated first), then a copy of the row alone: the cost without a transformation.
        let start = std::time::Instant::now();
        for i in 0..n {
            out.clear();
            let row = rows.get(i % rows.len()).map_or(&[][..], Vec::as_slice);
            if let Ok(tern_core::transform::Outcome::Kept(cells)) =
                t.run_json(row, jiff::Timestamp::UNIX_EPOCH)
            {
                t.write_kept(row, &cells, None, &mut out);
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        let start = std::time::Instant::now();
        for i in 0..n {
            out.clear();
            let row = rows.get(i % rows.len()).map_or(&[][..], Vec::as_slice);
            out.extend_from_slice(row);
        }
        let copy = start.elapsed().as_nanos() as f64 / n as f64;
        println!("{kql}: {ns:.0} ns per row (a plain copy: {copy:.0} ns)");
    }
}
