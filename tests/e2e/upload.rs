//! Uploads against the in-repo mock of Azure: batches under the limits, gzip, tokens, and the
//! response rules (Retry-After, 503, token expiry, a poison row split out and quarantined,
//! connection resets), with exact accounting of rows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern::upload::auth::{ClientSecret, TokenCache};
use tern::upload::batch::{Batcher, ClosedBatch};
use tern::upload::sender::Sender;
use tern_mock_azure::{Fault, MockAzure};

use crate::support::{connect_when_ready, daemon_config, seq_of, spawn_tern, stop_tern};

const DCR: &str = "dcr-00000000000000000000000000000001";
const STREAM: &str = "Custom-TernSyslog";

async fn setup() -> (MockAzure, Sender, tempfile::TempDir) {
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "s3cr@t:with&symbols");
    let tokens = Arc::new(TokenCache::new(ClientSecret {
        authority_host: mock.url(),
        tenant_id: "tenant".into(),
        client_id: "app".into(),
        secret: "s3cr@t:with&symbols".into(),
        scope: "https://monitor.azure.com/.default".into(),
    }));
    let dir = tempfile::tempdir().unwrap();
    let sender = crate::support::fast_sender(
        &mock.url(),
        tokens,
        DCR,
        STREAM,
        dir.path().join("dead-letter.jsonl"),
    );
    (mock, sender, dir)
}

fn row(i: usize) -> Vec<u8> {
    format!(
        r#"{{"TimeGenerated":"2026-11-21T10:00:00Z","SyslogMessage":"seq={i} {}"}}"#,
        "x".repeat(i % 400)
    )
    .into_bytes()
}

fn batches(rows: impl Iterator<Item = Vec<u8>>) -> Vec<ClosedBatch> {
    let mut batcher = Batcher::new(1_000_000, tern::upload::batch::Compression::Small);
    let mut out = Vec::new();
    for r in rows {
        out.extend(batcher.push(&r).unwrap());
    }
    out.extend(batcher.close().unwrap());
    out
}

fn seqs(mock: &MockAzure) -> Vec<usize> {
    seqs_in(mock, STREAM, "SyslogMessage")
}

/// The sorted sequence numbers in `column` of the rows a stream received.
fn seqs_in(mock: &MockAzure, stream: &str, column: &str) -> Vec<usize> {
    let mut s: Vec<usize> = mock
        .rows(DCR, stream)
        .iter()
        .map(|r| seq_of(&r[column]))
        .collect();
    s.sort_unstable();
    s
}

pub(crate) async fn every_row_arrives_once_in_gzip_bodies_under_the_limit() {
    let (mock, sender, _dir) = setup().await;
    let all = batches((0..20_000).map(row));
    assert!(all.len() >= 4, "{} batches", all.len());
    let mut delivered = 0;
    for b in &all {
        delivered += sender.deliver(b).await.rows;
    }
    assert_eq!(delivered, 20_000);
    assert_eq!(seqs(&mock), (0..20_000).collect::<Vec<_>>());
    let seen = mock.seen();
    assert_eq!(seen.len(), all.len());
    assert!(
        seen.iter()
            .all(|s| s.status == 204 && s.gzip && s.uncompressed_bytes <= 1_000_000)
    );
}

pub(crate) async fn tokens_and_uploads_go_through_the_proxy_with_decoded_credentials() {
    // The mock stands in for the proxy too: requests arrive in absolute form with
    // Proxy-Authorization. The endpoint and authority given to Tern are an address nothing
    // listens on, so only a proxied request can succeed.
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "secret");
    let nowhere = "http://127.0.0.2:9";
    let proxy =
        tern::upload::ProxyConfig::parse(&format!("http://tern:p%40ss%3Aw0rd@{}", mock.address))
            .unwrap();
    let http = tern::upload::http_client_with(&tern::upload::HttpOptions {
        proxy: Some(proxy),
        ca_file: None,
    })
    .unwrap();
    let tokens = Arc::new(TokenCache::new(ClientSecret {
        authority_host: nowhere.into(),
        tenant_id: "tenant".into(),
        client_id: "app".into(),
        secret: "secret".into(),
        scope: "https://monitor.azure.com/.default".into(),
    }));
    let dir = tempfile::tempdir().unwrap();
    let sender = crate::support::fast_sender_with(
        http,
        nowhere,
        tokens,
        DCR,
        STREAM,
        dir.path().join("dead-letter.jsonl"),
    );
    let all = batches((0..500).map(row));
    for b in &all {
        let delivered = tokio::time::timeout(Duration::from_secs(20), sender.deliver(b))
            .await
            .expect("delivered through the proxy");
        assert_eq!(delivered.rows, b.rows);
    }
    assert_eq!(seqs(&mock), (0..500).collect::<Vec<_>>());
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "tern:p@ss:w0rd")
    );
    let seen = mock.proxy_authorizations();
    // One token request and one request per batch, each with the decoded credentials.
    assert_eq!(seen.len(), 1 + all.len());
    assert!(seen.iter().all(|h| *h == expected), "{seen:?}");
}

