//! Rows for the custom tables collected files go to (`reference/azure.md` §3.3): text records
//! become `TimeGenerated` (when read), `RawData`, `FilePath` and `Computer`; JSON lines keep
//! their own fields (nested values as they are, for `dynamic` columns), plus `FilePath` and
//! `Computer`, and `TimeGenerated` from the line when it holds an RFC 3339 time, else when read.

use serde_json::Value;
use tern_parsers::Timestamp;

use crate::tables::json::JsonObject;

/// What shaping a record found wrong (counted by the caller; the row is still written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowProblem {
    /// A `json` source's line that is not a JSON object: sent as `RawData` instead.
    NotJson,
}

/// Appends the row for a text record.
pub fn text_row(record: &[u8], path: &str, computer: &str, now: &Timestamp, out: &mut Vec<u8>) {
    let mut row = JsonObject::begin(out);
    row.datetime("TimeGenerated", now, 0);
    row.bytes("RawData", record);
    row.string("FilePath", path);
    row.string("Computer", computer);
    row.end();
}

/// Appends the row for a JSON line; `Err` (after writing a text row) when it is not an object.
pub fn json_row(
    record: &[u8],
    path: &str,
    computer: &str,
    now: &Timestamp,
    out: &mut Vec<u8>,
) -> Result<(), RowProblem> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(record) else {
        text_row(record, path, computer, now, out);
        return Err(RowProblem::NotJson);
    };
    let own_time = fields
        .get("TimeGenerated")
        .and_then(Value::as_str)
        .and_then(|t| tern_parsers::timestamp::parse_rfc3339(t.as_bytes()))
        .is_some_and(|(_, rest)| rest.is_empty());
    if !own_time {
        let mut stamp = String::new();
        let _ = now.write_rfc3339_utc(0, &mut stamp);
        fields.insert("TimeGenerated".to_owned(), Value::String(stamp));
    }
    fields
        .entry("FilePath")
        .or_insert_with(|| Value::String(path.to_owned()));
    fields
        .entry("Computer")
        .or_insert_with(|| Value::String(computer.to_owned()));
    // Writing a Map to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &Value::Object(fields));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::new(2026, 11, 22, 10, 0, 0, 0, Some(0)).unwrap()
    }

    #[test]
    fn text_rows_escape_and_keep_bad_bytes() {
        let mut out = Vec::new();
        text_row(
            b"a \"quoted\"\tline \xff",
            "/var/log/a.log",
            "fwd",
            &now(),
            &mut out,
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["RawData"], "a \"quoted\"\tline \u{fffd}");
        assert_eq!(row["FilePath"], "/var/log/a.log");
        assert_eq!(row["Computer"], "fwd");
        assert_eq!(row["TimeGenerated"], "2026-11-22T10:00:00Z");
    }

    #[test]
    fn json_rows_keep_nested_values_and_their_time() {
        let mut out = Vec::new();
        json_row(
            br#"{"TimeGenerated":"2026-01-02T03:04:05Z","user":{"name":"a","roles":["x"]},"n":3}"#,
            "/l.json",
            "fwd",
            &now(),
            &mut out,
        )
        .unwrap();
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["TimeGenerated"], "2026-01-02T03:04:05Z");
        assert_eq!(row["user"]["roles"][0], "x");
        assert_eq!(row["n"], 3);
        assert_eq!(row["FilePath"], "/l.json");
        let mut out = Vec::new();
        assert_eq!(
            json_row(b"not json", "/l.json", "fwd", &now(), &mut out),
            Err(RowProblem::NotJson)
        );
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["RawData"], "not json");
    }
}
