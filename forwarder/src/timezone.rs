//! The zone a listener reads zone-less device timestamps in (`[[listen]] timezone`, decision
//! 83): BSD dates (`Nov 30 10:00:00`), zone-less ISO 8601, CEF `rt`/`start`/`end` without a
//! zone, vendor times. Timestamps that carry an offset are never touched.
//!
//! A named zone's offset is the one in force at the message's own timestamp when that has no
//! zone (a local time in a daylight-saving gap or fold is read as RFC 5545 says: the earlier
//! offset), else at its arrival. Every zone-less time of a message (a CEF record's `rt`,
//! `start`, `end`) is read with that one offset: they lie minutes apart, not months.

use jiff::tz::TimeZone;

/// `UTC` (the default), a fixed offset, the forwarder's own zone, or an IANA zone.
#[derive(Debug, Clone)]
pub enum Zone {
    /// Seconds east of UTC, the same all year.
    Fixed(i32),
    /// A zone with rules (daylight saving): its offset depends on the date (see
    /// [`ZoneClock::offset_for`]).
    Named { name: String, zone: TimeZone },
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::Fixed(0)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        match (self, other) {
            (Zone::Fixed(a), Zone::Fixed(b)) => a == b,
            (Zone::Named { name: a, .. }, Zone::Named { name: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Zone {
    /// Reads `UTC`, `local` (this host's zone, as rsyslog and the Azure Monitor Agent read
    /// such timestamps), `+HH:MM`/`-HH:MM`, or an IANA name such as `Europe/Berlin`.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text == "Z" {
            return Ok(Zone::Fixed(0));
        }
        if let Some(offset) = fixed_offset(text) {
            return Ok(Zone::Fixed(offset));
        }
        let zone = if text.eq_ignore_ascii_case("local") {
            TimeZone::try_system().map_err(|e| format!("this host's time zone: {e}"))?
        } else {
            TimeZone::get(text).map_err(|_| {
                format!(
                    "`{text}` is not a time zone: use UTC, local, an offset like +02:00, or an \
                     IANA name like Europe/Berlin"
                )
            })?
        };
        Ok(Zone::Named {
            name: text.to_owned(),
            zone,
        })
    }

    /// The offset in seconds east of UTC at `unix_seconds`.
    pub fn offset_at(&self, unix_seconds: i64) -> i32 {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named { zone, .. } => jiff::Timestamp::from_second(unix_seconds)
                .map_or(0, |at| zone.to_offset(at).seconds()),
        }
    }

    /// The offset in force at the local time `local` (its own offset ignored), or `None` when
    /// that is no valid date.
    pub fn offset_of_local(&self, local: &tern_parsers::Timestamp) -> Option<i32> {
        match self {
            Zone::Fixed(offset) => Some(*offset),
            Zone::Named { zone, .. } => {
                let civil = jiff::civil::DateTime::new(
                    i16::try_from(local.year).ok()?,
                    i8::try_from(local.month).ok()?,
                    i8::try_from(local.day).ok()?,
                    i8::try_from(local.hour).ok()?,
                    i8::try_from(local.minute).ok()?,
                    i8::try_from(local.second).ok()?,
                    0,
                )
                .ok()?;
                let instant = zone.to_ambiguous_timestamp(civil).compatible().ok()?;
                // What turns this local time into that instant: in a gap that is the offset
                // before it, not the one the instant then shows.
                i32::try_from(local.unix_seconds(0) - instant.as_second()).ok()
            }
        }
    }
}

/// `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH` (at most 18 hours, as RFC 3339 and jiff allow).
fn fixed_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits
        .get(2..)
        .filter(|m| !m.is_empty())
        .map_or(Some(0), |m| m.parse().ok())?;
    (hours <= 18 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// A [`Zone`] with the last offset looked up, so that a named zone costs one lookup per
/// second of device time rather than one per message.
#[derive(Debug, Clone, Default)]
pub struct ZoneClock {
    zone: Zone,
    /// (local time as if UTC, in seconds; its offset).
    last: Option<(i64, i32)>,
}

impl ZoneClock {
    pub fn new(zone: Zone) -> ZoneClock {
        ZoneClock { zone, last: None }
    }

    /// The offset for the zone-less times of a message stamped `timestamp` (the device's, if
    /// any) that arrived at `arrival` (UTC).
    pub fn offset_for(
        &mut self,
        timestamp: Option<&tern_parsers::Timestamp>,
        arrival: &tern_parsers::Timestamp,
    ) -> i32 {
        if let Zone::Fixed(offset) = self.zone {
            return offset;
        }
        let Some(local) = timestamp.filter(|t| t.offset_seconds.is_none()) else {
            return self.zone.offset_at(arrival.unix_seconds(0));
        };
        let key = local.unix_seconds(0);
        if let Some((_, offset)) = self.last.filter(|(at, _)| *at == key) {
            return offset;
        }
        let offset = self
            .zone
            .offset_of_local(local)
            .unwrap_or_else(|| self.zone.offset_at(arrival.unix_seconds(0)));
        self.last = Some((key, offset));
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_offsets_and_mistakes() {
        assert_eq!(Zone::parse("UTC").unwrap(), Zone::Fixed(0));
        assert_eq!(Zone::parse("utc").unwrap(), Zone::Fixed(0));
        assert_eq!(Zone::parse("+02:00").unwrap(), Zone::Fixed(7200));
        assert_eq!(Zone::parse("-05:30").unwrap(), Zone::Fixed(-19_800));
        assert_eq!(Zone::parse("+0530").unwrap(), Zone::Fixed(19_800));
        assert_eq!(Zone::parse("+09").unwrap(), Zone::Fixed(32_400));
        for bad in ["+25:00", "+02:75", "+2", "Mars/Base", "", "+02:00:00"] {
            let err = Zone::parse(bad).unwrap_err();
            assert!(err.contains("is not a time zone"), "{bad}: {err}");
        }
        assert!(matches!(
            Zone::parse("Europe/Berlin").unwrap(),
            Zone::Named { ref name, .. } if name == "Europe/Berlin"
        ));
        assert!(Zone::parse("local").is_ok());
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // 2026-01-15T12:00:00Z and 2026-07-15T12:00:00Z.
        assert_eq!(berlin.offset_at(1_768_478_400), 3600);
        assert_eq!(berlin.offset_at(1_784_116_800), 7200);
        let new_york = Zone::parse("America/New_York").unwrap();
        assert_eq!(new_york.offset_at(1_768_478_400), -5 * 3600);
        let mut clock = ZoneClock::new(berlin);
        let summer = tern_parsers::Timestamp::from_unix(1_784_116_800, 5);
        let winter = tern_parsers::Timestamp::from_unix(1_768_478_400, 0);
        // A timestamp with a zone: the offset at arrival.
        assert_eq!(clock.offset_for(Some(&summer), &summer), 7200);
        assert_eq!(clock.offset_for(None, &winter), 3600);
        // A zone-less device time is read by its own date, not the arrival's.
        let local = |month, day, hour| {
            tern_parsers::Timestamp::new(2026, month, day, hour, 30, 0, 0, None).unwrap()
        };
        assert_eq!(clock.offset_for(Some(&local(7, 15, 10)), &winter), 7200);
        assert_eq!(clock.offset_for(Some(&local(7, 15, 10)), &winter), 7200);
        assert_eq!(clock.offset_for(Some(&local(1, 15, 10)), &summer), 3600);
        // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00): the offset
        // before the gap; 2026-10-25 02:30 happens twice: the earlier, summer, offset.
        assert_eq!(clock.offset_for(Some(&local(3, 29, 2)), &winter), 3600);
        assert_eq!(clock.offset_for(Some(&local(10, 25, 2)), &winter), 7200);
        // Fixed offsets ignore both times.
        let mut fixed = ZoneClock::new(Zone::Fixed(-3600));
        assert_eq!(fixed.offset_for(Some(&local(7, 15, 10)), &summer), -3600);
    }
}
