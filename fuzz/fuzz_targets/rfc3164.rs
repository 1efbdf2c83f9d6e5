#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::rfc3164::{parse_rfc3164, split_tag};

fuzz_target!(|data: &[u8]| {
    let reference = tern_parsers::Timestamp::from_unix(1_795_000_000, 0);
    let h = parse_rfc3164(data, &reference);
    let (_, message) = h.split_tag();
    let _ = split_tag(h.content);
    assert!(message.len() <= data.len());
});
