#![no_main]
use libfuzzer_sys::fuzz_target;

// Any configuration text: parsing never panics; it reports at least one error, each pointing
// inside the text, in file order.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = tern::config::Config::parse("fuzz.toml", text) {
        assert!(!errors.0.is_empty());
        let last_line = text.lines().count().max(1) + 1;
        assert!(errors.0.iter().all(|e| e.line <= last_line));
        assert!(errors.0.windows(2).all(|w| w[0].line <= w[1].line));
    }
});
