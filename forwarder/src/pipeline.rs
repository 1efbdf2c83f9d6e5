//! The per-listener path of an event: parse → route (by kind, until DCRs) → shape, appending
//! rows to a batch that is handed to the outputs whole.
//!
//! Owns: turning messages into row batches and counting what happens to each message. Each
//! listener task (one per UDP socket or TCP connection) has its own [`Shaper`], so the per-event
//! path shares nothing but atomic counters; batches go to the outputs through a bounded queue,
//! which is where backpressure comes from.

use std::time::Instant;

use tern_parsers::vendor::cisco_ise::{parse_segment, segmented_tag};

use crate::reassembly::{Added, Budget, Reassembler, Whole};
use crate::timezone::ZoneClock;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus_client::metrics::counter::Counter;
use tern_parsers::{Body, Format, Options, ParseError, Timestamp, parse};
use tokio::sync::mpsc;

use crate::dcr::Compiled;
use crate::dcr::binding::Target;
use crate::dcr::routing::{EventKind, FlowTransform};
use crate::metrics::{DropReason, ListenerMetrics, Metrics};
use crate::tables::{Received, Table, write_captured_row, write_declared_row};
use crate::upload::stage::{ChannelMap, RowBatch, ToUploader, UploadChannels};
use tern_core::transform::Outcome;