pub(crate) async fn https_with_a_private_ca_needs_ca_file() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
    let mock = MockAzure::start_tls(
        &[(DCR, STREAM)],
        &read("test-only-server.pem"),
        &read("test-only-server.key.pem"),
    )
    .await
    .unwrap();
    assert!(mock.url().starts_with("https://127.0.0.1:"));
    mock.add_client("app", "secret");
    let tokens = || {
        Arc::new(TokenCache::new(ClientSecret {
            authority_host: mock.url(),
            tenant_id: "tenant".into(),
            client_id: "app".into(),
            secret: "secret".into(),
            scope: "https://monitor.azure.com/.default".into(),
        }))
    };
    // The system's roots do not include the test CA: the handshake fails.
    let err = tokens()
        .token(&tern::upload::http_client().unwrap())
        .await
        .unwrap_err();
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.contains("UnknownIssuer"), "{chain}");

    let http = tern::upload::http_client_with(&tern::upload::HttpOptions {
        proxy: None,
        ca_file: Some(fixtures.join("test-only-ca.pem")),
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sender = crate::support::fast_sender_with(
        http,
        &mock.url(),
        tokens(),
        DCR,
        STREAM,
        dir.path().join("dead-letter.jsonl"),
    );
    for b in &batches((0..300).map(row)) {
        tokio::time::timeout(Duration::from_secs(20), sender.deliver(b))
            .await
            .expect("delivered over TLS");
    }
    assert_eq!(seqs(&mock), (0..300).collect::<Vec<_>>());
}

pub(crate) async fn retry_after_503_and_resets_are_waited_out() {
    let (mock, sender, _dir) = setup().await;
    mock.inject([
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        Fault::Reset,
    ]);
    let batch = &batches((0..100).map(row))[0];
    let started = Instant::now();
    let result = sender.deliver(batch).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(
        (result.rows, result.retries, result.quarantined),
        (100, 4, 0)
    );
    assert_eq!(seqs(&mock), (0..100).collect::<Vec<_>>());
}

pub(crate) async fn an_expired_token_is_replaced_mid_stream() {
    let (mock, sender, _dir) = setup().await;
    let all = batches((0..300).map(row).collect::<Vec<_>>().into_iter());
    sender.deliver(&all[0]).await;
    mock.expire_tokens();
    let again = batches((300..600).map(row));
    let result = sender.deliver(&again[0]).await;
    assert_eq!(result.rows, 300);
    assert_eq!(seqs(&mock), (0..600).collect::<Vec<_>>());
    assert!(mock.seen().iter().any(|s| s.status == 401));
}

pub(crate) async fn a_poison_row_is_quarantined_and_the_rest_delivered() {
    let (mock, sender, dir) = setup().await;
    let poison = br#"{"SyslogMessage":"seq=999999 no time"}"#.to_vec();
    let rows = (0..50).map(row).chain([poison]).chain((50..100).map(row));
    let batch = &batches(rows)[0];
    let result = sender.deliver(batch).await;
    assert_eq!((result.rows, result.quarantined), (100, 1));
    assert_eq!(seqs(&mock), (0..100).collect::<Vec<_>>());
    let dead = std::fs::read_to_string(dir.path().join("dead-letter.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 1);
    let entry: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(entry["status"], 400);
    assert_eq!(entry["rows"][0]["SyslogMessage"], "seq=999999 no time");
    assert!(entry["reason"].as_str().unwrap().contains("TimeGenerated"));
}

/// `tern doctor` against the mock: a good setup, a wrong stream, a wrong secret.
pub(crate) async fn doctor_checks_token_endpoint_and_stream() {
    let mock = MockAzure::start(&[(DCR, STREAM)]).await.unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let run = |stream: &'static str, secret: &'static str| {
        let dir = dir.path().to_owned();
        let url = mock.url();
        tokio::task::spawn_blocking(move || {
            std::fs::write(dir.join("secret"), secret).unwrap();
            let config = format!(
                r#"[[listen]]
protocol = "udp"
address = "127.0.0.1:1"

[azure.auth]
method = "client-secret"
tenant_id = "tenant"
client_id = "app"
client_secret_file = "{secret}"
authority_host = "{url}"

[[destination]]
name = "mock"
endpoint = "{url}"
dcr_immutable_id = "{DCR}"
streams = {{ Syslog = "{stream}" }}
"#,
                secret = dir.join("secret").display()
            );
            std::fs::write(dir.join("tern.toml"), config).unwrap();
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
                .args(["doctor", "--config"])
                .arg(dir.join("tern.toml"))
                .output()
                .unwrap();
            (
                output.status.code(),
                String::from_utf8(output.stdout).unwrap(),
            )
        })
    };
    let (code, out) = run(STREAM, "right").await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("ok   token: client secret of app app in tenant tenant"),
        "{out}"
    );
    assert!(
        out.contains("ok   [[destination]] mock → Custom-TernSyslog"),
        "{out}"
    );
    let (code, out) = run("Custom-Nope", "right").await.unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL [[destination]] mock → Custom-Nope")
            && out.contains("404: wrong DCR immutable id, stream name"),
        "{out}"
    );
    let (code, out) = run(STREAM, "wrong").await.unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL token") && out.contains("401") && !out.contains("wrong"),
        "the secret is not printed: {out}"
    );
}

