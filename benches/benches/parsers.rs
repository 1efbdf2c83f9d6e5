//! Parser throughput, Tern against the best crates.io alternatives, side by side in one run, on
//! the same corpus lines:
//! - RFC 5424 and RFC 3164: `syslog_loose` (what Vector and VRL use);
//! - CEF: VRL's `parse_cef` (the Vector Remap Language stdlib; its parser is reachable only
//!   through a compiled VRL program, so that is how it is measured).
//!
//! The vendor parsers are measured on their own (`vendors` group): no crates.io parser reads
//! these formats.
//!
//! Every contender must produce all fields: Tern's lazy iterators (structured data, CEF
//! extensions) are walked in full. Run: `cargo bench -p tern-benches --bench parsers`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_benches::corpus_lines;
use tern_parsers::{Body, HeaderKind, Options, Timestamp, parse};

fn options() -> Options {
    Options::new(Timestamp::from_unix(1_795_219_200, 0))
}

/// Touches every field Tern parsed, so lazy parts are measured too.
fn tern_walk(line: &str, options: &Options) -> usize {
    let Ok(event) = parse(line.as_bytes(), options) else {
        return 0;
    };
    let mut n = event.hostname.map_or(0, str::len)
        + event.app_name.map_or(0, str::len)
        + event.proc_id.map_or(0, str::len)
        + event.msg_id.map_or(0, str::len)
        + event.message.len()
        + event.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
    for element in event.structured_data.elements() {
        for (k, v) in element.params() {
            n += k.len() + v.len();
        }
    }
    if let Body::Vendor(message) = &event.body {
        for (k, v) in message.fields() {
            n += k.len() + v.len();
        }
    }
    if let Body::Cef(cef) = &event.body {
        n += cef.device_vendor.len()
            + cef.device_product.len()
            + cef.name.len()
            + cef.severity.len();
        for (k, v) in cef.extensions.iter() {
            n += k.len() + v.len();
        }
    }
    n
}

/// Tern's syslog header parsers alone (PRI, header, TAG, structured data), without the body
/// classification (CEF/LEEF/ASA search) that `parse` adds and `syslog_loose` does not do.
fn tern_header_walk(line: &str, options: &Options) -> usize {
    let bytes = line.as_bytes();
    let Ok((rest, pri)) = tern_parsers::pri::parse_pri(bytes) else {
        return 0;
    };
    let mut n = usize::from(pri.value());
    if let Some(h) = tern_parsers::rfc5424::parse_rfc5424(rest) {
        n += h.hostname.map_or(0, str::len)
            + h.app_name.map_or(0, str::len)
            + h.proc_id.map_or(0, str::len)
            + h.msg_id.map_or(0, str::len)
            + h.message.len()
            + h.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
        for element in h.structured_data.elements() {
            for (k, v) in element.params() {
                n += k.len() + v.len();
            }
        }
    } else {
        let h = tern_parsers::rfc3164::parse_rfc3164(rest, &options.reference_time);
        let (tag, message) = h.split_tag();
        n += h.hostname.map_or(0, str::len)
            + tag.map_or(0, |t| t.app_name.len() + t.proc_id.map_or(0, str::len))
            + message.len()
            + h.timestamp.map_or(0, |t| t.unix_seconds(0) as usize);
    }
    n
}

fn loose_walk(line: &str) -> usize {
    let m = syslog_loose::parse_message_with_year_tz(
        line,
        |_| 2026,
        Some(chrono::Utc),
        syslog_loose::Variant::Either,
    );
    let mut n = m.hostname.map_or(0, str::len)
        + m.appname.map_or(0, str::len)
        + m.msgid.map_or(0, str::len)
        + m.msg.len()
        + m.timestamp.map_or(0, |t| t.timestamp() as usize);
    for element in &m.structured_data {
        for (k, v) in element.params() {
            n += k.len() + v.len();
        }
    }
    n
}

fn inputs(folder: &str, keep: impl Fn(&tern_parsers::Event<'_>) -> bool) -> (Vec<String>, u64) {
    let options = options();
    let lines: Vec<String> = corpus_lines(folder)
        .into_iter()
        .filter(|l| parse(l.as_bytes(), &options).is_ok_and(|e| keep(&e)))
        .collect();
    assert!(
        !lines.is_empty(),
        "no {folder} corpus lines (set TERN_CORPUS)"
    );
    let bytes = lines.iter().map(|l| l.len() as u64).sum();
    (lines, bytes)
}

fn syslog_group(c: &mut Criterion, name: &str, lines: &[String], bytes: u64) {
    let options = options();
    eprintln!(
        "{name}: {} lines, {bytes} bytes, {:.0} bytes/event",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("tern", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| tern_walk(black_box(l), &options))
                .sum::<usize>()
        })
    });
    group.bench_function("tern_header_only", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| tern_header_walk(black_box(l), &options))
                .sum::<usize>()
        })
    });
    group.bench_function("syslog_loose", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| loose_walk(black_box(l)))
                .sum::<usize>()
        })
    });
    // What a forwarder pays to use it: lines arrive as bytes and syslog_loose takes `&str`,
    // so the line must be validated as UTF-8 first (Tern validates only the header and SD
    // spans it turns into text and keeps the message as bytes).
    group.bench_function("syslog_loose_from_bytes", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| std::str::from_utf8(black_box(l.as_bytes())).map_or(0, loose_walk))
                .sum::<usize>()
        })
    });
    group.finish();
}

