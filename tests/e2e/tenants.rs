//! Many tenants from one forwarder (issue 25): named credentials per destination, each
//! tenant's token used only for its own workspace, against a mock that refuses a token from
//! another tenant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::time::{Duration, Instant};

use tern_mock_azure::MockAzure;

use crate::support::{free_port, send_seqs, seq_of, spawn_tern, stop_tern};

const DCR_A: &str = "dcr-0000000000000000000000000000000a";
const DCR_B: &str = "dcr-0000000000000000000000000000000b";

fn workspace(name: &str) -> String {
    format!(
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/{name}"
    )
}

/// A collection DCR selecting `facility` into workspace `ws`.
fn collection_dcr(name: &str, ws: &str, facility: &str) -> String {
    serde_json::json!({"name": name, "properties": {
        "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": [facility], "logLevels": ["*"]}]},
        "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": workspace(ws)}]},
        "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
    }})
    .to_string()
}

/// Customer A's DCR (facility `a`, into ws-a) and B's (`b`, into ws-b) in `dir/dcr`.
fn customer_dcrs(dir: &Path, a: &str, b: &str) -> std::path::PathBuf {
    let dcrs = dir.join("dcr");
    std::fs::create_dir_all(&dcrs).unwrap();
    std::fs::write(dcrs.join("a.json"), collection_dcr("customer-a", "ws-a", a)).unwrap();
    std::fs::write(dcrs.join("b.json"), collection_dcr("customer-b", "ws-b", b)).unwrap();
    dcrs
}

/// A named client-secret credential for `tenant`'s app.
fn named_auth(dir: &Path, name: &str, tenant: &str, client: &str, url: &str) -> String {
    let secret = dir.join(format!("secret-{name}"));
    std::fs::write(&secret, format!("secret-of-{client}")).unwrap();
    format!(
        "[azure.auth.{name}]\nmethod = \"client-secret\"\ntenant_id = \"{tenant}\"\n\
         client_id = \"{client}\"\nclient_secret_file = \"{}\"\nauthority_host = \"{url}\"\n\n",
        secret.display()
    )
}

/// The two tenants of these tests: apps and streams registered per tenant in the mock.
async fn two_tenant_mock() -> MockAzure {
    let mock = MockAzure::start(&[(DCR_A, "Custom-A"), (DCR_B, "Custom-B")])
        .await
        .unwrap();
    mock.add_tenant_client("tenant-a", "app-a", "secret-of-app-a");
    mock.add_tenant_client("tenant-b", "app-b", "secret-of-app-b");
    mock.set_stream_tenant(DCR_A, "Custom-A", "tenant-a");
    mock.set_stream_tenant(DCR_B, "Custom-B", "tenant-b");
    mock
}

/// A config with `listen` (its `[[listen]]` sections), the collection DCRs in `dir/dcr`
/// (watched), and a destination per tenant with its named credential.
fn two_tenant_config(dir: &Path, url: &str, listen: &str, metrics: u16) -> std::path::PathBuf {
    let dcrs = dir.join("dcr");
    let config = format!(
        "{listen}\n[metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n\
         [dcr]\npaths = [\"{dcrs}\"]\nwatch = true\n\n[spool]\ndir = \"{spool}\"\n\n\
         [azure.upload]\nretry_cap_ms = 2000\n\n{a}{b}\
         [[destination]]\nname = \"a\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR_A}\"\n\
         streams = {{ Syslog = \"Custom-A\" }}\nworkspace = \"{ws_a}\"\nauth = \"a\"\n\n\
         [[destination]]\nname = \"b\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR_B}\"\n\
         streams = {{ Syslog = \"Custom-B\" }}\nworkspace = \"{ws_b}\"\nauth = \"b\"\n",
        dcrs = dcrs.display(),
        spool = dir.join("spool").display(),
        a = named_auth(dir, "a", "tenant-a", "app-a", url),
        b = named_auth(dir, "b", "tenant-b", "app-b", url),
        ws_a = workspace("ws-a"),
        ws_b = workspace("ws-b"),
    );
    let path = dir.join("tern.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Each stream holds exactly the sequence numbers `0..n` of `facility`, once each.
fn exactly(mock: &MockAzure, dcr: &str, stream: &str, facility: &str, n: usize) {
    let rows = mock.rows(dcr, stream);
    assert!(
        rows.iter().all(|r| r["Facility"] == facility),
        "{stream} holds another tenant's rows"
    );
    let mut seqs: Vec<usize> = rows.iter().map(|r| seq_of(&r["SyslogMessage"])).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..n).collect::<Vec<_>>(), "{stream}: every row once");
}

