//! CommonSecurityLog rows as the daemon shapes them from firewall CEF lines whose addresses,
//! ports, byte counts, times, users and URLs vary as a firewall's do (a fixed-seed generator,
//! so compression sees realistic entropy). Shared by the upload and gzip benchmarks.

use tern::tables::{Received, Table, write_row};
use tern_parsers::{Options, Timestamp, parse};

/// `count` distinct rows (20,000 make 13 MB: far beyond gzip's 32 KiB window).
pub fn firewall_rows(count: usize) -> Vec<Vec<u8>> {
    let now = Timestamp::from_unix(1_795_219_200, 0);
    let received = Received {
        time: now,
        time_text: None,
        sender: None,
        collector_hostname: "fwd-01",
        default_offset_seconds: 0,
    };
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    (0..count)
        .map(|i| {
            let (a, b, c, d) = (next() % 256, next() % 256, next() % 256, next() % 256);
            let line = format!(
                "<134>Nov 21 10:00:00 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|end|TRAFFIC|3|src=10.{a}.{b}.{c} spt={} dst=203.0.{d}.{} dpt={} proto=TCP act=allow cs1Label=Rule cs1=rule-{} in={} out={} deviceDirection=1 request=https://example.com/{:x}/{:x} rt={} suser=user{} cat=traffic",
                1024 + next() % 60000,
                next() % 256,
                [443, 80, 53, 22, 8443][(next() % 5) as usize],
                next() % 40,
                next() % 1_000_000,
                next() % 1_000_000,
                next(),
                next(),
                1_795_219_200_000 + i as u64 * 37,
                next() % 5000
            );
            let event = parse(line.as_bytes(), &Options::new(now)).unwrap();
            let mut row = Vec::new();
            write_row(Table::CommonSecurityLog, &event, &received, &mut row);
            row
        })
        .collect()
}
