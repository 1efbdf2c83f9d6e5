#![no_main]
use libfuzzer_sys::fuzz_target;
use tern_parsers::pri::parse_pri;

fuzz_target!(|data: &[u8]| {
    if let Ok((rest, pri)) = parse_pri(data) {
        assert!(pri.value() <= 191);
        assert!(rest.len() < data.len());
    }
    let _ = tern_parsers::timestamp::parse_rfc3339(data);
    if let Some((bsd, _)) = tern_parsers::timestamp::parse_bsd(data) {
        let _ = bsd.resolve(&tern_parsers::Timestamp::from_unix(1_795_000_000, 0));
    }
});