/// Rows ready for the outputs: JSON lines (`{"table":…,"row":{…}}`), `rows` of them.
#[derive(Debug, Default)]
pub struct Batch {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

/// A batch is handed over once it holds this many bytes (or when its listener flushes).
const BATCH_BYTES: usize = 256 * 1024;

/// The room a target's first row batch is given; later ones are sized like the one before,
/// never smaller.
const FIRST_BATCH_BYTES: usize = 64 * 1024;

/// The outputs have stopped: the forwarder is shutting down.
#[derive(Debug)]
pub struct OutputsClosed;

/// A parsers' UTC timestamp as the transformations' clock reading (`now()`, `ago()`): the
/// event's receive time, so a row's transformation sees one instant throughout.
pub fn jiff_time(t: Timestamp) -> jiff::Timestamp {
    let seconds = t.unix_seconds(0);
    jiff::Timestamp::new(seconds, i32::try_from(t.nanos).unwrap_or(0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The current time as a UTC timestamp.
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        since.subsec_nanos(),
    )
}

/// What every listener needs to shape rows.
#[derive(Clone)]
pub struct Pipeline {
    pub collector_hostname: Arc<str>,
    /// Upload channels by target key (empty: no uploads; rows go to the local outputs only).
    pub uploads: Arc<UploadChannels>,
    /// The routing in force; swapped whole on reload, read once per message.
    pub routing: Arc<ArcSwap<Compiled>>,
    pub metrics: Arc<Metrics>,
    /// To the local outputs (`[[output]]`, or stdout without uploads).
    pub batches: mpsc::Sender<Batch>,
    /// Whether any local output is open: without one, rows are written only for uploads.
    pub local_outputs: bool,
    /// The reassembly budget of each listener with `reassemble = true`, by listener name: its
    /// connections and sockets share it.
    pub reassembly_budgets: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Budget>>>>,
}

impl Pipeline {
    /// The reassembly budget `listen`'s tasks share, if it reassembles.
    fn reassembly_budget(&self, listen: &crate::config::Listen) -> Option<Arc<Budget>> {
        let max = listen.reassembly_max_bytes?;
        let mut budgets = self
            .reassembly_budgets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(
            budgets
                .entry(listen.name())
                .or_insert_with(|| Budget::new(max)),
        ))
    }
}

/// Parses and shapes the messages of one listener task.
pub struct Shaper {
    format: Format,
    /// Per-sender pins (`sender_formats`), most specific first.
    sender_formats: Arc<[(ipnet::IpNet, Format)]>,
    /// The listener's set of collection DCRs (`dcrs`), and per sender network
    /// (`sender_dcrs`): an index into the compiled scopes.
    scope: Option<usize>,
    sender_scopes: Arc<[(ipnet::IpNet, usize)]>,
    routing: Arc<ArcSwap<Compiled>>,
    collector_hostname: Arc<str>,
    metrics: ListenerMetrics,
    batches: mpsc::Sender<Batch>,
    /// Where rows are written; a field of its own so that writing borrows it while the
    /// event's `Received` borrows the rest of the shaper.
    sink: RowSink,
    /// Segments of multi-part messages waiting for the rest (`reassemble = true` only).
    reassembler: Option<Reassembler>,
    /// The zone of device timestamps without one (`[[listen]] timezone`).
    zone: ZoneClock,
    /// The last receive time and its RFC 3339 text: every message of a read shares it.
    time_text: (Timestamp, String),
}

/// The rows a shaper has written and not yet handed on.
struct RowSink {
    /// Lines for the local outputs; stays empty when there are none.
    batch: Batch,
    /// The run of the event being shaped, when `tern send-test` marked it.
    mark: Option<Arc<str>>,
    metrics: Arc<Metrics>,
    local_outputs: bool,
    /// Rows that neither an uploader nor a local output takes (`dropped{reason="no_uploader"}`).
    unsent: Counter,
    uploads: Arc<UploadChannels>,
    /// The channels as of the last flush (a reload may add some; looked up per row, so not
    /// loaded per row).
    channels: Arc<ChannelMap>,
    /// Rows waiting for the next flush, per upload target key.
    pending_uploads: Vec<(String, RowBatch)>,
    /// Targets handed rows since the last [`Shaper::flush_durable`].
    unconfirmed: Vec<String>,
    rows: [Counter; 2],
    mistyped_values: Counter,
    /// The full row a transformation reads, reused between events.
    scratch: Vec<u8>,
    /// Where a transformation's columns are in `scratch` (an `Option` so that taking it
    /// costs nothing: a default `Capture` shares one static empty `Arc`, whose count the
    /// shapers' threads would fight over per row).
    capture: Option<crate::tables::Capture>,
    /// Rows each transformation dropped and failed on since the last flush: counted here and
    /// added to the metrics per flush, not looked up by label per row.
    transform_counts: Vec<(Arc<FlowTransform>, (u64, u64))>,
    transform_spare: (u64, u64),
    /// The last receive time given to a transformation as `now()`, converted (the events of a
    /// read share it).
    transform_now: Option<(Timestamp, jiff::Timestamp)>,
}

pub(crate) use crate::metrics::ANOMALY_NAMES;

impl Shaper {
    pub fn new(
        pipeline: &Pipeline,
        listen: &crate::config::Listen,
        metrics: ListenerMetrics,
    ) -> Shaper {
        let sink = RowSink {
            batch: Batch {
                bytes: Vec::with_capacity(if pipeline.local_outputs {
                    BATCH_BYTES + 8192
                } else {
                    0
                }),
                rows: 0,
            },
            local_outputs: pipeline.local_outputs,
            mark: None,
            metrics: Arc::clone(&pipeline.metrics),
            unsent: metrics
                .dropped(DropReason::NoUploader)
                .cloned()
                .unwrap_or_default(),
            uploads: Arc::clone(&pipeline.uploads),
            channels: pipeline.uploads.snapshot(),
            pending_uploads: Vec::new(),
            unconfirmed: Vec::new(),
            rows: [
                pipeline.metrics.rows(Table::Syslog.name()),
                pipeline.metrics.rows(Table::CommonSecurityLog.name()),
            ],
            mistyped_values: metrics.mistyped_values.clone(),
            scratch: Vec::new(),
            capture: None,
            transform_counts: Vec::new(),
            transform_spare: (0, 0),
            transform_now: None,
        };
        Shaper {
            format: listen.format,
            sender_formats: Arc::clone(&listen.sender_formats),
            scope: listen.scope,
            sender_scopes: Arc::clone(&listen.sender_scopes),
            routing: Arc::clone(&pipeline.routing),
            collector_hostname: Arc::clone(&pipeline.collector_hostname),
            metrics,
            batches: pipeline.batches.clone(),
            sink,
            reassembler: pipeline.reassembly_budget(listen).map(Reassembler::new),
            zone: ZoneClock::new(listen.timezone.clone()),
            time_text: (
                Timestamp::from_unix(0, 0),
                "1970-01-01T00:00:00Z".to_owned(),
            ),
        }
    }

