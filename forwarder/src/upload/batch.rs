//! Batches: rows of one (target, stream) appended into a JSON array until the next row would
//! push the uncompressed body over the limit (1,000,000 bytes by default: the API counts 1 MB
//! before and after compression, and the .NET SDK cuts at 1,000,000), then closed and
//! gzip-compressed once, whole ([`Compression`] says how).
//!
//! A row that alone exceeds the limit is never sent whole and never dropped: its longest text
//! column among `SyslogMessage`, `Message`, `AdditionalExtensions` (then any other) is cut to
//! fit, and the cut is counted.

use libdeflater::{CompressionLvl, Compressor};
use serde_json::Value;

/// How batches are compressed (`[azure.upload] compression`; docs/upload.md, "gzip engines").
/// Both are gzip; they trade CPU against size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// The fastest engine built in: ISA-L's igzip at level 1 with the `isal` feature (about
    /// 9.1:1 on CommonSecurityLog rows at some 1.3 GB/s per core), otherwise zlib-rs at
    /// level 1 (pure Rust: about 6.7:1 at some 670 MB/s).
    #[default]
    Fast,
    /// libdeflate at level 6: about 12.1:1 at some 150 MB/s, for links or spools where bytes
    /// count more than CPU.
    Small,
}

/// The engine behind [`Compression::Fast`] in this build, for `tern --version` and the log.
pub const FAST_ENGINE: &str = if cfg!(feature = "isal") {
    "ISA-L igzip level 1"
} else {
    "zlib-rs level 1 (built without the isal feature)"
};

impl Compression {
    /// The name `[azure.upload] compression` takes.
    pub fn parse(name: &str) -> Option<Compression> {
        match name {
            "fast" => Some(Compression::Fast),
            "small" => Some(Compression::Small),
            _ => None,
        }
    }
}

/// The largest uncompressed body the API accepts, and the default limit.
pub const MAX_BODY_BYTES: usize = 1_000_000;

/// Columns cut first when a single row is too large, in this order.
const TRUNCATE_FIRST: [&str; 3] = ["SyslogMessage", "Message", "AdditionalExtensions"];

pub use tern_core::delivery::ClosedBatch;

/// A [`Compression`] with its state.
enum Engine {
    /// ISA-L compresses the whole batch in one stateless call (no window to slide, no state
    /// to keep between batches).
    #[cfg(feature = "isal")]
    Fast,
    /// zlib-rs keeps its state (some 300 KB of window and hash tables) from batch to batch,
    /// reset rather than allocated again.
    #[cfg(not(feature = "isal"))]
    Fast(Box<flate2::Compress>),
    Small(Compressor),
}

impl Engine {
    fn fast() -> Engine {
        #[cfg(feature = "isal")]
        return Engine::Fast;
        #[cfg(not(feature = "isal"))]
        return Engine::Fast(Box::new(flate2::Compress::new_gzip(
            flate2::Compression::fast(),
            15,
        )));
    }
}

/// Rows being collected for one target.
pub struct Batcher {
    max_bytes: usize,
    engine: Engine,
    /// Where the compressor writes before a body is copied out at its exact size. Grown once,
    /// never shrunk: resizing to each batch's bound zeroed a megabyte per batch (5 % of the
    /// daemon's instructions in the load benchmark).
    scratch: Vec<u8>,
    json: Vec<u8>,
    rows: u64,
    /// Rows cut to fit, since the batcher was made.
    pub truncated_rows: u64,
}