/// The daemon end to end: TCP syslog in, rows uploaded to two streams (Syslog and
/// CommonSecurityLog) of the mock, every row exactly once, every request gzip and ≤ 1 MB,
/// through a 429 and a 503 on the way.
pub(crate) async fn the_daemon_uploads_every_row_once() {
    const CEF_STREAM: &str = "Custom-TernCEF";
    let mock = MockAzure::start(&[(DCR, STREAM), (DCR, CEF_STREAM)])
        .await
        .unwrap();
    mock.add_client("app", "right");
    mock.inject([
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let config = format!(
        r#"{base}

{auth}
[azure.upload]
dead_letter_path = "{dead}"

[[destination]]
name = "mock"
endpoint = "{url}"
dcr_immutable_id = "{DCR}"
streams = {{ Syslog = "{STREAM}", CommonSecurityLog = "{CEF_STREAM}" }}
"#,
        base = daemon_config("fwd-up", port, &dir.path().join("rows.jsonl"), ""),
        auth = crate::support::secret_auth(dir.path(), &mock.url()),
        dead = dir.path().join("dead.jsonl").display(),
        url = mock.url(),
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    const N: usize = 30_000;
    // Sends messages `range` on a new connection (CEF on even numbers, plain syslog on odd).
    let send = |range: std::ops::Range<usize>| {
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut stream = connect_when_ready(port);
            let mut text = String::new();
            for i in range {
                if i % 2 == 0 {
                    text.push_str(&format!(
                        "<134>Nov 21 10:00:00 fw CEF:0|V|P|1|100|seq={i}|5|src=10.0.0.1 dpt=443\n"
                    ));
                } else {
                    text.push_str(&format!("<14>Nov 21 10:00:00 host app: seq={i}\n"));
                }
            }
            stream.write_all(text.as_bytes()).unwrap();
        })
    };
    let arrived = |want: usize| {
        let mock = &mock;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let have = mock.rows(DCR, STREAM).len() + mock.rows(DCR, CEF_STREAM).len();
                if have >= want {
                    break;
                }
                assert!(Instant::now() < deadline, "{have} of {want} rows arrived");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    send(0..N / 2).await.unwrap();
    arrived(N / 2).await;
    // Mid-stream: every token expires, and the next request's connection is reset.
    mock.expire_tokens();
    mock.inject([Fault::Reset]);
    send(N / 2..N).await.unwrap();
    arrived(N).await;
    // Stopping drains: every upload Tern makes is in before it exits.
    assert!(stop_tern(child).await.success());
    let mut seqs: Vec<usize> = mock
        .rows(DCR, STREAM)
        .iter()
        .map(|r| seq_of(&r["SyslogMessage"]))
        .chain(
            mock.rows(DCR, CEF_STREAM)
                .iter()
                .map(|r| seq_of(&r["Activity"])),
        )
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "every row exactly once");
    let cef = mock.rows(DCR, CEF_STREAM);
    assert_eq!(cef[0]["DestinationPort"], 443);
    assert_eq!(cef[0]["CollectorHostName"], "fwd-up");
    let seen = mock.seen();
    assert!(seen.iter().any(|s| s.status == 429) && seen.iter().any(|s| s.status == 503));
    assert!(
        seen.iter().any(|s| s.status == 401),
        "the expired token was refused, then replaced"
    );
    assert!(seen.iter().any(|s| s.status == 0), "the reset happened");
    assert!(
        seen.iter()
            .all(|s| s.gzip && s.uncompressed_bytes <= 1_000_000)
    );
}

/// 100 targets (issue 23): every one gets every row, once. The pipeline kept a 64-bit mask of
/// targets and dropped the rows of the others without a count.
pub(crate) async fn a_hundred_destinations_each_get_every_row() {
    const TARGETS: usize = 100;
    const N: usize = 20;
    let dcrs: Vec<String> = (0..TARGETS).map(|i| format!("dcr-{i:032x}")).collect();
    let streams: Vec<(&str, &str)> = dcrs.iter().map(|d| (d.as_str(), STREAM)).collect();
    let mock = MockAzure::start(&streams).await.unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let mut config = format!(
        "{base}\n{auth}\n",
        base = daemon_config("fwd-100", port, &dir.path().join("rows.jsonl"), ""),
        auth = crate::support::secret_auth(dir.path(), &mock.url()),
    );
    for (i, dcr) in dcrs.iter().enumerate() {
        config.push_str(&format!(
            "[[destination]]\nname = \"d{i}\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{dcr}\"\n\
             streams = {{ Syslog = \"{STREAM}\" }}\n",
            url = mock.url()
        ));
    }
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        for i in 0..N {
            writeln!(stream, "<14>Nov 21 10:00:00 host app: seq={i}").unwrap();
        }
    })
    .await
    .unwrap();
    crate::support::wait_until_async("every target's rows", Duration::from_secs(60), || {
        dcrs.iter().all(|dcr| mock.rows(dcr, STREAM).len() >= N)
    })
    .await;
    assert!(stop_tern(child).await.success());
    for dcr in &dcrs {
        let mut seqs: Vec<usize> = mock
            .rows(dcr, STREAM)
            .iter()
            .map(|r| seq_of(&r["SyslogMessage"]))
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "{dcr}: every row once");
    }
}

