//! DCR routing semantics, and a facility × severity × kind matrix checked against an
//! independent reference implementation written here from the rules in `dcr/routing.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tern::dcr::load::load_str;
use tern::dcr::routing::{EventKind, Routing};
use tern::tables::Table;

const WS1: &str =
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/ws1";
const WS2: &str =
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/ws2";

/// A collection DCR: sources as (stream, facilities, levels), all flowing to `workspace`.
fn dcr(name: &str, workspace: &str, sources: &[(&str, &[&str], &[&str])]) -> Value {
    let sources: Vec<Value> = sources
        .iter()
        .enumerate()
        .map(|(i, (stream, facilities, levels))| {
            json!({"name": format!("s{i}"), "streams": [stream], "facilityNames": facilities, "logLevels": levels})
        })
        .collect();
    let streams: BTreeSet<&str> = sources_streams(&sources);
    json!({
        "name": name, "location": "westeurope", "kind": "Linux",
        "properties": {
            "dataSources": {"syslog": sources},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": workspace}]},
            "dataFlows": streams.iter().map(|s| json!({"streams": [s], "destinations": ["la"]})).collect::<Vec<_>>()
        }
    })
}

fn sources_streams(sources: &[Value]) -> BTreeSet<&str> {
    sources
        .iter()
        .map(|s| s["streams"][0].as_str().unwrap())
        .collect()
}

fn compile(dcrs: &[Value], duplicate: bool) -> Routing {
    let mut loaded = Vec::new();
    for (i, d) in dcrs.iter().enumerate() {
        loaded.extend(load_str(&format!("dcr{i}.json"), &d.to_string()).unwrap());
    }
    Routing::compile(&loaded, duplicate).unwrap()
}

fn routes(
    routing: &Routing,
    facility: Option<u8>,
    severity: u8,
    kind: EventKind,
) -> BTreeSet<(Table, String)> {
    let set = routing
        .lookup(facility, severity, kind)
        .expect("rules loaded");
    set.ids()
        .map(|id| {
            let r = routing.route(id).unwrap();
            (r.table, r.workspace.to_lowercase())
        })
        .collect()
}

pub(crate) fn levels_are_sets_not_thresholds() {
    let routing = compile(
        &[dcr(
            "d",
            WS1,
            &[("Microsoft-Syslog", &["local4"], &["Warning", "Error"])],
        )],
        false,
    );
    let got = |sev| !routes(&routing, Some(20), sev, EventKind::Syslog).is_empty();
    assert!(got(4) && got(3));
    assert!(
        !got(2),
        "Critical is more severe than Warning but not in the set"
    );
    assert!(!got(5));
    assert!(routes(&routing, Some(19), 4, EventKind::Syslog).is_empty());
}

pub(crate) fn several_dcrs_are_a_union_and_a_route_is_taken_once() {
    let routing = compile(
        &[
            dcr("a", WS1, &[("Microsoft-Syslog", &["auth"], &["*"])]),
            dcr(
                "b",
                &WS1.to_uppercase(),
                &[("Microsoft-Syslog", &["AUTH", "daemon"], &["Info"])],
            ),
        ],
        false,
    );
    assert_eq!(routing.routes().len(), 1, "{:?}", routing.routes());
    assert_eq!(routes(&routing, Some(4), 6, EventKind::Syslog).len(), 1);
    assert_eq!(routes(&routing, Some(3), 6, EventKind::Syslog).len(), 1);
    assert!(routes(&routing, Some(3), 5, EventKind::Syslog).is_empty());
}

pub(crate) fn cef_lands_in_one_table_unless_asked_for_amas_duplicate() {
    let set = [dcr(
        "d",
        WS1,
        &[
            ("Microsoft-CommonSecurityLog", &["local4"], &["*"]),
            ("Microsoft-Syslog", &["local4", "auth"], &["*"]),
        ],
    )];
    let one = compile(&set, false);
    let cef = routes(&one, Some(20), 6, EventKind::Cef);
    assert_eq!(
        cef,
        BTreeSet::from([(Table::CommonSecurityLog, WS1.to_lowercase())])
    );
    assert!(
        one.notes
            .iter()
            .any(|n| n.contains("CommonSecurityLog only")),
        "{:?}",
        one.notes
    );
    // Plain syslog on local4 still goes to Syslog; CEF on a facility only Syslog selects too.
    assert_eq!(
        routes(&one, Some(20), 6, EventKind::Syslog),
        BTreeSet::from([(Table::Syslog, WS1.to_lowercase())])
    );
    assert_eq!(
        routes(&one, Some(4), 6, EventKind::Cef),
        BTreeSet::from([(Table::Syslog, WS1.to_lowercase())])
    );
    let both = compile(&set, true);
    assert_eq!(
        routes(&both, Some(20), 6, EventKind::Cef),
        BTreeSet::from([
            (Table::CommonSecurityLog, WS1.to_lowercase()),
            (Table::Syslog, WS1.to_lowercase())
        ])
    );
}

