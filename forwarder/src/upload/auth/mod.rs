//! Entra ID tokens for the Logs Ingestion API (`reference/azure.md` §1.2, §6).
//!
//! Owns: the credential kinds, and getting a token and caching it until shortly before it
//! expires, shared by every request of a credential. One module per flow:
//! - [`entra`]: the OAuth 2.0 client-credentials grant against Entra ID, with a secret, a
//!   certificate's signed assertion ([`certificate`]) or a federated token file (workload
//!   identity);
//! - [`managed_identity`]: the Azure VM's IMDS and an Arc-enabled server's HIMDS.
//!
//! Secrets (client secrets, private keys, federated tokens, Arc challenge keys) never appear
//! in logs, `Debug` output or error messages.

pub mod certificate;
mod entra;
pub mod managed_identity;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

pub use certificate::CertificateSigner;
pub use managed_identity::{AzureArc, ManagedIdentity, UserAssigned};

/// Refresh this long before the token expires (clock skew, long batches in flight).
const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// Which cloud: decides the token audience (scope) and the default authority host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Public,
    UsGov,
    China,
}

impl Cloud {
    /// The scope of the client-credentials flows.
    pub fn scope(self) -> &'static str {
        match self {
            Cloud::Public => "https://monitor.azure.com/.default",
            Cloud::UsGov => "https://monitor.azure.us/.default",
            Cloud::China => "https://monitor.azure.cn/.default",
        }
    }

    /// The `resource` of the managed-identity flows: the scope without `/.default`.
    pub fn resource(self) -> &'static str {
        self.scope().trim_end_matches("/.default")
    }

    /// Azure Resource Manager (`reference/edge.md` §2); its token scope is this plus
    /// `/.default`.
    pub fn resource_manager(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::UsGov => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::UsGov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
}

/// Client credentials with a secret.
#[derive(Clone)]
pub struct ClientSecret {
    pub authority_host: String,
    pub tenant_id: String,
    pub client_id: String,
    pub secret: Secret,
    pub scope: String,
}

/// A client secret: a value (from the environment), or a file read for each token request.
/// Never read while the configuration is parsed (issue 23): parsing touches no secret, and a
/// rotated file is picked up at the next token.
#[derive(Clone)]
pub enum Secret {
    Value(String),
    File(PathBuf),
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::Value(value.to_owned())
    }
}

impl Secret {
    /// The secret now; a file is read off the runtime's threads.
    pub(crate) async fn read(&self) -> Result<String, AuthError> {
        match self {
            Secret::Value(value) => Ok(value.clone()),
            Secret::File(path) => match tokio::fs::read_to_string(path).await {
                Ok(text) => Ok(text.trim().to_owned()),
                Err(e) => Err(AuthError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
            },
        }
    }
}

impl std::fmt::Debug for ClientSecret {
    // The secret stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("authority_host", &self.authority_host)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Client credentials with a certificate: a JWT assertion signed with its private key. The
/// PEM file (certificate and key) is read for each token request, like a secret file.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    pub authority_host: String,
    pub tenant_id: String,
    pub client_id: String,
    pub scope: String,
    pub certificate_file: PathBuf,
}

/// Workload identity federation: the client-credentials flow with the token in
/// `token_file` (a Kubernetes projected service-account token, rotated by the kubelet, so it
/// is read again for every token request) as the assertion.
#[derive(Debug, Clone)]
pub struct WorkloadIdentity {
    pub authority_host: String,
    pub tenant_id: String,
    pub client_id: String,
    pub scope: String,
    pub token_file: PathBuf,
}

/// Every way Tern can get a token.
#[derive(Debug, Clone)]
pub enum Credential {
    ClientSecret(ClientSecret),
    ClientCertificate(ClientCertificate),
    WorkloadIdentity(WorkloadIdentity),
    ManagedIdentity(ManagedIdentity),
    AzureArc(AzureArc),
}

impl From<ClientSecret> for Credential {
    fn from(c: ClientSecret) -> Credential {
        Credential::ClientSecret(c)
    }
}

impl Credential {
    /// The same credential asking for a token for `scope` (`…/.default`): Azure Resource
    /// Manager's rather than the Logs Ingestion API's.
    pub fn with_scope(&self, scope: &str) -> Credential {
        let resource = scope.trim_end_matches("/.default").to_owned();
        match self {
            Credential::ClientSecret(c) => Credential::ClientSecret(ClientSecret {
                scope: scope.to_owned(),
                ..c.clone()
            }),
            Credential::ClientCertificate(c) => Credential::ClientCertificate(ClientCertificate {
                scope: scope.to_owned(),
                ..c.clone()
            }),
            Credential::WorkloadIdentity(c) => Credential::WorkloadIdentity(WorkloadIdentity {
                scope: scope.to_owned(),
                ..c.clone()
            }),
            Credential::ManagedIdentity(m) => {
                let mut m = m.clone();
                m.resource = resource;
                Credential::ManagedIdentity(m)
            }
            Credential::AzureArc(a) => {
                let mut a = a.clone();
                a.resource = resource;
                Credential::AzureArc(a)
            }
        }
    }

