//! RFC 3164 ("BSD syslog") headers as real devices send them.
//!
//! Owns: the timestamp, the hostname and the TAG of a line that is not RFC 5424. RFC 3164
//! describes practice rather than prescribing it, so this follows what devices and relays do:
//! BSD or ISO 8601 timestamps, a year in the timestamp (Cisco), Cisco IOS sequence numbers and
//! clock markers (`*`, `.`), no hostname (a TAG right after the timestamp), IPv4/IPv6 hostnames,
//! relayed lines (`Message forwarded from host:`) and double headers (a relay's header in front
//! of the device's). Where the line is ambiguous it matches rsyslog's `pmrfc3164`, the parser
//! behind AMA, except where `docs/decisions.md` says otherwise.

use crate::Anomalies;
use crate::text::{as_str, byte_masks, split_token};
use crate::timestamp::{Timestamp, parse_bsd, parse_rfc3339};

/// The header fields of an RFC 3164 line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc3164<'a> {
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    /// What follows the hostname: TAG and MSG, split by [`Rfc3164::split_tag`].
    pub content: &'a [u8],
    pub anomalies: Anomalies,
    /// An RFC 3339 time and a hostname: the shape relays write by template
    /// (`<PRI>TIMESTAMP HOSTNAME TAG MSG`, rsyslog's `RSYSLOG_ForwardFormat`), where the word
    /// after the hostname is the TAG even when it has no `:` (a relayed RFC 5424 APP-NAME).
    pub relay_form: bool,
}

impl<'a> Rfc3164<'a> {
    /// Splits the content into TAG and message, by the rule that fits this header's shape.
    pub fn split_tag(&self) -> (Option<Tag<'a>>, &'a [u8]) {
        split_tag_with(self.content, self.relay_form)
    }
}

/// Strips leading spaces.
fn skip_spaces(input: &[u8]) -> &[u8] {
    let n = input.iter().take_while(|&&b| b == b' ').count();
    input.get(n..).unwrap_or_default()
}

/// A Cisco IOS sequence number: `123: ` (the `service sequence-numbers` option).
fn skip_sequence_number(input: &[u8]) -> &[u8] {
    let n = input.iter().take_while(|b| b.is_ascii_digit()).count();
    if n > 0 {
        if let Some(rest) = input.get(n..).and_then(|r| r.strip_prefix(b": ")) {
            return rest;
        }
    }
    input
}

/// A time zone abbreviation after a Cisco timestamp: ` UTC:`, ` EST:`, ` CEST:`.
fn skip_zone_name(input: &[u8]) -> &[u8] {
    let Some(after) = input.strip_prefix(b" ") else {
        return input;
    };
    let n = after.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if (2..=5).contains(&n) {
        if let Some(rest) = after.get(n..).and_then(|r| r.strip_prefix(b":")) {
            // `EST: %SYS…`, not `CEF:0|…` right after the time.
            if rest.is_empty() || rest.starts_with(b" ") {
                return rest;
            }
        }
    }
    input
}

/// A timestamp at the front: BSD (with Cisco's `*`/`.` clock markers) or ISO 8601.
// Always inlined: its result returned through memory was a store-forwarding stall, a fifth of
// the header parser's time.
#[inline(always)]
fn read_timestamp<'a>(
    input: &'a [u8],
    reference: &Timestamp,
) -> Option<(Timestamp, &'a [u8], bool)> {
    let unmarked = input
        .strip_prefix(b"*")
        .or_else(|| input.strip_prefix(b"."))
        .unwrap_or(input);
    if let Some((bsd, rest)) = parse_bsd(unmarked) {
        let rest = skip_zone_name(rest);
        return match bsd.resolve(reference) {
            Some(ts) => Some((ts, rest, true)),
            // 29 February in a common year: a real-looking but impossible date.
            None => Some((*reference, rest, false)),
        };
    }
    let (ts, rest) = parse_rfc3339(input)?;
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    Some((ts, rest, true))
}

/// Bytes a hostname token may hold (letters, digits, `.-_:%@/`; `:` for IPv6), as a table:
/// this test runs on every byte of every hostname. (Indexing in a const block is checked at
/// compile time, so it cannot panic at run time.)
#[allow(clippy::indexing_slicing)]
const HOSTNAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'.' | b'-' | b'_' | b':' | b'%' | b'@' | b'/');
        b += 1;
    }
    table
};

