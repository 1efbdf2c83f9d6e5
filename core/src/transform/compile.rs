//! A parsed query into a [`Program`]: names resolved to column slots, `let`s inlined, regular
//! expressions compiled, and the output schema (names and types) derived, once per DCR load.
//! Everything the service would refuse when the DCR is created (an unknown column, function
//! or operator) is refused here, with the span of the construct.

use std::collections::HashMap;
use std::sync::Arc;

use super::TransformError;
use super::functions::{self, Func};
use super::syntax::{
    Assign, BinOp, Datatable, Expr, ExprKind, LetValue, Op, ParseKind, ParsePart, Pattern, Query,
    SetTest, Span,
};
use super::value::{Type, Value};

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum Node {
    Const(Value),
    /// A column of the row as it stands at this step, and its type.
    Column(usize, Type),
    Call(Func, Vec<Node>),
    /// A regular expression compiled at load time (a constant pattern).
    Regex(Arc<regex::Regex>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Negate(Box<Node>),
    In {
        test: SetTest,
        negated: bool,
        value: Box<Node>,
        list: Vec<Node>,
    },
    Between {
        negated: bool,
        value: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
    },
    Member(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
}

/// One tabular step over the row (a vector of values in the step's input layout).
#[derive(Debug, Clone)]
pub enum Step {
    Where(Node),
    /// Each value computed on the row as it is so far; `Some(slot)` replaces a column, `None`
    /// appends one.
    Extend(Vec<(Option<usize>, Node)>),
    /// A new row of these values.
    Project(Vec<Node>),
    /// A new row of these columns of the old one.
    Pick(Vec<usize>),
    Parse {
        source: Node,
        regex: Arc<regex::Regex>,
        kind: ParseKind,
        /// Per capture group: where it goes and its type.
        columns: Vec<(Option<usize>, Type)>,
    },
}

#[derive(Debug, Clone)]
pub struct Program {
    pub steps: Vec<Step>,
    pub output: Vec<(String, Type)>,
    /// Only `where` steps: a kept row is the input row, unchanged.
    pub filters_only: bool,
    /// For a filters-only program, the input columns its predicates read (the others are
    /// never looked at).
    pub reads: Vec<usize>,
}

/// A `let` datatable: its rows of constants.
type Rows = Vec<Vec<Value>>;

struct Scope {
    columns: Vec<(String, Type)>,
    scalars: HashMap<String, Scalar>,
    tables: HashMap<String, Rows>,
    /// How deep the node being compiled lies, counting the `let`s inlined above it, and the
    /// deepest seen (for a `let`'s own depth).
    depth: u32,
    deepest: u32,
    /// Nodes compiled, counting every inlined copy of a `let`: `let b = a + a; let c = b + b;
    /// …` doubles per line, so a DCR could otherwise make Tern build a tree of 2^40 nodes.
    nodes: usize,
}

/// A compiled `let` scalar, inlined where it is named.
struct Scalar {
    node: Node,
    ty: Type,
    depth: u32,
    nodes: usize,
}

/// The most nodes a transformation compiles to (its `let`s inlined); real ones have tens.
const MAX_NODES: usize = 20_000;

pub fn compile(query: &Query, input: &[(String, Type)]) -> Result<Program, TransformError> {
    let mut scope = Scope {
        columns: input.to_vec(),
        scalars: HashMap::new(),
        tables: HashMap::new(),
        depth: 0,
        deepest: 0,
        nodes: 0,
    };
    for binding in &query.lets {
        match &binding.value {
            LetValue::Scalar(expr) => {
                // `let` values are evaluated without a row: they cannot name columns.
                let outer = std::mem::take(&mut scope.columns);
                let nodes_before = scope.nodes;
                scope.deepest = 0;
                let compiled = scope.expr(expr);
                scope.columns = outer;
                let (node, ty) = compiled?;
                let scalar = Scalar {
                    node,
                    ty,
                    depth: scope.deepest,
                    nodes: scope.nodes - nodes_before,
                };
                scope.scalars.insert(binding.name.clone(), scalar);
            }
            LetValue::Datatable(table) => {
                let rows = scope.datatable(table)?;
                scope.tables.insert(binding.name.clone(), rows);
            }
        }
    }
    let mut steps = Vec::new();
    for op in &query.ops {
        steps.push(scope.step(op)?);
    }
    let filters_only = steps.iter().all(|s| matches!(s, Step::Where(_)));
    let mut reads = Vec::new();
    for step in &steps {
        if let Step::Where(node) = step {
            columns_read(node, &mut reads);
        }
    }
    reads.sort_unstable();
    reads.dedup();
    Ok(Program {
        steps,
        output: scope.columns,
        filters_only,
        reads,
    })
}

impl Scope {
    fn slot(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }

    fn step(&mut self, op: &Op) -> Result<Step, TransformError> {
        match op {
            Op::Where(expr) => {
                let (node, ty) = self.expr(expr)?;
                if !matches!(ty, Type::Bool | Type::Dynamic) {
                    return Err(TransformError::at(
                        expr.span.clone(),
                        format!("`where` needs a bool, this is {}", ty.kql_name()),
                    ));
                }
                Ok(Step::Where(node))
            }
            Op::Extend(assigns) => {
                let mut list = Vec::new();
                for assign in assigns {
                    let name = assigned_name(assign)?;
                    let (node, ty) = self.expr(&assign.expr)?;
                    let slot = self.slot(&name);
                    match slot {
                        Some(at) => {
                            if let Some(column) = self.columns.get_mut(at) {
                                column.1 = ty;
                            }
                        }
                        None => self.columns.push((name, ty)),
                    }
                    list.push((slot, node));
                }
                Ok(Step::Extend(list))
            }
            Op::Project(assigns) => {
                let mut nodes = Vec::new();
                let mut columns: Vec<(String, Type)> = Vec::new();
                for assign in assigns {
                    let name = assigned_name(assign)?;
                    let (node, ty) = self.expr(&assign.expr)?;
                    if columns.iter().any(|(n, _)| *n == name) {
                        return Err(TransformError::at(
                            assign.expr.span.clone(),
                            format!("`project` names the column `{name}` twice"),
                        ));
                    }
                    columns.push((name, ty));
                    nodes.push(node);
                }
                self.columns = columns;
                Ok(Step::Project(nodes))
            }
            Op::ProjectAway(patterns) => {
                let mut away = vec![false; self.columns.len()];
                for pattern in patterns {
                    let matched = self.matching(pattern)?;
                    for at in matched {
                        if let Some(flag) = away.get_mut(at) {
                            *flag = true;
                        }
                    }
                }
                let keep: Vec<usize> = (0..self.columns.len())
                    .filter(|i| !away.get(*i).copied().unwrap_or(false))
                    .collect();
                Ok(self.pick(keep))
            }
            Op::ProjectKeep(patterns) => {
                let mut kept = vec![false; self.columns.len()];
                for pattern in patterns {
                    for at in self.matching(pattern)? {
                        if let Some(flag) = kept.get_mut(at) {
                            *flag = true;
                        }
                    }
                }
                let keep: Vec<usize> = (0..self.columns.len())
                    .filter(|i| kept.get(*i).copied().unwrap_or(false))
                    .collect();
                Ok(self.pick(keep))
            }
            Op::ProjectReorder(patterns) => {
                let mut order: Vec<usize> = Vec::new();
                for pattern in patterns {
                    for at in self.matching(pattern)? {
                        if !order.contains(&at) {
                            order.push(at);
                        }
                    }
                }
                for at in 0..self.columns.len() {
                    if !order.contains(&at) {
                        order.push(at);
                    }
                }
                Ok(self.pick(order))
            }
            Op::ProjectRename(renames) => {
                for rename in renames {
                    let Some(at) = self.slot(&rename.old) else {
                        return Err(self.unknown_column(&rename.old, rename.span.clone()));
                    };
                    if self.slot(&rename.new).is_some_and(|other| other != at) {
                        return Err(TransformError::at(
                            rename.span.clone(),
                            format!("a column `{}` already exists", rename.new),
                        ));
                    }
                    if let Some(column) = self.columns.get_mut(at) {
                        column.0.clone_from(&rename.new);
                    }
                }
                Ok(Step::Pick((0..self.columns.len()).collect()))
            }
            Op::Parse(parse) => {
                let (source, _) = self.expr(&parse.source)?;
                let mut pattern = String::from("(?");
                pattern.push_str(&parse.flags);
                if parse.flags.is_empty() {
                    pattern.clear();
                } else {
                    pattern.push(')');
                }
                // Simple and relaxed parse start at the beginning of the text; a regex parse
                // may match anywhere (its text is the regex).
                if parse.kind != ParseKind::Regex {
                    pattern.push('^');
                }
                let mut columns = Vec::new();
                for (index, part) in parse.parts.iter().enumerate() {
                    let is_last = index + 1 == parse.parts.len();
                    match part {
                        ParsePart::Star => pattern.push_str(if is_last { ".*" } else { ".*?" }),
                        ParsePart::Text(text) if parse.kind == ParseKind::Regex => {
                            pattern.push_str(text);
                        }
                        ParsePart::Text(text) => pattern.push_str(&regex::escape(text)),
                        ParsePart::Column { name, ty, .. } => {
                            // Numbers capture digits (KQL's typed patterns); other columns
                            // run to the next element, the last one to the end.
                            pattern.push_str(match ty {
                                Type::Int | Type::Long => r"(-?\d+)",
                                Type::Real => r"(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)",
                                _ if is_last => "(.*)",
                                _ => "(.*?)",
                            });
                            let slot = self.slot(name);
                            match slot {
                                Some(at) => {
                                    if let Some(column) = self.columns.get_mut(at) {
                                        column.1 = *ty;
                                    }
                                }
                                None => self.columns.push((name.clone(), *ty)),
                            }
                            columns.push((slot, *ty));
                        }
                    }
                }
                let regex = regex::RegexBuilder::new(&pattern)
                    .dot_matches_new_line(parse.kind != ParseKind::Regex)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        TransformError::at(parse.span.clone(), format!("parse pattern: {e}"))
                    })?;
                Ok(Step::Parse {
                    source,
                    regex: Arc::new(regex),
                    kind: parse.kind,
                    columns,
                })
            }
        }
    }

    fn pick(&mut self, keep: Vec<usize>) -> Step {
        self.columns = keep
            .iter()
            .filter_map(|i| self.columns.get(*i).cloned())
            .collect();
        Step::Pick(keep)
    }

    fn matching(&self, pattern: &Pattern) -> Result<Vec<usize>, TransformError> {
        let found: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| wildcard(&pattern.text, name))
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() && !pattern.text.contains('*') {
            return Err(self.unknown_column(&pattern.text, pattern.span.clone()));
        }
        Ok(found)
    }

    fn unknown_column(&self, name: &str, span: Span) -> TransformError {
        let mut names: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let close: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .collect();
        let hint = if close.is_empty() {
            if names.len() <= 40 {
                format!(" (columns: {})", names.join(", "))
            } else {
                String::new()
            }
        } else {
            format!(
                " (names are case-sensitive: did you mean `{}`?)",
                close.join("`, `")
            )
        };
        TransformError::at(span, format!("no column or `let` named `{name}`{hint}"))
    }

    fn datatable(&mut self, table: &Datatable) -> Result<Vec<Vec<Value>>, TransformError> {
        let outer = std::mem::take(&mut self.columns);
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut failed = None;
        for value in &table.values {
            match self.expr(value) {
                Ok((Node::Const(v), _)) => row.push(v),
                Ok(_) => {
                    failed = Some(TransformError::at(
                        value.span.clone(),
                        "datatable values must be constants".to_owned(),
                    ));
                    break;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if row.len() == table.columns.len() {
                rows.push(std::mem::take(&mut row));
            }
        }
        self.columns = outer;
        match failed {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }

    /// Compiles one expression, refusing what would nest or grow past the limits.
    pub(super) fn expr(&mut self, expr: &Expr) -> Result<(Node, Type), TransformError> {
        self.depth += 1;
        self.nodes += 1;
        self.deepest = self.deepest.max(self.depth);
        let compiled = match self.within_limits(expr.span.clone()) {
            Ok(()) => self.expr_within_limits(expr),
            Err(e) => Err(e),
        };
        self.depth -= 1;
        compiled
    }

    fn within_limits(&self, span: std::ops::Range<usize>) -> Result<(), TransformError> {
        if self.depth > super::syntax::MAX_DEPTH {
            return Err(TransformError::at(
                span,
                format!(
                    "the expression nests more than {} levels deep (with its `let`s in place)",
                    super::syntax::MAX_DEPTH
                ),
            ));
        }
        if self.nodes > MAX_NODES {
            return Err(TransformError::at(
                span,
                format!(
                    "the transformation grows past {MAX_NODES} expression nodes with its \
                     `let`s in place"
                ),
            ));
        }
        Ok(())
    }

    fn expr_within_limits(&mut self, expr: &Expr) -> Result<(Node, Type), TransformError> {
        let span = expr.span.clone();
        match &expr.kind {
            ExprKind::Literal(value) => Ok((Node::Const(value.clone()), literal_type(value))),
            ExprKind::Name(name) => {
                if let Some((depth, nodes)) = self.scalars.get(name).map(|s| (s.depth, s.nodes)) {
                    // The `let`'s tree hangs here: checked before it is copied.
                    self.deepest = self.deepest.max(self.depth + depth);
                    self.nodes += nodes;
                    let saved = self.depth;
                    self.depth += depth;
                    let checked = self.within_limits(span.clone());
                    self.depth = saved;
                    checked?;
                    if let Some(scalar) = self.scalars.get(name) {
                        return Ok((scalar.node.clone(), scalar.ty));
                    }
                }
                match self.slot(name) {
                    Some(at) => {
                        let ty = self.columns.get(at).map_or(Type::Dynamic, |c| c.1);
                        Ok((Node::Column(at, ty), ty))
                    }
                    None if self.tables.contains_key(name) => Err(TransformError::at(
                        span,
                        format!("`{name}` is a table: use it as a list (`x in ({name})`)"),
                    )),
                    None => Err(self.unknown_column(name, span)),
                }
            }
            ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, name_span.clone(), args, span),
            ExprKind::Binary { op, left, right } => {
                let (l, lt) = self.expr(left)?;
                if *op == BinOp::MatchesRegex {
                    let pattern = self.constant_regex(right)?;
                    return Ok((
                        Node::Binary(*op, Box::new(l), Box::new(pattern)),
                        Type::Bool,
                    ));
                }
                let (r, rt) = self.expr(right)?;
                let ty = binary_type(*op, lt, rt).ok_or_else(|| {
                    TransformError::at(
                        span.clone(),
                        format!(
                            "cannot apply `{}` to {} and {}",
                            op_name(*op),
                            lt.kql_name(),
                            rt.kql_name()
                        ),
                    )
                })?;
                Ok((Node::Binary(*op, Box::new(l), Box::new(r)), ty))
            }
            ExprKind::Negate(inner) => {
                let (node, ty) = self.expr(inner)?;
                if !matches!(
                    ty,
                    Type::Int | Type::Long | Type::Real | Type::TimeSpan | Type::Dynamic
                ) {
                    return Err(TransformError::at(
                        span,
                        format!("cannot negate a {}", ty.kql_name()),
                    ));
                }
                Ok((Node::Negate(Box::new(node)), ty))
            }
            ExprKind::In {
                test,
                negated,
                value,
                list,
            } => {
                let (value, _) = self.expr(value)?;
                let mut items = Vec::new();
                for item in list {
                    // A datatable in the list: its first column's values.
                    if let ExprKind::Name(name) = &item.kind {
                        if let Some(rows) = self.tables.get(name) {
                            items.extend(
                                rows.iter()
                                    .filter_map(|r| r.first().cloned())
                                    .map(Node::Const),
                            );
                            continue;
                        }
                    }
                    items.push(self.expr(item)?.0);
                }
                Ok((
                    Node::In {
                        test: *test,
                        negated: *negated,
                        value: Box::new(value),
                        list: items,
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Between {
                negated,
                value,
                low,
                high,
            } => Ok((
                Node::Between {
                    negated: *negated,
                    value: Box::new(self.expr(value)?.0),
                    low: Box::new(self.expr(low)?.0),
                    high: Box::new(self.expr(high)?.0),
                },
                Type::Bool,
            )),
            ExprKind::Member { target, name } => {
                let (node, _) = self.expr(target)?;
                Ok((Node::Member(Box::new(node), name.clone()), Type::Dynamic))
            }
            ExprKind::Index { target, index } => {
                let (node, _) = self.expr(target)?;
                let (index, _) = self.expr(index)?;
                Ok((Node::Index(Box::new(node), Box::new(index)), Type::Dynamic))
            }
        }
    }

    /// A regular expression argument: a constant, compiled now.
    fn constant_regex(&mut self, expr: &Expr) -> Result<Node, TransformError> {
        let (node, _) = self.expr(expr)?;
        match node {
            Node::Const(Value::Str(pattern)) => Ok(Node::Regex(Arc::new(
                compile_regex(&pattern).map_err(|e| TransformError::at(expr.span.clone(), e))?,
            ))),
            _ => Err(TransformError::at(
                expr.span.clone(),
                "the regular expression must be a constant string".to_owned(),
            )),
        }
    }

    fn call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[Expr],
        span: Span,
    ) -> Result<(Node, Type), TransformError> {
        // `columnifexists("Name", default)`: decided now, from the schema.
        if name == "columnifexists" || name == "column_ifexists" {
            let [column, default] = args else {
                return Err(TransformError::at(
                    span,
                    "columnifexists takes a column name and a default".to_owned(),
                ));
            };
            let (column, _) = self.expr(column)?;
            let Node::Const(Value::Str(column)) = column else {
                return Err(TransformError::at(
                    span,
                    "columnifexists: the column name must be a constant string".to_owned(),
                ));
            };
            return match self.slot(&column) {
                Some(at) => {
                    let ty = self.columns.get(at).map_or(Type::Dynamic, |c| c.1);
                    Ok((Node::Column(at, ty), ty))
                }
                None => self.expr(default),
            };
        }
        // Typed literals: `int(5)`, `long(null)`, `bool(true)`, `real(1.5)`, `string(x)`.
        if let Some(ty) = functions::literal_type(name) {
            let [inner] = args else {
                return Err(TransformError::at(
                    span,
                    format!("{name}(…) takes one value"),
                ));
            };
            let (node, _) = match &inner.kind {
                ExprKind::Name(n) if n == "null" => (Node::Const(ty.empty()), ty),
                _ => self.expr(inner)?,
            };
            return Ok((node, ty));
        }
        let Some(spec) = functions::lookup(name) else {
            let why = match name {
                "geo_location" => "`geo_location` needs Microsoft's GeoIP service, which runs \
                                   only in Azure"
                    .to_owned(),
                _ => format!("`{name}` is not a function transformations support"),
            };
            return Err(TransformError::at(
                name_span,
                format!("{why}; supported: {}", functions::names().join(", ")),
            ));
        };
        if args.len() < spec.min_args || args.len() > spec.max_args {
            let wanted = if spec.min_args == spec.max_args {
                format!("{}", spec.min_args)
            } else if spec.max_args == usize::MAX {
                format!("at least {}", spec.min_args)
            } else {
                format!("{} to {}", spec.min_args, spec.max_args)
            };
            return Err(TransformError::at(
                span,
                format!("{name} takes {wanted} arguments, not {}", args.len()),
            ));
        }
        let mut nodes = Vec::with_capacity(args.len());
        let mut types = Vec::with_capacity(args.len());
        for (index, arg) in args.iter().enumerate() {
            if spec.regex_arg == Some(index) {
                nodes.push(self.constant_regex(arg)?);
                types.push(Type::String);
            } else {
                let (node, ty) = self.expr(arg)?;
                nodes.push(node);
                types.push(ty);
            }
        }
        // `gettype` of a typed expression is its static type (an int column is `int`, though
        // its values are held as longs); only dynamic values are looked at per row.
        if let (Func::GetType, [ty]) = (spec.func, types.as_slice()) {
            if *ty != Type::Dynamic {
                return Ok((Node::Const(Value::str(ty.kql_name())), Type::String));
            }
        }
        let ty = functions::result_type(spec.func, &types);
        Ok((Node::Call(spec.func, nodes), ty))
    }
}

/// `node` with each column slot replaced by `map[slot]` (a filter run on only the columns it
/// reads).
pub fn remap(node: &Node, map: &dyn Fn(usize) -> usize) -> Node {
    let boxed = |n: &Node| Box::new(remap(n, map));
    match node {
        Node::Column(at, ty) => Node::Column(map(*at), *ty),
        Node::Const(_) | Node::Regex(_) => node.clone(),
        Node::Call(f, args) => Node::Call(*f, args.iter().map(|a| remap(a, map)).collect()),
        Node::Binary(op, l, r) => Node::Binary(*op, boxed(l), boxed(r)),
        Node::Index(l, r) => Node::Index(boxed(l), boxed(r)),
        Node::Negate(inner) => Node::Negate(boxed(inner)),
        Node::Member(inner, name) => Node::Member(boxed(inner), name.clone()),
        Node::In {
            test,
            negated,
            value,
            list,
        } => Node::In {
            test: *test,
            negated: *negated,
            value: boxed(value),
            list: list.iter().map(|a| remap(a, map)).collect(),
        },
        Node::Between {
            negated,
            value,
            low,
            high,
        } => Node::Between {
            negated: *negated,
            value: boxed(value),
            low: boxed(low),
            high: boxed(high),
        },
    }
}

/// The column slots `node` reads.
fn columns_read(node: &Node, into: &mut Vec<usize>) {
    match node {
        Node::Column(at, _) => into.push(*at),
        Node::Const(_) | Node::Regex(_) => {}
        Node::Call(_, args) => args.iter().for_each(|a| columns_read(a, into)),
        Node::Binary(_, l, r) | Node::Index(l, r) => {
            columns_read(l, into);
            columns_read(r, into);
        }
        Node::Negate(inner) | Node::Member(inner, _) => columns_read(inner, into),
        Node::In { value, list, .. } => {
            columns_read(value, into);
            list.iter().for_each(|a| columns_read(a, into));
        }
        Node::Between {
            value, low, high, ..
        } => {
            columns_read(value, into);
            columns_read(low, into);
            columns_read(high, into);
        }
    }
}

/// Regular expressions are RE2 syntax in KQL; the `regex` crate reads the same syntax and runs
/// in linear time, so a hostile pattern or input cannot stall a listener.
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("bad regular expression: {e}"))
}

/// Compiled-program size cap for one regular expression (a DCR is hostile input too).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn assigned_name(assign: &Assign) -> Result<String, TransformError> {
    match (&assign.name, &assign.expr.kind) {
        (Some((name, _)), _) => Ok(name.clone()),
        (None, ExprKind::Name(name)) => Ok(name.clone()),
        // `d.key` keeps the last member's name in KQL (`extend d.Level` → `d_Level`); a
        // transform should name what it adds, so Tern asks for it.
        (None, _) => Err(TransformError::at(
            assign.expr.span.clone(),
            "name this column (`Name = …`)".to_owned(),
        )),
    }
}

fn literal_type(value: &Value) -> Type {
    match value {
        Value::Null | Value::Dynamic(_) => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        // Integer literals are `long` in KQL (`int(1)` makes an int).
        Value::Long(_) => Type::Long,
        Value::Real(_) => Type::Real,
        Value::Str(_) => Type::String,
        Value::DateTime(_) => Type::DateTime,
        Value::TimeSpan(_) => Type::TimeSpan,
    }
}

/// The type of a binary operation, or `None` where KQL refuses the operand types.
fn binary_type(op: BinOp, l: Type, r: Type) -> Option<Type> {
    use Type::*;
    let numeric = |t: Type| t.is_numeric() || t == Dynamic;
    match op {
        BinOp::Or | BinOp::And => {
            (matches!(l, Bool | Dynamic) && matches!(r, Bool | Dynamic)).then_some(Bool)
        }
        BinOp::Eq
        | BinOp::Ne
        | BinOp::Lt
        | BinOp::Le
        | BinOp::Gt
        | BinOp::Ge
        | BinOp::EqCi
        | BinOp::NeCi
        | BinOp::Text { .. }
        | BinOp::MatchesRegex => {
            let comparable = l == r
                || l == Dynamic
                || r == Dynamic
                || (l.is_numeric() && r.is_numeric())
                || matches!(op, BinOp::Text { .. } | BinOp::EqCi | BinOp::NeCi);
            comparable.then_some(Bool)
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => match (l, r) {
            (Dynamic, _) | (_, Dynamic) => Some(Dynamic),
            (DateTime, TimeSpan) if matches!(op, BinOp::Add | BinOp::Sub) => Some(DateTime),
            (TimeSpan, DateTime) if op == BinOp::Add => Some(DateTime),
            (DateTime, DateTime) if op == BinOp::Sub => Some(TimeSpan),
            (TimeSpan, TimeSpan) if matches!(op, BinOp::Add | BinOp::Sub) => Some(TimeSpan),
            (TimeSpan, TimeSpan) if op == BinOp::Div => Some(Real),
            (TimeSpan, t) | (t, TimeSpan)
                if t.is_numeric() && matches!(op, BinOp::Mul | BinOp::Div) =>
            {
                Some(TimeSpan)
            }
            (Real, t) | (t, Real) if numeric(t) => Some(Real),
            (Int, Int) => Some(Int),
            (a, b) if numeric(a) && numeric(b) => Some(Long),
            _ => None,
        },
    }
}

pub fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Or => "or",
        BinOp::And => "and",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::EqCi => "=~",
        BinOp::NeCi => "!~",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Text { .. } => "a string operator",
        BinOp::MatchesRegex => "matches regex",
    }
}

/// `Device*` against a column name.
fn wildcard(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_like_kql() {
        assert!(wildcard("Device*", "DeviceVendor"));
        assert!(wildcard("*Time", "EventTime"));
        assert!(wildcard("*", "x"));
        assert!(wildcard("A*B*C", "AxxBxxC"));
        assert!(!wildcard("Device*", "SourceIP"));
        assert!(wildcard("Exact", "Exact"));
        assert!(!wildcard("Exact", "Exactly"));
    }
}
