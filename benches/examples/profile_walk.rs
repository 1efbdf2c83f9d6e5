//! A fixed workload for profilers, like `profile_parse`, but with a walk of every field after
//! `parse` (what the forwarder does with each event): `profile_walk FOLDER ROUNDS`. A separate
//! program so that `profile_parse`'s figures stay comparable across commits (a third mode in
//! its loop changed how `parse` was inlined there and moved them by up to 4 %).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use tern_benches::walks::{options, tern_walk};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let folder = args.get(1).map_or("cef", String::as_str);
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(100);
    let options = options();
    let lines = tern_benches::corpus_lines(folder);
    let mut n = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            n += tern_walk(std::hint::black_box(line), &options);
        }
    }
    println!("{n} {}", lines.len() * rounds);
}
