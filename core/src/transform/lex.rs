//! KQL text into tokens, each with its byte span (for the caret under an error).
//!
//! The token rules are nom combinators; the expression grammar ([`super::syntax`]) is a
//! recursive descent over the tokens, which keeps precedence and error positions plain.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};

use super::TransformError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword, including the hyphenated operators (`project-away`) and the negated
    /// and case forms of string operators (`!has`, `in~`, `!in~`).
    Ident(String),
    Str(String),
    Long(i64),
    Real(f64),
    /// `1d`, `30m`: the literal's text.
    TimeSpan(String),
    /// `datetime(…)`, `timespan(…)`, `dynamic(…)`: the keyword and the raw text inside.
    Literal(&'static str, String),
    Punct(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Operators written with hyphens; a hyphen elsewhere is a minus.
const HYPHENATED: [&str; 10] = [
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "make-series",
    "parse-where",
    "parse-kv",
];

/// Punctuation, longest first.
const PUNCT: [&str; 28] = [
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "=>", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", "=", "<", ">", "+", "-", "*", "/", "%", ".",
];

/// Literal keywords whose parentheses hold raw text, not tokens.
const RAW_LITERALS: [&str; 3] = ["datetime", "timespan", "dynamic"];

pub fn tokenize(text: &str) -> Result<Vec<Token>, TransformError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = skip_space(rest);
        if rest.is_empty() {
            return Ok(tokens);
        }
        let start = text.len() - rest.len();
        let (after, tok) = match token(rest) {
            Ok(found) => found,
            Err(_) => {
                let end = start + rest.chars().next().map_or(1, char::len_utf8);
                return Err(TransformError::at(
                    start..end,
                    match rest.chars().next() {
                        Some('"' | '\'') => "this string is not closed".to_owned(),
                        Some(c) => format!("unexpected character `{c}`"),
                        None => "unexpected end".to_owned(),
                    },
                ));
            }
        };
        let mut tok = tok;
        let mut after = after;
        // `datetime(2026-01-01 10:00)`: the text inside is not KQL tokens.
        if let Tok::Ident(name) = &tok {
            let lower = name.to_ascii_lowercase();
            if let Some(keyword) = RAW_LITERALS.iter().find(|k| **k == lower) {
                let inner = skip_space(after);
                if let Some(body) = inner.strip_prefix('(') {
                    let Some(close) = matching_paren(body) else {
                        return Err(TransformError::at(
                            start..text.len(),
                            format!("`{keyword}(` is not closed"),
                        ));
                    };
                    let raw = body.get(..close).unwrap_or_default().trim().to_owned();
                    tok = Tok::Literal(keyword, raw);
                    after = body.get(close + 1..).unwrap_or_default();
                }
            }
        }
        let end = text.len() - after.len();
        tokens.push(Token { tok, start, end });
        rest = after;
    }
}

/// Whitespace and `//` comments.
fn skip_space(mut rest: &str) -> &str {
    loop {
        let trimmed = rest.trim_start();
        match trimmed.strip_prefix("//") {
            Some(comment) => {
                rest = comment
                    .find('\n')
                    .map_or("", |at| comment.get(at..).unwrap_or(""));
            }
            None => return trimmed,
        }
    }
}

/// The byte offset of the `)` closing an already-open parenthesis, skipping strings.
fn matching_paren(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => depth += 1,
            ')' if depth == 0 => return Some(at),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn token(input: &str) -> IResult<&str, Tok> {
    alt((string_literal, number, negated_word, word, punct)).parse(input)
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A name, a hyphenated operator, or `in~`.
fn word(input: &str) -> IResult<&str, Tok> {
    let (rest, name) =
        recognize(pair(take_while1(is_word_start), take_while(is_word_char))).parse(input)?;
    // `project-away`: take the hyphen and the next word when together they name an operator.
    if let Some(tail) = rest.strip_prefix('-') {
        let next_len = tail.find(|c: char| !is_word_char(c)).unwrap_or(tail.len());
        let joined = format!("{name}-{}", tail.get(..next_len).unwrap_or_default());
        if HYPHENATED.iter().any(|h| h.eq_ignore_ascii_case(&joined)) {
            return Ok((tail.get(next_len..).unwrap_or_default(), Tok::Ident(joined)));
        }
    }
    if name.eq_ignore_ascii_case("in") {
        if let Some(after) = rest.strip_prefix('~') {
            return Ok((after, Tok::Ident("in~".to_owned())));
        }
    }
    Ok((rest, Tok::Ident(name.to_owned())))
}

/// `!has`, `!contains_cs`, `!in~`, `!between`: one token, so `!` alone stays invalid.
fn negated_word(input: &str) -> IResult<&str, Tok> {
    let (rest, _) = char('!').parse(input)?;
    let (rest, tok) = word(rest)?;
    match tok {
        Tok::Ident(name) => Ok((rest, Tok::Ident(format!("!{name}")))),
        _ => Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Tag,
        ))),
    }
}

fn punct(input: &str) -> IResult<&str, Tok> {
    for p in PUNCT {
        if let Some(rest) = input.strip_prefix(p) {
            return Ok((rest, Tok::Punct(p)));
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(
        input,
        nom::error::ErrorKind::Tag,
    )))
}

