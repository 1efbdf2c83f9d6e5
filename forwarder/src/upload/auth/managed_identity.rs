//! Managed identities: the Azure VM's Instance Metadata Service (IMDS, `reference/azure.md`
//! §6.3) and an Arc-enabled server's HIMDS with its challenge file (§6.4).
//!
//! Neither is retried here: a failed token request fails the upload attempt, which the sender
//! retries with backoff for as long as it holds the data; that covers IMDS's 404/429/5xx and
//! its 410 while it updates.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AuthError, Token, form_encode, read_token_response};

/// IMDS's token endpoint (link-local, plain HTTP by design).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// HIMDS's token endpoint when `IDENTITY_ENDPOINT` is not set.
pub const ARC_ENDPOINT: &str = "http://localhost:40342/metadata/identity/oauth2/token";
/// Where the Arc agent writes its challenge keys; a challenge naming any other place is refused.
pub const ARC_KEY_DIR: &str = "/var/opt/azcmagent/tokens";
/// The largest key file accepted (as the Azure SDKs check).
const ARC_KEY_MAX_BYTES: u64 = 4096;

/// A client for IMDS and HIMDS: never through a proxy (§6.3), short timeouts (the SDKs probe
/// IMDS with a 2 s connect timeout). `None` if it cannot be built; the caller then uses its own.
pub(super) fn direct_client() -> Option<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("tern/", env!("CARGO_PKG_VERSION")))
        .build()
        .ok()
}

/// Which user-assigned identity to use; none means the system-assigned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAssigned {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

/// A VM's managed identity through IMDS.
#[derive(Debug, Clone)]
pub struct ManagedIdentity {
    pub endpoint: String,
    /// The audience without `/.default`, e.g. `https://monitor.azure.com`.
    pub resource: String,
    pub user_assigned: Option<UserAssigned>,
}

impl ManagedIdentity {
    pub fn describe(&self) -> String {
        match &self.user_assigned {
            None => "system-assigned managed identity (IMDS)".to_owned(),
            Some(UserAssigned::ClientId(id)) => {
                format!("user-assigned managed identity, client id {id} (IMDS)")
            }
            Some(UserAssigned::ObjectId(id)) => {
                format!("user-assigned managed identity, object id {id} (IMDS)")
            }
            Some(UserAssigned::ResourceId(id)) => {
                format!("user-assigned managed identity {id} (IMDS)")
            }
        }
    }

    pub(super) async fn token(&self, http: &reqwest::Client) -> Result<Token, AuthError> {
        let mut url = format!(
            "{}?api-version=2018-02-01&resource={}",
            self.endpoint,
            form_encode(&self.resource)
        );
        let (key, id) = match &self.user_assigned {
            None => ("", ""),
            Some(UserAssigned::ClientId(id)) => ("client_id", id.as_str()),
            Some(UserAssigned::ObjectId(id)) => ("object_id", id.as_str()),
            Some(UserAssigned::ResourceId(id)) => ("msi_res_id", id.as_str()),
        };
        if !key.is_empty() {
            url.push_str(&format!("&{key}={}", form_encode(id)));
        }
        let response = http
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .map_err(|source| AuthError::Request {
                url: self.endpoint.clone(),
                source,
            })?;
        read_token_response(&self.endpoint, response).await
    }
}

/// An Arc-enabled server's system-assigned identity through HIMDS.
#[derive(Debug, Clone)]
pub struct AzureArc {
    pub endpoint: String,
    pub resource: String,
    /// The only folder a challenge may point into.
    pub key_dir: PathBuf,
}

impl AzureArc {
    pub(super) async fn token(&self, http: &reqwest::Client) -> Result<Token, AuthError> {
        let url = format!(
            "{}?api-version=2019-11-01&resource={}",
            self.endpoint,
            form_encode(&self.resource)
        );
        let request_error = |source| AuthError::Request {
            url: self.endpoint.clone(),
            source,
        };
        let challenge = http
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .map_err(request_error)?;
        if challenge.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Err(self.challenge_error(format!(
                "expected 401 with a challenge, got {}",
                challenge.status().as_u16()
            )));
        }
        let realm = challenge
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once("realm="))
            .map(|(_, path)| path.trim().trim_matches('"').to_owned())
            .ok_or_else(|| self.challenge_error("no WWW-Authenticate realm in the 401".into()))?;
        let key = self.read_key(Path::new(&realm))?;
        let response = http
            .get(&url)
            .header("Metadata", "true")
            .header(reqwest::header::AUTHORIZATION, format!("Basic {key}"))
            .send()
            .await
            .map_err(request_error)?;
        read_token_response(&self.endpoint, response).await
    }

    /// Reads the challenge key, only from `key_dir`, only a `.key` file, at most 4 KiB: the
    /// endpoint names the file, and Tern must not be made to send any other file's content.
    fn read_key(&self, path: &Path) -> Result<String, AuthError> {
        let refuse = |why: &str| self.challenge_error(format!("{}: {why}", path.display()));
        let canonical = std::fs::canonicalize(path).map_err(|e| refuse(&e.to_string()))?;
        let dir = std::fs::canonicalize(&self.key_dir).map_err(|e| {
            self.challenge_error(format!("key folder {}: {e}", self.key_dir.display()))
        })?;
        if canonical.parent() != Some(dir.as_path()) {
            return Err(refuse(&format!("not in {}", self.key_dir.display())));
        }
        if canonical.extension().is_none_or(|e| e != "key") {
            return Err(refuse("not a .key file"));
        }
        let size = std::fs::metadata(&canonical)
            .map_err(|e| refuse(&e.to_string()))?
            .len();
        if size > ARC_KEY_MAX_BYTES {
            return Err(refuse("larger than 4 KiB"));
        }
        std::fs::read_to_string(&canonical)
            .map(|k| k.trim().to_owned())
            .map_err(|e| {
                refuse(&format!(
                    "{e} (Tern must run as root or in the himds group to read it)"
                ))
            })
    }

    fn challenge_error(&self, reason: String) -> AuthError {
        AuthError::Challenge {
            url: self.endpoint.clone(),
            reason,
        }
    }
}
