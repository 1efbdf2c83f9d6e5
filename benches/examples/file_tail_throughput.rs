//! File-tailing cost: ten files appended at a combined rate (default 50 MB/s) for a duration,
//! read by the real `tern` daemon (a DCR `logFiles` source, text format, spool with the
//! default fsync policy) and uploaded to the in-repo mock of the Logs Ingestion API in its
//! counting mode. Reports the daemon's CPU (user + system, from /proc) per second of wall
//! time, the bytes and rows it delivered, and whether every line arrived.
//!
//! `cargo build --release -p tern && cargo run --release -p tern-benches --example
//! file_tail_throughput -- [MB_PER_S] [SECONDS]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tern_mock_azure::MockAzure;

const FILES: usize = 10;
const DCR: &str = "dcr-bench-files";
const STREAM: &str = "Custom-TernFiles";

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name is in parentheses and may hold spaces: fields start after ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // CLK_TCK on Linux
}

fn tern_binary() -> PathBuf {
    std::env::var_os("TERN_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/tern"),
        PathBuf::from,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mb_per_s: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50.0);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "right");
    mock.set_count_only(true);

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::create_dir(dir.path().join("dcr.d")).unwrap();
    std::fs::write(
        dir.path().join("dcr.d/files.json"),
        format!(
            r#"{{"properties": {{
  "streamDeclarations": {{"Custom-App_CL": {{"columns": [{{"name": "TimeGenerated", "type": "datetime"}}, {{"name": "RawData", "type": "string"}}]}}}},
  "dataSources": {{"logFiles": [{{"name": "bench", "streams": ["Custom-App_CL"], "filePatterns": ["{}/*.log"], "format": "text"}}]}},
  "destinations": {{"logAnalytics": [{{"name": "la", "workspaceResourceId": "/subscriptions/s/ws"}}]}},
  "dataFlows": [{{"streams": ["Custom-App_CL"], "destinations": ["la"], "outputStream": "Custom-App_CL"}}]}}}}"#,
            logs.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("secret"), "right").unwrap();
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:0\"\n[metrics]\naddress = \"\"\n\
             [dcr]\npaths = [\"{dcr}\"]\nwatch = false\n\
             [azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"app\"\n\
             client_secret_file = \"{secret}\"\nauthority_host = \"{url}\"\n\
             [[destination]]\nname = \"ws\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
             streams = {{ App_CL = \"{STREAM}\" }}\n\
             [spool]\ndir = \"{spool}\"\n[files]\nstart_at = \"beginning\"\n",
            dcr = dir.path().join("dcr.d").display(),
            secret = dir.path().join("secret").display(),
            url = mock.url(),
            spool = dir.path().join("spool").display(),
        ),
    )
    .unwrap();
    let mut tern = std::process::Command::new(tern_binary())
        .args(["run", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo build --release -p tern first)",
                tern_binary().display()
            )
        });
    std::thread::sleep(Duration::from_secs(1));

    // ~200-byte application log lines, different per file and line.
    let mut files: Vec<std::fs::File> = (0..FILES)
        .map(|i| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logs.join(format!("app{i}.log")))
                .unwrap()
        })
        .collect();
    let bytes_per_tick = (mb_per_s * 1e6 / 100.0) as usize; // every 10 ms
    let cpu_before = cpu_seconds(tern.id());
    let started = Instant::now();
    let mut written_bytes = 0usize;
    let mut lines = 0u64;
    let mut tick = 0u64;
    let mut chunk = String::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        let file = tick as usize % FILES;
        chunk.clear();
        while chunk.len() < bytes_per_tick {
            chunk.push_str(&format!(
                "2026-11-22T10:00:{:02}.{:06}Z INFO [worker-{}] request id={} user=u{} path=/api/v1/items/{} status=200 bytes={} duration_ms={} agent=\"Mozilla/5.0\"\n",
                lines % 60,
                lines % 1_000_000,
                lines % 16,
                lines,
                lines % 977,
                lines % 10_007,
                lines % 65_536,
                lines % 1000
            ));
            lines += 1;
        }
        files[file].write_all(chunk.as_bytes()).unwrap();
        written_bytes += chunk.len();
        tick += 1;
        let due = Duration::from_millis(tick * 10);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let wall_writing = started.elapsed().as_secs_f64();
    // Let it finish what was written.
    let drain = Instant::now();
    while mock.counted() < lines && drain.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(tern.id()) - cpu_before;
    let _ = tern.kill();
    let _ = tern.wait();
    println!(
        "{FILES} files, {:.1} MB/s written for {wall_writing:.1} s ({:.0} MB, {lines} lines); \
         delivered {} rows in {wall:.1} s; tern CPU {cpu:.2} s = {:.2} cores over the run \
         ({:.2} CPU-s per 100 MB)",
        written_bytes as f64 / 1e6 / wall_writing,
        written_bytes as f64 / 1e6,
        mock.counted(),
        cpu / wall,
        cpu / (written_bytes as f64 / 1e8),
    );
    assert_eq!(mock.counted(), lines, "every line delivered");
}
