//! Shared body of the per-vendor fuzz targets: the bytes as a whole message, pinned to the
//! vendor and auto-detected, with every field walked; and behind a syslog header, so the
//! detector sees TAGs and structured data too.
use tern_parsers::{Body, Format, Options, Timestamp, Vendor, parse};

pub fn run(vendor: Vendor, data: &[u8]) {
    let mut with_header = b"<134>1 2026-11-21T10:00:00Z host app - - - ".to_vec();
    with_header.extend_from_slice(data);
    let mut bsd = b"<134>Nov 21 10:00:00 host ".to_vec();
    bsd.extend_from_slice(data);
    for format in [Format::Vendor(vendor), Format::Auto] {
        let mut options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
        options.format = format;
        for input in [data, &with_header[..], &bsd[..]] {
            if let Ok(event) = parse(input, &options) {
                if let Body::Vendor(message) = &event.body {
                    let mut n = 0usize;
                    for (key, value) in message.fields() {
                        let _ = key.len();
                        n += value.len();
                    }
                    // Values come from the message: unescaping only shrinks text, and a lossy
                    // UTF-8 conversion at most triples it (one byte to U+FFFD). Keys may be
                    // names the parser gives (PAN-OS positions), so they are not counted.
                    assert!(n <= input.len() * 3, "{n} > 3 × {}", input.len());
                }
            }
        }
    }
}
