//! Syslog timestamps without a date-time library on the hot path.
//!
//! Owns: reading RFC 3339 (RFC 5424 `TIMESTAMP`, also ISO 8601 in RFC 3164 lines) and BSD
//! `Mmm dd hh:mm:ss` timestamps into a plain civil [`Timestamp`], resolving a missing year
//! against a reference time, and converting to Unix time. Hand-written rather than `chrono` or
//! `time` because those allocate or validate far more than a per-event parser can afford, and
//! neither resolves a year-less BSD date (the rule below is syslog-specific).

use core::fmt;

/// A civil date and time as the sender wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Fraction of a second in nanoseconds (digits beyond nine are dropped).
    pub nanos: u32,
    /// UTC offset in seconds as written; `None` when the timestamp had no zone (BSD dates and
    /// zone-less ISO 8601), in which case the caller's default offset applies.
    pub offset_seconds: Option<i32>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

#[inline]
fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl Timestamp {
    /// Builds a validated timestamp (leap second 60 accepted, as RFC 3339 allows).
    #[allow(clippy::too_many_arguments)] // the fields of a civil date-time, in their usual order
    #[inline] // built in registers: returned through memory it cost a store-forwarding stall
    pub fn new(
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanos: u32,
        offset_seconds: Option<i32>,
    ) -> Option<Timestamp> {
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second <= 60
            && nanos < 1_000_000_000
            && offset_seconds.is_none_or(|o| o.abs() < 24 * 3600);
        valid.then_some(Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_seconds,
        })
    }

    /// Seconds since the Unix epoch, applying the written offset or `default_offset_seconds`.
    pub fn unix_seconds(&self, default_offset_seconds: i32) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let local = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        local - i64::from(self.offset_seconds.unwrap_or(default_offset_seconds))
    }

    /// The same instant as a UTC timestamp (offset `Some(0)`).
    pub fn to_utc(&self, default_offset_seconds: i32) -> Timestamp {
        // Already UTC (every receive time, most device times): no round trip through days.
        if self.offset_seconds.unwrap_or(default_offset_seconds) == 0
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.nanos < 1_000_000_000
        {
            return Timestamp {
                offset_seconds: Some(0),
                ..*self
            };
        }
        Timestamp::from_unix(self.unix_seconds(default_offset_seconds), self.nanos)
    }

    /// A UTC timestamp from Unix seconds and nanoseconds.
    pub fn from_unix(seconds: i64, nanos: u32) -> Timestamp {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Timestamp {
            year,
            month,
            day,
            hour: u8::try_from(secs / 3600).unwrap_or(0),
            minute: u8::try_from(secs % 3600 / 60).unwrap_or(0),
            second: u8::try_from(secs % 60).unwrap_or(0),
            nanos: nanos % 1_000_000_000,
            offset_seconds: Some(0),
        }
    }

    /// Writes RFC 3339 in UTC with the fraction trimmed to what is significant
    /// (`2026-11-21T10:00:00.123Z`), the form `tern parse` and the row shapers emit.
    pub fn write_rfc3339_utc<W: fmt::Write>(
        &self,
        default_offset_seconds: i32,
        out: &mut W,
    ) -> fmt::Result {
        let utc = self.to_utc(default_offset_seconds);
        if let Some(text) = utc.rfc3339_digits() {
            return out.write_str(text.as_str());
        }
        write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second
        )?;
        if utc.nanos != 0 {
            let mut nanos = utc.nanos;
            let mut width = 9;
            while nanos % 10 == 0 {
                nanos /= 10;
                width -= 1;
            }
            write!(out, ".{nanos:0width$}")?;
        }
        out.write_char('Z')
    }
}

/// An RFC 3339 UTC text in a fixed buffer (`YYYY-MM-DDTHH:MM:SS.fffffffffZ` is at most 30
/// bytes): formatted by hand because every row writes one and `core::fmt` showed in profiles.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339Text {
    bytes: [u8; 30],
    len: usize,
}

