//! Helpers shared by the upload and credential tests.
#![allow(dead_code)] // each test crate uses its own part

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tern::upload::auth::TokenCache;
use tern::upload::sender::{RetryPolicy, Sender};

/// A sender to the mock at `url` whose backoff is short, so that retries show in a test's
/// time and not a production one's.
pub fn fast_sender(
    url: &str,
    tokens: Arc<TokenCache>,
    dcr: &str,
    stream: &str,
    dead_letter: PathBuf,
) -> Sender {
    let http = tern::upload::http_client().unwrap_or_else(|e| panic!("{e}"));
    fast_sender_with(http, url, tokens, dcr, stream, dead_letter)
}

/// [`fast_sender`] with a given HTTP client (a proxy, extra roots).
pub fn fast_sender_with(
    http: reqwest::Client,
    url: &str,
    tokens: Arc<TokenCache>,
    dcr: &str,
    stream: &str,
    dead_letter: PathBuf,
) -> Sender {
    Sender::new(
        http,
        tokens,
        url,
        dcr,
        stream,
        dead_letter,
        RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            configuration_wait: Duration::from_millis(200),
        },
    )
}