    /// Whether segments of a multi-part message are waiting for the rest: a listener that
    /// may go quiet must then call [`Shaper::flush`] now and then, so that a group whose window
    /// has passed is forwarded without waiting for the next message.
    pub fn has_waiting_segments(&self) -> bool {
        self.reassembler.as_ref().is_some_and(|r| !r.is_empty())
    }

    pub fn metrics(&self) -> &ListenerMetrics {
        &self.metrics
    }

    /// Parses one message and appends its row. `received_at` is the receive time (UTC).
    pub fn handle(&mut self, message: &[u8], sender: Option<IpAddr>, received_at: Timestamp) {
        let mut options = Options::new(received_at);
        options.format = crate::config::pinned_format(self.format, &self.sender_formats, sender);
        let event = match parse(message, &options) {
            Ok(event) => event,
            Err(ParseError::Empty) => {
                self.metrics.drop(DropReason::Empty, 1);
                return;
            }
            Err(ParseError::NotFormat(_)) => {
                self.metrics.drop(DropReason::NotFormat, 1);
                return;
            }
        };
        // A segment of a multi-part message waits for the others (`crate::reassembly`).
        if let Some(reassembler) = self.reassembler.as_mut() {
            let segment = segmented_tag(event.app_name, event.message).and_then(|(tag, rest)| {
                let segment = parse_segment(rest).filter(|s| s.total > 1)?;
                Some((tag, rest, segment))
            });
            match segment {
                Some((tag, rest, segment)) => {
                    let header_at = rest.as_ptr().addr() - message.as_ptr().addr();
                    let now = Instant::now();
                    match reassembler.add(sender, tag, &segment, message, header_at, now) {
                        Added::Held { ready } => {
                            self.handle_reassembled(ready, received_at);
                            return;
                        }
                        // Not held: shaped below as an event of its own.
                        Added::PassThrough { limit, ready } => {
                            self.count_limit(limit);
                            self.handle_reassembled(ready, received_at);
                        }
                    }
                }
                None if !reassembler.is_empty() => {
                    let expired = reassembler.expire(Some(Instant::now()));
                    self.handle_reassembled(expired, received_at);
                }
                None => {}
            }
        }
        if let Some(counter) = self.metrics.parsed_kind(event.body.kind()) {
            counter.inc();
        }
        self.sink.mark = crate::marked::Ledger::run_of(event.hostname).and_then(|run| {
            self.sink.metrics.marked.update(run, |c| match event.body {
                Body::Cef(_) | Body::Vendor(_) => c.cef += 1,
                Body::CiscoAsa(_) => c.asa += 1,
                Body::Text | Body::Leef(_) => c.text += 1,
            })
        });
        if event.body_error.is_some() {
            self.metrics.body_errors.inc();
        }
        if !event.anomalies.is_empty() {
            for (index, (flag, _)) in ANOMALY_NAMES.iter().enumerate() {
                if event.anomalies.contains(*flag) {
                    self.metrics.anomaly(index);
                }
            }
        }
        // Route: which tables (in which workspaces) the collection DCRs send it to.
        let kind = match event.body {
            // Vendor formats travel the CEF stream: to CommonSecurityLog where a DCR collects
            // CEF, else to Syslog as AMA would send them (decision 65).
            Body::Cef(_) | Body::Vendor(_) => EventKind::Cef,
            Body::CiscoAsa(_) => EventKind::Asa,
            Body::Text | Body::Leef(_) => EventKind::Syslog,
        };
        let facility = event.pri.map(|p| p.facility.code());
        // One snapshot per message: a reload swaps the whole table between messages, never
        // inside one, so no event is routed by half of each.
        let compiled = self.routing.load();
        // A sender network bound to DCRs wins over its listener's binding (the longest prefix
        // among the networks); else the listener's; else every collection DCR.
        let scope = sender
            .and_then(|ip| self.sender_scopes.iter().find(|(net, _)| net.contains(&ip)))
            .map(|(_, scope)| *scope)
            .or(self.scope);
        let (routing, by_route) = compiled.routing_for(scope);
        let bindings = &compiled.bindings;
        let routes = routing.lookup(facility, event.severity().code(), kind);
        if routes.is_some_and(|r| r.is_empty()) {
            self.metrics.filtered.inc();
            if let Some(run) = &self.sink.mark {
                self.sink.metrics.marked.update(run, |c| c.filtered += 1);
            }
            return;
        }
        if self.time_text.0 != received_at {
            let (time, text) = &mut self.time_text;
            *time = received_at;
            text.clear();
            let _ = received_at.write_rfc3339_utc(0, text);
        }
        let received = Received {
            time: received_at,
            time_text: Some(&self.time_text.1),
            sender,
            collector_hostname: &self.collector_hostname,
            default_offset_seconds: self.zone.offset_for(event.timestamp.as_ref(), &received_at),
        };
        if bindings.targets.is_empty() {
            // No upload target: one row per table the routes name (or by kind, with no DCR);
            // a route through a transformation gives its own row.
            let tables = match routes {
                None => [Some(Table::for_event(&event)), None],
                Some(routes) => {
                    for route in routes.ids().filter_map(|id| routing.route(id)) {
                        if let Some(flow) = &route.transform {
                            self.sink.append_transformed(
                                route.table,
                                flow,
                                std::iter::empty(),
                                &event,
                                &received,
                            );
                        }
                    }
                    let has = |table| {
                        routes.ids().any(|id| {
                            routing
                                .route(id)
                                .is_some_and(|r| r.table == table && r.transform.is_none())
                        })
                    };
                    [
                        has(Table::CommonSecurityLog).then_some(Table::CommonSecurityLog),
                        has(Table::Syslog).then_some(Table::Syslog),
                    ]
                }
            };
            for table in tables.into_iter().flatten() {
                self.sink.append_row(table, None, &event, &received);
            }
            return;
        }
        // Upload targets: one row per target, with exactly its declared columns. Without
        // collection DCRs, every target of the event's table takes it.
        // Target ids, each once, in id order; any number of them (a bit mask capped them at
        // 64 and dropped the rows of the others without a count).
        let mut targets: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
        // Routes through a dataFlow transformation: their rows are transformed once per route
        // and written to each of its targets (after the plain ones).
        let mut transformed: smallvec::SmallVec<[usize; 2]> = smallvec::SmallVec::new();
        match routes {
            None => {
                let table = Table::for_event(&event);
                targets.extend(
                    bindings
                        .targets
                        .iter()
                        .enumerate()
                        .filter(|(_, target)| target.table == table)
                        .map(|(id, _)| id),
                );
            }
            Some(routes) => {
                for route in routes.ids() {
                    if routing.route(route).is_some_and(|r| r.transform.is_some()) {
                        transformed.push(route);
                        continue;
                    }
                    targets.extend(by_route.get(route).into_iter().flatten().copied());
                }
                targets.sort_unstable();
                targets.dedup();
            }
        }
        for route in transformed.iter().filter_map(|id| {
            let route = routing.route(*id)?;
            Some((route, route.transform.as_ref()?, by_route.get(*id)?))
        }) {
            let (route, flow, bound) = route;
            let bound = bound.iter().filter_map(|id| bindings.targets.get(*id));
            self.sink
                .append_transformed(route.table, flow, bound, &event, &received);
        }
        if targets.is_empty() && !transformed.is_empty() {
            return;
        }
        if targets.is_empty() {
            // No target takes the event's table (no collection DCR, and no stream for this
            // table): the local outputs get it, else it is counted as `no_uploader`.
            self.sink
                .append_row(Table::for_event(&event), None, &event, &received);
            return;
        }
        for id in targets {
            if let Some(target) = bindings.targets.get(id) {
                self.sink
                    .append_row(target.table, Some(target), &event, &received);
            }
        }
    }