pub(crate) fn no_collection_dcr_keeps_everything() {
    let routing = Routing::compile(&[], false).unwrap();
    assert!(routing.keeps_everything());
    assert!(routing.lookup(Some(1), 5, EventKind::Syslog).is_none());
}

pub(crate) fn invalid_sets_name_file_and_path() {
    let mut d = dcr("d", WS1, &[("Microsoft-Syslog", &["auth"], &["*"])]);
    d["properties"]["dataFlows"] = json!([]);
    let loaded = load_str("noflow.json", &d.to_string()).unwrap();
    let errors = Routing::compile(&loaded, false).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "noflow.json: properties.dataSources.syslog[0].streams[0]: stream `Microsoft-Syslog` has no dataFlow: its events would go nowhere"
    );
    let mut d = dcr("d", WS1, &[("Microsoft-Syslog", &["auth"], &["*"])]);
    d["properties"]["dataFlows"][0]["destinations"] = json!(["nope"]);
    let loaded = load_str("dest.json", &d.to_string()).unwrap();
    let errors = Routing::compile(&loaded, false).unwrap_err();
    assert_eq!(errors[0].path, "properties.dataFlows[0].destinations[0]");
}

/// The rules, written again from scratch: for each (facility slot, severity), which workspaces
/// select it through each stream; then the one-table rule.
fn reference(
    selections: &[(&str, &str, Vec<usize>, Vec<u8>)],
    duplicate: bool,
    facility: Option<u8>,
    severity: u8,
    kind: EventKind,
) -> BTreeSet<(Table, String)> {
    let slots: Vec<usize> = match facility {
        Some(f) => vec![usize::from(f)],
        None => vec![1, 24],
    };
    let workspaces = |stream: &str| -> BTreeSet<String> {
        selections
            .iter()
            .filter(|(w, s, fs, ls)| {
                *s == stream
                    && ls.contains(&severity)
                    && slots.iter().any(|slot| fs.contains(slot))
                    && !w.is_empty()
            })
            .map(|(w, _, _, _)| w.to_lowercase())
            .collect()
    };
    let syslog = workspaces("Microsoft-Syslog");
    let own = match kind {
        EventKind::Syslog => BTreeSet::new(),
        EventKind::Cef => workspaces("Microsoft-CommonSecurityLog"),
        EventKind::Asa => workspaces("Microsoft-CiscoAsa"),
    };
    let mut out: BTreeSet<(Table, String)> = own
        .iter()
        .map(|w| (Table::CommonSecurityLog, w.clone()))
        .collect();
    for w in syslog {
        if kind == EventKind::Syslog || duplicate || !own.contains(&w) {
            out.insert((Table::Syslog, w));
        }
    }
    out
}

