//! Tern's header parsers against `syslog_loose`, interleaved: one pass of each contender over
//! the same lines in turn, many times, so that both see the same machine. On a shared virtual
//! machine criterion's medians moved by ±30 % between runs of one day, more than the margin
//! being measured; noise only ever adds time, so the fastest pass of each contender is the
//! least disturbed measure of its work, and it is reported beside the median.
//!
//! With `--blocks`, each contender instead runs all its passes in a row, as criterion does: the
//! branch predictor then learns the repeated lines, which flatters the parser with more
//! data-dependent branches (Tern's: 54 µs in a row against 73 µs interleaved on RFC 5424,
//! where `syslog_loose` moves from 166 to 177 µs). Interleaved is nearer a forwarder, where
//! each line is new and other work runs between parses.
//!
//! Usage: `cargo run --release -p tern-benches --example parser_ratio [ROUNDS] [--blocks]`
//! (default 2000 rounds, about 5 s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use tern_benches::walks::{
    options, rfc3164_inputs, rfc5424_inputs, syslog_loose_walk, tern_header_walk, tern_walk,
};
use tern_parsers::Options;

type Walk = fn(&str, &Options) -> usize;

const CONTENDERS: [(&str, Walk); 4] = [
    ("tern_header_only", tern_header_walk),
    ("tern (parse)", tern_walk),
    ("syslog_loose", |line, _| syslog_loose_walk(line)),
    ("syslog_loose_from_bytes", |line, _| {
        std::str::from_utf8(black_box(line.as_bytes())).map_or(0, syslog_loose_walk)
    }),
];

fn pass(walk: Walk, lines: &[String], options: &Options) -> Duration {
    let start = Instant::now();
    let n: usize = lines.iter().map(|l| walk(black_box(l), options)).sum();
    black_box(n);
    start.elapsed()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let blocks = args.iter().any(|a| a == "--blocks");
    let rounds: usize = args.iter().find_map(|r| r.parse().ok()).unwrap_or(2000);
    let options = options();
    println!(
        "| input | contender | fastest pass | median pass | loose ÷ contender (fastest / median) | from bytes ÷ contender (fastest / median) |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, (lines, bytes)) in [
        ("RFC 5424", rfc5424_inputs()),
        ("RFC 3164", rfc3164_inputs()),
    ] {
        for (_, walk) in CONTENDERS {
            for _ in 0..rounds / 10 {
                pass(walk, &lines, &options);
            }
        }
        let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); CONTENDERS.len()];
        if blocks {
            for (c, (_, walk)) in CONTENDERS.iter().enumerate() {
                for _ in 0..rounds {
                    times[c].push(pass(*walk, &lines, &options));
                }
            }
        } else {
            for round in 0..rounds {
                // Rotate the order so that no contender always follows the same one.
                for i in 0..CONTENDERS.len() {
                    let c = (round + i) % CONTENDERS.len();
                    times[c].push(pass(CONTENDERS[c].1, &lines, &options));
                }
            }
        }
        let stats: Vec<(Duration, Duration)> = times
            .iter_mut()
            .map(|t| {
                t.sort();
                (t[0], t[t.len() / 2])
            })
            .collect();
        let stats_of = |name: &str| stats[CONTENDERS.iter().position(|(n, _)| *n == name).unwrap()];
        let (loose, from_bytes) = (
            stats_of("syslog_loose"),
            stats_of("syslog_loose_from_bytes"),
        );
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        for (c, (contender, _)) in CONTENDERS.iter().enumerate() {
            let (fastest, median) = stats[c];
            println!(
                "| {name}: {} lines, {bytes} B | {contender} | {:.1} µs | {:.1} µs | {:.2}× / {:.2}× | {:.2}× / {:.2}× |",
                lines.len(),
                fastest.as_secs_f64() * 1e6,
                median.as_secs_f64() * 1e6,
                ratio(loose.0, fastest),
                ratio(loose.1, median),
                ratio(from_bytes.0, fastest),
                ratio(from_bytes.1, median),
            );
        }
    }
}
