//! A fixed workload for profilers (`valgrind --tool=callgrind`, `perf`): parses one corpus
//! folder N times. Usage: profile_parse FOLDER ROUNDS
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use tern_benches::corpus_lines;
use tern_parsers::{Options, Timestamp, parse};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let folder = args.get(1).map_or("rfc3164", String::as_str);
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(100);
    let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
    let lines = corpus_lines(folder);
    let mut n = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            if let Ok(e) = parse(std::hint::black_box(line.as_bytes()), &options) {
                n += e.message.len() + e.hostname.map_or(0, str::len);
            }
        }
    }
    println!("{n} {}", lines.len() * rounds);
}
