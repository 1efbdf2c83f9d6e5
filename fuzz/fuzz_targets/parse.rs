#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::{Body, Format, Options, Timestamp, parse};

fuzz_target!(|data: &[u8]| {
    let Some((&control, line)) = data.split_first() else {
        return;
    };
    let mut options = Options::new(Timestamp::from_unix(1_795_000_000, 0));
    let vendors = tern_parsers::Vendor::ALL;
    options.format = match usize::from(control) % (7 + vendors.len()) {
        0 => Format::Rfc3164,
        1 => Format::Rfc5424,
        2 => Format::Cef,
        3 => Format::Leef,
        4 => Format::CiscoAsa,
        5 => Format::Text,
        6 => Format::Auto,
        n => vendors.get(n - 7).map_or(Format::Auto, |v| Format::Vendor(*v)),
    };
    if let Ok(event) = parse(line, &options) {
        let _ = event.message_text();
        match &event.body {
            Body::Cef(cef) => {
                let _ = cef.extensions.iter().count();
            }
            Body::Leef(leef) => {
                let _ = leef.attributes.iter().count();
            }
            Body::CiscoAsa(asa) => {
                let _ = tern_parsers::vendor::cisco_asa::fields(asa);
            }
            Body::Vendor(message) => {
                let _ = message.fields().count();
            }
            Body::Text => {}
        }
    }
});