    fn count_limit(&self, limit: crate::reassembly::Limit) {
        let index = crate::reassembly::Limit::ALL
            .iter()
            .position(|l| *l == limit)
            .unwrap_or_default();
        if let Some(counter) = self.metrics.reassembly_limits.get(index) {
            counter.inc();
        }
    }

    /// Handles messages the reassembler put back together.
    fn handle_reassembled(&mut self, ready: Vec<Whole>, at: Timestamp) {
        if let Some(reassembler) = &self.reassembler {
            let held = i64::try_from(reassembler.budget_used()).unwrap_or(i64::MAX);
            self.metrics.reassembly_bytes.set(held);
        }
        for whole in ready {
            if let Some(limit) = whole.limit {
                self.count_limit(limit);
            }
            let sender = whole.sender;
            if whole.complete {
                self.metrics.reassembled.inc();
            } else {
                self.metrics.reassembly_incomplete.inc();
                crate::warn_limited!(
                    ?sender,
                    "multi-part message forwarded with segments missing"
                );
            }
            self.handle(&whole.message, sender, at);
        }
    }

    /// Forwards what is still waiting for segments, then flushes: for the end of a task.
    pub async fn finish(&mut self) -> Result<(), OutputsClosed> {
        if let Some(open) = self.reassembler.as_mut().map(|r| r.expire(None)) {
            self.handle_reassembled(open, now());
        }
        self.flush().await
    }