/// Integers, reals (`1.5`, `1e3`), hexadecimal (`0x1F`) and timespans (`1d`, `1.5h`).
fn number(input: &str) -> IResult<&str, Tok> {
    if let Some(hex) = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
    {
        let (rest, digits) = take_while1(|c: char| c.is_ascii_hexdigit()).parse(hex)?;
        return match i64::from_str_radix(digits, 16) {
            Ok(v) => Ok((rest, Tok::Long(v))),
            Err(_) => Err(nom::Err::Failure(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Digit,
            ))),
        };
    }
    let (rest, text) = recognize((
        digit1,
        opt(pair(char('.'), digit1)),
        opt((
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digit1,
        )),
    ))
    .parse(input)?;
    // A unit right after the digits makes a timespan.
    let (after_unit, unit) = take_while(|c: char| c.is_ascii_alphabetic()).parse(rest)?;
    if !unit.is_empty() && !unit.eq_ignore_ascii_case("e") {
        let literal = format!("{text}{unit}");
        return if super::value::literal_timespan(&literal).is_some() {
            Ok((after_unit, Tok::TimeSpan(literal)))
        } else {
            Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Alpha,
            )))
        };
    }
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(r) => Ok((rest, Tok::Real(r))),
            Err(_) => Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Float,
            ))),
        }
    } else {
        match text.parse::<i64>() {
            Ok(i) => Ok((rest, Tok::Long(i))),
            Err(_) => text
                .parse::<f64>()
                .map(|r| (rest, Tok::Real(r)))
                .map_err(|_| {
                    nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Digit))
                }),
        }
    }
}

/// `"…"` and `'…'` with backslash escapes, `@"…"` verbatim (`""` is a quote), an `h`/`H`
/// prefix (hidden strings) and ```` ``` ```` multi-line strings.
fn string_literal(input: &str) -> IResult<&str, Tok> {
    let (input, _) = opt(alt((tag("h"), tag("H")))).parse(input)?;
    if let Some(body) = input.strip_prefix("```") {
        return match body.find("```") {
            Some(end) => Ok((
                body.get(end + 3..).unwrap_or_default(),
                Tok::Str(body.get(..end).unwrap_or_default().to_owned()),
            )),
            None => Err(nom::Err::Failure(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Tag,
            ))),
        };
    }
    let (input, verbatim) = opt(char('@')).parse(input)?;
    let (mut rest, quote) = alt((char('"'), char('\''))).parse(input)?;
    let mut text = String::new();
    loop {
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return Err(nom::Err::Failure(nom::error::Error::new(
                rest,
                nom::error::ErrorKind::Char,
            )));
        };
        let after = chars.as_str();
        if c == quote {
            if verbatim.is_some() && after.starts_with(quote) {
                text.push(quote);
                rest = after.get(1..).unwrap_or_default();
                continue;
            }
            return Ok((after, Tok::Str(text)));
        }
        if c == '\\' && verbatim.is_none() {
            let mut escape = after.chars();
            let e = escape.next().ok_or_else(|| {
                nom::Err::Failure(nom::error::Error::new(rest, nom::error::ErrorKind::Escaped))
            })?;
            let mut after_escape = escape.as_str();
            match e {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                '0' => text.push('\0'),
                'u' => {
                    let hex = after_escape.get(..4).unwrap_or_default();
                    match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if hex.len() == 4 => {
                            text.push(ch);
                            after_escape = after_escape.get(4..).unwrap_or_default();
                        }
                        _ => {
                            return Err(nom::Err::Failure(nom::error::Error::new(
                                rest,
                                nom::error::ErrorKind::Escaped,
                            )));
                        }
                    }
                }
                other => text.push(other),
            }
            rest = after_escape;
            continue;
        }
        text.push(c);
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn reads_kql_tokens() {
        assert_eq!(
            toks("source | project-away A // gone\n| where x !in~ ('a')"),
            vec![
                Tok::Ident("source".into()),
                Tok::Punct("|"),
                Tok::Ident("project-away".into()),
                Tok::Ident("A".into()),
                Tok::Punct("|"),
                Tok::Ident("where".into()),
                Tok::Ident("x".into()),
                Tok::Ident("!in~".into()),
                Tok::Punct("("),
                Tok::Str("a".into()),
                Tok::Punct(")"),
            ]
        );
        assert_eq!(
            toks(r#"@"C:\x""y" 'it\'s' 1.5 7 1d 0x10 a-b"#),
            vec![
                Tok::Str(r#"C:\x"y"#.into()),
                Tok::Str("it's".into()),
                Tok::Real(1.5),
                Tok::Long(7),
                Tok::TimeSpan("1d".into()),
                Tok::Long(16),
                Tok::Ident("a".into()),
                Tok::Punct("-"),
                Tok::Ident("b".into()),
            ]
        );
        assert_eq!(
            toks("datetime(2026-01-01 10:00) dynamic([\"a\", \")\"])"),
            vec![
                Tok::Literal("datetime", "2026-01-01 10:00".into()),
                Tok::Literal("dynamic", "[\"a\", \")\"]".into()),
            ]
        );
    }

    #[test]
    fn an_open_string_is_an_error_at_its_quote() {
        let e = tokenize("source | where a == \"x").err();
        assert_eq!(e.map(|e| e.span.start), Some(20));
    }
}
