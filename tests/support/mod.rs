//! Helpers shared by the upload and credential tests.

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
    Sender::new(
        tern::upload::http_client().unwrap_or_else(|e| panic!("{e}")),
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
