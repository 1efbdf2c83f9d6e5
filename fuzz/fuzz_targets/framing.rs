//! Framing: any stream, fed in arbitrary chunk sizes, gives the same items as fed whole, and
//! every byte is accounted for (consumed exactly once).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::framing::{AtEof, Decoded, FrameDecoder, Framing, decode_all};

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let framing = match control % 3 {
        0 => Framing::Auto,
        1 => Framing::OctetCounting,
        _ => Framing::NonTransparent,
    };
    let max = usize::from(control / 3) + 1;
    let chunk = usize::from(control % 7) + 1;
    let whole = decode_all(framing, max, stream);

    let mut decoder = FrameDecoder::new(framing, max);
    let mut buf: Vec<u8> = Vec::new();
    let mut frames = 0usize;
    let mut consumed_total = 0usize;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let consumed = match decoder.decode(&buf) {
                Decoded::Frame { frame, consumed } | Decoded::Resynced { frame, consumed } => {
                    assert!(frame.len() <= max);
                    frames += 1;
                    consumed
                }
                Decoded::Oversized { consumed, .. } | Decoded::Skipped { consumed } => consumed,
                Decoded::NeedMore => break,
            };
            assert!(consumed > 0 && consumed <= buf.len());
            consumed_total += consumed;
            buf.drain(..consumed);
        }
    }
    if let AtEof::Frame(_) = decoder.finish(&buf) {
        frames += 1;
    }
    assert!(consumed_total <= stream.len());
    let whole_frames = whole
        .iter()
        .filter(|i| matches!(i, tern_parsers::framing::Item::Frame(_) | tern_parsers::framing::Item::Resynced(_)))
        .count();
    assert_eq!(frames, whole_frames);
});