    /// Whether the batch is big enough to hand over now.
    pub fn batch_full(&self) -> bool {
        self.sink.batch.bytes.len() >= BATCH_BYTES
            || self
                .sink
                .pending_uploads
                .iter()
                .any(|(_, b)| b.rows.len() >= BATCH_BYTES)
    }

    /// [`Shaper::flush`], then waits until every row this shaper handed to an uploader is in
    /// its spool (written, and fsynced under `fsync = "always"`). What RELP acknowledges.
    /// Rows for local outputs only are handed over, not made durable.
    pub async fn flush_durable(&mut self) -> Result<(), OutputsClosed> {
        self.flush().await?;
        let mut waits = Vec::new();
        for key in std::mem::take(&mut self.sink.unconfirmed) {
            if let Some(channel) = self.sink.channels.get(key.as_str()) {
                let (barrier, done) = tokio::sync::oneshot::channel();
                channel
                    .send(ToUploader::Barrier(barrier))
                    .await
                    .map_err(|_| OutputsClosed)?;
                waits.push(done);
            }
        }
        for done in waits {
            done.await.map_err(|_| OutputsClosed)?;
        }
        Ok(())
    }

    /// Hands the batch to the outputs, waiting while their queue is full (backpressure).
    pub async fn flush(&mut self) -> Result<(), OutputsClosed> {
        if let Some(expired) = self
            .reassembler
            .as_mut()
            .filter(|r| !r.is_empty())
            .map(|r| r.expire(Some(Instant::now())))
        {
            self.handle_reassembled(expired, now());
        }
        self.sink.publish_transform_counts();
        // Rows are only ever written for targets that were routed; a reload starts the new
        // targets' uploaders before it routes to them, so this snapshot has their channels.
        self.sink.channels = self.sink.uploads.snapshot();
        for (key, batch) in self.sink.pending_uploads.iter_mut() {
            if batch.count == 0 {
                continue;
            }
            // The next batch gets room for one like this (a listener's batches keep about the
            // same size): growing one by doubling copied it about twice over.
            let room = (batch.rows.len() + batch.rows.len() / 4)
                .clamp(FIRST_BATCH_BYTES, BATCH_BYTES + 8192);
            let batch = std::mem::replace(batch, RowBatch::with_capacity(room));
            match self.sink.channels.get(key.as_str()) {
                Some(channel) => {
                    if channel.send(ToUploader::Rows(batch)).await.is_err() {
                        return Err(OutputsClosed);
                    }
                    if !self.sink.unconfirmed.contains(key) {
                        self.sink.unconfirmed.push(key.clone());
                    }
                }
                None => self.metrics.drop(DropReason::NoUploader, batch.count),
            }
        }
        if self.sink.batch.rows == 0 {
            return Ok(());
        }
        let batch = std::mem::replace(
            &mut self.sink.batch,
            Batch {
                bytes: Vec::with_capacity(BATCH_BYTES + 8192),
                rows: 0,
            },
        );
        self.batches.send(batch).await.map_err(|_| OutputsClosed)
    }
}

impl RowSink {
    /// Writes one event's row for `table`: once, into the pending batch of the target's
    /// uploader when it has one; for the local outputs it becomes a line
    /// `{"table":…,"row":{…}}` (with `"stream"` and `"workspace"` for an upload target, whose
    /// declared columns only it holds).
    fn append_row(
        &mut self,
        table: Table,
        target: Option<&Target>,
        event: &tern_parsers::Event<'_>,
        received: &Received<'_>,
    ) {
        let undeclared = target.map(|t| &t.undeclared);
        self.deliver(table, target, |out| {
            write_declared_row(table, event, received, undeclared, out)
        });
    }