impl Rfc3339Text {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl Timestamp {
    /// This timestamp (already in UTC) as RFC 3339 text; `None` for years outside 0–9999,
    /// which the `fmt` path writes.
    fn rfc3339_digits(&self) -> Option<Rfc3339Text> {
        let year = u32::try_from(self.year).ok().filter(|y| *y <= 9999)?;
        let mut b = [0u8; 30];
        let mut put = |at: usize, value: u32, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                if let Some(slot) = b.get_mut(at + i) {
                    *slot = b'0' + (v % 10) as u8;
                }
                v /= 10;
            }
        };
        put(0, year, 4);
        put(5, u32::from(self.month), 2);
        put(8, u32::from(self.day), 2);
        put(11, u32::from(self.hour), 2);
        put(14, u32::from(self.minute), 2);
        put(17, u32::from(self.second), 2);
        let mut len = 19;
        if self.nanos != 0 {
            let mut nanos = self.nanos.min(999_999_999);
            let mut width = 9;
            while nanos % 10 == 0 {
                nanos /= 10;
                width -= 1;
            }
            put(20, nanos, width);
            len = 20 + width;
        }
        for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
            if let Some(slot) = b.get_mut(at) {
                *slot = c;
            }
        }
        if len > 19 {
            if let Some(slot) = b.get_mut(19) {
                *slot = b'.';
            }
        }
        if let Some(slot) = b.get_mut(len) {
            *slot = b'Z';
        }
        Some(Rfc3339Text {
            bytes: b,
            len: len + 1,
        })
    }
}

