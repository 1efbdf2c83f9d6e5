//! `tern migrate`: a legacy OMS agent's syslog forwarding as a collection DCR.

use std::path::PathBuf;
use std::process::ExitCode;

use super::load::print_json;

/// The legacy agent's files, where it put them (`reference/azure.md` §9.2).
pub(crate) const LEGACY_RSYSLOG: [&str; 2] = [
    "/etc/rsyslog.d/95-omsagent.conf",
    "/etc/rsyslog.d/security-config-omsagent.conf",
];
pub(crate) const LEGACY_SYSLOG_NG: [&str; 2] = [
    "/etc/syslog-ng/syslog-ng.conf",
    "/etc/syslog-ng/conf.d/security-config-omsagent.conf",
];

pub(crate) fn migrate(
    mut rsyslog: Vec<PathBuf>,
    mut syslog_ng: Vec<PathBuf>,
    workspace: &str,
    location: &str,
    name: &str,
) -> ExitCode {
    use tern::dcr::migrate;
    if rsyslog.is_empty() && syslog_ng.is_empty() {
        rsyslog = LEGACY_RSYSLOG
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        syslog_ng = LEGACY_SYSLOG_NG
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect();
        if rsyslog.is_empty() && syslog_ng.is_empty() {
            eprintln!(
                "tern: no legacy agent configuration found ({}); name files with --rsyslog or --syslog-ng",
                LEGACY_RSYSLOG
                    .iter()
                    .chain(&LEGACY_SYSLOG_NG)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let mut selection = migrate::Selection::default();
    let files = rsyslog
        .iter()
        .map(|f| (f, true))
        .chain(syslog_ng.iter().map(|f| (f, false)));
    for (file, is_rsyslog) in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("tern: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        let label = file.display().to_string();
        if is_rsyslog {
            migrate::rsyslog(&label, &text, &mut selection);
        } else {
            migrate::syslog_ng(&label, &text, &mut selection);
        }
    }
    for note in &selection.notes {
        eprintln!("tern: note: {note}");
    }
    if selection.syslog.iter().all(|m| *m == 0) && !selection.cef {
        eprintln!("tern: the files forward nothing to the legacy agent (ports 25224, 25226)");
        return ExitCode::from(1);
    }
    if selection.cef {
        eprintln!(
            "tern: note: CEF/ASA was matched by content on every facility; narrow facilityNames of \
             DS_CommonSecurityLog to what the devices use (reference: Sentinel's CEF connector)"
        );
    }
    print_json(&migrate::dcr(&selection, name, location, workspace))
}
