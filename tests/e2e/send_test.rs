//! `tern send-test` (issue 8): sample events over UDP, TCP and TLS followed through Tern's
//! counters to the mock of Azure, and the reports when they do not arrive.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

use tern_mock_azure::MockAzure;

use crate::support::free_port;
use crate::support::pki::Ca;

const DCR: &str = "dcr-0000000000000000000000000000000a";
const STREAM: &str = "Custom-TernSyslog";
const CEF_STREAM: &str = "Custom-TernCEF";

fn send_test(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("send-test")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn run_id(out: &str) -> String {
    out.split("(run id ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_owned()
}

pub(crate) async fn samples_are_followed_to_the_upload_over_udp_tcp_and_tls() {
    let mock = MockAzure::start(&[(DCR, STREAM), (DCR, CEF_STREAM)])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "send-test");
    let server = ca.server("server", "tern");
    let (udp, tcp, tls, metrics) = (free_port(), free_port(), free_port(), free_port());
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "hostname = \"fwd-send-test\"\n\
             [[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n\
             [[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\
             [[listen]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:{tls}\"\n\
             tls = {{ cert = \"{}\", key = \"{}\" }}\n\
             [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n{}\n\
             [[destination]]\nname = \"ws\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
             streams = {{ Syslog = \"{STREAM}\", CommonSecurityLog = \"{CEF_STREAM}\" }}\n",
            server.cert.display(),
            server.key.display(),
            crate::support::secret_auth(dir.path(), &mock.url()),
            url = mock.url(),
        ),
    )
    .unwrap();
    let tern = crate::support::spawn_tern(&config);
    drop(crate::support::connect_when_ready(tcp));
    // Other traffic before and during the runs: send-test counts its own events only.
    let noise = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let send_noise = || {
        for i in 0..50 {
            noise
                .send_to(
                    format!("<14>Dec  7 10:00:00 other-host app: noise {i}").as_bytes(),
                    ("127.0.0.1", udp),
                )
                .unwrap();
        }
    };
    send_noise();
    let config_arg = config.to_str().unwrap();
    let ca_arg = ca.cert.to_str().unwrap();
    for (protocol, port, extra) in [
        ("udp", udp, vec![]),
        ("tcp", tcp, vec![]),
        (
            "tls",
            tls,
            vec!["--ca", ca_arg, "--server-name", "localhost"],
        ),
    ] {
        let to = format!("127.0.0.1:{port}");
        let mut args = vec!["--to", &to, "--protocol", protocol, "--config", config_arg];
        args.extend(extra);
        send_noise();
        let (code, out) = send_test(&args);
        assert_eq!(code, Some(0), "{protocol}: {out}");
        assert!(
            out.contains("Tern received 3 of 3 (parsed: text 1, cef 1, cisco_asa 1), filtered 0"),
            "{out}"
        );
        assert!(
            out.contains(
                "rows: Syslog 1, CommonSecurityLog 2; queued for upload 3, uploaded 3, local outputs 0, no uploader 0"
            ),
            "{out}"
        );
        assert!(
            out.contains("ok: every event arrived, became a row and was uploaded"),
            "{out}"
        );
        let id = run_id(&out);
        let syslog = mock.rows(DCR, STREAM);
        let row = syslog
            .iter()
            .find(|r| r["SyslogMessage"] == format!("tern send-test {id}"))
            .unwrap_or_else(|| panic!("{protocol}: no Syslog row for {id}"));
        assert_eq!(row["Facility"], "user");
        assert_eq!(row["SeverityLevel"], "notice");
        assert_eq!(row["Computer"], format!("tern-send-test-{id}"));
        let cef = mock.rows(DCR, CEF_STREAM);
        assert!(
            cef.iter()
                .any(|r| r["Message"] == format!("tern send-test {id}")
                    && r["DeviceVendor"] == "Tern"),
            "{protocol}: no CEF row for {id}"
        );
    }
    // TLS without the CA: a clear error, exit 1.
    let to = format!("127.0.0.1:{tls}");
    let (code, out) = send_test(&["--to", &to, "--protocol", "tls", "--config", config_arg]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("TLS needs --ca"), "{out}");

    // UDP to a port where no Tern listens: sent, never received, and said so.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let (code, out) = send_test(&[
        "--to",
        &nowhere,
        "--protocol",
        "udp",
        "--config",
        config_arg,
        "--wait-seconds",
        "2",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Tern received 0 of 3: check firewalls"),
        "{out}"
    );
    // TCP to a closed port.
    let (code, out) = send_test(&["--to", &nowhere, "--protocol", "tcp"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cannot connect to"), "{out}");
    assert!(crate::support::stop_tern(tern).await.success());
}

/// A collection DCR without the `Microsoft-CiscoAsa` stream filters ASA events: send-test
/// says that stream is missing, rather than blaming facility and severity (issue 26).
pub(crate) async fn a_missing_stream_is_diagnosed_as_a_missing_stream() {
    let mock = MockAzure::start(&[(DCR, STREAM), (DCR, CEF_STREAM)])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    let workspace =
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w";
    std::fs::write(
        dcrs.join("cef-only.json"),
        serde_json::json!({
            "location": "westeurope", "kind": "Linux",
            "properties": {
                "dataSources": {"syslog": [{"name": "cef", "streams": ["Microsoft-CommonSecurityLog"],
                    "facilityNames": ["local4"], "logLevels": ["*"]}]},
                "destinations": {"logAnalytics": [{"name": "ws", "workspaceResourceId": workspace}]},
                "dataFlows": [{"streams": ["Microsoft-CommonSecurityLog"], "destinations": ["ws"]}]
            }
        })
        .to_string(),
    )
    .unwrap();
    let (tcp, metrics) = (free_port(), free_port());
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\
             [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\
             [dcr]\npaths = [\"{}\"]\n{}\n\
             [[destination]]\nname = \"ws\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
             streams = {{ Syslog = \"{STREAM}\", CommonSecurityLog = \"{CEF_STREAM}\" }}\n",
            dcrs.display(),
            crate::support::secret_auth(dir.path(), &mock.url()),
            url = mock.url(),
        ),
    )
    .unwrap();
    let tern = crate::support::spawn_tern(&config);
    drop(crate::support::connect_when_ready(tcp));
    let to = format!("127.0.0.1:{tcp}");
    let config_arg = config.to_str().unwrap();
    let (code, out) = send_test(&[
        "--to",
        &to,
        "--protocol",
        "tcp",
        "--kind",
        "all",
        "--config",
        config_arg,
        "--wait-seconds",
        "10",
    ]);
    assert_eq!(code, Some(1), "{out}");
    // CEF went through; the syslog sample (user) and the ASA sample were filtered, each for
    // its own reason.
    assert!(
        out.contains("Tern received 3 of 3 (parsed: text 1, cef 1, cisco_asa 1), filtered 2"),
        "{out}"
    );
    assert!(out.contains("queued for upload 1, uploaded 1"), "{out}");
    assert!(
        out.contains(
            "the Cisco ASA sample is filtered: no collection DCR has the Microsoft-CiscoAsa stream"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "the syslog sample is filtered: no collection DCR has the Microsoft-Syslog stream"
        ),
        "{out}"
    );
    assert!(!out.contains("facility and severity"), "{out}");
    assert!(crate::support::stop_tern(tern).await.success());
}
