//! Property tests: no input panics, and rendering a parsed RFC 5424 or CEF event then parsing it
//! again gives the same fields.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use tern_parsers::framing::{Framing, decode_all};
use tern_parsers::{Body, Format, HeaderKind, Options, Timestamp, cef, parse, structured_data};

fn options() -> Options {
    Options::new(Timestamp::from_unix(1_795_219_200, 0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), format in 0u8..7) {
        let mut o = options();
        o.format = [Format::Auto, Format::Rfc3164, Format::Rfc5424, Format::Cef, Format::Leef, Format::CiscoAsa, Format::Text][usize::from(format)];
        if let Ok(event) = parse(&bytes, &o) {
            let _ = event.message_text();
            if let Body::Cef(c) = &event.body { let _ = c.extensions.iter().count(); }
            if let Body::Leef(l) = &event.body { let _ = l.attributes.iter().count(); }
        }
        for framing in [Framing::Auto, Framing::OctetCounting, Framing::NonTransparent] {
            let _ = decode_all(framing, 64, &bytes);
        }
    }

    #[test]
    fn syslog_shaped_text_never_panics(line in r"<[0-9]{1,3}>(1 )?[A-Za-z0-9 :\-\.\[\]=|%\x22\\]{0,200}") {
        let _ = parse(line.as_bytes(), &options());
    }

    #[test]
    fn rfc5424_round_trips(
        pri in 0u16..192,
        ts in 0i64..4_000_000_000,
        micros in 0u32..1_000_000,
        hostname in "[!-~]{1,40}",
        app in "[!-~]{1,20}",
        procid in proptest::option::of("[0-9]{1,6}"),
        msgid in proptest::option::of("[A-Za-z0-9]{1,10}"),
        elements in proptest::collection::vec(
            ("[a-zA-Z][a-zA-Z0-9@.]{0,15}", proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9]{0,10}", "[^\u{0}]{0,20}"), 0..4)),
            0..3),
        message in "[^\r\n\u{0}\u{feff}]{0,80}",
    ) {
        prop_assume!(hostname != "-" && app != "-" && !hostname.starts_with("CEF:") && !app.starts_with("CEF:")
            && !hostname.starts_with("LEEF:") && !app.starts_with("LEEF:"));
        let timestamp = Timestamp::from_unix(ts, micros * 1000);
        let mut line = format!("<{pri}>1 ");
        timestamp.write_rfc3339_utc(0, &mut line).unwrap();
        line.push_str(&format!(" {hostname} {app} {} {} ", procid.as_deref().unwrap_or("-"), msgid.as_deref().unwrap_or("-")));
        if elements.is_empty() {
            line.push('-');
        }
        for (id, params) in &elements {
            line.push('[');
            line.push_str(id);
            for (name, value) in params {
                line.push_str(&format!(" {name}=\""));
                structured_data::escape_param(value, &mut line);
                line.push('"');
            }
            line.push(']');
        }
        let message = message.trim_end_matches([' ', '\t']).trim_start();
        if !message.is_empty() {
            line.push(' ');
            line.push_str(message);
        }
        let event = parse(line.as_bytes(), &options()).unwrap();
        prop_assert_eq!(event.header, HeaderKind::Rfc5424);
        prop_assert!(event.anomalies.is_empty(), "{:?} in {}", event.anomalies, line);
        prop_assert_eq!(event.pri.unwrap().value(), pri);
        prop_assert_eq!(event.timestamp.unwrap().unix_seconds(0), ts);
        prop_assert_eq!(event.timestamp.unwrap().nanos, micros * 1000);
        prop_assert_eq!(event.hostname, Some(hostname.as_str()));
        prop_assert_eq!(event.app_name, Some(app.as_str()));
        prop_assert_eq!(event.proc_id, procid.as_deref());
        prop_assert_eq!(event.msg_id, msgid.as_deref());
        let parsed: Vec<(String, Vec<(String, String)>)> = event.structured_data.elements()
            .map(|e| (e.id.to_owned(), e.params().map(|(k, v)| (k.to_owned(), v.into_owned())).collect()))
            .collect();
        prop_assert_eq!(parsed, elements);
        prop_assert_eq!(event.message_text(), message);
    }

    #[test]
    fn cef_round_trips(
        header in proptest::collection::vec("[^\r\n]{0,12}", 6),
        pairs in proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9]{0,10}", "[a-zA-Z0-9=\\\\/:.?&\n\r|]([a-zA-Z0-9=\\\\ /:.?&\n\r|]{0,20}[a-zA-Z0-9=\\\\/:.?&\n\r|])?"), 0..8),
        empty_last in any::<bool>(),
    ) {
        let mut line = String::from("CEF:0");
        for field in &header {
            line.push('|');
            cef::escape_header(field, &mut line);
        }
        line.push('|');
        let mut expected: Vec<(String, String)> = pairs.clone();
        if empty_last {
            expected.push(("act".into(), String::new()));
        }
        for (i, (key, value)) in expected.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            line.push_str(key);
            line.push('=');
            cef::escape_value(value, &mut line);
        }
        let parsed = cef::parse_cef(line.as_bytes()).unwrap();
        let fields = [&parsed.device_vendor, &parsed.device_product, &parsed.device_version,
            &parsed.signature_id, &parsed.name, &parsed.severity];
        for (got, want) in fields.iter().zip(&header) {
            prop_assert_eq!(got.as_ref(), want.as_str());
        }
        let got: Vec<(String, String)> = parsed.extensions.iter().map(|(k, v)| (k.to_owned(), v.into_owned())).collect();
        prop_assert_eq!(got, expected, "{}", line);
    }
}
