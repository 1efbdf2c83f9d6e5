//! RFC 6587 framing for stream transports (TCP, TLS): octet counting (`LEN SP MSG`) and
//! non-transparent framing (a trailer of LF; CRLF and NUL tolerated).
//!
//! Owns: cutting a byte stream into frames. A pure state machine in the style of `quinn-proto`:
//! the caller owns the buffer and the socket, hands [`FrameDecoder::decode`] the bytes it has not
//! consumed yet and drops `consumed` bytes from the front afterwards. Frames borrow from that
//! buffer. Never truncates a frame silently: an oversized frame is reported with its length and
//! skipped as a whole.

use memchr::memchr2;

/// How a stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Decided by the first frame of the stream: a count (`[1-9][0-9]* SP`) means octet
    /// counting, anything else non-transparent.
    Auto,
    OctetCounting,
    /// Frames end at LF (a CR before it is dropped) or NUL.
    NonTransparent,
}

/// What [`FrameDecoder::decode`] found at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete frame. Drop `consumed` bytes from the buffer once done with `frame`.
    Frame { frame: &'a [u8], consumed: usize },
    /// A frame longer than the maximum was skipped whole; `len` is its full length. Reported
    /// once per frame, when its length is known.
    Oversized { len: usize, consumed: usize },
    /// Bytes of an oversized frame were discarded; its [`Decoded::Oversized`] comes later.
    Skipped { consumed: usize },
    /// An octet-counting stream had no valid count here; the bytes up to the next LF were taken
    /// as one non-transparent frame so nothing is lost, and the stream stays octet-counted.
    Resynced { frame: &'a [u8], consumed: usize },
    /// No complete frame yet: read more bytes and call again with the whole unconsumed buffer.
    NeedMore,
}

/// What is left when the stream ends.
#[derive(Debug, PartialEq, Eq)]
pub enum AtEof<'a> {
    Nothing,
    /// An unterminated last frame of a non-transparent stream (senders often omit the last LF).
    Frame(&'a [u8]),
    /// The stream ended inside an octet-counted frame: `expected` bytes were announced,
    /// `received` arrived.
    Truncated {
        expected: usize,
        received: usize,
    },
    /// The stream ended inside a non-transparent frame already longer than the maximum; `len`
    /// bytes of it arrived.
    Oversized {
        len: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    /// Skipping the body of an oversized octet-counted frame.
    Counted {
        remaining: usize,
    },
    /// Skipping an oversized non-transparent frame until its delimiter; `seen` bytes so far,
    /// the last of which was a CR when `last_cr` (a CR before the LF is not frame content).
    UntilDelimiter {
        seen: usize,
        last_cr: bool,
    },
}

/// The longest count accepted in an octet-counting header (rsyslog also stops at 9 digits).
const MAX_COUNT_DIGITS: usize = 9;

/// Decoder state for one stream.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    framing: Framing,
    max_frame: usize,
    skip: Skip,
    /// Bytes at the front of the buffer already searched for a delimiter without success, so a
    /// frame arriving in many small reads is scanned once, not once per read.
    scanned: usize,
}

/// Result of reading an octet count at the front of a buffer.
enum Count {
    Valid { len: usize, header: usize },
    Incomplete,
    Invalid,
}

fn read_count(buf: &[u8]) -> Count {
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || buf.first() == Some(&b'0') || digits > MAX_COUNT_DIGITS {
        return Count::Invalid;
    }
    match buf.get(digits) {
        None => Count::Incomplete,
        Some(b' ') => {
            let len = buf
                .iter()
                .take(digits)
                .fold(0usize, |acc, d| acc * 10 + usize::from(d - b'0'));
            Count::Valid {
                len,
                header: digits + 1,
            }
        }
        Some(_) => Count::Invalid,
    }
}

/// Drops a trailing CR (CRLF framing).
fn trim_cr(frame: &[u8]) -> &[u8] {
    frame.strip_suffix(b"\r").unwrap_or(frame)
}

impl FrameDecoder {
    /// A decoder that reports frames longer than `max_frame` bytes as oversized.
    pub fn new(framing: Framing, max_frame: usize) -> FrameDecoder {
        FrameDecoder {
            framing,
            max_frame: max_frame.max(1),
            skip: Skip::None,
            scanned: 0,
        }
    }

    /// The framing in force: [`Framing::Auto`] until the first frame decided it.
    /// Whether the decoder is inside an oversized frame it is skipping: bytes of that frame are
    /// still to come, although none are left in the caller's buffer.
    pub fn in_skipped_frame(&self) -> bool {
        !matches!(self.skip, Skip::None)
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Decodes the next item from `buf`, the bytes not yet consumed.
    pub fn decode<'a>(&mut self, buf: &'a [u8]) -> Decoded<'a> {
        match self.skip {
            Skip::Counted { remaining } => {
                let n = remaining.min(buf.len());
                self.skip = if n == remaining {
                    Skip::None
                } else {
                    Skip::Counted {
                        remaining: remaining - n,
                    }
                };
                return if n == 0 {
                    Decoded::NeedMore
                } else {
                    Decoded::Skipped { consumed: n }
                };
            }
            Skip::UntilDelimiter { seen, last_cr } => {
                return match memchr2(b'\n', 0, buf) {
                    Some(pos) => {
                        self.skip = Skip::None;
                        let cr_before = match pos.checked_sub(1) {
                            Some(p) => buf.get(p) == Some(&b'\r'),
                            None => last_cr,
                        };
                        Decoded::Oversized {
                            len: seen + pos - usize::from(cr_before),
                            consumed: pos + 1,
                        }
                    }
                    None if buf.is_empty() => Decoded::NeedMore,
                    None => {
                        self.skip = Skip::UntilDelimiter {
                            seen: seen + buf.len(),
                            last_cr: buf.last() == Some(&b'\r'),
                        };
                        Decoded::Skipped {
                            consumed: buf.len(),
                        }
                    }
                };
            }
            Skip::None => {}
        }
        // Blank lines and stray delimiters between frames carry nothing; step over them.
        let lead = buf
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r' | b'\0'))
            .count();
        if lead > 0 {
            self.scanned = 0;
            let rest = buf.get(lead..).unwrap_or_default();
            return match self.decode(rest) {
                Decoded::NeedMore => Decoded::Skipped { consumed: lead },
                other => add_consumed(other, lead),
            };
        }
        if buf.is_empty() {
            return Decoded::NeedMore;
        }
        if self.framing == Framing::Auto {
            self.framing = match read_count(buf) {
                Count::Valid { .. } => Framing::OctetCounting,
                Count::Incomplete => return Decoded::NeedMore,
                Count::Invalid => Framing::NonTransparent,
            };
        }
        match self.framing {
            Framing::OctetCounting => self.decode_counted(buf),
            _ => self.decode_delimited(buf),
        }
    }

    fn decode_counted<'a>(&mut self, buf: &'a [u8]) -> Decoded<'a> {
        match read_count(buf) {
            Count::Incomplete => Decoded::NeedMore,
            Count::Invalid => match self.decode_delimited(buf) {
                Decoded::Frame { frame, consumed } => Decoded::Resynced { frame, consumed },
                other => other,
            },
            Count::Valid { len, header } => {
                if len > self.max_frame {
                    let available = buf.len() - header;
                    let n = available.min(len);
                    if n < len {
                        self.skip = Skip::Counted { remaining: len - n };
                    }
                    return Decoded::Oversized {
                        len,
                        consumed: header + n,
                    };
                }
                match buf.get(header..header + len) {
                    Some(frame) => Decoded::Frame {
                        frame,
                        consumed: header + len,
                    },
                    None => Decoded::NeedMore,
                }
            }
        }
    }

    fn decode_delimited<'a>(&mut self, buf: &'a [u8]) -> Decoded<'a> {
        let from = self.scanned.min(buf.len());
        let tail = buf.get(from..).unwrap_or_default();
        match memchr2(b'\n', 0, tail) {
            Some(pos) => {
                let end = from + pos;
                self.scanned = 0;
                let frame = trim_cr(buf.get(..end).unwrap_or_default());
                if frame.len() > self.max_frame {
                    Decoded::Oversized {
                        len: frame.len(),
                        consumed: end + 1,
                    }
                } else {
                    Decoded::Frame {
                        frame,
                        consumed: end + 1,
                    }
                }
            }
            // One byte of slack: a CR that turns out to precede the LF is not frame content.
            None if buf.len() > self.max_frame + 1 => {
                self.scanned = 0;
                self.skip = Skip::UntilDelimiter {
                    seen: buf.len(),
                    last_cr: buf.last() == Some(&b'\r'),
                };
                Decoded::Skipped {
                    consumed: buf.len(),
                }
            }
            None => {
                self.scanned = buf.len();
                Decoded::NeedMore
            }
        }
    }

    /// Called once the stream has ended, with the bytes left unconsumed.
    pub fn finish<'a>(&mut self, buf: &'a [u8]) -> AtEof<'a> {
        let skip = core::mem::replace(&mut self.skip, Skip::None);
        self.scanned = 0;
        match skip {
            Skip::Counted { remaining } => {
                return AtEof::Truncated {
                    expected: remaining + buf.len(),
                    received: buf.len(),
                };
            }
            Skip::UntilDelimiter { seen, .. } => {
                return AtEof::Oversized {
                    len: seen + buf.len(),
                };
            }
            Skip::None => {}
        }
        let start = buf.iter().position(|b| !matches!(b, b'\n' | b'\r' | b'\0'));
        let Some(rest) = start.and_then(|s| buf.get(s..)) else {
            return AtEof::Nothing;
        };
        let counted = matches!(self.framing, Framing::OctetCounting | Framing::Auto);
        match read_count(rest) {
            Count::Valid { len, header } if counted => AtEof::Truncated {
                expected: len,
                received: rest.len() - header,
            },
            _ if trim_cr(rest).len() > self.max_frame => AtEof::Oversized {
                len: trim_cr(rest).len(),
            },
            _ => AtEof::Frame(trim_cr(rest)),
        }
    }
}