    /// Reads the files this credential needs now, as a token request will (blocking: for
    /// `tern check` and before `tern run` starts, so a missing or unreadable file fails at
    /// once). The error names the setting and the file, never the secret.
    pub fn check_files(&self) -> Result<(), String> {
        match self {
            Credential::ClientSecret(ClientSecret {
                secret: Secret::File(path),
                ..
            }) => match std::fs::read_to_string(path) {
                Ok(text) if text.trim().is_empty() => {
                    Err(format!("client_secret_file: {} is empty", path.display()))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(format!(
                    "client_secret_file: cannot read {}: {e}",
                    path.display()
                )),
            },
            Credential::ClientCertificate(c) => {
                CertificateSigner::from_pem_file(&c.certificate_file)
                    .map(drop)
                    .map_err(|e| format!("certificate_file: {e}"))
            }
            _ => Ok(()),
        }
    }

    /// Who asks, for `tern doctor` and logs: never a secret.
    pub fn describe(&self) -> String {
        match self {
            Credential::ClientSecret(c) => format!(
                "client secret of app {} in tenant {}",
                c.client_id, c.tenant_id
            ),
            Credential::ClientCertificate(c) => format!(
                "certificate {} of app {} in tenant {}",
                c.certificate_file.display(),
                c.client_id,
                c.tenant_id
            ),
            Credential::WorkloadIdentity(c) => format!(
                "workload identity of app {} in tenant {} (token file {})",
                c.client_id,
                c.tenant_id,
                c.token_file.display()
            ),
            Credential::ManagedIdentity(m) => m.describe(),
            Credential::AzureArc(a) => format!("Azure Arc managed identity via {}", a.endpoint),
        }
    }

    /// What to check when getting a token fails.
    pub fn hint(&self) -> &'static str {
        match self {
            Credential::ClientSecret(_) => {
                "check tenant_id, client_id and the secret; a new secret can take minutes to work"
            }
            Credential::ClientCertificate(_) => {
                "check tenant_id, client_id and that this certificate is uploaded to the app registration"
            }
            Credential::WorkloadIdentity(_) => {
                "check the federated credential (issuer, subject, audience api://AzureADTokenExchange) on the app and the token file"
            }
            Credential::ManagedIdentity(_) => {
                "is this an Azure VM with the identity assigned (and client_id right for a user-assigned one)?"
            }
            Credential::AzureArc(_) => {
                "is the Arc agent (himds) running, and is Tern in the himds group to read its key files?"
            }
        }
    }
}

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token request to {url} failed: {}", crate::upload::diagnosis::chain(.source))]
    Request { url: String, source: reqwest::Error },
    #[error("token request to {url} answered {status}: {detail}")]
    Rejected {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("token response from {url} has no access_token")]
    Malformed { url: String },
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot sign the client assertion: {0}")]
    Signing(String),
    #[error("Azure Arc challenge from {url}: {reason}")]
    Challenge { url: String, reason: String },
}

impl AuthError {
    /// Why the request failed, when it was a request: on the way (connection refused, DNS,
    /// TLS, timeout) or an answer from the identity endpoint (its status).
    pub fn cause(&self) -> Option<crate::upload::diagnosis::Cause> {
        match self {
            AuthError::Request { source, .. } => Some(crate::upload::diagnosis::Cause::of(source)),
            AuthError::Rejected { status, .. } => {
                Some(crate::upload::diagnosis::Cause::Status(*status))
            }
            _ => None,
        }
    }

    /// The identity endpoint asked, when the request got that far.
    pub fn url(&self) -> Option<&str> {
        match self {
            AuthError::Request { url, .. }
            | AuthError::Rejected { url, .. }
            | AuthError::Malformed { url }
            | AuthError::Challenge { url, .. } => Some(url),
            _ => None,
        }
    }
}

/// A token cached until shortly before expiry.
pub struct TokenCache {
    credential: Credential,
    /// For IMDS and HIMDS, which must not go through a proxy (`reference/azure.md` §6.3).
    direct: Option<reqwest::Client>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    pub fn new(credential: impl Into<Credential>) -> TokenCache {
        TokenCache {
            credential: credential.into(),
            direct: managed_identity::direct_client(),
            cached: Mutex::new(None),
        }
    }

    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// A valid token, from the cache or freshly requested. `http` carries the Entra ID
    /// requests (through the configured proxy); IMDS and HIMDS are asked directly.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + REFRESH_AHEAD < *expires {
                return Ok(token.clone());
            }
        }
        let fresh = match &self.credential {
            Credential::ClientSecret(c) => entra::with_secret(http, c).await?,
            Credential::ClientCertificate(c) => entra::with_certificate(http, c).await?,
            Credential::WorkloadIdentity(c) => entra::with_federated_token(http, c).await?,
            Credential::ManagedIdentity(m) => m.token(self.direct.as_ref().unwrap_or(http)).await?,
            Credential::AzureArc(a) => a.token(self.direct.as_ref().unwrap_or(http)).await?,
        };
        let token = fresh.access_token.clone();
        *cached = Some((fresh.access_token, fresh.expires_at));
        Ok(token)
    }

    /// Drops the cached token (after a 401), so the next call requests a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// A token and when it expires.
