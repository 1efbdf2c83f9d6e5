//! The upload stage: one task per target (endpoint, DCR, stream) that cuts the rows the
//! listeners hand it into batches (at the size limit, or after a linger of one second), and
//! posts them with up to `[azure.upload] concurrency` requests in flight.
//!
//! What is not durable yet: rows held here live in memory; a crash loses them, and at shutdown
//! a target that stays unreachable past the grace time loses what it holds (logged). The
//! spool (issue 6) makes this at-least-once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::auth::{Credential, TokenCache};
use super::batch::{Batcher, ClosedBatch, MAX_BODY_BYTES};
use super::sender::{RetryPolicy, Sender};
use crate::dcr::binding::Target;

/// Rows for one target: JSON objects separated by `\n` (rows never hold a raw newline).
#[derive(Debug, Default)]
pub struct RowBatch {
    pub rows: Vec<u8>,
    pub count: u64,
}

/// How long a partial batch waits for more rows before it is sent.
const LINGER: Duration = Duration::from_secs(1);
/// gzip level: fast levels cost a fraction of level 6 for nearly the same size on log rows.
const GZIP_LEVEL: u32 = 3;

/// Counters of the upload stage.
#[derive(Clone)]
pub struct UploadMetrics {
    pub rows: Counter,
    pub quarantined: Counter,
    pub retries: Counter,
    pub requests: super::sender::RequestMetrics,
}

/// Channels to the uploaders, by [`Target::key`].
pub type UploadChannels = HashMap<String, mpsc::Sender<RowBatch>>;

/// Starts an uploader per target that has an endpoint and DCR id. Returns the channels by
/// [`Target::key`] and the tasks.
pub fn start(
    targets: &[Target],
    credential: Credential,
    concurrency: usize,
    dead_letter: &Path,
    http_options: &super::HttpOptions,
    metrics: UploadMetrics,
) -> Result<(UploadChannels, Vec<JoinHandle<()>>), String> {
    let http = super::http_client_with(http_options)?;
    let tokens = Arc::new(TokenCache::new(credential));
    let mut channels = HashMap::new();
    let mut tasks = Vec::new();
    for target in targets {
        let Some(key) = target.key.clone() else {
            continue;
        };
        if channels.contains_key(&key) {
            continue;
        }
        let (Some(endpoint), Some(dcr)) = (&target.endpoint, &target.immutable_id) else {
            continue;
        };
        let sender = Arc::new(
            Sender::new(
                http.clone(),
                Arc::clone(&tokens),
                endpoint,
                dcr,
                &target.stream,
                dead_letter.to_path_buf(),
                RetryPolicy::default(),
            )
            .with_metrics(metrics.requests.clone()),
        );
        let (tx, rx) = mpsc::channel(64);
        channels.insert(key, tx);
        tasks.push(tokio::spawn(uploader(
            rx,
            sender,
            concurrency.max(1),
            metrics.clone(),
        )));
    }
    Ok((channels, tasks))
}

async fn deliver(sender: Arc<Sender>, batch: ClosedBatch, metrics: UploadMetrics) {
    let result = sender.deliver(&batch).await;
    metrics.rows.inc_by(result.rows);
    metrics.quarantined.inc_by(result.quarantined);
    metrics.retries.inc_by(result.retries);
}

async fn uploader(
    mut rows: mpsc::Receiver<RowBatch>,
    sender: Arc<Sender>,
    concurrency: usize,
    metrics: UploadMetrics,
) {
    let mut batcher = Batcher::new(MAX_BODY_BYTES, GZIP_LEVEL);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut linger = tokio::time::interval(LINGER);
    linger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closed: Vec<ClosedBatch> = Vec::new();
    loop {
        tokio::select! {
            batch = rows.recv() => {
                let Some(batch) = batch else { break };
                for row in batch.rows.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
                    match batcher.push(row) {
                        Ok(Some(full)) => closed.push(full),
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, "compressing a batch failed"),
                    }
                }
            }
            _ = linger.tick() => {
                if let Ok(Some(partial)) = batcher.close() {
                    closed.push(partial);
                }
            }
        }
        for batch in closed.drain(..) {
            while in_flight.len() >= concurrency {
                let _ = in_flight.join_next().await;
            }
            in_flight.spawn(deliver(Arc::clone(&sender), batch, metrics.clone()));
        }
    }
    if let Ok(Some(last)) = batcher.close() {
        in_flight.spawn(deliver(Arc::clone(&sender), last, metrics.clone()));
    }
    while in_flight.join_next().await.is_some() {}
}
