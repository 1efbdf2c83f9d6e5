//! The scalar functions transformations may call: the catalogue (names, argument counts,
//! result types) and their KQL semantics. Null in, null out, unless KQL says otherwise;
//! a string's null is `""`.

use std::sync::Arc;

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp, ToSpan, Unit};
use sha2::Digest as _;

use super::value::{Type, Value, from_ticks, ticks};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Iif,
    Case,
    Coalesce,
    Not,
    IsEmpty,
    IsNotEmpty,
    IsNull,
    IsNotNull,
    Strlen,
    Substring,
    IndexOf,
    Split,
    Strcat,
    StrcatDelim,
    ToLower,
    ToUpper,
    Trim,
    TrimStart,
    TrimEnd,
    ReplaceString,
    ReplaceRegex,
    /// `replace(regex, rewrite, text)`, the older name with its argument order.
    Replace,
    Extract,
    ExtractAll,
    CountOf,
    Base64Encode,
    Base64Decode,
    HashSha256,
    ToStr,
    ToInt,
    ToLong,
    ToReal,
    ToBool,
    ToDateTime,
    ToTimeSpan,
    ParseJson,
    Now,
    Ago,
    DatetimeAdd,
    DatetimeDiff,
    Bin,
    FormatDatetime,
    ParseCefDictionary,
    ParseUrl,
    Pack,
    PackArray,
    ArrayLength,
    ArrayConcat,
    GetType,
    Ipv4IsInRange,
    Ipv4IsPrivate,
    ParseIpv4,
    MaxOf,
    MinOf,
    Abs,
    Ceiling,
    Round,
    Pow,
    Sqrt,
    Log,
    Log10,
    Log2,
    Exp,
    Exp2,
    Exp10,
    Sign,
    IsNan,
    IsInf,
    IsFinite,
    BinaryAnd,
    BinaryOr,
    BinaryXor,
    BinaryNot,
    ShiftLeft,
    ShiftRight,
    StartOfDay,
    StartOfWeek,
    StartOfMonth,
    StartOfYear,
    EndOfDay,
    EndOfWeek,
    EndOfMonth,
    EndOfYear,
    DayOfWeek,
    DayOfMonth,
    DayOfYear,
    GetMonth,
    GetYear,
    HourOfDay,
    MakeDatetime,
    MakeTimespan,
    UnixSecondsToDatetime,
    UnixMillisToDatetime,
}

pub struct Spec {
    pub func: Func,
    pub min_args: usize,
    pub max_args: usize,
    /// The argument that is a regular expression (compiled at load time).
    pub regex_arg: Option<usize>,
}

const MANY: usize = usize::MAX;