/// Reads exactly `n` ASCII digits at the front of `input`.
fn digits(input: &[u8], n: usize) -> Option<(u32, &[u8])> {
    let (head, rest) = input.split_at_checked(n)?;
    let mut value = 0u32;
    for &b in head {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some((value, rest))
}

fn small(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// Reads `.ffffff` (any number of digits; nanosecond precision kept).
#[inline]
fn fraction(input: &[u8]) -> (u32, &[u8]) {
    let Some(after_dot) = input
        .strip_prefix(b".")
        .or_else(|| input.strip_prefix(b","))
    else {
        return (0, input);
    };
    // One pass: digits past the ninth are read over but not kept.
    let mut nanos = 0u32;
    let mut len = 0;
    while let Some(&b) = after_dot.get(len) {
        if !b.is_ascii_digit() {
            break;
        }
        if len < 9 {
            nanos = nanos * 10 + u32::from(b - b'0');
        }
        len += 1;
    }
    if len == 0 {
        return (0, input);
    }
    const SCALE: [u32; 10] = [
        1_000_000_000,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    let scale = SCALE.get(len.min(9)).copied().unwrap_or(1);
    (nanos * scale, after_dot.get(len..).unwrap_or_default())
}

/// Reads a zone: `Z`, `±hh:mm`, `±hhmm` or `±hh`. `None` for an absent zone.
#[inline]
fn zone(input: &[u8]) -> (Option<i32>, &[u8]) {
    match input.first() {
        Some(b'Z' | b'z') => (Some(0), input.get(1..).unwrap_or_default()),
        Some(&sign @ (b'+' | b'-')) => {
            let rest = input.get(1..).unwrap_or_default();
            let Some((hours, rest)) = digits(rest, 2) else {
                return (None, input);
            };
            let rest_no_colon = rest.strip_prefix(b":").unwrap_or(rest);
            let (minutes, rest) = match digits(rest_no_colon, 2) {
                Some((m, r)) => (m, r),
                None => (0, rest),
            };
            if hours > 23 || minutes > 59 {
                return (None, input);
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).unwrap_or(0);
            (Some(if sign == b'-' { -seconds } else { seconds }), rest)
        }
        _ => (None, input),
    }
}

/// Parses an RFC 3339 timestamp at the front of `input`, returning it and the rest.
///
/// Strict in its digits and ranges, lenient where real senders deviate: a space or lowercase
/// `t` between date and time (CipherTrust), `±hhmm` offsets, and no zone at all (ISO 8601 local
/// time, as Linux file lines carry).
#[inline]
pub fn parse_rfc3339(input: &[u8]) -> Option<(Timestamp, &[u8])> {
    let (fields, rest) = rfc3339_fields(input)?;
    let (nanos, rest) = fraction(rest);
    let (offset, rest) = zone(rest);
    let [year, month, day, hour, minute, second] = fields;
    let ts = Timestamp::new(
        i32::try_from(year).ok()?,
        small(month),
        small(day),
        small(hour),
        small(minute),
        small(second),
        nanos,
        offset,
    )?;
    Some((ts, rest))
}

/// `YYYY-MM-DDTHH:MM:SS` at fixed positions: year, month, day, hour, minute, second.
#[inline]
fn rfc3339_fields(input: &[u8]) -> Option<([u32; 6], &[u8])> {
    let &[
        y0,
        y1,
        y2,
        y3,
        b'-',
        mo0,
        mo1,
        b'-',
        d0,
        d1,
        sep,
        h0,
        h1,
        b':',
        mi0,
        mi1,
        b':',
        s0,
        s1,
    ] = input.first_chunk::<19>()?
    else {
        return None;
    };
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    // Branch-free: subtract '0' from all twelve digits, reject once if any is not 0..=9.
    let d =
        [y0, y1, y2, y3, mo0, mo1, d0, d1, h0, h1, mi0, mi1, s0, s1].map(|b| b.wrapping_sub(b'0'));
    if d.iter().fold(0u8, |bad, &v| bad | u8::from(v > 9)) != 0 {
        return None;
    }
    let [y0, y1, y2, y3, mo0, mo1, d0, d1, h0, h1, mi0, mi1, s0, s1] = d.map(u32::from);
    Some((
        [
            y0 * 1000 + y1 * 100 + y2 * 10 + y3,
            mo0 * 10 + mo1,
            d0 * 10 + d1,
            h0 * 10 + h1,
            mi0 * 10 + mi1,
            s0 * 10 + s1,
        ],
        input.get(19..)?,
    ))
}

/// A BSD timestamp whose year may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BsdTimestamp {
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
}

impl BsdTimestamp {
    /// Completes the date with `year` if one was written, else with the year that makes it the
    /// most recent date no more than 31 days after `reference` (the receive time). So a
    /// December message received in January belongs to the previous year, a January one
    /// received on 31 December (a sender clock a little ahead) to the next, and a message
    /// months old (a replay, an unsynchronised clock) to the past, never to next year. The
    /// comparison uses UTC for both sides; the month of slack covers any zone difference.
    /// Returns `None` for a date that does not exist in that year (29 February of a common
    /// year).
    #[inline(always)]
    pub fn resolve(&self, reference: &Timestamp) -> Option<Timestamp> {
        let at = |year: i32| {
            Timestamp::new(
                year,
                self.month,
                self.day,
                self.hour,
                self.minute,
                self.second,
                self.nanos,
                None,
            )
        };
        if let Some(year) = self.year {
            return at(year);
        }
        const SLACK_SECONDS: i64 = 31 * 86_400;
        let year = reference.year;
        let within_slack =
            |ts: &Timestamp| ts.unix_seconds(0) <= reference.unix_seconds(0) + SLACK_SECONDS;
        // Candidates from the most recent: next year (only a January line near New Year can be
        // within the slack), this year, last year. Comparing fields first keeps the common
        // case (a line from the past few seconds) free of date arithmetic.
        if self.month == 1 && reference.month == 12 {
            if let Some(ts) = at(year + 1).filter(within_slack) {
                return Some(ts);
            }
        }
        let line = (self.month, self.day, self.hour, self.minute, self.second);
        let now = (
            reference.month,
            reference.day,
            reference.hour,
            reference.minute,
            reference.second,
        );
        if let Some(ts) = at(year) {
            if line <= now || within_slack(&ts) {
                return Some(ts);
            }
        }
        at(year - 1)
    }
}

/// `Jan`…`Dec` in any case. The three letters are folded to lower case in one word and
/// compared as integers (one comparison each instead of three).
#[inline]
fn month_from_name(name: &[u8]) -> Option<u8> {
    let &[a, b, c] = name.first_chunk::<3>()?;
    let key = u32::from_be_bytes([0, a, b, c]) | 0x0020_2020;
    const fn word(name: &[u8; 3]) -> u32 {
        u32::from_be_bytes([0, name[0], name[1], name[2]])
    }
    const MONTHS: [u32; 12] = [
        word(b"jan"),
        word(b"feb"),
        word(b"mar"),
        word(b"apr"),
        word(b"may"),
        word(b"jun"),
        word(b"jul"),
        word(b"aug"),
        word(b"sep"),
        word(b"oct"),
        word(b"nov"),
        word(b"dec"),
    ];
    let index = MONTHS.iter().position(|&m| m == key)?;
    u8::try_from(index + 1).ok()
}

/// Reads 1 or 2 digits.
fn one_or_two_digits(input: &[u8]) -> Option<(u32, &[u8])> {
    digits(input, 2).or_else(|| digits(input, 1))
}

/// Parses a BSD timestamp at the front of `input`: `Mmm dd hh:mm:ss` with the forms real devices
/// send: a space-padded or unpadded day (`Oct  3`, `Oct 3`, `Oct 03`), any month case (`AUG`),
/// a year before the time (Cisco `Nov 21 2026 10:00:00`), fractional seconds (`.123`) and a
/// trailing colon (`10:00:00:` from Cisco's `logging timestamp`). The rest starts after the
/// timestamp (and its colon, if any).
#[inline]
pub fn parse_bsd(input: &[u8]) -> Option<(BsdTimestamp, &[u8])> {
    parse_bsd_fixed(input).or_else(|| parse_bsd_general(input))
}

/// Two ASCII digits as a number (a space for the first reads as 0: `Oct  3`).
fn two_digits(tens: u8, ones: u8) -> Option<u8> {
    let tens = match tens {
        b' ' => 0,
        b'0'..=b'9' => tens - b'0',
        _ => return None,
    };
    ones.is_ascii_digit().then(|| tens * 10 + (ones - b'0'))
}

/// The common case, `Mmm dd hh:mm:ss` at fixed positions, without any scanning. Always
/// inlined, like [`BsdTimestamp::resolve`]: their results returned through memory cost a
/// store-forwarding stall per message (a third of the RFC 3164 header parser's time).
#[inline(always)]
fn parse_bsd_fixed(input: &[u8]) -> Option<(BsdTimestamp, &[u8])> {
    let &[
        m0,
        m1,
        m2,
        b' ',
        d0,
        d1,
        b' ',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
    ] = input.first_chunk::<15>()?
    else {
        return None;
    };
    let rest = input.get(15..)?;
    if matches!(rest.first(), Some(b'.' | b',' | b':')) {
        return None; // fractions and trailing colons: the general path
    }
    let ts = BsdTimestamp {
        year: None,
        month: month_from_name(&[m0, m1, m2])?,
        day: two_digits(d0, d1)?,
        hour: two_digits(h0, h1).filter(|_| h0 != b' ')?,
        minute: two_digits(i0, i1).filter(|_| i0 != b' ')?,
        second: two_digits(s0, s1).filter(|_| s0 != b' ')?,
        nanos: 0,
    };
    let plausible = (1..=31).contains(&ts.day) && ts.hour < 24 && ts.minute < 60 && ts.second <= 60;
    plausible.then_some((ts, rest))
}

fn parse_bsd_general(input: &[u8]) -> Option<(BsdTimestamp, &[u8])> {
    let month = month_from_name(input.get(..3)?)?;
    let mut rest = input.get(3..)?.strip_prefix(b" ")?;
    while let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    let (day, mut rest) = one_or_two_digits(rest)?;
    rest = rest.strip_prefix(b" ")?;
    let mut year = None;
    if let Some((y, after)) = digits(rest, 4) {
        if let Some(after) = after.strip_prefix(b" ") {
            year = i32::try_from(y).ok();
            rest = after;
        }
    }
    let (hour, r) = digits(rest, 2)?;
    let r = r.strip_prefix(b":")?;
    let (minute, r) = digits(r, 2)?;
    let r = r.strip_prefix(b":")?;
    let (second, r) = digits(r, 2)?;
    let (nanos, r) = fraction(r);
    let r = r.strip_prefix(b":").unwrap_or(r);
    let ts = BsdTimestamp {
        year,
        month,
        day: small(day),
        hour: small(hour),
        minute: small(minute),
        second: small(second),
        nanos,
    };
    let plausible = (1..=31).contains(&ts.day) && ts.hour < 24 && ts.minute < 60 && ts.second <= 60;
    plausible.then_some((ts, r))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_formatted_rfc3339_equals_fmt() {
        use std::fmt::Write as _;
        let mut seconds: i64 = -62_135_596_800; // 0001-01-01
        while seconds < 253_402_300_799 {
            for nanos in [0, 1, 10, 120_000_000, 123_456_789, 999_999_999] {
                let ts = Timestamp::from_unix(seconds, nanos);
                let fast = ts.rfc3339_digits().unwrap();
                let mut slow = String::new();
                write!(
                    slow,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second
                )
                .unwrap();
                if nanos != 0 {
                    let digits = format!("{nanos:09}");
                    write!(slow, ".{}", digits.trim_end_matches('0')).unwrap();
                }
                slow.push('Z');
                assert_eq!(fast.as_str(), slow);
            }
            seconds += 7_777_777;
        }
    }

    use super::*;

    fn rfc3339_utc(ts: &Timestamp) -> String {
        let mut s = String::new();
        ts.write_rfc3339_utc(0, &mut s).unwrap();
        s
    }

    #[test]
    fn rfc3339_with_fraction_and_offset() {
        let (ts, rest) = parse_rfc3339(b"2003-08-24T05:14:15.000003-07:00 host").unwrap();
        assert_eq!(rest, b" host");
        assert_eq!(ts.nanos, 3_000);
        assert_eq!(ts.offset_seconds, Some(-7 * 3600));
        assert_eq!(rfc3339_utc(&ts), "2003-08-24T12:14:15.000003Z");
    }

    #[test]
    fn rfc3339_variants() {
        let (ts, _) = parse_rfc3339(b"1985-04-12T23:20:50.52Z").unwrap();
        assert_eq!(rfc3339_utc(&ts), "1985-04-12T23:20:50.52Z");
        let (ts, _) = parse_rfc3339(b"2024-03-05 08:09:10+0400").unwrap();
        assert_eq!(rfc3339_utc(&ts), "2024-03-05T04:09:10Z");
        let (ts, _) = parse_rfc3339(b"2024-03-05T08:09:10").unwrap();
        assert_eq!(ts.offset_seconds, None);
        let (ts, _) = parse_rfc3339(b"2003-10-11T22:14:15.0034567891Z").unwrap();
        assert_eq!(ts.nanos, 3_456_789);
        assert!(parse_rfc3339(b"2003-13-11T22:14:15Z").is_none());
        assert!(parse_rfc3339(b"2003-02-29T22:14:15Z").is_none());
        assert!(parse_rfc3339(b"2003-10-11X22:14:15Z").is_none());
        assert!(parse_rfc3339(b"2003-10-1").is_none());
    }

    #[test]
    fn utc_is_kept_as_it_is_and_the_rest_converted() {
        for secs in (0..400).map(|i| 946_684_800 + i * 7_919_993) {
            let ts = Timestamp::from_unix(secs, 123);
            let long_way = Timestamp::from_unix(ts.unix_seconds(0), ts.nanos);
            assert_eq!(ts.to_utc(0), long_way, "{secs}");
            let zoneless = Timestamp {
                offset_seconds: None,
                ..ts
            };
            assert_eq!(zoneless.to_utc(0), long_way, "{secs}");
            assert_eq!(zoneless.to_utc(3600).unix_seconds(0), secs - 3600);
        }
        // A leap second still becomes the next minute.
        let leap = Timestamp::new(2016, 12, 31, 23, 59, 60, 0, Some(0)).unwrap();
        assert_eq!(leap.to_utc(0), Timestamp::from_unix(1_483_228_800, 0));
    }

    #[test]
    fn unix_time_round_trips() {
        for secs in [0i64, 1, 951_782_400, 1_700_000_000, -86_401, 4_102_444_800] {
            let ts = Timestamp::from_unix(secs, 0);
            assert_eq!(ts.unix_seconds(0), secs);
        }
        let (ts, _) = parse_rfc3339(b"2000-02-29T00:00:00Z").unwrap();
        assert_eq!(ts.unix_seconds(0), 951_782_400);
    }

    #[test]
    fn bsd_forms() {
        let (ts, rest) = parse_bsd(b"Oct  3 11:36:46 host").unwrap();
        assert_eq!((ts.month, ts.day, ts.hour, ts.year), (10, 3, 11, None));
        assert_eq!(rest, b" host");
        let (ts, _) = parse_bsd(b"Oct 3 11:36:46 host").unwrap();
        assert_eq!(ts.day, 3);
        let (ts, _) = parse_bsd(b"AUG 10 22:18:24 host").unwrap();
        assert_eq!(ts.month, 8);
        let (ts, rest) = parse_bsd(b"Nov 21 2026 10:00:00: %ASA").unwrap();
        assert_eq!(ts.year, Some(2026));
        assert_eq!(rest, b" %ASA");
        let (ts, _) = parse_bsd(b"Mar 05 08:09:10.123 WEST").unwrap();
        assert_eq!(ts.nanos, 123_000_000);
        assert!(parse_bsd(b"Foo 05 08:09:10").is_none());
        assert!(parse_bsd(b"Mar 05 08:09").is_none());
        assert!(parse_bsd(b"Mar 45 08:09:10").is_none());
    }

    #[test]
    fn missing_year_follows_the_reference_across_new_year() {
        let (ts, _) = parse_bsd(b"Dec 31 23:59:59 x").unwrap();
        let jan = Timestamp::from_unix(1_798_761_600, 0); // 2027-01-01T00:00:00Z
        assert_eq!(jan.year, 2027);
        assert_eq!(ts.resolve(&jan).unwrap().year, 2026);
        let (ts, _) = parse_bsd(b"Jan  1 00:00:01 x").unwrap();
        let dec = Timestamp::from_unix(1_798_761_599, 0); // 2026-12-31T23:59:59Z
        assert_eq!(ts.resolve(&dec).unwrap().year, 2027);
        let (ts, _) = parse_bsd(b"Jun 15 12:00:00 x").unwrap();
        assert_eq!(ts.resolve(&dec).unwrap().year, 2026);
        // Months old (an unsynchronised clock): the past, not next year.
        let nov = Timestamp::from_unix(1_795_219_200, 0); // 2026-11-21
        let (ts, _) = parse_bsd(b"Apr 29 13:58:40 x").unwrap();
        assert_eq!(ts.resolve(&nov).unwrap().year, 2026);
        // A sender clock a few days ahead stays in this year.
        let (ts, _) = parse_bsd(b"Nov 25 10:00:00 x").unwrap();
        assert_eq!(ts.resolve(&nov).unwrap().year, 2026);
        let (ts, _) = parse_bsd(b"Feb 29 12:00:00 x").unwrap();
        assert!(
            ts.resolve(&dec).is_none(),
            "no leap year within a year of the reference"
        );
    }
}
