//! Upload throughput: CommonSecurityLog rows (shaped by Tern from CEF lines) cut into batches,
//! gzip-compressed and posted with 4 requests in flight to the in-repo mock of the Logs
//! Ingestion API on this machine, which decompresses and parses every body.
//!
//! `cargo run --release -p tern-benches --example upload_throughput -- [ROWS]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Instant;

use tern::tables::{Received, Table, write_row};
use tern::upload::auth::{ClientSecret, TokenCache};
use tern::upload::batch::Batcher;
use tern::upload::sender::{RetryPolicy, Sender};
use tern_mock_azure::MockAzure;
use tern_parsers::{Options, Timestamp, parse};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let mock = MockAzure::start(&[("dcr-1", "Custom-TernCEF")])
        .await
        .unwrap();
    mock.add_client("app", "secret");
    mock.set_count_only(true);
    let tokens = Arc::new(TokenCache::new(ClientSecret {
        authority_host: mock.url(),
        tenant_id: "t".into(),
        client_id: "app".into(),
        secret: "secret".into(),
        scope: "https://monitor.azure.com/.default".into(),
    }));
    let sender = Arc::new(Sender::new(
        tern::upload::http_client().unwrap(),
        tokens,
        &mock.url(),
        "dcr-1",
        "Custom-TernCEF",
        std::env::temp_dir().join("tern-bench-dead-letter.jsonl"),
        RetryPolicy::default(),
    ));
    // Shape rows the way the daemon does (16 extension keys, ~700-byte rows).
    let now = Timestamp::from_unix(1_795_219_200, 0);
    let received = Received {
        time: now,
        sender: None,
        collector_hostname: "fwd-01",
        default_offset_seconds: 0,
    };
    // 20,000 distinct rows (13 MB): far beyond gzip's 32 KiB window, so repeats do not help.
    // Values vary as a firewall's do (addresses, ports, byte counts, times, users, URLs), from
    // a fixed-seed generator, so compression sees realistic entropy.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let shaped: Vec<Vec<u8>> = (0..20_000)
        .map(|i| {
            let (a, b, c, d) = (next() % 256, next() % 256, next() % 256, next() % 256);
            let line = format!(
                "<134>Nov 21 10:00:00 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|end|TRAFFIC|3|src=10.{a}.{b}.{c} spt={} dst=203.0.{d}.{} dpt={} proto=TCP act=allow cs1Label=Rule cs1=rule-{} in={} out={} deviceDirection=1 request=https://example.com/{:x}/{:x} rt={} suser=user{} cat=traffic",
                1024 + next() % 60000,
                next() % 256,
                [443, 80, 53, 22, 8443][(next() % 5) as usize],
                next() % 40,
                next() % 1_000_000,
                next() % 1_000_000,
                next(),
                next(),
                1_795_219_200_000 + i as u64 * 37,
                next() % 5000
            );
            let event = parse(line.as_bytes(), &Options::new(now)).unwrap();
            let mut row = Vec::new();
            write_row(Table::CommonSecurityLog, &event, &received, &mut row);
            row
        })
        .collect();
    let bytes: usize = shaped.iter().map(Vec::len).sum();
    println!("{rows} rows of {} bytes on average", bytes / shaped.len());
    let started = Instant::now();
    let mut batcher = Batcher::new(1_000_000, 3);
    let mut in_flight = tokio::task::JoinSet::new();
    let mut delivered = 0u64;
    for i in 0..rows {
        if let Some(batch) = batcher.push(&shaped[i % shaped.len()]).unwrap() {
            while in_flight.len() >= 4 {
                delivered += in_flight.join_next().await.unwrap().unwrap();
            }
            let sender = Arc::clone(&sender);
            in_flight.spawn(async move { sender.deliver(&batch).await.rows });
        }
    }
    if let Some(batch) = batcher.close().unwrap() {
        let sender = Arc::clone(&sender);
        in_flight.spawn(async move { sender.deliver(&batch).await.rows });
    }
    while let Some(r) = in_flight.join_next().await {
        delivered += r.unwrap();
    }
    let elapsed = started.elapsed();
    let accepted = mock.counted() as usize;
    let seen = mock.seen();
    let requests = seen.len();
    let wire: usize = seen.iter().map(|s| s.wire_bytes).sum();
    let json: usize = seen.iter().map(|s| s.uncompressed_bytes).sum();
    println!(
        "{json} bytes of JSON sent as {wire} bytes of gzip ({:.1}:1)",
        json as f64 / wire.max(1) as f64
    );
    println!(
        "delivered {delivered} rows ({accepted} accepted by the mock) in {} requests, {:.2} s: {:.0} rows/s",
        requests,
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64().max(f64::from(1e-9_f32))
    );
    assert_eq!(accepted, rows);
}