pub(crate) struct Token {
    pub access_token: String,
    pub expires_at: Instant,
}

/// The range a token's lifetime is taken in: below it, a token would be requested again for
/// every batch; above it, a forged answer would keep a token cached forever.
const MIN_TOKEN_LIFETIME_SECONDS: u64 = 60;
const MAX_TOKEN_LIFETIME_SECONDS: u64 = 24 * 3600;

/// Reads a token endpoint's answer: Entra ID (`expires_in` a number), IMDS and HIMDS (the
/// same fields as strings, plus `expires_on` in epoch seconds).
pub(crate) async fn read_token_response(
    url: &str,
    response: reqwest::Response,
) -> Result<Token, AuthError> {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    parse_token_response(url, status, &text)
}

/// [`read_token_response`] once the answer is read.
fn parse_token_response(url: &str, status: u16, text: &str) -> Result<Token, AuthError> {
    if status != 200 {
        return Err(AuthError::Rejected {
            url: url.to_owned(),
            status,
            detail: error_detail(text),
        });
    }
    let malformed = || AuthError::Malformed {
        url: url.to_owned(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| malformed())?;
    let access_token = value
        .get("access_token")
        .and_then(|t| t.as_str())
        .ok_or_else(malformed)?
        .to_owned();
    let number = |key: &str| {
        value.get(key).and_then(|e| {
            e.as_u64()
                .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let lifetime = match (number("expires_in"), number("expires_on")) {
        (Some(seconds), _) => seconds,
        (None, Some(epoch)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            epoch.saturating_sub(now)
        }
        (None, None) => 3600,
    };
    // An answer is outside input: a lifetime of u64::MAX seconds overflowed `Instant` (a panic
    // that left the uploader retrying with no backoff). A day is more than Entra ID gives.
    let lifetime = lifetime.clamp(MIN_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS);
    let now = Instant::now();
    Ok(Token {
        access_token,
        expires_at: now
            .checked_add(Duration::from_secs(lifetime))
            .unwrap_or(now),
    })
}

/// The useful part of an error answer: Entra's `error_description` (AADSTS code and text),
/// IMDS's `error_description`, or the start of the body.
fn error_detail(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            let description = v.get("error_description").and_then(|d| d.as_str());
            let message = v
                .get("error")
                .and_then(|e| e.get("message"))
                .and_then(|m| m.as_str());
            description.or(message).map(str::to_owned)
        })
        .unwrap_or_else(|| text.chars().take(200).collect())
}

/// Form-encodes one value (`application/x-www-form-urlencoded`), so secrets with `@`, `:`,
/// `&` or `+` arrive intact.
pub(crate) fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes_from_the_wire_are_clamped_not_trusted() {
        let at = |text: &str| {
            parse_token_response("u", 200, text)
                .unwrap()
                .expires_at
                .saturating_duration_since(Instant::now())
        };
        // u64::MAX seconds used to overflow Instant and panic.
        let huge = at(r#"{"access_token":"t","expires_in":18446744073709551615}"#);
        assert!(huge <= Duration::from_secs(MAX_TOKEN_LIFETIME_SECONDS));
        assert!(huge > Duration::from_secs(MAX_TOKEN_LIFETIME_SECONDS - 60));
        let zero = at(r#"{"access_token":"t","expires_in":"0"}"#);
        assert!(zero > Duration::from_secs(MIN_TOKEN_LIFETIME_SECONDS - 5));
        let normal = at(r#"{"access_token":"t","expires_in":3599}"#);
        assert!(normal > Duration::from_secs(3590) && normal <= Duration::from_secs(3599));
        assert!(parse_token_response("u", 200, r#"{"expires_in":1}"#).is_err());
        assert!(parse_token_response("u", 500, "oops").is_err());
    }

    #[test]
    fn secrets_are_form_encoded_and_never_printed() {
        assert_eq!(
            form_encode("p@ss:w/rd&x+y z"),
            "p%40ss%3Aw%2Frd%26x%2By%20z"
        );
        let c = ClientSecret {
            authority_host: "h".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            secret: "hunter2".into(),
            scope: Cloud::Public.scope().into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!Credential::from(c).describe().contains("hunter2"));
        assert_eq!(Cloud::UsGov.scope(), "https://monitor.azure.us/.default");
        assert_eq!(Cloud::China.resource(), "https://monitor.azure.cn");
        assert_eq!(
            Cloud::China.authority_host(),
            "https://login.chinacloudapi.cn"
        );
    }
}