pub(crate) fn facility_severity_kind_matrix_matches_the_reference() {
    let dcrs = [
        dcr(
            "ama-cef",
            WS1,
            &[
                (
                    "Microsoft-CommonSecurityLog",
                    &["local4", "authpriv", "mark"],
                    &[
                        "Info",
                        "Notice",
                        "Warning",
                        "Error",
                        "Critical",
                        "Alert",
                        "Emergency",
                    ],
                ),
                (
                    "Microsoft-Syslog",
                    &["auth", "authpriv", "daemon", "LOCAL4"],
                    &["*"],
                ),
            ],
        ),
        dcr(
            "asa",
            WS2,
            &[
                ("Microsoft-CiscoAsa", &["local4"], &["*"]),
                (
                    "Microsoft-Syslog",
                    &["*"],
                    &["Error", "Critical", "Alert", "Emergency"],
                ),
            ],
        ),
        dcr(
            "nopri",
            WS1,
            &[("Microsoft-Syslog", &["nopri"], &["Notice"])],
        ),
    ];
    let all_levels: Vec<u8> = (0..8).collect();
    let fac = |names: &[&str]| -> Vec<usize> {
        names
            .iter()
            .flat_map(|n| match *n {
                "*" => (0..25).collect::<Vec<_>>(),
                "nopri" => vec![24],
                "mark" => vec![],
                other => vec![usize::from(
                    tern_parsers::Facility::from_name(other).unwrap().code(),
                )],
            })
            .collect()
    };
    let selections = vec![
        (
            WS1,
            "Microsoft-CommonSecurityLog",
            fac(&["local4", "authpriv", "mark"]),
            (0..7).collect(),
        ),
        (
            WS1,
            "Microsoft-Syslog",
            fac(&["auth", "authpriv", "daemon", "local4"]),
            all_levels.clone(),
        ),
        (
            WS2,
            "Microsoft-CiscoAsa",
            fac(&["local4"]),
            all_levels.clone(),
        ),
        (WS2, "Microsoft-Syslog", fac(&["*"]), vec![0, 1, 2, 3]),
        (WS1, "Microsoft-Syslog", fac(&["nopri"]), vec![5]),
    ];
    for duplicate in [false, true] {
        let routing = compile(&dcrs, duplicate);
        let mut checked = 0;
        for facility in (0..24u8).map(Some).chain([None]) {
            for severity in 0..8u8 {
                for kind in [EventKind::Syslog, EventKind::Cef, EventKind::Asa] {
                    assert_eq!(
                        routes(&routing, facility, severity, kind),
                        reference(&selections, duplicate, facility, severity, kind),
                        "facility {facility:?} severity {severity} kind {kind:?} duplicate {duplicate}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 25 * 8 * 3);
    }
}

pub(crate) mod binding {
    use super::*;
    use tern::dcr::binding::{bind, targets_from};

    fn ingestion(workspace: &str, syslog_columns: Value) -> Value {
        json!({
            "name": "ingest", "kind": "Direct",
            "properties": {
                "immutableId": "dcr-1",
                "endpoints": {"logsIngestion": "https://x.westeurope-1.ingest.monitor.azure.com"},
                "streamDeclarations": {"Custom-TernSyslog": {"columns": syslog_columns}},
                "destinations": {"logAnalytics": [{"name": "ws", "workspaceResourceId": workspace}]},
                "dataFlows": [{"streams": ["Custom-TernSyslog"], "destinations": ["ws"], "transformKql": "source", "outputStream": "Microsoft-Syslog"}]
            }
        })
    }

    fn load_all(values: &[Value]) -> Vec<tern::dcr::load::Dcr> {
        values
            .iter()
            .enumerate()
            .flat_map(|(i, v)| load_str(&format!("d{i}.json"), &v.to_string()).unwrap())
            .collect()
    }

    fn tern_syslog_columns() -> Value {
        Value::Array(
            Table::Syslog
                .columns()
                .into_iter()
                .map(|(n, t)| json!({"name": n, "type": t}))
                .collect(),
        )
    }

    pub(crate) fn routes_bind_by_table_and_workspace() {
        let dcrs = load_all(&[
            dcr("c", WS1, &[("Microsoft-Syslog", &["auth"], &["*"])]),
            ingestion(&WS1.to_uppercase(), tern_syslog_columns()),
        ]);
        let routing = Routing::compile(&dcrs, false).unwrap();
        let (targets, errors, notes) = targets_from(&dcrs);
        assert!(
            errors.is_empty() && notes.is_empty(),
            "{errors:?} {notes:?}"
        );
        let bindings = bind(&routing, targets).unwrap();
        assert_eq!(bindings.by_route, vec![vec![0]]);
        assert_eq!(bindings.targets[0].stream, "Custom-TernSyslog");
        assert_eq!(
            bindings.targets[0].endpoint.as_deref(),
            Some("https://x.westeurope-1.ingest.monitor.azure.com")
        );
    }

    pub(crate) fn a_route_without_target_is_an_error_when_targets_exist() {
        let dcrs = load_all(&[
            dcr("c", WS2, &[("Microsoft-Syslog", &["auth"], &["*"])]),
            ingestion(WS1, tern_syslog_columns()),
        ]);
        let routing = Routing::compile(&dcrs, false).unwrap();
        let (targets, _, _) = targets_from(&dcrs);
        let errors = bind(&routing, targets).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].to_string().contains(&format!("Syslog in {WS2}")),
            "{}",
            errors[0]
        );
    }

    pub(crate) fn declared_types_must_match_and_missing_columns_are_reported() {
        let columns = json!([
            {"name": "TimeGenerated", "type": "datetime"},
            {"name": "ProcessID", "type": "string"},
            {"name": "SyslogMessage", "type": "string"}
        ]);
        let dcrs = load_all(&[ingestion(WS1, columns)]);
        let (_, errors, notes) = targets_from(&dcrs);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].path,
            "properties.streamDeclarations.Custom-TernSyslog.columns[1].type"
        );
        assert!(
            errors[0]
                .message
                .contains("`ProcessID` is declared `string` but Tern writes it as `int`")
        );
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("does not declare 8 column(s)"),
            "{}",
            notes[0]
        );
    }
}

pub(crate) fn multi_homing_is_reported() {
    let routing = compile(
        &[
            dcr("a", WS1, &[("Microsoft-Syslog", &["auth"], &["*"])]),
            dcr("b", WS2, &[("Microsoft-Syslog", &["auth"], &["*"])]),
        ],
        false,
    );
    assert_eq!(routes(&routing, Some(4), 6, EventKind::Syslog).len(), 2);
    assert!(
        routing
            .notes
            .iter()
            .any(|n| n.contains("Syslog goes to 2 workspaces (multi-homing")),
        "{:?}",
        routing.notes
    );
}
