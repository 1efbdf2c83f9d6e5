//! The syslog PRI part (`<N>`): facility and severity, with the names the Sentinel Syslog table
//! and DCR `facilityNames`/`logLevels` use.
//!
//! Owns: decoding `<0>`..`<191>` and naming the parts. Never decides what to do with a line that
//! has no valid PRI; [`crate::parse`] applies RFC 3164's default (user.notice) for that.

/// Syslog facility. Codes 0–23 are on the wire; the names follow the DCR facility enum
/// (`reference/azure.md` §3.2), which names 12–15 `ntp`, `audit`, `alert`, `clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Facility {
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    Authpriv = 10,
    Ftp = 11,
    Ntp = 12,
    Audit = 13,
    Alert = 14,
    Clock = 15,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

const FACILITIES: [Facility; 24] = [
    Facility::Kern,
    Facility::User,
    Facility::Mail,
    Facility::Daemon,
    Facility::Auth,
    Facility::Syslog,
    Facility::Lpr,
    Facility::News,
    Facility::Uucp,
    Facility::Cron,
    Facility::Authpriv,
    Facility::Ftp,
    Facility::Ntp,
    Facility::Audit,
    Facility::Alert,
    Facility::Clock,
    Facility::Local0,
    Facility::Local1,
    Facility::Local2,
    Facility::Local3,
    Facility::Local4,
    Facility::Local5,
    Facility::Local6,
    Facility::Local7,
];

const FACILITY_NAMES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl Facility {
    /// All 24 wire facilities, in code order.
    pub const ALL: [Facility; 24] = FACILITIES;

    /// The facility with wire code `code` (0–23).
    pub fn from_code(code: u8) -> Option<Facility> {
        FACILITIES.get(usize::from(code)).copied()
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The lowercase name the Syslog table's `Facility` column holds, e.g. `local4`.
    pub fn name(self) -> &'static str {
        FACILITY_NAMES.get(self as usize).copied().unwrap_or("user")
    }

    /// Parses a facility name case-insensitively (DCR exports use e.g. `UUCP`).
    pub fn from_name(name: &str) -> Option<Facility> {
        FACILITY_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .and_then(|i| u8::try_from(i).ok())
            .and_then(Facility::from_code)
    }
}

/// Syslog severity, 0 (emergency) to 7 (debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

const SEVERITIES: [Severity; 8] = [
    Severity::Emergency,
    Severity::Alert,
    Severity::Critical,
    Severity::Error,
    Severity::Warning,
    Severity::Notice,
    Severity::Info,
    Severity::Debug,
];

/// Short names stored in the Syslog table's `SeverityLevel` column (`reference/azure.md` §3.2).
const SEVERITY_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Level names of the DCR `logLevels` enum, in severity order.
const DCR_LEVEL_NAMES: [&str; 8] = [
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Info",
    "Debug",
];

impl Severity {
    /// All eight severities, most severe first.
    pub const ALL: [Severity; 8] = SEVERITIES;

    pub fn from_code(code: u8) -> Option<Severity> {
        SEVERITIES.get(usize::from(code)).copied()
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The short name the Syslog table's `SeverityLevel` column holds, e.g. `warning`, `err`.
    pub fn name(self) -> &'static str {
        SEVERITY_NAMES
            .get(self as usize)
            .copied()
            .unwrap_or("notice")
    }

    /// The DCR `logLevels` name, e.g. `Warning`.
    pub fn dcr_name(self) -> &'static str {
        DCR_LEVEL_NAMES
            .get(self as usize)
            .copied()
            .unwrap_or("Notice")
    }

    /// Parses a DCR level name (`Warning`) or a table name (`warning`, `err`), case-insensitively.
    pub fn from_name(name: &str) -> Option<Severity> {
        DCR_LEVEL_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .or_else(|| {
                SEVERITY_NAMES
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|i| u8::try_from(i).ok())
            .and_then(Severity::from_code)
    }
}

/// A decoded PRI value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pri {
    pub facility: Facility,
    pub severity: Severity,
}

impl Pri {
    /// RFC 3164 §4.3.3: a message without a valid PRI is treated as user.notice (13).
    pub const DEFAULT: Pri = Pri {
        facility: Facility::User,
        severity: Severity::Notice,
    };

    /// Decodes a PRI value 0..=191.
    pub fn from_value(value: u16) -> Option<Pri> {
        let facility = Facility::from_code(u8::try_from(value / 8).ok()?)?;
        let severity = Severity::from_code(u8::try_from(value % 8).ok()?)?;
        Some(Pri { facility, severity })
    }

    pub fn value(self) -> u16 {
        u16::from(self.facility.code()) * 8 + u16::from(self.severity.code())
    }
}

/// Why a PRI could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriError {
    /// No `<` at the start.
    Missing,
    /// `<` followed by something other than 1–3 digits and `>`, or a value over 191.
    Invalid,
}

