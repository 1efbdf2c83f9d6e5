//! The common path allocates nothing: parsing a frame, classifying its body and walking every
//! field of realistic RFC 5424, RFC 3164, CEF, LEEF and ASA messages makes zero heap
//! allocations (counted by dhat's testing allocator). Escapes in values are the documented
//! exception (they force a `Cow::Owned`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use tern_parsers::framing::{Decoded, FrameDecoder, Framing};
use tern_parsers::{Body, Options, Timestamp, parse};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const STREAM: &[u8] = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] An application event log entry\n\
<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8\n\
<134>Feb 14 19:04:54 fw01 CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 request=https://x.example/p?a=1&b=2 msg=with spaces in it cs1Label=Rule cs1=Allow all\n\
<13>1 2019-01-18T11:07:53.520Z 192.168.1.1 LEEF:2.0|Vendor|Product|Version|EventID|^|src=192.0.2.0^dst=172.50.123.1^sev=5\n\
<166>Nov 21 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:10.0.0.1/80 (10.0.0.1/80) to inside:10.0.0.2/1772 (10.0.0.2/1772)\n";

fn walk(stream: &[u8], options: &Options) -> usize {
    let mut decoder = FrameDecoder::new(Framing::Auto, 65536);
    let mut rest = stream;
    let mut fields = 0usize;
    loop {
        let consumed = match decoder.decode(rest) {
            Decoded::Frame { frame, consumed } => {
                let event = parse(frame, options).unwrap();
                fields += event.hostname.map_or(0, str::len) + event.app_name.map_or(0, str::len);
                fields += event.message.len() + usize::from(event.timestamp.is_some());
                for element in event.structured_data.elements() {
                    for (name, value) in element.params() {
                        fields += name.len() + value.len();
                    }
                }
                match &event.body {
                    Body::Cef(cef) => {
                        fields += cef.device_vendor.len() + cef.name.len();
                        for (key, value) in cef.extensions.iter() {
                            fields += key.len() + value.len();
                        }
                    }
                    Body::Leef(leef) => {
                        for (key, value) in leef.attributes.iter() {
                            fields += key.len() + value.len();
                        }
                    }
                    Body::CiscoAsa(asa) => fields += asa.message_id.len() + asa.text.len(),
                    Body::Text => {}
                }
                consumed
            }
            Decoded::NeedMore => break,
            other => panic!("unexpected {other:?}"),
        };
        rest = &rest[consumed..];
    }
    fields
}

/// Run without the test harness (`harness = false`): the harness's own threads allocate now
/// and then, and dhat counts every thread of the process.
fn main() {
    parsing_the_common_path_allocates_nothing();
    println!("no_alloc: 1 passed, 0 failed");
}

fn parsing_the_common_path_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
    let warm = walk(STREAM, &options);
    let before = dhat::HeapStats::get();
    let mut total = 0;
    for _ in 0..100 {
        total += walk(STREAM, &options);
    }
    let after = dhat::HeapStats::get();
    assert_eq!(total, warm * 100);
    assert_eq!(
        after.total_blocks - before.total_blocks,
        0,
        "heap allocations on the common path"
    );

    // The counter works: an escaped CEF value is one allocation.
    let escaped = b"CEF:0|V|P|1|2|N|3|msg=a\\=b";
    let before = dhat::HeapStats::get();
    let event = parse(escaped, &options).unwrap();
    let Body::Cef(cef) = &event.body else {
        panic!()
    };
    assert_eq!(cef.extensions.get("msg").unwrap(), "a=b");
    assert_eq!(dhat::HeapStats::get().total_blocks - before.total_blocks, 1);
}
