#![no_main]
use libfuzzer_sys::fuzz_target;

// Any rsyslog or syslog-ng text (`tern migrate` reads the host's files): translating never
// panics, and the DCR it builds is one Tern loads.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut selection = tern::dcr::migrate::Selection::default();
    tern::dcr::migrate::rsyslog("fuzz.conf", text, &mut selection);
    tern::dcr::migrate::syslog_ng("fuzz.conf", text, &mut selection);
    let dcr = tern::dcr::migrate::dcr(&selection, "fuzz", "westeurope", "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w");
    if selection.syslog.iter().any(|m| *m != 0) || selection.cef {
        if let Err(errors) = tern::dcr::load::load_str("fuzz.json", &dcr.to_string()) {
            panic!("the migrated DCR does not load: {errors:?}");
        }
    }
});
