#![no_main]
use libfuzzer_sys::fuzz_target;

// Any configuration text: parsing never panics, and an error points inside the text.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = tern::config::Config::parse("fuzz.toml", text) {
        assert!(error.line <= text.lines().count().max(1) + 1);
    }
});
