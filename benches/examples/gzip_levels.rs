//! gzip for upload batches: CPU against ratio, per library and level, on 1,000,000-byte JSON
//! arrays of CommonSecurityLog rows as the daemon shapes them.
//!
//! `cargo run --release -p tern-benches --example gzip_levels`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "common/firewall_rows.rs"]
mod rows;

use std::time::Instant;

/// The rows cut into ≤ 1,000,000-byte JSON arrays, as the batcher does.
fn batches() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut json = Vec::new();
    for row in rows::firewall_rows(20_000) {
        if !json.is_empty() && json.len() + row.len() + 2 > 1_000_000 {
            json.push(b']');
            out.push(std::mem::take(&mut json));
        }
        json.push(if json.is_empty() { b'[' } else { b',' });
        json.extend_from_slice(&row);
    }
    json.push(b']');
    out.push(json);
    out
}

fn main() {
    let batches = batches();
    let total: usize = batches.iter().map(Vec::len).sum();
    println!(
        "{} batches, {} bytes of JSON\n\n| library | level | MB/s (JSON in) | µs per 700-byte row | ratio |\n|---|---|---|---|---|",
        batches.len(),
        total
    );
    // The fastest of five passes over every batch: this VM's timings drift by tens of percent
    // between seconds, and noise only ever adds time.
    let report = |name: &str, level: i32, compress: &mut dyn FnMut(&[u8]) -> usize| {
        let _ = compress(&batches[0]);
        let mut fastest = f64::MAX;
        let mut out = 0usize;
        for _ in 0..5 {
            let started = Instant::now();
            out = batches.iter().map(|b| compress(b)).sum();
            fastest = fastest.min(started.elapsed().as_secs_f64());
        }
        println!(
            "| {name} | {level} | {:.0} | {:.2} | {:.1}:1 |",
            total as f64 / fastest / 1e6,
            fastest / (total as f64 / 700.0) * 1e6,
            total as f64 / out as f64
        );
    };
    for level in [1u8, 3, 6, 9] {
        report(
            "miniz_oxide (flate2's default backend)",
            i32::from(level),
            &mut |data| miniz_oxide::deflate::compress_to_vec(data, level).len(),
        );
    }
    for level in [1u32, 2, 3, 6] {
        let mut buffer = Vec::with_capacity(1_100_000);
        report("zlib-rs (through flate2)", level as i32, &mut |data| {
            use std::io::Write as _;
            buffer.clear();
            let mut encoder =
                flate2::write::GzEncoder::new(&mut buffer, flate2::Compression::new(level));
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap().len()
        });
    }
    #[cfg(feature = "isal")]
    for (level, isal_level) in [
        (0, isal::CompressionLevel::Zero),
        (1, isal::CompressionLevel::One),
        (3, isal::CompressionLevel::Three),
    ] {
        let mut buffer = vec![0u8; 1_100_000];
        report("ISA-L (igzip, stateless)", level, &mut |data| {
            isal::compress_into(data, &mut buffer, isal_level, isal::Codec::Gzip).unwrap()
        });
    }
    for level in [1, 3, 6, 9, 12] {
        let mut compressor =
            libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut buffer = vec![0u8; 1_100_000];
        report("libdeflate", level, &mut |data| {
            compressor.gzip_compress(data, &mut buffer).unwrap()
        });
    }
}
