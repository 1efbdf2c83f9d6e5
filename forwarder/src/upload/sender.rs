//! Posting closed batches to one ingestion target, with the response rules of
//! `reference/azure.md` §1.5:
//! - 204: delivered;
//! - 429, 500, 502, 503, 504: wait for `Retry-After` (seconds or an HTTP date) or a jittered
//!   exponential backoff, and retry, without a limit on attempts: the batch is held, not
//!   dropped;
//! - 401: drop the cached token and retry;
//! - 403 (no "Monitoring Metrics Publisher" role yet) and 404 (wrong DCR id or stream): a
//!   configuration problem; logged, retried with long backoff, held;
//! - 400 and 413: split the batch in halves down to the offending row, which is quarantined in
//!   the dead-letter file with its reason, while the rest is delivered;
//! - network errors and timeouts: retried with backoff.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::auth::TokenCache;
use super::batch::ClosedBatch;
use super::delivery::{Action, Delivery, Outcome};
use super::diagnosis::Cause;
use crate::secure_file;

pub use super::delivery::RetryPolicy;
pub use crate::metrics::{RequestMetrics, StatusLabel};

/// What became of a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub rows: u64,
    /// Rows the service rejected on their own (400/413), written to the dead-letter file.
    pub quarantined: u64,
    /// Requests that had to be repeated.
    pub retries: u64,
}

/// Posts batches to one (endpoint, DCR, stream).
pub struct Sender {
    http: reqwest::Client,
    tokens: Arc<TokenCache>,
    url: String,
    dead_letter: PathBuf,
    policy: RetryPolicy,
    metrics: RequestMetrics,
    /// When this target's failures are logged (shared by its requests in flight).
    failures: std::sync::Mutex<super::diagnosis::FailureLog>,
}

/// One request: what it came to, why (for the log), and the service's text or the error
/// chain.
struct Attempt {
    outcome: Outcome,
    cause: Cause,
    detail: String,
}

/// Reads `Retry-After`: seconds, or an HTTP date; at most
/// [`super::delivery::MAX_RETRY_AFTER`].
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let wait = match value.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(SystemTime::now()).unwrap_or_default()
        }
    };
    Some(wait.min(super::delivery::MAX_RETRY_AFTER))
}

/// A pseudo-random factor in [0.5, 1.0) for jitter, from the clock: good enough to spread
/// retries of many senders apart, and no dependency for it.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    0.5 + f64::from(nanos % 1000) / 2000.0
}

impl Sender {
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenCache>,
        endpoint: &str,
        immutable_id: &str,
        stream: &str,
        dead_letter: PathBuf,
        policy: RetryPolicy,
    ) -> Sender {
        Sender {
            http,
            tokens,
            url: format!(
                "{}/dataCollectionRules/{immutable_id}/streams/{stream}?api-version=2023-01-01",
                endpoint.trim_end_matches('/')
            ),
            dead_letter,
            policy,
            metrics: RequestMetrics::default(),
            failures: std::sync::Mutex::default(),
        }
    }

    /// Counts this sender's requests into `metrics` (the daemon's registry).
    pub fn with_metrics(mut self, metrics: RequestMetrics) -> Sender {
        self.metrics = metrics;
        self
    }

    async fn post(&self, body: &[u8]) -> Attempt {
        let token = match self.tokens.token(&self.http).await {
            Ok(token) => token,
            Err(e) => {
                self.metrics.count("token_error");
                return Attempt {
                    outcome: Outcome::NoAnswer,
                    cause: e.cause().unwrap_or(Cause::Other),
                    detail: e.to_string(),
                };
            }
        };
        let started = std::time::Instant::now();
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header("x-ms-client-request-id", request_id())
            .body(body.to_vec())
            .send()
            .await;
        self.metrics
            .latency
            .observe(started.elapsed().as_secs_f64());
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                self.metrics.count("error");
                return Attempt {
                    outcome: Outcome::NoAnswer,
                    cause: Cause::of(&e),
                    detail: super::diagnosis::chain(&e),
                };
            }
        };
        let status = response.status().as_u16();
        self.metrics.count(&status.to_string());
        if (200..300).contains(&status) {
            self.metrics.accepted_bytes.inc_by(body.len() as u64);
        }
        let retry_after = retry_after(response.headers());
        let detail = response.text().await.unwrap_or_default();
        Attempt {
            outcome: Outcome::Answered {
                status,
                retry_after,
            },
            cause: Cause::Status(status),
            detail,
        }
    }

    /// Counts a retry now, and logs the failure behind it when one is due.
    fn failed(&self, delivered: &mut Delivered, cause: &Cause, detail: &str) {
        delivered.retries += 1;
        self.metrics.retries.inc();
        let line = self
            .failures
            .lock()
            .ok()
            .and_then(|mut log| log.failed(std::time::Instant::now(), &cause.describe()));
        if let Some(line) = line {
            let fix = cause.fix(super::diagnosis::host_of(&self.url));
            tracing::warn!(url = %self.url, %detail, %fix, "{line}");
        }
    }

    fn succeeded(&self) {
        let line = self
            .failures
            .lock()
            .ok()
            .and_then(|mut log| log.succeeded(std::time::Instant::now()));
        if let Some(line) = line {
            tracing::info!(url = %self.url, "{line}");
        }
    }

    /// Delivers one batch, holding it through every transient failure; the rules are
    /// [`Delivery`]'s, this performs them.
    pub async fn deliver(&self, batch: &ClosedBatch) -> Delivered {
        let mut delivered = Delivered::default();
        let mut pending = vec![(batch.body.clone(), batch.rows)];
        while let Some((body, rows)) = pending.pop() {
            let mut delivery = Delivery::new(self.policy);
            loop {
                let attempt = self.post(&body).await;
                let wait = match delivery.next(attempt.outcome, rows, jitter()) {
                    Action::Delivered => {
                        self.succeeded();
                        delivered.rows += rows;
                        break;
                    }
                    Action::Split => {
                        match split(&body) {
                            Some((first, second)) => {
                                // Second pushed first so the halves go out in order.
                                pending.push(second);
                                pending.push(first);
                            }
                            None => {
                                self.quarantine(&body, &attempt);
                                delivered.quarantined += rows;
                            }
                        }
                        break;
                    }
                    Action::Quarantine => {
                        self.quarantine(&body, &attempt);
                        delivered.quarantined += rows;
                        break;
                    }
                    Action::NewToken { wait } => {
                        self.tokens.invalidate().await;
                        self.failed(
                            &mut delivered,
                            &attempt.cause,
                            "the token was refused; requesting a new one",
                        );
                        wait
                    }
                    Action::HoldForOperator { wait } => {
                        tracing::error!(url = %self.url, cause = %attempt.cause.describe(), detail = %attempt.detail, "the service refused the target (role assignment or DCR/stream name?); holding the batch");
                        delivered.retries += 1;
                        self.metrics.retries.inc();
                        wait
                    }
                    Action::Retry { wait } => {
                        self.failed(&mut delivered, &attempt.cause, &attempt.detail);
                        wait
                    }
                };
                tokio::time::sleep(wait).await;
            }
        }
        delivered
    }

    fn quarantine(&self, body: &[u8], attempt: &Attempt) {
        let (status, detail) = match attempt.outcome {
            Outcome::Answered { status, .. } => (status, attempt.detail.as_str()),
            Outcome::NoAnswer => (0, attempt.detail.as_str()),
        };
        let rows = gunzip(body).unwrap_or_default();
        let line = serde_json::json!({
            "url": self.url,
            "status": status,
            "reason": detail,
            "rows": serde_json::from_slice::<serde_json::Value>(&rows).unwrap_or(serde_json::Value::Null),
        });
        let line = line.to_string();
        let written = append_dead_letter(&self.dead_letter, &line, DEAD_LETTER_MAX_BYTES);
        if let Err(e) = written {
            tracing::error!(path = %self.dead_letter.display(), error = %e, "cannot write the dead-letter file; the rejected row is in this log line: {line}");
        }
    }
}

