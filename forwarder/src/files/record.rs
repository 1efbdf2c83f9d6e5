//! Records from a file's bytes: lines (LF, with a CR before it dropped), joined into
//! multi-line records when the source has a `recordStartTimestampFormat`, cut at
//! `max_record_bytes` (counted), and a partial last line held until its newline or a timeout.
//!
//! The assembler tracks file offsets, so the caller can checkpoint exactly the bytes that went
//! into emitted records: an open multi-line record or a partial line is read again after a
//! restart rather than lost or sent twice.

use crate::dcr::load::RecordStart;

/// One record handed to the caller: its text and whether it was cut.
pub struct Emitted<'a> {
    pub text: &'a [u8],
    pub truncated: bool,
}

/// Turns appended bytes into records.
pub struct Assembler {
    record_start: Option<RecordStart>,
    max_bytes: usize,
    /// Bytes read but not yet in an emitted record; `held[0]` is at file offset `held_at`.
    held: Vec<u8>,
    held_at: u64,
    /// Within `held`: where the open record ends (the start of the line being scanned).
    scanned: usize,
    /// A record was cut at `max_bytes`: skip until the next record start.
    skipping: bool,
    /// A line was cut before its end arrived: drop the rest of it.
    mid_line: bool,
}

impl Assembler {
    pub fn new(record_start: Option<RecordStart>, max_bytes: usize, offset: u64) -> Assembler {
        Assembler {
            record_start,
            max_bytes,
            held: Vec::new(),
            held_at: offset,
            scanned: 0,
            skipping: false,
            mid_line: false,
        }
    }

    /// The file offset up to which every byte is in an emitted record: where reading resumes
    /// after a restart.
    pub fn committed(&self) -> u64 {
        self.held_at
    }

    /// The file offset of the next byte to read.
    pub fn read_to(&self) -> u64 {
        self.held_at + self.held.len() as u64
    }

    /// Whether bytes are held (a partial line or an open record).
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Starts over at `offset` (the file was truncated), dropping what is held.
    pub fn reset(&mut self, offset: u64) {
        self.held.clear();
        self.held_at = offset;
        self.scanned = 0;
        self.skipping = false;
        self.mid_line = false;
    }

