//! `tern transform test`: a DCR's transformations over sample rows, without Azure.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use tern_parsers::Timestamp;

/// `tern transform test`: each dataFlow transformation of one DCR over JSON rows on stdin.
pub(crate) fn transform_test(path: &std::path::Path, at: Timestamp) -> ExitCode {
    let dcrs = match tern::dcr::load::load_file(path) {
        Ok(dcrs) => dcrs,
        Err(errors) => {
            for e in errors {
                eprintln!("tern: dcr error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let mut flows = Vec::new();
    let mut failed = false;
    for dcr in &dcrs {
        for (flow, stream, compiled) in tern::dcr::routing::all_flow_transforms(dcr) {
            match compiled {
                Ok(transform) => flows.push((format!("{flow} ({stream})"), transform)),
                Err(e) => {
                    eprintln!(
                        "tern: dcr error: {}: {flow}.transformKql: Tern cannot run this transformation: {e}",
                        dcr.file
                    );
                    failed = true;
                }
            }
        }
    }
    if failed {
        return ExitCode::from(2);
    }
    if flows.is_empty() {
        eprintln!(
            "tern: {}: no dataFlow has a transformKql other than `source`",
            path.display()
        );
        return ExitCode::from(1);
    }
    let at = tern::pipeline::jiff_time(at);
    let stdin = std::io::stdin();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for (index, line) in stdin.lock().lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("tern transform test: reading stdin: {e}");
                return ExitCode::from(1);
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        for (name, transform) in &flows {
            let mut row = Vec::new();
            let result = match transform.apply_json(line.as_bytes(), at, None, &mut row) {
                tern_core::transform::Applied::Kept => {
                    let row: serde_json::Value =
                        serde_json::from_slice(&row).unwrap_or(serde_json::Value::Null);
                    serde_json::json!({"dataFlow": name, "line": index + 1, "row": row})
                }
                tern_core::transform::Applied::Dropped => {
                    serde_json::json!({"dataFlow": name, "line": index + 1, "dropped": "transform"})
                }
                tern_core::transform::Applied::Failed(e) => {
                    serde_json::json!({"dataFlow": name, "line": index + 1, "error": e})
                }
            };
            if writeln!(stdout, "{result}").is_err() {
                return ExitCode::from(1);
            }
        }
    }
    if stdout.flush().is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