fn is_hostname_byte(b: u8) -> bool {
    HOSTNAME_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// Where the first word of `bytes` ends (its first space) and whether it holds only hostname
/// bytes, when that space lies within the first 64 bytes; `None` otherwise.
///
/// Sixteen bytes per step (SSE2 through `safe_arch`): a byte loop to the space and another
/// over the word's bytes cost a mispredicted exit each, on every line (a sixth of RFC 3164
/// header time).
#[cfg(target_arch = "x86_64")]
#[inline]
fn hostname_token(bytes: &[u8]) -> Option<(usize, bool)> {
    use safe_arch::{
        cmp_eq_mask_i8_m128i as eq, cmp_gt_mask_i8_m128i as gt, cmp_lt_mask_i8_m128i as lt, m128i,
        move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    // Signed compares: bytes from 0x80 are negative, below every range here.
    let within = |x: m128i, low: u8, high: u8| gt(x, splat(low - 1)) & lt(x, splat(high + 1));
    let mut covered = 0;
    let mut not_hostname = 0u64;
    for block in bytes.chunks_exact(16).take(4) {
        let Ok(block) = <[u8; 16]>::try_from(block) else {
            break;
        };
        let x = m128i::from(block);
        // `-./0-9:`, `@A-Z`, `a-z`, `_` and `%`: the bytes of [`HOSTNAME_BYTES`].
        let allowed = within(x, b'-', b':')
            | within(x, b'@', b'Z')
            | within(x, b'a', b'z')
            | eq(x, splat(b'_'))
            | eq(x, splat(b'%'));
        let spaces = move_mask_i8_m128i(eq(x, splat(b' '))) as u16;
        not_hostname |= u64::from(!(move_mask_i8_m128i(allowed) as u16)) << covered;
        if spaces != 0 {
            let end = covered + spaces.trailing_zeros() as usize;
            let before = (1u64 << end) - 1;
            return Some((end, not_hostname & before == 0));
        }
        covered += 16;
    }
    None
}

/// Other targets: the caller's byte loops.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn hostname_token(_bytes: &[u8]) -> Option<(usize, bool)> {
    None
}

/// Whether `content` starts with a message kind that carries no TAG: CEF, LEEF or a Cisco
/// `%ASA-…`/`%FTD-…` tag (whose "tag" is the message id itself).
pub fn starts_self_describing(content: &[u8]) -> bool {
    content.starts_with(b"CEF:")
        || content.starts_with(b"LEEF:")
        || crate::vendor::cisco_asa::is_asa_tag(content)
}

/// Parses the part after the PRI. Always succeeds: a line without a recognisable header is all
/// content.
pub fn parse_rfc3164<'a>(input: &'a [u8], reference: &Timestamp) -> Rfc3164<'a> {
    parse_with_depth(input, reference, 0)
}

