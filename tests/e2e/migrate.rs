//! `tern migrate` (issue 8): sample legacy OMS agent configurations, written from the
//! documented formats (`reference/azure.md` §9.2), become DCRs that `tern check` accepts and
//! that select exactly the same facility/level pairs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use tern::config::DcrConfig;
use tern::dcr::routing::EventKind;
use tern::tables::Table;

const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws";

/// (facility code, severity) pairs.
type Pairs = BTreeSet<(u8, u8)>;

fn pairs(facilities: &[u8], severities: impl IntoIterator<Item = u8> + Clone) -> Pairs {
    facilities
        .iter()
        .flat_map(|f| severities.clone().into_iter().map(move |s| (*f, s)))
        .collect()
}

/// Runs `tern migrate` on the files, checks the DCR with `tern check`, and returns the pairs
/// its routing sends to `table` for events of `kind`.
fn migrate(dir: &Path, args: &[(&str, &Path)], kind: EventKind, table: Table) -> Pairs {
    migrate_with_notes(dir, args, kind, table).0
}

/// [`migrate`], and what it printed on stderr (its notes).
fn migrate_with_notes(
    dir: &Path,
    args: &[(&str, &Path)],
    kind: EventKind,
    table: Table,
) -> (Pairs, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tern"));
    command.args(["migrate", "--workspace", WORKSPACE]);
    for (flag, file) in args {
        command.arg(flag).arg(file);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dcr = dir.join("migrated.json");
    std::fs::write(&dcr, &out.stdout).unwrap();
    let config = dir.join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n[dcr]\npaths = [\"{}\"]\nwatch = false\n[metrics]\naddress = \"\"\n",
            dcr.display()
        ),
    )
    .unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "tern check refuses the migrated DCR: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let compiled = tern::dcr::compile(
        &DcrConfig {
            paths: vec![dcr],
            ..DcrConfig::default()
        },
        &[],
    )
    .unwrap();
    let mut selected = Pairs::new();
    for facility in 0..24u8 {
        for severity in 0..8u8 {
            let routes = compiled
                .routing
                .lookup(Some(facility), severity, kind)
                .unwrap();
            if routes
                .ids()
                .any(|id| compiled.routing.route(id).unwrap().table == table)
            {
                selected.insert((facility, severity));
            }
        }
    }
    (selected, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

// Facility codes.
const KERN: u8 = 0;
const USER: u8 = 1;
const DAEMON: u8 = 3;
const AUTH: u8 = 4;
const SYSLOG: u8 = 5;
const UUCP: u8 = 8;
const CRON: u8 = 9;
const AUTHPRIV: u8 = 10;
const FTP: u8 = 11;
const LOCAL0: u8 = 16;
const LOCAL4: u8 = 20;

pub(crate) fn rsyslog_default_form_keeps_warning_and_above_per_facility() {
    let dir = tempfile::tempdir().unwrap();
    let facilities = [
        "kern", "user", "daemon", "auth", "syslog", "uucp", "authpriv", "ftp", "cron", "local0",
        "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];
    let text: String = facilities
        .iter()
        .map(|f| format!("{f}.warning @127.0.0.1:25224\n"))
        .collect();
    let file = write(dir.path(), "95-omsagent.conf", &text);
    let codes = [
        KERN, USER, DAEMON, AUTH, SYSLOG, UUCP, AUTHPRIV, FTP, CRON, 16, 17, 18, 19, 20, 21, 22, 23,
    ];
    assert_eq!(
        migrate(
            dir.path(),
            &[("--rsyslog", &file)],
            EventKind::Syslog,
            Table::Syslog
        ),
        pairs(&codes, 0..=4)
    );
}

/// RainerScript `action(type="omfwd")` forwarding (one line and several), `&` continuations
/// and negations become the same pairs; what cannot be translated is listed on stderr, and the
/// rest still migrates (issue 26).
pub(crate) fn rsyslog_rainerscript_actions_and_negations() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "95-omsagent.conf",
        "auth.* action(type=\"omfwd\" target=\"127.0.0.1\" port=\"25224\" protocol=\"udp\")\n\
         local0.warning action(\n  type=\"omfwd\"\n  target=\"127.0.0.1\"\n  port=\"25224\"\n)\n\
         cron.err /var/log/cron.err\n& @@127.0.0.1:25224\n\
         local4.*;local4.!err @127.0.0.1:25224\n\
         if $programname == 'sshd' then @127.0.0.1:25224\n",
    );
    let mut expected = pairs(&[AUTH], 0..=7);
    expected.extend(pairs(&[LOCAL0], 0..=4));
    expected.extend(pairs(&[CRON], 0..=3));
    expected.extend(pairs(&[LOCAL4], 4..=7));
    let (selected, stderr) = migrate_with_notes(
        dir.path(),
        &[("--rsyslog", &file)],
        EventKind::Syslog,
        Table::Syslog,
    );
    assert_eq!(selected, expected);
    assert!(
        stderr.contains(&format!(
            "{}:10: not translated: `if $programname == 'sshd' then @127.0.0.1:25224`",
            file.display()
        )),
        "{stderr}"
    );
}

