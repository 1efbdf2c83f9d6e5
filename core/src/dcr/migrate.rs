//! `tern migrate`: turns the legacy Log Analytics (OMS) agent's syslog forwarding into the
//! equivalent collection DCR (`reference/azure.md` §9).
//!
//! Input: rsyslog's `95-omsagent.conf` (selectors sent to port 25224) and
//! `security-config-omsagent.conf` (CEF/ASA content sent to 25226), and syslog-ng's OMS blocks
//! (`filter f_…_oms { level(…) and facility(…); }` used by a `log` statement whose destination
//! goes to 25224, and the CEF/ASA filter to 25226). Selector semantics follow syslog.conf(5)
//! and rsyslog: `fac.sev` is that level and every more severe one, `=` exactly, `!` excludes,
//! `none` drops the facility, `;` joins selectors left to right. syslog-ng's `level(a)` is
//! exactly `a`, `level(a..b)` a range.
//!
//! Output: facilities with identical level sets grouped into one `Microsoft-Syslog` source
//! (as Microsoft's DCR Config Generator does), and for CEF/ASA a `Microsoft-CommonSecurityLog`
//! and a `Microsoft-CiscoAsa` source on every facility and level (the legacy file filtered on
//! content only).

use serde_json::{Value, json};
use tern_parsers::pri::{Facility, Severity};

/// The legacy agent's syslog port (`omsagent.d/syslog.conf`).
pub const OMS_SYSLOG_PORT: u16 = 25224;
/// The CEF/ASA ports: 25226 now, 25225 in older connector docs.
pub const OMS_CEF_PORTS: [u16; 2] = [25226, 25225];

/// What the legacy configuration selected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Per wire facility, a bit per severity (bit 0: emergency … bit 7: debug).
    pub syslog: [u8; 24],
    /// Content-matched CEF/ASA forwarding was found.
    pub cef: bool,
    /// What the operator should know (ignored lines, the `mark` facility, duplicates).
    pub notes: Vec<String>,
}

const ALL_LEVELS: u8 = 0xff;

/// A selector's level word: the table's short names plus syslog.conf's aliases.
fn severity(word: &str) -> Option<u8> {
    let canonical = match word.to_ascii_lowercase().as_str() {
        "panic" => "emerg",
        "error" => "err",
        "warn" => "warning",
        _ => word,
    };
    Severity::from_name(canonical).map(Severity::code)
}

/// Bits for severities 0..=`to` (the level and every more severe one).
fn at_or_above(to: u8) -> u8 {
    if to >= 7 {
        ALL_LEVELS
    } else {
        (1u8 << (to + 1)) - 1
    }
}

/// The facilities a selector names: codes, or every one for `*`.
fn facilities(list: &str, file: &str, notes: &mut Vec<String>) -> Vec<usize> {
    let mut codes = Vec::new();
    for name in list.split(',').map(str::trim) {
        match name {
            "*" => return (0..24).collect(),
            "security" => codes.push(Facility::Auth.code().into()),
            "mark" => notes.push(format!(
                "{file}: the `mark` facility is syslogd's own timer; nothing to collect"
            )),
            other => match Facility::from_name(other) {
                Some(f) => codes.push(usize::from(f.code())),
                None => notes.push(format!("{file}: unknown facility `{other}` ignored")),
            },
        }
    }
    codes
}

/// Per wire facility, a bit per severity: what one filter selects.
type Masks = [u8; 24];

/// Applies one `facility[,facility].[=|!|!=]level` selector to a line's `masks`, left to right
/// as rsyslog does. `false` when it is not a selector (noted).
fn apply_selector(masks: &mut Masks, selector: &str, file: &str, notes: &mut Vec<String>) -> bool {
    let Some((list, level)) = selector.trim().rsplit_once('.') else {
        notes.push(format!(
            "{file}: `{selector}` is not a selector; not translated"
        ));
        return false;
    };
    let codes = facilities(list, file, notes);
    let level = level.trim().to_ascii_lowercase();
    let (exclude, rest) = match level.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, level.as_str()),
    };
    let (exact, word) = match rest.strip_prefix('=') {
        Some(word) => (true, word),
        None => (false, rest),
    };
    let bits = match word {
        "*" => ALL_LEVELS,
        "none" => {
            for code in &codes {
                if let Some(mask) = masks.get_mut(*code) {
                    *mask = 0;
                }
            }
            return true;
        }
        word => match severity(word) {
            Some(s) if exact => 1 << s,
            Some(s) => at_or_above(s),
            None => {
                notes.push(format!(
                    "{file}: unknown level `{word}` in `{selector}`; not translated"
                ));
                return false;
            }
        },
    };
    for code in codes {
        if let Some(mask) = masks.get_mut(code) {
            if exclude {
                *mask &= !bits;
            } else {
                *mask |= bits;
            }
        }
    }
    true
}

