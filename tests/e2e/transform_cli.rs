//! The transformation tools, through the binary (issue 24): `tern parse --dcr` shows what a
//! DCR's selection and transformation make of each line, `tern transform test` runs a DCR's
//! transformations over sample rows, and `tern check` refuses a transformation Tern cannot run
//! with a caret under it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Stdio};

/// A collection DCR: auth and local4 to Syslog through `syslog_kql`, local4 CEF to
/// CommonSecurityLog through `cef_kql`.
fn dcr(syslog_kql: &str, cef_kql: &str) -> String {
    serde_json::json!({"name": "collect", "properties": {
        "dataSources": {"syslog": [
            {"name": "cef", "streams": ["Microsoft-CommonSecurityLog"], "facilityNames": ["local4"], "logLevels": ["*"]},
            {"name": "sys", "streams": ["Microsoft-Syslog"], "facilityNames": ["auth", "local4"], "logLevels": ["*"]}
        ]},
        "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"}]},
        "dataFlows": [
            {"streams": ["Microsoft-CommonSecurityLog"], "destinations": ["la"], "transformKql": cef_kql},
            {"streams": ["Microsoft-Syslog"], "destinations": ["la"], "transformKql": syslog_kql}
        ]
    }})
    .to_string()
}

/// Runs `tern ARGS` with `stdin`; (exit code, stdout, stderr).
fn tern(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

pub(crate) fn parse_with_a_dcr_shows_kept_transformed_and_dropped_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collect.json");
    std::fs::write(
        &file,
        dcr(
            "source | where SyslogMessage !has \"healthcheck\" | extend Site_CF = \"hq\" | project-away CollectorHostName",
            "source | where DeviceAction != \"allow\" | project TimeGenerated, DeviceVendor, DeviceAction, SourceIP",
        ),
    )
    .unwrap();
    let lines = "<38>Dec  7 10:00:00 fw1 sshd[1]: Accepted password\n\
                 <38>Dec  7 10:00:00 lb1 haproxy[1]: GET /healthcheck ok\n\
                 <14>Dec  7 10:00:00 h1 app: user facility\n\
                 <166>Dec  7 10:00:00 fw CEF:0|V|P|1|1|n|5|act=allow src=1.2.3.4\n\
                 <166>Dec  7 10:00:00 fw CEF:0|V|P|1|1|n|5|act=deny src=1.2.3.4\n";
    let (code, out, err) = tern(
        &[
            "parse",
            "--dcr",
            file.to_str().unwrap(),
            "--received-at",
            "2026-12-07T10:00:00Z",
            "--hostname",
            "coll",
        ],
        lines,
    );
    assert_eq!(code, 0, "{err}");
    let expected = [
        r#"{"table":"Syslog","row":{"TimeGenerated":"2026-12-07T10:00:00Z","EventTime":"2026-12-07T10:00:00Z","Computer":"fw1","HostName":"fw1","Facility":"auth","SeverityLevel":"info","ProcessName":"sshd","ProcessID":1,"SyslogMessage":"Accepted password","Site_CF":"hq"}}"#,
        r#"{"dropped":"transform","line":2}"#,
        r#"{"dropped":"filtered","line":3}"#,
        r#"{"dropped":"transform","line":4}"#,
        r#"{"table":"CommonSecurityLog","row":{"TimeGenerated":"2026-12-07T10:00:00Z","DeviceVendor":"V","DeviceAction":"deny","SourceIP":"1.2.3.4"}}"#,
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

pub(crate) fn transform_test_runs_a_dcrs_transformations_over_sample_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collect.json");
    std::fs::write(
        &file,
        dcr(
            "source | where SeverityLevel != \"debug\" | extend Short = substring(SyslogMessage, 0, 5)",
            "source",
        ),
    )
    .unwrap();
    let rows = "{\"TimeGenerated\":\"2026-12-07T10:00:00Z\",\"SeverityLevel\":\"info\",\"SyslogMessage\":\"hello world\"}\n\
                {\"TimeGenerated\":\"2026-12-07T10:00:00Z\",\"SeverityLevel\":\"debug\",\"SyslogMessage\":\"noise\"}\n\
                not json\n";
    let (code, out, err) = tern(
        &["transform", "test", "--dcr", file.to_str().unwrap()],
        rows,
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["row"]["Short"], "hello");
    assert_eq!(
        lines[0]["dataFlow"],
        "properties.dataFlows[1] (Microsoft-Syslog)"
    );
    assert_eq!(lines[1]["dropped"], "transform");
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("row is not JSON")
    );
}

pub(crate) fn check_refuses_a_transformation_it_cannot_run_with_a_caret() {
    let dir = tempfile::tempdir().unwrap();
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    std::fs::write(
        dcrs.join("collect.json"),
        dcr("source | summarize count() by Computer", "source"),
    )
    .unwrap();
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:5514\"\n\n[dcr]\npaths = [\"{}\"]\n",
            dcrs.display()
        ),
    )
    .unwrap();
    let (code, _, err) = tern(&["check", "--config", config.to_str().unwrap()], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("properties.dataFlows[1].transformKql: Tern cannot run this transformation, so nothing is collected for it: `summarize` is not supported in transformations"),
        "{err}"
    );
    assert!(
        err.contains("\n    source | summarize count() by Computer\n             ^^^^^^^^^\n"),
        "{err}"
    );
}
