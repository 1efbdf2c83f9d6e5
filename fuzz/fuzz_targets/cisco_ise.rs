#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::vendor::cisco_ise::{parse_segment, segmented_tag};

fuzz_target!(|data: &[u8]| {
    if let Some(segment) = parse_segment(data) {
        assert!(segment.index < segment.total);
        assert!(segment.header_len <= data.len());
    }
    if let Some((tag, rest)) = segmented_tag(None, data) {
        assert!(tag.len() + rest.len() < data.len());
    }
});