/// Past this size the dead-letter file is moved to `<path>.1` (replacing the one before) and
/// started again: at most twice this much is kept.
pub const DEAD_LETTER_MAX_BYTES: u64 = 256 << 20;

/// Every sender of the process may share the dead-letter file: one rotates it at a time (two
/// rotating at once would move a fresh file over the rows just moved aside).
static DEAD_LETTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Appends `line` to the dead-letter file (created 0600: rejected rows are log data), first
/// moving it aside to `<path>.1` if the line would take it past `cap`.
fn append_dead_letter(path: &Path, line: &str, cap: u64) -> std::io::Result<()> {
    let _one_at_a_time = DEAD_LETTER.lock().unwrap_or_else(|e| e.into_inner());
    let mut file = secure_file::open_append(path, secure_file::PRIVATE)?;
    let len = file.metadata()?.len();
    if len > 0 && len.saturating_add(line.len() as u64 + 1) > cap {
        let older = secure_file::with_suffix(path, ".1");
        let discarded = std::fs::symlink_metadata(&older).map_or(0, |m| m.len());
        std::fs::rename(path, &older)?;
        if discarded > 0 {
            tracing::warn!(path = %older.display(), bytes = discarded, "the dead-letter file reached its size limit; the previous rotated file was discarded");
        }
        file = secure_file::open_append(path, secure_file::PRIVATE)?;
    }
    writeln!(file, "{line}")
}

fn request_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tern-{nanos:x}")
}

fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Splits a gzip JSON-array body into two gzip bodies of half the rows each (`None` for one
/// row). The slow path: only after a 400/413.
type Part = (Vec<u8>, u64);

fn split(body: &[u8]) -> Option<(Part, Part)> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&gunzip(body)?).ok()?;
    if rows.len() < 2 {
        return None;
    }
    let (a, b) = rows.split_at(rows.len() / 2);
    let pack = |part: &[serde_json::Value]| -> Option<(Vec<u8>, u64)> {
        let json = serde_json::to_vec(part).ok()?;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&json).ok()?;
        Some((e.finish().ok()?, part.len() as u64))
    };
    Some((pack(a)?, pack(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::delivery::MAX_RETRY_AFTER;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date_and_capped() {
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("7"), Some(Duration::from_secs(7)));
        assert_eq!(with("99999999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(with("Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_RETRY_AFTER));
        assert_eq!(with("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
    }

    #[test]
    fn the_dead_letter_file_is_rotated_once_and_kept_under_twice_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead-letter.jsonl");
        let older = secure_file::with_suffix(&path, ".1");
        let line = "x".repeat(99);
        for _ in 0..100 {
            append_dead_letter(&path, &line, 1000).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(size(&path) <= 1000 && size(&older) <= 1000);
        assert_eq!(
            size(&older),
            1000,
            "rotated when the next line would not fit"
        );
        assert_eq!(size(&path) % 100, 0, "whole lines only");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().all(|l| l == line));
        assert!(!secure_file::with_suffix(&path, ".2").exists());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