    /// Appends `bytes` (read at [`Assembler::read_to`]) and emits every completed record.
    ///
    /// Decisions depend on complete lines only, so how the bytes were split across reads
    /// never changes the records (a property test checks it); the one exception is a line
    /// longer than the limit, cut as soon as it is, whose rest is then dropped.
    pub fn push(&mut self, bytes: &[u8], emit: &mut impl FnMut(Emitted<'_>)) {
        self.held.extend_from_slice(bytes);
        let max = self.max_bytes;
        let mut record_from = 0usize; // the open record (or line) within `held`
        loop {
            let rest = self.held.get(self.scanned..).unwrap_or_default();
            let Some(newline) = memchr::memchr(b'\n', rest) else {
                break;
            };
            let line_start = self.scanned;
            let line_end = line_start + newline; // exclusive, before '\n'
            self.scanned = line_end + 1;
            if self.mid_line {
                // The rest of a line already emitted cut.
                self.mid_line = false;
                record_from = self.scanned;
                continue;
            }
            match self.record_start {
                None => {
                    emit_record(&self.held, line_start, line_end, max, emit);
                    record_from = self.scanned;
                }
                Some(format) => {
                    let line = self.held.get(line_start..line_end).unwrap_or_default();
                    if starts_record(format, line) {
                        if !self.skipping && line_start > record_from {
                            emit_record(&self.held, record_from, line_start - 1, max, emit);
                        }
                        self.skipping = false;
                        record_from = line_start;
                    }
                    // A record grown past the limit is emitted cut now; the rest of it is
                    // skipped up to the next record start.
                    if !self.skipping && line_end - record_from > max {
                        emit_record(&self.held, record_from, line_end, max, emit);
                        self.skipping = true;
                    }
                }
            }
        }
        if self.skipping {
            // Complete lines of a record already emitted cut.
            record_from = self.scanned;
        }
        let partial_len = self.held.len() - self.scanned.min(self.held.len());
        if self.mid_line {
            // Still inside a line already emitted cut: drop what arrived of it.
            record_from = self.held.len();
            self.scanned = self.held.len();
        } else if partial_len > max {
            // A line that can no longer fit (a file without newlines): cut it now rather
            // than hold it whole in memory.
            let end = self.held.len();
            match self.record_start {
                None => emit_record(&self.held, self.scanned, end, max, emit),
                Some(format) => {
                    let partial = self.held.get(self.scanned..).unwrap_or_default();
                    if starts_record(format, partial) {
                        if !self.skipping && self.scanned > record_from {
                            emit_record(&self.held, record_from, self.scanned - 1, max, emit);
                        }
                        emit_record(&self.held, self.scanned, end, max, emit);
                    } else if !self.skipping {
                        emit_record(&self.held, record_from, end, max, emit);
                    }
                    self.skipping = true;
                }
            }
            self.mid_line = true;
            record_from = end;
            self.scanned = end;
        }
        self.discard(record_from);
    }

    /// Emits what is held (a partial line, an open record) as a record: called when nothing
    /// was appended for the flush timeout, or when the file is released.
    pub fn flush(&mut self, emit: &mut impl FnMut(Emitted<'_>)) {
        if self.held.is_empty() {
            return;
        }
        let mut end = self.held.len();
        if self.held.last() == Some(&b'\n') {
            end -= 1;
        }
        let starts = self
            .record_start
            .is_some_and(|format| starts_record(format, &self.held));
        if !self.skipping || starts {
            emit_record(&self.held, 0, end, self.max_bytes, emit);
        }
        self.skipping = false;
        let all = self.held.len();
        self.discard(all);
    }

    fn discard(&mut self, upto: usize) {
        let upto = upto.min(self.held.len());
        self.held.drain(..upto);
        self.held_at += upto as u64;
        self.scanned = self.scanned.saturating_sub(upto);
    }
}

/// Emits `held[from..to]` without a trailing CR, cut at `max`.
fn emit_record(
    held: &[u8],
    from: usize,
    to: usize,
    max: usize,
    emit: &mut impl FnMut(Emitted<'_>),
) {
    let mut text = held.get(from..to).unwrap_or_default();
    if let Some(stripped) = text.strip_suffix(b"\r") {
        text = stripped;
    }
    if text.len() > max {
        // Cut on a character boundary so the row stays valid UTF-8 where the file was.
        let mut cut = max;
        while cut > 0 && text.get(cut).is_some_and(|b| (b & 0xC0) == 0x80) {
            cut -= 1;
        }
        emit(Emitted {
            text: text.get(..cut).unwrap_or_default(),
            truncated: true,
        });
    } else {
        emit(Emitted {
            text,
            truncated: false,
        });
    }
}

// Record-start timestamp shapes. Hand-written matchers: each is a fixed sequence of digit
// runs, literals and month names, checked at the start of a line (no regex on this path).

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

struct Cursor<'a> {
    line: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// `min..=max` digits; their value.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let mut value = 0u32;
        let mut count = 0;
        while count < max {
            match self.line.get(self.at) {
                Some(b) if b.is_ascii_digit() => {
                    value = value * 10 + u32::from(b - b'0');
                    self.at += 1;
                    count += 1;
                }
                _ => break,
            }
        }
        (count >= min).then_some(value)
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        (self.line.get(self.at) == Some(&expected)).then(|| self.at += 1)
    }

    fn any_of(&mut self, set: &[u8]) -> Option<u8> {
        let b = *self.line.get(self.at)?;
        set.contains(&b).then(|| {
            self.at += 1;
            b
        })
    }

    fn month(&mut self) -> Option<()> {
        let name = self.line.get(self.at..self.at + 3)?;
        MONTHS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(name))
            .then(|| self.at += 3)
    }

    fn spaces(&mut self) -> Option<()> {
        let from = self.at;
        while self.line.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        (self.at > from).then_some(())
    }

    /// `HH:MM:SS` with 1–2 hour digits when `short_hour`.
    fn time(&mut self, short_hour: bool) -> Option<()> {
        let hour = self.digits(if short_hour { 1 } else { 2 }, 2)?;
        self.byte(b':')?;
        let minute = self.digits(2, 2)?;
        self.byte(b':')?;
        let second = self.digits(2, 2)?;
        (hour < 24 && minute < 60 && second <= 60).then_some(())
    }

    /// `YYYY-MM-DD`
    fn ymd(&mut self) -> Option<()> {
        self.digits(4, 4)?;
        self.byte(b'-')?;
        let month = self.digits(2, 2)?;
        self.byte(b'-')?;
        let day = self.digits(2, 2)?;
        valid_date(month, day)
    }
}

fn valid_date(month: u32, day: u32) -> Option<()> {
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(())
}