/// `(name, function, min args, max args, regex argument)`.
const CATALOGUE: &[(&str, Func, usize, usize, Option<usize>)] = &[
    ("iif", Func::Iif, 3, 3, None),
    ("iff", Func::Iif, 3, 3, None),
    ("case", Func::Case, 3, MANY, None),
    ("coalesce", Func::Coalesce, 1, MANY, None),
    ("not", Func::Not, 1, 1, None),
    ("isempty", Func::IsEmpty, 1, 1, None),
    ("isnotempty", Func::IsNotEmpty, 1, 1, None),
    ("notempty", Func::IsNotEmpty, 1, 1, None),
    ("isnull", Func::IsNull, 1, 1, None),
    ("isnotnull", Func::IsNotNull, 1, 1, None),
    ("notnull", Func::IsNotNull, 1, 1, None),
    ("strlen", Func::Strlen, 1, 1, None),
    ("substring", Func::Substring, 2, 3, None),
    ("indexof", Func::IndexOf, 2, 5, None),
    ("split", Func::Split, 2, 3, None),
    ("strcat", Func::Strcat, 1, 64, None),
    ("strcat_delim", Func::StrcatDelim, 2, 65, None),
    ("tolower", Func::ToLower, 1, 1, None),
    ("toupper", Func::ToUpper, 1, 1, None),
    ("trim", Func::Trim, 2, 2, Some(0)),
    ("trim_start", Func::TrimStart, 2, 2, Some(0)),
    ("trim_end", Func::TrimEnd, 2, 2, Some(0)),
    ("replace_string", Func::ReplaceString, 3, 3, None),
    ("replace_regex", Func::ReplaceRegex, 3, 3, Some(1)),
    ("replace", Func::Replace, 3, 3, Some(0)),
    ("extract", Func::Extract, 3, 4, Some(0)),
    ("extract_all", Func::ExtractAll, 2, 3, Some(0)),
    ("countof", Func::CountOf, 2, 3, None),
    ("base64_encode_tostring", Func::Base64Encode, 1, 1, None),
    ("base64_encodestring", Func::Base64Encode, 1, 1, None),
    ("base64_decode_tostring", Func::Base64Decode, 1, 1, None),
    ("base64_decodestring", Func::Base64Decode, 1, 1, None),
    ("hash_sha256", Func::HashSha256, 1, 1, None),
    ("tostring", Func::ToStr, 1, 1, None),
    ("toint", Func::ToInt, 1, 1, None),
    ("tolong", Func::ToLong, 1, 1, None),
    ("toreal", Func::ToReal, 1, 1, None),
    ("todouble", Func::ToReal, 1, 1, None),
    ("todecimal", Func::ToReal, 1, 1, None),
    ("tobool", Func::ToBool, 1, 1, None),
    ("toboolean", Func::ToBool, 1, 1, None),
    ("todatetime", Func::ToDateTime, 1, 1, None),
    ("totimespan", Func::ToTimeSpan, 1, 1, None),
    ("parse_json", Func::ParseJson, 1, 1, None),
    ("todynamic", Func::ParseJson, 1, 1, None),
    ("now", Func::Now, 0, 1, None),
    ("ago", Func::Ago, 1, 1, None),
    ("datetime_add", Func::DatetimeAdd, 3, 3, None),
    ("datetime_diff", Func::DatetimeDiff, 3, 3, None),
    ("bin", Func::Bin, 2, 2, None),
    ("floor", Func::Bin, 2, 2, None),
    ("format_datetime", Func::FormatDatetime, 2, 2, None),
    ("parse_cef_dictionary", Func::ParseCefDictionary, 1, 1, None),
    ("parse_url", Func::ParseUrl, 1, 1, None),
    ("pack", Func::Pack, 0, MANY, None),
    ("bag_pack", Func::Pack, 0, MANY, None),
    ("pack_array", Func::PackArray, 0, MANY, None),
    ("array_length", Func::ArrayLength, 1, 1, None),
    ("array_concat", Func::ArrayConcat, 1, MANY, None),
    ("gettype", Func::GetType, 1, 1, None),
    ("ipv4_is_in_range", Func::Ipv4IsInRange, 2, 2, None),
    ("ipv4_is_private", Func::Ipv4IsPrivate, 1, 1, None),
    ("parse_ipv4", Func::ParseIpv4, 1, 1, None),
    ("max_of", Func::MaxOf, 1, 64, None),
    ("min_of", Func::MinOf, 1, 64, None),
    ("abs", Func::Abs, 1, 1, None),
    ("ceiling", Func::Ceiling, 1, 1, None),
    ("round", Func::Round, 1, 2, None),
    ("pow", Func::Pow, 2, 2, None),
    ("sqrt", Func::Sqrt, 1, 1, None),
    ("log", Func::Log, 1, 1, None),
    ("log10", Func::Log10, 1, 1, None),
    ("log2", Func::Log2, 1, 1, None),
    ("exp", Func::Exp, 1, 1, None),
    ("exp2", Func::Exp2, 1, 1, None),
    ("exp10", Func::Exp10, 1, 1, None),
    ("sign", Func::Sign, 1, 1, None),
    ("isnan", Func::IsNan, 1, 1, None),
    ("isinf", Func::IsInf, 1, 1, None),
    ("isfinite", Func::IsFinite, 1, 1, None),
    ("binary_and", Func::BinaryAnd, 2, 2, None),
    ("binary_or", Func::BinaryOr, 2, 2, None),
    ("binary_xor", Func::BinaryXor, 2, 2, None),
    ("binary_not", Func::BinaryNot, 1, 1, None),
    ("binary_shift_left", Func::ShiftLeft, 2, 2, None),
    ("binary_shift_right", Func::ShiftRight, 2, 2, None),
    ("startofday", Func::StartOfDay, 1, 2, None),
    ("startofweek", Func::StartOfWeek, 1, 2, None),
    ("startofmonth", Func::StartOfMonth, 1, 2, None),
    ("startofyear", Func::StartOfYear, 1, 2, None),
    ("endofday", Func::EndOfDay, 1, 2, None),
    ("endofweek", Func::EndOfWeek, 1, 2, None),
    ("endofmonth", Func::EndOfMonth, 1, 2, None),
    ("endofyear", Func::EndOfYear, 1, 2, None),
    ("dayofweek", Func::DayOfWeek, 1, 1, None),
    ("dayofmonth", Func::DayOfMonth, 1, 1, None),
    ("dayofyear", Func::DayOfYear, 1, 1, None),
    ("getmonth", Func::GetMonth, 1, 1, None),
    ("monthofyear", Func::GetMonth, 1, 1, None),
    ("getyear", Func::GetYear, 1, 1, None),
    ("hourofday", Func::HourOfDay, 1, 1, None),
    ("make_datetime", Func::MakeDatetime, 3, 7, None),
    ("make_timespan", Func::MakeTimespan, 2, 4, None),
    (
        "unixtime_seconds_todatetime",
        Func::UnixSecondsToDatetime,
        1,
        1,
        None,
    ),
    (
        "unixtime_milliseconds_todatetime",
        Func::UnixMillisToDatetime,
        1,
        1,
        None,
    ),
];

pub fn lookup(name: &str) -> Option<Spec> {
    CATALOGUE
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, func, min_args, max_args, regex_arg)| Spec {
            func,
            min_args,
            max_args,
            regex_arg,
        })
}

/// Every function name, for the error that lists them.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CATALOGUE.iter().map(|(n, ..)| *n).collect();
    names.extend([
        "columnifexists",
        "int",
        "long",
        "real",
        "bool",
        "string",
        "dynamic",
    ]);
    names.sort_unstable();
    names
}

/// `int(…)`, `long(…)` and the other typed literals.
pub fn literal_type(name: &str) -> Option<Type> {
    Some(match name {
        "int" => Type::Int,
        "long" => Type::Long,
        "real" | "double" => Type::Real,
        "bool" | "boolean" => Type::Bool,
        "string" => Type::String,
        "guid" => Type::String,
        _ => return None,
    })
}

