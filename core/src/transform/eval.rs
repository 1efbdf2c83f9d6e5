//! Running a [`Program`] on one row: KQL's operators with its null rules (a comparison with
//! null is null; `where` keeps a row only when its predicate is true; `and`/`or` are
//! three-valued), its string operators (`has` on whole terms, case-insensitive unless `_cs`)
//! and its number rules (long arithmetic stays long; a real operand makes a real).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use jiff::Timestamp;

use super::compile::{Node, Program, Step};
use super::functions::{self, Func};
use super::row::Cell;
use super::syntax::{BinOp, ParseKind, SetTest, TextOp};
use super::value::{Type, Value};

/// What a transformation did with a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'r> {
    /// The row as the output schema lays it out.
    Kept(Vec<Cell<'r>>),
    /// A `where` was not true.
    Dropped,
    /// The evaluation failed (the service drops such a row and logs a transformation error).
    Failed(String),
}

pub fn run<'r>(program: &Program, row: Vec<Cell<'r>>, now: Timestamp) -> Outcome<'r> {
    run_steps(&program.steps, row, now)
}

/// [`run`] for steps laid out over `row`.
pub fn run_steps<'r>(steps: &[Step], mut row: Vec<Cell<'r>>, now: Timestamp) -> Outcome<'r> {
    for step in steps {
        match step {
            Step::Where(predicate) => match eval(predicate, &row, now) {
                Ok(v) => {
                    if !matches!(v.undynamic(), Value::Bool(true)) {
                        return Outcome::Dropped;
                    }
                }
                Err(e) => return Outcome::Failed(e),
            },
            Step::Extend(assignments) => {
                for (slot, node) in assignments {
                    let value = match eval(node, &row, now) {
                        Ok(v) => v,
                        Err(e) => return Outcome::Failed(e),
                    };
                    match slot.and_then(|at| row.get_mut(at)) {
                        Some(cell) => *cell = Cell::Value(value),
                        None => row.push(Cell::Value(value)),
                    }
                }
            }
            Step::Project(nodes) => {
                let mut next = Vec::with_capacity(nodes.len());
                for node in nodes {
                    // A column projected as it is keeps its bytes.
                    if let Node::Column(at, _) = node {
                        next.push(row.get(*at).cloned().unwrap_or(Cell::Value(Value::Null)));
                        continue;
                    }
                    match eval(node, &row, now) {
                        Ok(v) => next.push(Cell::Value(v)),
                        Err(e) => return Outcome::Failed(e),
                    }
                }
                row = next;
            }
            Step::Pick(keep) => {
                let in_order = keep.windows(2).all(|w| w.first() < w.get(1))
                    && keep.last().is_none_or(|last| *last < row.len());
                if in_order {
                    // `project-away`, `project-rename`: the kept columns in their order, in
                    // place (no new row per row).
                    let mut wanted = keep.iter().peekable();
                    let mut at = 0;
                    row.retain(|_| {
                        let kept = wanted.next_if_eq(&&at).is_some();
                        at += 1;
                        kept
                    });
                } else {
                    row = keep
                        .iter()
                        .map(|at| row.get(*at).cloned().unwrap_or(Cell::Value(Value::Null)))
                        .collect();
                }
            }
            Step::Parse {
                source,
                regex,
                kind,
                columns,
            } => {
                let subject = match eval(source, &row, now) {
                    Ok(v) => v.to_text(),
                    Err(e) => return Outcome::Failed(e),
                };
                let captures = regex.captures(&subject);
                let mut values: Vec<Value> = Vec::with_capacity(columns.len());
                let mut all_converted = true;
                for (index, (_, ty)) in columns.iter().enumerate() {
                    let text = captures
                        .as_ref()
                        .and_then(|c| c.get(index + 1))
                        .map(|m| m.as_str());
                    let value = match text {
                        None => ty.empty(),
                        Some(t) => convert(t, *ty).unwrap_or_else(|| {
                            all_converted = false;
                            ty.empty()
                        }),
                    };
                    values.push(value);
                }
                // Simple parse: one column that does not convert voids them all.
                if *kind == ParseKind::Simple && !all_converted {
                    values = columns.iter().map(|(_, ty)| ty.empty()).collect();
                }
                for ((slot, _), value) in columns.iter().zip(values) {
                    match slot.and_then(|at| row.get_mut(at)) {
                        Some(cell) => *cell = Cell::Value(value),
                        None => row.push(Cell::Value(value)),
                    }
                }
            }
        }
    }
    Outcome::Kept(row)
}