/// The port of an rsyslog action field `@host:port` / `@@host:port` (`(o)` options and
/// `;Template` allowed).
fn action_port(action: &str) -> Option<u16> {
    let rest = action.trim_start_matches('@');
    let rest = rest.rsplit(')').next().unwrap_or(rest);
    let rest = rest.split(';').next().unwrap_or(rest);
    rest.rsplit_once(':')?.1.parse().ok()
}

/// The `name="value"` parameters of an `action(…)` (or any RainerScript object).
fn parameters(object: &str) -> Vec<(String, String)> {
    let inner = object
        .split_once('(')
        .map_or(object, |(_, rest)| rest)
        .trim_end()
        .trim_end_matches(')');
    let mut found = Vec::new();
    let mut rest = inner;
    while let Some((name, after)) = rest.split_once('=') {
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((value, next)) => (value, next),
                None => (quoted, ""),
            },
            None => after.split_once(char::is_whitespace).unwrap_or((after, "")),
        };
        found.push((name, value.to_owned()));
        rest = next;
    }
    found
}

/// Where an rsyslog action sends to, if it forwards: `@host:port`, `@@host:port`, or
/// `action(type="omfwd" … port="…")` (port 514 when not given).
fn forward_port(action: &str) -> Option<u16> {
    let action = action.trim();
    if action.starts_with('@') {
        return action_port(action);
    }
    if action.to_ascii_lowercase().starts_with("action(") {
        let parameters = parameters(action);
        let get = |name: &str| {
            parameters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if !get("type").is_some_and(|t| t.eq_ignore_ascii_case("omfwd")) {
            return None;
        }
        return get("port").map_or(Some(514), |p| p.trim().parse().ok());
    }
    None
}

/// rsyslog's statements with their first line: a statement spread over lines (an
/// `action(…)` or `if … then action(…)` with its parameters on lines of their own) is joined.
fn rsyslog_statements(text: &str) -> Vec<(usize, String)> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut first = 0;
    let mut depth: i32 = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if depth == 0 && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if current.is_empty() {
            first = number + 1;
        } else {
            current.push(' ');
        }
        current.push_str(line);
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 {
            depth = 0;
            statements.push((first, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        statements.push((first, current));
    }
    statements
}

/// Reads rsyslog text: selector lines forwarded to the OMS syslog port (`@`, `@@`, or
/// `action(type="omfwd")`, and `&` lines that add an action to the selector above), and any
/// forwarding to the CEF port. What forwards to the agent but cannot be translated (a
/// RainerScript condition, a property filter) is listed in the notes, never dropped silently.
pub fn rsyslog(file: &str, text: &str, selection: &mut Selection) {
    let mut previous: Option<String> = None;
    for (line, statement) in rsyslog_statements(text) {
        let at = format!("{file}:{line}");
        if statement.starts_with('$') {
            continue;
        }
        if OMS_CEF_PORTS.iter().any(|p| {
            statement.contains(&format!(":{p}"))
                || statement.contains(&format!("\"{p}\""))
                || statement.contains(&format!("={p}"))
        }) {
            selection.cef = true;
            continue;
        }
        let to_agent = statement.contains(&OMS_SYSLOG_PORT.to_string());
        let lower = statement.to_ascii_lowercase();
        if lower.starts_with("if ") || statement.starts_with(':') {
            if to_agent {
                selection.notes.push(format!(
                    "{at}: not translated: `{statement}` selects by a condition or a property, \
                     which a DCR cannot; add the facilities and levels it forwards by hand"
                ));
            }
            continue;
        }
        let (selectors, action) = match statement.strip_prefix('&') {
            Some(action) => match &previous {
                Some(selectors) => (selectors.clone(), action.trim().to_owned()),
                None => continue,
            },
            None => match statement.split_once(char::is_whitespace) {
                Some((selectors, action)) => (selectors.to_owned(), action.trim().to_owned()),
                None => continue,
            },
        };
        // Objects (`module(`, `input(`, `template(`, `ruleset(`…) have no selector.
        if selectors.contains('(') {
            if to_agent {
                selection.notes.push(format!(
                    "{at}: not translated: `{statement}` (not a selector line)"
                ));
            }
            continue;
        }
        previous = Some(selectors.clone());
        let Some(port) = forward_port(&action) else {
            continue;
        };
        if port != OMS_SYSLOG_PORT {
            selection.notes.push(format!(
                "{at}: `{statement}` does not go to the OMS agent ({OMS_SYSLOG_PORT}); ignored"
            ));
            continue;
        }
        // Each line is a filter of its own: its selectors combine left to right, and the
        // DCR collects the union of the lines.
        let mut masks: Masks = [0; 24];
        let mut understood = true;
        for selector in selectors.split(';').filter(|s| !s.trim().is_empty()) {
            understood &= apply_selector(&mut masks, selector, &at, &mut selection.notes);
        }
        if understood && masks.iter().all(|m| *m == 0) {
            selection.notes.push(format!(
                "{at}: `{selectors}` selects nothing (`!` and `none` only remove what an \
                 earlier selector of the same line selects); nothing added"
            ));
        }
        for (total, mask) in selection.syslog.iter_mut().zip(masks) {
            *total |= mask;
        }
    }
}

/// The text inside `name(` … `)` in `statement`, if present.
fn call<'a>(statement: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(at) = statement.get(from..)?.find(&format!("{name}(")) {
        let start = from + at;
        let before = statement.get(..start)?.chars().next_back();
        if before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_' && c != '-') {
            let inner = statement.get(start + name.len() + 1..)?;
            return inner.get(..inner.find(')')?);
        }
        from = start + name.len();
    }
    None
}

