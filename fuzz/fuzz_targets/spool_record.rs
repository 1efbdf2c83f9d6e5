#![no_main]
use libfuzzer_sys::fuzz_target;
use tern::spool::record::{SEGMENT_MAGIC, encode, scan};

// Any segment file (damaged, torn, planted): reading it never panics, and whatever it finds
// is an intact record; a record written after the damage is still found.
fuzz_target!(|data: &[u8]| {
    let found = scan(data);
    assert!(found.records.len() <= data.len() / 36 + 1);
    let mut file = SEGMENT_MAGIC.to_vec();
    file.extend_from_slice(data);
    let good = encode(u64::MAX, 7, 9, b"body", &mut file);
    let found = scan(&file);
    assert!(good > 0);
    assert!(
        found
            .records
            .iter()
            .any(|(_, _, r)| r.seq == u64::MAX && r.rows == 7 && r.body == b"body"),
        "the record after the damage was lost"
    );
});