/// The static type of a call's result.
pub fn result_type(func: Func, args: &[Type]) -> Type {
    let arg = |i: usize| args.get(i).copied().unwrap_or(Type::Dynamic);
    use Func::*;
    match func {
        Iif => match arg(1) {
            Type::Dynamic => arg(2),
            t => t,
        },
        Case => arg(1),
        Coalesce | Abs | Bin | Round => arg(0),
        MaxOf | MinOf => {
            if args.iter().all(|t| *t == Type::Int) {
                Type::Int
            } else if args.contains(&Type::Real) {
                Type::Real
            } else {
                arg(0)
            }
        }
        Not | IsEmpty | IsNotEmpty | IsNull | IsNotNull | ToBool | Ipv4IsInRange
        | Ipv4IsPrivate | IsNan | IsInf | IsFinite => Type::Bool,
        Strlen | IndexOf | CountOf | ToLong | ArrayLength | ParseIpv4 | BinaryAnd | BinaryOr
        | BinaryXor | BinaryNot | ShiftLeft | ShiftRight | DatetimeDiff | Sign => Type::Long,
        ToInt | DayOfMonth | DayOfYear | GetMonth | GetYear | HourOfDay => Type::Int,
        Substring | Strcat | StrcatDelim | ToLower | ToUpper | Trim | TrimStart | TrimEnd
        | ReplaceString | ReplaceRegex | Replace | Base64Encode | Base64Decode | HashSha256
        | ToStr | FormatDatetime | GetType | Extract => Type::String,
        ToReal | Ceiling | Pow | Sqrt | Log | Log10 | Log2 | Exp | Exp2 | Exp10 => Type::Real,
        ToDateTime
        | Now
        | Ago
        | DatetimeAdd
        | StartOfDay
        | StartOfWeek
        | StartOfMonth
        | StartOfYear
        | EndOfDay
        | EndOfWeek
        | EndOfMonth
        | EndOfYear
        | MakeDatetime
        | UnixSecondsToDatetime
        | UnixMillisToDatetime => Type::DateTime,
        ToTimeSpan | DayOfWeek | MakeTimespan => Type::TimeSpan,
        Split | ExtractAll | ParseJson | ParseCefDictionary | ParseUrl | Pack | PackArray
        | ArrayConcat => Type::Dynamic,
    }
}

/// A `dynamic(…)` literal's text: JSON, also with KQL's single-quoted strings.
pub fn json_literal(raw: &str) -> Option<serde_json::Value> {
    if let Ok(value) = serde_json::from_str(raw) {
        return Some(value);
    }
    // `dynamic(['a', 'b'])`: single quotes to double quotes, outside strings.
    let mut converted = String::with_capacity(raw.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in raw.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                    converted.push(c);
                } else if c == '\\' {
                    escaped = true;
                    converted.push(c);
                } else if c == q {
                    quote = None;
                    converted.push('"');
                } else if c == '"' {
                    converted.push_str("\\\"");
                } else {
                    converted.push(c);
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    converted.push('"');
                } else {
                    converted.push(c);
                }
            }
        }
    }
    serde_json::from_str(&converted).ok()
}

fn text(v: &Value) -> Arc<str> {
    v.to_text()
}

