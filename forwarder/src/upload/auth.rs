//! Entra ID tokens for the Logs Ingestion API (`reference/azure.md` §1.2, §6).
//!
//! Owns: getting a token and caching it until shortly before it expires, shared by every
//! request of a credential. This version implements the client-secret flow (OAuth 2.0 client
//! credentials); certificate, managed identity, Arc and workload identity follow the same
//! [`TokenCache`]. The secret is never logged or put in an error message.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

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
    pub fn scope(self) -> &'static str {
        match self {
            Cloud::Public => "https://monitor.azure.com/.default",
            Cloud::UsGov => "https://monitor.azure.us/.default",
            Cloud::China => "https://monitor.azure.cn/.default",
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
    pub secret: String,
    pub scope: String,
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

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token request to {url} failed: {source}")]
    Request { url: String, source: reqwest::Error },
    #[error("token request to {url} answered {status}: {detail}")]
    Rejected {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("token response from {url} has no access_token")]
    Malformed { url: String },
}

/// A token cached until shortly before expiry.
pub struct TokenCache {
    credential: ClientSecret,
    cached: Mutex<Option<(String, Instant)>>,
}

/// Form-encodes one value (`application/x-www-form-urlencoded`), so secrets with `@`, `:`,
/// `&` or `+` arrive intact.
fn form_encode(value: &str) -> String {
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

impl TokenCache {
    pub fn new(credential: ClientSecret) -> TokenCache {
        TokenCache {
            credential,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, from the cache or freshly requested.
    pub async fn token(&self, http: &reqwest::Client) -> Result<String, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if Instant::now() + REFRESH_AHEAD < *expires {
                return Ok(token.clone());
            }
        }
        let fresh = self.request(http).await?;
        let token = fresh.0.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops the cached token (after a 401), so the next call requests a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn request(&self, http: &reqwest::Client) -> Result<(String, Instant), AuthError> {
        let c = &self.credential;
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            c.authority_host.trim_end_matches('/'),
            c.tenant_id
        );
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            form_encode(&c.client_id),
            form_encode(&c.secret),
            form_encode(&c.scope)
        );
        let response = http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|source| AuthError::Request {
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if status != 200 {
            // Entra's error description names the problem (AADSTS codes) without the secret.
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    let description = v.get("error_description").and_then(|d| d.as_str());
                    let message = v
                        .get("error")
                        .and_then(|e| e.get("message"))
                        .and_then(|m| m.as_str());
                    description.or(message).map(str::to_owned)
                })
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(AuthError::Rejected {
                url,
                status,
                detail,
            });
        }
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| AuthError::Malformed { url: url.clone() })?;
        let token = value
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or(AuthError::Malformed { url })?
            .to_owned();
        // Entra sends a number; older endpoints (and IMDS) send a string.
        let lifetime = value
            .get("expires_in")
            .and_then(|e| {
                e.as_u64()
                    .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3600);
        Ok((token, Instant::now() + Duration::from_secs(lifetime)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(Cloud::UsGov.scope(), "https://monitor.azure.us/.default");
        assert_eq!(
            Cloud::China.authority_host(),
            "https://login.chinacloudapi.cn"
        );
    }
}
