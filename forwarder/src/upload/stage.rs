//! The upload stage: one task per target (endpoint, DCR, stream) that cuts the rows the
//! listeners hand it into batches (at the size limit, or after a linger of one second), and
//! posts them with up to `[azure.upload] concurrency` requests in flight.
//!
//! What is not durable yet: rows held here live in memory; a crash loses them, and at shutdown
//! a target that stays unreachable past the grace time loses what it holds (logged). The
//! spool (issue 6) makes this at-least-once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use tern_core::uploading::Uploading;

use super::auth::{Credential, TokenCache};
use super::batch::{Batcher, ClosedBatch, Compression, MAX_BODY_BYTES};
use super::sender::{RetryPolicy, Sender};
use crate::dcr::binding::Target;
pub use crate::metrics::UploadMetrics;
use crate::spool::executor::{Place, SpoolExecutor, SpoolGone};
use crate::spool::{Budget, Recovered, WhenFull};

/// Rows for one target: JSON objects separated by `\n` (rows never hold a raw newline).
#[derive(Debug, Default)]
pub struct RowBatch {
    pub rows: Vec<u8>,
    pub count: u64,
    /// Rows of `tern send-test` runs in this batch; empty for all other traffic.
    pub marks: crate::marked::Marks,
}

/// What listeners and tailers hand an uploader, in order.
#[derive(Debug)]
pub enum ToUploader {
    Rows(RowBatch),
    /// Answered once every row sent before it on this channel is in the spool: the RELP
    /// listener acknowledges its frames, and a file tailer moves its checkpoint, then.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

impl RowBatch {
    /// Room for `bytes` of rows.
    pub fn with_capacity(bytes: usize) -> RowBatch {
        RowBatch {
            rows: Vec::with_capacity(bytes),
            ..RowBatch::default()
        }
    }
}

/// How long a partial batch waits for more rows before it is sent.
const LINGER: Duration = Duration::from_secs(1);

/// How each target's uploader works.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Requests in flight.
    pub concurrency: usize,
    /// Without a spool: gzip bytes of closed batches that may wait for a request. With one:
    /// the memory tier per target (bodies kept in memory, not read back from disk).
    pub max_queued_bytes: usize,
    pub dead_letter: std::path::PathBuf,
    /// `[spool]`: batches on disk until accepted.
    pub spool: Option<crate::spool::SpoolConfig>,
    pub compression: Compression,
    /// Backoff between retries (`[azure.upload] retry_base_ms`, `retry_cap_ms`).
    pub retry: RetryPolicy,
}

/// Channels to the uploaders, by [`Target::key`], as one snapshot.
pub type ChannelMap = HashMap<String, mpsc::Sender<ToUploader>>;