impl Batcher {
    /// `max_bytes` is capped at [`MAX_BODY_BYTES`].
    pub fn new(max_bytes: usize, compression: Compression) -> Batcher {
        let max_bytes = max_bytes.clamp(1024, MAX_BODY_BYTES);
        Batcher {
            max_bytes,
            engine: match compression {
                Compression::Fast => Engine::fast(),
                Compression::Small => {
                    Engine::Small(Compressor::new(CompressionLvl::new(6).unwrap_or_default()))
                }
            },
            scratch: Vec::new(),
            json: Vec::with_capacity(max_bytes),
            rows: 0,
            truncated_rows: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row (a JSON object). Returns the batch closed to make room, if any.
    pub fn push(&mut self, row: &[u8]) -> std::io::Result<Option<ClosedBatch>> {
        // `[` + row + `]` must fit on its own.
        let fitted;
        let row = if row.len() + 2 > self.max_bytes {
            fitted = fit_row(row, self.max_bytes - 2);
            self.truncated_rows += 1;
            &fitted[..]
        } else {
            row
        };
        let mut closed = None;
        // `,` + row + `]`
        if self.rows > 0 && self.json.len() + 1 + row.len() + 1 > self.max_bytes {
            closed = self.close()?;
        }
        self.json.push(if self.rows == 0 { b'[' } else { b',' });
        self.json.extend_from_slice(row);
        self.rows += 1;
        Ok(closed)
    }

    /// Appends rows given as one text, each followed by `\n` (how listeners and tailers hand
    /// them over), adding the batches closed to make room to `closed`. Whole lines are copied
    /// in as few pieces as the open batch allows (one, except where a batch ends) and their
    /// newlines turned into commas in place: splitting them again to copy row by row cost a
    /// `memchr` call, a bounds check and a copy per row (3 % of the daemon in the load
    /// benchmark). Empty lines are skipped and a last line without its newline is taken, row
    /// by row. A row whose batch could not be compressed is lost and the error returned; the
    /// rows after it are still taken.
    pub fn push_rows(&mut self, rows: &[u8], closed: &mut Vec<ClosedBatch>) -> std::io::Result<()> {
        let mut outcome = Ok(());
        let mut rest = rows;
        while !rest.is_empty() {
            // A piece of whole lines adds `[`/`,` and itself less its last newline, and `]`
            // must still fit after it.
            let room = self.max_bytes.saturating_sub(self.json.len() + 1);
            let piece_end = rest
                .get(..room.min(rest.len()))
                .and_then(|window| memchr::memrchr(b'\n', window))
                .map(|at| at + 1);
            let taken = match piece_end {
                Some(end) => {
                    let piece = rest.get(..end).unwrap_or_default();
                    if !self.append_lines(piece) {
                        // An empty line inside: row by row.
                        self.push_each(piece, closed, &mut outcome);
                    }
                    end
                }
                None if self.rows > 0 && rest.contains(&b'\n') => {
                    // The next line does not fit the open batch: close it and go on.
                    match self.close() {
                        Ok(full) => closed.extend(full),
                        Err(e) => outcome = Err(e),
                    }
                    if self.rows > 0 {
                        // Not closed (compression failed): rows one by one, so none loops.
                        self.push_each(rest, closed, &mut outcome);
                        rest.len()
                    } else {
                        0
                    }
                }
                None => {
                    // A line longer than a whole batch, or the last one without a newline.
                    let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
                    self.push_each(rest.get(..end).unwrap_or_default(), closed, &mut outcome);
                    end
                }
            };
            rest = rest.get(taken..).unwrap_or_default();
        }
        outcome
    }

    /// Appends whole newline-ended lines that fit, as rows; false (and nothing appended) if
    /// one of them is empty.
    fn append_lines(&mut self, lines: &[u8]) -> bool {
        let mark = self.json.len();
        self.json.push(if self.rows == 0 { b'[' } else { b',' });
        self.json.extend_from_slice(
            lines
                .get(..lines.len().saturating_sub(1))
                .unwrap_or_default(),
        );
        let appended = self.json.get_mut(mark + 1..).unwrap_or_default();
        let mut count = 1;
        let mut from = 0;
        let mut empty = appended.is_empty();
        while let Some(at) = appended
            .get(from..)
            .and_then(|tail| memchr::memchr(b'\n', tail))
            .map(|offset| from + offset)
        {
            empty |= at == from;
            if let Some(byte) = appended.get_mut(at) {
                *byte = b',';
            }
            count += 1;
            from = at + 1;
        }
        empty |= from == appended.len() && count > 1;
        if empty {
            self.json.truncate(mark);
            return false;
        }
        self.rows += count;
        true
    }

    /// [`Batcher::push`] for each non-empty line of `lines`.
    fn push_each(
        &mut self,
        lines: &[u8],
        closed: &mut Vec<ClosedBatch>,
        outcome: &mut std::io::Result<()>,
    ) {
        for row in lines.split(|&b| b == b'\n').filter(|row| !row.is_empty()) {
            match self.push(row) {
                Ok(full) => closed.extend(full),
                Err(e) => *outcome = Err(e),
            }
        }
    }

    /// Closes and compresses what is held (`None` when empty).
    pub fn close(&mut self) -> std::io::Result<Option<ClosedBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.json.push(b']');
        let body = match self.compress() {
            Ok(body) => body,
            Err(e) => {
                // The rows stay, open for more (compressing into memory does not fail; should
                // it, the batch is not left closed).
                self.json.pop();
                return Err(e);
            }
        };
        let batch = ClosedBatch {
            body,
            rows: self.rows,
            uncompressed_bytes: self.json.len(),
        };
        self.json.clear();
        self.rows = 0;
        Ok(Some(batch))
    }

    /// The gzip body of the closed JSON array.
    fn compress(&mut self) -> std::io::Result<Vec<u8>> {
        let bound = match &mut self.engine {
            Engine::Small(compressor) => compressor.gzip_compress_bound(self.json.len()),
            // Deflate's stored blocks add 5 bytes per 65,535; gzip 18 bytes of frame. Both
            // engines fail (rather than overflow) if this were ever short.
            _ => self.json.len() + self.json.len() / 64 + 1024,
        };
        if self.scratch.len() < bound {
            self.scratch.resize(bound, 0);
        }
        let written = match &mut self.engine {
            #[cfg(feature = "isal")]
            Engine::Fast => isal::compress_into(
                &self.json,
                &mut self.scratch,
                isal::CompressionLevel::One,
                isal::Codec::Gzip,
            )
            .map_err(|e| std::io::Error::other(format!("gzip (ISA-L): {e}")))?,
            #[cfg(not(feature = "isal"))]
            Engine::Fast(compressor) => {
                compressor.reset();
                let status = compressor
                    .compress(&self.json, &mut self.scratch, flate2::FlushCompress::Finish)
                    .map_err(|e| std::io::Error::other(format!("gzip (zlib-rs): {e}")))?;
                if status != flate2::Status::StreamEnd {
                    return Err(std::io::Error::other(
                        "gzip (zlib-rs): the body did not fit its bound",
                    ));
                }
                usize::try_from(compressor.total_out()).unwrap_or(usize::MAX)
            }
            Engine::Small(compressor) => compressor
                .gzip_compress(&self.json, &mut self.scratch)
                .map_err(|e| std::io::Error::other(format!("gzip (libdeflate): {e}")))?,
        };
        // Copied out at its exact size: a body stored in a larger buffer keeps the whole
        // capacity, and queued batches (counted by length) then held more than their budget
        // in memory through an outage (decision 74).
        self.scratch
            .get(..written)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::other("gzip: the engine reported more than it wrote"))
    }
}