fn parse_with_depth<'a>(input: &'a [u8], reference: &Timestamp, depth: u8) -> Rfc3164<'a> {
    let mut anomalies = Anomalies::empty();
    let input = skip_spaces(input);
    // Cisco `<PRI>:Mar 05 …` and `<PRI>: Mar 05 …`.
    let input = match input.strip_prefix(b":") {
        Some(r) => skip_spaces(r),
        None => input,
    };
    let mut rest = skip_sequence_number(input);
    // `<PRI>1 Dec  6 08:41:44 …`: an RFC 5424 version in front of a BSD header.
    if let Some(r) = rest.strip_prefix(b"1 ") {
        if parse_bsd(r).is_some() {
            rest = r;
        }
    }
    let mut hostname = None;

    // Cisco IOS `HOST: *Apr 29 13:58:40.411:` puts the host before the time. Cheap test first:
    // a line that starts with a timestamp is not this form.
    let starts_with_time = rest.first().is_some_and(|b| b.is_ascii_digit())
        || rest.get(3) == Some(&b' ') && rest.first().is_some_and(u8::is_ascii_alphabetic);
    if starts_with_time {
        // the usual case: nothing to do
    } else if let Some(colon) =
        memchr::memchr(b':', rest.get(..rest.len().min(64)).unwrap_or_default())
    {
        let (token, after) = rest.split_at(colon);
        let after = after
            .get(1..)
            .and_then(|a| a.strip_prefix(b" "))
            .unwrap_or_default();
        if !token.is_empty()
            && token.iter().all(|&b| is_hostname_byte(b) && b != b':')
            && read_timestamp(after, reference).is_some()
        {
            hostname = as_str(token);
            rest = after;
        }
    }

    let iso_time = rest.first().is_some_and(u8::is_ascii_digit);
    let Some((ts, after_ts, valid)) = read_timestamp(rest, reference) else {
        return Rfc3164 {
            timestamp: None,
            hostname: None,
            content: skip_spaces(rest),
            anomalies,
            relay_form: false,
        };
    };
    if !valid {
        anomalies.insert(Anomalies::BAD_TIMESTAMP);
    }
    let timestamp = valid.then_some(ts);
    let after_ts = skip_spaces(after_ts);

    if hostname.is_some() || starts_self_describing(after_ts) {
        return Rfc3164 {
            timestamp,
            hostname,
            content: after_ts,
            anomalies,
            relay_form: false,
        };
    }

    // AIX and others relaying: `Message forwarded from HOST: tag: msg`.
    if let Some(fwd) = after_ts.strip_prefix(b"Message forwarded from ") {
        let (token, after) = split_token(fwd);
        if let Some(host) = token.strip_suffix(b":") {
            return Rfc3164 {
                timestamp,
                hostname: as_str(host),
                content: skip_spaces(after),
                anomalies,
                relay_form: false,
            };
        }
    }

    let (host_end, all_hostname_bytes) = hostname_token(after_ts).unwrap_or_else(|| {
        let (token, _) = split_token(after_ts);
        (token.len(), token.iter().all(|&b| is_hostname_byte(b)))
    });
    let (token, after_host) = after_ts.split_at(host_end.min(after_ts.len()));
    let content_after = skip_spaces(after_host);
    let content_after = match content_after.strip_prefix(b": ") {
        Some(c) => c, // `ASA-HOST : %ASA-…`
        None => content_after,
    };
    // A TAG, not a host: `name[pid]` (`[` is no hostname byte) or `name:` before a message
    // that is not an ASA one.
    let is_tag = !all_hostname_bytes
        || (token.ends_with(b":") && !crate::vendor::cisco_asa::is_asa_tag(content_after));
    if token.is_empty() || is_tag {
        return Rfc3164 {
            timestamp,
            hostname: None,
            content: after_ts,
            anomalies,
            relay_form: false,
        };
    }
    let host = token.strip_suffix(b":").unwrap_or(token);

    // A relay's header in front of the device's own (`relay TS host tag: …`): the inner one
    // names the device.
    // Cheap test first: an inner header starts with a month name or an ISO year.
    let may_be_time = content_after.get(3) == Some(&b' ')
        && content_after.first().is_some_and(u8::is_ascii_uppercase)
        || content_after.get(4) == Some(&b'-')
            && content_after.first().is_some_and(u8::is_ascii_digit);
    if depth == 0 && may_be_time {
        let inner_start = content_after;
        let has_inner_time = read_timestamp(inner_start, reference).is_some();
        if has_inner_time {
            let inner = parse_with_depth(inner_start, reference, depth + 1);
            if inner.hostname.is_some() {
                let mut inner = inner;
                inner.anomalies.insert(Anomalies::RELAYED_HEADER);
                return inner;
            }
        }
    }
    // rsyslog leaves the single separator and keeps further spaces in the message.
    let content = after_host.strip_prefix(b" ").unwrap_or(after_host);
    let content = match skip_spaces(content).strip_prefix(b": ") {
        Some(c) => c,
        None => content,
    };
    let hostname = as_str(host);
    Rfc3164 {
        timestamp,
        hostname,
        content,
        anomalies,
        relay_form: iso_time && hostname.is_some(),
    }
}

/// A TAG from its name and pid bytes; `None` if either is not UTF-8.
fn tag<'a>(name: &'a [u8], pid: Option<&'a [u8]>) -> Option<Tag<'a>> {
    Some(Tag {
        app_name: as_str(name)?,
        proc_id: match pid {
            Some(p) if !p.is_empty() => Some(as_str(p)?),
            _ => None,
        },
    })
}

/// A TAG split off the front of the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The program name (`ProcessName`): the TAG without `[pid]` and `:`.
    pub app_name: &'a str,
    pub proc_id: Option<&'a str>,
}

