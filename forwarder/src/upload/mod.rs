//! Uploading rows to Log Analytics through the Azure Monitor Logs Ingestion API
//! (`reference/azure.md` §1).
//!
//! Owns: cutting rows into request bodies that respect the API's limits ([`batch`]). The HTTP
//! client, credentials and retries build on these closed batches; a closed batch is an
//! immutable unit (bytes + metadata) so a durable spool can store it unchanged.

pub mod auth;
pub mod batch;
pub mod sender;
pub mod stage;

use std::time::Duration;

/// The HTTP client for uploads and tokens: rustls with the `ring` provider (no C toolchain
/// beyond what `ring` needs; aws-lc would need more), TLS 1.2 or later, the system's trust
/// roots through rustls-platform-verifier, keep-alive, and bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, String> {
    // Installing twice is harmless: the second attempt reports the first provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_version_min(reqwest::tls::Version::TLS_1_2)
        .user_agent(concat!("tern/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
