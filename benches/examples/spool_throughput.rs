//! Spool throughput with `fsync = "interval"` (1 s): how many upload batches per second the
//! spool of one target takes, (a) with a healthy upstream (each batch acknowledged right after
//! it is taken for sending: the memory tier serves it, segments are deleted as they empty) and
//! (b) during an outage (nothing acknowledged: everything goes to disk and, past the memory
//! tier, is read back from the segments afterwards).
//!
//! `cargo run --release -p tern-benches --example spool_throughput -- [BATCHES]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tern::spool::{Budget, FsyncPolicy, SpoolMetrics, TargetSpool};
use tern::upload::batch::ClosedBatch;

/// Rows per batch and gzip bytes per batch as the upload stage cuts them from firewall CEF
/// (1,000,000-byte JSON bodies of ~706-byte rows, compressed about 10:1).
const ROWS_PER_BATCH: u64 = 1_414;
const BODY_BYTES: usize = 100_000;

fn body(n: usize) -> Vec<u8> {
    // Incompressible-looking bytes of the right size (the spool does not look inside).
    let mut x = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..BODY_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn main() {
    let batches: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000);
    let dir = std::env::temp_dir().join(format!("tern-spool-bench-{}", std::process::id()));
    let bodies: Vec<Vec<u8>> = (0..64).map(body).collect();
    let batch = |i: usize| ClosedBatch {
        body: bodies[i % bodies.len()].clone(),
        rows: ROWS_PER_BATCH,
        uncompressed_bytes: 1_000_000,
    };
    let open = |name: &str| {
        TargetSpool::open(
            &dir.join(name),
            FsyncPolicy::Interval(Duration::from_secs(1)),
            256 << 20,
            Arc::new(Budget::new(10 << 30)),
            SpoolMetrics::default(),
        )
        .unwrap()
        .0
    };
    let report = |what: &str, took: Duration| {
        let secs = took.as_secs_f64();
        let mb = (batches * BODY_BYTES) as f64 / 1e6;
        println!(
            "{what}: {batches} batches ({mb:.0} MB gzip) in {secs:.2} s: {:.0} batches/s, {:.0} MB/s, {:.0} rows/s",
            batches as f64 / secs,
            mb / secs,
            batches as f64 * ROWS_PER_BATCH as f64 / secs
        );
        std::io::stdout().flush().unwrap();
    };

    // (a) Healthy upstream: append, take, acknowledge.
    let mut spool = open("healthy");
    let started = Instant::now();
    let mut last_tick = Instant::now();
    for i in 0..batches {
        spool.append(batch(i)).unwrap();
        let (seq, _) = spool.next_to_send().unwrap();
        spool.ack(seq);
        if last_tick.elapsed() >= Duration::from_millis(100) {
            spool.tick();
            last_tick = Instant::now();
        }
    }
    spool.flush();
    report("healthy upstream (append + send + ack)", started.elapsed());

    // (b) Outage: append everything, then drain (read back past the memory tier).
    let mut spool = open("outage");
    let started = Instant::now();
    for i in 0..batches {
        spool.append(batch(i)).unwrap();
        if last_tick.elapsed() >= Duration::from_millis(100) {
            spool.tick();
            last_tick = Instant::now();
        }
    }
    spool.flush();
    report("outage, writing", started.elapsed());
    let started = Instant::now();
    let mut drained = 0;
    while let Some((seq, _)) = spool.next_to_send() {
        spool.ack(seq);
        drained += 1;
    }
    assert_eq!(drained, batches);
    report("outage over, draining", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