    /// Runs a dataFlow's transformation on the event's row once and writes the result for
    /// each of `targets` (with exactly its declared columns), or for the local outputs when
    /// there is no target. A row the transformation drops or fails on is counted per DCR and
    /// stream; a failure is logged (rate-limited) and the row is not sent, as the service
    /// drops a row whose transformation fails (decision 111).
    fn append_transformed<'t>(
        &mut self,
        table: Table,
        flow: &Arc<FlowTransform>,
        targets: impl Iterator<Item = &'t Target>,
        event: &tern_parsers::Event<'_>,
        received: &Received<'_>,
    ) {
        let mut full = std::mem::take(&mut self.scratch);
        let mut capture = self.capture.take().unwrap_or_default();
        full.clear();
        let transform = &flow.transform;
        capture.reset(transform.captures());
        let notes = write_captured_row(table, event, received, &mut capture, &mut full);
        let now = match self.transform_now {
            Some((at, now)) if at == received.time => now,
            _ => {
                let now = jiff_time(received.time);
                self.transform_now = Some((received.time, now));
                now
            }
        };
        let cells = match transform.run_captured(&capture, &full, now) {
            Outcome::Kept(cells) => cells,
            Outcome::Dropped => {
                self.scratch = full;
                self.capture = Some(capture);
                self.transform_counts(flow).0 += 1;
                return;
            }
            Outcome::Failed(e) => {
                self.scratch = full;
                self.capture = Some(capture);
                self.transform_counts(flow).1 += 1;
                crate::warn_limited!(
                    transformation = %flow.origin,
                    error = %e,
                    "a transformation failed on a row; the row is not sent"
                );
                return;
            }
        };
        let mut any = false;
        for target in targets {
            any = true;
            self.deliver(table, Some(target), |out| {
                transform.write_kept(&full, &cells, Some(&target.undeclared), out);
                notes
            });
        }
        if !any {
            self.deliver(table, None, |out| {
                transform.write_kept(&full, &cells, None, out);
                notes
            });
        }
        drop(cells);
        self.scratch = full;
        self.capture = Some(capture);
    }

    /// This shaper's (dropped, failed) counts for `flow` since the last flush.
    fn transform_counts(&mut self, flow: &Arc<FlowTransform>) -> &mut (u64, u64) {
        let at = match self
            .transform_counts
            .iter()
            .position(|(f, _)| Arc::ptr_eq(f, flow))
        {
            Some(at) => at,
            None => {
                self.transform_counts.push((Arc::clone(flow), (0, 0)));
                self.transform_counts.len() - 1
            }
        };
        match self.transform_counts.get_mut(at) {
            Some((_, counts)) => counts,
            None => &mut self.transform_spare,
        }
    }

