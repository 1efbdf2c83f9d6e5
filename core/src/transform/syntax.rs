//! The transformation grammar: `let` statements, then `source` and a pipe of tabular operators.
//! A recursive descent over [`super::lex`]'s tokens; every node keeps its span. Anything outside
//! the subset is an error at its position, never skipped.

use std::ops::Range;

use super::TransformError;
use super::lex::{Tok, Token};
use super::value::{Type, Value};

pub type Span = Range<usize>;

#[derive(Debug, Clone)]
pub struct Query {
    pub lets: Vec<Let>,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone)]
pub struct Let {
    pub name: String,
    pub span: Span,
    pub value: LetValue,
}

#[derive(Debug, Clone)]
pub enum LetValue {
    Scalar(Expr),
    Datatable(Datatable),
}

/// `datatable(Name:type, …) [v, v, …]`: a constant table, read row by row.
#[derive(Debug, Clone)]
pub struct Datatable {
    pub columns: Vec<(String, Type)>,
    pub values: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Op {
    Where(Expr),
    Extend(Vec<Assign>),
    Project(Vec<Assign>),
    ProjectAway(Vec<Pattern>),
    ProjectKeep(Vec<Pattern>),
    ProjectReorder(Vec<Pattern>),
    ProjectRename(Vec<Rename>),
    Parse(Parse),
}

/// `Name = expr`, or a bare `expr` (a column keeps its name).
#[derive(Debug, Clone)]
pub struct Assign {
    pub name: Option<(String, Span)>,
    pub expr: Expr,
}

/// A column name, `*` wildcards allowed (`project-away Device*`).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Rename {
    pub new: String,
    pub old: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseKind {
    Simple,
    Relaxed,
    Regex,
}

#[derive(Debug, Clone)]
pub struct Parse {
    pub kind: ParseKind,
    /// `flags=` of `kind=regex` (`i`, `m`, `s`, `U`).
    pub flags: String,
    pub source: Expr,
    pub parts: Vec<ParsePart>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ParsePart {
    Star,
    Text(String),
    Column { name: String, ty: Type, span: Span },
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Nodes on the longest path down from here (a literal or name: 1).
    pub depth: u32,
}

/// How deep an expression may nest (parentheses, operators, calls): past it a transformation
/// is refused. Parsing, compiling, evaluating and dropping a tree recurse down it, and a DCR
/// is outside input: `((((…` or `1+1+1…` thousands deep would overflow the stack. Real
/// transformations nest a dozen levels at most.
pub const MAX_DEPTH: u32 = 64;

impl Expr {
    /// An expression node, one deeper than its deepest child.
    fn new(kind: ExprKind, span: Span) -> Expr {
        let deepest = match &kind {
            ExprKind::Literal(_) | ExprKind::Name(_) => 0,
            ExprKind::Call { args, .. } => args.iter().map(|a| a.depth).max().unwrap_or(0),
            ExprKind::Binary { left, right, .. } => left.depth.max(right.depth),
            ExprKind::Negate(inner) => inner.depth,
            ExprKind::In { value, list, .. } => list
                .iter()
                .map(|e| e.depth)
                .max()
                .unwrap_or(0)
                .max(value.depth),
            ExprKind::Between {
                value, low, high, ..
            } => value.depth.max(low.depth).max(high.depth),
            ExprKind::Member { target, .. } => target.depth,
            ExprKind::Index { target, index } => target.depth.max(index.depth),
        };
        Expr {
            kind,
            span,
            depth: deepest.saturating_add(1),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Literal(Value),
    Name(String),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Negate(Box<Expr>),
    In {
        test: SetTest,
        negated: bool,
        value: Box<Expr>,
        list: Vec<Expr>,
    },
    Between {
        negated: bool,
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    Member {
        target: Box<Expr>,
        name: String,
    },
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTest {
    /// `in`: equal (strings case-sensitively).
    In,
    /// `in~`
    InCi,
    /// `has_any`
    HasAny,
    /// `has_all`
    HasAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    EqCi,
    NeCi,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Text {
        op: TextOp,
        negated: bool,
        case_sensitive: bool,
    },
    MatchesRegex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    Has,
    HasPrefix,
    HasSuffix,
    StartsWith,
    EndsWith,
}

/// Tabular operators a transformation may use, for the error that names them.
pub const TABULAR: &str = "where (filter), extend, project, project-away, project-keep, \
                           project-rename, project-reorder, parse (kind=simple|relaxed|regex)";

/// Tabular operators KQL has that transformations (one row in, at most one out) cannot use.
const REFUSED_TABULAR: [&str; 26] = [
    "summarize",
    "join",
    "union",
    "lookup",
    "top",
    "take",
    "limit",
    "sort",
    "order",
    "distinct",
    "count",
    "mv-expand",
    "mv-apply",
    "make-series",
    "evaluate",
    "render",
    "serialize",
    "sample",
    "sample-distinct",
    "top-nested",
    "as",
    "invoke",
    "fork",
    "facet",
    "parse-where",
    "parse-kv",
];

pub fn parse_query(tokens: &[Token], text_len: usize) -> Result<Query, TransformError> {
    let mut p = Parser {
        tokens,
        at: 0,
        text_len,
        nesting: 0,
    };
    let mut lets = Vec::new();
    while p.peek_ident("let") {
        lets.push(p.let_statement()?);
    }
    let source = p.next_ident()?;
    if !source.0.eq_ignore_ascii_case("source") {
        return Err(TransformError::at(
            source.1,
            format!(
                "a transformation starts with `source` (the incoming rows), not `{}`",
                source.0
            ),
        ));
    }
    let mut ops = Vec::new();
    while !p.done() {
        // Statements may end with `;`.
        if p.eat_punct(";") {
            continue;
        }
        p.expect_punct("|")?;
        ops.push(p.operator()?);
    }
    Ok(Query { lets, ops })
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    text_len: usize,
    /// Expressions being parsed inside one another (the parser's own recursion).
    nesting: u32,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.tokens.len()
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Token> {
        self.tokens.get(self.at + ahead)
    }

    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.start..t.end,
            None => self.text_len..self.text_len,
        }
    }

    fn previous_end(&self) -> usize {
        self.at
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.end)
    }

    fn peek_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(n), .. }) if n == name)
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Punct(q), .. }) if *q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let found = self.peek_punct(p);
        if found {
            self.at += 1;
        }
        found
    }

    fn eat_ident(&mut self, name: &str) -> bool {
        let found = self.peek_ident(name);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), TransformError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{p}`")))
        }
    }

    fn unexpected(&self, wanted: &str) -> TransformError {
        match self.peek() {
            Some(t) => TransformError::at(
                t.start..t.end,
                format!("expected {wanted}, found {}", describe(&t.tok)),
            ),
            None => TransformError::at(
                self.text_len..self.text_len,
                format!("expected {wanted}, found the end"),
            ),
        }
    }

    fn next_ident(&mut self) -> Result<(String, Span), TransformError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(name),
                start,
                end,
            }) => {
                let found = (name.clone(), *start..*end);
                self.at += 1;
                Ok(found)
            }
            _ => Err(self.unexpected("a name")),
        }
    }

    fn let_statement(&mut self) -> Result<Let, TransformError> {
        self.at += 1;
        let (name, span) = self.next_ident()?;
        self.expect_punct("=")?;
        let value = if self.peek_ident("datatable") {
            LetValue::Datatable(self.datatable()?)
        } else if self.peek_punct("(") && self.looks_like_function() {
            return Err(TransformError::at(
                self.here(),
                "user-defined functions (`let f = (…) {…}`) are not supported in transformations"
                    .to_owned(),
            ));
        } else {
            LetValue::Scalar(self.expr()?)
        };
        self.expect_punct(";")?;
        Ok(Let { name, span, value })
    }

    /// `let f = (a:string) { … }`: a parameter list is `(`, name, `:`.
    fn looks_like_function(&self) -> bool {
        matches!(
            (self.peek_at(1), self.peek_at(2)),
            (
                Some(Token {
                    tok: Tok::Ident(_),
                    ..
                }),
                Some(Token {
                    tok: Tok::Punct(":"),
                    ..
                })
            )
        ) || matches!(
            self.peek_at(1),
            Some(Token {
                tok: Tok::Punct(")"),
                ..
            })
        )
    }

    fn datatable(&mut self) -> Result<Datatable, TransformError> {
        let start = self.here().start;
        self.at += 1;
        self.expect_punct("(")?;
        let mut columns = Vec::new();
        loop {
            let (name, _) = self.next_ident()?;
            self.expect_punct(":")?;
            let (ty_name, ty_span) = self.next_ident()?;
            let ty = Type::from_name(&ty_name)
                .ok_or_else(|| TransformError::at(ty_span, format!("unknown type `{ty_name}`")))?;
            columns.push((name, ty));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        self.expect_punct("[")?;
        let mut values = Vec::new();
        if !self.peek_punct("]") {
            loop {
                values.push(self.expr()?);
                if !self.eat_punct(",") {
                    break;
                }
                // A trailing comma before `]` is allowed.
                if self.peek_punct("]") {
                    break;
                }
            }
        }
        self.expect_punct("]")?;
        if columns.is_empty() || values.len() % columns.len() != 0 {
            return Err(TransformError::at(
                start..self.previous_end(),
                format!(
                    "datatable has {} columns but {} values (not a whole number of rows)",
                    columns.len(),
                    values.len()
                ),
            ));
        }
        Ok(Datatable {
            columns,
            values,
            span: start..self.previous_end(),
        })
    }

    fn operator(&mut self) -> Result<Op, TransformError> {
        let (name, span) = self.next_ident()?;
        match name.as_str() {
            "where" | "filter" => Ok(Op::Where(self.expr()?)),
            "extend" => Ok(Op::Extend(self.assignments()?)),
            "project" => Ok(Op::Project(self.assignments()?)),
            "project-away" => Ok(Op::ProjectAway(self.patterns()?)),
            "project-keep" => Ok(Op::ProjectKeep(self.patterns()?)),
            "project-reorder" => Ok(Op::ProjectReorder(self.patterns()?)),
            "project-rename" => {
                let mut renames = Vec::new();
                loop {
                    let (new, new_span) = self.next_ident()?;
                    self.expect_punct("=")?;
                    let (old, old_span) = self.next_ident()?;
                    renames.push(Rename {
                        new,
                        old,
                        span: new_span.start..old_span.end,
                    });
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                Ok(Op::ProjectRename(renames))
            }
            "parse" => self.parse_operator(span),
            other => {
                let why = if REFUSED_TABULAR.contains(&other) {
                    format!(
                        "`{other}` is not supported in transformations (they take one row and \
                         give at most one)"
                    )
                } else {
                    format!("`{other}` is not a tabular operator transformations support")
                };
                Err(TransformError::at(
                    span,
                    format!("{why}; supported: {TABULAR}"),
                ))
            }
        }
    }

    fn assignments(&mut self) -> Result<Vec<Assign>, TransformError> {
        let mut list = Vec::new();
        loop {
            let named = matches!(
                (self.peek(), self.peek_at(1)),
                (
                    Some(Token {
                        tok: Tok::Ident(_),
                        ..
                    }),
                    Some(Token {
                        tok: Tok::Punct("="),
                        ..
                    })
                )
            );
            let name = if named {
                let name = self.next_ident()?;
                self.at += 1;
                Some(name)
            } else {
                None
            };
            list.push(Assign {
                name,
                expr: self.expr()?,
            });
            if !self.eat_punct(",") {
                return Ok(list);
            }
        }
    }

    fn patterns(&mut self) -> Result<Vec<Pattern>, TransformError> {
        let mut list = Vec::new();
        loop {
            // `Device*`: a name and a `*` with nothing between them.
            let start = self.here();
            let mut text = String::new();
            let mut end = start.end;
            while let Some(t) = self.peek() {
                let piece = match &t.tok {
                    Tok::Ident(n) => n.clone(),
                    Tok::Punct("*") => "*".to_owned(),
                    _ => break,
                };
                if !text.is_empty() && t.start != end {
                    break;
                }
                text.push_str(&piece);
                end = t.end;
                self.at += 1;
            }
            if text.is_empty() {
                return Err(self.unexpected("a column name"));
            }
            list.push(Pattern {
                text,
                span: start.start..end,
            });
            if !self.eat_punct(",") {
                return Ok(list);
            }
        }
    }

    fn parse_operator(&mut self, op_span: Span) -> Result<Op, TransformError> {
        let mut kind = ParseKind::Simple;
        let mut flags = String::new();
        loop {
            let is_setting = matches!(
                (self.peek(), self.peek_at(1)),
                (Some(Token { tok: Tok::Ident(n), .. }), Some(Token { tok: Tok::Punct("="), .. }))
                    if n == "kind" || n == "flags"
            );
            if !is_setting {
                break;
            }
            let (setting, _) = self.next_ident()?;
            self.at += 1;
            let (value, span) = self.next_ident()?;
            if setting == "kind" {
                kind = match value.as_str() {
                    "simple" => ParseKind::Simple,
                    "relaxed" => ParseKind::Relaxed,
                    "regex" => ParseKind::Regex,
                    _ => {
                        return Err(TransformError::at(
                            span,
                            format!("parse kind `{value}`: use simple, relaxed or regex"),
                        ));
                    }
                };
            } else {
                if let Some(bad) = value.chars().find(|c| !"imsU".contains(*c)) {
                    return Err(TransformError::at(
                        span,
                        format!("regex flag `{bad}`: use i, m, s or U"),
                    ));
                }
                flags = value;
            }
        }
        let source = self.expr()?;
        if !self.eat_ident("with") {
            return Err(self.unexpected("`with`"));
        }
        let mut parts = Vec::new();
        loop {
            match self.peek().map(|t| (t.tok.clone(), t.start..t.end)) {
                Some((Tok::Punct("*"), _)) => {
                    self.at += 1;
                    parts.push(ParsePart::Star);
                }
                Some((Tok::Str(text), _)) => {
                    self.at += 1;
                    parts.push(ParsePart::Text(text));
                }
                Some((Tok::Ident(name), span)) => {
                    self.at += 1;
                    let mut ty = Type::String;
                    if self.eat_punct(":") {
                        let (ty_name, ty_span) = self.next_ident()?;
                        ty = Type::from_name(&ty_name).ok_or_else(|| {
                            TransformError::at(ty_span, format!("unknown type `{ty_name}`"))
                        })?;
                    }
                    parts.push(ParsePart::Column { name, ty, span });
                }
                _ => break,
            }
        }
        let columns = parts
            .iter()
            .filter(|p| matches!(p, ParsePart::Column { .. }))
            .count();
        if columns == 0 {
            return Err(self.unexpected("a column to parse into"));
        }
        // The service refuses more (`reference/edge.md` §1).
        if columns > 10 {
            return Err(TransformError::at(
                op_span.start..self.previous_end(),
                format!("parse extracts {columns} columns; transformations allow at most 10"),
            ));
        }
        Ok(Op::Parse(Parse {
            kind,
            flags,
            source,
            parts,
            span: op_span.start..self.previous_end(),
        }))
    }

    fn expr(&mut self) -> Result<Expr, TransformError> {
        if self.nesting >= MAX_DEPTH {
            return Err(self.too_deep(self.here()));
        }
        self.nesting += 1;
        let expr = self.or_expr();
        self.nesting -= 1;
        expr
    }

    fn too_deep(&self, span: Span) -> TransformError {
        TransformError::at(
            span,
            format!("the expression nests more than {MAX_DEPTH} levels deep"),
        )
    }

    /// An expression node, refused past [`MAX_DEPTH`].
    fn node(&self, kind: ExprKind, span: Span) -> Result<Expr, TransformError> {
        let expr = Expr::new(kind, span);
        if expr.depth > MAX_DEPTH {
            return Err(self.too_deep(expr.span));
        }
        Ok(expr)
    }

    fn binary(&self, left: Expr, op: BinOp, right: Expr) -> Result<Expr, TransformError> {
        let span = left.span.start..right.span.end;
        self.node(
            ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            span,
        )
    }

    fn or_expr(&mut self) -> Result<Expr, TransformError> {
        let mut left = self.and_expr()?;
        while self.eat_ident("or") {
            let right = self.and_expr()?;
            left = self.binary(left, BinOp::Or, right)?;
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, TransformError> {
        let mut left = self.comparison()?;
        while self.eat_ident("and") {
            let right = self.comparison()?;
            left = self.binary(left, BinOp::And, right)?;
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, TransformError> {
        let left = self.additive()?;
        let Some(token) = self.peek().cloned() else {
            return Ok(left);
        };
        let punct_op = match &token.tok {
            Tok::Punct("==") => Some(BinOp::Eq),
            Tok::Punct("!=" | "<>") => Some(BinOp::Ne),
            Tok::Punct("<") => Some(BinOp::Lt),
            Tok::Punct("<=") => Some(BinOp::Le),
            Tok::Punct(">") => Some(BinOp::Gt),
            Tok::Punct(">=") => Some(BinOp::Ge),
            Tok::Punct("=~") => Some(BinOp::EqCi),
            Tok::Punct("!~") => Some(BinOp::NeCi),
            _ => None,
        };
        if let Some(op) = punct_op {
            self.at += 1;
            let right = self.additive()?;
            return self.binary(left, op, right);
        }
        let Tok::Ident(word) = &token.tok else {
            return Ok(left);
        };
        let (negated, bare) = match word.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, word.as_str()),
        };
        let (base, case_sensitive) = match bare.strip_suffix("_cs") {
            Some(base) => (base, true),
            None => (bare, false),
        };
        let text_op = match base {
            "contains" => Some(TextOp::Contains),
            "has" => Some(TextOp::Has),
            "hasprefix" => Some(TextOp::HasPrefix),
            "hassuffix" => Some(TextOp::HasSuffix),
            "startswith" => Some(TextOp::StartsWith),
            "endswith" => Some(TextOp::EndsWith),
            _ => None,
        };
        if let Some(op) = text_op {
            self.at += 1;
            let right = self.additive()?;
            return self.binary(
                left,
                BinOp::Text {
                    op,
                    negated,
                    case_sensitive,
                },
                right,
            );
        }
        let set_test = match bare {
            "in" => Some(SetTest::In),
            "in~" => Some(SetTest::InCi),
            "has_any" if !negated => Some(SetTest::HasAny),
            "has_all" if !negated => Some(SetTest::HasAll),
            _ => None,
        };
        if let Some(test) = set_test {
            self.at += 1;
            self.expect_punct("(")?;
            let mut list = Vec::new();
            if !self.peek_punct(")") {
                loop {
                    list.push(self.expr()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            }
            self.expect_punct(")")?;
            let span = left.span.start..self.previous_end();
            return self.node(
                ExprKind::In {
                    test,
                    negated,
                    value: Box::new(left),
                    list,
                },
                span,
            );
        }
        if bare == "between" {
            self.at += 1;
            self.expect_punct("(")?;
            let low = self.additive()?;
            self.expect_punct("..")?;
            let high = self.additive()?;
            self.expect_punct(")")?;
            let span = left.span.start..self.previous_end();
            return self.node(
                ExprKind::Between {
                    negated,
                    value: Box::new(left),
                    low: Box::new(low),
                    high: Box::new(high),
                },
                span,
            );
        }
        if word == "matches" {
            self.at += 1;
            if !self.eat_ident("regex") {
                return Err(self.unexpected("`regex` after `matches`"));
            }
            let right = self.additive()?;
            return self.binary(left, BinOp::MatchesRegex, right);
        }
        if let Some(refused) = [
            "has_any_cs",
            "has_all_cs",
            "!has_any",
            "!has_all",
            "contains_any",
            "like",
        ]
        .iter()
        .find(|r| **r == word)
        {
            return Err(TransformError::at(
                token.start..token.end,
                format!("the operator `{refused}` is not supported"),
            ));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, TransformError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_punct("+") {
                BinOp::Add
            } else if self.eat_punct("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            let right = self.multiplicative()?;
            left = self.binary(left, op, right)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, TransformError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_punct("*") {
                BinOp::Mul
            } else if self.eat_punct("/") {
                BinOp::Div
            } else if self.eat_punct("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            let right = self.unary()?;
            left = self.binary(left, op, right)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, TransformError> {
        // Signs in a loop, not by recursion: `- - - …` is outside input too.
        let mut negations = Vec::new();
        loop {
            let start = self.here().start;
            if self.eat_punct("-") {
                negations.push(start);
            } else if !self.eat_punct("+") {
                break;
            }
            if negations.len() > MAX_DEPTH as usize {
                return Err(self.too_deep(start..self.previous_end()));
            }
        }
        let mut expr = self.postfix()?;
        while let Some(start) = negations.pop() {
            let span = start..expr.span.end;
            expr = self.node(ExprKind::Negate(Box::new(expr)), span)?;
        }
        Ok(expr)
    }

    fn postfix(&mut self) -> Result<Expr, TransformError> {
        let mut target = self.primary()?;
        loop {
            if self.eat_punct(".") {
                let name = match self.peek().map(|t| t.tok.clone()) {
                    Some(Tok::Ident(n)) => n,
                    Some(Tok::Long(i)) => i.to_string(),
                    _ => return Err(self.unexpected("a property name")),
                };
                self.at += 1;
                let span = target.span.start..self.previous_end();
                target = self.node(
                    ExprKind::Member {
                        target: Box::new(target),
                        name,
                    },
                    span,
                )?;
            } else if self.eat_punct("[") {
                let index = self.expr()?;
                self.expect_punct("]")?;
                let span = target.span.start..self.previous_end();
                target = self.node(
                    ExprKind::Index {
                        target: Box::new(target),
                        index: Box::new(index),
                    },
                    span,
                )?;
            } else {
                return Ok(target);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, TransformError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.unexpected("a value"));
        };
        let span = token.start..token.end;
        let literal = |value| Ok(Expr::new(ExprKind::Literal(value), span.clone()));
        match token.tok {
            Tok::Str(s) => {
                self.at += 1;
                literal(Value::string(s))
            }
            Tok::Long(i) => {
                self.at += 1;
                literal(Value::Long(i))
            }
            Tok::Real(r) => {
                self.at += 1;
                literal(Value::Real(r))
            }
            Tok::TimeSpan(text) => {
                self.at += 1;
                match super::value::literal_timespan(&text) {
                    Some(d) => literal(Value::TimeSpan(d)),
                    None => Err(TransformError::at(span, format!("bad timespan `{text}`"))),
                }
            }
            Tok::Literal(keyword, raw) => {
                self.at += 1;
                literal(raw_literal(keyword, &raw).ok_or_else(|| {
                    TransformError::at(span.clone(), format!("bad {keyword} literal `{raw}`"))
                })?)
            }
            Tok::Punct("(") => {
                self.at += 1;
                let inner = self.expr()?;
                self.expect_punct(")")?;
                Ok(Expr {
                    span: span.start..self.previous_end(),
                    ..inner
                })
            }
            // `['Column name']`
            Tok::Punct("[") => {
                self.at += 1;
                let name = match self.peek().map(|t| t.tok.clone()) {
                    Some(Tok::Str(name)) => name,
                    _ => return Err(self.unexpected("a quoted column name")),
                };
                self.at += 1;
                self.expect_punct("]")?;
                Ok(Expr::new(
                    ExprKind::Name(name),
                    span.start..self.previous_end(),
                ))
            }
            Tok::Ident(name) => {
                self.at += 1;
                match name.as_str() {
                    "true" => return literal(Value::Bool(true)),
                    "false" => return literal(Value::Bool(false)),
                    _ => {}
                }
                if self.eat_punct("(") {
                    let mut args = Vec::new();
                    if !self.peek_punct(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_punct(",") {
                                break;
                            }
                        }
                    }
                    self.expect_punct(")")?;
                    return self.node(
                        ExprKind::Call {
                            name,
                            name_span: span.clone(),
                            args,
                        },
                        span.start..self.previous_end(),
                    );
                }
                Ok(Expr::new(ExprKind::Name(name), span))
            }
            other => Err(TransformError::at(
                span,
                format!("expected a value, found {}", describe(&other)),
            )),
        }
    }
}

/// `datetime(…)`, `timespan(…)`, `dynamic(…)`.
fn raw_literal(keyword: &str, raw: &str) -> Option<Value> {
    match keyword {
        "datetime" if raw.eq_ignore_ascii_case("null") => Some(Value::Null),
        "datetime" => super::value::parse_datetime(raw).map(Value::DateTime),
        "timespan" if raw.eq_ignore_ascii_case("null") => Some(Value::Null),
        "timespan" => super::value::parse_timespan_text(raw).map(Value::TimeSpan),
        "dynamic" => super::functions::json_literal(raw).map(|j| Value::Dynamic(j.into())),
        _ => None,
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(n) => format!("`{n}`"),
        Tok::Str(_) => "a string".to_owned(),
        Tok::Long(_) | Tok::Real(_) => "a number".to_owned(),
        Tok::TimeSpan(t) => format!("`{t}`"),
        Tok::Literal(k, _) => format!("a {k} literal"),
        Tok::Punct(p) => format!("`{p}`"),
    }
}
