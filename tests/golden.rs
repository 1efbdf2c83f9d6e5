//! `tern parse` gives exact Sentinel rows: every `tests/golden/NAME.log` is fed to the built
//! binary and its output must equal `tests/golden/NAME.jsonl` byte for byte.
//!
//! After a deliberate change of the rows, regenerate with `TERN_BLESS=1 cargo test -p tern
//! --test golden` and review the diff line by line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn run_parse(input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "parse",
            "--hostname",
            "fwd-01",
            "--received-at",
            "2026-11-21T10:00:01Z",
            "--sender",
            "192.0.2.7",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "tern parse failed: {output:?}");
    output.stdout
}

#[test]
fn parse_prints_exact_rows() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut checked = 0;
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    inputs.sort();
    for input in inputs {
        let expected_path = input.with_extension("jsonl");
        let actual = run_parse(&std::fs::read(&input).unwrap());
        if std::env::var_os("TERN_BLESS").is_some() {
            std::fs::write(&expected_path, &actual).unwrap();
        }
        let expected = std::fs::read(&expected_path).unwrap();
        let (actual, expected) = (
            String::from_utf8(actual).unwrap(),
            String::from_utf8(expected).unwrap(),
        );
        for (n, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
            assert_eq!(a, e, "{} line {}", input.display(), n + 1);
        }
        assert_eq!(
            actual.lines().count(),
            expected.lines().count(),
            "{}",
            input.display()
        );
        // Every row is valid JSON with exactly the columns shown.
        for line in actual.lines() {
            let _: serde_json::Value = serde_json::from_str(line).unwrap();
        }
        checked += 1;
    }
    // rfc3164, rfc5424, cef, asa and the ten vendor formats.
    assert_eq!(checked, 14);
}
