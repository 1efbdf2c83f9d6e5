//! The on-disk form of a spooled batch, and reading it back after a crash.
//!
//! A segment file starts with [`SEGMENT_MAGIC`]; then records, each
//! `RECORD_MAGIC (4) | payload length (u32 LE) | CRC32C of the payload (u32 LE) | payload`,
//! the payload being `seq (u64 LE) | rows (u64 LE) | uncompressed bytes (u64 LE) | gzip body`.
//! The per-record magic lets recovery find the next record after a damaged one (a flipped
//! length would otherwise lose the rest of the file); the checksum tells an intact record from
//! a damaged or torn one.

pub const SEGMENT_MAGIC: &[u8; 8] = b"TERNSPL1";
const RECORD_MAGIC: &[u8; 4] = b"TRec";
const RECORD_HEADER: usize = 12;
const PAYLOAD_HEADER: usize = 24;
/// Larger than any batch (1 MB bodies): a length above it is damage, not data.
const MAX_PAYLOAD: usize = 16 << 20;

/// A batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub rows: u64,
    pub uncompressed_bytes: u64,
    pub body: Vec<u8>,
}

/// Appends the framed record to `out`; returns the bytes written.
pub fn encode(
    seq: u64,
    rows: u64,
    uncompressed_bytes: u64,
    body: &[u8],
    out: &mut Vec<u8>,
) -> usize {
    let start = out.len();
    let payload_len = PAYLOAD_HEADER + body.len();
    out.extend_from_slice(RECORD_MAGIC);
    out.extend_from_slice(&u32::try_from(payload_len).unwrap_or(u32::MAX).to_le_bytes());
    let crc_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let payload_at = out.len();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&rows.to_le_bytes());
    out.extend_from_slice(&uncompressed_bytes.to_le_bytes());
    out.extend_from_slice(body);
    let crc = crc32c::crc32c(out.get(payload_at..).unwrap_or_default());
    if let Some(slot) = out.get_mut(crc_at..crc_at + 4) {
        slot.copy_from_slice(&crc.to_le_bytes());
    }
    out.len() - start
}

/// What a segment holds: its intact records with their offsets and framed lengths, and how
/// many damaged stretches were skipped.
#[derive(Debug, Default)]
pub struct Scan {
    pub records: Vec<(u64, u32, Record)>,
    /// Damaged stretches (a bad checksum, an impossible length, garbage between records).
    pub damaged: u64,
    /// The file ends inside a record (a write cut short by a crash).
    pub torn_tail: bool,
    /// The file does not start with the segment header.
    pub bad_header: bool,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The record at `at`, if intact: it and its framed length.
fn record_at(bytes: &[u8], at: usize) -> Result<(Record, usize), bool> {
    // Err(true): cut short at the end of the file; Err(false): damaged.
    let header = bytes.get(at..at + RECORD_HEADER).ok_or(true)?;
    if header.get(..4) != Some(RECORD_MAGIC.as_slice()) {
        return Err(false);
    }
    let len = u32_at(header, 4).ok_or(false)? as usize;
    if !(PAYLOAD_HEADER..=MAX_PAYLOAD).contains(&len) {
        return Err(false);
    }
    let crc = u32_at(header, 8).ok_or(false)?;
    let payload_at = at + RECORD_HEADER;
    let payload = bytes.get(payload_at..payload_at + len).ok_or(true)?;
    if crc32c::crc32c(payload) != crc {
        return Err(false);
    }
    let record = Record {
        seq: u64_at(payload, 0).ok_or(false)?,
        rows: u64_at(payload, 8).ok_or(false)?,
        uncompressed_bytes: u64_at(payload, 16).ok_or(false)?,
        body: payload.get(PAYLOAD_HEADER..).unwrap_or_default().to_vec(),
    };
    Ok((record, RECORD_HEADER + len))
}

/// Reads every intact record of a segment, skipping damaged stretches by searching for the
/// next record magic. Never fails: a file of garbage is one damaged stretch.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut scan = Scan::default();
    if bytes.get(..SEGMENT_MAGIC.len()) != Some(SEGMENT_MAGIC.as_slice()) {
        scan.bad_header = true;
    }
    let mut at = if scan.bad_header {
        0
    } else {
        SEGMENT_MAGIC.len()
    };
    let mut in_damage = false;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Ok((record, framed)) => {
                scan.records
                    .push((at as u64, u32::try_from(framed).unwrap_or(u32::MAX), record));
                at += framed;
                in_damage = false;
            }
            Err(cut_short) => {
                if cut_short
                    && !in_damage
                    && memchr::memmem::find(bytes.get(at + 1..).unwrap_or_default(), RECORD_MAGIC)
                        .is_none()
                {
                    scan.torn_tail = true;
                    break;
                }
                if !in_damage {
                    scan.damaged += 1;
                    in_damage = true;
                }
                match memchr::memmem::find(bytes.get(at + 1..).unwrap_or_default(), RECORD_MAGIC) {
                    Some(next) => at += 1 + next,
                    None => break,
                }
            }
        }
    }
    scan
}

/// Reads the record of `framed` bytes at `offset` from a segment read into `bytes`.
pub fn decode_at(bytes: &[u8]) -> Option<Record> {
    record_at(bytes, 0).ok().map(|(record, _)| record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = SEGMENT_MAGIC.to_vec();
        for (seq, body) in records {
            encode(*seq, 10, 100, body, &mut out);
        }
        out
    }

    #[test]
    fn records_round_trip() {
        let bytes = segment(&[(1, b"first"), (2, b""), (3, b"third body")]);
        let scan = scan(&bytes);
        assert_eq!(scan.damaged, 0);
        assert!(!scan.torn_tail && !scan.bad_header);
        let seqs: Vec<u64> = scan.records.iter().map(|(_, _, r)| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3]);
        let (offset, framed, third) = &scan.records[2];
        assert_eq!(third.body, b"third body");
        assert_eq!((third.rows, third.uncompressed_bytes), (10, 100));
        let at = *offset as usize;
        let one = &bytes[at..at + *framed as usize];
        assert_eq!(decode_at(one).as_ref(), Some(third));
    }

    #[test]
    fn a_flipped_byte_loses_one_record_and_a_torn_tail_none_before_it() {
        let bytes = segment(&[(1, b"aaaa"), (2, b"bbbb"), (3, b"cccc")]);
        let second = scan(&bytes).records[1].0 as usize;
        let mut flipped = bytes.clone();
        flipped[second + RECORD_HEADER + 3] ^= 0xFF;
        let s = scan(&flipped);
        assert_eq!(
            s.records.iter().map(|(_, _, r)| r.seq).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(s.damaged, 1);
        // A flipped length byte: the record magic of the next record is still found.
        let mut bad_len = bytes.clone();
        bad_len[second + 5] ^= 0x40;
        let s = scan(&bad_len);
        assert_eq!(
            s.records.iter().map(|(_, _, r)| r.seq).collect::<Vec<_>>(),
            [1, 3]
        );
        let torn = &bytes[..bytes.len() - 3];
        let s = scan(torn);
        assert_eq!(
            s.records.iter().map(|(_, _, r)| r.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(s.torn_tail);
        assert_eq!(s.damaged, 0);
        let s = scan(b"complete garbage, no header");
        assert!(s.bad_header && s.records.is_empty());
    }
}
