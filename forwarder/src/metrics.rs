//! Prometheus metrics (prefix `tern_`) and the `/metrics`, `/healthz`, `/readyz` endpoint.
//!
//! Owns: the registry and the HTTP endpoint. Stages take cheap handles (atomic counters, looked
//! up once per listener or output) so the per-event path never takes a lock. Every event that
//! is not turned into a row is counted under `tern_dropped_total` with its reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tern_parsers::Anomalies;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabel {
    pub listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub listener: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub listener: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerResultLabels {
    pub listener: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    pub listener: String,
    /// The client certificate's subject (mutual TLS): one series per relay or device.
    pub subject: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PatternLabel {
    /// A `filePatterns` entry of a DCR `logFiles` source.
    pub pattern: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransformLabels {
    /// The collection DCR's name (else its file).
    pub dcr: String,
    /// The dataFlow's input stream.
    pub stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutputLabel {
    pub output: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabel {
    pub target: String,
}

/// Why an event (or a sender) was not turned into a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A frame or datagram longer than `max_message_bytes`.
    Oversized,
    /// A connection closed inside a frame.
    Truncated,
    /// Nothing but whitespace.
    Empty,
    /// The listener's pinned format did not match.
    NotFormat,
    /// The sender is not in the listener's `allow` list.
    RejectedSender,
    /// Rows for an upload target that appeared in a DCR reload; uploaders start with Tern.
    NoUploader,
    /// A frame that did not complete within `frame_timeout_seconds` of its first byte (a
    /// slow or stuck sender); the connection is closed.
    FrameTimeout,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::Oversized,
        DropReason::Truncated,
        DropReason::Empty,
        DropReason::NotFormat,
        DropReason::RejectedSender,
        DropReason::NoUploader,
        DropReason::FrameTimeout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DropReason::Oversized => "oversized",
            DropReason::Truncated => "truncated",
            DropReason::Empty => "empty",
            DropReason::NotFormat => "not_format",
            DropReason::RejectedSender => "rejected_sender",
            DropReason::NoUploader => "no_uploader",
            DropReason::FrameTimeout => "frame_timeout",
        }
    }
}

/// All metric families.
pub struct Metrics {
    registry: Registry,
    received: Family<ListenerLabel, Counter>,
    received_bytes: Family<ListenerLabel, Counter>,
    filtered: Family<ListenerLabel, Counter>,
    parsed: Family<KindLabels, Counter>,
    dropped: Family<ReasonLabels, Counter>,
    anomalies: Family<ReasonLabels, Counter>,
    body_errors: Family<ListenerLabel, Counter>,
    mistyped_values: Family<ListenerLabel, Counter>,
    framing_resyncs: Family<ListenerLabel, Counter>,
    reassembled: Family<ListenerLabel, Counter>,
    reassembly_incomplete: Family<ListenerLabel, Counter>,
    reassembly_limits: Family<ReasonLabels, Counter>,
    reassembly_bytes: Family<ListenerLabel, Gauge>,
    connections_refused: Family<ReasonLabels, Counter>,
    connection_buffer_bytes: Family<ListenerLabel, Gauge>,
    connection_buffer_waits: Family<ListenerLabel, Counter>,
    udp_kernel_drops: Family<ListenerLabel, Counter>,
    connections_open: Family<ListenerLabel, Gauge>,
    connections: Family<ListenerLabel, Counter>,
    tls_handshakes: Family<ListenerResultLabels, Counter>,
    tls_peers: Family<PeerLabels, Counter>,
    tls_reloads: Family<ListenerResultLabels, Counter>,
    tls_certificate_not_after: Family<ListenerLabel, Gauge>,
    file_watched: Family<PatternLabel, Gauge>,
    file_bytes: Family<PatternLabel, Counter>,
    file_records: Family<PatternLabel, Counter>,
    file_rows: Family<PatternLabel, Counter>,
    file_truncated: Family<PatternLabel, Counter>,
    file_errors: Family<PatternLabel, Counter>,
    file_rotations: Family<PatternLabel, Counter>,
    file_duplicates: Family<PatternLabel, Counter>,
    rows: Family<TableLabel, Counter>,
    transform_dropped_rows: Family<TransformLabels, Counter>,
    transform_errors: Family<TransformLabels, Counter>,
    output_rows: Family<OutputLabel, Counter>,
    output_errors: Family<OutputLabel, Counter>,
    dcr_reloads: Family<ResultLabel, Counter>,
    upload_rows: Counter,
    upload_quarantined: Counter,
    upload_requests: RequestMetrics,
    spool_write_errors: Counter,
    spool_bytes: Family<TargetLabel, Gauge>,
    upload_queued_bytes: Family<TargetLabel, Gauge>,
    spool_batches: Family<TargetLabel, Gauge>,
    spool_oldest_seconds: Family<TargetLabel, Gauge>,
    spool_corrupt_records: Family<TargetLabel, Counter>,
    spool_recovered_rows: Family<TargetLabel, Counter>,
    spool_dropped_rows: Family<TargetLabel, Counter>,
    spool_fsync_seconds: prometheus_client::metrics::histogram::Histogram,
    ready: AtomicBool,
    /// What became of the events `tern send-test` marked, per run (`/send-test/<run>`).
    pub marked: crate::marked::Ledger,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

/// Counters of one listener, resolved once.
#[derive(Clone)]
pub struct ListenerMetrics {
    pub received: Counter,
    pub received_bytes: Counter,
    pub filtered: Counter,
    /// Indexed like [`KINDS`].
    pub parsed: [Counter; 14],
    /// Indexed like [`DropReason::ALL`].
    pub dropped: [Counter; 7],
    /// Indexed like [`ANOMALY_NAMES`].
    anomalies: [Counter; 8],
    pub body_errors: Counter,
    pub mistyped_values: Counter,
    pub framing_resyncs: Counter,
    /// Multi-part messages put back together (Cisco ISE segments).
    pub reassembled: Counter,
    /// Multi-part messages emitted with segments missing (window passed, memory bound hit).
    pub reassembly_incomplete: Counter,
    /// Indexed like [`crate::reassembly::Limit::ALL`].
    pub reassembly_limits: [Counter; 4],
    /// Bytes the listener's reassemblers hold (set by the tasks as they change it).
    pub reassembly_bytes: Gauge,
    /// Connections closed at once: `per_source` (the address had its quota).
    pub refused_per_source: Counter,
    /// Bytes of the listener's connection buffers, against its `buffer_budget_bytes`.
    pub connection_buffer_bytes: Gauge,
    /// Times a connection waited for buffer room (paused, not closed).
    pub connection_buffer_waits: Counter,
    pub udp_kernel_drops: Counter,
    pub connections_open: Gauge,
    pub connections: Counter,
}

pub use tern_core::exposition::sum_in;

/// One `filePatterns` entry's counters.
#[derive(Clone)]
pub struct FileMetrics {
    pub watched: Gauge,
    pub bytes: Counter,
    pub records: Counter,
    pub rows: Counter,
    pub truncated: Counter,
    pub errors: Counter,
    pub rotations: Counter,
    pub duplicates: Counter,
}

/// One TLS listener's counters.
#[derive(Clone)]
pub struct TlsMetrics {
    pub handshakes_ok: Counter,
    pub handshakes_failed: Counter,
    /// Handshakes that succeeded with a certificate `tls.allowed_names` does not take.
    pub refused_names: Counter,
    pub reloads_ok: Counter,
    pub reloads_failed: Counter,
    pub not_after: Gauge,
    metrics: Arc<Metrics>,
    listener: String,
    /// The subjects given a label of their own so far (at most [`MAX_PEER_LABELS`]).
    labelled: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Distinct client subjects labelled per listener; the rest are counted as `other`, so that
/// a CA that signs many certificates (or a hostile client) cannot grow the metrics without end.
pub const MAX_PEER_LABELS: usize = 100;

impl TlsMetrics {
    /// Counts a mutual-TLS connection from the client certificate with this subject.
    pub fn peer(&self, subject: &str) {
        let subject = {
            let mut labelled = self
                .labelled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if labelled.contains(subject) {
                subject
            } else if labelled.len() < MAX_PEER_LABELS {
                labelled.insert(subject.to_owned());
                subject
            } else {
                "other"
            }
        };
        self.metrics
            .tls_peers
            .get_or_create(&PeerLabels {
                listener: self.listener.clone(),
                subject: subject.to_owned(),
            })
            .inc();
    }
}

/// Body kinds, as `tern_parsed_total{kind}` labels: the core formats, then the vendors (their
/// `Vendor::name`s; a test keeps the two lists together).
pub const KINDS: [&str; 14] = [
    "text",
    "cef",
    "leef",
    "cisco_asa",
    "checkpoint",
    "ciphertrust",
    "fortinet",
    "juniper",
    "mcafee",
    "meraki",
    "nxlog",
    "paloalto",
    "sophos",
    "zeek",
];

impl ListenerMetrics {
    pub fn drop(&self, reason: DropReason, count: u64) {
        if let Some(counter) = self.dropped(reason) {
            counter.inc_by(count);
        }
    }

    /// The counter of messages dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> Option<&Counter> {
        let index = DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0);
        self.dropped.get(index)
    }

    pub fn parsed_kind(&self, kind: &str) -> Option<&Counter> {
        KINDS
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| self.parsed.get(i))
    }

    /// Counts the anomaly at `index` of [`ANOMALY_NAMES`]. Counters made up
    /// front: some devices trip one on every line (no PRI, a relayed header), and a labelled
    /// lookup allocated two strings per event (2 % of the daemon at 200,000 datagrams/s).
    pub fn anomaly(&self, index: usize) {
        if let Some(counter) = self.anomalies.get(index) {
            counter.inc();
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("tern");
        let m = Metrics {
            received: Family::default(),
            received_bytes: Family::default(),
            filtered: Family::default(),
            parsed: Family::default(),
            dropped: Family::default(),
            anomalies: Family::default(),
            body_errors: Family::default(),
            mistyped_values: Family::default(),
            framing_resyncs: Family::default(),
            reassembled: Family::default(),
            reassembly_incomplete: Family::default(),
            reassembly_limits: Family::default(),
            reassembly_bytes: Family::default(),
            connections_refused: Family::default(),
            connection_buffer_bytes: Family::default(),
            connection_buffer_waits: Family::default(),
            udp_kernel_drops: Family::default(),
            connections_open: Family::default(),
            connections: Family::default(),
            tls_handshakes: Family::default(),
            tls_peers: Family::default(),
            tls_reloads: Family::default(),
            tls_certificate_not_after: Family::default(),
            file_watched: Family::default(),
            file_bytes: Family::default(),
            file_records: Family::default(),
            file_rows: Family::default(),
            file_truncated: Family::default(),
            file_errors: Family::default(),
            file_rotations: Family::default(),
            file_duplicates: Family::default(),
            rows: Family::default(),
            transform_dropped_rows: Family::default(),
            transform_errors: Family::default(),
            output_rows: Family::default(),
            output_errors: Family::default(),
            dcr_reloads: Family::default(),
            upload_rows: Counter::default(),
            upload_quarantined: Counter::default(),
            upload_requests: RequestMetrics::default(),
            spool_write_errors: Counter::default(),
            spool_bytes: Family::default(),
            upload_queued_bytes: Family::default(),
            spool_batches: Family::default(),
            spool_oldest_seconds: Family::default(),
            spool_corrupt_records: Family::default(),
            spool_recovered_rows: Family::default(),
            spool_dropped_rows: Family::default(),
            spool_fsync_seconds: SpoolMetrics::default().fsync_seconds,
            ready: AtomicBool::new(false),
            marked: crate::marked::Ledger::default(),
            registry: Registry::default(),
        };
        registry.register(
            "received",
            "Messages (datagrams or frames) received",
            m.received.clone(),
        );
        registry.register(
            "received_bytes",
            "Bytes of messages received",
            m.received_bytes.clone(),
        );
        registry.register("parsed", "Messages parsed, by body kind", m.parsed.clone());
        registry.register(
            "filtered",
            "Messages no collection DCR selects (facility, level and kind), not forwarded",
            m.filtered.clone(),
        );
        registry.register(
            "dropped",
            "Messages not turned into rows, by reason",
            m.dropped.clone(),
        );
        registry.register(
            "parse_anomalies",
            "Messages kept although the sender got something wrong, by anomaly",
            m.anomalies.clone(),
        );
        registry.register(
            "body_errors",
            "Messages that looked like CEF/LEEF but were kept as text",
            m.body_errors.clone(),
        );
        registry.register(
            "mistyped_values",
            "Values that did not fit their column's type: CEF values (kept in \
             AdditionalExtensions) and non-numeric PROCIDs (ProcessID left empty)",
            m.mistyped_values.clone(),
        );
        registry.register(
            "framing_resyncs",
            "Octet-counted frames without a valid count, read up to LF instead",
            m.framing_resyncs.clone(),
        );
        registry.register(
            "reassembled",
            "Multi-part messages (Cisco ISE segments) put back together into one event",
            m.reassembled.clone(),
        );
        registry.register(
            "reassembly_incomplete",
            "Multi-part messages forwarded with segments missing (the reassembly window passed, \
             the connection closed, or the memory bound was hit)",
            m.reassembly_incomplete.clone(),
        );
        registry.register(
            "reassembly_limit",
            "Multi-part segments not held, or groups let go early, by the bound that did it: \
             parts (too many announced), group_bytes, groups (per connection), budget (the \
             listener's reassembly_max_bytes)",
            m.reassembly_limits.clone(),
        );
        registry.register(
            "reassembly_bytes",
            "Bytes the listener holds in multi-part segments waiting for the rest",
            m.reassembly_bytes.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once, by reason: per_source (the sender's address, or its \
             IPv6 /64, had max_connections_per_source open)",
            m.connections_refused.clone(),
        );
        registry.register(
            "connection_buffer_bytes",
            "Bytes of the listener's connection read buffers (bounded by buffer_budget_bytes)",
            m.connection_buffer_bytes.clone(),
        );
        registry.register(
            "connection_buffer_waits",
            "Reads paused because the listener's buffer budget was used up",
            m.connection_buffer_waits.clone(),
        );
        registry.register(
            "udp_kernel_drops",
            "Datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL)",
            m.udp_kernel_drops.clone(),
        );
        registry.register(
            "connections_open",
            "Stream connections open",
            m.connections_open.clone(),
        );
        registry.register(
            "connections",
            "Stream connections accepted",
            m.connections.clone(),
        );
        registry.register("rows", "Rows shaped, by table", m.rows.clone());
        registry.register(
            "transform_dropped_rows",
            "Rows a collection DCR's transformation dropped (its where), by DCR and input stream",
            m.transform_dropped_rows.clone(),
        );
        registry.register(
            "transform_errors",
            "Rows a collection DCR's transformation failed on (not sent, as Azure drops them), \
             by DCR and input stream",
            m.transform_errors.clone(),
        );
        registry.register(
            "output_rows",
            "Rows written, by output",
            m.output_rows.clone(),
        );
        registry.register(
            "output_errors",
            "Write errors, by output",
            m.output_errors.clone(),
        );
        registry.register(
            "upload_rows",
            "Rows the Logs Ingestion API accepted (204)",
            m.upload_rows.clone(),
        );
        registry.register(
            "upload_quarantined_rows",
            "Rows the API refused on their own (400/413), written to the dead-letter file",
            m.upload_quarantined.clone(),
        );
        registry.register(
            "upload_retries",
            "Upload requests repeated (429, 5xx, 401, resets, timeouts)",
            m.upload_requests.retries.clone(),
        );
        registry.register(
            "upload_requests",
            "Logs Ingestion requests, by HTTP status (`error`: no answer; `token_error`: no token)",
            m.upload_requests.by_status.clone(),
        );
        registry.register(
            "upload_bytes",
            "Request bytes (gzip, as sent) the Logs Ingestion API accepted",
            m.upload_requests.accepted_bytes.clone(),
        );
        registry.register(
            "upload_request_duration_seconds",
            "Time from sending a Logs Ingestion request to its answer",
            m.upload_requests.latency.clone(),
        );
        registry.register(
            "spool_write_errors",
            "Spool appends refused (a full or failing disk); the batch is held and retried",
            m.spool_write_errors.clone(),
        );
        registry.register(
            "spool_bytes",
            "Bytes of a target's spool (segment files; in memory without [spool])",
            m.spool_bytes.clone(),
        );
        registry.register(
            "upload_queued_bytes",
            "Gzip bytes of a target's batches not yet accepted by the service (in memory or spooled)",
            m.upload_queued_bytes.clone(),
        );
        registry.register(
            "spool_batches",
            "Batches a target's spool holds until the service accepts them",
            m.spool_batches.clone(),
        );
        registry.register(
            "spool_oldest_seconds",
            "Age of a target's oldest batch not yet accepted",
            m.spool_oldest_seconds.clone(),
        );
        registry.register(
            "spool_recovered_rows",
            "Rows found in the spool at start and sent (again): not yet accepted, or accepted without the acknowledgement reaching the disk (at-least-once)",
            m.spool_recovered_rows.clone(),
        );
        registry.register(
            "spool_corrupt_records",
            "Spooled batches found damaged (checksum, framing) and skipped",
            m.spool_corrupt_records.clone(),
        );
        registry.register(
            "spool_dropped_rows",
            "Rows deleted by when_full = drop-oldest",
            m.spool_dropped_rows.clone(),
        );
        registry.register(
            "spool_fsync_seconds",
            "Time an fsync of a spool segment took",
            m.spool_fsync_seconds.clone(),
        );
        registry.register(
            "tls_handshakes",
            "TLS handshakes on a listener, by result (failed: bad or missing client certificate, protocol version, timeout)",
            m.tls_handshakes.clone(),
        );
        registry.register(
            "tls_peer_connections",
            "Mutual-TLS connections accepted, by the client certificate's subject",
            m.tls_peers.clone(),
        );
        registry.register(
            "tls_reloads",
            "Reloads of a listener's certificate files, by result (a failed reload keeps the certificate in force)",
            m.tls_reloads.clone(),
        );
        registry.register(
            "tls_certificate_not_after_seconds",
            "When the listener's server certificate expires (Unix time): alert on it minus time()",
            m.tls_certificate_not_after.clone(),
        );
        registry.register(
            "file_watched",
            "Files matching a logFiles pattern that are open for reading",
            m.file_watched.clone(),
        );
        registry.register(
            "file_read_bytes",
            "Bytes read from the files of a pattern",
            m.file_bytes.clone(),
        );
        registry.register(
            "file_records",
            "Records (lines, or multi-line records) read from the files of a pattern",
            m.file_records.clone(),
        );
        registry.register(
            "file_rows",
            "Rows made from the files of a pattern and handed to the uploaders and outputs",
            m.file_rows.clone(),
        );
        registry.register(
            "file_truncated_records",
            "Records longer than [files] max_record_bytes, sent cut to that length",
            m.file_truncated.clone(),
        );
        registry.register(
            "file_errors",
            "Problems with the files of a pattern: unreadable files, JSON lines that are not objects (sent as RawData)",
            m.file_errors.clone(),
        );
        registry.register(
            "file_rotations",
            "Rotations seen: a file truncated in place (copytruncate) or renamed away and finished",
            m.file_rotations.clone(),
        );
        registry.register(
            "file_possible_duplicate_rows",
            "Rows read again after a restart that may already have been spooled before it (at-least-once)",
            m.file_duplicates.clone(),
        );
        registry.register(
            "dcr_reloads",
            "DCR reloads, by result (a failed reload keeps the routing in force)",
            m.dcr_reloads.clone(),
        );
        Arc::new(Metrics { registry, ..m })
    }

    pub fn listener(self: &Arc<Self>, listener: &str) -> ListenerMetrics {
        let label = ListenerLabel {
            listener: listener.to_owned(),
        };
        let kind = |k: &str| {
            self.parsed
                .get_or_create(&KindLabels {
                    listener: listener.to_owned(),
                    kind: k.to_owned(),
                })
                .clone()
        };
        let reason = |r: DropReason| {
            self.dropped
                .get_or_create(&ReasonLabels {
                    listener: listener.to_owned(),
                    reason: r.name().to_owned(),
                })
                .clone()
        };
        let anomaly = |name: &str| {
            self.anomalies
                .get_or_create(&ReasonLabels {
                    listener: listener.to_owned(),
                    reason: name.to_owned(),
                })
                .clone()
        };
        ListenerMetrics {
            received: self.received.get_or_create(&label).clone(),
            received_bytes: self.received_bytes.get_or_create(&label).clone(),
            filtered: self.filtered.get_or_create(&label).clone(),
            parsed: KINDS.map(kind),
            dropped: DropReason::ALL.map(reason),
            anomalies: ANOMALY_NAMES.map(|(_, name)| anomaly(name)),
            body_errors: self.body_errors.get_or_create(&label).clone(),
            mistyped_values: self.mistyped_values.get_or_create(&label).clone(),
            framing_resyncs: self.framing_resyncs.get_or_create(&label).clone(),
            reassembled: self.reassembled.get_or_create(&label).clone(),
            reassembly_incomplete: self.reassembly_incomplete.get_or_create(&label).clone(),
            reassembly_limits: crate::reassembly::Limit::ALL.map(|limit| {
                self.reassembly_limits
                    .get_or_create(&ReasonLabels {
                        listener: listener.to_owned(),
                        reason: limit.name().to_owned(),
                    })
                    .clone()
            }),
            reassembly_bytes: self.reassembly_bytes.get_or_create(&label).clone(),
            refused_per_source: self
                .connections_refused
                .get_or_create(&ReasonLabels {
                    listener: listener.to_owned(),
                    reason: "per_source".to_owned(),
                })
                .clone(),
            connection_buffer_bytes: self.connection_buffer_bytes.get_or_create(&label).clone(),
            connection_buffer_waits: self.connection_buffer_waits.get_or_create(&label).clone(),
            udp_kernel_drops: self.udp_kernel_drops.get_or_create(&label).clone(),
            connections_open: self.connections_open.get_or_create(&label).clone(),
            connections: self.connections.get_or_create(&label).clone(),
        }
    }

    /// The (dropped, failed) counters of one transformation.
    pub fn transform_counters(&self, dcr: &str, stream: &str) -> (Counter, Counter) {
        let label = TransformLabels {
            dcr: dcr.to_owned(),
            stream: stream.to_owned(),
        };
        (
            self.transform_dropped_rows.get_or_create(&label).clone(),
            self.transform_errors.get_or_create(&label).clone(),
        )
    }

    /// Adds a shaper's transformation counts (dropped by `where`, failed).
    pub fn transform_rows(&self, dcr: &str, stream: &str, dropped: u64, failed: u64) {
        let label = TransformLabels {
            dcr: dcr.to_owned(),
            stream: stream.to_owned(),
        };
        if dropped > 0 {
            self.transform_dropped_rows
                .get_or_create(&label)
                .inc_by(dropped);
        }
        if failed > 0 {
            self.transform_errors.get_or_create(&label).inc_by(failed);
        }
    }

    pub fn rows(&self, table: &str) -> Counter {
        self.rows
            .get_or_create(&TableLabel {
                table: table.to_owned(),
            })
            .clone()
    }

    pub fn output(&self, output: &str) -> (Counter, Counter) {
        let label = OutputLabel {
            output: output.to_owned(),
        };
        (
            self.output_rows.get_or_create(&label).clone(),
            self.output_errors.get_or_create(&label).clone(),
        )
    }

    /// Rows a target's spool held at start (sent again after a restart).
    pub fn spool_recovered(&self, target: &str) -> Counter {
        self.spool_recovered_rows
            .get_or_create(&TargetLabel {
                target: target.to_owned(),
            })
            .clone()
    }

    /// The spool metrics of one target.
    pub fn spool(&self, target: &str) -> SpoolMetrics {
        let label = TargetLabel {
            target: target.to_owned(),
        };
        SpoolMetrics {
            bytes: self.spool_bytes.get_or_create(&label).clone(),
            queued_bytes: self.upload_queued_bytes.get_or_create(&label).clone(),
            batches: self.spool_batches.get_or_create(&label).clone(),
            oldest_seconds: self.spool_oldest_seconds.get_or_create(&label).clone(),
            corrupt_records: self.spool_corrupt_records.get_or_create(&label).clone(),
            dropped_rows: self.spool_dropped_rows.get_or_create(&label).clone(),
            fsync_seconds: self.spool_fsync_seconds.clone(),
        }
    }

    /// Counters of the upload stage.
    pub fn uploads(self: &Arc<Self>) -> UploadMetrics {
        UploadMetrics {
            registry: Arc::clone(self),
            rows: self.upload_rows.clone(),
            quarantined: self.upload_quarantined.clone(),
            requests: self.upload_requests.clone(),
            spool_write_errors: self.spool_write_errors.clone(),
        }
    }

    /// Counters of successful and failed DCR reloads.
    /// The counters of one `filePatterns` entry.
    pub fn files(&self, pattern: &str) -> FileMetrics {
        let label = PatternLabel {
            pattern: pattern.to_owned(),
        };
        FileMetrics {
            watched: self.file_watched.get_or_create(&label).clone(),
            bytes: self.file_bytes.get_or_create(&label).clone(),
            records: self.file_records.get_or_create(&label).clone(),
            rows: self.file_rows.get_or_create(&label).clone(),
            truncated: self.file_truncated.get_or_create(&label).clone(),
            errors: self.file_errors.get_or_create(&label).clone(),
            rotations: self.file_rotations.get_or_create(&label).clone(),
            duplicates: self.file_duplicates.get_or_create(&label).clone(),
        }
    }

    /// A TLS listener's counters.
    pub fn tls(self: &Arc<Self>, listener: &str) -> TlsMetrics {
        let by_result = |family: &Family<ListenerResultLabels, Counter>, result: &str| {
            family
                .get_or_create(&ListenerResultLabels {
                    listener: listener.to_owned(),
                    result: result.to_owned(),
                })
                .clone()
        };
        TlsMetrics {
            handshakes_ok: by_result(&self.tls_handshakes, "ok"),
            handshakes_failed: by_result(&self.tls_handshakes, "failed"),
            refused_names: by_result(&self.tls_handshakes, "name_refused"),
            reloads_ok: by_result(&self.tls_reloads, "ok"),
            reloads_failed: by_result(&self.tls_reloads, "failed"),
            not_after: self
                .tls_certificate_not_after
                .get_or_create(&ListenerLabel {
                    listener: listener.to_owned(),
                })
                .clone(),
            metrics: Arc::clone(self),
            listener: listener.to_owned(),
            labelled: Arc::default(),
        }
    }

    pub fn dcr_reloads(&self) -> (Counter, Counter) {
        let counter = |result: &str| {
            self.dcr_reloads
                .get_or_create(&ResultLabel {
                    result: result.to_owned(),
                })
                .clone()
        };
        (counter("ok"), counter("failed"))
    }

    /// Marks the forwarder ready (listeners bound) for `/readyz`.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

// The metric handles each stage holds, defined here so that the registry depends on no stage
// (the stages depend on it).

/// One target's spool metrics (labelled by target in the registry).
#[derive(Clone)]
pub struct SpoolMetrics {
    pub bytes: Gauge,
    /// Gzip bytes of the batches not yet accepted by the service (`tern_upload_queued_bytes`),
    /// with or without a spool.
    pub queued_bytes: Gauge,
    pub batches: Gauge,
    pub oldest_seconds: Gauge,
    pub corrupt_records: Counter,
    pub dropped_rows: Counter,
    pub fsync_seconds: Histogram,
}

impl Default for SpoolMetrics {
    fn default() -> SpoolMetrics {
        SpoolMetrics {
            bytes: Gauge::default(),
            queued_bytes: Gauge::default(),
            batches: Gauge::default(),
            oldest_seconds: Gauge::default(),
            corrupt_records: Counter::default(),
            dropped_rows: Counter::default(),
            fsync_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The HTTP status, `error` for a request that got no answer (reset, timeout), or
    /// `token_error` when no token could be had.
    pub status: String,
}

/// Per-request counters, shared by every sender of the daemon.
#[derive(Clone)]
pub struct RequestMetrics {
    pub by_status: Family<StatusLabel, Counter>,
    /// Wire (gzip) bytes of requests the service accepted.
    pub accepted_bytes: Counter,
    /// Seconds from sending a request to its answer.
    pub latency: Histogram,
    /// Requests repeated, counted when each is repeated (not when the batch is delivered).
    pub retries: Counter,
}

impl Default for RequestMetrics {
    fn default() -> RequestMetrics {
        RequestMetrics {
            by_status: Family::default(),
            accepted_bytes: Counter::default(),
            // 5 ms to about 40 s.
            latency: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            retries: Counter::default(),
        }
    }
}

impl RequestMetrics {
    pub fn count(&self, status: &str) {
        self.by_status
            .get_or_create(&StatusLabel {
                status: status.to_owned(),
            })
            .inc();
    }
}

/// Counters of the upload stage.
#[derive(Clone)]
pub struct UploadMetrics {
    pub rows: Counter,
    pub quarantined: Counter,
    pub requests: RequestMetrics,
    /// Appends the spool refused (a full or failing disk); the batch is retried.
    pub spool_write_errors: Counter,
    /// The registry, whose send-test ledger learns when marked rows are uploaded.
    pub registry: Arc<crate::metrics::Metrics>,
}

/// The anomalies a parser tolerates, as `tern_parse_anomalies_total{reason}` names them; the
/// listener's counters are indexed like this list.
pub const ANOMALY_NAMES: [(Anomalies, &str); 8] = [
    (Anomalies::BAD_PRI, "bad_pri"),
    (Anomalies::MISSING_PRI, "missing_pri"),
    (Anomalies::BAD_TIMESTAMP, "bad_timestamp"),
    (Anomalies::BAD_STRUCTURED_DATA, "bad_structured_data"),
    (Anomalies::TRUNCATED_HEADER, "truncated_header"),
    (Anomalies::FIELD_TOO_LONG, "field_too_long"),
    (Anomalies::NON_UTF8_HEADER, "non_utf8_header"),
    (Anomalies::RELAYED_HEADER, "relayed_header"),
];

fn respond(metrics: &Metrics, path: &str) -> Response<Full<Bytes>> {
    let (status, body, content_type) = match path {
        "/metrics" => (
            StatusCode::OK,
            metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/healthz" => (StatusCode::OK, "ok\n".to_owned(), "text/plain"),
        "/readyz" if metrics.ready.load(Ordering::Relaxed) => {
            (StatusCode::OK, "ready\n".to_owned(), "text/plain")
        }
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready\n".to_owned(),
            "text/plain",
        ),
        _ => match path
            .strip_prefix("/send-test/")
            .and_then(|run| metrics.marked.get(run))
        {
            Some(counts) => (
                StatusCode::OK,
                serde_json::to_string(&counts).unwrap_or_default(),
                "application/json",
            ),
            None => (
                StatusCode::NOT_FOUND,
                "not found\n".to_owned(),
                "text/plain",
            ),
        },
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// Serves the endpoint until the task is dropped.
/// Connections the metrics endpoint serves at once: scrapers and health checks need a few;
/// more wait in the kernel's backlog.
const HTTP_MAX_CONNECTIONS: usize = 64;
/// A request's headers must arrive within this (slow-header clients hold no slot for long),
/// and a connection is closed after this long whatever it does.
const HTTP_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const HTTP_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(HTTP_MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and the like: wait instead of spinning on the error.
                crate::warn_limited!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let response = respond(&metrics, request.uri().path());
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HTTP_HEADER_TIMEOUT)
                .serve_connection(io, service);
            let _ = tokio::time::timeout(HTTP_CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

/// Binds the endpoint's address.
pub async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_subjects_past_the_label_bound_are_counted_as_other() {
        let metrics = Arc::new(Metrics::new());
        let tls = metrics.tls("tls://127.0.0.1:1");
        for n in 0..MAX_PEER_LABELS + 50 {
            tls.peer(&format!("CN=client-{n}"));
        }
        tls.peer("CN=client-0");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
        let labelled = text
            .lines()
            .filter(|l| l.starts_with("tern_tls_peer_connections_total{"))
            .count();
        assert_eq!(labelled, MAX_PEER_LABELS + 1);
        assert_eq!(
            sum_in(
                &text,
                "tern_tls_peer_connections_total",
                "subject=\"other\""
            ),
            50.0
        );
        assert_eq!(
            sum_in(
                &text,
                "tern_tls_peer_connections_total",
                "subject=\"CN=client-0\""
            ),
            2.0
        );
    }

    #[test]
    fn every_body_kind_has_a_parsed_counter() {
        for vendor in tern_parsers::Vendor::ALL {
            assert!(KINDS.contains(&vendor.name()), "{vendor:?}");
        }
        assert_eq!(KINDS.len(), 4 + tern_parsers::Vendor::ALL.len());
    }

    #[test]
    fn every_anomaly_has_a_counter_made_up_front() {
        let metrics = Metrics::new();
        let listener = metrics.listener("udp://127.0.0.1:1");
        for index in 0..ANOMALY_NAMES.len() {
            listener.anomaly(index);
        }
        let missing_pri = ANOMALY_NAMES
            .iter()
            .position(|(_, name)| *name == "missing_pri")
            .unwrap();
        listener.anomaly(missing_pri);
        let text = metrics.encode();
        assert_eq!(
            sum_in(
                &text,
                "tern_parse_anomalies_total",
                "reason=\"missing_pri\""
            ),
            2.0
        );
        assert_eq!(sum_in(&text, "tern_parse_anomalies_total", ""), 9.0);
    }
}