/// Multi-homing: DCRs route `user` to two workspaces; each has its own destination; every
/// event reaches both, once each.
pub(crate) async fn two_workspaces_each_get_every_row_once() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1"), (DCR, "Custom-WS2")])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let config = two_workspace_config(
        dir.path(),
        &mock.url(),
        port,
        (&["ws1", "ws2"], &["ws1", "ws2"]),
        "",
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    const N: usize = 2_000;
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        // `user` (selected) and `daemon` (not selected) alternate.
        let text: String = (0..2 * N)
            .map(|i| {
                if i % 2 == 0 {
                    format!("<14>Nov 21 10:00:00 h app: seq={}\n", i / 2)
                } else {
                    format!("<30>Nov 21 10:00:00 h app: other={i}\n")
                }
            })
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while mock.rows(DCR, "Custom-WS1").len() < N || mock.rows(DCR, "Custom-WS2").len() < N {
        assert!(
            Instant::now() < deadline,
            "ws1 {} ws2 {}",
            mock.rows(DCR, "Custom-WS1").len(),
            mock.rows(DCR, "Custom-WS2").len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stopping drains: every upload Tern makes is in before it exits.
    assert!(stop_tern(child).await.success());
    for stream in ["Custom-WS1", "Custom-WS2"] {
        assert_eq!(
            seqs_in(&mock, stream, "SyslogMessage"),
            (0..N).collect::<Vec<_>>(),
            "{stream}"
        );
    }
}

/// The acceptance run of issue 5: `logger` directly and through a real rsyslog relay → Tern →
/// two workspaces (Syslog and CommonSecurityLog each), authenticated with a certificate,
/// through a storm of 429s with `Retry-After` and then a minute of 503s. Every row arrives
/// exactly once in each workspace with its columns, and Tern's counters equal what the mock
/// received, request by request.
pub(crate) async fn relays_to_two_workspaces_through_429_storms_and_a_minute_of_503() {
    let streams = [
        "Custom-WS1-Syslog",
        "Custom-WS1-CEF",
        "Custom-WS2-Syslog",
        "Custom-WS2-CEF",
    ];
    let mock = MockAzure::start(&streams.map(|s| (DCR, s))).await.unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let certificate = fixtures.join("test-only-client-certificate.pem");
    mock.add_certificate_client(
        "cert-app",
        &std::fs::read_to_string(&certificate).unwrap(),
        &std::fs::read_to_string(fixtures.join("test-only-client-certificate.rsa-public.pem"))
            .unwrap(),
    );
    // The storm: the first 12 requests are refused with `Retry-After: 1`.
    mock.inject((0..12).map(|_| Fault::Status {
        status: 429,
        retry_after: Some(1),
    }));
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let metrics_port = crate::support::free_port();
    let url = mock.url();
    let destinations: String = ["WS1", "WS2"]
        .iter()
        .map(|ws| {
            format!(
                "[[destination]]\nname = \"{ws}\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
                 streams = {{ Syslog = \"Custom-{ws}-Syslog\", CommonSecurityLog = \"Custom-{ws}-CEF\" }}\n\n"
            )
        })
        .collect();
    let config = format!(
        r#"{base}

[azure.auth]
method = "client-certificate"
tenant_id = "tenant"
client_id = "cert-app"
certificate_file = "{certificate}"
authority_host = "{url}"

[azure.upload]
dead_letter_path = "{dead}"

{destinations}"#,
        base = daemon_config(
            "fwd-accept",
            port,
            &dir.path().join("rows.jsonl"),
            &format!("127.0.0.1:{metrics_port}")
        ),
        certificate = certificate.display(),
        dead = dir.path().join("dead.jsonl").display(),
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    drop(connect_when_ready(port));

    // A real relay: rsyslog takes TCP from logger and forwards octet-counted to Tern.
    let relay_port = crate::support::free_port();
    let relay = crate::support::rsyslog_relay(
        relay_port,
        r#""#,
        &format!(
            r#"action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")"#
        ),
    );

    // Messages as files for `logger -f` (one message per line), half syslog, half CEF.
    const PER_PART: usize = 400;
    let write_part = |name: &str, range: std::ops::Range<usize>, cef: bool| {
        let path = dir.path().join(name);
        let text: String = range
            .map(|i| {
                if cef {
                    format!("CEF:0|Vendor|Product|1.0|100|seq={i}|5|src=10.0.0.1 dst=10.0.0.2 dpt=443 act=allow\n")
                } else {
                    format!("seq={i} user admin logged in\n")
                }
            })
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    // Each `logger` call: (target port, priority, tag, file). Sequence numbers are unique
    // across parts, so every row can be told apart.
    let send = crate::support::logger_file;
    let parts = [
        (
            port,
            "auth.notice",
            "sshd",
            write_part("a", 0..PER_PART, false),
        ),
        (
            port,
            "local4.info",
            "fw",
            write_part("b", PER_PART..2 * PER_PART, true),
        ),
        (
            relay_port,
            "auth.notice",
            "sshd",
            write_part("c", 2 * PER_PART..3 * PER_PART, false),
        ),
        (
            relay_port,
            "local4.info",
            "fw",
            write_part("d", 3 * PER_PART..4 * PER_PART, true),
        ),
    ];
    let wait_for = |want: usize| {
        let mock = &mock;
        async move {
            crate::support::wait_for_async("the rows", Duration::from_secs(150), || {
                let have: usize = streams.iter().map(|s| mock.rows(DCR, s).len()).sum();
                if have >= want {
                    Ok(())
                } else {
                    Err(format!("{have} of {want} rows arrived"))
                }
            })
            .await;
        }
    };
    for (port, priority, tag, file) in &parts[..2] {
        send(*port, priority, tag, file);
    }
    wait_for(2 * 2 * PER_PART).await;
    // A minute of 503s (with `Retry-After: 5`), while the relay's half is sent.
    mock.outage(503, Duration::from_secs(60), Some(5));
    let outage_started = Instant::now();
    for (port, priority, tag, file) in &parts[2..] {
        send(*port, priority, tag, file);
    }
    wait_for(2 * 4 * PER_PART).await;
    assert!(outage_started.elapsed() >= Duration::from_secs(60));
    // Tern counts a request once its answer is in: wait until it has counted every one the
    // mock saw.
    let mut exposition = String::new();
    crate::support::wait_until_async(
        "Tern's counts of the mock's requests",
        Duration::from_secs(30),
        || {
            exposition = crate::support::http_get(metrics_port, "/metrics")
                .unwrap_or_default()
                .1;
            crate::support::metric_sum(&exposition, "tern_upload_requests_total", "")
                == mock.seen().len() as u64
                && crate::support::metric_sum(&exposition, "tern_upload_rows_total", "")
                    == 2 * 4 * PER_PART as u64
        },
    )
    .await;
    drop(relay);
    assert!(stop_tern(child).await.success());

    // Every row exactly once in each workspace, with its columns.
    let syslog_seqs: Vec<usize> = (0..PER_PART).chain(2 * PER_PART..3 * PER_PART).collect();
    let cef_seqs: Vec<usize> = (PER_PART..2 * PER_PART)
        .chain(3 * PER_PART..4 * PER_PART)
        .collect();
    for ws in ["WS1", "WS2"] {
        let syslog_stream = format!("Custom-{ws}-Syslog");
        let cef_stream = format!("Custom-{ws}-CEF");
        assert_eq!(
            seqs_in(&mock, &syslog_stream, "SyslogMessage"),
            syslog_seqs,
            "{ws} Syslog"
        );
        assert_eq!(
            seqs_in(&mock, &cef_stream, "Activity"),
            cef_seqs,
            "{ws} CEF"
        );
        let syslog = mock.rows(DCR, &syslog_stream);
        let relayed = syslog
            .iter()
            .find(|r| seq_of(&r["SyslogMessage"]) == 2 * PER_PART)
            .unwrap();
        assert_eq!(relayed["Facility"], "auth");
        assert_eq!(relayed["SeverityLevel"], "notice");
        assert_eq!(relayed["ProcessName"], "sshd");
        assert_eq!(
            relayed["SyslogMessage"],
            format!("seq={} user admin logged in", 2 * PER_PART)
        );
        let cef = mock.rows(DCR, &cef_stream);
        let row = &cef[0];
        assert_eq!(row["DeviceVendor"], "Vendor");
        assert_eq!(row["SourceIP"], "10.0.0.1");
        assert_eq!(row["DestinationPort"], 443);
        assert_eq!(row["DeviceAction"], "allow");
        assert_eq!(row["CollectorHostName"], "fwd-accept");
    }

    // The counters equal what the mock saw.
    let seen = mock.seen();
    let seen_with = |status: u16| seen.iter().filter(|s| s.status == status).count() as u64;
    let metric = |name: &str, filter: &str| crate::support::metric_sum(&exposition, name, filter);
    let accepted_rows: usize = streams.iter().map(|s| mock.rows(DCR, s).len()).sum();
    assert_eq!(accepted_rows, 2 * 4 * PER_PART);
    assert_eq!(metric("tern_upload_rows_total", ""), accepted_rows as u64);
    assert_eq!(seen_with(429), 12);
    assert!(seen_with(503) >= 4, "{} requests got 503", seen_with(503));
    for status in [204, 429, 503] {
        assert_eq!(
            metric(
                "tern_upload_requests_total",
                &format!("status=\"{status}\"")
            ),
            seen_with(status),
            "requests answered {status}"
        );
    }
    assert_eq!(
        metric("tern_upload_requests_total", ""),
        seen.len() as u64,
        "every request the mock saw is counted once"
    );
    let accepted_bytes: usize = seen
        .iter()
        .filter(|s| s.status == 204)
        .map(|s| s.wire_bytes)
        .sum();
    assert_eq!(metric("tern_upload_bytes_total", ""), accepted_bytes as u64);
    assert_eq!(
        metric("tern_upload_retries_total", ""),
        seen_with(429) + seen_with(503)
    );
    assert_eq!(metric("tern_upload_quarantined_rows_total", ""), 0);
    assert!(
        seen.iter()
            .all(|s| s.gzip && s.uncompressed_bytes <= 1_000_000)
    );
}

/// One workspace down for 40 s does not hold back the other: every row reaches the healthy
/// one while the outage lasts (the failing target's batches wait in its own queue), and the
/// failing one gets every row once it is back.
pub(crate) async fn a_failing_workspace_does_not_stall_the_other() {
    let mock = MockAzure::start(&[(DCR, "Custom-Down"), (DCR, "Custom-Up")])
        .await
        .unwrap();
    mock.add_client("app", "right");
    mock.stream_outage("Custom-Down", 503, Duration::from_secs(40), Some(1));
    let outage_started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let url = mock.url();
    let config = format!(
        "{base}\n{auth}\n\
         [[destination]]\nname = \"down\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\nstreams = {{ Syslog = \"Custom-Down\" }}\n\n\
         [[destination]]\nname = \"up\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\nstreams = {{ Syslog = \"Custom-Up\" }}\n",
        base = daemon_config("fwd-two", port, &dir.path().join("rows.jsonl"), ""),
        auth = crate::support::secret_auth(dir.path(), &url),
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    // Far more than the channels and requests in flight hold (about 40 MB of rows).
    const N: usize = 100_000;
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        let padding = "x".repeat(200);
        let text: String = (0..N)
            .map(|i| format!("<14>Nov 21 10:00:00 h app: seq={i} {padding}\n"))
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
    let left = (outage_started + Duration::from_secs(35)).saturating_duration_since(Instant::now());
    crate::support::wait_for_async("the healthy workspace's rows", left, || {
        let have = mock.rows(DCR, "Custom-Up").len();
        if have >= N {
            Ok(())
        } else {
            Err(format!(
                "the healthy workspace got {have} of {N} rows while the other was down"
            ))
        }
    })
    .await;
    assert!(
        mock.rows(DCR, "Custom-Down").is_empty(),
        "the outage is still on"
    );
    crate::support::wait_for_async("the rows after the outage", Duration::from_secs(60), || {
        let have = mock.rows(DCR, "Custom-Down").len();
        if have >= N {
            Ok(())
        } else {
            Err(format!("{have} of {N} rows after the outage"))
        }
    })
    .await;
    // Stopping drains: every upload Tern makes is in before it exits.
    assert!(stop_tern(child).await.success());
    for stream in ["Custom-Down", "Custom-Up"] {
        assert_eq!(
            seqs_in(&mock, stream, "SyslogMessage"),
            (0..N).collect::<Vec<_>>(),
            "{stream}"
        );
    }
}

/// A DCR collecting `user` (all levels) into workspace `ws`.
fn user_dcr(ws: &str) -> String {
    serde_json::json!({"properties": {
        "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": ["user"], "logLevels": ["*"]}]},
        "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": format!("/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{ws}")}]},
        "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
    }})
    .to_string()
}

