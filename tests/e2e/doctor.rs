//! `tern doctor` (issue 8): each injected misconfiguration is reported with a one-line fix:
//! a wrong secret, an expired certificate, a missing role (403), a DCR stream mismatch, a full
//! spool, a port held by another process, and the relays on the host (forwarding to Tern, to
//! nowhere, and the OMS agent's leftovers).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use tern_mock_azure::MockAzure;

use crate::support::free_port;
use crate::support::pki::Ca;

const DCR: &str = "dcr-00000000000000000000000000000009";
const STREAM: &str = "Custom-TernSyslog";

/// What to break in the setup.
#[derive(Default, Clone, Copy)]
struct Breakage {
    wrong_secret: bool,
    expired_certificate: bool,
    no_role: bool,
    wrong_stream: bool,
    full_spool: bool,
    /// Entra ID and the endpoint both unreachable (nothing listens at their port).
    endpoint_down: bool,
}

struct Outcome {
    code: Option<i32>,
    out: String,
}

impl Outcome {
    /// The verdict line for `what` and the fix line after it.
    fn line(&self, verdict: &str, what: &str) -> (String, String) {
        let lines: Vec<&str> = self.out.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("{verdict} {what}")))
            .unwrap_or_else(|| panic!("no `{verdict} {what}` line in:\n{}", self.out));
        let fix = lines
            .get(at + 1)
            .filter(|l| l.starts_with("     fix: "))
            .map(|l| l.trim_start_matches("     fix: ").to_owned())
            .unwrap_or_default();
        (lines[at].to_owned(), fix)
    }
}

async fn doctor(mock: &MockAzure, dir: &Path, broken: Breakage, root: &Path) -> Outcome {
    let ca = Ca::new(dir, "doctor");
    let server = if broken.expired_certificate {
        ca.expired_server("server")
    } else {
        ca.server("server", "tern.example.net")
    };
    let (client, secret) = match (broken.no_role, broken.wrong_secret) {
        (true, _) => ("norole", "norole-secret"),
        (false, true) => ("app", "wrong"),
        (false, false) => ("app", "right"),
    };
    std::fs::write(dir.join("secret"), secret).unwrap();
    let spool = dir.join("spool");
    std::fs::create_dir_all(spool.join("target-1")).unwrap();
    if broken.full_spool {
        std::fs::write(spool.join("target-1/00000001.seg"), vec![0u8; 1 << 20]).unwrap();
    }
    let config = format!(
        "[[listen]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:{tls}\"\n\
         tls = {{ cert = \"{cert}\", key = \"{key}\" }}\n\n\
         [[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n\n\
         [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n\
         [azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"tenant\"\nclient_id = \"{client}\"\n\
         client_secret_file = \"{secret}\"\nauthority_host = \"{url}\"\n\n\
         [[destination]]\nname = \"mock\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
         streams = {{ Syslog = \"{stream}\" }}\n\n\
         [spool]\ndir = \"{spool}\"\nmax_bytes = \"1MiB\"\n",
        tls = free_port(),
        udp = free_port(),
        metrics = free_port(),
        cert = server.cert.display(),
        key = server.key.display(),
        secret = dir.join("secret").display(),
        url = if broken.endpoint_down {
            format!("http://127.0.0.1:{}", free_port())
        } else {
            mock.url()
        },
        stream = if broken.wrong_stream {
            "Custom-Nope"
        } else {
            STREAM
        },
        spool = spool.display(),
    );
    std::fs::write(dir.join("tern.toml"), config).unwrap();
    let (config, root) = (dir.join("tern.toml"), root.to_owned());
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["doctor", "--config"])
            .arg(config)
            .arg("--root")
            .arg(root)
            .output()
            .unwrap();
        Outcome {
            code: output.status.code(),
            out: String::from_utf8(output.stdout).unwrap(),
        }
    })
    .await
    .unwrap()
}