/// Text captured by `parse` as the column's type.
fn convert(text: &str, ty: Type) -> Option<Value> {
    let v = Value::str(text);
    Some(match ty {
        Type::String => v,
        Type::Int => Value::Long(i64::from(
            i32::try_from(text.trim().parse::<i64>().ok()?).ok()?,
        )),
        Type::Long => Value::Long(text.trim().parse().ok()?),
        Type::Real => Value::Real(v.to_real()?),
        Type::Bool => Value::Bool(v.to_bool()?),
        Type::DateTime => Value::DateTime(v.to_datetime()?),
        Type::TimeSpan => Value::TimeSpan(v.to_timespan()?),
        Type::Dynamic => {
            functions::call(Func::ParseJson, &[v], None, Timestamp::UNIX_EPOCH).ok()?
        }
    })
}

pub fn eval(node: &Node, row: &[Cell<'_>], now: Timestamp) -> Result<Value, String> {
    Ok(match node {
        // A constant string is copied, not shared: its count would be bumped per row by every
        // shaper thread at once (a contended atomic cost more than the copy).
        Node::Const(Value::Str(text)) => Value::str(text),
        Node::Const(v) => v.clone(),
        Node::Column(at, ty) => row.get(*at).map_or(Value::Null, |c| c.value(*ty)),
        Node::Regex(_) => Value::Null,
        Node::Call(func, args) => return call(*func, args, row, now),
        Node::Binary(op, left, right) => return binary(*op, left, right, row, now),
        Node::Negate(inner) => match eval(inner, row, now)?.undynamic() {
            Value::Long(i) => i.checked_neg().map_or(Value::Null, Value::Long),
            Value::Real(r) => Value::Real(-r),
            Value::TimeSpan(d) => Value::TimeSpan(-d),
            _ => Value::Null,
        },
        Node::In {
            test,
            negated,
            value,
            list,
        } => {
            let value = eval(value, row, now)?.undynamic();
            let mut items = Vec::with_capacity(list.len());
            for item in list {
                // A dynamic array in the list contributes its elements.
                match eval(item, row, now)? {
                    Value::Dynamic(d) if d.is_array() => {
                        if let Some(a) = d.as_array() {
                            items.extend(
                                a.iter()
                                    .map(|j| Value::Dynamic(Arc::new(j.clone())).undynamic()),
                            );
                        }
                    }
                    other => items.push(other.undynamic()),
                }
            }
            let found = match test {
                SetTest::In => items.iter().any(|i| equal(&value, i, false) == Some(true)),
                SetTest::InCi => items.iter().any(|i| equal(&value, i, true) == Some(true)),
                SetTest::HasAny => {
                    let hay = value.to_text();
                    items.iter().any(|i| has(&hay, &i.to_text(), false))
                }
                SetTest::HasAll => {
                    let hay = value.to_text();
                    items.iter().all(|i| has(&hay, &i.to_text(), false))
                }
            };
            Value::Bool(found != *negated)
        }
        Node::Between {
            negated,
            value,
            low,
            high,
        } => {
            let v = eval(value, row, now)?.undynamic();
            let lo = eval(low, row, now)?.undynamic();
            let hi = eval(high, row, now)?.undynamic();
            match (compare(&v, &lo), compare(&v, &hi)) {
                (Some(a), Some(b)) => {
                    Value::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated)
                }
                _ => Value::Null,
            }
        }
        Node::Member(target, name) => match eval(target, row, now)? {
            Value::Dynamic(d) => member(&d, name),
            Value::Str(s) => match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(d) => member(&d, name),
                Err(_) => Value::Null,
            },
            _ => Value::Null,
        },
        Node::Index(target, index) => {
            let target = eval(target, row, now)?;
            let index = eval(index, row, now)?.undynamic();
            let Value::Dynamic(d) = target else {
                return Ok(Value::Null);
            };
            match index {
                Value::Str(key) => member(&d, &key),
                Value::Long(i) => match d.as_array() {
                    Some(a) => {
                        let at = if i < 0 {
                            i64::try_from(a.len()).ok().and_then(|n| n.checked_add(i))
                        } else {
                            Some(i)
                        };
                        at.and_then(|at| usize::try_from(at).ok())
                            .and_then(|at| a.get(at))
                            .map_or(Value::Null, |j| Value::Dynamic(Arc::new(j.clone())))
                    }
                    None => Value::Null,
                },
                _ => Value::Null,
            }
        }
    })
}

fn member(d: &serde_json::Value, name: &str) -> Value {
    d.get(name)
        .map_or(Value::Null, |j| Value::Dynamic(Arc::new(j.clone())))
}