/// Where the first word of `content` ends (at a space, else the end; past [`MAX_TAG`] when it
/// is longer), and its first `[` and `:`.
#[inline]
fn first_word_marks(content: &[u8]) -> (usize, Option<usize>, Option<usize>) {
    // Read off masks of the first bytes when the word ends inside them (almost always): a byte
    // loop testing three bytes mispredicted at each word's end.
    let ([spaces, opens, colons], _) = byte_masks(content, [b' ', b'[', b':']);
    if spaces != 0 {
        let end = spaces.trailing_zeros() as usize;
        let before = (1u64 << end) - 1;
        let first =
            |mask: u64| (mask & before != 0).then(|| (mask & before).trailing_zeros() as usize);
        return (end, first(opens), first(colons));
    }
    let mut end = content.len();
    let mut open = None;
    let mut colon = None;
    for (i, &b) in content.iter().enumerate().take(MAX_TAG + 1) {
        match b {
            b' ' => {
                end = i;
                break;
            }
            b'[' if open.is_none() => open = Some(i),
            b':' if colon.is_none() => colon = Some(i),
            _ => {}
        }
    }
    (end, open, colon)
}

/// The longest TAG recognised; a longer first word is message text.
const MAX_TAG: usize = 128;

/// Splits `content` into its TAG and the message. A TAG is the first word when it ends with `:`
/// or carries `[pid]` (`sshd[42]:`, `su:`, `kernel:`, `exam-pl[12345]`); a first word with
/// neither is message text, not a program name (rsyslog would take it: see
/// `docs/decisions.md`). The message starts after the TAG and one space.
pub fn split_tag(content: &[u8]) -> (Option<Tag<'_>>, &[u8]) {
    split_tag_with(content, false)
}

