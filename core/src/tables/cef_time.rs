//! CEF date values (`rt`, `start`, `end`, `deviceCustomDate1`, `flexDate1`, …) in every form
//! the CEF specification allows and devices send:
//! - epoch numbers, the unit told by magnitude: below 10^11 seconds (until the year 5138),
//!   then milliseconds (the specification's form), microseconds, nanoseconds; seconds may carry
//!   a fraction (`1700000000.250`);
//! - `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`, the zone a name (`UTC`, `CET`, `PST`), an offset
//!   (`+0100`, `+01:00`, `-05`), `GMT+01:00`/`UTC-5`, or an IANA name (`Europe/Berlin`); without
//!   a year, the year that makes it the latest date not more than a month after receipt (as
//!   for BSD syslog headers); without a zone, the listener's configured zone;
//! - RFC 3339.
//!
//! Zone abbreviations are ambiguous (CST is US Central or China); they resolve as Java's
//! `SimpleDateFormat` `zzz` does, since ArcSight connectors and most CEF emitters format with
//! it: CST = US Central, IST = India, BST = British Summer Time.

use tern_parsers::Timestamp;

/// What a time without a zone or a year is read against.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeBasis<'r> {
    /// The listener's zone for zone-less times, in seconds east of UTC.
    pub default_offset_seconds: i32,
    /// When the event arrived (UTC): completes year-less dates.
    pub received: &'r Timestamp,
}

impl<'r> TimeBasis<'r> {
    pub(super) fn of(received: &'r super::Received<'_>) -> TimeBasis<'r> {
        TimeBasis {
            default_offset_seconds: received.default_offset_seconds,
            received: &received.time,
        }
    }
}

/// A CEF date value, or `None` when it is none of the forms above.
pub(super) fn parse(value: &str, basis: TimeBasis<'_>) -> Option<Timestamp> {
    let value = value.trim();
    if let Some(ts) = parse_epoch(value) {
        return Some(ts);
    }
    if let Some((ts, rest)) = tern_parsers::timestamp::parse_rfc3339(value.as_bytes()) {
        return rest.is_empty().then_some(ts);
    }
    let (bsd, rest) = tern_parsers::timestamp::parse_bsd(value.as_bytes())?;
    let zone = std::str::from_utf8(rest).ok()?.trim();
    // The month of slack in `resolve` covers the difference between the sender's zone and UTC;
    // the year it completes is the one a named zone's rules are read in.
    let local = bsd.resolve(basis.received)?;
    let offset = if zone.is_empty() {
        basis.default_offset_seconds
    } else {
        zone_offset(zone, &local)?
    };
    Some(local.to_utc(offset))
}

/// Whole epoch numbers by magnitude, or seconds with a fraction.
pub(super) fn parse_epoch(value: &str) -> Option<Timestamp> {
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    if whole.is_empty() || whole.len() > 19 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = whole.parse().ok()?;
    if let Some(fraction) = fraction {
        // A fraction only makes sense on seconds.
        if n >= SECONDS_BELOW
            || fraction.is_empty()
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut nanos: u32 = 0;
        for digit in fraction.bytes().chain(std::iter::repeat(b'0')).take(9) {
            nanos = nanos * 10 + u32::from(digit - b'0');
        }
        return Some(Timestamp::from_unix(n, nanos));
    }
    let (seconds, nanos) = if n < SECONDS_BELOW {
        (n, 0)
    } else if n < SECONDS_BELOW * 1_000 {
        (n / 1_000, (n % 1_000) * 1_000_000)
    } else if n < SECONDS_BELOW * 1_000_000 {
        (n / 1_000_000, (n % 1_000_000) * 1_000)
    } else {
        (n / 1_000_000_000, n % 1_000_000_000)
    };
    Some(Timestamp::from_unix(seconds, u32::try_from(nanos).ok()?))
}

/// Epoch values below this are seconds (10^11 s is the year 5138; 10^11 ms is March 1973).
const SECONDS_BELOW: i64 = 100_000_000_000;

/// Seconds east of UTC for a zone written after a CEF date.
fn zone_offset(zone: &str, at: &Timestamp) -> Option<i32> {
    if let Some(offset) = abbreviation(zone) {
        return Some(offset);
    }
    for prefix in ["GMT", "UTC", "UT"] {
        if let Some(rest) = zone.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return numeric_offset(rest);
            }
        }
    }
    if zone.starts_with(['+', '-']) {
        return numeric_offset(zone);
    }
    if zone.contains('/') {
        return iana_offset(zone, at);
    }
    None
}

