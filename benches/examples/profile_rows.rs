//! A fixed workload for profilers: parse each line of a corpus folder and write the row the
//! forwarder would upload for it (`profile_rows FOLDER ROUNDS`), the per-event work of the
//! load benchmark without the sockets, threads and gzip. Run it under
//! `valgrind --tool=callgrind` twice (two round counts) and subtract, for instructions per
//! pass that a noisy VM does not move.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use tern::tables::{Received, Table, write_declared_row};
use tern_benches::walks::options;

fn main() {
    let (lines, rounds) = tern_benches::profile_workload("cef");
    let options = options();
    let received = Received {
        time: options.reference_time,
        time_text: None,
        sender: None,
        collector_hostname: "bench",
        default_offset_seconds: 0,
    };
    let mut out = Vec::with_capacity(1 << 20);
    let mut bytes = 0usize;
    for _ in 0..rounds {
        for line in &lines {
            let Ok(event) = tern_parsers::parse(std::hint::black_box(line.as_bytes()), &options)
            else {
                continue;
            };
            write_declared_row(Table::for_event(&event), &event, &received, None, &mut out);
            out.push(b'\n');
        }
        bytes += out.len();
        out.clear();
    }
    println!("{bytes} bytes of rows, {} events", lines.len() * rounds);
}
