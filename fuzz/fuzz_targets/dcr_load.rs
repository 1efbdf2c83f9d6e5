#![no_main]
use libfuzzer_sys::fuzz_target;

// Any DCR file (hostile JSON, exported rules, ARM templates): loading never panics, and every
// error names the file.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = tern::dcr::load::load_str("fuzz.json", text) {
        assert!(!errors.is_empty());
        assert!(errors.iter().all(|e| e.file == "fuzz.json"));
    }
});
