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

mod support;

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
    let sender = support::fast_sender(
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
    let mut batcher = Batcher::new(1_000_000, 3);
    let mut out = Vec::new();
    for r in rows {
        out.extend(batcher.push(&r).unwrap());
    }
    out.extend(batcher.close().unwrap());
    out
}

fn seqs(mock: &MockAzure) -> Vec<usize> {
    let mut s: Vec<usize> = mock
        .rows(DCR, STREAM)
        .iter()
        .map(|r| seq_of(&r["SyslogMessage"]))
        .collect();
    s.sort_unstable();
    s
}

/// The sequence number of a `seq=N` or `seq=N padding` message column.
fn seq_of(column: &serde_json::Value) -> usize {
    let text = column.as_str().unwrap();
    let digits = text
        .strip_prefix("seq=")
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    digits.parse().unwrap()
}

/// A TCP port free on 127.0.0.1 right now.
fn free_tcp_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn spawn_tern(config: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["run", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Connects once the daemon listens, for up to 20 s.
fn connect_when_ready(port: u16) -> std::net::TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("tern did not start: {e}"),
        }
    }
}

/// SIGTERM, then the exit status once the daemon has drained.
async fn stop_tern(mut child: std::process::Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_row_arrives_once_in_gzip_bodies_under_the_limit() {
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

#[tokio::test]
async fn tokens_and_uploads_go_through_the_proxy_with_decoded_credentials() {
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
    let sender = support::fast_sender_with(
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

#[tokio::test]
async fn https_with_a_private_ca_needs_ca_file() {
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
    let sender = support::fast_sender_with(
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

#[tokio::test]
async fn retry_after_503_and_resets_are_waited_out() {
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

#[tokio::test]
async fn an_expired_token_is_replaced_mid_stream() {
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

#[tokio::test]
async fn a_poison_row_is_quarantined_and_the_rest_delivered() {
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_token_endpoint_and_stream() {
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_uploads_every_row_once() {
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
    std::fs::write(dir.path().join("secret"), "right").unwrap();
    let port = free_tcp_port();
    let config = format!(
        r#"hostname = "fwd-up"
[[listen]]
protocol = "tcp"
address = "127.0.0.1:{port}"

[[output]]
kind = "file"
path = "{rows}"

[metrics]
address = ""

[azure.auth]
method = "client-secret"
tenant_id = "tenant"
client_id = "app"
client_secret_file = "{secret}"
authority_host = "{url}"

[azure.upload]
dead_letter_path = "{dead}"

[[destination]]
name = "mock"
endpoint = "{url}"
dcr_immutable_id = "{DCR}"
streams = {{ Syslog = "{STREAM}", CommonSecurityLog = "{CEF_STREAM}" }}
"#,
        rows = dir.path().join("rows.jsonl").display(),
        secret = dir.path().join("secret").display(),
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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

/// Multi-homing: DCRs route `user` to two workspaces; each has its own destination; every
/// event reaches both, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workspaces_each_get_every_row_once() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1"), (DCR, "Custom-WS2")])
        .await
        .unwrap();
    mock.add_client("app", "right");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "right").unwrap();
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    for ws in ["ws1", "ws2"] {
        let dcr = serde_json::json!({"properties": {
            "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": ["user"], "logLevels": ["*"]}]},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": format!("/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{ws}")}]},
            "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
        }});
        std::fs::write(dcrs.join(format!("{ws}.json")), dcr.to_string()).unwrap();
    }
    let port = free_tcp_port();
    let url = mock.url();
    let destinations: String = ["ws1", "ws2"]
        .iter()
        .map(|ws| {
            format!(
                "[[destination]]\nname = \"{ws}\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\nstreams = {{ Syslog = \"Custom-{}\" }}\nworkspace = \"/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{ws}\"\n\n",
                ws.to_uppercase()
            )
        })
        .collect();
    let config = format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n[[output]]\nkind = \"file\"\npath = \"{rows}\"\n\n[metrics]\naddress = \"\"\n\n[dcr]\npaths = [\"{dcrs}\"]\n\n[azure.auth]\nmethod = \"client-secret\"\ntenant_id = \"t\"\nclient_id = \"app\"\nclient_secret_file = \"{secret}\"\nauthority_host = \"{url}\"\n\n{destinations}",
        rows = dir.path().join("rows.jsonl").display(),
        dcrs = dcrs.display(),
        secret = dir.path().join("secret").display(),
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stop_tern(child).await.success());
    for stream in ["Custom-WS1", "Custom-WS2"] {
        let mut seqs: Vec<usize> = mock
            .rows(DCR, stream)
            .iter()
            .map(|r| seq_of(&r["SyslogMessage"]))
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "{stream}");
    }
}
