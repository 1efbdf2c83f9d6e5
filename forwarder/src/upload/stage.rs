//! The upload stage: one task per target (endpoint, DCR, stream) that cuts the rows the
//! listeners hand it into batches (at the size limit, or after a linger of one second), and
//! posts them with up to `[azure.upload] concurrency` requests in flight.
//!
//! What is not durable yet: rows held here live in memory; a crash loses them, and at shutdown
//! a target that stays unreachable past the grace time loses what it holds (logged). The
//! spool (issue 6) makes this at-least-once.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
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
    /// gzip bytes of closed batches waiting for a request slot, all targets together.
    pub queued_bytes: Gauge,
}

/// How much each target's uploader may have outstanding.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Requests in flight.
    pub concurrency: usize,
    /// gzip bytes of closed batches waiting for a request.
    pub max_queued_bytes: usize,
}

/// Channels to the uploaders, by [`Target::key`].
pub type UploadChannels = HashMap<String, mpsc::Sender<RowBatch>>;

/// Starts an uploader per target that has an endpoint and DCR id. Returns the channels by
/// [`Target::key`] and the tasks.
pub fn start(
    targets: &[Target],
    credential: Credential,
    limits: UploadLimits,
    dead_letter: &Path,
    http_options: &super::HttpOptions,
    metrics: UploadMetrics,
) -> Result<(UploadChannels, Vec<JoinHandle<()>>), String> {
    let UploadLimits {
        concurrency,
        max_queued_bytes,
    } = limits;
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
            max_queued_bytes,
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

/// Cuts a target's rows into batches and keeps up to `concurrency` of them in flight. Closed
/// batches wait in a queue of at most `max_queued_bytes` (gzip bytes) while the target is slow
/// or failing; only when it is full does the uploader stop taking rows, so one failing
/// workspace holds back the others only after its own queue is full (the spool of issue 6
/// will move this queue to disk).
async fn uploader(
    mut rows: mpsc::Receiver<RowBatch>,
    sender: Arc<Sender>,
    concurrency: usize,
    max_queued_bytes: usize,
    metrics: UploadMetrics,
) {
    let mut batcher = Batcher::new(MAX_BODY_BYTES, GZIP_LEVEL);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut linger = tokio::time::interval(LINGER);
    linger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut queue: VecDeque<ClosedBatch> = VecDeque::new();
    let mut queued_bytes = 0usize;
    let mut open = true;
    while open || !queue.is_empty() {
        let mut closed = Vec::new();
        tokio::select! {
            batch = rows.recv(), if open && queued_bytes < max_queued_bytes => {
                match batch {
                    Some(batch) => {
                        for row in batch.rows.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
                            // Compressing into memory cannot fail; an error would be a bug.
                            match batcher.push(row) {
                                Ok(Some(full)) => closed.push(full),
                                Ok(None) => {}
                                Err(e) => tracing::error!(error = %e, "compressing a batch failed"),
                            }
                        }
                    }
                    None => {
                        open = false;
                        closed.extend(batcher.close().ok().flatten());
                    }
                }
            }
            _ = linger.tick() => {
                closed.extend(batcher.close().ok().flatten());
            }
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
        for batch in closed {
            queued_bytes += batch.body.len();
            metrics.queued_bytes.inc_by(batch.body.len() as i64);
            queue.push_back(batch);
        }
        while in_flight.len() < concurrency {
            let Some(batch) = queue.pop_front() else {
                break;
            };
            queued_bytes -= batch.body.len();
            metrics.queued_bytes.dec_by(batch.body.len() as i64);
            in_flight.spawn(deliver(Arc::clone(&sender), batch, metrics.clone()));
        }
        if !open && queue.is_empty() {
            break;
        }
    }
    while in_flight.join_next().await.is_some() {}
}