fn dynamic(json: serde_json::Value) -> Value {
    Value::Dynamic(Arc::new(json))
}

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Calls a function on evaluated arguments. `regex` is the compiled regular expression
/// argument, if the function has one; `now` the clock reading the caller passed in.
pub fn call(
    func: Func,
    args: &[Value],
    regex: Option<&regex::Regex>,
    now: Timestamp,
) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    use Func::*;
    Ok(match func {
        // Only the branch taken is evaluated: `eval` runs these itself.
        Iif | Case => return Err("iif and case are evaluated by eval, lazily".to_owned()),
        Coalesce => args
            .iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| arg(0)),
        Not => match arg(0).undynamic().to_bool() {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        IsEmpty => Value::Bool(arg(0).is_empty()),
        IsNotEmpty => Value::Bool(!arg(0).is_empty()),
        IsNull => Value::Bool(arg(0).is_null()),
        IsNotNull => Value::Bool(!arg(0).is_null()),
        Strlen => Value::Long(count(text(&arg(0)).chars().count())),
        Substring => substring(&text(&arg(0)), arg(1).to_long(), arg(2)),
        IndexOf => index_of(
            &text(&arg(0)),
            &text(&arg(1)),
            arg(2).to_long().unwrap_or(0),
        ),
        Split => split(&text(&arg(0)), &text(&arg(1)), arg(2)),
        Strcat => {
            let parts: smallvec::SmallVec<[Arc<str>; 4]> = args.iter().map(text).collect();
            let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
            for part in &parts {
                out.push_str(part);
            }
            Value::string(out)
        }
        StrcatDelim => {
            let delimiter = text(&arg(0));
            let parts: Vec<Arc<str>> = args.iter().skip(1).map(text).collect();
            Value::string(parts.join(&delimiter))
        }
        ToLower => Value::string(text(&arg(0)).to_lowercase()),
        ToUpper => Value::string(text(&arg(0)).to_uppercase()),
        Trim | TrimStart | TrimEnd => {
            let Some(regex) = regex else {
                return Err("trim needs a regular expression".to_owned());
            };
            let subject = text(&arg(1));
            Value::string(trim(regex, &subject, func != TrimEnd, func != TrimStart))
        }
        ReplaceString => {
            let lookup = text(&arg(1));
            let source = text(&arg(0));
            if lookup.is_empty() {
                Value::Str(source)
            } else {
                Value::string(source.replace(&*lookup, &text(&arg(2))))
            }
        }
        ReplaceRegex | Replace => {
            let Some(regex) = regex else {
                return Err("replace needs a regular expression".to_owned());
            };
            let (subject, rewrite) = if func == ReplaceRegex {
                (text(&arg(0)), text(&arg(2)))
            } else {
                (text(&arg(2)), text(&arg(1)))
            };
            Value::string(
                regex
                    .replace_all(&subject, kql_rewrite(&rewrite).as_str())
                    .into_owned(),
            )
        }
        Extract => {
            let Some(regex) = regex else {
                return Err("extract needs a regular expression".to_owned());
            };
            let group = usize::try_from(arg(1).to_long().unwrap_or(0)).unwrap_or(usize::MAX);
            let subject = text(&arg(2));
            let found = regex
                .captures(&subject)
                .and_then(|c| c.get(group))
                .map(|m| m.as_str().to_owned());
            match found {
                Some(s) => Value::string(s),
                None => Value::str(""),
            }
        }
        ExtractAll => {
            let Some(regex) = regex else {
                return Err("extract_all needs a regular expression".to_owned());
            };
            let subject = text(&arg(args.len().saturating_sub(1)));
            let groups: Option<Vec<usize>> = if args.len() == 3 {
                match arg(1).undynamic() {
                    Value::Dynamic(d) => d.as_array().map(|a| {
                        a.iter()
                            .filter_map(|g| g.as_u64().and_then(|g| usize::try_from(g).ok()))
                            .collect()
                    }),
                    _ => None,
                }
            } else {
                None
            };
            let mut all = Vec::new();
            for captures in regex.captures_iter(&subject) {
                let pick = |g: usize| {
                    serde_json::Value::String(captures.get(g).map_or("", |m| m.as_str()).to_owned())
                };
                let item = match &groups {
                    Some(gs) => serde_json::Value::Array(gs.iter().map(|g| pick(*g)).collect()),
                    None if captures.len() <= 2 => pick(captures.len().saturating_sub(1)),
                    None => serde_json::Value::Array((1..captures.len()).map(pick).collect()),
                };
                all.push(item);
            }
            if all.is_empty() {
                Value::Null
            } else {
                dynamic(serde_json::Value::Array(all))
            }
        }
        CountOf => {
            let subject = text(&arg(0));
            let search = text(&arg(1));
            let regex_kind = args.len() == 3 && text(&arg(2)).as_ref() == "regex";
            if search.is_empty() {
                Value::Long(0)
            } else if regex_kind {
                let regex = super::compile::compile_regex(&search)?;
                Value::Long(count(regex.find_iter(&subject).count()))
            } else {
                // Overlapping matches, as KQL counts "aa" in "aaa" twice.
                let mut n = 0usize;
                let mut from = 0usize;
                while let Some(at) = subject.get(from..).and_then(|s| s.find(&*search)) {
                    n += 1;
                    from += at + search.chars().next().map_or(1, char::len_utf8);
                }
                Value::Long(count(n))
            }
        }
        Base64Encode => Value::string(
            base64::engine::general_purpose::STANDARD.encode(text(&arg(0)).as_bytes()),
        ),
        Base64Decode => match base64::engine::general_purpose::STANDARD
            .decode(text(&arg(0)).as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(s) => Value::string(s),
            None => Value::str(""),
        },
        HashSha256 => {
            let digest = sha2::Sha256::digest(text(&arg(0)).as_bytes());
            let mut hex = String::with_capacity(64);
            for byte in digest {
                hex.push_str(&format!("{byte:02x}"));
            }
            Value::string(hex)
        }
        ToStr => Value::Str(text(&arg(0))),
        ToInt => arg(0)
            .to_long()
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, |i| Value::Long(i64::from(i))),
        ToLong => arg(0).to_long().map_or(Value::Null, Value::Long),
        ToReal => arg(0).to_real().map_or(Value::Null, Value::Real),
        ToBool => arg(0).to_bool().map_or(Value::Null, Value::Bool),
        ToDateTime => arg(0).to_datetime().map_or(Value::Null, Value::DateTime),
        ToTimeSpan => arg(0).to_timespan().map_or(Value::Null, Value::TimeSpan),
        ParseJson => match arg(0) {
            Value::Str(s) => match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(json) => dynamic(json),
                Err(_) => dynamic(serde_json::Value::String(s.to_string())),
            },
            Value::Dynamic(d) => match &*d {
                serde_json::Value::String(s) => {
                    serde_json::from_str(s).map_or_else(|_| Value::Dynamic(d.clone()), dynamic)
                }
                _ => Value::Dynamic(d),
            },
            Value::Null => Value::Null,
            other => dynamic(other.to_json()),
        },
        Now => match arg(0).to_timespan() {
            Some(offset) => add_duration(now, offset),
            None => Value::DateTime(now),
        },
        Ago => match arg(0).to_timespan() {
            Some(span) => add_duration(now, -span),
            None => Value::Null,
        },
        DatetimeAdd => match (arg(2).to_datetime(), arg(1).to_long()) {
            (Some(t), Some(amount)) => datetime_add(&text(&arg(0)), amount, t)?,
            _ => Value::Null,
        },
        DatetimeDiff => match (arg(1).to_datetime(), arg(2).to_datetime()) {
            (Some(a), Some(b)) => datetime_diff(&text(&arg(0)), a, b)?,
            _ => Value::Null,
        },
        Bin => bin(arg(0).undynamic(), arg(1).undynamic()),
        FormatDatetime => match arg(0).to_datetime() {
            Some(t) => Value::string(format_datetime(t, &text(&arg(1)))),
            None => Value::str(""),
        },
        ParseCefDictionary => parse_cef_dictionary(&text(&arg(0))),
        ParseUrl => parse_url(&text(&arg(0))),
        Pack => {
            let mut bag = serde_json::Map::new();
            for pair in args.chunks(2) {
                let [key, value] = pair else {
                    return Err("pack takes key and value pairs".to_owned());
                };
                bag.insert(text(key).to_string(), value.to_json());
            }
            dynamic(serde_json::Value::Object(bag))
        }
        PackArray => dynamic(serde_json::Value::Array(
            args.iter().map(Value::to_json).collect(),
        )),
        ArrayLength => match arg(0) {
            Value::Dynamic(d) => d
                .as_array()
                .map_or(Value::Null, |a| Value::Long(count(a.len()))),
            _ => Value::Null,
        },
        ArrayConcat => {
            let mut all = Vec::new();
            for v in args {
                match v {
                    Value::Dynamic(d) => match d.as_array() {
                        Some(a) => all.extend(a.iter().cloned()),
                        None => return Ok(Value::Null),
                    },
                    _ => return Ok(Value::Null),
                }
            }
            dynamic(serde_json::Value::Array(all))
        }
        GetType => Value::str(arg(0).gettype()),
        Ipv4IsInRange => match (ipv4(&text(&arg(0))), ipv4_range(&text(&arg(1)))) {
            (Some(ip), Some((network, mask))) => Value::Bool(ip & mask == network & mask),
            _ => Value::Null,
        },
        Ipv4IsPrivate => match ipv4(&text(&arg(0))) {
            Some(ip) => Value::Bool(core::net::Ipv4Addr::from(ip).is_private()),
            None => Value::Null,
        },
        ParseIpv4 => match ipv4_range(&text(&arg(0))) {
            Some((ip, mask)) => Value::Long(i64::from(ip & mask)),
            None => Value::Null,
        },
        MaxOf | MinOf => extreme(args, func == MaxOf),
        Abs => match arg(0).undynamic() {
            Value::Long(i) => i.checked_abs().map_or(Value::Null, Value::Long),
            Value::Real(r) => Value::Real(r.abs()),
            Value::TimeSpan(d) => Value::TimeSpan(d.abs()),
            _ => Value::Null,
        },
        Ceiling => real1(&arg(0), f64::ceil),
        Round => match (arg(0).to_real(), arg(1).to_long().unwrap_or(0)) {
            (Some(r), digits) => {
                let scale = 10f64.powi(i32::try_from(digits.clamp(-15, 15)).unwrap_or(0));
                let rounded = (r * scale).round() / scale;
                match arg(0).undynamic() {
                    Value::Long(_) => real_to_long_value(rounded),
                    _ => Value::Real(rounded),
                }
            }
            _ => Value::Null,
        },
        Pow => match (arg(0).to_real(), arg(1).to_real()) {
            (Some(a), Some(b)) => Value::Real(a.powf(b)),
            _ => Value::Null,
        },
        Sqrt => real1(&arg(0), f64::sqrt),
        Log => real1(&arg(0), f64::ln),
        Log10 => real1(&arg(0), f64::log10),
        Log2 => real1(&arg(0), f64::log2),
        Exp => real1(&arg(0), f64::exp),
        Exp2 => real1(&arg(0), f64::exp2),
        Exp10 => real1(&arg(0), |x| 10f64.powf(x)),
        Sign => match arg(0).to_real() {
            Some(r) if r > 0.0 => Value::Long(1),
            Some(r) if r < 0.0 => Value::Long(-1),
            Some(_) => Value::Long(0),
            None => Value::Null,
        },
        IsNan => arg(0)
            .to_real()
            .map_or(Value::Null, |r| Value::Bool(r.is_nan())),
        IsInf => arg(0)
            .to_real()
            .map_or(Value::Null, |r| Value::Bool(r.is_infinite())),
        IsFinite => arg(0)
            .to_real()
            .map_or(Value::Null, |r| Value::Bool(r.is_finite())),
        BinaryAnd | BinaryOr | BinaryXor | ShiftLeft | ShiftRight => {
            match (arg(0).to_long(), arg(1).to_long()) {
                (Some(a), Some(b)) => Value::Long(match func {
                    BinaryAnd => a & b,
                    BinaryOr => a | b,
                    BinaryXor => a ^ b,
                    ShiftLeft => a.checked_shl(u32::try_from(b).unwrap_or(64)).unwrap_or(0),
                    _ => a.checked_shr(u32::try_from(b).unwrap_or(64)).unwrap_or(0),
                }),
                _ => Value::Null,
            }
        }
        BinaryNot => arg(0).to_long().map_or(Value::Null, |a| Value::Long(!a)),
        StartOfDay | StartOfWeek | StartOfMonth | StartOfYear | EndOfDay | EndOfWeek
        | EndOfMonth | EndOfYear => match arg(0).to_datetime() {
            Some(t) => calendar_edge(func, t, arg(1).to_long().unwrap_or(0))?,
            None => Value::Null,
        },
        DayOfWeek => match arg(0).to_datetime() {
            Some(t) => Value::TimeSpan(SignedDuration::from_hours(
                i64::from(utc(t).weekday().to_sunday_zero_offset()) * 24,
            )),
            None => Value::Null,
        },
        DayOfMonth | DayOfYear | GetMonth | GetYear | HourOfDay => match arg(0).to_datetime() {
            Some(t) => {
                let z = utc(t);
                Value::Long(match func {
                    DayOfMonth => i64::from(z.day()),
                    DayOfYear => i64::from(z.day_of_year()),
                    GetMonth => i64::from(z.month()),
                    GetYear => i64::from(z.year()),
                    _ => i64::from(z.hour()),
                })
            }
            None => Value::Null,
        },
        MakeDatetime => {
            let part = |i: usize, default: i64| match args.get(i) {
                Some(v) => v.to_long(),
                None => Some(default),
            };
            let fields = (
                part(0, 0),
                part(1, 1),
                part(2, 1),
                part(3, 0),
                part(4, 0),
                args.get(5).map_or(Some(0.0), Value::to_real),
            );
            match fields {
                (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
                    make_datetime(y, mo, d, h, mi, s).map_or(Value::Null, Value::DateTime)
                }
                _ => Value::Null,
            }
        }
        MakeTimespan => {
            let parts: Option<Vec<f64>> = args.iter().map(Value::to_real).collect();
            match parts.as_deref() {
                Some([h, m]) => seconds_span(h * 3600.0 + m * 60.0),
                Some([h, m, s]) => seconds_span(h * 3600.0 + m * 60.0 + s),
                Some([d, h, m, s]) => seconds_span(d * 86_400.0 + h * 3600.0 + m * 60.0 + s),
                _ => Value::Null,
            }
        }
        UnixSecondsToDatetime => match arg(0).to_real() {
            Some(s) => seconds_span(s)
                .as_timespan()
                .map_or(Value::Null, |d| add_duration(Timestamp::UNIX_EPOCH, d)),
            None => Value::Null,
        },
        UnixMillisToDatetime => match arg(0).to_real() {
            Some(ms) => seconds_span(ms / 1000.0)
                .as_timespan()
                .map_or(Value::Null, |d| add_duration(Timestamp::UNIX_EPOCH, d)),
            None => Value::Null,
        },
    })
}

