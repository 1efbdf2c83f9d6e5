//! DCR transformations (`transformKql`) run at the edge (issue 24): the KQL subset Azure
//! Monitor allows in transformations, compiled once per DCR load and run on each row before
//! it is batched. Rows are a stream's columns; the output schema is known at load time.
//!
//! - [`lex`] and [`syntax`]: text → tokens → query, total over any input (fuzzed), every node
//!   with its span for the caret under an error.
//! - [`compile`]: names to column slots, `let`s inlined, regular expressions compiled, types
//!   and the output columns derived; what the service refuses is refused here.
//! - [`eval`] and [`functions`]: KQL's semantics, with the clock passed in (`now()`, `ago()`).
//!
//! Decisions: `docs/decisions/transform.md`.

pub mod compile;
pub mod eval;
pub mod functions;
pub mod lex;
pub mod row;
pub mod syntax;
pub mod value;

use std::ops::Range;
use std::sync::Arc;

use jiff::Timestamp;

pub use eval::Outcome;
pub use row::Cell;
pub use value::{Type, Value};

use crate::tables::Undeclared;

/// Why a transformation cannot run, with the span of the construct in the KQL text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransformError {
    pub span: Range<usize>,
    pub message: String,
}

impl TransformError {
    pub fn at(span: Range<usize>, message: String) -> TransformError {
        TransformError { span, message }
    }

    /// The message, then the KQL line with a caret under the construct:
    /// ```text
    /// `summarize` is not supported in transformations …
    ///   source | summarize count() by Computer
    ///            ^^^^^^^^^
    /// ```
    pub fn render(&self, kql: &str) -> String {
        let start = self.span.start.min(kql.len());
        let line_start = kql
            .get(..start)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |at| at + 1);
        let line_end = kql
            .get(start..)
            .and_then(|after| after.find('\n'))
            .map_or(kql.len(), |at| start + at);
        let line = kql.get(line_start..line_end).unwrap_or_default();
        let lead = kql.get(line_start..start).map_or(0, |s| s.chars().count());
        let width = kql
            .get(start..self.span.end.clamp(start, line_end))
            .map_or(1, |s| s.chars().count())
            .max(1);
        let line_number = kql.get(..line_start).map_or(0, |b| b.matches('\n').count()) + 1;
        let prefix = if kql.contains('\n') {
            format!("line {line_number}: ")
        } else {
            String::new()
        };
        format!(
            "{}\n    {prefix}{}\n    {}{}{}",
            self.message,
            line.trim_end_matches('\r'),
            " ".repeat(prefix.chars().count()),
            " ".repeat(lead),
            "^".repeat(width)
        )
    }
}

/// Whether a dataFlow's `transformKql` is "no transformation": absent, empty or `source`.
pub fn is_identity(kql: &str) -> bool {
    let trimmed = kql.trim();
    trimmed.is_empty() || trimmed == "source"
}

/// A compiled transformation over rows with `input`'s columns.
#[derive(Debug)]
pub struct Transform {
    pub text: String,
    input: Vec<(String, Type)>,
    program: compile::Program,
    /// For a filter over rows without nested objects: how to find each column it reads in
    /// the row's bytes, and the filter's steps reading those columns only, in that order
    /// (`None`: split the whole row).
    lookups: Option<Lookups>,
    /// The columns a table writer records for [`Transform::run_captured`]: a filter's reads,
    /// else every input column; with their types.
    captures: Arc<[String]>,
    capture_types: Vec<Type>,
    /// A filter's steps over the columns it reads only (`None`: not a filter).
    filter_steps: Option<Vec<compile::Step>>,
    /// Each output column's key as written (`"Name":`), made once rather than per row.
    output_keys: Vec<Box<[u8]>>,
}

/// How [`Transform::run_json`] finds a filter's columns in a row (its steps are
/// [`Transform::filter_steps`]).
#[derive(Debug)]
struct Lookups {
    finders: Vec<(row::FieldFinder, Type)>,
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The transformed row was appended.
    Kept,
    /// The transformation's `where` dropped it.
    Dropped,
    /// Evaluating failed; nothing was appended.
    Failed(String),
}

