#![no_main]
use libfuzzer_sys::fuzz_target;

// A transformation (first line) run on a row (the rest): whatever compiles evaluates without
// panicking or spinning, on any row, and what it keeps is a JSON object.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (kql, row) = text.split_once('\n').unwrap_or((text, "{}"));
    let columns = tern::tables::Table::Syslog.columns();
    let Ok(transform) = tern_core::transform::Transform::compile(kql, &columns) else {
        return;
    };
    let mut out = Vec::new();
    let at = jiff::Timestamp::UNIX_EPOCH;
    if transform.apply_json(row.as_bytes(), at, None, &mut out)
        == tern_core::transform::Applied::Kept
    {
        if serde_json::from_slice::<serde_json::Value>(&out).is_err() {
            panic!("not JSON: {}", String::from_utf8_lossy(&out));
        }
    }
});
