//! KQL's scalar values and types, with the conversions the language defines.
//!
//! Nulls are typed in KQL; here the type lives in the compiled expression
//! ([`super::compile`]) and a value is just [`Value::Null`]. A string is never null: the
//! "null string" is `""` (`isnull("")` is false, `isempty("")` true), so a string column that
//! a row lacks reads as `""`.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

/// One scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// `int` and `long` (an `int` is a `long` in range; the static type keeps the difference).
    Long(i64),
    Real(f64),
    Str(Arc<str>),
    DateTime(Timestamp),
    TimeSpan(SignedDuration),
    Dynamic(Arc<serde_json::Value>),
}

/// The static type of an expression or column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Long,
    Real,
    String,
    DateTime,
    TimeSpan,
    Dynamic,
}

impl Type {
    /// The name in a stream declaration (`timespan` has none there: it is sent as text).
    pub fn declaration_name(self) -> &'static str {
        match self {
            Type::Bool => "boolean",
            Type::Int => "int",
            Type::Long => "long",
            Type::Real => "real",
            Type::String | Type::TimeSpan => "string",
            Type::DateTime => "datetime",
            Type::Dynamic => "dynamic",
        }
    }

    /// The name `gettype` and KQL's schema use.
    pub fn kql_name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Long => "long",
            Type::Real => "real",
            Type::String => "string",
            Type::DateTime => "datetime",
            Type::TimeSpan => "timespan",
            Type::Dynamic => "dynamic",
        }
    }

    /// From a stream declaration's or `datatable`'s type name.
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => Type::Bool,
            "int" => Type::Int,
            "long" => Type::Long,
            "real" | "double" | "decimal" => Type::Real,
            "string" => Type::String,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::TimeSpan,
            "dynamic" => Type::Dynamic,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Long | Type::Real)
    }

    /// The null (or, for strings, empty) value of this type.
    pub fn empty(self) -> Value {
        match self {
            Type::String => Value::Str(Arc::from("")),
            _ => Value::Null,
        }
    }
}

impl Value {
    pub fn str(text: &str) -> Value {
        Value::Str(Arc::from(text))
    }