pub(crate) fn rsyslog_portal_form_with_exact_levels_and_exclusions() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "95-omsagent.conf",
        "# OMS Syslog collection for workspace 00000000-1111-2222-3333-444444444444\n\
         auth.=alert;auth.=crit;auth.=err @127.0.0.1:25224\n\
         local4.=info;local4.=notice;local4.=warning @127.0.0.1:25224\n\
         daemon.*;daemon.!=debug @127.0.0.1:25224\n\
         mail.* @10.9.9.9:514\n",
    );
    let mut expected = pairs(&[AUTH], 1..=3);
    expected.extend(pairs(&[LOCAL4], 4..=6));
    expected.extend(pairs(&[DAEMON], 0..=6));
    assert_eq!(
        migrate(
            dir.path(),
            &[("--rsyslog", &file)],
            EventKind::Syslog,
            Table::Syslog
        ),
        expected
    );
}

pub(crate) fn syslog_ng_oms_blocks_and_the_default_all_block() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "syslog-ng.conf",
        r#"@version: 3.38
source src { system(); internal(); };
#OMS_Destination
destination d_oms { udp("127.0.0.1" port(25224)); };
#OMS_facility = cron
filter f_cron_oms { level(err,crit) and facility(cron); };
log { source(src); filter(f_cron_oms); destination(d_oms); };
#OMS_facility = local0
filter f_local0_oms { level(warning..emerg) and facility(local0); };
log { source(src); filter(f_local0_oms); destination(d_oms); };
#OMS_facility = all
filter f_warning_oms { level(warning); };
destination warning_oms { tcp("127.0.0.1" port(25224)); };
log { source(src); filter(f_warning_oms); destination(warning_oms); };
destination d_file { file("/var/log/all.log"); };
log { source(src); destination(d_file); };
"#,
    );
    let mut expected = pairs(&[CRON], 2..=3);
    expected.extend(pairs(&[LOCAL0], 0..=4));
    // `level(warning)` in syslog-ng is exactly warning, on every facility.
    expected.extend(pairs(&(0..24).collect::<Vec<u8>>(), [4]));
    assert_eq!(
        migrate(
            dir.path(),
            &[("--syslog-ng", &file)],
            EventKind::Syslog,
            Table::Syslog
        ),
        expected
    );
}

pub(crate) fn cef_and_asa_forwarding_becomes_common_security_log_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let syslog = write(
        dir.path(),
        "95-omsagent.conf",
        "auth.warning @127.0.0.1:25224\n",
    );
    let cef = write(
        dir.path(),
        "security-config-omsagent.conf",
        "if $rawmsg contains \"CEF:\" or $rawmsg contains \"ASA-\" then @@127.0.0.1:25226\n& stop\n",
    );
    let files = [
        ("--rsyslog", syslog.as_path()),
        ("--rsyslog", cef.as_path()),
    ];
    let every = pairs(&(0..24).collect::<Vec<u8>>(), 0..8);
    for kind in [EventKind::Cef, EventKind::Asa] {
        assert_eq!(
            migrate(dir.path(), &files, kind, Table::CommonSecurityLog),
            every
        );
    }
    assert_eq!(
        migrate(dir.path(), &files, EventKind::Syslog, Table::Syslog),
        pairs(&[AUTH], 0..=4)
    );
}

pub(crate) fn nothing_to_migrate_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "50-default.conf", "*.* /var/log/syslog\n");
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["migrate", "--workspace", WORKSPACE, "--rsyslog"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forward nothing to the legacy agent"));
}
