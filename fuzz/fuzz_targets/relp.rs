#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::relp::{RelpDecoded, decode_relp};

// A stream of RELP frames: every frame's data fits its DATALEN and the limit, and decoding
// always makes progress or stops.
fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match decode_relp(rest, 4096) {
            RelpDecoded::Frame { frame, consumed } => {
                assert!(consumed > 0 && consumed <= rest.len());
                assert!(frame.data.len() <= 4096);
                assert!(!frame.command.is_empty());
                rest = &rest[consumed..];
            }
            RelpDecoded::NeedMore | RelpDecoded::Invalid(_) => break,
        }
    }
});