/// `+1`, `+01`, `+0100`, `+01:00`, `-05:30`: within ±18 hours.
fn numeric_offset(text: &str) -> Option<i32> {
    let (sign, digits) = match text.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at_checked(2)?,
        None => (digits, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    (hours <= 18 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// An IANA zone's offset at the (zone-local) date and time given.
fn iana_offset(name: &str, at: &Timestamp) -> Option<i32> {
    let zone = jiff::tz::db().get(name).ok()?;
    let year = i16::try_from(at.year).ok()?;
    let civil = jiff::civil::DateTime::new(
        year,
        i8::try_from(at.month).ok()?,
        i8::try_from(at.day).ok()?,
        i8::try_from(at.hour).ok()?,
        i8::try_from(at.minute).ok()?,
        i8::try_from(at.second.min(59)).ok()?,
        0,
    )
    .ok()?;
    let zoned = zone.to_ambiguous_zoned(civil).compatible().ok()?;
    Some(zoned.offset().seconds())
}

/// The abbreviations Java's `zzz` writes for the zones CEF senders run in, with their offsets.
fn abbreviation(zone: &str) -> Option<i32> {
    const H: i32 = 3600;
    Some(match zone {
        "UTC" | "GMT" | "UT" | "Z" | "WET" => 0,
        "BST" | "WEST" | "CET" | "MET" => H,
        "CEST" | "MEST" | "EET" | "SAST" => 2 * H,
        "EEST" | "MSK" | "EAT" => 3 * H,
        "GST" => 4 * H,
        "PKT" => 5 * H,
        "IST" => 5 * H + 30 * 60,
        "ICT" | "WIB" => 7 * H,
        "SGT" | "HKT" | "AWST" | "PHT" => 8 * H,
        "JST" | "KST" => 9 * H,
        "ACST" => 9 * H + 30 * 60,
        "AEST" => 10 * H,
        "ACDT" => 10 * H + 30 * 60,
        "AEDT" => 11 * H,
        "NZST" => 12 * H,
        "NZDT" => 13 * H,
        "ADT" => -3 * H,
        "AST" | "EDT" => -4 * H,
        "EST" | "CDT" => -5 * H,
        "CST" | "MDT" => -6 * H,
        "MST" | "PDT" => -7 * H,
        "PST" | "AKDT" => -8 * H,
        "AKST" => -9 * H,
        "HST" => -10 * H,
        "NST" => -(3 * H + 30 * 60),
        "NDT" => -(2 * H + 30 * 60),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(value: &str, offset: i32) -> Option<String> {
        let received = Timestamp::new(2026, 12, 7, 12, 0, 0, 0, None).unwrap();
        let ts = parse(
            value,
            TimeBasis {
                default_offset_seconds: offset,
                received: &received,
            },
        )?;
        let mut s = String::new();
        ts.write_rfc3339_utc(0, &mut s).ok()?;
        Some(s)
    }

    #[test]
    fn every_cef_date_form() {
        let cases: &[(&str, &str)] = &[
            // Epoch milliseconds (the specification's), seconds by magnitude, and finer.
            ("1388577900000", "2014-01-01T12:05:00Z"),
            ("1388577900", "2014-01-01T12:05:00Z"),
            ("1388577900.25", "2014-01-01T12:05:00.25Z"),
            ("1388577900123456", "2014-01-01T12:05:00.123456Z"),
            ("1388577900123456789", "2014-01-01T12:05:00.123456789Z"),
            // With a year, with and without fraction and zone.
            ("Nov 21 2026 10:00:00", "2026-11-21T09:00:00Z"),
            ("Nov 21 2026 10:00:00.250 UTC", "2026-11-21T10:00:00.25Z"),
            ("Nov 21 2026 10:00:00 GMT", "2026-11-21T10:00:00Z"),
            ("Nov 21 2026 10:00:00 GMT+01:00", "2026-11-21T09:00:00Z"),
            ("Nov 21 2026 10:00:00 GMT-5", "2026-11-21T15:00:00Z"),
            ("Nov 21 2026 10:00:00 +0100", "2026-11-21T09:00:00Z"),
            ("Nov 21 2026 10:00:00 -05:30", "2026-11-21T15:30:00Z"),
            ("Nov 21 2026 10:00:00 CET", "2026-11-21T09:00:00Z"),
            ("Jul 21 2026 10:00:00 CEST", "2026-07-21T08:00:00Z"),
            ("Nov 21 2026 10:00:00.5 PST", "2026-11-21T18:00:00.5Z"),
            ("Nov 21 2026 10:00:00 IST", "2026-11-21T04:30:00Z"),
            ("Jul 21 2026 10:00:00 Europe/Berlin", "2026-07-21T08:00:00Z"),
            ("Nov 21 2026 10:00:00 Europe/Berlin", "2026-11-21T09:00:00Z"),
            // Without a year: the latest such date not more than a month after receipt
            // (received 2026-12-07).
            ("Nov 21 10:00:00", "2026-11-21T09:00:00Z"),
            ("Nov 21 10:00:00.125 UTC", "2026-11-21T10:00:00.125Z"),
            ("Dec 30 10:00:00 UTC", "2026-12-30T10:00:00Z"),
            ("Feb 1 10:00:00 UTC", "2026-02-01T10:00:00Z"),
            // A named zone's rules are read in the year the date was completed with.
            ("Jul 21 10:00:00 Europe/Berlin", "2026-07-21T08:00:00Z"),
            // RFC 3339.
            ("2026-11-21T10:00:00+01:00", "2026-11-21T09:00:00Z"),
        ];
        for (value, expected) in cases {
            assert_eq!(utc(value, 3600).as_deref(), Some(*expected), "{value}");
        }
    }

    #[test]
    fn what_is_no_date_is_refused() {
        for value in [
            "",
            "yesterday",
            "Nov 21 2026 10:00:00 XYZ",
            "Nov 21 2026 10:00:00 +25:00",
            "Nov 21 2026 10:00:00 Not/AZone",
            "Nov 21 2026 10:00:00 GMT+",
            "1388577900000.5",
            "12a",
            "99999999999999999999",
            "Feb 30 2026 10:00:00",
        ] {
            assert_eq!(utc(value, 0), None, "{value:?}");
        }
    }
}