/// syslog-ng `kind NAME { … };` blocks (`log { … };` has no name): (name, body).
fn blocks<'a>(text: &'a str, kind: &str) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find(kind)) {
        let start = from + at;
        from = start + kind.len();
        let before = text.get(..start).and_then(|b| b.chars().next_back());
        let Some(after) = text.get(start + kind.len()..) else {
            break;
        };
        // A whole word followed by a name or the brace.
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(')
            || !after.starts_with([' ', '\t', '\n', '{'])
        {
            continue;
        }
        let Some(brace) = after.find('{') else {
            break;
        };
        let name = after.get(..brace).unwrap_or_default().trim();
        if name.contains([';', '(', ')', '}']) {
            continue;
        }
        let body = after.get(brace + 1..).unwrap_or_default();
        let body_end = body.find("};").unwrap_or(body.len());
        found.push((name, body.get(..body_end).unwrap_or_default()));
        from = start + kind.len() + brace + 1 + body_end;
    }
    found
}

/// syslog-ng `level(…)`: a comma list of words and `a..b` ranges.
fn syslog_ng_levels(list: &str) -> Option<u8> {
    let mut bits = 0u8;
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (severity(a.trim())?, severity(b.trim())?);
                for s in a.min(b)..=a.max(b) {
                    bits |= 1 << s;
                }
            }
            None => bits |= 1 << severity(item)?,
        }
    }
    Some(bits)
}

/// A syslog-ng filter expression: `facility(…)`, `level(…)`/`priority(…)`, `filter(name)`,
/// other functions (content: `program()`, `host()`, `match()`, …), `and`, `or`, `not` and
/// parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Facility(Vec<usize>),
    Levels(u8),
    Filter(String),
    /// A test on content or on anything a DCR cannot select by.
    Other(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Kleene's three values: a content test is `Unknown` for a (facility, level) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    Unknown,
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::Yes => Truth::No,
            Truth::No => Truth::Yes,
            Truth::Unknown => Truth::Unknown,
        }
    }
    fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::No, _) | (_, Truth::No) => Truth::No,
            (Truth::Yes, Truth::Yes) => Truth::Yes,
            _ => Truth::Unknown,
        }
    }
    fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::Yes, _) | (_, Truth::Yes) => Truth::Yes,
            (Truth::No, Truth::No) => Truth::No,
            _ => Truth::Unknown,
        }
    }
}