    pub fn string(text: String) -> Value {
        Value::Str(Arc::from(text))
    }

    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Real(r) => r.is_nan(),
            Value::Dynamic(d) => d.is_null(),
            _ => false,
        }
    }

    /// `isempty`: null, or an empty string (a dynamic string too).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Str(s) => s.is_empty(),
            Value::Dynamic(d) => matches!(&**d, serde_json::Value::String(s) if s.is_empty()),
            other => other.is_null(),
        }
    }

    /// A dynamic scalar as the plain value it holds (`d.x == "a"` compares strings);
    /// arrays and bags stay dynamic.
    #[inline]
    pub fn undynamic(self) -> Value {
        match self {
            Value::Dynamic(d) => undynamic_json(d),
            other => other,
        }
    }

    /// `tostring`: null becomes `""`; datetimes ISO 8601 UTC; dynamic values as JSON (a
    /// dynamic string without quotes).
    pub fn to_text(&self) -> Arc<str> {
        match self {
            Value::Str(s) => s.clone(),
            other => Arc::from(other.display_text()),
        }
    }

    fn display_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Long(i) => i.to_string(),
            Value::Real(r) => real_text(*r),
            Value::Str(s) => s.to_string(),
            Value::DateTime(t) => datetime_text(*t),
            Value::TimeSpan(d) => timespan_text(*d),
            Value::Dynamic(d) => match &**d {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        }
    }

    /// `tolong`/`toint`: numbers (reals truncated), numeric strings, booleans; else null.
    pub fn to_long(&self) -> Option<i64> {
        match self {
            Value::Long(i) => Some(*i),
            Value::Real(r) if r.is_finite() => real_to_long(r.trunc()),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Str(s) => parse_long_text(s),
            Value::DateTime(t) => Some(ticks_since_0001(*t)),
            Value::TimeSpan(d) => Some(ticks(*d)),
            Value::Dynamic(_) => self.clone().undynamic_scalar().and_then(|v| v.to_long()),
            _ => None,
        }
    }

    /// `toreal`: numbers, numeric strings (also `inf`, `nan`), booleans; else null.
    pub fn to_real(&self) -> Option<f64> {
        match self {
            Value::Long(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Str(s) => {
                let t = s.trim();
                match t.to_ascii_lowercase().as_str() {
                    "inf" | "+inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    "nan" => Some(f64::NAN),
                    _ if t.is_empty() => None,
                    _ => t.parse::<f64>().ok().filter(|r| r.is_finite()),
                }
            }
            Value::Dynamic(_) => self.clone().undynamic_scalar().and_then(|v| v.to_real()),
            _ => None,
        }
    }

    /// `tobool`: booleans, `"true"`/`"false"` in any case, numbers (non-zero is true).
    pub fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Long(i) => Some(*i != 0),
            Value::Real(r) if !r.is_nan() => Some(*r != 0.0),
            Value::Str(s) => match s.trim() {
                t if t.eq_ignore_ascii_case("true") => Some(true),
                t if t.eq_ignore_ascii_case("false") => Some(false),
                t => t.parse::<i64>().ok().map(|i| i != 0),
            },
            Value::Dynamic(_) => self.clone().undynamic_scalar().and_then(|v| v.to_bool()),
            _ => None,
        }
    }

    /// `todatetime`: datetimes, ISO 8601 / RFC 3339 text (no zone: UTC), `2026-01-02
    /// 10:00:00`, dates.
    pub fn to_datetime(&self) -> Option<Timestamp> {
        match self {
            Value::DateTime(t) => Some(*t),
            Value::Str(s) => parse_datetime(s),
            Value::Dynamic(_) => self
                .clone()
                .undynamic_scalar()
                .and_then(|v| v.to_datetime()),
            _ => None,
        }
    }

    /// `totimespan`: timespans, `[-][d.]hh:mm[:ss[.fffffff]]` text, a number of ticks.
    pub fn to_timespan(&self) -> Option<SignedDuration> {
        match self {
            Value::TimeSpan(d) => Some(*d),
            Value::Long(i) => Some(from_ticks(*i)),
            Value::Str(s) => parse_timespan_text(s),
            Value::Dynamic(_) => self
                .clone()
                .undynamic_scalar()
                .and_then(|v| v.to_timespan()),
            _ => None,
        }
    }

    /// A dynamic scalar unwrapped; `None` for arrays, bags and nulls.
    fn undynamic_scalar(self) -> Option<Value> {
        match self.undynamic() {
            Value::Dynamic(_) | Value::Null => None,
            v => Some(v),
        }
    }

    /// As a dynamic value (`pack`, `bag_pack`, `dynamic` columns).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Long(i) => serde_json::Value::from(*i),
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::DateTime(_) | Value::TimeSpan(_) => {
                serde_json::Value::String(self.display_text())
            }
            Value::Dynamic(d) => (**d).clone(),
        }
    }

    /// The type this value has at run time (for `gettype` on dynamic values).
    pub fn gettype(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Long(_) => "long",
            Value::Real(_) => "real",
            Value::Str(_) => "string",
            Value::DateTime(_) => "datetime",
            Value::TimeSpan(_) => "timespan",
            Value::Dynamic(d) => match &**d {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "bool",
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "long",
                serde_json::Value::Number(_) => "real",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Array(_) => "array",
                serde_json::Value::Object(_) => "dictionary",
            },
        }
    }
}

fn real_to_long(r: f64) -> Option<i64> {
    // Saturating casts would turn 1e30 into i64::MAX; KQL gives null out of range.
    if (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&r) {
        Some(r as i64)
    } else {
        None
    }
}

fn parse_long_text(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    // "1.9" converts to 1 (`tolong("1.9")`).
    t.parse::<f64>().ok().and_then(|r| real_to_long(r.trunc()))
}

/// KQL's text for a real: integral values without a fraction (`tostring(2.0)` is `2`).
pub fn real_text(r: f64) -> String {
    if r.is_nan() {
        "NaN".to_owned()
    } else if r.is_infinite() {
        if r > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        format!("{r}")
    }
}

/// ISO 8601 in UTC with up to seven fractional digits, as KQL prints datetimes.
pub fn datetime_text(t: Timestamp) -> String {
    let nanos = t.subsec_nanosecond();
    let whole = Timestamp::from_second(t.as_second()).unwrap_or(t);
    let base = whole.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let mut fraction = format!("{:07}", nanos / 100);
    while fraction.ends_with('0') {
        fraction.pop();
    }
    format!("{base}.{fraction}Z")
}

/// `[-][d.]hh:mm:ss[.fffffff]`, as KQL prints timespans.
pub fn timespan_text(d: SignedDuration) -> String {
    let negative = d.is_negative();
    let total_ticks = ticks(d).unsigned_abs();
    let fraction = total_ticks % 10_000_000;
    let seconds = total_ticks / 10_000_000;
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    if days > 0 {
        text.push_str(&format!("{days}."));
    }
    text.push_str(&format!("{hours:02}:{minutes:02}:{secs:02}"));
    if fraction > 0 {
        text.push_str(&format!(".{fraction:07}"));
    }
    text
}

/// 100-nanosecond ticks, KQL's unit of time.
pub fn ticks(d: SignedDuration) -> i64 {
    i64::try_from(d.as_nanos() / 100).unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX })
}

pub fn from_ticks(t: i64) -> SignedDuration {
    SignedDuration::from_micros(t / 10).saturating_add(SignedDuration::from_nanos((t % 10) * 100))
}

