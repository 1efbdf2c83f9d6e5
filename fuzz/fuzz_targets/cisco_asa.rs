#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::vendor::cisco_asa::{fields, parse_asa};

fuzz_target!(|data: &[u8]| {
    let mut tagged = b"%ASA-6-302013: ".to_vec();
    tagged.extend_from_slice(data);
    for input in [data, &tagged[..]] {
        if let Some(message) = parse_asa(input) {
            let _ = fields(&message);
        }
    }
});
