//! Every line of every file under `../shared/corpus/` goes through the parsers: no panic, the
//! right kind per folder, and the expected values where the corpus has `expected/` files.
//!
//! The corpus is read in place (it is not copied into this repository). Set `TERN_CORPUS` to
//! point elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use tern_parsers::framing::{Framing, decode_all};
use tern_parsers::{Body, BodyError, HeaderKind, Options, Timestamp, parse};

/// The shared corpus (`../shared/corpus` beside the checkout, or `TERN_CORPUS`). It lives
/// outside the repository, so a clone without it skips these tests with a visible line, as the
/// end-to-end suite does for missing programs; `TERN_TEST_REQUIRE_ALL=1` (CI) fails instead.
fn corpus_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TERN_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    );
    if dir.is_dir() {
        return Some(dir);
    }
    let why = format!(
        "needs the log corpus at {} (the shared/ folder beside the checkout, or set TERN_CORPUS)",
        dir.display()
    );
    assert!(
        std::env::var_os("TERN_TEST_REQUIRE_ALL").is_none_or(|v| v != "1"),
        "{test}: {why} (TERN_TEST_REQUIRE_ALL=1)"
    );
    // Straight to stderr: the harness captures `eprintln!` of passing tests.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    None
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn options() -> Options {
    // 2026-11-21T00:00:00Z: the reference for year-less timestamps.
    Options::new(Timestamp::from_unix(1_795_219_200, 0))
}