fn rfc5424(c: &mut Criterion) {
    let (lines, bytes) = inputs("rfc5424", |e| {
        e.header == HeaderKind::Rfc5424 && e.anomalies.is_empty()
    });
    syslog_group(c, "rfc5424", &lines, bytes);
}

fn rfc3164(c: &mut Criterion) {
    let (lines, bytes) = inputs("rfc3164", |e| {
        e.header == HeaderKind::Rfc3164 && e.pri.is_some()
    });
    syslog_group(c, "rfc3164", &lines, bytes);
}

fn cef(c: &mut Criterion) {
    use vrl::compiler::{TargetValue, TimeZone, runtime::Runtime};
    use vrl::value::{Secrets, Value};

    let (lines, bytes) = inputs("cef", |e| matches!(e.body, Body::Cef(_)));
    // VRL's parse_cef wants the text from `CEF:` (it skips a syslog prefix only in some forms);
    // give both parsers the same bare records.
    let records: Vec<String> = lines
        .iter()
        .filter_map(|l| l.find("CEF:").map(|i| l[i..].to_owned()))
        .collect();
    let fns = vrl::stdlib::all();
    let program = vrl::compiler::compile("parse_cef!(.message)", &fns)
        .unwrap()
        .program;
    let timezone = TimeZone::default();
    let vrl_ok: Vec<String> = records
        .iter()
        .filter(|r| {
            let mut target = TargetValue {
                value: Value::Object(BTreeMap::from([(
                    "message".into(),
                    Value::from(r.as_str()),
                )])),
                metadata: Value::Object(BTreeMap::new()),
                secrets: Secrets::default(),
            };
            Runtime::default()
                .resolve(&mut target, &program, &timezone)
                .is_ok()
        })
        .cloned()
        .collect();
    let bytes_ok: u64 = vrl_ok.iter().map(|l| l.len() as u64).sum();
    eprintln!(
        "cef: {} lines ({bytes} bytes) parsed by Tern; {} of them ({bytes_ok} bytes) also by VRL, measured",
        lines.len(),
        vrl_ok.len()
    );
    let options = options();
    let mut group = c.benchmark_group("cef");
    group.throughput(Throughput::Elements(vrl_ok.len() as u64));
    group.bench_function("tern", |b| {
        b.iter(|| {
            vrl_ok
                .iter()
                .map(|l| tern_walk(black_box(l), &options))
                .sum::<usize>()
        })
    });
    let mut runtime = Runtime::default();
    group.bench_function("vrl_parse_cef", |b| {
        b.iter(|| {
            vrl_ok
                .iter()
                .map(|r| {
                    let mut target = TargetValue {
                        value: Value::Object(BTreeMap::from([(
                            "message".into(),
                            Value::from(black_box(r.as_str())),
                        )])),
                        metadata: Value::Object(BTreeMap::new()),
                        secrets: Secrets::default(),
                    };
                    runtime.clear();
                    match runtime.resolve(&mut target, &program, &timezone) {
                        Ok(Value::Object(map)) => map.len(),
                        _ => 0,
                    }
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// The vendor parsers through `parse` (detection, header, and a walk of every field), on the
/// corpus lines of each vendor's folder that auto-detection reads as that vendor.
fn vendors(c: &mut Criterion) {
    let options = options();
    let mut group = c.benchmark_group("vendors");
    for vendor in tern_parsers::Vendor::ALL {
        let folder = match vendor {
            tern_parsers::Vendor::Sophos => "sophos_xg",
            other => other.name(),
        };
        let (lines, bytes) = inputs(
            folder,
            |e| matches!(&e.body, Body::Vendor(m) if m.vendor == vendor),
        );
        eprintln!(
            "{}: {} lines, {bytes} bytes, {:.0} bytes/event",
            vendor.name(),
            lines.len(),
            bytes as f64 / lines.len() as f64
        );
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(vendor.name(), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| tern_walk(black_box(l), &options))
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = rfc5424, rfc3164, cef, vendors
}
criterion_main!(benches);