fn add_consumed(decoded: Decoded<'_>, extra: usize) -> Decoded<'_> {
    match decoded {
        Decoded::Frame { frame, consumed } => Decoded::Frame {
            frame,
            consumed: consumed + extra,
        },
        Decoded::Resynced { frame, consumed } => Decoded::Resynced {
            frame,
            consumed: consumed + extra,
        },
        Decoded::Oversized { len, consumed } => Decoded::Oversized {
            len,
            consumed: consumed + extra,
        },
        Decoded::Skipped { consumed } => Decoded::Skipped {
            consumed: consumed + extra,
        },
        Decoded::NeedMore => Decoded::Skipped { consumed: extra },
    }
}

/// What [`decode_all`] saw; a convenience for tests, fuzzing and tools that hold a whole stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Frame(&'a [u8]),
    Resynced(&'a [u8]),
    Oversized(usize),
    Truncated { expected: usize, received: usize },
}

/// Decodes a complete stream held in memory, including what [`FrameDecoder::finish`] yields.
pub fn decode_all(framing: Framing, max_frame: usize, stream: &[u8]) -> Vec<Item<'_>> {
    let mut decoder = FrameDecoder::new(framing, max_frame);
    let mut items = Vec::new();
    let mut rest = stream;
    loop {
        let consumed = match decoder.decode(rest) {
            Decoded::Frame { frame, consumed } => {
                items.push(Item::Frame(frame));
                consumed
            }
            Decoded::Resynced { frame, consumed } => {
                items.push(Item::Resynced(frame));
                consumed
            }
            Decoded::Oversized { len, consumed } => {
                items.push(Item::Oversized(len));
                consumed
            }
            Decoded::Skipped { consumed } => consumed,
            Decoded::NeedMore => break,
        };
        rest = rest.get(consumed..).unwrap_or_default();
    }
    match decoder.finish(rest) {
        AtEof::Nothing => {}
        AtEof::Frame(frame) => items.push(Item::Frame(frame)),
        AtEof::Truncated { expected, received } => {
            items.push(Item::Truncated { expected, received });
        }
        AtEof::Oversized { len } => items.push(Item::Oversized(len)),
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` in chunks of `chunk` bytes, as a socket would, and collects the items.
    fn decode_chunked(
        framing: Framing,
        max: usize,
        stream: &[u8],
        chunk: usize,
    ) -> Vec<Item<'static>> {
        let mut decoder = FrameDecoder::new(framing, max);
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let leak = |v: &[u8]| -> &'static [u8] { Box::leak(v.to_vec().into_boxed_slice()) };
        for piece in stream.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                let consumed = match decoder.decode(&buf) {
                    Decoded::Frame { frame, consumed } => {
                        out.push(Item::Frame(leak(frame)));
                        consumed
                    }
                    Decoded::Resynced { frame, consumed } => {
                        out.push(Item::Resynced(leak(frame)));
                        consumed
                    }
                    Decoded::Oversized { len, consumed } => {
                        out.push(Item::Oversized(len));
                        consumed
                    }
                    Decoded::Skipped { consumed } => consumed,
                    Decoded::NeedMore => break,
                };
                buf.drain(..consumed);
            }
        }
        match decoder.finish(&buf) {
            AtEof::Nothing => {}
            AtEof::Frame(f) => out.push(Item::Frame(leak(f))),
            AtEof::Truncated { expected, received } => {
                out.push(Item::Truncated { expected, received })
            }
            AtEof::Oversized { len } => out.push(Item::Oversized(len)),
        }
        out
    }

    #[test]
    fn newline_framing_with_crlf_nul_and_missing_last_lf() {
        let items = decode_all(Framing::Auto, 100, b"<1>a\r\n<2>b\0<3>c\n\n<4>d");
        assert_eq!(
            items,
            vec![
                Item::Frame(b"<1>a"),
                Item::Frame(b"<2>b"),
                Item::Frame(b"<3>c"),
                Item::Frame(b"<4>d")
            ]
        );
    }

    #[test]
    fn octet_counting_detected_and_frames_may_contain_lf() {
        let items = decode_all(Framing::Auto, 100, b"5 <1>a\n8 <2>b\nc\nd");
        assert_eq!(
            items,
            vec![Item::Frame(b"<1>a\n"), Item::Frame(b"<2>b\nc\nd")]
        );
    }

    #[test]
    fn split_across_reads_gives_the_same_frames() {
        let stream = b"11 <13>hello!12 <13>hello!!\n13 <13>hello!!!";
        let whole = decode_all(Framing::Auto, 1000, stream);
        for chunk in 1..stream.len() {
            assert_eq!(
                decode_chunked(Framing::Auto, 1000, stream, chunk),
                whole,
                "chunk {chunk}"
            );
        }
        let lf = b"<13>one\r\n<13>two\n<13>three\n";
        for chunk in 1..lf.len() {
            assert_eq!(
                decode_chunked(Framing::Auto, 1000, lf, chunk),
                vec![
                    Item::Frame(b"<13>one"),
                    Item::Frame(b"<13>two"),
                    Item::Frame(b"<13>three")
                ]
            );
        }
    }

    #[test]
    fn oversized_counted_frame_is_reported_with_its_length_and_skipped() {
        let mut stream = b"20 <13>0123456789abcdef".to_vec();
        stream.extend_from_slice(b"4 <1>x");
        stream.extend_from_slice(b"4 <2>y");
        for chunk in 1..stream.len() {
            assert_eq!(
                decode_chunked(Framing::Auto, 10, &stream, chunk),
                vec![
                    Item::Oversized(20),
                    Item::Frame(b"<1>x"),
                    Item::Frame(b"<2>y")
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn oversized_newline_frame_is_reported_with_its_full_length() {
        let stream = b"<13>short\n<13>this line is far too long\n<13>ok\n";
        for chunk in 1..stream.len() {
            assert_eq!(
                decode_chunked(Framing::NonTransparent, 12, stream, chunk),
                vec![
                    Item::Frame(b"<13>short"),
                    Item::Oversized(29),
                    Item::Frame(b"<13>ok")
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn crlf_at_the_size_limit_is_not_oversized_in_any_chunking() {
        // Found by the `framing` fuzz target: the CR made a 1-byte frame look 2 bytes long
        // when it arrived before its LF.
        for stream in [&b"$\r\n%\n"[..], b"$$\r\n%\n", b"$$$\r\n"] {
            let whole = decode_all(Framing::NonTransparent, 2, stream);
            for chunk in 1..stream.len() {
                assert_eq!(
                    decode_chunked(Framing::NonTransparent, 2, stream, chunk),
                    whole,
                    "chunk {chunk}"
                );
            }
        }
        assert_eq!(
            decode_all(Framing::NonTransparent, 2, b"$$$\r\n"),
            vec![Item::Oversized(3)]
        );
    }

    #[test]
    fn truncated_stream_is_reported() {
        assert_eq!(
            decode_all(Framing::Auto, 100, b"10 <13>ab"),
            vec![Item::Truncated {
                expected: 10,
                received: 6
            }]
        );
        assert_eq!(
            decode_all(Framing::NonTransparent, 4, b"<13>abcdef"),
            vec![Item::Oversized(10)]
        );
    }

    #[test]
    fn bad_count_in_counted_stream_resyncs_on_lf() {
        assert_eq!(
            decode_all(Framing::OctetCounting, 100, b"4 <1>x<13>oops\n3 <2>"),
            vec![
                Item::Frame(b"<1>x"),
                Item::Resynced(b"<13>oops"),
                Item::Frame(b"<2>")
            ]
        );
    }

    #[test]
    fn corpus_space_framing_fix_stream() {
        // Cisco devices put a space after the LF: the frame keeps it; the syslog parser skips it.
        let items = decode_all(Framing::Auto, 1000, b"<181>00\n <181>01\n");
        assert_eq!(
            items,
            vec![Item::Frame(b"<181>00"), Item::Frame(b" <181>01")]
        );
    }
}