/// The ingestion DCR (as exported from Azure) of the mock's stream `Custom-WS…` for workspace
/// `ws`: what a user adds beside the collection DCR to send to a new workspace.
fn ingestion_dcr(ws: &str, url: &str) -> String {
    let columns: Vec<serde_json::Value> = tern::tables::Table::Syslog
        .columns()
        .into_iter()
        .map(|(name, kind)| serde_json::json!({"name": name, "type": kind}))
        .collect();
    let stream = format!("Custom-{}", ws.to_uppercase());
    serde_json::json!({
        "name": format!("ingest-{ws}"), "kind": "Direct",
        "properties": {
            "immutableId": DCR,
            "endpoints": {"logsIngestion": url},
            "streamDeclarations": {stream.clone(): {"columns": columns}},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": format!("/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{ws}")}]},
            "dataFlows": [{"streams": [stream], "destinations": ["la"], "transformKql": "source", "outputStream": "Microsoft-Syslog"}]
        }
    })
    .to_string()
}

/// A config with a TCP listener on `port`, `[[destination]]`s for the workspaces `destined`
/// (ws1 → stream Custom-WS1 of the mock, ws2 → Custom-WS2), and collection DCRs in `dir/dcr`
/// for the workspaces `routed`.
fn two_workspace_config(
    dir: &std::path::Path,
    url: &str,
    port: u16,
    (routed, destined): (&[&str], &[&str]),
    metrics: &str,
) -> String {
    let dcrs = dir.join("dcr");
    std::fs::create_dir_all(&dcrs).unwrap();
    for ws in routed {
        std::fs::write(dcrs.join(format!("{ws}.json")), user_dcr(ws)).unwrap();
    }
    let destinations: String = destined
        .iter()
        .map(|ws| {
            format!(
                "[[destination]]\nname = \"{ws}\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\nstreams = {{ Syslog = \"Custom-{}\" }}\nworkspace = \"/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{ws}\"\n\n",
                ws.to_uppercase()
            )
        })
        .collect();
    format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n[[output]]\nkind = \"file\"\npath = \"{rows}\"\n\n[metrics]\naddress = \"{metrics}\"\n\n[dcr]\npaths = [\"{dcrs}\"]\nwatch = true\n\n{auth}\n{destinations}",
        rows = dir.join("rows.jsonl").display(),
        dcrs = dcrs.display(),
        auth = crate::support::secret_auth(dir, url),
    )
}

