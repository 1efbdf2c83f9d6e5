//! Every credential kind against the mock of Entra ID, IMDS and HIMDS: each gets a token the
//! way the real service wants it, and rows posted with it arrive (`reference/azure.md` §6).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tern::upload::auth::{
    AzureArc, ClientCertificate, Credential, ManagedIdentity, TokenCache, UserAssigned,
    WorkloadIdentity,
};
use tern::upload::batch::Batcher;
use tern_mock_azure::MockAzure;

const DCR: &str = "dcr-00000000000000000000000000000002";
const STREAM: &str = "Custom-TernSyslog";
const SCOPE: &str = "https://monitor.azure.com/.default";
const RESOURCE: &str = "https://monitor.azure.com";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// Posts `count` rows with `credential` and returns how many the mock recorded.
async fn deliver(mock: &MockAzure, credential: Credential, count: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let sender = crate::support::fast_sender(
        &mock.url(),
        Arc::new(TokenCache::new(credential)),
        DCR,
        STREAM,
        dir.path().join("dead-letter.jsonl"),
    );
    let mut batcher = Batcher::new(1_000_000, tern::upload::batch::Compression::Small);
    let mut closed = Vec::new();
    for i in 0..count {
        let row =
            format!(r#"{{"TimeGenerated":"2026-11-21T10:00:00Z","SyslogMessage":"seq={i}"}}"#);
        closed.extend(batcher.push(row.as_bytes()).unwrap());
    }
    closed.extend(batcher.close().unwrap());
    let before = mock.rows(DCR, STREAM).len();
    for batch in &closed {
        // Bounded: a credential the mock refuses would otherwise be retried for ever.
        tokio::time::timeout(Duration::from_secs(20), sender.deliver(batch))
            .await
            .expect("delivered within 20 s");
    }
    mock.rows(DCR, STREAM).len() - before
}

async fn mock() -> MockAzure {
    MockAzure::start(&[(DCR, STREAM)]).await.unwrap()
}

pub(crate) async fn client_certificate_signs_an_assertion_entra_accepts() {
    let mock = mock().await;
    mock.add_certificate_client(
        "cert-app",
        &std::fs::read_to_string(fixture("test-only-client-certificate.pem")).unwrap(),
        &std::fs::read_to_string(fixture("test-only-client-certificate.rsa-public.pem")).unwrap(),
    );
    let credential = Credential::ClientCertificate(ClientCertificate {
        authority_host: mock.url(),
        tenant_id: "tenant".into(),
        client_id: "cert-app".into(),
        scope: SCOPE.into(),
        certificate_file: fixture("test-only-client-certificate.pem"),
    });
    assert_eq!(deliver(&mock, credential.clone(), 100).await, 100);

    // The same key for another app id: the mock (like Entra) refuses the assertion.
    let Credential::ClientCertificate(mut other) = credential else {
        unreachable!()
    };
    other.client_id = "unregistered-app".into();
    let err = TokenCache::new(Credential::ClientCertificate(other))
        .token(&tern::upload::http_client().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && err.contains("AADSTS700027"), "{err}");
}

pub(crate) async fn workload_identity_reads_the_rotated_token_file_each_time() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, "federated-token-1\n").unwrap();
    mock.set_federated_token("wi-app", "federated-token-1");
    let credential = Credential::WorkloadIdentity(WorkloadIdentity {
        authority_host: mock.url(),
        tenant_id: "tenant".into(),
        client_id: "wi-app".into(),
        scope: SCOPE.into(),
        token_file: token_file.clone(),
    });
    let tokens = TokenCache::new(credential);
    let http = tern::upload::http_client().unwrap();
    let first = tokens.token(&http).await.unwrap();

    // The kubelet rotates the file; the old federated token is no longer accepted.
    std::fs::write(&token_file, "federated-token-2\n").unwrap();
    mock.set_federated_token("wi-app", "federated-token-2");
    tokens.invalidate().await;
    let second = tokens.token(&http).await.unwrap();
    assert_ne!(first, second);

    std::fs::remove_file(&token_file).unwrap();
    tokens.invalidate().await;
    let err = tokens.token(&http).await.unwrap_err().to_string();
    assert!(err.contains("azure-identity-token"), "{err}");
}

pub(crate) async fn workload_identity_delivers_rows() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "federated-token").unwrap();
    mock.set_federated_token("wi-app", "federated-token");
    let credential = Credential::WorkloadIdentity(WorkloadIdentity {
        authority_host: mock.url(),
        tenant_id: "tenant".into(),
        client_id: "wi-app".into(),
        scope: SCOPE.into(),
        token_file,
    });
    assert_eq!(deliver(&mock, credential, 50).await, 50);
}

pub(crate) async fn managed_identity_system_and_user_assigned() {
    let mock = mock().await;
    mock.set_system_identity("vm-identity");
    let endpoint = format!("{}/metadata/identity/oauth2/token", mock.url());
    let system = Credential::ManagedIdentity(ManagedIdentity {
        endpoint: endpoint.clone(),
        resource: RESOURCE.into(),
        user_assigned: None,
    });
    assert_eq!(deliver(&mock, system, 30).await, 30);

    // A user-assigned identity picked by object id gets its own token, which this DCR's
    // role assignment (the first identity's) does not cover: 403, held, so only the token.
    mock.add_user_assigned_identity("uami-client", &["uami-client", "uami-object"]);
    let user = TokenCache::new(Credential::ManagedIdentity(ManagedIdentity {
        endpoint: endpoint.clone(),
        resource: RESOURCE.into(),
        user_assigned: Some(UserAssigned::ObjectId("uami-object".into())),
    }));
    let http = tern::upload::http_client().unwrap();
    assert!(user.token(&http).await.is_ok());
    let unknown = TokenCache::new(Credential::ManagedIdentity(ManagedIdentity {
        endpoint,
        resource: RESOURCE.into(),
        user_assigned: Some(UserAssigned::ClientId("nobody".into())),
    }));
    let err = unknown.token(&http).await.unwrap_err().to_string();
    assert!(
        err.contains("400") && err.contains("Identity not found"),
        "{err}"
    );
}

pub(crate) async fn user_assigned_identity_delivers_rows() {
    let mock = mock().await;
    mock.add_user_assigned_identity("uami-client", &["uami-client"]);
    let credential = Credential::ManagedIdentity(ManagedIdentity {
        endpoint: format!("{}/metadata/identity/oauth2/token", mock.url()),
        resource: RESOURCE.into(),
        user_assigned: Some(UserAssigned::ClientId("uami-client".into())),
    });
    assert_eq!(deliver(&mock, credential, 30).await, 30);
}

pub(crate) async fn azure_arc_answers_the_challenge_from_the_key_folder_only() {
    let mock = mock().await;
    let keys = tempfile::tempdir().unwrap();
    mock.enable_arc(keys.path());
    let endpoint = format!("{}/metadata/identity/oauth2/token", mock.url());
    let credential = Credential::AzureArc(AzureArc {
        endpoint: endpoint.clone(),
        resource: RESOURCE.into(),
        key_dir: keys.path().to_path_buf(),
    });
    assert_eq!(deliver(&mock, credential, 40).await, 40);
    assert_eq!(mock.arc_challenges(), 1);

    // A challenge naming a file outside the configured folder is refused, not read.
    let elsewhere = tempfile::tempdir().unwrap();
    let wrong_folder = TokenCache::new(Credential::AzureArc(AzureArc {
        endpoint,
        resource: RESOURCE.into(),
        key_dir: elsewhere.path().to_path_buf(),
    }));
    let err = wrong_folder
        .token(&tern::upload::http_client().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in"), "{err}");
}