/// Parses `<N>` at the start of `input`. Accepts 1–3 digits (RFC 5424 PRIVAL; leading zeros as
/// QRadar sends `<01>`) with a value of at most 191. Returns the rest after `>`.
///
/// Written out by hand rather than with nom: it runs on every message, and three bytes do not
/// need a combinator library.
#[inline]
pub fn parse_pri(input: &[u8]) -> Result<(&[u8], Pri), PriError> {
    let rest = input.strip_prefix(b"<").ok_or(PriError::Missing)?;
    // Four bytes at once, the length chosen by where `>` is: PRIs of one, two and three digits
    // come mixed, and a digit loop mispredicted its exit on most lines. A line shorter than
    // that is padded with NULs, which are neither digits nor `>`.
    let [a, b, c, d] = match rest.first_chunk::<4>() {
        Some(&head) => head,
        None => {
            let mut head = [0u8; 4];
            for (slot, &byte) in head.iter_mut().zip(rest) {
                *slot = byte;
            }
            head
        }
    };
    let [a, b, c] = [a, b, c].map(|x| u16::from(x.wrapping_sub(b'0')));
    let close = u16::from(b'>'.wrapping_sub(b'0'));
    let (len, value, digits_ok) = if b == close {
        (1, a, a <= 9)
    } else if c == close {
        (2, a * 10 + b, a <= 9 && b <= 9)
    } else if d == b'>' {
        (3, a * 100 + b * 10 + c, a <= 9 && b <= 9 && c <= 9)
    } else {
        return Err(PriError::Invalid);
    };
    if !digits_ok {
        return Err(PriError::Invalid);
    }
    let pri = Pri::from_value(value).ok_or(PriError::Invalid)?;
    Ok((rest.get(len + 1..).unwrap_or_default(), pri))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule the four-byte fast path must follow: up to three digits, then `>`.
    fn parse_pri_by_loop(input: &[u8]) -> Result<(&[u8], Pri), PriError> {
        let rest = input.strip_prefix(b"<").ok_or(PriError::Missing)?;
        let mut value = 0u16;
        for (i, &b) in rest.iter().enumerate().take(4) {
            match b {
                b'0'..=b'9' if i < 3 => value = value * 10 + u16::from(b - b'0'),
                b'>' if i > 0 => {
                    let pri = Pri::from_value(value).ok_or(PriError::Invalid)?;
                    return Ok((rest.get(i + 1..).unwrap_or_default(), pri));
                }
                _ => return Err(PriError::Invalid),
            }
        }
        Err(PriError::Invalid)
    }

    #[test]
    fn every_short_pri_shape_reads_as_the_digit_rule_says() {
        let alphabet = b"0159>x<";
        let mut lines = vec![b"<".to_vec()];
        for _ in 0..5 {
            let longer: Vec<Vec<u8>> = lines
                .iter()
                .flat_map(|l| {
                    alphabet.iter().map(move |&c| {
                        let mut l = l.clone();
                        l.push(c);
                        l
                    })
                })
                .collect();
            lines.extend(longer);
        }
        lines.sort();
        lines.dedup();
        assert!(lines.len() > 19_000);
        for line in &lines {
            for suffix in [b"".as_slice(), b"1 x"] {
                let input = [line.as_slice(), suffix].concat();
                assert_eq!(
                    parse_pri(&input),
                    parse_pri_by_loop(&input),
                    "{:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn decodes_facility_and_severity() {
        let (rest, pri) = parse_pri(b"<165>1 x").unwrap();
        assert_eq!(rest, b"1 x");
        assert_eq!(pri.facility, Facility::Local4);
        assert_eq!(pri.severity, Severity::Notice);
        assert_eq!(pri.facility.name(), "local4");
        assert_eq!(pri.severity.name(), "notice");
        assert_eq!(pri.value(), 165);
    }

    #[test]
    fn every_value_round_trips_and_names_match_the_table() {
        for v in 0..=191u16 {
            let pri = Pri::from_value(v).unwrap();
            assert_eq!(pri.value(), v);
        }
        assert_eq!(Pri::from_value(0).unwrap().severity.name(), "emerg");
        assert_eq!(Pri::from_value(3).unwrap().severity.name(), "err");
        assert_eq!(Pri::from_value(2).unwrap().severity.name(), "crit");
        assert_eq!(Pri::from_value(12 * 8).unwrap().facility.name(), "ntp");
        assert_eq!(Pri::from_value(15 * 8).unwrap().facility.name(), "clock");
        assert_eq!(Pri::from_value(191).unwrap().facility, Facility::Local7);
        assert!(Pri::from_value(192).is_none());
    }

    #[test]
    fn rejects_out_of_range_and_malformed() {
        assert!(parse_pri(b"<192>x").is_err());
        assert!(parse_pri(b"<1000>x").is_err());
        assert!(parse_pri(b"<>x").is_err());
        assert!(parse_pri(b"<12").is_err());
        assert!(parse_pri(b"12>").is_err());
        assert!(parse_pri(b"<-1>").is_err());
        assert!(parse_pri(b"").is_err());
    }

    #[test]
    fn leading_zeros_are_accepted() {
        let (_, pri) = parse_pri(b"<01>").unwrap();
        assert_eq!(pri.value(), 1);
        let (_, pri) = parse_pri(b"<000>").unwrap();
        assert_eq!(pri.value(), 0);
    }

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(Facility::from_name("UUCP"), Some(Facility::Uucp));
        assert_eq!(Facility::from_name("Local7"), Some(Facility::Local7));
        assert_eq!(Facility::from_name("mark"), None);
        assert_eq!(Severity::from_name("warning"), Some(Severity::Warning));
        assert_eq!(Severity::from_name("Emergency"), Some(Severity::Emergency));
        assert_eq!(Severity::from_name("err"), Some(Severity::Error));
        assert_eq!(Severity::from_name("nope"), None);
    }
}
