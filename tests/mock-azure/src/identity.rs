//! The token side of the mock: Entra ID's client-credentials grant (secret, certificate
//! assertion, federated token), the VM's IMDS and an Arc server's HIMDS challenge
//! (`reference/azure.md` §6), each checked as the real service checks it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::{State, error, response};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client that authenticates with a certificate.
pub(crate) struct CertificateClient {
    /// base64url SHA-256 of the certificate's DER.
    pub x5t_s256: String,
    /// The RSA public key as PKCS#1 DER.
    pub public_key: Vec<u8>,
}

/// Where IMDS-style requests go.
#[derive(Default)]
pub(crate) struct ManagedIdentities {
    /// IMDS: the system-assigned identity's client id, if the VM has one.
    pub system: Option<String>,
    /// IMDS: user-assigned identities, by client id, object id or resource id → client id.
    pub user_assigned: HashMap<String, String>,
    /// HIMDS (Arc): the folder challenge keys are written to; `Some` turns the endpoint into
    /// Arc's challenge flow.
    pub arc_key_dir: Option<PathBuf>,
    /// The key of the current Arc challenge.
    pub arc_secret: Option<String>,
    pub arc_challenges: u64,
}

/// The blocks of a PEM file with this label, decoded.
pub(crate) fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    pem.split(begin.as_str())
        .skip(1)
        .filter_map(|block| block.split(end.as_str()).next())
        .filter_map(|b64| {
            let joined: String = b64.split_whitespace().collect();
            STANDARD.decode(joined).ok()
        })
        .collect()
}

pub(crate) fn thumbprint(certificate_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, certificate_der))
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Issues a token for `client` and answers as Entra ID does (`expires_in` a number) or, with
/// `imds_style`, as IMDS does (every number a string, plus `expires_on` and `resource`).
fn issue(state: &mut State, client: &str, imds_style: Option<&str>) -> Response<Full<Bytes>> {
    state.issued += 1;
    let token = format!("mock-token-{}", state.issued);
    let lifetime = state.token_lifetime;
    state.tokens.insert(
        token.clone(),
        (client.to_owned(), Instant::now() + lifetime),
    );
    let body = match imds_style {
        None => serde_json::json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "access_token": token,
        }),
        Some(resource) => serde_json::json!({
            "access_token": token,
            "expires_in": lifetime.as_secs().to_string(),
            "expires_on": (now_seconds() + lifetime.as_secs()).to_string(),
            "not_before": now_seconds().to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    response(StatusCode::OK, body.to_string())
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn entra_token(
    state: &mut State,
    tenant: &str,
    token_url: &str,
    form: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    if !field("scope").ends_with("/.default") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: scope must end with /.default",
        );
    }
    let client = field("client_id").to_owned();
    if state
        .client_tenants
        .get(&client)
        .is_some_and(|home| home != tenant)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "AADSTS700016: Application with identifier was not found in the directory.",
        );
    }
    let verdict = if form.contains_key("client_secret") {
        match state.clients.get(&client) {
            Some(secret) if secret == field("client_secret") => Ok(()),
            _ => Err("AADSTS7000215: Invalid client secret provided."),
        }
    } else if field("client_assertion_type") == JWT_BEARER {
        let assertion = field("client_assertion");
        if let Some(key) = state.certificates.get(&client) {
            check_certificate_assertion(assertion, key, &client, token_url)
        } else if let Some(expected) = state.federated.get(&client) {
            if expected == assertion {
                Ok(())
            } else {
                Err(
                    "AADSTS700024: Client assertion is not within its valid time range or not the current federated token.",
                )
            }
        } else {
            Err("AADSTS700027: no certificate or federated credential registered for the app.")
        }
    } else {
        Err("AADSTS7000218: The request body must contain client_assertion or client_secret.")
    };
    match verdict {
        Ok(()) => {
            let issued = issue(state, &client, None);
            let token = format!("mock-token-{}", state.issued);
            state.token_tenants.insert(token, tenant.to_owned());
            issued
        }
        Err(why) => error(StatusCode::UNAUTHORIZED, "invalid_client", why),
    }
}

