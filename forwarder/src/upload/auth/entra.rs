//! The OAuth 2.0 client-credentials grant against Entra ID (`reference/azure.md` §6.1, §6.2,
//! §6.5): `POST {authority}/{tenant}/oauth2/v2.0/token` with a secret, a certificate's signed
//! assertion, or a federated token as the assertion.

use super::{
    AuthError, CertificateSigner, ClientCertificate, ClientSecret, Token, WorkloadIdentity,
    form_encode, read_token_response,
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The token endpoint of a tenant; also the `aud` of a client assertion.
pub(crate) fn token_url(authority_host: &str, tenant_id: &str) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        authority_host.trim_end_matches('/'),
        tenant_id
    )
}

pub(super) async fn with_secret(
    http: &reqwest::Client,
    c: &ClientSecret,
) -> Result<Token, AuthError> {
    let url = token_url(&c.authority_host, &c.tenant_id);
    let secret = c.secret.read().await?;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        form_encode(&c.client_id),
        form_encode(&secret),
        form_encode(&c.scope)
    );
    post(http, &url, body).await
}

pub(super) async fn with_certificate(
    http: &reqwest::Client,
    c: &ClientCertificate,
) -> Result<Token, AuthError> {
    let url = token_url(&c.authority_host, &c.tenant_id);
    // Read (and signed) off the runtime's threads: the file is a few kilobytes, signing an
    // RSA key takes a millisecond, once per token.
    let (file, client_id, audience) =
        (c.certificate_file.clone(), c.client_id.clone(), url.clone());
    let assertion = tokio::task::spawn_blocking(move || {
        let signer = CertificateSigner::from_pem_file(&file).map_err(|reason| AuthError::File {
            path: file.clone(),
            reason,
        })?;
        signer.assertion(&client_id, &audience)
    })
    .await
    .map_err(|e| AuthError::Signing(e.to_string()))??;
    post(
        http,
        &url,
        assertion_body(&c.client_id, &assertion, &c.scope),
    )
    .await
}

pub(super) async fn with_federated_token(
    http: &reqwest::Client,
    c: &WorkloadIdentity,
) -> Result<Token, AuthError> {
    // Read on every request: the kubelet rotates the file (§6.5).
    let assertion = tokio::fs::read_to_string(&c.token_file)
        .await
        .map_err(|e| AuthError::File {
            path: c.token_file.clone(),
            reason: e.to_string(),
        })?;
    let url = token_url(&c.authority_host, &c.tenant_id);
    post(
        http,
        &url,
        assertion_body(&c.client_id, assertion.trim(), &c.scope),
    )
    .await
}

fn assertion_body(client_id: &str, assertion: &str, scope: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_assertion_type={}&client_assertion={}&scope={}",
        form_encode(client_id),
        form_encode(JWT_BEARER),
        form_encode(assertion),
        form_encode(scope)
    )
}

async fn post(http: &reqwest::Client, url: &str, body: String) -> Result<Token, AuthError> {
    let response = http
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|source| AuthError::Request {
            url: url.to_owned(),
            source,
        })?;
    read_token_response(url, response).await
}
