//! The mock enforces the Logs Ingestion contract it stands in for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tern_mock_azure::{Fault, MockAzure};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn post(
    client: &HttpClient,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = hyper::Request::post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    match client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
    {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let mut text = String::from_utf8_lossy(&body).into_owned();
            if let Some(r) = retry_after {
                text = format!("retry-after={r} {text}");
            }
            (status, text)
        }
        Err(e) => (0, e.to_string()),
    }
}

async fn token(client: &HttpClient, mock: &MockAzure, secret: &str) -> (u16, String) {
    let body = format!(
        "grant_type=client_credentials&client_id=app&client_secret={secret}&scope=https%3A%2F%2Fmonitor.azure.com%2F.default"
    );
    post(
        client,
        &format!("{}/tenant/oauth2/v2.0/token", mock.url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        body.into_bytes(),
    )
    .await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn the_ingestion_contract() {
    let mock = MockAzure::start(&[("dcr-1", "Custom-TernSyslog")])
        .await
        .unwrap();
    mock.add_client("app", "s3cr3t@:x");
    let client = client();
    // A secret with `@` and `:` percent-encoded in the form works; a wrong one does not.
    assert_eq!(token(&client, &mock, "wrong").await.0, 401);
    let (status, body) = token(&client, &mock, "s3cr3t%40%3Ax").await;
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let url = format!(
        "{}/dataCollectionRules/dcr-1/streams/Custom-TernSyslog?api-version=2023-01-01",
        mock.url()
    );
    let row = br#"[{"TimeGenerated":"2026-11-21T10:00:00Z","SyslogMessage":"hi"}]"#.to_vec();
    let json = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
        ("content-encoding", "gzip"),
    ];

    assert_eq!(post(&client, &url, &json, gzip(&row)).await.0, 204);
    assert_eq!(mock.rows("dcr-1", "Custom-TernSyslog").len(), 1);
    // No token, unknown stream, wrong type, bare object, no TimeGenerated, over 1 MB.
    assert_eq!(post(&client, &url, &json[..1], row.clone()).await.0, 401);
    let other = url.replace("Custom-TernSyslog", "Custom-Nope");
    assert_eq!(post(&client, &other, &json, gzip(&row)).await.0, 404);
    assert_eq!(
        post(
            &client,
            &url,
            &[("authorization", bearer.as_str())],
            row.clone()
        )
        .await
        .0,
        415
    );
    let object = br#"{"TimeGenerated":"2026-11-21T10:00:00Z"}"#;
    assert_eq!(post(&client, &url, &json, gzip(object)).await.0, 400);
    assert_eq!(
        post(&client, &url, &json, gzip(br#"[{"SyslogMessage":"x"}]"#))
            .await
            .0,
        400
    );
    let big = format!(
        r#"[{{"TimeGenerated":"2026-11-21T10:00:00Z","SyslogMessage":"{}"}}]"#,
        "x".repeat(1_000_000)
    );
    let (status, _) = post(&client, &url, &json, gzip(big.as_bytes())).await;
    assert_eq!(
        status, 413,
        "the uncompressed size counts, not the gzip size"
    );
    // Injected faults, in order: 429 with Retry-After, 503, a reset.
    mock.inject([
        Fault::Status {
            status: 429,
            retry_after: Some(2),
        },
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        Fault::Reset,
    ]);
    let (status, text) = post(&client, &url, &json, gzip(&row)).await;
    assert_eq!(status, 429);
    assert!(text.starts_with("retry-after=2"), "{text}");
    assert_eq!(post(&client, &url, &json, gzip(&row)).await.0, 503);
    assert_eq!(
        post(&client, &url, &json, gzip(&row)).await.0,
        0,
        "the connection was closed"
    );
    assert_eq!(post(&client, &url, &json, gzip(&row)).await.0, 204);
    assert_eq!(mock.rows("dcr-1", "Custom-TernSyslog").len(), 2);
    // An expired token.
    mock.expire_tokens();
    assert_eq!(post(&client, &url, &json, gzip(&row)).await.0, 401);
    let seen = mock.seen();
    assert!(
        seen.iter()
            .filter(|s| s.status == 204)
            .all(|s| s.gzip && s.uncompressed_bytes <= 1_000_000)
    );
}