/// Checks a certificate's client assertion as Entra ID does: the signature by the registered
/// key, the thumbprint, and the claims.
fn check_certificate_assertion(
    assertion: &str,
    key: &CertificateClient,
    client: &str,
    token_url: &str,
) -> Result<(), &'static str> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("AADSTS50027: malformed JWT");
    };
    let json = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header_json), Some(claims_json)) = (json(header), json(claims)) else {
        return Err("AADSTS50027: malformed JWT");
    };
    let algorithm: &dyn ring::signature::VerificationAlgorithm =
        match header_json.get("alg").and_then(Value::as_str) {
            Some("PS256") => &ring::signature::RSA_PSS_2048_8192_SHA256,
            Some("RS256") => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            _ => return Err("AADSTS5002723: unsupported alg"),
        };
    if header_json.get("x5t#S256").and_then(Value::as_str) != Some(key.x5t_s256.as_str()) {
        return Err("AADSTS700027: the certificate with this thumbprint is not registered.");
    }
    let signed = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    ring::signature::UnparsedPublicKey::new(algorithm, &key.public_key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "AADSTS700027: the client assertion's signature does not verify.")?;
    let claim = |k: &str| claims_json.get(k).and_then(Value::as_str);
    let time = |k: &str| claims_json.get(k).and_then(Value::as_u64);
    let now = now_seconds();
    if claim("aud") != Some(token_url) {
        return Err("AADSTS700212: the assertion's audience is not this token endpoint.");
    }
    if claim("iss") != Some(client) || claim("sub") != Some(client) {
        return Err("AADSTS700021: iss and sub must be the client id.");
    }
    if claim("jti").is_none_or(str::is_empty) {
        return Err("AADSTS700024: no jti");
    }
    match (time("nbf"), time("exp")) {
        (Some(nbf), Some(exp)) if nbf <= now + 300 && exp > now && exp <= nbf + 3600 => Ok(()),
        _ => Err("AADSTS700024: the assertion is not within its valid time range."),
    }
}

/// `GET /metadata/identity/oauth2/token`: IMDS, or HIMDS's challenge when Arc is enabled.
pub(crate) fn identity_token(
    state: &mut State,
    query: &HashMap<String, String>,
    headers: &hyper::HeaderMap,
) -> Response<Full<Bytes>> {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let resource = query
        .get("resource")
        .map(String::as_str)
        .unwrap_or_default();
    if resource.is_empty() || resource.ends_with("/.default") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            "resource must be the audience without /.default",
        );
    }
    let resource = resource.to_owned();
    if let Some(dir) = state.identities.arc_key_dir.clone() {
        return arc(state, &dir, &resource, headers);
    }
    if query.get("api-version").map(String::as_str) != Some("2018-02-01") {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "api-version");
    }
    let selector = ["client_id", "object_id", "msi_res_id"]
        .iter()
        .find_map(|k| query.get(*k));
    let client = match selector {
        None => state.identities.system.clone(),
        Some(id) => state.identities.user_assigned.get(id).cloned(),
    };
    match client {
        Some(client) => issue(state, &client, Some(&resource)),
        None => error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        ),
    }
}

fn arc(
    state: &mut State,
    dir: &std::path::Path,
    resource: &str,
    headers: &hyper::HeaderMap,
) -> Response<Full<Bytes>> {
    let presented = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if let (Some(presented), Some(secret)) = (presented, state.identities.arc_secret.take()) {
        if presented == secret {
            return issue(state, "arc-system-identity", Some(resource));
        }
    }
    // A fresh challenge: a new key file, named in the 401.
    state.identities.arc_challenges += 1;
    let secret = format!(
        "arc-key-{}-{}",
        state.identities.arc_challenges,
        now_seconds()
    );
    let path = dir.join(format!("challenge-{}.key", state.identities.arc_challenges));
    if std::fs::write(&path, &secret).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "io", "cannot write key");
    }
    state.identities.arc_secret = Some(secret);
    let mut r = response(StatusCode::UNAUTHORIZED, Bytes::new());
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("Basic realm={}", path.display()))
    {
        r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
    }
    r
}
