#![no_main]
use libfuzzer_sys::fuzz_target;

use tern_core::tables::{Capture, Received, Table, write_captured_row, write_row};
use tern_core::transform::{Applied, Outcome, Transform};

// A transformation (first line) run on a row (the rest): whatever compiles evaluates without
// panicking or spinning, on any row, and what it keeps is a JSON object. The rest is also
// read as a syslog line: the pipeline's path (columns recorded by the table writer) gives
// exactly what reading the written row gives.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (kql, row) = text.split_once('\n').unwrap_or((text, "{}"));
    let columns = Table::Syslog.columns();
    let Ok(transform) = Transform::compile(kql, &columns) else {
        return;
    };
    let mut out = Vec::new();
    let at = jiff::Timestamp::UNIX_EPOCH;
    if transform.apply_json(row.as_bytes(), at, None, &mut out) == Applied::Kept
        && serde_json::from_slice::<serde_json::Value>(&out).is_err()
    {
        panic!("not JSON: {}", String::from_utf8_lossy(&out));
    }
    let time = tern_parsers::Timestamp::from_unix(1_795_219_201, 0);
    let Ok(event) = tern_parsers::parse(row.as_bytes(), &tern_parsers::Options::new(time)) else {
        return;
    };
    if Table::for_event(&event) != Table::Syslog {
        return;
    }
    let received = Received {
        time,
        time_text: None,
        sender: None,
        collector_hostname: "fwd",
        default_offset_seconds: 0,
    };
    let (mut written, mut recorded) = (Vec::new(), Vec::new());
    write_row(Table::Syslog, &event, &received, &mut written);
    let mut capture = Capture::default();
    capture.reset(transform.captures());
    write_captured_row(Table::Syslog, &event, &received, &mut capture, &mut recorded);
    assert_eq!(recorded, written);
    let (mut by_row, mut by_capture) = (Vec::new(), Vec::new());
    let row_outcome = match transform.run_json(&written, at) {
        Ok(Outcome::Kept(cells)) => {
            transform.write_kept(&written, &cells, None, &mut by_row);
            "kept"
        }
        Ok(Outcome::Dropped) => "dropped",
        _ => "failed",
    };
    let capture_outcome = match transform.run_captured(&capture, &recorded, at) {
        Outcome::Kept(cells) => {
            transform.write_kept(&recorded, &cells, None, &mut by_capture);
            "kept"
        }
        Outcome::Dropped => "dropped",
        Outcome::Failed(_) => "failed",
    };
    assert_eq!(capture_outcome, row_outcome);
    assert_eq!(by_capture, by_row);
});
