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
    let header_only = args.get(3).is_some_and(|m| m == "header");
    let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
    let lines = corpus_lines(folder);
    let mut n = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            let bytes = std::hint::black_box(line.as_bytes());
            if header_only {
                let Ok((rest, _)) = tern_parsers::pri::parse_pri(bytes) else {
                    continue;
                };
                if let Some(h) = tern_parsers::rfc5424::parse_rfc5424(rest) {
                    n += h.message.len()
                        + h.hostname.map_or(0, str::len)
                        + h.app_name.map_or(0, str::len);
                    for el in h.structured_data.elements() {
                        for (k, v) in el.params() {
                            n += k.len() + v.len();
                        }
                    }
                } else {
                    let h = tern_parsers::rfc3164::parse_rfc3164(rest, &options.reference_time);
                    let (tag, m) = h.split_tag();
                    n += m.len()
                        + h.hostname.map_or(0, str::len)
                        + tag.map_or(0, |t| t.app_name.len());
                }
            } else if let Ok(e) = parse(bytes, &options) {
                n += e.message.len() + e.hostname.map_or(0, str::len);
            }
        }
    }
    println!("{n} {}", lines.len() * rounds);
}