impl Transform {
    /// Compiles `kql` for rows with the `input` columns (name, Log Analytics type).
    pub fn compile(kql: &str, input: &[(&str, &str)]) -> Result<Transform, TransformError> {
        let input: Vec<(String, Type)> = input
            .iter()
            .map(|(name, ty)| {
                (
                    (*name).to_owned(),
                    Type::from_name(ty).unwrap_or(Type::String),
                )
            })
            .collect();
        let tokens = lex::tokenize(kql)?;
        let query = syntax::parse_query(&tokens, kql.len())?;
        let program = compile::compile(&query, &input)?;
        if !program
            .output
            .iter()
            .any(|(name, ty)| name == "TimeGenerated" && *ty == Type::DateTime)
        {
            // The service refuses a transformation without it (`TimeGenerated` is required).
            return Err(TransformError::at(
                0..kql.len(),
                "the output has no `TimeGenerated` datetime column (every row needs one)"
                    .to_owned(),
            ));
        }
        // A filter reads a few columns and passes the row on as it is: it runs on a row of
        // only those columns (looked up by name in rows without nested objects, where that is
        // exact, or recorded by the writer).
        let filter_steps = program.filters_only.then(|| {
            let position = |slot: usize| {
                program
                    .reads
                    .iter()
                    .position(|r| *r == slot)
                    .unwrap_or(usize::MAX)
            };
            program
                .steps
                .iter()
                .map(|step| match step {
                    compile::Step::Where(node) => {
                        compile::Step::Where(compile::remap(node, &position))
                    }
                    other => other.clone(),
                })
                .collect::<Vec<_>>()
        });
        let reads: Vec<&(String, Type)> = match &filter_steps {
            Some(_) => program
                .reads
                .iter()
                .filter_map(|at| input.get(*at))
                .collect(),
            None => input.iter().collect(),
        };
        let captures: Arc<[String]> = reads.iter().map(|(name, _)| name.clone()).collect();
        let capture_types = reads.iter().map(|(_, ty)| *ty).collect();
        let lookups = filter_steps
            .as_ref()
            .filter(|_| !input.iter().any(|(_, t)| *t == Type::Dynamic))
            .map(|_| Lookups {
                finders: reads
                    .iter()
                    .map(|(name, ty)| (row::FieldFinder::new(name), *ty))
                    .collect(),
            });
        let output_keys = column_keys(&program.output);
        Ok(Transform {
            text: kql.to_owned(),
            input,
            program,
            lookups,
            captures,
            capture_types,
            filter_steps,
            output_keys,
        })
    }

    /// The columns to record while writing a row for [`Transform::run_captured`].
    pub fn captures(&self) -> &Arc<[String]> {
        &self.captures
    }

