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

use crate::support::{connect_when_ready, free_port, seq_of, spawn_tern, stop_tern};

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

/// `count` messages of `facility` (`<PRI>`), `seq=N`, on a new connection.
async fn send(port: u16, pri: u8, count: usize) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stream = connect_when_ready(port);
        let text: String = (0..count)
            .map(|i| format!("<{pri}>Nov 21 10:00:00 h app: seq={i}\n"))
            .collect();
        stream.write_all(text.as_bytes()).unwrap();
    })
    .await
    .unwrap();
}

/// Two tenants' workspaces, each reached with its own app's credential (`auth = "…"` on the
/// `[[destination]]`): customer A's events (facility user) only in A's workspace, B's (daemon)
/// only in B's, each exactly once; the mock refuses any token from the other tenant.
pub(crate) async fn each_tenant_gets_its_rows_with_its_own_credential() {
    let mock = MockAzure::start(&[(DCR_A, "Custom-A"), (DCR_B, "Custom-B")])
        .await
        .unwrap();
    mock.add_tenant_client("tenant-a", "app-a", "secret-of-app-a");
    mock.add_tenant_client("tenant-b", "app-b", "secret-of-app-b");
    mock.set_stream_tenant(DCR_A, "Custom-A", "tenant-a");
    mock.set_stream_tenant(DCR_B, "Custom-B", "tenant-b");
    let dir = tempfile::tempdir().unwrap();
    let dcrs = dir.path().join("dcr");
    std::fs::create_dir(&dcrs).unwrap();
    std::fs::write(
        dcrs.join("a.json"),
        collection_dcr("customer-a", "ws-a", "user"),
    )
    .unwrap();
    std::fs::write(
        dcrs.join("b.json"),
        collection_dcr("customer-b", "ws-b", "daemon"),
    )
    .unwrap();
    let port = free_port();
    let url = mock.url();
    let config = format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n[dcr]\npaths = [\"{dcrs}\"]\n\n\
         {a}{b}\
         [[destination]]\nname = \"a\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR_A}\"\n\
         streams = {{ Syslog = \"Custom-A\" }}\nworkspace = \"{ws_a}\"\nauth = \"a\"\n\n\
         [[destination]]\nname = \"b\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR_B}\"\n\
         streams = {{ Syslog = \"Custom-B\" }}\nworkspace = \"{ws_b}\"\nauth = \"b\"\n",
        metrics = free_port(),
        dcrs = dcrs.display(),
        a = named_auth(dir.path(), "a", "tenant-a", "app-a", &url),
        b = named_auth(dir.path(), "b", "tenant-b", "app-b", &url),
        ws_a = workspace("ws-a"),
        ws_b = workspace("ws-b"),
    );
    let config_path = dir.path().join("tern.toml");
    std::fs::write(&config_path, config).unwrap();
    let child = spawn_tern(&config_path);
    const N: usize = 500;
    // <14>: user.info; <30>: daemon.info.
    send(port, 14, N).await;
    send(port, 30, N).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while mock.rows(DCR_A, "Custom-A").len() < N || mock.rows(DCR_B, "Custom-B").len() < N {
        assert!(
            Instant::now() < deadline,
            "rows did not arrive in both tenants"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stop_tern(child).await.success());
    for (dcr, stream, facility) in [(DCR_A, "Custom-A", "user"), (DCR_B, "Custom-B", "daemon")] {
        let rows = mock.rows(dcr, stream);
        assert!(
            rows.iter().all(|r| r["Facility"] == facility),
            "{stream} holds another tenant's rows"
        );
        let mut seqs: Vec<usize> = rows.iter().map(|r| seq_of(&r["SyslogMessage"])).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>(), "{stream}: every row once");
    }
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
