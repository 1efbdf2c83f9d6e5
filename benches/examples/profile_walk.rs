//! A fixed workload for profilers, like `profile_parse`, but with a walk of every field after
//! `parse` (what the forwarder does with each event): `profile_walk FOLDER ROUNDS`. A separate
//! program so that `profile_parse`'s figures stay comparable across commits (a third mode in
//! its loop changed how `parse` was inlined there and moved them by up to 4 %).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use tern_benches::walks::{options, tern_walk};

fn main() {
    let (lines, rounds) = tern_benches::profile_workload("cef");
    let options = options();
    let mut n = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            n += tern_walk(std::hint::black_box(line), &options);
        }
    }
    println!("{n} {}", lines.len() * rounds);
}