/// [`split_tag`], and with `first_word_is_tag` a first word without `:` or `[pid]` is the TAG
/// too (see [`Rfc3164::relay_form`]).
pub fn split_tag_with(content: &[u8], first_word_is_tag: bool) -> (Option<Tag<'_>>, &[u8]) {
    if content.starts_with(b"CEF:") || content.starts_with(b"LEEF:") {
        return (None, content);
    }
    let (end, open, colon) = first_word_marks(content);
    if end == 0 || end > MAX_TAG {
        return (None, content);
    }
    let word = content.get(..end).unwrap_or_default();
    let rest = content.get(end..).unwrap_or_default();
    let message = rest.strip_prefix(b" ").unwrap_or(rest);
    // `name[pid]` with an optional `:` after it.
    if let Some(open) = open {
        let name = word.get(..open).unwrap_or_default();
        let tail = word.get(open + 1..).unwrap_or_default();
        let tail = tail.strip_suffix(b":").unwrap_or(tail);
        return match tail.strip_suffix(b"]") {
            Some(pid) if !name.is_empty() && !pid.contains(&b'[') => match tag(name, Some(pid)) {
                Some(t) => (Some(t), message),
                None => (None, content),
            },
            _ => (None, content),
        };
    }
    let Some(colon) = colon else {
        if first_word_is_tag && word.iter().all(|b| b.is_ascii_graphic()) {
            if let Some(t) = tag(word, None) {
                return (Some(t), message);
            }
        }
        return (None, content);
    };
    let name = word.get(..colon).unwrap_or_default();
    if name.is_empty() {
        return (None, content);
    }
    // `name:` followed by a space or the end.
    if colon + 1 == end {
        return match tag(name, None) {
            Some(t) => (Some(t), message),
            None => (None, content),
        };
    }
    // `name:msg` (no space after the colon) as some daemons write it; `http://…`, `12:30` and
    // `a:1` are not tags. A colon inside a longer word (`CEF:0|…`) is not a TAG end either.
    let after = word.get(colon + 1..).unwrap_or_default();
    let plausible = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && !after.starts_with(b"/")
        && (name.len() > 2 || !after.first().is_some_and(u8::is_ascii_digit))
        && !name.eq_ignore_ascii_case(b"http")
        && !name.eq_ignore_ascii_case(b"https");
    match tag(name, None) {
        Some(t) if plausible => (Some(t), content.get(colon + 1..).unwrap_or_default()),
        _ => (None, content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Timestamp {
        Timestamp::from_unix(1_795_000_000, 0) // 2026-11-18
    }

    fn parse(line: &[u8]) -> Rfc3164<'_> {
        parse_rfc3164(line, &reference())
    }

    #[test]
    fn hostname_token_classifies_every_byte_as_the_table_does() {
        for b in 0..=255u8 {
            for at in [0usize, 5, 15, 16, 31, 40, 62] {
                let mut line = vec![b'h'; 70];
                if let Some(slot) = line.get_mut(at) {
                    *slot = b;
                }
                if let Some(slot) = line.get_mut(63) {
                    *slot = b' ';
                }
                let (token, _) = split_token(&line);
                let expected = (token.len(), token.iter().all(|&c| is_hostname_byte(c)));
                let found = hostname_token(&line);
                if cfg!(target_arch = "x86_64") {
                    assert_eq!(found, Some(expected), "byte {b:#x} at {at}");
                }
            }
        }
        // No space in the first 64 bytes: left to the byte loops.
        assert_eq!(hostname_token(&[b'h'; 70]), None);
        assert_eq!(hostname_token(b"short"), None);
    }

    #[test]
    fn first_word_marks_agree_with_a_byte_loop() {
        let words: [&[u8]; 8] = [
            b"sshd[42]:",
            b"su:",
            b"http://x:80/a",
            b"a[b]c:d[e]",
            b"",
            b"plainword",
            b"x:y[z]",
            b"this-is-a-rather-long-program-name-that-crosses-the-block",
        ];
        for word in words {
            for tail in [b"".as_slice(), b" msg", b" [1]: x", b"  two spaces"] {
                let content = [word, tail].concat();
                let end = content
                    .iter()
                    .position(|&b| b == b' ')
                    .unwrap_or(content.len());
                let first = |c: u8| content.iter().take(end).position(|&b| b == c);
                assert_eq!(
                    first_word_marks(&content),
                    (end, first(b'['), first(b':')),
                    "{:?}",
                    String::from_utf8_lossy(&content)
                );
            }
        }
    }

    fn tag_of(content: &[u8]) -> (Option<(&str, Option<&str>)>, &[u8]) {
        let (tag, msg) = split_tag(content);
        (tag.map(|t| (t.app_name, t.proc_id)), msg)
    }

    #[test]
    fn classic_line() {
        let h = parse(b"Oct 11 22:14:15 mymachine su: 'su root' failed");
        let ts = h.timestamp.unwrap();
        assert_eq!((ts.year, ts.month, ts.day, ts.hour), (2026, 10, 11, 22));
        assert_eq!(h.hostname, Some("mymachine"));
        assert_eq!(
            tag_of(h.content),
            (Some(("su", None)), &b"'su root' failed"[..])
        );
    }

    #[test]
    fn tag_with_pid_and_no_hostname() {
        let h = parse(b"Nov 18 16:33:13 hostapd: ath0: STA 78:8a");
        assert_eq!(h.hostname, None);
        assert_eq!(
            tag_of(h.content),
            (Some(("hostapd", None)), &b"ath0: STA 78:8a"[..])
        );
        let h = parse(b"Apr  6 15:07:10 lxcvs07 sshd(pam_unix)[31738]: session closed");
        assert_eq!(h.hostname, Some("lxcvs07"));
        assert_eq!(
            tag_of(h.content),
            (
                Some(("sshd(pam_unix)", Some("31738"))),
                &b"session closed"[..]
            )
        );
    }

    #[test]
    fn cisco_year_and_trailing_colon() {
        let h = parse(b"Mar 7 2008 19:06:53: example tag: testmessage");
        assert_eq!(h.timestamp.unwrap().year, 2008);
        assert_eq!(h.hostname, Some("example"));
        let h = parse(b"Nov 21 2026 10:00:00 fw01 : %ASA-6-302013: Built");
        assert_eq!(h.hostname, Some("fw01"));
        assert_eq!(h.content, b"%ASA-6-302013: Built");
        let h = parse(b"Aug  1 14:01:20 abc-asa1: %ASA-6-302013: Built");
        assert_eq!(h.hostname, Some("abc-asa1"));
        assert_eq!(h.content, b"%ASA-6-302013: Built");
    }

    #[test]
    fn cisco_ios_sequence_host_and_marker() {
        let h = parse(b"29: foo: *Apr 29 13:58:40.411: %SYS-5-CONFIG_I: Configured");
        assert_eq!(h.hostname, Some("foo"));
        let ts = h.timestamp.unwrap();
        assert_eq!((ts.month, ts.day, ts.nanos), (4, 29, 411_000_000));
        assert_eq!(h.content, b"%SYS-5-CONFIG_I: Configured");
        let h =
            parse(b"782431: machine1: .Nov 18 21:03:22.631 GMT: %CDP-4-NATIVE_VLAN_MISMATCH: x");
        assert_eq!(h.hostname, Some("machine1"));
        assert_eq!(h.content, b"%CDP-4-NATIVE_VLAN_MISMATCH: x");
    }

    #[test]
    fn iso_timestamp_and_ipv6_host() {
        let h = parse(b"2006-03-26T01:59:59.156+01:00 bzorp openvpn[2499]: PTHREAD");
        assert_eq!(h.timestamp.unwrap().offset_seconds, Some(3600));
        assert_eq!(h.hostname, Some("bzorp"));
        let h = parse(b"Oct 11 22:14:15 2001:db8::1 su: x");
        assert_eq!(h.hostname, Some("2001:db8::1"));
        let h = parse(b"Oct 11 22:14:15 10.0.0.1 su: x");
        assert_eq!(h.hostname, Some("10.0.0.1"));
    }

    #[test]
    fn relayed_lines() {
        let h = parse(b"Sep 22 10:11:56 Message forwarded from cdaix66: sshd[679960]: Accepted");
        assert_eq!(h.hostname, Some("cdaix66"));
        assert_eq!(tag_of(h.content).0, Some(("sshd", Some("679960"))));
        let h = parse(b"Mar 05 08:09:10 wrong_host Mar 05 08:09:11 device1 app: text");
        assert_eq!(h.hostname, Some("device1"));
        assert_eq!(h.timestamp.unwrap().second, 11);
        assert!(h.anomalies.contains(Anomalies::RELAYED_HEADER));
    }

    #[test]
    fn no_timestamp_means_no_hostname() {
        let h = parse(b"%ASA-6-302013: Built");
        assert_eq!((h.timestamp, h.hostname), (None, None));
        assert_eq!(h.content, b"%ASA-6-302013: Built");
        let h = parse(b"hello world");
        assert_eq!(h.content, b"hello world");
    }

    #[test]
    fn hostname_only_and_cef_without_hostname() {
        let h = parse(b"Aug 30 23:00:05 X4711");
        assert_eq!(h.hostname, Some("X4711"));
        assert_eq!(h.content, b"");
        let h = parse(b"Feb 14 19:04:54 CEF:0|Vendor|Product|20.0.560|600|User Signed In|3|src=1");
        assert_eq!(h.hostname, None);
        assert!(h.content.starts_with(b"CEF:0|"));
    }

    #[test]
    fn relay_template_form_takes_the_first_word_as_tag() {
        // rsyslog forwarding an RFC 5424 message with RSYSLOG_ForwardFormat: no colon.
        let h = parse(b"2026-11-21T10:00:00.123+00:00 host1 sshd Accepted publickey");
        assert!(h.relay_form);
        let (tag, msg) = h.split_tag();
        assert_eq!(tag.map(|t| t.app_name), Some("sshd"));
        assert_eq!(msg, b"Accepted publickey");
        // A BSD time is a device's own header: the first word is text.
        let h = parse(b"Nov 21 10:00:00 host1 Use the BFG!");
        assert!(!h.relay_form);
        assert_eq!(h.split_tag().0, None);
    }

    #[test]
    fn words_without_colon_are_not_tags() {
        assert_eq!(tag_of(b"Use the BFG!"), (None, &b"Use the BFG!"[..]));
        assert_eq!(tag_of(b"-- MARK --"), (None, &b"-- MARK --"[..]));
        assert_eq!(tag_of(b"http://x.y/z is down").0, None);
        assert_eq!(tag_of(b"12:30 lunch").0, None);
        assert_eq!(tag_of(b"CEF:0|a|b|c|d|e|f|").0, None);
        assert_eq!(tag_of(b"kernel:").0, Some(("kernel", None)));
        assert_eq!(
            tag_of(b"sudo:     root : TTY=unknown").1,
            b"    root : TTY=unknown"
        );
    }
}
