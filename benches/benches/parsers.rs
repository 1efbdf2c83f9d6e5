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
use tern_benches::walks::{
    inputs, options, rfc3164_inputs, rfc5424_inputs, syslog_loose_walk, tern_header_walk, tern_walk,
};
use tern_parsers::Body;

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
                .map(|l| syslog_loose_walk(black_box(l)))
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
                .map(|l| std::str::from_utf8(black_box(l.as_bytes())).map_or(0, syslog_loose_walk))
                .sum::<usize>()
        })
    });
    group.finish();
}

fn rfc5424(c: &mut Criterion) {
    let (lines, bytes) = rfc5424_inputs();
    syslog_group(c, "rfc5424", &lines, bytes);
}

fn rfc3164(c: &mut Criterion) {
    let (lines, bytes) = rfc3164_inputs();
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