/// Cuts text columns of a too-large row until it fits in `limit` bytes. The slow path: it
/// parses and re-serialises the row.
fn fit_row(row: &[u8], limit: usize) -> Vec<u8> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(row) else {
        // Not an object (cannot happen for rows Tern writes): send an empty object rather
        // than an oversized body.
        return b"{}".to_vec();
    };
    let mut order: Vec<String> = TRUNCATE_FIRST.iter().map(|s| (*s).to_owned()).collect();
    let mut others: Vec<(usize, String)> = map
        .iter()
        .filter(|(k, v)| v.is_string() && !TRUNCATE_FIRST.contains(&k.as_str()))
        .map(|(k, v)| (v.as_str().map_or(0, str::len), k.clone()))
        .collect();
    others.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
    order.extend(others.into_iter().map(|(_, k)| k));
    for column in order {
        let size = serde_json::to_vec(&map).map_or(usize::MAX, |v| v.len());
        if size <= limit {
            break;
        }
        let Some(Value::String(text)) = map.get_mut(&column) else {
            continue;
        };
        let excess = size - limit;
        // Cut a little more than the excess (escaping can make the JSON longer than the text),
        // on a character boundary, and mark the cut.
        let marker = "…[truncated by Tern]";
        let mut keep = text.len().saturating_sub(excess + marker.len() + 16);
        while keep > 0 && !text.is_char_boundary(keep) {
            keep -= 1;
        }
        text.truncate(keep);
        text.push_str(marker);
    }
    let out = serde_json::to_vec(&map).unwrap_or_else(|_| b"{}".to_vec());
    if out.len() <= limit {
        out
    } else {
        b"{}".to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn row(n: usize, size: usize) -> Vec<u8> {
        format!(
            r#"{{"TimeGenerated":"2026-11-21T10:00:00Z","SyslogMessage":"{n}-{}"}}"#,
            "x".repeat(size)
        )
        .into_bytes()
    }

    #[test]
    fn batches_never_exceed_the_limit_and_keep_every_row_in_order() {
        for compression in [Compression::Fast, Compression::Small] {
            let mut batcher = Batcher::new(10_000, compression);
            let mut closed = Vec::new();
            for n in 0..1000 {
                if let Some(b) = batcher.push(&row(n, n % 300)).unwrap() {
                    closed.push(b);
                }
            }
            closed.extend(batcher.close().unwrap());
            let mut seen = Vec::new();
            for batch in &closed {
                let json = gunzip(&batch.body);
                assert_eq!(json.len(), batch.uncompressed_bytes);
                assert!(json.len() <= 10_000, "{}", json.len());
                // Stored at its exact size (decision 74), and really compressed.
                assert_eq!(batch.body.capacity(), batch.body.len());
                assert!(
                    batch.body.len() * 5 < batch.uncompressed_bytes,
                    "{compression:?}: {} of {}",
                    batch.body.len(),
                    batch.uncompressed_bytes
                );
                let rows: Vec<Value> = serde_json::from_slice(&json).unwrap();
                assert_eq!(rows.len() as u64, batch.rows);
                for r in rows {
                    let text = r["SyslogMessage"].as_str().unwrap().to_owned();
                    seen.push(text.split('-').next().unwrap().parse::<usize>().unwrap());
                }
            }
            assert_eq!(seen, (0..1000).collect::<Vec<_>>(), "{compression:?}");
            assert!(closed.len() > 5);
        }
    }

    /// Rows handed over as newline-ended text: one copy when they fit, row by row across a
    /// batch's end, and row by row when the text and its count disagree (an empty row, a
    /// missing last newline), so every row arrives once, in order, in valid JSON.
    #[test]
    fn rows_handed_over_as_text_arrive_once_in_order_in_valid_batches() {
        let rows = |range: std::ops::Range<usize>| {
            let mut text = Vec::new();
            for n in range {
                text.extend(row(n, n % 300));
                text.push(b'\n');
            }
            text
        };
        let mut batcher = Batcher::new(10_000, Compression::Fast);
        let mut closed = Vec::new();
        let mut next = 0;
        for size in [1, 7, 30, 3, 60, 2, 45, 9, 100, 5] {
            batcher
                .push_rows(&rows(next..next + size), &mut closed)
                .unwrap();
            next += size;
        }
        // Malformed hand-overs: an empty row first or inside, no last newline.
        let mut gap = rows(next..next + 2);
        gap.insert(0, b'\n');
        batcher.push_rows(&gap, &mut closed).unwrap();
        next += 2;
        let mut gap = rows(next..next + 3);
        let middle = gap.iter().position(|&b| b == b'\n').unwrap();
        gap.insert(middle, b'\n');
        batcher.push_rows(&gap, &mut closed).unwrap();
        next += 3;
        let mut open_end = rows(next..next + 2);
        open_end.pop();
        batcher.push_rows(&open_end, &mut closed).unwrap();
        next += 2;
        // A row longer than a whole batch is cut, not dropped.
        let mut long = row(next, 12_000);
        long.push(b'\n');
        batcher.push_rows(&long, &mut closed).unwrap();
        next += 1;
        closed.extend(batcher.close().unwrap());
        let mut seen = Vec::new();
        for batch in &closed {
            let json = gunzip(&batch.body);
            assert!(json.len() <= 10_000, "{}", json.len());
            let parsed: Vec<Value> = serde_json::from_slice(&json).unwrap();
            assert_eq!(parsed.len() as u64, batch.rows);
            for r in parsed {
                let text = r["SyslogMessage"].as_str().unwrap().to_owned();
                seen.push(text.split('-').next().unwrap().parse::<usize>().unwrap());
            }
        }
        assert_eq!(seen, (0..next).collect::<Vec<_>>());
        assert!(closed.len() > 5, "{}", closed.len());
    }

    proptest::proptest! {
        /// Any hand-over sizes, row sizes (up to beyond a whole batch) and batch limits: the
        /// rows come out once each, in order, in batches within the limit.
        #[test]
        fn any_hand_overs_keep_every_row_once_in_order(
            limit in 1_024usize..20_000,
            batches in proptest::collection::vec(
                proptest::collection::vec(0usize..3_000, 0..40), 1..30),
        ) {
            let mut batcher = Batcher::new(limit, Compression::Fast);
            let mut closed = Vec::new();
            let mut next = 0;
            for sizes in &batches {
                let mut text = Vec::new();
                for size in sizes {
                    let size = if *size > 2_900 { limit + size } else { *size };
                    text.extend(row(next, size));
                    text.push(b'\n');
                    next += 1;
                }
                batcher.push_rows(&text, &mut closed).unwrap();
            }
            closed.extend(batcher.close().unwrap());
            let mut seen = Vec::new();
            for batch in &closed {
                let json = gunzip(&batch.body);
                proptest::prop_assert!(json.len() <= limit, "{} > {limit}", json.len());
                let parsed: Vec<Value> = serde_json::from_slice(&json).unwrap();
                proptest::prop_assert_eq!(parsed.len() as u64, batch.rows);
                for r in parsed {
                    let text = r["SyslogMessage"].as_str().unwrap().to_owned();
                    seen.push(text.split('-').next().unwrap().parse::<usize>().unwrap());
                }
            }
            proptest::prop_assert_eq!(seen, (0..next).collect::<Vec<_>>());
        }
    }

    #[test]
    fn compression_names() {
        assert_eq!(Compression::parse("fast"), Some(Compression::Fast));
        assert_eq!(Compression::parse("small"), Some(Compression::Small));
        assert_eq!(Compression::parse("gzip"), None);
        assert_eq!(Compression::default(), Compression::Fast);
    }

    #[test]
    fn rows_that_do_not_compress_still_fit_and_come_back_whole() {
        // Pseudo-random printable text (what a row holds at worst): deflate gains little, and
        // the body must still fit the compressor's output bound.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut noise = String::new();
        for _ in 0..900_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            noise.push(char::from(b'!' + (state % 90) as u8).to_ascii_lowercase());
        }
        let noise = noise.replace(['"', '\\'], "x");
        let row = format!(r#"{{"SyslogMessage":"{noise}"}}"#).into_bytes();
        for compression in [Compression::Fast, Compression::Small] {
            let mut batcher = Batcher::new(MAX_BODY_BYTES, compression);
            assert!(batcher.push(&row).unwrap().is_none());
            let batch = batcher.close().unwrap().unwrap();
            let json = gunzip(&batch.body);
            assert_eq!(json.len(), row.len() + 2, "{compression:?}");
            assert_eq!(
                json.get(1..json.len() - 1),
                Some(&row[..]),
                "{compression:?}"
            );
        }
    }
    #[test]
    fn a_row_over_the_limit_is_cut_to_fit_not_dropped() {
        let mut batcher = Batcher::new(2_000, Compression::Fast);
        assert!(batcher.push(&row(1, 5_000)).unwrap().is_none());
        let batch = batcher.close().unwrap().unwrap();
        let rows: Vec<Value> = serde_json::from_slice(&gunzip(&batch.body)).unwrap();
        assert_eq!(rows.len(), 1);
        let text = rows[0]["SyslogMessage"].as_str().unwrap();
        assert!(text.starts_with("1-xxx") && text.ends_with("…[truncated by Tern]"));
        assert!(batch.uncompressed_bytes <= 2_000);
        assert_eq!(rows[0]["TimeGenerated"], "2026-11-21T10:00:00Z");
        assert_eq!(batcher.truncated_rows, 1);
    }

    #[test]
    fn the_limit_is_exact() {
        let base = row(7, 0).len();
        let fits = row(7, 1024 - 2 - base);
        assert_eq!(fits.len(), 1022);
        let mut batcher = Batcher::new(1024, Compression::Fast);
        assert!(batcher.push(&fits).unwrap().is_none());
        assert_eq!(batcher.close().unwrap().unwrap().uncompressed_bytes, 1024);
        assert_eq!(batcher.truncated_rows, 0);
        // One byte more must be cut.
        assert!(batcher.push(&row(7, 1024 - 1 - base)).unwrap().is_none());
        assert!(batcher.close().unwrap().unwrap().uncompressed_bytes <= 1024);
        assert_eq!(batcher.truncated_rows, 1);
        // Two rows: `[` 500 `,` 522 `]` is 1025, so the first closes alone.
        let (a, b) = (row(1, 500 - base), row(2, 522 - base));
        assert!(batcher.push(&a).unwrap().is_none());
        let first = batcher.push(&b).unwrap().unwrap();
        assert_eq!((first.rows, first.uncompressed_bytes), (1, 502));
    }
}