/// The sum of the series of metric `name` matching `filter` on the metrics port (0 when it
/// does not answer yet).
fn read_metric(metrics_port: u16, name: &str, filter: &str) -> u64 {
    crate::support::http_get(metrics_port, "/metrics").map_or(0, |(_, text)| {
        crate::support::metric_sum(&text, name, filter)
    })
}

/// Waits (30 s at most) until `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `user` messages `range` (`seq=N`) on a new connection.
async fn send_user(port: u16, range: std::ops::Range<usize>) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        let text: String = range
            .map(|i| format!("<14>Nov 21 10:00:00 h app: seq={i}\n"))
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
}

/// A workspace that a DCR reload adds (a new DCR file while Tern runs) gets its uploader then:
/// every row routed to it after the reload arrives, none is dropped as `no_uploader`, and no
/// restart is needed (decision 84).
pub(crate) async fn a_workspace_added_by_a_dcr_reload_gets_every_row_without_a_restart() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1"), (DCR, "Custom-WS2")])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (crate::support::free_port(), crate::support::free_port());
    // ws1 only: its collection DCR and a [[destination]].
    let config = two_workspace_config(
        dir.path(),
        &mock.url(),
        port,
        (&["ws1"], &["ws1"]),
        &format!("127.0.0.1:{metrics_port}"),
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    let metric = |name: &str, filter: &str| read_metric(metrics_port, name, filter);
    const N: usize = 1_000;
    send_user(port, 0..N).await;
    until("ws1's first rows", || {
        mock.rows(DCR, "Custom-WS1").len() >= N
    })
    .await;
    // A new workspace: its ingestion DCR (one reload: a target nobody routes to yet), then the
    // collection DCR that routes `user` to it (a second reload).
    let dcrs = dir.path().join("dcr");
    std::fs::write(
        dcrs.join("ws2-ingest.json"),
        ingestion_dcr("ws2", &mock.url()),
    )
    .unwrap();
    until("the reload with the ingestion DCR", || {
        metric("tern_dcr_reloads_total", "result=\"ok\"") == 1
    })
    .await;
    std::fs::write(dcrs.join("ws2.json"), user_dcr("ws2")).unwrap();
    until("the reload with the collection DCR", || {
        metric("tern_dcr_reloads_total", "result=\"ok\"") == 2
    })
    .await;
    assert_eq!(metric("tern_dcr_reloads_total", "result=\"failed\""), 0);
    send_user(port, N..2 * N).await;
    until("the rows after the reload", || {
        mock.rows(DCR, "Custom-WS1").len() >= 2 * N && mock.rows(DCR, "Custom-WS2").len() >= N
    })
    .await;
    // Every row has arrived, so every row has been routed: a drop would be counted by now.
    assert_eq!(
        metric("tern_dropped_total", "reason=\"no_uploader\""),
        0,
        "rows dropped for want of an uploader"
    );
    assert!(stop_tern(child).await.success());
    assert_eq!(
        seqs_in(&mock, "Custom-WS1", "SyslogMessage"),
        (0..2 * N).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs_in(&mock, "Custom-WS2", "SyslogMessage"),
        (N..2 * N).collect::<Vec<_>>()
    );
}