/// Tokens of a filter expression: words, `name(args)` calls, parentheses.
fn filter_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() || c == ';' {
            continue;
        }
        if c == '(' || c == ')' {
            tokens.push(c.to_string());
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() || d == '(' || d == ')' || d == ';' {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let word = text.get(i..end).unwrap_or_default();
        // A call: the word, then its parenthesised arguments (quotes respected) as one token.
        if chars.peek().is_some_and(|&(_, d)| d == '(') && !matches!(word, "and" | "or" | "not") {
            let mut depth = 0;
            let mut quoted = false;
            let mut args_end = end;
            for (j, d) in chars.by_ref() {
                args_end = j + d.len_utf8();
                match d {
                    '"' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            tokens.push(text.get(i..args_end).unwrap_or_default().to_owned());
        } else {
            tokens.push(word.to_owned());
        }
    }
    tokens
}

/// Parses `or`-joined terms (lowest precedence), then `and`, then `not` and atoms. Depth is
/// bounded: the input is a local file, but a parser is total.
fn parse_filter(tokens: &[String], at: &mut usize, depth: usize) -> Option<Expr> {
    if depth > 64 {
        return None;
    }
    let mut left = parse_and(tokens, at, depth)?;
    while tokens.get(*at).is_some_and(|t| t == "or") {
        *at += 1;
        let right = parse_and(tokens, at, depth)?;
        left = Expr::Or(Box::new(left), Box::new(right));
    }
    Some(left)
}

fn parse_and(tokens: &[String], at: &mut usize, depth: usize) -> Option<Expr> {
    let mut left = parse_not(tokens, at, depth)?;
    while tokens.get(*at).is_some_and(|t| t == "and") {
        *at += 1;
        let right = parse_not(tokens, at, depth)?;
        left = Expr::And(Box::new(left), Box::new(right));
    }
    Some(left)
}

fn parse_not(tokens: &[String], at: &mut usize, depth: usize) -> Option<Expr> {
    let token = tokens.get(*at)?;
    *at += 1;
    match token.as_str() {
        "not" => Some(Expr::Not(Box::new(parse_not(tokens, at, depth + 1)?))),
        "(" => {
            let inner = parse_filter(tokens, at, depth + 1)?;
            (tokens.get(*at)? == ")").then(|| *at += 1)?;
            Some(inner)
        }
        call => {
            let (name, args) = call.split_once('(')?;
            let args = args.strip_suffix(')').unwrap_or(args);
            let list = args.replace([' ', '\t'], ",");
            Some(match name.trim() {
                "facility" => {
                    let mut ignored = Vec::new();
                    Expr::Facility(facilities(&list, "", &mut ignored))
                }
                "level" | "priority" => Expr::Levels(syslog_ng_levels(&list)?),
                "filter" => Expr::Filter(args.trim().to_owned()),
                other => Expr::Other(format!("{other}({args})")),
            })
        }
    }
}

/// The value of `expr` for one (facility, level), named filters looked up in `filters`.
fn evaluate(
    expr: &Expr,
    facility: usize,
    level: u8,
    filters: &[(&str, &str)],
    depth: usize,
) -> Truth {
    let yes = |b: bool| if b { Truth::Yes } else { Truth::No };
    match expr {
        Expr::Facility(codes) => yes(codes.contains(&facility)),
        Expr::Levels(bits) => yes(bits & (1 << level) != 0),
        Expr::Other(_) => Truth::Unknown,
        Expr::Not(inner) => evaluate(inner, facility, level, filters, depth).not(),
        Expr::And(a, b) => evaluate(a, facility, level, filters, depth)
            .and(evaluate(b, facility, level, filters, depth)),
        Expr::Or(a, b) => evaluate(a, facility, level, filters, depth)
            .or(evaluate(b, facility, level, filters, depth)),
        Expr::Filter(name) => {
            let body = filters.iter().find(|(n, _)| n == name).map(|(_, b)| *b);
            match body.filter(|_| depth < 16).and_then(|b| {
                let tokens = filter_tokens(b);
                let mut at = 0;
                parse_filter(&tokens, &mut at, 0).filter(|_| at == tokens.len())
            }) {
                Some(inner) => evaluate(&inner, facility, level, filters, depth + 1),
                None => Truth::Unknown,
            }
        }
    }
}

/// The content tests (`program()`, `match()`, …) in `expr`, for the notes.
fn content_tests(expr: &Expr, found: &mut Vec<String>) {
    match expr {
        Expr::Other(test) => found.push(test.clone()),
        Expr::Not(inner) => content_tests(inner, found),
        Expr::And(a, b) | Expr::Or(a, b) => {
            content_tests(a, found);
            content_tests(b, found);
        }
        _ => {}
    }
}

/// Reads syslog-ng text: `log` statements whose destination sends to the OMS ports, with
/// their filters (every `filter()` of the statement must hold) evaluated for each facility and
/// level. A filter that also tests content (`program()`, `match()`, `host()`) cannot be
/// expressed in a DCR: the pairs it may select are collected, and the note says so.
pub fn syslog_ng(file: &str, text: &str, selection: &mut Selection) {
    let destinations = blocks(text, "destination");
    let filters = blocks(text, "filter");
    let port_of = |destination: &str| -> Option<u16> {
        let body = destinations.iter().find(|(n, _)| *n == destination)?.1;
        call(body, "port")?.trim().parse().ok()
    };
    for (_, log) in blocks(text, "log") {
        let Some(port) = call(log, "destination").and_then(|d| port_of(d.trim())) else {
            continue;
        };
        if OMS_CEF_PORTS.contains(&port) {
            selection.cef = true;
            continue;
        }
        if port != OMS_SYSLOG_PORT {
            continue;
        }
        // Every filter() of the statement must hold.
        let mut expr: Option<Expr> = None;
        let mut rest = log;
        while let Some(name) = call(rest, "filter") {
            let term = Expr::Filter(name.trim().to_owned());
            expr = Some(match expr {
                Some(left) => Expr::And(Box::new(left), Box::new(term)),
                None => term,
            });
            rest = rest
                .split_once(&format!("filter({name})"))
                .map_or("", |(_, after)| after);
        }
        let Some(expr) = expr else {
            // No filter: everything.
            for mask in &mut selection.syslog {
                *mask = ALL_LEVELS;
            }
            continue;
        };
        // Content tests anywhere in the filters used, for the note.
        let mut tests = Vec::new();
        let mut unreadable = Vec::new();
        let mut names = Vec::new();
        collect_filter_names(&expr, &filters, &mut names, 0);
        for name in &names {
            let Some((_, body)) = filters.iter().find(|(n, _)| n == name) else {
                unreadable.push(format!("filter `{name}` is not defined"));
                continue;
            };
            let tokens = filter_tokens(body);
            let mut at = 0;
            match parse_filter(&tokens, &mut at, 0).filter(|_| at == tokens.len()) {
                Some(parsed) => content_tests(&parsed, &mut tests),
                None => {
                    unreadable.push(format!("filter `{name}` ({}) not understood", body.trim()))
                }
            }
        }
        let mut may = false;
        for facility in 0..24 {
            for level in 0..8u8 {
                match evaluate(&expr, facility, level, &filters, 0) {
                    Truth::Yes => {
                        if let Some(mask) = selection.syslog.get_mut(facility) {
                            *mask |= 1 << level;
                        }
                    }
                    Truth::Unknown => {
                        may = true;
                        if let Some(mask) = selection.syslog.get_mut(facility) {
                            *mask |= 1 << level;
                        }
                    }
                    Truth::No => {}
                }
            }
        }
        for problem in unreadable {
            selection.notes.push(format!(
                "{file}: not translated: {problem}; collecting what it may select"
            ));
        }
        if may && !tests.is_empty() {
            selection.notes.push(format!(
                "{file}: a log statement to the OMS agent also filters on content ({}), which a \
                 DCR cannot; every facility and level it may forward is collected",
                tests.join(", ")
            ));
        }
    }
}

/// The names of the filters `expr` refers to, and of those they refer to.
fn collect_filter_names(
    expr: &Expr,
    filters: &[(&str, &str)],
    names: &mut Vec<String>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    match expr {
        Expr::Filter(name) => {
            if names.contains(name) {
                return;
            }
            names.push(name.clone());
            if let Some((_, body)) = filters.iter().find(|(n, _)| n == name) {
                let tokens = filter_tokens(body);
                let mut at = 0;
                if let Some(inner) = parse_filter(&tokens, &mut at, 0) {
                    collect_filter_names(&inner, filters, names, depth + 1);
                }
            }
        }
        Expr::Not(inner) => collect_filter_names(inner, filters, names, depth),
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_filter_names(a, filters, names, depth);
            collect_filter_names(b, filters, names, depth);
        }
        _ => {}
    }
}

/// The collection DCR (an ARM resource, as `az monitor data-collection rule show` prints).
pub fn dcr(selection: &Selection, name: &str, location: &str, workspace: &str) -> Value {
    // Group facilities with the same level set, in facility order.
    let mut groups: Vec<(u8, Vec<&'static str>)> = Vec::new();
    for (code, mask) in selection.syslog.iter().enumerate() {
        if *mask == 0 {
            continue;
        }
        let facility = u8::try_from(code)
            .ok()
            .and_then(Facility::from_code)
            .map_or("user", Facility::name);
        match groups.iter_mut().find(|(m, _)| m == mask) {
            Some((_, names)) => names.push(facility),
            None => groups.push((*mask, vec![facility])),
        }
    }
    let mut sources: Vec<Value> = groups
        .iter()
        .enumerate()
        .map(|(i, (mask, names))| {
            let levels: Vec<&str> = Severity::ALL
                .iter()
                .filter(|s| mask & (1 << s.code()) != 0)
                .map(|s| s.dcr_name())
                .collect();
            json!({
                "name": format!("DS_LinuxSyslog_{}", i + 1),
                "streams": ["Microsoft-Syslog"],
                "facilityNames": names,
                "logLevels": levels,
            })
        })
        .collect();
    let mut streams = Vec::new();
    if !sources.is_empty() {
        streams.push("Microsoft-Syslog");
    }
    if selection.cef {
        for (source, stream) in [
            ("DS_CommonSecurityLog", "Microsoft-CommonSecurityLog"),
            ("DS_CiscoAsa", "Microsoft-CiscoAsa"),
        ] {
            sources.push(json!({
                "name": source,
                "streams": [stream],
                "facilityNames": ["*"],
                "logLevels": ["*"],
            }));
            streams.push(stream);
        }
    }
    json!({
        "name": name,
        "type": "Microsoft.Insights/dataCollectionRules",
        "location": location,
        "kind": "Linux",
        "properties": {
            "description": "Migrated by tern migrate from the Log Analytics (OMS) agent's syslog configuration",
            "dataSources": { "syslog": sources },
            "destinations": { "logAnalytics": [ { "name": "la", "workspaceResourceId": workspace } ] },
            "dataFlows": streams.iter().map(|s| json!({ "streams": [s], "destinations": ["la"] })).collect::<Vec<_>>(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(selection: &Selection, facility: Facility) -> u8 {
        selection.syslog[usize::from(facility.code())]
    }

    #[test]
    fn rsyslog_selectors() {
        let mut s = Selection::default();
        rsyslog(
            "f",
            "kern.warning @127.0.0.1:25224\n\
             auth.=alert;auth.=crit;auth.=err @127.0.0.1:25224\n\
             daemon.*;daemon.!=debug @127.0.0.1:25224\n\
             *.info;mail.none @127.0.0.1:25224\n\
             local7.* @10.0.0.5:514\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Kern), 0b0111_1111); // warning and above, then *.info
        assert_eq!(mask(&s, Facility::Auth), 0b0111_1111); // alert, crit, err, then *.info
        assert_eq!(mask(&s, Facility::Daemon), 0b0111_1111);
        assert_eq!(mask(&s, Facility::Mail), 0);
        assert_eq!(mask(&s, Facility::Local7), 0b0111_1111, "only *.info");
        assert!(s.notes.iter().any(|n| n.contains("10.0.0.5")));
        assert!(!s.cef);
    }

    #[test]
    fn exclusions_and_cef() {
        let mut s = Selection::default();
        rsyslog(
            "f",
            "local4.*;local4.!err @127.0.0.1:25224\nif $rawmsg contains \"CEF:\" then @@127.0.0.1:25226\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Local4), 0b1111_0000);
        assert!(s.cef);
    }

    #[test]
    fn every_rsyslog_forwarding_form_is_translated_or_listed() {
        let mut s = Selection::default();
        rsyslog(
            "f",
            "# RainerScript actions, on one line and over several\n\
             local1.* action(type=\"omfwd\" target=\"127.0.0.1\" port=\"25224\" protocol=\"udp\")\n\
             local2.=err;local2.=crit action(\n\
               type=\"omfwd\"\n\
               target=\"127.0.0.1\"\n\
               port=\"25224\"\n\
               protocol=\"tcp\"\n\
             )\n\
             # an action added to the selector above\n\
             local3.warning /var/log/local3.log\n\
             & @127.0.0.1:25224\n\
             # exclusions: local5 info and above, then not err and above\n\
             local5.info;local5.!err @127.0.0.1:25224\n\
             local6.!info @127.0.0.1:25224\n\
             if $syslogfacility-text == 'local7' then @@127.0.0.1:25224\n\
             :msg, contains, \"sshd\" @127.0.0.1:25224\n\
             local0.* action(type=\"omfwd\" target=\"10.0.0.9\" port=\"514\")\n\
             module(load=\"imudp\")\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Local1), ALL_LEVELS);
        assert_eq!(mask(&s, Facility::Local2), 0b0000_1100);
        assert_eq!(mask(&s, Facility::Local3), 0b0001_1111);
        assert_eq!(
            mask(&s, Facility::Local5),
            0b0111_0000,
            "warning, notice, info"
        );
        assert_eq!(
            mask(&s, Facility::Local6),
            0,
            "rsyslog: `!` alone selects nothing"
        );
        assert_eq!(mask(&s, Facility::Local7), 0);
        assert_eq!(mask(&s, Facility::Local0), 0);
        let notes = s.notes.join("\n");
        for expected in [
            "f:14: `local6.!info` selects nothing",
            "f:15: not translated: `if $syslogfacility-text == 'local7' then @@127.0.0.1:25224`",
            "f:16: not translated: `:msg, contains, \"sshd\" @127.0.0.1:25224`",
            "f:17: `local0.* action(type=\"omfwd\" target=\"10.0.0.9\" port=\"514\")` does not go to the OMS agent",
        ] {
            assert!(notes.contains(expected), "{expected}\nin:\n{notes}");
        }
        assert_eq!(s.notes.len(), 4, "{notes}");
        // Lines are filters of their own: a later line's `none` does not undo an earlier line.
        let mut s = Selection::default();
        rsyslog(
            "f",
            "mail.err @127.0.0.1:25224\n*.info;mail.none @127.0.0.1:25224\n",
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Mail), 0b0000_1111);
    }

    #[test]
    fn syslog_ng_filter_expressions() {
        let mut s = Selection::default();
        syslog_ng(
            "f",
            r#"
destination d_oms { network("127.0.0.1" port(25224) transport("tcp")); };
filter f_auth { facility(auth, authpriv) and not level(debug); };
filter f_either { facility(local1) or (facility(local2) and level(err..emerg)); };
filter f_app { facility(local3) and program("nginx"); };
filter f_warn { level(warning); };
log { source(src); filter(f_auth); destination(d_oms); };
log { source(src); filter(f_either); destination(d_oms); };
log { source(src); filter(f_app); destination(d_oms); };
log { source(src); filter(f_warn); filter(f_either); destination(d_oms); };
"#,
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Auth), 0b0111_1111);
        assert_eq!(mask(&s, Facility::Authpriv), 0b0111_1111);
        assert_eq!(mask(&s, Facility::Local1), ALL_LEVELS);
        assert_eq!(
            mask(&s, Facility::Local2),
            0b0000_1111,
            "err..emerg (warning and err..emerg is nothing)"
        );
        assert_eq!(
            mask(&s, Facility::Local3),
            ALL_LEVELS,
            "may select: collected"
        );
        assert_eq!(mask(&s, Facility::Kern), 0);
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
        assert!(s.notes[0].contains("program(\"nginx\")"), "{:?}", s.notes);
    }

    #[test]
    fn syslog_ng_blocks() {
        let mut s = Selection::default();
        syslog_ng(
            "f",
            r#"
#OMS_Destination
destination d_oms { udp("127.0.0.1" port(25224)); };
#OMS_facility = auth
filter f_auth_oms { level(alert,crit,err) and facility(auth); };
log { source(src); filter(f_auth_oms); destination(d_oms); };
#OMS_facility = local3
filter f_local3_oms { level(warning..emerg) and facility(local3); };
log { source(src); filter(f_local3_oms); destination(d_oms); };
"#,
            &mut s,
        );
        assert_eq!(mask(&s, Facility::Auth), 0b0000_1110);
        assert_eq!(mask(&s, Facility::Local3), 0b0001_1111);
        assert_eq!(mask(&s, Facility::Kern), 0);
    }
}
