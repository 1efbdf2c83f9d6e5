#![no_main]
use libfuzzer_sys::fuzz_target;
use tern::spool::record::{encode, scan};

// Any segment file (damaged, torn, planted): reading it never panics, and every record it
// returns is intact (its bytes are exactly what encoding it gives), in order, not overlapping.
// (A record after damage is not always found: bytes planted to form a valid record that spans
// it hide it, which only someone who can write the spool can do.)
fuzz_target!(|data: &[u8]| {
    let found = scan(data);
    let mut end = 0usize;
    for (offset, framed, record) in &found.records {
        let (offset, framed) = (*offset as usize, *framed as usize);
        assert!(offset >= end, "records overlap");
        end = offset + framed;
        let mut again = Vec::new();
        encode(
            record.seq,
            record.rows,
            record.uncompressed_bytes,
            &record.body,
            &mut again,
        );
        assert_eq!(data.get(offset..end), Some(&again[..]));
    }
});