/// The collection DCR of `user_dcr` with a transformation on its Syslog dataFlow.
fn user_dcr_with_transform(ws: &str, kql: &str) -> String {
    let mut dcr: serde_json::Value = serde_json::from_str(&user_dcr(ws)).unwrap();
    dcr["properties"]["dataFlows"][0]["transformKql"] = serde_json::Value::from(kql);
    dcr.to_string()
}

/// `user` messages `range` on a new connection, `seq=N keep` or, for odd N, `seq=N drop`.
async fn send_keep_or_drop(port: u16, range: std::ops::Range<usize>) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        let text: String = range
            .map(|i| {
                let what = if i % 2 == 0 { "keep" } else { "drop" };
                format!("<14>Nov 21 10:00:00 h app: seq={i} {what}\n")
            })
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
}

/// A collection DCR's transformation runs before upload (issue 24): its `where` drops rows
/// (counted by DCR and stream), its `extend` changes them; a reload that changes the
/// transformation takes effect without a restart, and no row is lost or sent twice.
pub(crate) async fn a_transformation_filters_and_changes_rows_and_reloads_live() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1")]).await.unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (crate::support::free_port(), crate::support::free_port());
    let config = two_workspace_config(
        dir.path(),
        &mock.url(),
        port,
        (&[], &["ws1"]),
        &format!("127.0.0.1:{metrics_port}"),
    );
    let dcr_file = dir.path().join("dcr").join("ws1.json");
    std::fs::write(
        &dcr_file,
        user_dcr_with_transform(
            "ws1",
            "source | where SyslogMessage !has \"drop\" | extend ProcessName = \"v1\"",
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    let metric = |name: &str, filter: &str| read_metric(metrics_port, name, filter);
    const N: usize = 1_000;
    send_keep_or_drop(port, 0..N).await;
    until("the kept rows and the dropped count", || {
        mock.rows(DCR, "Custom-WS1").len() >= N / 2
            && metric(
                "tern_transform_dropped_rows_total",
                "stream=\"Microsoft-Syslog\"",
            ) == N as u64 / 2
    })
    .await;
    // The second transformation keeps everything and marks it v2.
    std::fs::write(
        &dcr_file,
        user_dcr_with_transform("ws1", "source | extend ProcessName = \"v2\""),
    )
    .unwrap();
    until("the reload", || {
        metric("tern_dcr_reloads_total", "result=\"ok\"") == 1
    })
    .await;
    send_keep_or_drop(port, N..2 * N).await;
    until("the rows after the reload", || {
        mock.rows(DCR, "Custom-WS1").len() >= N / 2 + N
    })
    .await;
    assert_eq!(metric("tern_transform_errors_total", ""), 0);
    assert!(stop_tern(child).await.success());
    let rows = mock.rows(DCR, "Custom-WS1");
    assert_eq!(rows.len(), N / 2 + N);
    let mut expected: Vec<(usize, &str)> = (0..N).step_by(2).map(|i| (i, "v1")).collect();
    expected.extend((N..2 * N).map(|i| (i, "v2")));
    let mut got: Vec<(usize, &str)> = rows
        .iter()
        .map(|r| {
            (
                crate::support::seq_of(&r["SyslogMessage"]),
                r["ProcessName"].as_str().unwrap(),
            )
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, expected);
}

/// Heartbeat rows (issue 25): with `[heartbeat] interval = 1` and a destination declaring a
/// stream for `TernHeartbeat_CL`, a row arrives every second, named for the forwarder, and the
/// events they count add up to the events the forwarder received.
pub(crate) async fn heartbeat_rows_arrive_at_the_interval_with_counts_matching_the_metrics() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1"), (DCR, "Custom-HB")])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (crate::support::free_port(), crate::support::free_port());
    let config = format!(
        "hostname = \"fwd-beat\"\n[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [metrics]\naddress = \"127.0.0.1:{metrics_port}\"\n\n[heartbeat]\ninterval = 1\n\n{auth}\n\
         [[destination]]\nname = \"ws1\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
         streams = {{ Syslog = \"Custom-WS1\", TernHeartbeat_CL = \"Custom-HB\" }}\n",
        auth = crate::support::secret_auth(dir.path(), &mock.url()),
        url = mock.url(),
    );
    std::fs::write(dir.path().join("tern.toml"), config).unwrap();
    let child = spawn_tern(&dir.path().join("tern.toml"));
    const N: usize = 300;
    send_user(port, 0..N).await;
    let received = |rows: &[serde_json::Value]| -> u64 {
        rows.iter()
            .map(|r| r["EventsReceived"].as_u64().unwrap_or(0))
            .sum()
    };
    until("every event counted by the beats, and three beats", || {
        let beats = mock.rows(DCR, "Custom-HB");
        beats.len() >= 3 && received(&beats) == N as u64
    })
    .await;
    assert_eq!(
        read_metric(metrics_port, "tern_received_total", ""),
        N as u64
    );
    assert!(stop_tern(child).await.success());
    let beats = mock.rows(DCR, "Custom-HB");
    assert_eq!(received(&beats), N as u64);
    assert_eq!(mock.rows(DCR, "Custom-WS1").len(), N);
    for beat in &beats {
        assert_eq!(beat["Computer"], "fwd-beat");
        assert_eq!(beat["Category"], "Tern");
        assert_eq!(beat["OSType"], "Linux");
        assert_eq!(beat["Version"], env!("CARGO_PKG_VERSION"));
        assert!(beat["TimeGenerated"].as_str().unwrap().starts_with("20"));
    }
    // After the first, each beat covers about one interval (the scheduler may run late).
    let mut intervals: Vec<u64> = beats
        .iter()
        .map(|b| b["IntervalSeconds"].as_u64().unwrap())
        .collect();
    intervals.sort_unstable();
    assert_eq!(intervals[0], 0, "the first beat, at start");
    assert!(
        intervals[1..].iter().all(|i| (1..=3).contains(i)),
        "{intervals:?}"
    );
}