    /// Runs on a row a table writer wrote recording [`Transform::captures`]: its columns are
    /// read where they were written, strings as the writer had them. The kept row's cells
    /// borrow from `row` and `capture`, for [`Transform::write_kept`].
    pub fn run_captured<'r>(
        &self,
        capture: &'r crate::tables::Capture,
        row: &'r [u8],
        now: Timestamp,
    ) -> Outcome<'r> {
        let cells = row::captured_cells(capture, row, &self.capture_types);
        match &self.filter_steps {
            Some(steps) => eval::run_steps(steps, cells, now),
            None => eval::run(&self.program, cells, now),
        }
    }

    /// The output columns with their types.
    pub fn output(&self) -> &[(String, Type)] {
        &self.program.output
    }

    /// Runs on one row given as values in input order.
    pub fn run(&self, row: Vec<Value>, now: Timestamp) -> Outcome<'static> {
        eval::run(
            &self.program,
            row.into_iter().map(Cell::Value).collect(),
            now,
        )
    }

    /// Runs on one row written as a JSON object (what the table writers produce) and appends
    /// the transformed row as a JSON object to `out`, leaving out `undeclared` columns and
    /// nulls.
    pub fn apply_json(
        &self,
        row: &[u8],
        now: Timestamp,
        undeclared: Option<&Undeclared>,
        out: &mut Vec<u8>,
    ) -> Applied {
        // Rows from outside (`tern transform test`, `tern parse --dcr`) are checked whole
        // first: the fast path reads only the columns it needs and copies the rest, so it must
        // not be handed text that is not JSON. (The pipeline's rows come from Tern's writers.)
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(row) {
            return Applied::Failed(format!("row is not JSON: {e}"));
        }
        match self.run_json(row, now) {
            Ok(Outcome::Kept(cells)) => {
                self.write_kept(row, &cells, undeclared, out);
                Applied::Kept
            }
            Ok(Outcome::Dropped) => Applied::Dropped,
            Ok(Outcome::Failed(e)) | Err(e) => Applied::Failed(e),
        }
    }

    /// Runs on one row written as a JSON object; the kept row's cells borrow from `row`.
    /// (A filter's kept row is `row` itself: its cells are then only the columns it read.)
    pub fn run_json<'r>(&self, row: &'r [u8], now: Timestamp) -> Result<Outcome<'r>, String> {
        if let (Some(Lookups { finders }), Some(steps)) = (&self.lookups, &self.filter_steps) {
            if !row.starts_with(b"{") {
                return Err("a row must be a JSON object".to_owned());
            }
            let cells: Vec<Cell<'r>> = finders
                .iter()
                .map(|(finder, ty)| finder.find(row).unwrap_or_else(|| Cell::Value(ty.empty())))
                .collect();
            return Ok(eval::run_steps(steps, cells, now));
        }
        Ok(eval::run(&self.program, self.read_cells(row)?, now))
    }

    /// Appends a kept row (from [`Transform::run_json`] on `input`) as a JSON object.
    pub fn write_kept(
        &self,
        input: &[u8],
        cells: &[Cell<'_>],
        undeclared: Option<&Undeclared>,
        out: &mut Vec<u8>,
    ) {
        let undeclared = undeclared.filter(|u| !u.is_empty());
        // A filter keeps the row as it came: its bytes are the output, less the columns the
        // target does not declare (its cells are only the columns it read).
        if self.program.filters_only {
            let fields = undeclared.map(|u| (u, row::split_object(input)));
            match fields {
                Some((undeclared, Ok(fields))) => {
                    out.push(b'{');
                    let mut first = true;
                    for (name, raw) in fields {
                        let declared =
                            std::str::from_utf8(name).is_ok_and(|n| !undeclared.contains(n));
                        if declared {
                            if !first {
                                out.push(b',');
                            }
                            first = false;
                            out.push(b'"');
                            out.extend_from_slice(name);
                            out.extend_from_slice(b"\":");
                            out.extend_from_slice(raw);
                        }
                    }
                    out.push(b'}');
                }
                _ => out.extend_from_slice(input),
            }
            return;
        }
        write_keyed(
            &self.program.output,
            &self.output_keys,
            cells,
            undeclared,
            out,
        );
    }

    /// A JSON object's fields as the input columns' cells, in input order (absent: null).
    fn read_cells<'r>(&self, row: &'r [u8]) -> Result<Vec<Cell<'r>>, String> {
        let fields = row::split_object(row)?;
        let mut cells = Vec::with_capacity(self.input.len());
        // The writers put columns in catalogue order, so the next field is almost always the
        // one after the last found.
        let mut cursor = 0;
        for (name, ty) in &self.input {
            let name = name.as_bytes();
            let found = (cursor..fields.len())
                .chain(0..cursor)
                .find(|i| fields.get(*i).is_some_and(|(n, _)| *n == name));
            match found.and_then(|i| fields.get(i).map(|f| (i, f.1))) {
                Some((i, raw)) => {
                    cells.push(Cell::Raw(raw));
                    cursor = i + 1;
                }
                None => cells.push(Cell::Value(ty.empty())),
            }
        }
        Ok(cells)
    }
}