/// Whether `line` starts with a timestamp of `format`.
pub fn starts_record(format: RecordStart, line: &[u8]) -> bool {
    let mut c = Cursor { line, at: 0 };
    let matched = match format {
        RecordStart::Iso8601 => (|| {
            c.ymd()?;
            c.byte(b'T')?;
            c.time(false)
        })(),
        RecordStart::IsoWithZone => (|| {
            c.ymd()?;
            c.byte(b'T')?;
            c.time(false)?;
            if c.byte(b'.').is_some() {
                c.digits(1, 9)?;
            }
            match c.any_of(b"Zz+-")? {
                b'Z' | b'z' => Some(()),
                _ => {
                    c.digits(2, 2)?;
                    let _ = c.byte(b':');
                    c.digits(2, 2).map(|_| ())
                }
            }
        })(),
        RecordStart::YmdHms => (|| {
            c.ymd()?;
            c.byte(b' ')?;
            c.time(false)
        })(),
        RecordStart::UsDateAmPm => (|| {
            let month = c.digits(1, 2)?;
            c.byte(b'/')?;
            let day = c.digits(1, 2)?;
            c.byte(b'/')?;
            c.digits(4, 4)?;
            valid_date(month, day)?;
            c.byte(b' ')?;
            c.time(true)?;
            c.byte(b' ')?;
            c.any_of(b"AaPp")?;
            c.any_of(b"Mm").map(|_| ())
        })(),
        RecordStart::MonDdYyyy => (|| {
            c.month()?;
            c.byte(b' ')?;
            c.digits(1, 2)?;
            c.byte(b',')?;
            c.byte(b' ')?;
            c.digits(4, 4)?;
            c.byte(b' ')?;
            c.time(true)
        })(),
        RecordStart::YyMmDd => (|| {
            c.digits(2, 2)?;
            let month = c.digits(2, 2)?;
            let day = c.digits(2, 2)?;
            valid_date(month, day)?;
            c.byte(b' ')?;
            c.time(false)
        })(),
        RecordStart::DdMmYy => (|| {
            let day = c.digits(2, 2)?;
            let month = c.digits(2, 2)?;
            c.digits(2, 2)?;
            valid_date(month, day)?;
            c.byte(b' ')?;
            c.time(false)
        })(),
        RecordStart::Bsd => (|| {
            c.month()?;
            c.spaces()?;
            let day = c.digits(1, 2)?;
            (1..=31).contains(&day).then_some(())?;
            c.byte(b' ')?;
            c.time(false)
        })(),
        RecordStart::Clf => (|| {
            let day = c.digits(2, 2)?;
            c.byte(b'/')?;
            c.month()?;
            c.byte(b'/')?;
            c.digits(4, 4)?;
            c.byte(b':')?;
            c.time(false)?;
            c.byte(b' ')?;
            c.any_of(b"+-")?;
            c.digits(4, 4)?;
            (1..=31).contains(&day).then_some(())
        })(),
    };
    matched.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(
        start: Option<RecordStart>,
        max: usize,
        chunks: &[&str],
        flush: bool,
    ) -> (Vec<(String, bool)>, u64) {
        let mut a = Assembler::new(start, max, 0);
        let mut out = Vec::new();
        for chunk in chunks {
            a.push(chunk.as_bytes(), &mut |e| {
                out.push((String::from_utf8_lossy(e.text).into_owned(), e.truncated));
            });
        }
        if flush {
            a.flush(&mut |e| {
                out.push((String::from_utf8_lossy(e.text).into_owned(), e.truncated));
            });
        }
        (out, a.committed())
    }

    fn texts(r: &[(String, bool)]) -> Vec<&str> {
        r.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn lines_split_across_reads_and_a_partial_last_line() {
        let (r, committed) = records(None, 100, &["one\r\ntw", "o\nthree"], false);
        assert_eq!(texts(&r), ["one", "two"]);
        assert_eq!(committed, 9, "`three` is held, not committed");
        let (r, committed) = records(None, 100, &["one\ntwo\nthree"], true);
        assert_eq!(texts(&r), ["one", "two", "three"]);
        assert_eq!(committed, 13);
    }

    #[test]
    fn long_lines_are_cut_and_flagged() {
        let (r, _) = records(None, 4, &["abcdefgh\nxy\n"], false);
        assert_eq!(r, [("abcd".to_owned(), true), ("xy".to_owned(), false)]);
        // Not inside a UTF-8 character.
        let (r, _) = records(None, 4, &["abcé\n"], false);
        assert_eq!(r, [("abc".to_owned(), true)]);
    }

    #[test]
    fn multi_line_records_join_until_the_next_start() {
        let chunks = [
            "2026-11-22 10:00:00 first\n  at a.b(c)\n",
            "  at d.e(f)\n2026-11-22 10:00:01 second\n",
        ];
        let (r, committed) = records(Some(RecordStart::YmdHms), 1000, &chunks, false);
        assert_eq!(
            texts(&r),
            ["2026-11-22 10:00:00 first\n  at a.b(c)\n  at d.e(f)"]
        );
        assert_eq!(committed, 50, "the second record is open");
        let (r, _) = records(Some(RecordStart::YmdHms), 1000, &chunks, true);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].0, "2026-11-22 10:00:01 second");
    }

    #[test]
    fn an_oversized_multi_line_record_is_cut_once() {
        let (r, _) = records(
            Some(RecordStart::YmdHms),
            30,
            &["2026-11-22 10:00:00 a\nxxxxxxxxxxxxxxx\nyyyyyyyyyy\n2026-11-22 10:00:01 b\n"],
            true,
        );
        assert_eq!(
            r,
            [
                ("2026-11-22 10:00:00 a\nxxxxxxxx".to_owned(), true),
                ("2026-11-22 10:00:01 b".to_owned(), false)
            ]
        );
    }

    #[test]
    fn every_record_start_format() {
        let cases = [
            (
                RecordStart::Iso8601,
                "2026-11-22T10:00:00.123+01:00 x",
                "2026-11-22 10:00:00 x",
            ),
            (
                RecordStart::IsoWithZone,
                "2026-11-22T10:00:00Z x",
                "2026-11-22T10:00:00 x",
            ),
            (
                RecordStart::YmdHms,
                "2026-11-22 10:00:00 x",
                "2026-13-22 10:00:00 x",
            ),
            (
                RecordStart::UsDateAmPm,
                "11/2/2026 1:05:09 PM x",
                "11/2/2026 1:05:09 x",
            ),
            (
                RecordStart::MonDdYyyy,
                "Nov 22, 2026 10:00:00 x",
                "Nov 22 2026 10:00:00 x",
            ),
            (
                RecordStart::YyMmDd,
                "261122 10:00:00 x",
                "261322 10:00:00 x",
            ),
            (
                RecordStart::DdMmYy,
                "221126 10:00:00 x",
                "321126 10:00:00 x",
            ),
            (RecordStart::Bsd, "Nov  2 10:00:00 x", "Now  2 10:00:00 x"),
            (
                RecordStart::Clf,
                "22/Nov/2026:10:00:00 +0100 x",
                "22/Nov/2026 10:00:00 +0100 x",
            ),
        ];
        for (format, yes, no) in cases {
            assert!(starts_record(format, yes.as_bytes()), "{format:?} {yes}");
            assert!(!starts_record(format, no.as_bytes()), "{format:?} {no}");
            assert!(!starts_record(format, b"  at continuation"), "{format:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn run(
        start: Option<RecordStart>,
        max: usize,
        chunks: &[&[u8]],
    ) -> (Vec<(Vec<u8>, bool)>, u64) {
        let mut a = Assembler::new(start, max, 0);
        let mut out = Vec::new();
        for chunk in chunks {
            a.push(chunk, &mut |e| out.push((e.text.to_vec(), e.truncated)));
        }
        a.flush(&mut |e| out.push((e.text.to_vec(), e.truncated)));
        (out, a.committed())
    }

    proptest! {
        /// However the bytes arrive (split anywhere), the records are the same, nothing is
        /// longer than the limit, and everything read is accounted for.
        #[test]
        fn chunking_does_not_change_records(
            tokens in proptest::collection::vec(
                prop_oneof![
                    Just(b"\n".to_vec()),
                    Just(b"2026-11-22 10:00:00 ".to_vec()),
                    Just(b"\r\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 1..12),
                    Just(vec![b'x'; 40]),
                ],
                0..80,
            ),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            multi in any::<bool>(),
            max in 32usize..96,
        ) {
            let bytes: Vec<u8> = tokens.concat();
            let start = multi.then_some(RecordStart::YmdHms);
            let (whole, committed) = run(start, max, &[&bytes]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&bytes[from..cut]);
                from = cut;
            }
            chunks.push(&bytes[from..]);
            let (split, committed_split) = run(start, max, &chunks);
            prop_assert_eq!(&whole, &split);
            prop_assert_eq!(committed, bytes.len() as u64);
            prop_assert_eq!(committed_split, bytes.len() as u64);
            for (text, _) in &whole {
                prop_assert!(text.len() <= max);
            }
        }
    }
}