/// `tolong(datetime)`: ticks since 0001-01-01.
fn ticks_since_0001(t: Timestamp) -> i64 {
    const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
    ticks(t.duration_since(Timestamp::UNIX_EPOCH)).saturating_add(UNIX_EPOCH_TICKS)
}

/// ISO 8601 / RFC 3339 in any of the forms KQL reads; text without a zone is UTC.
pub fn parse_datetime(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = t.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    // RFC 1123 / RFC 2822 (`Sat, 08 Nov 2026 10:00:00 GMT`).
    jiff::fmt::rfc2822::parse(t).ok().map(|z| z.timestamp())
}

/// `[-][d.]hh:mm[:ss[.fffffff]]`, or a number with a unit (`1d`, `30m`).
pub fn parse_timespan_text(text: &str) -> Option<SignedDuration> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let magnitude = if t.contains(':') {
        let (days, clock) = match t.split_once('.') {
            Some((d, rest)) if !d.contains(':') => (d.parse::<i64>().ok()?, rest),
            _ => (0, t),
        };
        let mut parts = clock.split(':');
        let hours: i64 = parts.next()?.parse().ok()?;
        let minutes: i64 = parts.next()?.parse().ok()?;
        let (seconds, nanos) = match parts.next() {
            Some(s) => match s.split_once('.') {
                Some((whole, fraction)) => {
                    let digits: String = fraction.chars().take(9).collect();
                    let scale = 10i64.checked_pow(9 - u32::try_from(digits.len()).ok()?)?;
                    (
                        whole.parse::<i64>().ok()?,
                        digits.parse::<i64>().ok()? * scale,
                    )
                }
                None => (s.parse::<i64>().ok()?, 0),
            },
            None => (0, 0),
        };
        if parts.next().is_some() || minutes > 59 || seconds > 59 {
            return None;
        }
        let secs = days
            .checked_mul(86_400)?
            .checked_add(hours.checked_mul(3600)?)?
            .checked_add(minutes * 60 + seconds)?;
        SignedDuration::new(secs, i32::try_from(nanos).ok()?)
    } else {
        literal_timespan(t)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A timespan literal's number and unit: `2d`, `1.5h`, `30m`, `10s`, `100ms`, `10microsecond`,
/// `5tick`.
pub fn literal_timespan(text: &str) -> Option<SignedDuration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (text.get(..split)?, text.get(split..)?);
    let n: f64 = number.parse().ok()?;
    let nanos_per: f64 = match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => 86_400e9,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600e9,
        "m" | "min" | "minute" | "minutes" => 60e9,
        "s" | "sec" | "second" | "seconds" => 1e9,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
        "microsecond" | "microseconds" => 1e3,
        "tick" | "ticks" => 100.0,
        _ => return None,
    };
    let nanos = (n * nanos_per).round();
    if !nanos.is_finite() || nanos.abs() > 9.0e21 {
        return None;
    }
    Some(SignedDuration::from_nanos(0).saturating_add(SignedDuration::from_secs_f64(nanos / 1e9)))
}

/// [`Value::undynamic`] of a dynamic value (out of line: the common case is not dynamic).
fn undynamic_json(d: Arc<serde_json::Value>) -> Value {
    match &*d {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Long(i),
            None => n.as_f64().map_or(Value::Null, Value::Real),
        },
        serde_json::Value::String(s) => Value::str(s),
        _ => Value::Dynamic(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_follow_kql() {
        assert_eq!(Value::str("42").to_long(), Some(42));
        assert_eq!(Value::str("1.9").to_long(), Some(1));
        assert_eq!(Value::str("x").to_long(), None);
        assert_eq!(Value::Real(1e30).to_long(), None);
        assert_eq!(Value::str("TRUE").to_bool(), Some(true));
        assert_eq!(Value::Null.to_text().as_ref(), "");
        assert_eq!(Value::Real(2.0).to_text().as_ref(), "2");
        assert_eq!(Value::Real(2.5).to_text().as_ref(), "2.5");
        let t = parse_datetime("2026-12-07 10:00:00").map(datetime_text);
        assert_eq!(t.as_deref(), Some("2026-12-07T10:00:00Z"));
        let t = parse_datetime("2026-12-07T10:00:00.5+01:00").map(datetime_text);
        assert_eq!(t.as_deref(), Some("2026-12-07T09:00:00.5Z"));
        let d = parse_timespan_text("1.02:03:04.5").map(timespan_text);
        assert_eq!(d.as_deref(), Some("1.02:03:04.5000000"));
        assert_eq!(
            literal_timespan("90m").map(timespan_text).as_deref(),
            Some("01:30:00")
        );
        assert!(Value::str("").is_empty());
        assert!(!Value::str("").is_null());
    }
}