impl Value {
    fn as_timespan(&self) -> Option<SignedDuration> {
        match self {
            Value::TimeSpan(d) => Some(*d),
            _ => None,
        }
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn real1(v: &Value, f: impl Fn(f64) -> f64) -> Value {
    v.to_real().map_or(Value::Null, |r| Value::Real(f(r)))
}

fn real_to_long_value(r: f64) -> Value {
    Value::Real(r).to_long().map_or(Value::Null, Value::Long)
}

fn seconds_span(seconds: f64) -> Value {
    if seconds.is_finite() && seconds.abs() < 9.0e12 {
        Value::TimeSpan(SignedDuration::from_secs_f64(seconds))
    } else {
        Value::Null
    }
}

fn utc(t: Timestamp) -> jiff::Zoned {
    t.to_zoned(jiff::tz::TimeZone::UTC)
}

pub fn add_duration(t: Timestamp, d: SignedDuration) -> Value {
    t.checked_add(d).map_or(Value::Null, Value::DateTime)
}

/// `substring(s, start, length)`, by characters; a negative start counts as 0 and shortens
/// the length by as much (KQL's rule).
fn substring(s: &str, start: Option<i64>, length: Value) -> Value {
    let Some(mut start) = start else {
        return Value::str("");
    };
    let chars = chars_of(s);
    let total = count(chars.len());
    let mut length = match length {
        Value::Null => total,
        v => match v.to_long() {
            Some(l) => l,
            None => return Value::str(""),
        },
    };
    if start < 0 {
        length = length.saturating_add(start);
        start = 0;
    }
    if start >= total || length <= 0 {
        return Value::str("");
    }
    let end = start.saturating_add(length).min(total);
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return Value::str("");
    };
    Value::string(chars.get(start..end).unwrap_or_default().iter().collect())
}

fn index_of(s: &str, lookup: &str, start: i64) -> Value {
    let chars = chars_of(s);
    let start = if start < 0 {
        count(chars.len()).saturating_add(start).max(0)
    } else {
        start
    };
    let Ok(start) = usize::try_from(start) else {
        return Value::Long(-1);
    };
    if start > chars.len() {
        return Value::Null;
    }
    let needle = chars_of(lookup);
    if needle.is_empty() {
        return Value::Long(count(start));
    }
    let found = chars
        .get(start..)
        .unwrap_or_default()
        .windows(needle.len())
        .position(|w| w == needle.as_slice());
    Value::Long(found.map_or(-1, |at| count(at + start)))
}

fn split(s: &str, delimiter: &str, index: Value) -> Value {
    let parts: Vec<serde_json::Value> = if delimiter.is_empty() {
        vec![serde_json::Value::String(s.to_owned())]
    } else {
        s.split(delimiter)
            .map(|p| serde_json::Value::String(p.to_owned()))
            .collect()
    };
    match index {
        Value::Null => dynamic(serde_json::Value::Array(parts)),
        v => {
            let picked = v
                .to_long()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| parts.get(i).cloned());
            dynamic(serde_json::Value::Array(picked.into_iter().collect()))
        }
    }
}