    /// Adds the transformation counts to the metrics.
    fn publish_transform_counts(&mut self) {
        for (flow, (dropped, failed)) in self.transform_counts.drain(..) {
            self.metrics
                .transform_rows(&flow.dcr, &flow.stream, dropped, failed);
        }
    }

    /// Writes one row (by `write`) for `target`'s uploader and for the local outputs, and
    /// counts it.
    fn deliver(
        &mut self,
        table: Table,
        target: Option<&Target>,
        write: impl FnOnce(&mut Vec<u8>) -> crate::tables::ShapeNotes,
    ) {
        let upload_key = target
            .filter(|_| !self.channels.is_empty())
            .and_then(|t| t.key.as_deref());
        let pending = upload_key.and_then(|key| pending_batch(&mut self.pending_uploads, key));
        let notes = if let Some(batch) = pending {
            let row_start = batch.rows.len();
            let notes = write(&mut batch.rows);
            if self.local_outputs {
                let row = batch.rows.get(row_start..).unwrap_or_default();
                write_local_line(&mut self.batch, table, target, |out| {
                    out.extend_from_slice(row);
                });
            }
            batch.rows.push(b'\n');
            batch.count += 1;
            if let Some(run) = &self.mark {
                crate::marked::add(&mut batch.marks, run);
                self.metrics.marked.update(run, |c| c.queued += 1);
            }
            notes
        } else if self.local_outputs {
            let mut notes = Default::default();
            write_local_line(&mut self.batch, table, target, |out| {
                notes = write(out);
            });
            if let Some(run) = &self.mark {
                self.metrics.marked.update(run, |c| c.local += 1);
            }
            notes
        } else {
            // No uploader takes it (a target without an endpoint, or no credential) and no
            // local output is open: counted, not lost silently.
            self.unsent.inc();
            if let Some(run) = &self.mark {
                self.metrics.marked.update(run, |c| c.no_uploader += 1);
            }
            return;
        };
        // Values that did not fit their column's type: CEF values (kept in
        // AdditionalExtensions) and a PROCID that is not a number (ProcessID left empty).
        let mistyped = u64::from(notes.mistyped_values) + u64::from(notes.non_numeric_pid);
        if mistyped > 0 {
            self.mistyped_values.inc_by(mistyped);
        }
        let index = usize::from(table == Table::CommonSecurityLog);
        if let Some(counter) = self.rows.get(index) {
            counter.inc();
        }
        if let Some(run) = &self.mark {
            self.metrics.marked.update(run, |c| match table {
                Table::CommonSecurityLog => c.common_security_log_rows += 1,
                _ => c.syslog_rows += 1,
            });
        }
    }
}

/// The pending rows of the uploader `key`, made on its first row.
fn pending_batch<'a>(
    pending: &'a mut Vec<(String, RowBatch)>,
    key: &str,
) -> Option<&'a mut RowBatch> {
    let found = match pending.iter().position(|(k, _)| k == key) {
        Some(index) => pending.get_mut(index),
        None => {
            pending.push((key.to_owned(), RowBatch::with_capacity(FIRST_BATCH_BYTES)));
            pending.last_mut()
        }
    };
    found.map(|(_, batch)| batch)
}

/// Appends one local-output line, `{"table":…,"row":` + what `write_row` writes + `}`.
fn write_local_line(
    batch: &mut Batch,
    table: Table,
    target: Option<&Target>,
    write_row: impl FnOnce(&mut Vec<u8>),
) {
    let out = &mut batch.bytes;
    out.extend_from_slice(b"{\"table\":\"");
    out.extend_from_slice(table.name().as_bytes());
    if let Some(target) = target {
        out.extend_from_slice(b"\",\"stream\":\"");
        crate::tables::json::escape_str_into(&target.stream, out);
        if let Some(workspace) = &target.workspace {
            out.extend_from_slice(b"\",\"workspace\":\"");
            crate::tables::json::escape_str_into(workspace, out);
        }
    }
    out.extend_from_slice(b"\",\"row\":");
    write_row(out);
    out.extend_from_slice(b"}\n");
    batch.rows += 1;
}
