#![no_main]
use libfuzzer_sys::fuzz_target;
use tern::tables::{Received, Table, write_row};
use tern_parsers::{Format, Options, Timestamp, parse};

// Any message, shaped into every table's row (CEF values, dates, ports, vendor fields): the
// writers never panic and always write one valid JSON object.
fuzz_target!(|data: &[u8]| {
    let Some((&control, line)) = data.split_first() else {
        return;
    };
    let received_at = Timestamp::from_unix(1_795_000_000, 0);
    let mut options = Options::new(received_at);
    options.format = match control % 4 {
        0 => Format::Cef,
        1 => Format::CiscoAsa,
        2 => Format::Rfc3164,
        _ => Format::Auto,
    };
    let Ok(event) = parse(line, &options) else {
        return;
    };
    let received = Received {
        time: received_at,
        time_text: None,
        sender: None,
        collector_hostname: "fuzz",
        default_offset_seconds: i32::from(control >> 2) * 900 - 43_200,
    };
    for table in [Table::Syslog, Table::CommonSecurityLog] {
        let mut out = Vec::new();
        write_row(table, &event, &received, &mut out);
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&out) {
            panic!("{table:?} row is not JSON ({e}): {}", String::from_utf8_lossy(&out));
        }
    }
});