fn trim(regex: &regex::Regex, subject: &str, start: bool, end: bool) -> String {
    let mut s = subject;
    if start {
        while let Some(m) = regex.find(s) {
            if m.start() != 0 || m.end() == 0 {
                break;
            }
            s = s.get(m.end()..).unwrap_or_default();
        }
    }
    if end {
        loop {
            let last = regex.find_iter(s).filter(|m| m.end() == s.len()).last();
            match last {
                Some(m) if m.start() < m.end() => s = s.get(..m.start()).unwrap_or_default(),
                _ => break,
            }
        }
    }
    s.to_owned()
}

/// KQL's rewrite text uses `\1` for groups; the regex crate uses `${1}`.
fn kql_rewrite(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out
}

fn datetime_add(part: &str, amount: i64, t: Timestamp) -> Result<Value, String> {
    let z = utc(t);
    let span = match part.to_ascii_lowercase().as_str() {
        "year" => amount.years(),
        "quarter" => amount.saturating_mul(3).months(),
        "month" => amount.months(),
        "week" => amount.weeks(),
        "day" => amount.days(),
        "hour" => amount.hours(),
        "minute" => amount.minutes(),
        "second" => amount.seconds(),
        "millisecond" => amount.milliseconds(),
        "microsecond" => amount.microseconds(),
        "nanosecond" => amount.nanoseconds(),
        other => return Err(format!("datetime_add: unknown part `{other}`")),
    };
    Ok(z.checked_add(span)
        .map_or(Value::Null, |z| Value::DateTime(z.timestamp())))
}