/// The messages of a corpus file: one per line, or the whole file for `*-multiline/` inputs.
fn messages(path: &Path, bytes: &[u8]) -> Vec<Vec<u8>> {
    let in_multiline = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n.to_string_lossy().ends_with("-multiline"));
    if in_multiline {
        return vec![bytes.to_vec()];
    }
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn folder_of(corpus: &Path, path: &Path) -> String {
    path.strip_prefix(corpus)
        .unwrap()
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_corpus_line_parses_and_each_folder_has_its_kind() {
    let Some(corpus) = corpus_dir("every_corpus_line_parses_and_each_folder_has_its_kind") else {
        return;
    };
    let opts = options();
    let mut lines = 0usize;
    let mut wrong: Vec<String> = Vec::new();
    let mut asa_without_tag = 0usize;
    let mut rfc5424_version_without_date = 0usize;
    for path in files_under(&corpus) {
        let bytes = std::fs::read(&path).unwrap();
        let folder = folder_of(&corpus, &path);
        let is_expected_file = path.components().any(|c| c.as_os_str() == "expected");
        // Every file is also a TCP stream: framing must survive it.
        for framing in [
            Framing::Auto,
            Framing::OctetCounting,
            Framing::NonTransparent,
        ] {
            let _ = decode_all(framing, 8192, &bytes);
        }
        for message in messages(&path, &bytes) {
            lines += 1;
            let result = parse(&message, &opts);
            if is_expected_file || path.to_string_lossy().ends_with(".md") {
                continue;
            }
            let shown = String::from_utf8_lossy(&message)
                .chars()
                .take(160)
                .collect::<String>();
            let event = match result {
                Ok(e) => e,
                Err(e) => {
                    wrong.push(format!("{}: {e}: {shown}", path.display()));
                    continue;
                }
            };
            // Vendor field extraction runs on every ASA-family message too.
            if let Body::CiscoAsa(asa) = &event.body {
                let _ = tern_parsers::vendor::cisco_asa::fields(asa);
            }
            let ok = match folder.as_str() {
                // A truncated record is still recognised: it is reported as a broken CEF/LEEF.
                "cef" => {
                    matches!(event.body, Body::Cef(_))
                        || matches!(event.body_error, Some(BodyError::Cef(_)))
                }
                "leef" => {
                    matches!(event.body, Body::Leef(_))
                        || matches!(event.body_error, Some(BodyError::Leef(_)))
                }
                "rfc5424" => {
                    if event.header == HeaderKind::Rfc3164 && !version_then_date(&message) {
                        rfc5424_version_without_date += 1;
                        true
                    } else {
                        event.header == HeaderKind::Rfc5424
                    }
                }
                "cisco_asa" | "cisco_ftd" => {
                    let tagged = contains_asa_tag(&message);
                    if !tagged {
                        asa_without_tag += 1;
                    }
                    !tagged || matches!(event.body, Body::CiscoAsa(_))
                }
                _ => true,
            };
            if !ok {
                wrong.push(format!(
                    "{}: {} header {:?} body {}: {shown}",
                    path.display(),
                    folder,
                    event.header,
                    event.body.kind()
                ));
            }
        }
    }
    assert!(lines > 5000, "only {lines} corpus lines found");
    assert!(
        wrong.is_empty(),
        "{} lines of the wrong kind:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // Message bodies quoted by grok specs without any tag (11) and a Firepower connection event
    // in key-value form (`SFIMS: Protocol: TCP, SrcIP: …`, 1) cannot be recognised; keep the
    // count pinned so a change is noticed.
    assert_eq!(asa_without_tag, 12, "ASA/FTD corpus lines without a tag");
    // `<134>1 Dec  6 08:41:44 …` (a BSD header behind a version digit) and unrendered
    // templates: RFC 5424 by shape only, read as RFC 3164.
    assert_eq!(
        rfc5424_version_without_date, 3,
        "rfc5424/ lines without an RFC 3339 date"
    );
}

/// `<PRI>1 dddd-`: the shape of an RFC 5424 line.
fn version_then_date(line: &[u8]) -> bool {
    let Some(gt) = line.iter().position(|&b| b == b'>') else {
        return false;
    };
    let rest = &line[gt + 1..];
    rest.starts_with(b"1 ")
        && rest.len() > 7
        && rest[2..6].iter().all(u8::is_ascii_digit)
        && rest[6] == b'-'
}

fn contains_asa_tag(line: &[u8]) -> bool {
    line.windows(5).any(|w| {
        let w = w.to_ascii_uppercase();
        w == b"%ASA-" || w == b"%FTD-" || w == b"%PIX-"
    }) || line.starts_with(b"ASA-")
}

fn read_json(corpus: &Path, relative: &str) -> serde_json::Value {
    let path = corpus.join(relative);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// VRL's documented `parse_cef` results: header fields and every extension pair.
#[test]
fn cef_matches_vrl_documented_results() {
    let Some(corpus) = corpus_dir("cef_matches_vrl_documented_results") else {
        return;
    };
    let examples = read_json(&corpus, "cef/expected/vrl-docs-parse_cef-examples.json");
    let mut checked = 0;
    for example in examples.as_array().unwrap() {
        let (Some(input), Some(expected)) =
            (example["input"].as_str(), example["expected"].as_object())
        else {
            continue;
        };
        let event = parse(input.as_bytes(), &options()).unwrap();
        let Body::Cef(cef) = &event.body else {
            panic!("not CEF: {input}")
        };
        let mut actual = serde_json::Map::new();
        actual.insert("cefVersion".into(), cef.version.into());
        actual.insert("deviceVendor".into(), cef.device_vendor.as_ref().into());
        actual.insert("deviceProduct".into(), cef.device_product.as_ref().into());
        actual.insert("deviceVersion".into(), cef.device_version.as_ref().into());
        actual.insert(
            "deviceEventClassId".into(),
            cef.signature_id.as_ref().into(),
        );
        actual.insert("name".into(), cef.name.as_ref().into());
        actual.insert("severity".into(), cef.severity.as_ref().into());
        for (k, v) in cef.extensions.iter() {
            actual.insert(k.into(), v.as_ref().into());
        }
        // VRL's option to translate custom fields renames cs1/cs1Label pairs; compare only
        // examples that use the raw keys.
        if example["vrl_source"]
            .as_str()
            .is_some_and(|s| s.contains("translate_custom_fields"))
        {
            continue;
        }
        assert_eq!(&actual, expected, "{input}");
        checked += 1;
    }
    assert!(checked >= 2, "checked {checked} examples");
}

/// VRL's documented `parse_syslog` results for RFC 5424.
#[test]
fn rfc5424_matches_vrl_documented_results() {
    let Some(corpus) = corpus_dir("rfc5424_matches_vrl_documented_results") else {
        return;
    };
    let examples = read_json(
        &corpus,
        "rfc5424/expected/vrl-docs-parse_syslog-examples.json",
    );
    let mut checked = 0;
    for example in examples.as_array().unwrap() {
        let (Some(input), Some(expected)) =
            (example["input"].as_str(), example["expected"].as_object())
        else {
            continue;
        };
        let event = parse(input.as_bytes(), &options()).unwrap();
        assert_eq!(event.header, HeaderKind::Rfc5424);
        assert_eq!(event.hostname, expected["hostname"].as_str(), "{input}");
        assert_eq!(event.app_name, expected["appname"].as_str());
        assert_eq!(event.msg_id, expected["msgid"].as_str());
        assert_eq!(
            event.proc_id.map(str::to_owned),
            Some(expected["procid"].to_string())
        );
        assert_eq!(event.facility().name(), expected["facility"]);
        assert_eq!(event.severity().name(), expected["severity"]);
        assert_eq!(event.message_text(), expected["message"].as_str().unwrap());
        for element in event.structured_data.elements() {
            let params = expected[element.id].as_object().unwrap();
            assert_eq!(element.params().count(), params.len());
            for (name, value) in element.params() {
                assert_eq!(params[name], value.as_ref(), "{name}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

/// rsyslog's `parsertest-parse1` expectations (the parser behind AMA): PRI, names, hostname,
/// program name and message, with Tern's deliberate deviations listed and pinned.
#[test]
fn rfc3164_matches_rsyslog_expectations() {
    let Some(corpus) = corpus_dir("rfc3164_matches_rsyslog_expectations") else {
        return;
    };
    let dir = corpus.join("rfc3164/expected");
    let inputs = std::fs::read(dir.join("rsyslog-parsertest-parse1.input.log")).unwrap();
    let expected =
        std::fs::read_to_string(dir.join("rsyslog-parsertest-parse1.expected.csv")).unwrap();
    let inputs: Vec<&[u8]> = inputs
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(inputs.len(), expected.len());
    let mut deviations = Vec::new();
    for (input, row) in inputs.iter().zip(&expected) {
        // %PRI%,%syslogfacility-text%,%syslogseverity-text%,%timestamp%,%hostname%,%programname%,%syslogtag%,%msg%
        let cols: Vec<&str> = row.splitn(8, ',').collect();
        let event = parse(input, &options()).unwrap();
        assert_eq!(event.pri_or_default().value().to_string(), cols[0], "{row}");
        assert_eq!(event.facility().name(), cols[1]);
        assert_eq!(event.severity().name(), cols[2]);
        let host = cols[4].replace("$RS_HOSTNAME", "");
        let program = cols[5];
        let msg = cols[7].strip_prefix(' ').unwrap_or(cols[7]);
        let ours = (
            event.hostname.unwrap_or(""),
            event.app_name.unwrap_or(""),
            event.message_text().trim_start().to_owned(),
        );
        let theirs = (host.as_str(), program, msg.trim_start().to_owned());
        let tag_without_colon =
            !cols[6].contains(':') && !cols[6].contains('[') && !program.is_empty();
        if ours != theirs && tag_without_colon && ours.0 == theirs.0 && ours.1.is_empty() {
            deviations.push(String::from_utf8_lossy(input).into_owned());
        } else if ours != theirs {
            panic!(
                "{}\n  rsyslog {theirs:?}\n  tern    {ours:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
    // Deliberate: a first word without `:` or `[pid]` is message text, not a program name
    // (docs/decisions.md) in a device's own (BSD-time) header: `tag This msg…`, `05",result…`,
    // `-- MARK --` (2×), `AAAA…`. With an RFC 3339 time (a relay's template) Tern agrees.
    assert_eq!(deviations.len(), 5, "{}", deviations.join("\n"));
}

/// Vendor folders: with the listener pinned to the vendor, every line is read as that vendor's
/// (or as CEF/LEEF, which the vendors also emit); in auto mode every self-describing line is
/// recognised too. What auto mode leaves as plain syslog is counted per folder and pinned, so
/// that a change in recognition is noticed.
#[test]
fn vendor_folders_parse_as_their_vendor() {
    let Some(corpus) = corpus_dir("vendor_folders_parse_as_their_vendor") else {
        return;
    };
    use tern_parsers::{Format, Vendor};
    // The lines auto mode leaves as plain syslog, by design: Gaia kernel messages (checkpoint),
    // FortiWeb's `VERSION:v1:` form, an octet count left in a line, Wazuh decoder XML and
    // Wazuh-rewritten headers (fortinet), Junos daemon messages (rpd, mib2d, eswd, PFE) and
    // template placeholders (juniper), arbitrary JSON and an example SD-ID (nxlog), a bare
    // timestamp and Wazuh's `May 00` dates (paloalto). All of them are the vendor's when pinned.
    let folders: [(&str, Vendor, usize); 10] = [
        ("checkpoint", Vendor::CheckPoint, 2),
        ("ciphertrust", Vendor::CipherTrust, 0),
        ("fortinet", Vendor::Fortinet, 11),
        ("juniper", Vendor::Juniper, 13),
        ("mcafee", Vendor::McAfee, 0),
        ("meraki", Vendor::Meraki, 0),
        ("nxlog", Vendor::NxLog, 3),
        ("paloalto", Vendor::PaloAlto, 5),
        ("sophos_xg", Vendor::Sophos, 0),
        ("zeek", Vendor::Zeek, 0),
    ];
    let mut wrong = Vec::new();
    let mut summary = Vec::new();
    for (folder, vendor, expected_auto_misses) in folders {
        let mut pinned = options();
        pinned.format = Format::Vendor(vendor);
        let (mut total, mut auto_misses) = (0, Vec::new());
        for path in files_under(&corpus.join(folder)) {
            if path.components().any(|c| c.as_os_str() == "expected") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for message in messages(&path, &bytes) {
                total += 1;
                let shown = String::from_utf8_lossy(&message)
                    .chars()
                    .take(140)
                    .collect::<String>();
                let is_vendor = |body: &Body<'_>| match body {
                    Body::Vendor(v) => v.vendor == vendor,
                    Body::Cef(_) | Body::Leef(_) => true,
                    _ => false,
                };
                match parse(&message, &pinned) {
                    Ok(e) if is_vendor(&e.body) => {
                        // Walk every field: no panic, and the walk ends.
                        if let Body::Vendor(v) = &e.body {
                            assert!(v.fields().count() < 100_000);
                        }
                    }
                    other => wrong.push(format!(
                        "{folder} pinned: {:?}: {shown}",
                        other.map(|e| e.body.kind())
                    )),
                }
                match parse(&message, &options()) {
                    Ok(e) if is_vendor(&e.body) => {}
                    Ok(e) => {
                        auto_misses.push(format!("{} {}: {shown}", e.body.kind(), path.display()))
                    }
                    Err(e) => auto_misses.push(format!("{e}: {shown}")),
                }
            }
        }
        summary.push(format!(
            "{folder}: {total} lines, {} not recognised in auto mode{}",
            auto_misses.len(),
            auto_misses
                .iter()
                .map(|m| format!("\n    {m}"))
                .collect::<String>()
        ));
        if auto_misses.len() != expected_auto_misses {
            wrong.push(format!(
                "{folder}: {} auto misses, expected {expected_auto_misses}",
                auto_misses.len()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nsummary:\n{}",
        wrong.join("\n"),
        summary.join("\n")
    );
}
