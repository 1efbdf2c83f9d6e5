#![no_main]
use libfuzzer_sys::fuzz_target;

// Any transformKql text (a DCR from a file or from Azure is hostile input): tokenizing,
// parsing and compiling never panic, and an error's caret rendering stays inside the text.
fuzz_target!(|data: &[u8]| {
    let Ok(kql) = std::str::from_utf8(data) else {
        return;
    };
    let columns = tern::tables::Table::Syslog.columns();
    if let Err(e) = tern_core::transform::Transform::compile(kql, &columns) {
        let _ = e.render(kql);
    }
});
