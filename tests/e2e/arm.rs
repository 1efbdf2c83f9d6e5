//! DCRs from Azure Resource Manager (issue 25): a DCR associated with the forwarder's machine
//! is fetched and polled with ETags; an edit in "Azure" changes what Tern keeps within a poll
//! interval without a restart; with ARM down, Tern starts from its cache and forwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use tern_mock_azure::MockAzure;

use crate::support::{free_port, send_seqs, seq_of, spawn_tern, stop_tern};

const DCR: &str = "dcr-000000000000000000000000000000aa";
const DCR_ID: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/collect-syslog";
const MACHINE: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/fwd1";
/// How long each step may take (polls are every second).
const LIMIT: Duration = Duration::from_secs(30);
const WORKSPACE: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws1";

/// The collection DCR as ARM returns it, selecting `facilities`.
fn dcr(facilities: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "id": DCR_ID, "name": "collect-syslog", "type": "Microsoft.Insights/dataCollectionRules",
        "location": "westeurope", "kind": "Linux",
        "properties": {
            "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"], "facilityNames": facilities, "logLevels": ["*"]}]},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": WORKSPACE}]},
            "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
        }
    })
}

fn metric(port: u16, name: &str, filter: &str) -> u64 {
    crate::support::http_get(port, "/metrics").map_or(0, |(_, text)| {
        crate::support::metric_sum(&text, name, filter)
    })
}

/// (facility, seq) of every row received.
fn received(mock: &MockAzure) -> Vec<(String, usize)> {
    let mut rows: Vec<(String, usize)> = mock
        .rows(DCR, "Custom-WS1")
        .iter()
        .map(|r| {
            (
                r["Facility"].as_str().unwrap().to_owned(),
                seq_of(&r["SyslogMessage"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

pub(crate) async fn dcrs_from_azure_follow_edits_and_survive_an_outage() {
    let mock = MockAzure::start(&[(DCR, "Custom-WS1")]).await.unwrap();
    mock.add_client("app", "right");
    mock.set_arm_dcr(DCR_ID, dcr(&["user"]));
    mock.set_arm_associations(MACHINE, &[DCR_ID]);
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics) = (free_port(), free_port());
    let url = mock.url();
    let config = format!(
        "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [metrics]\naddress = \"127.0.0.1:{metrics}\"\n\n\
         [dcr]\npoll_interval = 1\ncache_dir = \"{cache}\"\n\n\
         [[dcr.azure]]\nassociated_with = \"{MACHINE}\"\n\n\
         [azure]\nresource_manager = \"{url}\"\n{auth}\n\
         [[destination]]\nname = \"ws1\"\nendpoint = \"{url}\"\ndcr_immutable_id = \"{DCR}\"\n\
         streams = {{ Syslog = \"Custom-WS1\" }}\nworkspace = \"{WORKSPACE}\"\n",
        cache = dir.path().join("cache").display(),
        auth = crate::support::secret_auth(dir.path(), &url),
    );
    let config_path = dir.path().join("tern.toml");
    std::fs::write(&config_path, config).unwrap();
    let child = spawn_tern(&config_path);
    const N: usize = 200;
    // user.info (<14>) is selected; daemon.info (<30>) is not yet.
    send_seqs(port, 14, 0..N).await;
    send_seqs(port, 30, 0..N).await;
    crate::support::wait_until_async("the user rows", LIMIT, || received(&mock).len() >= N).await;
    crate::support::wait_until_async("the daemon events filtered", LIMIT, || {
        metric(metrics, "tern_filtered_total", "") >= N as u64
    })
    .await;
    // An edit in Azure: daemon too. Within a poll interval Tern reloads it.
    mock.set_arm_dcr(DCR_ID, dcr(&["user", "daemon"]));
    crate::support::wait_until_async("the reload of the edited DCR", LIMIT, || {
        metric(metrics, "tern_dcr_reloads_total", "result=\"ok\"") >= 1
    })
    .await;
    send_seqs(port, 30, N..2 * N).await;
    crate::support::wait_until_async("the daemon rows after the edit", LIMIT, || {
        received(&mock).len() >= 2 * N
    })
    .await;
    // Unchanged DCRs are asked for with their ETag and answered 304 (a poll a second).
    crate::support::wait_until_async("a poll answered 304", LIMIT, || {
        mock.arm_requests().iter().any(|(_, status)| *status == 304)
    })
    .await;
    assert!(stop_tern(child).await.success());
    let mut expected: Vec<(String, usize)> = (0..N)
        .map(|i| ("user".to_owned(), i))
        .chain((N..2 * N).map(|i| ("daemon".to_owned(), i)))
        .collect();
    expected.sort();
    assert_eq!(received(&mock), expected);
    // ARM down: Tern starts from its cache (the edited DCR) and forwards.
    mock.set_arm_down(true);
    let child = spawn_tern(&config_path);
    send_seqs(port, 30, 2 * N..3 * N).await;
    crate::support::wait_until_async("the rows after a start without Azure", LIMIT, || {
        received(&mock).len() >= 3 * N
    })
    .await;
    assert!(stop_tern(child).await.success());
    let daemon_after: Vec<usize> = received(&mock)
        .into_iter()
        .filter(|(f, s)| f == "daemon" && *s >= 2 * N)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(daemon_after, (2 * N..3 * N).collect::<Vec<_>>());
}
