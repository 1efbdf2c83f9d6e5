#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::cef::parse_cef;

fuzz_target!(|data: &[u8]| {
    let mut input = b"CEF:".to_vec();
    input.extend_from_slice(data);
    for candidate in [data, &input[..]] {
        if let Ok(cef) = parse_cef(candidate) {
            let mut n = 0usize;
            for (key, value) in cef.extensions.iter() {
                assert!(!key.is_empty());
                n += value.len();
            }
            let _ = (n, cef.extensions.unkeyed_prefix(), cef.extensions.duplicate_keys());
        }
    }
});
