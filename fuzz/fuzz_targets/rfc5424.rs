#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::rfc5424::parse_rfc5424;

fuzz_target!(|data: &[u8]| {
    if let Some(h) = parse_rfc5424(data) {
        for element in h.structured_data.elements() {
            for (name, value) in element.params() {
                assert!(!name.is_empty());
                let _ = value.len();
            }
        }
        if let Some(ts) = h.timestamp {
            let mut s = String::new();
            let _ = ts.write_rfc3339_utc(0, &mut s);
        }
    }
});
