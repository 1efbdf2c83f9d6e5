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

use tern::upload::auth::{ClientSecret, TokenCache};
use tern::upload::batch::Batcher;
use tern::upload::sender::{RetryPolicy, Sender};
use tern_mock_azure::MockAzure;

#[path = "common/firewall_rows.rs"]
mod rows;

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
    let shaped = rows::firewall_rows(20_000);
    let bytes: usize = shaped.iter().map(Vec::len).sum();
    println!("{rows} rows of {} bytes on average", bytes / shaped.len());
    let started = Instant::now();
    let mut batcher = Batcher::new(1_000_000, tern::upload::batch::Compression::Small);
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
