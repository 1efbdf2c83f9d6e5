//! `tern parse` gives exact Sentinel rows: every `tests/golden/NAME.log` is fed to the built
//! binary and its output must equal `tests/golden/NAME.jsonl` byte for byte.
//!
//! After a deliberate change of the rows, regenerate with `TERN_BLESS=1 cargo test -p tern
//! --test e2e -- golden::` and review the diff line by line.
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
    run_parse_with(input, &[])
}

fn run_parse_with(input: &[u8], extra: &[&str]) -> Vec<u8> {
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
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "tern parse failed: {output:?}");
    output.stdout
}

pub(crate) fn parse_prints_exact_rows() {
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
    // rfc3164, rfc5424, cef, cef-fidelity, asa and the ten vendor formats.
    assert_eq!(checked, 15);
}

/// Zone-less device times are read in the listener's `timezone` (here `tern parse
/// --timezone`), by their own date: summer and winter differ, times with a zone do not move.
pub(crate) fn zone_less_times_are_read_in_the_configured_zone() {
    let input = b"<13>2026-01-15T10:00:00 host app: winter\n\
<13>1 2026-07-15T10:00:00 host app - - - summer\n\
<13>1 2026-07-15T10:00:00+05:00 host app - - - zoned\n\
<13>Jan 15 10:00:00 fw CEF:0|V|P|1|2|N|3|start=Jan 15 2026 10:00:00 end=2026-01-15T10:00:00Z\n";
    let times = |extra: &[&str]| -> Vec<(String, String)> {
        String::from_utf8(run_parse_with(input, extra))
            .unwrap()
            .lines()
            .flat_map(|line| {
                let row = serde_json::from_str::<serde_json::Value>(line).unwrap()["row"].clone();
                ["EventTime", "StartTime", "EndTime"]
                    .into_iter()
                    .filter_map(move |c| Some((c.to_owned(), row[c].as_str()?.to_owned())))
            })
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(c, t)| ((*c).to_owned(), (*t).to_owned()))
            .collect()
    };
    assert_eq!(
        times(&["--timezone", "Europe/Berlin"]),
        pairs(&[
            ("EventTime", "2026-01-15T09:00:00Z"),
            ("EventTime", "2026-07-15T08:00:00Z"),
            ("EventTime", "2026-07-15T05:00:00Z"),
            ("StartTime", "2026-01-15T09:00:00Z"),
            ("EndTime", "2026-01-15T10:00:00Z"),
        ])
    );
    // The default is UTC.
    assert_eq!(
        times(&[]),
        pairs(&[
            ("EventTime", "2026-01-15T10:00:00Z"),
            ("EventTime", "2026-07-15T10:00:00Z"),
            ("EventTime", "2026-07-15T05:00:00Z"),
            ("StartTime", "2026-01-15T10:00:00Z"),
            ("EndTime", "2026-01-15T10:00:00Z"),
        ])
    );
}