/// A JSON field as a column of type `ty` (datetimes arrive as ISO 8601 text).
pub fn from_json(json: &serde_json::Value, ty: Type) -> Value {
    use serde_json::Value as J;
    match (ty, json) {
        (Type::String, J::String(s)) => Value::str(s),
        (Type::String, other) => Value::string(other.to_string()),
        (Type::Dynamic, other) => Value::Dynamic(Arc::new(other.clone())),
        (_, J::String(s)) => {
            let text = Value::str(s);
            let converted = match ty {
                Type::DateTime => text.to_datetime().map(Value::DateTime),
                Type::TimeSpan => text.to_timespan().map(Value::TimeSpan),
                Type::Int | Type::Long => text.to_long().map(Value::Long),
                Type::Real => text.to_real().map(Value::Real),
                Type::Bool => text.to_bool().map(Value::Bool),
                _ => None,
            };
            converted.unwrap_or(Value::Null)
        }
        (Type::Int | Type::Long, J::Number(n)) => n
            .as_i64()
            .map(Value::Long)
            .or_else(|| {
                n.as_f64()
                    .and_then(|r| Value::Real(r).to_long())
                    .map(Value::Long)
            })
            .unwrap_or(Value::Null),
        (Type::Real, J::Number(n)) => n.as_f64().map_or(Value::Null, Value::Real),
        (Type::Bool, J::Bool(b)) => Value::Bool(*b),
        (_, other) => Value::Dynamic(Arc::new(other.clone())).undynamic(),
    }
}

/// Each column's key as written in a row (`"Name":`).
fn column_keys(columns: &[(String, Type)]) -> Vec<Box<[u8]>> {
    columns
        .iter()
        .map(|(name, _)| {
            let mut key = vec![b'"'];
            crate::tables::json::escape_str_into(name, &mut key);
            key.extend_from_slice(b"\":");
            key.into_boxed_slice()
        })
        .collect()
}

/// Appends `{"Name":value,…}` from cells, each column's key already written out; nulls and
/// empty strings are left out (Azure stores an absent column as empty, and the table writers
/// leave empty values out too). A column the transformation did not touch is copied as written.
fn write_keyed(
    columns: &[(String, Type)],
    keys: &[Box<[u8]>],
    cells: &[Cell<'_>],
    undeclared: Option<&Undeclared>,
    out: &mut Vec<u8>,
) {
    let undeclared = undeclared.filter(|u| !u.is_empty());
    out.push(b'{');
    let mut first = true;
    for (((name, ty), key), cell) in columns.iter().zip(keys).zip(cells) {
        if cell.is_empty() || undeclared.is_some_and(|u| u.contains(name)) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(key);
        match cell {
            Cell::Raw(raw) | Cell::Escaped { raw, .. } => out.extend_from_slice(raw),
            Cell::Text(text) => {
                out.push(b'"');
                out.extend_from_slice(text);
                out.push(b'"');
            }
            Cell::Value(value) => write_value(value, *ty, out),
        }
    }
    out.push(b'}');
}

fn write_value(value: &Value, ty: Type, out: &mut Vec<u8>) {
    use crate::tables::json::escape_str_into;
    let quoted = |text: &str, out: &mut Vec<u8>| {
        out.push(b'"');
        escape_str_into(text, out);
        out.push(b'"');
    };
    match (value, ty) {
        // A column declared as a string gets text, whatever the expression's value.
        (_, Type::String | Type::TimeSpan) => quoted(&value.to_text(), out),
        (Value::Bool(b), _) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (Value::Long(i), _) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        (Value::Real(r), _) if r.is_finite() => out.extend_from_slice(format!("{r:?}").as_bytes()),
        (Value::Dynamic(d), _) => out.extend_from_slice(d.to_string().as_bytes()),
        (other, _) => quoted(&other.to_text(), out),
    }
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
