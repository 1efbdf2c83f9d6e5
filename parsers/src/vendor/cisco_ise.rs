//! Cisco ISE (and Secure ACS) multi-part messages: a long event is split over several syslog
//! messages, each with the header `CISE_<category> <message id> <total> <segment> `
//! (`CSCOacs_<category>` for ACS), segments numbered from 0. The payload of segment 0 starts
//! with the event's own timestamp; later payloads continue its attribute list and start with
//! the space that separated the attributes, so concatenating the payloads as they are restores
//! the event.
//!
//! This module only reads a segment header; putting segments together (a time window, bounded
//! memory) is the forwarder's job.

/// The segment header of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The message id shared by the segments of one event (10 digits for ISE).
    pub message_id: &'a str,
    pub total: u16,
    /// 0-based.
    pub index: u16,
    /// Where the header (`<id> <total> <index> `) starts and ends in the message.
    pub header_len: usize,
}

/// Whether a TAG is one that ISE or ACS splits messages under.
pub fn is_segmented_tag(tag: &str) -> bool {
    tag.starts_with("CISE_") || tag.starts_with("CSCOacs_")
}

/// The segmented TAG and the text after it: the header's TAG when it is one, else the first
/// word of the message (ISE writes no `:` after its TAG, so RFC 3164 parsing leaves it in the
/// message).
pub fn segmented_tag<'a>(
    app_name: Option<&'a str>,
    message: &'a [u8],
) -> Option<(&'a str, &'a [u8])> {
    if let Some(tag) = app_name.filter(|t| is_segmented_tag(t)) {
        return Some((tag, message));
    }
    if !(message.starts_with(b"CISE_") || message.starts_with(b"CSCOacs_")) {
        return None;
    }
    let end = memchr::memchr(b' ', message)?;
    let tag = std::str::from_utf8(message.get(..end)?).ok()?;
    Some((tag.trim_end_matches(':'), message.get(end + 1..)?))
}

fn number(word: &[u8]) -> Option<u16> {
    if word.is_empty() || word.len() > 4 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// Reads `<id> <total> <index> ` at the front of the message that follows a segmented TAG.
/// `None` when the message is not segmented (ISE alarms carry no header) or the numbers do not
/// make sense (an index past the total).
pub fn parse_segment(message: &[u8]) -> Option<Segment<'_>> {
    let mut words = message.splitn(4, |&b| b == b' ');
    let id = words.next()?;
    let total = number(words.next()?)?;
    let index = number(words.next()?)?;
    words.next()?;
    let id_ok = !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_alphanumeric);
    if !id_ok || total == 0 || index >= total {
        return None;
    }
    let header_len = id.len() + 1 + count_digits(total) + 1 + count_digits(index) + 1;
    Some(Segment {
        message_id: std::str::from_utf8(id).ok()?,
        total,
        index,
        header_len,
    })
}

fn count_digits(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let s = parse_segment(b"0000012345 3 1  AcsSessionID=x,").unwrap();
        assert_eq!((s.message_id, s.total, s.index), ("0000012345", 3, 1));
        assert_eq!(s.header_len, "0000012345 3 1 ".len());
        let s = parse_segment(b"1k1fg63nk 1 0 2014-10-16 x").unwrap();
        assert_eq!((s.total, s.index), (1, 0));
        assert!(parse_segment(b"0000001313 1 4 x").is_none());
        assert!(parse_segment(b"WARN: RADIUS Authentication Request dropped").is_none());
        assert!(parse_segment(b"0000012345 3 x y").is_none());
        assert!(parse_segment(b"").is_none());
        assert!(is_segmented_tag("CISE_Passed_Authentications"));
        let (tag, rest) = segmented_tag(None, b"CISE_Failed_Attempts 0000000001 2 0 x").unwrap();
        assert_eq!(
            (tag, rest),
            ("CISE_Failed_Attempts", &b"0000000001 2 0 x"[..])
        );
        assert!(segmented_tag(Some("sshd"), b"hello").is_none());
        assert!(!is_segmented_tag("CISE"));
    }
}