/// The uploaders' channels. A DCR reload that names a target without an uploader starts one
/// before the new routing is in force, so that no row for it is dropped (decision 84); rows
/// for a target that has no endpoint or DCR id are still counted as `no_uploader`.
pub struct UploadChannels {
    channels: arc_swap::ArcSwap<ChannelMap>,
    /// What starting another uploader takes; `None` when Tern does not upload at all. A tokio
    /// mutex: starting one opens its spool, which is awaited.
    starter: tokio::sync::Mutex<Option<Starter>>,
    /// Every uploader task, those started at launch and by reloads, for the watchdog's health
    /// check and for shutdown to wait on.
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl UploadChannels {
    /// No uploads: every row goes to the local outputs.
    pub fn none() -> UploadChannels {
        UploadChannels {
            channels: arc_swap::ArcSwap::from_pointee(HashMap::new()),
            starter: tokio::sync::Mutex::new(None),
            tasks: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The channels in force now.
    pub fn snapshot(&self) -> Arc<ChannelMap> {
        self.channels.load_full()
    }

    /// The channel of one target.
    pub fn get(&self, key: &str) -> Option<mpsc::Sender<ToUploader>> {
        self.channels.load().get(key).cloned()
    }

    /// Starts uploaders for the targets of `targets` that have none yet.
    pub async fn add_targets(&self, targets: &[Target]) {
        let mut starter = self.starter.lock().await;
        let Some(starter) = starter.as_mut() else {
            return;
        };
        let current = self.channels.load_full();
        let mut next: Option<ChannelMap> = None;
        for target in targets {
            let Some(key) = target.key.as_deref() else {
                continue;
            };
            let known = next.as_ref().unwrap_or(&current);
            if known.contains_key(key) {
                continue;
            }
            match starter.start(target).await {
                Ok(Some((tx, task))) => {
                    tracing::info!(
                        target = key,
                        "new upload target from a DCR reload: uploader started"
                    );
                    next.get_or_insert_with(|| (*current).clone())
                        .insert(key.to_owned(), tx);
                    if let Ok(mut tasks) = self.tasks.lock() {
                        tasks.push(task);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(target = key, error = %e, "cannot start an uploader for a new target; its rows are counted as dropped (no_uploader)");
                }
            }
        }
        if let Some(next) = next {
            self.channels.store(Arc::new(next));
        }
    }

    /// How many uploader tasks have ended (none should before shutdown).
    pub fn stopped(&self) -> usize {
        self.tasks
            .lock()
            .map_or(0, |tasks| tasks.iter().filter(|t| t.is_finished()).count())
    }

    /// Every uploader task (taken: for shutdown to wait on).
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        self.tasks
            .lock()
            .map(|mut tasks| std::mem::take(&mut *tasks))
            .unwrap_or_default()
    }
}

/// The credentials uploads may use: `[azure.auth]` and the named `[azure.auth.<name>]`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub default: Option<Credential>,
    pub named: Vec<(String, Credential)>,
}

/// A started uploader: its channel and its task.
type Started = (mpsc::Sender<ToUploader>, JoinHandle<()>);

/// What an uploader needs besides its target: shared by every uploader of the process.
struct Starter {
    http: reqwest::Client,
    /// `[azure.auth]`'s tokens, if it is given.
    tokens: Option<Arc<TokenCache>>,
    /// `[azure.auth.<name>]`'s tokens: one cache per credential, so each tenant's token is
    /// fetched once and reused by all its targets.
    named_tokens: HashMap<String, Arc<TokenCache>>,
    options: UploadOptions,
    shared_budget: Option<Arc<Budget>>,
    registry: Arc<crate::metrics::Metrics>,
    metrics: UploadMetrics,
}

impl Starter {
    /// Starts `target`'s uploader: `None` when it has no endpoint or DCR id.
    async fn start(&mut self, target: &Target) -> Result<Option<Started>, String> {
        let options = &self.options;
        let registry = &self.registry;
        let (Some(endpoint), Some(dcr)) = (&target.endpoint, &target.immutable_id) else {
            return Ok(None);
        };
        // Its credential: named by the target, else the default (`tern check` refuses an
        // unknown name, and says when a target has none).
        let tokens = match &target.auth {
            Some(name) => self.named_tokens.get(name),
            None => self.tokens.as_ref(),
        };
        let Some(tokens) = tokens.map(Arc::clone) else {
            return Ok(None);
        };
        let name = spool_name(dcr, &target.stream);
        let spool_metrics = registry.spool(&name);
        let (place, budget) = match (&options.spool, &self.shared_budget) {
            (Some(config), Some(budget)) => (
                Place::Disk {
                    dir: config.dir.join(&name),
                    fsync: config.fsync,
                    memory_limit: options.max_queued_bytes as u64,
                },
                Arc::clone(budget),
            ),
            _ => (
                Place::Memory,
                Arc::new(Budget::new(options.max_queued_bytes as u64)),
            ),
        };
        let (spool, recovered) = SpoolExecutor::start(place, budget, spool_metrics).await?;
        registry.spool_recovered(&name).inc_by(recovered.rows);
        if recovered != Recovered::default() {
            tracing::info!(target = %name, batches = recovered.batches, rows = recovered.rows, damaged = recovered.damaged, set_aside = recovered.segments_set_aside, cursor_lost = recovered.cursor_lost, "spool recovered");
        }
        let when_full = options
            .spool
            .as_ref()
            .map_or(WhenFull::Block, |s| s.when_full);
        let sender = Arc::new(
            Sender::new(
                self.http.clone(),
                tokens,
                endpoint,
                dcr,
                &target.stream,
                options.dead_letter.clone(),
                options.retry,
            )
            .with_metrics(self.metrics.requests.clone()),
        );
        // Short: rows waiting here are in memory only (lost on kill -9, not counted against
        // the budget); the uploader spools them within milliseconds.
        let (tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(uploader(
            rx,
            sender,
            options.compression,
            options.concurrency.max(1),
            spool,
            when_full,
            self.metrics.clone(),
        ));
        Ok(Some((tx, task)))
    }
}

/// Starts an uploader per target that has an endpoint and DCR id, each with its spool
/// (recovered from disk when there is a `[spool]`). Returns the channels, which can start
/// more on a DCR reload and hold the tasks.
pub async fn start(
    targets: &[Target],
    credentials: Credentials,
    options: &UploadOptions,
    http_options: &super::HttpOptions,
    registry: &Arc<crate::metrics::Metrics>,
) -> Result<UploadChannels, String> {
    let mut starter = Starter {
        http: super::http_client_with(http_options)?,
        tokens: credentials
            .default
            .map(|credential| Arc::new(TokenCache::new(credential))),
        named_tokens: credentials
            .named
            .into_iter()
            .map(|(name, credential)| (name, Arc::new(TokenCache::new(credential))))
            .collect(),
        shared_budget: options
            .spool
            .as_ref()
            .map(|s| Arc::new(Budget::new(s.max_bytes))),
        options: options.clone(),
        registry: Arc::clone(registry),
        metrics: registry.uploads(),
    };
    let mut channels = HashMap::new();
    let mut tasks = Vec::new();
    for target in targets {
        let Some(key) = target.key.clone() else {
            continue;
        };
        if channels.contains_key(&key) {
            continue;
        }
        if let Some((tx, task)) = starter.start(target).await? {
            channels.insert(key, tx);
            tasks.push(task);
        }
    }
    Ok(UploadChannels {
        channels: arc_swap::ArcSwap::from_pointee(channels),
        starter: tokio::sync::Mutex::new(Some(starter)),
        tasks: std::sync::Mutex::new(tasks),
    })
}

/// A target's spool folder: its DCR immutable id and stream, which name it uniquely and stay
/// the same across restarts and DCR reloads.
fn spool_name(dcr: &str, stream: &str) -> String {
    format!("{dcr}-{stream}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn deliver(sender: Arc<Sender>, batch: ClosedBatch, metrics: UploadMetrics) {
    let result = sender.deliver(&batch).await;
    metrics.rows.inc_by(result.rows);
    metrics.quarantined.inc_by(result.quarantined);
}

/// Cuts a target's rows into batches, spools them, and keeps up to `concurrency` of the
/// oldest in flight. While the target is slow or failing the spool grows; when the budget is
/// used up, `block` stops taking rows (the listeners feel it, so one failing workspace holds
/// back the others only then) and `drop-oldest` deletes this target's oldest segment.
/// On shutdown (the channel closes) the open batch is spooled and fsynced; deliveries go on
/// until the daemon's grace time ends, and what is left is sent after the next start.
async fn uploader(
    mut rows: mpsc::Receiver<ToUploader>,
    sender: Arc<Sender>,
    compression: Compression,
    concurrency: usize,
    mut spool: SpoolExecutor,
    when_full: WhenFull,
    metrics: UploadMetrics,
) {
    let mut batcher = Batcher::new(MAX_BODY_BYTES, compression);
    // What to do next is decided by the sans-IO loop state (`tern_core::uploading`, tested
    // there); this function performs it: the channel, the linger, the spool's thread, the
    // request tasks.
    let mut state: Uploading<tokio::sync::oneshot::Sender<()>> = Uploading::new(concurrency);
    let mut in_flight: JoinSet<u64> = JoinSet::new();
    // Task → batch, to offer a batch again if its task fails.
    let mut sending: HashMap<tokio::task::Id, u64> = HashMap::new();
    let mut linger = tokio::time::interval(LINGER);
    linger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Every spool operation runs on the spool's thread; if that thread is gone, this uploader
    // stops (the watchdog sees it) and the next start recovers the spool.
    macro_rules! spool {
        ($operation:expr) => {
            match $operation.await {
                Ok(value) => value,
                Err(SpoolGone) => {
                    tracing::error!(
                        "the spool thread of an upload target ended; its uploader stops"
                    );
                    return;
                }
            }
        };
    }
    loop {
        if when_full == WhenFull::DropOldest
            && state.has_work(!rows.is_empty())
            && !spool!(spool.has_room())
        {
            let dropped = spool!(spool.drop_oldest());
            if dropped > 0 {
                tracing::warn!(
                    rows = dropped,
                    "spool full: the oldest segment was dropped (when_full = drop-oldest)"
                );
            }
        }
        // The spool is asked only when it matters: each look is a hop to its thread.
        let accepting = state.accepting() && spool!(spool.has_room());
        let mut closed = Vec::new();
        let mut marks = crate::marked::Marks::new();
        tokio::select! {
            batch = rows.recv(), if accepting => {
                match batch {
                    Some(ToUploader::Rows(batch)) => {
                        // Compressing into memory cannot fail; an error would be a bug.
                        if let Err(e) = batcher.push_rows(&batch.rows, &mut closed) {
                            tracing::error!(error = %e, "compressing a batch failed");
                        }
                        if !batch.marks.is_empty() && state.follows_marks() {
                            // Cut at once, so that the batches closed now hold them all.
                            closed.extend(batcher.close().ok().flatten());
                            marks = batch.marks;
                        }
                    }
                    Some(ToUploader::Barrier(barrier)) => {
                        // Spool now rather than after the linger: a sender waits.
                        closed.extend(batcher.close().ok().flatten());
                        state.barrier(barrier);
                    }
                    None => {
                        state.input_closed();
                        closed.extend(batcher.close().ok().flatten());
                    }
                }
            }
            _ = linger.tick() => {
                closed.extend(batcher.close().ok().flatten());
                spool!(spool.tick());
            }
            Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                match done {
                    Ok((id, seq)) => {
                        sending.remove(&id);
                        spool!(spool.ack(seq));
                        for (run, rows) in state.delivered(seq).into_iter().flatten() {
                            metrics.registry.marked.update(&run, |c| c.uploaded += rows);
                        }
                    }
                    Err(failed) => {
                        // A delivery task that panicked: its batch is offered again.
                        tracing::error!(error = %failed, "an upload task failed; resending its batch");
                        state.failed();
                        if let Some(seq) = sending.remove(&failed.id()) {
                            spool!(spool.requeue(seq));
                        }
                    }
                }
            }
        }
        state.closed(closed, marks);
        while let Some((batch, pending)) = state.next_to_spool() {
            let appended = match spool!(spool.append(batch)) {
                Ok(seq) => Ok(seq),
                Err(e) => {
                    crate::warn_limited!(error = %e.error, "cannot write to the spool (disk full?); holding rows and retrying");
                    metrics.spool_write_errors.inc();
                    Err(e.batch)
                }
            };
            if !state.spooled(appended, pending) {
                break;
            }
        }
        for barrier in state.answerable() {
            let _ = barrier.send(());
        }
        if state.flushing() {
            spool!(spool.flush());
        }
        let room = state.room(spool.len());
        let batches = if room > 0 {
            spool!(spool.next_to_send(room))
        } else {
            Vec::new()
        };
        state.sending(batches.len());
        for (seq, batch) in batches {
            let sender = Arc::clone(&sender);
            let metrics = metrics.clone();
            let task = in_flight.spawn(async move {
                deliver(sender, batch, metrics).await;
                seq
            });
            sending.insert(task.id(), seq);
        }
        if state.done(spool.is_empty()) {
            break;
        }
    }
}
