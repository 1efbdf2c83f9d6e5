//! How often Tern and syslog_loose agree on the corpus (hostname, app name, message).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use tern_benches::corpus_lines;
use tern_parsers::{Options, Timestamp, parse};

fn main() {
    let options = Options::new(Timestamp::from_unix(1_795_219_200, 0));
    for folder in ["rfc5424", "rfc3164"] {
        let (mut agree, mut total, mut loose_fail) = (0, 0, 0);
        for line in corpus_lines(folder) {
            let Ok(e) = parse(line.as_bytes(), &options) else {
                continue;
            };
            let m = syslog_loose::parse_message_with_year_tz(
                &line,
                |_| 2026,
                Some(chrono::Utc),
                syslog_loose::Variant::Either,
            );
            total += 1;
            if m.hostname.is_none() && m.timestamp.is_none() {
                loose_fail += 1;
            }
            if m.hostname == e.hostname && m.appname == e.app_name && m.msg.as_bytes() == e.message
            {
                agree += 1
            } else if std::env::args().len() > 1 {
                println!(
                    "{line}\n  loose {:?} {:?} {:?}\n  tern  {:?} {:?} {:?}",
                    m.hostname,
                    m.appname,
                    m.msg,
                    e.hostname,
                    e.app_name,
                    e.message_text()
                );
            }
        }
        println!(
            "{folder}: {total} lines, agree on host/app/msg {agree}, syslog_loose found no header in {loose_fail}"
        );
    }
}
