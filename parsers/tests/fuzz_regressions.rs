//! Inputs the fuzz targets once crashed on (`fuzz/regressions/<target>/`), replayed through
//! the same checks as the targets so each stays fixed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use tern_parsers::framing::{Decoded, FrameDecoder, Framing, Item, decode_all};

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn framing_regressions_frame_alike_in_any_chunking() {
    let cases = inputs("framing");
    assert!(!cases.is_empty());
    for data in cases {
        let (&control, stream) = data.split_first().unwrap();
        let framing = [
            Framing::Auto,
            Framing::OctetCounting,
            Framing::NonTransparent,
        ][usize::from(control % 3)];
        let max = usize::from(control / 3) + 1;
        let whole = decode_all(framing, max, stream)
            .iter()
            .filter(|i| matches!(i, Item::Frame(_) | Item::Resynced(_)))
            .count();
        for chunk in 1..8 {
            let mut decoder = FrameDecoder::new(framing, max);
            let mut buf = Vec::new();
            let mut frames = 0;
            for piece in stream.chunks(chunk) {
                buf.extend_from_slice(piece);
                loop {
                    let consumed = match decoder.decode(&buf) {
                        Decoded::Frame { consumed, .. } | Decoded::Resynced { consumed, .. } => {
                            frames += 1;
                            consumed
                        }
                        Decoded::Oversized { consumed, .. } | Decoded::Skipped { consumed } => {
                            consumed
                        }
                        Decoded::NeedMore => break,
                    };
                    buf.drain(..consumed);
                }
            }
            if let tern_parsers::framing::AtEof::Frame(_) = decoder.finish(&buf) {
                frames += 1;
            }
            assert_eq!(frames, whole, "chunk {chunk}");
        }
    }
}