fn datetime_diff(part: &str, a: Timestamp, b: Timestamp) -> Result<Value, String> {
    let (za, zb) = (utc(a), utc(b));
    let months = |z: &jiff::Zoned| i64::from(z.year()) * 12 + i64::from(z.month());
    let floor_div =
        |d: SignedDuration, unit: i128| i64::try_from(d.as_nanos().div_euclid(unit)).unwrap_or(0);
    // KQL counts boundaries crossed, not whole periods elapsed.
    let truncated = |t: Timestamp, unit: Unit| {
        t.round(
            jiff::TimestampRound::new()
                .smallest(unit)
                .mode(jiff::RoundMode::Floor),
        )
        .unwrap_or(t)
    };
    let between = |unit: Unit, nanos: i128| {
        floor_div(truncated(a, unit).duration_since(truncated(b, unit)), nanos)
    };
    Ok(Value::Long(match part.to_ascii_lowercase().as_str() {
        "year" => i64::from(za.year()) - i64::from(zb.year()),
        "quarter" => {
            (i64::from(za.year()) * 4 + (i64::from(za.month()) - 1) / 3)
                - (i64::from(zb.year()) * 4 + (i64::from(zb.month()) - 1) / 3)
        }
        "month" => months(&za) - months(&zb),
        "week" => {
            let week_start = |z: &jiff::Zoned| {
                i64::from(
                    z.date()
                        .since(jiff::civil::date(1970, 1, 4))
                        .map_or(0, |s| s.get_days()),
                )
                .div_euclid(7)
            };
            week_start(&za) - week_start(&zb)
        }
        "day" => {
            let days = |z: &jiff::Zoned| {
                i64::from(
                    z.date()
                        .since(jiff::civil::date(1970, 1, 1))
                        .map_or(0, |s| s.get_days()),
                )
            };
            days(&za) - days(&zb)
        }
        "hour" => between(Unit::Hour, 3_600_000_000_000),
        "minute" => between(Unit::Minute, 60_000_000_000),
        "second" => between(Unit::Second, 1_000_000_000),
        "millisecond" => between(Unit::Millisecond, 1_000_000),
        "microsecond" => between(Unit::Microsecond, 1_000),
        "nanosecond" => floor_div(a.duration_since(b), 1),
        other => return Err(format!("datetime_diff: unknown part `{other}`")),
    }))
}

fn bin(value: Value, size: Value) -> Value {
    match (value, size) {
        (Value::Long(v), Value::Long(s)) if s > 0 => Value::Long(v.div_euclid(s) * s),
        (Value::Long(v), Value::Real(s)) if s > 0.0 => Value::Real((v as f64 / s).floor() * s),
        (Value::Real(v), s) => match s.to_real() {
            Some(s) if s > 0.0 => Value::Real((v / s).floor() * s),
            _ => Value::Null,
        },
        (Value::DateTime(t), Value::TimeSpan(s)) if s.is_positive() => {
            let size = i128::from(ticks(s));
            let since = t.duration_since(Timestamp::UNIX_EPOCH).as_nanos() / 100;
            let floored = since.div_euclid(size) * size;
            match i64::try_from(floored) {
                Ok(t) => add_duration(Timestamp::UNIX_EPOCH, from_ticks(t)),
                Err(_) => Value::Null,
            }
        }
        (Value::TimeSpan(d), Value::TimeSpan(s)) if s.is_positive() => {
            let size = ticks(s);
            Value::TimeSpan(from_ticks(ticks(d).div_euclid(size) * size))
        }
        _ => Value::Null,
    }
}

fn extreme(args: &[Value], max: bool) -> Value {
    let mut best: Option<Value> = None;
    for v in args.iter().map(|v| v.clone().undynamic()) {
        if v.is_null() {
            continue;
        }
        best = Some(match best {
            None => v,
            Some(b) => match super::eval::compare(&v, &b) {
                Some(std::cmp::Ordering::Greater) if max => v,
                Some(std::cmp::Ordering::Less) if !max => v,
                _ => b,
            },
        });
    }
    best.unwrap_or(Value::Null)
}

