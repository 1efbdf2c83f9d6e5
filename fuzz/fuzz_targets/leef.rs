#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::leef::parse_leef;

fuzz_target!(|data: &[u8]| {
    let mut input = b"LEEF:".to_vec();
    input.extend_from_slice(data);
    for candidate in [data, &input[..]] {
        if let Ok(leef) = parse_leef(candidate) {
            let count = leef.attributes.iter().count();
            assert!(count <= candidate.len());
        }
    }
});