fn call(func: Func, args: &[Node], row: &[Cell<'_>], now: Timestamp) -> Result<Value, String> {
    // Only the branch taken is evaluated.
    match func {
        Func::Iif => {
            let [condition, then, otherwise] = args else {
                return Ok(Value::Null);
            };
            let chosen = match eval(condition, row, now)?.undynamic() {
                Value::Bool(true) => then,
                _ => otherwise,
            };
            return eval(chosen, row, now);
        }
        Func::Case => {
            let mut pairs = args.chunks_exact(2);
            for pair in pairs.by_ref() {
                if let [condition, value] = pair {
                    if matches!(eval(condition, row, now)?.undynamic(), Value::Bool(true)) {
                        return eval(value, row, now);
                    }
                }
            }
            return match pairs.remainder().first() {
                Some(otherwise) => eval(otherwise, row, now),
                None => Ok(Value::Null),
            };
        }
        _ => {}
    }
    let mut regex = None;
    let mut values: smallvec::SmallVec<[Value; 4]> = smallvec::SmallVec::new();
    for arg in args {
        if let Node::Regex(r) = arg {
            regex = Some(r.as_ref());
            values.push(Value::Null);
        } else {
            values.push(eval(arg, row, now)?);
        }
    }
    functions::call(func, &values, regex, now)
}

fn binary(
    op: BinOp,
    left: &Node,
    right: &Node,
    row: &[Cell<'_>],
    now: Timestamp,
) -> Result<Value, String> {
    // `and`/`or` short-circuit, with null as "unknown".
    if matches!(op, BinOp::And | BinOp::Or) {
        let l = truth(&eval(left, row, now)?);
        let decided = if op == BinOp::And {
            Some(false)
        } else {
            Some(true)
        };
        if l == decided {
            return Ok(Value::Bool(l == Some(true)));
        }
        let r = truth(&eval(right, row, now)?);
        return Ok(match (l, r) {
            (_, r) if r == decided => Value::Bool(r == Some(true)),
            (Some(_), Some(r)) => Value::Bool(r),
            _ => Value::Null,
        });
    }
    if op == BinOp::MatchesRegex {
        let subject = eval(left, row, now)?.to_text();
        let Node::Regex(regex) = right else {
            return Err("matches regex needs a constant pattern".to_owned());
        };
        return Ok(Value::Bool(regex.is_match(&subject)));
    }
    // A string operator on a string column and a constant reads the column's text in place
    // (no copy of the message per row unless it holds escapes) and the needle as compiled.
    if let BinOp::Text {
        op: text_op,
        negated,
        case_sensitive,
    } = op
    {
        if let Node::Const(Value::Str(needle)) = right {
            if case_sensitive || needle.is_ascii() {
                if let Some(hay) = column_text(left, row) {
                    let found = bytes_test(text_op, &hay, needle.as_bytes(), !case_sensitive);
                    return Ok(Value::Bool(found != negated));
                }
            }
        }
    }
    let l = eval(left, row, now)?.undynamic();
    let r = eval(right, row, now)?.undynamic();
    Ok(match op {
        BinOp::Eq => equal(&l, &r, false).map_or(Value::Null, Value::Bool),
        BinOp::Ne => equal(&l, &r, false).map_or(Value::Null, |b| Value::Bool(!b)),
        BinOp::EqCi => Value::Bool(eq_ignore_case(&l.to_text(), &r.to_text())),
        BinOp::NeCi => Value::Bool(!eq_ignore_case(&l.to_text(), &r.to_text())),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => match compare(&l, &r) {
            Some(order) => Value::Bool(match op {
                BinOp::Lt => order == Ordering::Less,
                BinOp::Le => order != Ordering::Greater,
                BinOp::Gt => order == Ordering::Greater,
                _ => order != Ordering::Less,
            }),
            None => Value::Null,
        },
        BinOp::Text {
            op,
            negated,
            case_sensitive,
        } => {
            let hay = l.to_text();
            let needle = r.to_text();
            let found = text_test(op, &hay, &needle, case_sensitive);
            Value::Bool(found != negated)
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arithmetic(op, l, r),
        BinOp::And | BinOp::Or | BinOp::MatchesRegex => Value::Null,
    })
}

/// The text of a string column: borrowed when it was written without escapes (or computed),
/// decoded otherwise; `None` when it is not a string (the general path decides).
fn column_text<'r>(node: &Node, row: &'r [Cell<'_>]) -> Option<Cow<'r, [u8]>> {
    let Node::Column(at, Type::String) = node else {
        return None;
    };
    match row.get(*at)? {
        Cell::Text(text) | Cell::Escaped { text, .. } => Some(Cow::Borrowed(text)),
        Cell::Value(Value::Str(text)) => Some(Cow::Borrowed(text.as_bytes())),
        Cell::Raw(raw) => {
            let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
            let text = std::str::from_utf8(inner).ok()?;
            Some(Cow::Owned(super::row::unescape(text)?.into_bytes()))
        }
        Cell::Value(_) => None,
    }
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Dynamic(_) => match v.clone().undynamic() {
            Value::Bool(b) => Some(b),
            _ => None,
        },
        _ => None,
    }
}

fn arithmetic(op: BinOp, l: Value, r: Value) -> Value {
    use Value::*;
    match (l, r) {
        (Long(a), Long(b)) => match op {
            BinOp::Add => a.checked_add(b),
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            // Integer division truncates; by zero it is null.
            BinOp::Div => a.checked_div(b),
            _ => a.checked_rem(b),
        }
        .map_or(Null, Long),
        (a @ (Long(_) | Real(_)), b @ (Long(_) | Real(_))) => {
            let (Some(a), Some(b)) = (a.to_real(), b.to_real()) else {
                return Null;
            };
            Real(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                _ => a % b,
            })
        }
        (DateTime(t), TimeSpan(d)) => match op {
            BinOp::Add => functions::add_duration(t, d),
            BinOp::Sub => functions::add_duration(t, -d),
            _ => Null,
        },
        (TimeSpan(d), DateTime(t)) if op == BinOp::Add => functions::add_duration(t, d),
        (DateTime(a), DateTime(b)) if op == BinOp::Sub => TimeSpan(a.duration_since(b)),
        (TimeSpan(a), TimeSpan(b)) => match op {
            BinOp::Add => a.checked_add(b).map_or(Null, TimeSpan),
            BinOp::Sub => a.checked_sub(b).map_or(Null, TimeSpan),
            BinOp::Div if !b.is_zero() => Real(a.as_secs_f64() / b.as_secs_f64()),
            _ => Null,
        },
        (TimeSpan(d), n @ (Long(_) | Real(_))) | (n @ (Long(_) | Real(_)), TimeSpan(d))
            if op == BinOp::Mul =>
        {
            n.to_real()
                .map(|f| d.as_secs_f64() * f)
                .filter(|s| s.is_finite() && s.abs() < 9.0e12)
                .map_or(Null, |s| TimeSpan(jiff::SignedDuration::from_secs_f64(s)))
        }
        (TimeSpan(d), n @ (Long(_) | Real(_))) if op == BinOp::Div => n
            .to_real()
            .filter(|f| *f != 0.0)
            .map(|f| d.as_secs_f64() / f)
            .filter(|s| s.is_finite() && s.abs() < 9.0e12)
            .map_or(Null, |s| TimeSpan(jiff::SignedDuration::from_secs_f64(s))),
        _ => Null,
    }
}

/// `==`: null with anything is null; numbers compare by value; strings exactly (or ignoring
/// case for `in~`); values of different kinds are not equal.
fn equal(l: &Value, r: &Value, ignore_case: bool) -> Option<bool> {
    if l.is_null() || r.is_null() {
        return None;
    }
    Some(match (l, r) {
        (Value::Str(a), Value::Str(b)) => {
            if ignore_case {
                eq_ignore_case(a, b)
            } else {
                a == b
            }
        }
        (Value::Str(a), other) | (other, Value::Str(a)) if ignore_case => {
            eq_ignore_case(a, &other.to_text())
        }
        (Value::Dynamic(a), Value::Dynamic(b)) => a == b,
        _ => compare(l, r) == Some(Ordering::Equal),
    })
}

/// Ordering for `<`, `between`, `max_of`: numbers with numbers, strings, datetimes,
/// timespans, booleans. `None` for nulls and mixed kinds.
pub fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Long(a), Value::Long(b)) => Some(a.cmp(b)),
        (Value::Long(_) | Value::Real(_), Value::Long(_) | Value::Real(_)) => {
            l.to_real()?.partial_cmp(&r.to_real()?)
        }
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
        (Value::TimeSpan(a), Value::TimeSpan(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

fn text_test(op: TextOp, hay: &str, needle: &str, case_sensitive: bool) -> bool {
    // An ASCII needle matches only ASCII bytes of UTF-8 text, so folding ASCII case is
    // enough whatever the rest of the text holds (no copy of a non-ASCII message per row).
    if case_sensitive || needle.is_ascii() {
        return bytes_test(op, hay.as_bytes(), needle.as_bytes(), !case_sensitive);
    }
    let (hay, needle) = (hay.to_lowercase(), needle.to_lowercase());
    bytes_test(op, hay.as_bytes(), needle.as_bytes(), true)
}

/// A string operator on UTF-8 bytes, folding ASCII case when `fold` (the caller lowers text
/// that needs more). On bytes so that a column read in place needs no UTF-8 check: a valid
/// needle matches only where a whole character sequence does.
fn bytes_test(op: TextOp, hay: &[u8], needle: &[u8], fold: bool) -> bool {
    match op {
        TextOp::Contains => find(hay, needle, fold).is_some(),
        TextOp::StartsWith => hay
            .get(..needle.len())
            .is_some_and(|h| same(h, needle, fold)),
        TextOp::EndsWith => hay
            .len()
            .checked_sub(needle.len())
            .and_then(|at| hay.get(at..))
            .is_some_and(|h| same(h, needle, fold)),
        TextOp::Has => has_folded(hay, needle, !fold),
        TextOp::HasPrefix | TextOp::HasSuffix => {
            terms(hay).any(|term| {
                let part = if op == TextOp::HasPrefix {
                    term.get(..needle.len())
                } else {
                    term.len()
                        .checked_sub(needle.len())
                        .and_then(|at| term.get(at..))
                };
                part.is_some_and(|p| same(p, needle, fold))
            }) || needle.is_empty()
        }
    }
}

fn same(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn find(hay: &[u8], needle: &[u8], fold: bool) -> Option<usize> {
    if !fold {
        return memchr::memmem::find(hay, needle);
    }
    find_ascii_ci(hay, needle, 0)
}

/// The first place at or after `from` where `needle` occurs ignoring ASCII case: candidates
/// found by the first byte in either case (memchr), then compared.
fn find_ascii_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let Some(&first) = needle.first() else {
        return Some(from.min(hay.len()));
    };
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let offset = memchr::memchr2(lower, upper, hay.get(at..)?)?;
        at += offset;
        if hay
            .get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// Maximal runs of ASCII letters and digits: KQL's terms. (Each byte of a non-ASCII
/// character separates terms, as the character would.)
fn terms(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| !b.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// `has`: the needle occurs where it starts and ends on term boundaries (a needle that
/// itself begins or ends with a non-alphanumeric needs no boundary there), so `has "err"`
/// does not match `error` but `has "10.1.1"` matches `10.1.1.5`'s start.
pub fn has(hay: &str, needle: &str, case_sensitive: bool) -> bool {
    text_test(TextOp::Has, hay, needle, case_sensitive)
}

/// [`has`] on text already lowered where case folding needed more than ASCII.
fn has_folded(h: &[u8], n: &[u8], case_sensitive: bool) -> bool {
    if n.is_empty() {
        return true;
    }
    let alnum = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let starts_term = alnum(n.first());
    let ends_term = alnum(n.last());
    let mut from = 0;
    loop {
        let found = if case_sensitive {
            h.get(from..)
                .and_then(|rest| memchr::memmem::find(rest, n))
                .map(|at| at + from)
        } else {
            find_ascii_ci(h, n, from)
        };
        let Some(at) = found else {
            return false;
        };
        let before_ok = !starts_term || at == 0 || !alnum(h.get(at - 1));
        let after_ok = !ends_term || !alnum(h.get(at + n.len()));
        if before_ok && after_ok {
            return true;
        }
        from = at + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_whole_terms() {
        assert!(has("Failed password for root", "password", false));
        assert!(has("Failed PASSWORD for root", "password", false));
        assert!(!has("passwords", "password", false));
        assert!(!has("error", "err", false));
        assert!(has("src=10.1.1.5 dst", "10.1.1.5", false));
        assert!(!has("src=10.1.1.55", "10.1.1.5", false));
        assert!(has("a healthcheck ok", "healthcheck", false));
        assert!(!has("HealthCheck", "healthcheck", true));
        assert!(has("x", "", false));
    }

    #[test]
    fn three_valued_logic() {
        let t = Node::Const(Value::Bool(true));
        let f = Node::Const(Value::Bool(false));
        let n = Node::Const(Value::Null);
        let at = Timestamp::UNIX_EPOCH;
        let and = |a: &Node, b: &Node| binary(BinOp::And, a, b, &[], at);
        let or = |a: &Node, b: &Node| binary(BinOp::Or, a, b, &[], at);
        assert_eq!(and(&n, &f), Ok(Value::Bool(false)));
        assert_eq!(and(&n, &t), Ok(Value::Null));
        assert_eq!(or(&n, &t), Ok(Value::Bool(true)));
        assert_eq!(or(&n, &f), Ok(Value::Null));
        assert_eq!(and(&t, &t), Ok(Value::Bool(true)));
    }
}