pub(crate) async fn each_misconfiguration_is_reported_with_its_fix() {
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "right"); // the first client is the one with the role
    mock.add_client("norole", "norole-secret");
    let empty_root = tempfile::tempdir().unwrap();

    let healthy = tempfile::tempdir().unwrap();
    let outcome = doctor(
        &mock,
        healthy.path(),
        Breakage::default(),
        empty_root.path(),
    )
    .await;
    assert_eq!(outcome.code, Some(0), "{}", outcome.out);
    assert!(!outcome.out.contains("FAIL"), "{}", outcome.out);
    outcome.line("ok  ", "certificate tls://");
    outcome.line("ok  ", "spool");
    outcome.line("ok  ", "token");
    outcome.line("ok  ", "[[destination]] mock → Custom-TernSyslog");

    let cases: [(Breakage, &str, &str, &str); 6] = [
        (
            Breakage {
                wrong_secret: true,
                ..Breakage::default()
            },
            "token",
            "401",
            "check tenant_id, client_id and the secret",
        ),
        (
            Breakage {
                expired_certificate: true,
                ..Breakage::default()
            },
            "certificate tls://",
            "expired at 2021-01-01",
            "install a renewed certificate and key at the same paths",
        ),
        (
            Breakage {
                no_role: true,
                ..Breakage::default()
            },
            "[[destination]] mock",
            "403",
            "az role assignment create --role \"Monitoring Metrics Publisher\"",
        ),
        (
            Breakage {
                wrong_stream: true,
                ..Breakage::default()
            },
            "[[destination]] mock → Custom-Nope",
            "404",
            "a stream named Custom-Nope in streamDeclarations",
        ),
        (
            Breakage {
                full_spool: true,
                ..Breakage::default()
            },
            "spool",
            "(100%): nearly full",
            "fix the upload targets below",
        ),
        (
            // The network is to blame, not the credential (issue 26).
            Breakage {
                endpoint_down: true,
                ..Breakage::default()
            },
            "token",
            "Connection refused",
            "connection refused: nothing accepts connections at 127.0.0.1:",
        ),
    ];
    for (broken, what, detail, fix_start) in cases {
        let dir = tempfile::tempdir().unwrap();
        let outcome = doctor(&mock, dir.path(), broken, empty_root.path()).await;
        assert_eq!(outcome.code, Some(1), "{}", outcome.out);
        let (line, fix) = outcome.line("FAIL", what);
        assert!(line.contains(detail), "{line}");
        assert!(fix.contains(fix_start), "fix for {what}: {fix}");
        if broken.endpoint_down {
            assert!(!fix.contains("secret"), "{fix}");
        }
        // Exactly one thing was broken.
        assert_eq!(outcome.out.matches("FAIL").count(), 1, "{}", outcome.out);
    }
}

pub(crate) async fn host_relays_and_busy_ports_are_reported() {
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let rsyslog_d = root.path().join("etc/rsyslog.d");
    std::fs::create_dir_all(&rsyslog_d).unwrap();
    std::fs::write(
        rsyslog_d.join("95-omsagent.conf"),
        "local4.debug @127.0.0.1:25224\n",
    )
    .unwrap();
    // Filled in once the UDP port is known (below).
    let first = doctor(&mock, dir.path(), Breakage::default(), root.path()).await;
    let udp_line = first
        .out
        .lines()
        .find(|l| l.contains("listener udp://127.0.0.1:"))
        .unwrap()
        .to_owned();
    let udp_port: u16 = udp_line
        .split("udp://127.0.0.1:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (line, fix) = first.line("WARN", "rsyslog");
    assert!(line.contains("95-omsagent.conf"), "{line}");
    assert!(
        fix.starts_with("print the equivalent DCR with `tern migrate --rsyslog"),
        "{fix}"
    );

    // Each run rewrites tern.toml with new ports, so point the relay at a port held by a
    // socket of ours and check both the relay line and the busy-port line in one run.
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    std::fs::write(
        rsyslog_d.join("60-tern.conf"),
        format!(
            "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{held}\" protocol=\"udp\")\n\
             action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{udp_port}\" protocol=\"tcp\")\n"
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(dir.path().join("tern.toml"))
        .unwrap()
        .replace(
            &format!("127.0.0.1:{udp_port}"),
            &format!("127.0.0.1:{held}"),
        );
    std::fs::write(dir.path().join("tern.toml"), text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["doctor", "--config"])
        .arg(dir.path().join("tern.toml"))
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    let outcome = Outcome {
        code: output.status.code(),
        out: String::from_utf8(output.stdout).unwrap(),
    };
    assert_eq!(outcome.code, Some(1), "{}", outcome.out);
    let (line, fix) = outcome.line("FAIL", &format!("listener udp://127.0.0.1:{held}"));
    assert!(line.contains("in use by another process"), "{line}");
    assert!(
        fix.contains(&format!("ss -lntup 'sport = :{held}'")),
        "{fix}"
    );
    let relay_lines: Vec<&str> = outcome
        .out
        .lines()
        .filter(|l| l.contains("60-tern.conf"))
        .collect();
    assert!(
        relay_lines[0].starts_with("ok   rsyslog")
            && relay_lines[0].contains(&format!("→ Tern listener udp://127.0.0.1:{held}")),
        "{relay_lines:?}"
    );
    assert!(
        relay_lines[1].starts_with("FAIL rsyslog")
            && relay_lines[1].contains("where no Tern listener with that transport is"),
        "{relay_lines:?}"
    );
    drop(holder);
}