/// Waits until tenant A has `n_a` rows and B `n_b`, for at most `within`.
async fn wait_rows(mock: &MockAzure, n_a: usize, n_b: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while mock.rows(DCR_A, "Custom-A").len() < n_a || mock.rows(DCR_B, "Custom-B").len() < n_b {
        assert!(
            Instant::now() < deadline,
            "rows did not arrive in both tenants"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two tenants' workspaces, each reached with its own app's credential (`auth = "…"` on the
/// `[[destination]]`): customer A's events (facility user) only in A's workspace, B's (daemon)
/// only in B's, each exactly once; the mock refuses any token from the other tenant.
pub(crate) async fn each_tenant_gets_its_rows_with_its_own_credential() {
    let mock = two_tenant_mock().await;
    let dir = tempfile::tempdir().unwrap();
    customer_dcrs(dir.path(), "user", "daemon");
    let port = free_port();
    let listen = format!("[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n");
    let config = two_tenant_config(dir.path(), &mock.url(), &listen, free_port());
    let child = spawn_tern(&config);
    const N: usize = 500;
    // <14>: user.info; <30>: daemon.info.
    send_seqs(port, 14, 0..N).await;
    send_seqs(port, 30, 0..N).await;
    wait_rows(&mock, N, N, Duration::from_secs(30)).await;
    assert!(stop_tern(child).await.success());
    exactly(&mock, DCR_A, "Custom-A", "user", N);
    exactly(&mock, DCR_B, "Custom-B", "daemon", N);
    // No request was refused: each credential went only to its own tenant.
    assert!(
        mock.seen().iter().all(|s| s.status == 204),
        "refused requests: {:?}",
        mock.seen()
            .iter()
            .filter(|s| s.status != 204)
            .map(|s| s.status)
            .collect::<Vec<_>>()
    );
}

/// Two customers whose devices send the same facility, each to its own listener bound to its
/// collection DCR (`dcrs = ["customer-a"]`): every row lands in its own tenant's workspace
/// exactly once and none in the other, through a two-minute outage of tenant B and a DCR
/// reload.
/// (Unbound, both DCRs would select every user event from both listeners.)
pub(crate) async fn listeners_bound_to_their_dcrs_keep_tenants_apart() {
    let mock = two_tenant_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let dcrs = customer_dcrs(dir.path(), "user", "user");
    let (port_a, port_b, metrics) = (free_port(), free_port(), free_port());
    let listen = format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port_a}\"\ndcrs = [\"customer-a\"]\n\n\
         [[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port_b}\"\ndcrs = [\"customer-b\"]\n"
    );
    let config = two_tenant_config(dir.path(), &mock.url(), &listen, metrics);
    let child = spawn_tern(&config);
    const N: usize = 300;
    send_seqs(port_a, 14, 0..N).await;
    send_seqs(port_b, 14, 0..N).await;
    wait_rows(&mock, N, N, Duration::from_secs(30)).await;
    // Tenant B's workspace fails for two minutes; A's goes on. (Retries are capped at 2 s
    // here so that B catches up soon after.)
    mock.stream_outage("Custom-B", 503, Duration::from_secs(120), Some(1));
    send_seqs(port_a, 14, N..2 * N).await;
    send_seqs(port_b, 14, N..2 * N).await;
    // Within 30 s: well inside B's two-minute outage, so A is not waiting for it.
    wait_rows(&mock, 2 * N, N, Duration::from_secs(30)).await;
    // A reload (the same DCRs written again) keeps each listener to its own.
    std::fs::write(
        dcrs.join("b.json"),
        collection_dcr("customer-b", "ws-b", "user"),
    )
    .unwrap();
    let reloaded = Instant::now() + Duration::from_secs(30);
    while crate::support::http_get(metrics, "/metrics").map_or(0, |(_, text)| {
        crate::support::metric_sum(&text, "tern_dcr_reloads_total", "result=\"ok\"")
    }) < 1
    {
        assert!(Instant::now() < reloaded, "no reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send_seqs(port_a, 14, 2 * N..3 * N).await;
    send_seqs(port_b, 14, 2 * N..3 * N).await;
    // Long enough for B's two-minute outage to end and its retries to catch up.
    wait_rows(&mock, 3 * N, 3 * N, Duration::from_secs(200)).await;
    assert!(stop_tern(child).await.success());
    let seqs_of = |rows: Vec<serde_json::Value>| -> Vec<usize> {
        let mut seqs: Vec<usize> = rows.iter().map(|r| seq_of(&r["SyslogMessage"])).collect();
        seqs.sort_unstable();
        seqs
    };
    // Both customers send the same numbers: a row that crossed over would show as a number
    // twice in one workspace.
    assert_eq!(
        seqs_of(mock.rows(DCR_A, "Custom-A")),
        (0..3 * N).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs_of(mock.rows(DCR_B, "Custom-B")),
        (0..3 * N).collect::<Vec<_>>()
    );
    assert!(
        mock.seen().iter().any(|s| s.status == 503),
        "the outage of tenant B was not hit"
    );
}

/// A sender network bound to customer B's DCR (`sender_dcrs`) on a listener bound to none: its
/// events reach only B's workspace, though A's DCR selects the same facility.
pub(crate) async fn a_sender_network_bound_to_a_dcr_reaches_only_that_tenant() {
    let mock = two_tenant_mock().await;
    let dir = tempfile::tempdir().unwrap();
    customer_dcrs(dir.path(), "user", "user");
    let port = free_port();
    let listen = format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
         sender_dcrs = {{ \"127.0.0.0/8\" = [\"customer-b\"] }}\n"
    );
    let config = two_tenant_config(dir.path(), &mock.url(), &listen, free_port());
    let child = spawn_tern(&config);
    const N: usize = 200;
    send_seqs(port, 14, 0..N).await;
    wait_rows(&mock, 0, N, Duration::from_secs(30)).await;
    assert!(stop_tern(child).await.success());
    exactly(&mock, DCR_B, "Custom-B", "user", N);
    assert_eq!(
        mock.rows(DCR_A, "Custom-A").len(),
        0,
        "a row crossed to tenant A"
    );
}