fn calendar_edge(func: Func, t: Timestamp, offset: i64) -> Result<Value, String> {
    use Func::*;
    let z = utc(t);
    let date = z.date();
    let start = match func {
        StartOfDay | EndOfDay => date.checked_add(offset.days()),
        StartOfWeek | EndOfWeek => date
            .checked_sub(i64::from(date.weekday().to_sunday_zero_offset()).days())
            .and_then(|d| d.checked_add(offset.weeks())),
        StartOfMonth | EndOfMonth => date.first_of_month().checked_add(offset.months()),
        _ => date.first_of_year().checked_add(offset.years()),
    }
    .map_err(|e| e.to_string())?;
    let next = match func {
        StartOfDay | StartOfWeek | StartOfMonth | StartOfYear => None,
        EndOfDay => Some(start.checked_add(1.day())),
        EndOfWeek => Some(start.checked_add(1.week())),
        EndOfMonth => Some(start.checked_add(1.month())),
        _ => Some(start.checked_add(1.year())),
    };
    let at = |d: jiff::civil::Date| {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string())
    };
    Ok(match next {
        None => Value::DateTime(at(start)?),
        // The end is the last tick before the next period.
        Some(next) => add_duration(
            at(next.map_err(|e| e.to_string())?)?,
            SignedDuration::from_nanos(-100),
        ),
    })
}

fn make_datetime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: f64) -> Option<Timestamp> {
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    if !(0.0..60.0).contains(&s) {
        return None;
    }
    let time = jiff::civil::Time::new(i8::try_from(h).ok()?, i8::try_from(mi).ok()?, 0, 0).ok()?;
    let base = date
        .to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    base.checked_add(SignedDuration::from_secs_f64(s)).ok()
}

/// `format_datetime` with KQL's specifiers (`yyyy-MM-dd HH:mm:ss.fff`, `tt`, …).
fn format_datetime(t: Timestamp, format: &str) -> String {
    let z = utc(t);
    let chars = chars_of(format);
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|x| **x == c)
            .count();
        let field = match c {
            'y' => Some(match run {
                1 => format!("{}", z.year() % 100),
                2 => format!("{:02}", z.year() % 100),
                n => format!("{:0n$}", z.year()),
            }),
            'M' => Some(pad(i64::from(z.month()), run)),
            'd' => Some(pad(i64::from(z.day()), run)),
            'H' => Some(pad(i64::from(z.hour()), run)),
            'h' => {
                let h12 = match z.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                Some(pad(i64::from(h12), run))
            }
            'm' => Some(pad(i64::from(z.minute()), run)),
            's' => Some(pad(i64::from(z.second()), run)),
            'f' | 'F' => {
                let digits = format!("{:09}", z.subsec_nanosecond());
                let mut taken: String = digits.chars().take(run.min(9)).collect();
                if c == 'F' {
                    while taken.ends_with('0') {
                        taken.pop();
                    }
                }
                Some(taken)
            }
            't' => Some(
                (if z.hour() < 12 { "AM" } else { "PM" })
                    .chars()
                    .take(run)
                    .collect(),
            ),
            _ => None,
        };
        match field {
            Some(f) => {
                out.push_str(&f);
                i += run;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn pad(v: i64, width: usize) -> String {
    if width >= 2 {
        format!("{v:02}")
    } else {
        v.to_string()
    }
}

/// `parse_cef_dictionary`: the extension's `key=value` pairs of a CEF message as a property
/// bag (Tern's CEF reader: escapes, values with spaces). Text without a CEF header is read as
/// the extension alone.
fn parse_cef_dictionary(text: &str) -> Value {
    let owned;
    let record = match text.find("CEF:") {
        Some(at) => text.get(at..).unwrap_or_default(),
        None => {
            owned = format!("CEF:0|||||||{text}");
            &owned
        }
    };
    let mut bag = serde_json::Map::new();
    if let Ok(cef) = tern_parsers::cef::parse_cef(record.as_bytes()) {
        for (key, value) in cef.extensions.iter() {
            bag.insert(
                key.to_owned(),
                serde_json::Value::String(value.into_owned()),
            );
        }
    }
    dynamic(serde_json::Value::Object(bag))
}

/// `parse_url`: KQL's bag (`Scheme`, `Host`, `Port`, `Path`, `Username`, `Password`,
/// `Query Parameters`, `Fragment`); an unreadable URL gives an empty bag.
fn parse_url(text: &str) -> Value {
    let Ok(url) = url::Url::parse(text) else {
        return dynamic(serde_json::Value::Object(serde_json::Map::new()));
    };
    let mut query = serde_json::Map::new();
    for (k, v) in url.query_pairs() {
        query.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
    }
    dynamic(serde_json::json!({
        "Scheme": url.scheme(),
        "Host": url.host_str().unwrap_or(""),
        "Port": url.port().map(|p| p.to_string()).unwrap_or_default(),
        "Path": url.path(),
        "Username": url.username(),
        "Password": url.password().unwrap_or(""),
        "Query Parameters": query,
        "Fragment": url.fragment().unwrap_or(""),
    }))
}

fn ipv4(text: &str) -> Option<u32> {
    text.trim()
        .parse::<core::net::Ipv4Addr>()
        .ok()
        .map(u32::from)
}

/// `10.0.0.0/8` (or a bare address, /32) as (address, mask).
fn ipv4_range(text: &str) -> Option<(u32, u32)> {
    let (ip, prefix) = match text.trim().split_once('/') {
        Some((ip, prefix)) => (ip, prefix.trim().parse::<u32>().ok()?),
        None => (text, 32),
    };
    if prefix > 32 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    Some((ipv4(ip)?, mask))
}
