//! Tailing the files of one `logFiles` source, on its own thread.
//!
//! inotify on each pattern's folder wakes the thread when a file is created, written, moved or
//! deleted; a rescan every [`RESCAN`] catches folders created later and anything inotify
//! missed (an overflowed queue). Files are identified by device and inode, never by name:
//! - **rename rotation** (`logrotate` `create`): the old inode is read to its end through the
//!   open descriptor, then released once it no longer matches a pattern and has been idle for
//!   [`RELEASE_AFTER`]; the new file is read from its start;
//! - **copytruncate**: a file that shrinks was truncated; what was held is sent and reading
//!   starts over at 0. A new file whose first bytes match the truncated file's (the copy) is
//!   read from where the original was, so the copy's tail is sent once;
//! - **deletion**: the open descriptor is read to its end, then released;
//! - **restart**: each file resumes at its checkpoint when its fingerprint still matches.
//!
//! Rows are handed to the uploaders with a barrier, and the checkpoint moves only once every
//! target has them in its spool: a crash re-reads at most the last cycle (counted as possible
//! duplicates), never skips.
//!
//! Only regular files are read, never through a symlink, never Tern's own files, and only
//! under `[files] allowed_roots` when set ([`super::guard`]); a file refused is warned about
//! and counted once while it stays where it is.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchMask};
use tokio::sync::{mpsc, watch};

use super::checkpoint::{Checkpoints, Entry, FINGERPRINT_BYTES, FileId, fingerprint};
use super::guard::{self, Forbidden, OpenError, Refusal};
use super::record::{Assembler, Emitted};
use super::rows::{json_row, text_row};
use crate::config::FilesConfig;
use crate::dcr::load::FileFormat;
use crate::metrics::FileMetrics;
use crate::pipeline::Batch;
use crate::tables::Table;
use crate::upload::stage::{RowBatch, ToUploader};

/// Longest wait for inotify before the files are looked at anyway.
const TICK: Duration = Duration::from_millis(200);
/// Folders are listed again at least this often.
const RESCAN: Duration = Duration::from_secs(1);
/// A rotated-away or deleted file, fully read, is released after this long without growth.
const RELEASE_AFTER: Duration = Duration::from_secs(5);
/// A truncated file's first bytes are remembered this long to recognise its copy.
const COPY_WINDOW: Duration = Duration::from_secs(60);
/// Bytes read per file per cycle, so one busy file does not starve the others.
const READ_PER_CYCLE: usize = 1 << 20;
/// Bytes read over all files per cycle: bounds the rows held before they are shipped.
const READ_PER_CYCLE_ALL: usize = 8 << 20;

/// Where a source's rows go.
pub struct Sink {
    pub table: Table,
    /// (stream, workspace, uploader channel) per bound target.
    pub targets: Vec<(String, Option<String>, mpsc::Sender<ToUploader>)>,
    pub outputs: mpsc::Sender<Batch>,
    /// The dataFlow's transformation, run on each row before it is sent.
    pub transform: Option<SinkTransform>,
}

/// A source's transformation and its (dropped, failed) row counters.
pub struct SinkTransform {
    pub flow: std::sync::Arc<crate::dcr::routing::FlowTransform>,
    pub counters: (
        prometheus_client::metrics::counter::Counter,
        prometheus_client::metrics::counter::Counter,
    ),
}

/// Runs `transform` on the row written at `rows[start..]`: a kept row replaces it (as
/// transformed), a dropped or failed one is taken back and counted. Returns whether a row is
/// left.
fn transform_row(
    transform: &SinkTransform,
    rows: &mut Vec<u8>,
    start: usize,
    now: &tern_parsers::Timestamp,
    scratch: &mut Vec<u8>,
) -> bool {
    use tern_core::transform::Outcome;
    let flow = &transform.flow;
    let row = rows.get(start..).unwrap_or_default();
    scratch.clear();
    let kept = match flow
        .transform
        .run_json(row, crate::pipeline::jiff_time(*now))
    {
        Ok(Outcome::Kept(cells)) => {
            flow.transform.write_kept(row, &cells, None, scratch);
            true
        }
        Ok(Outcome::Dropped) => {
            transform.counters.0.inc();
            false
        }
        Ok(Outcome::Failed(e)) | Err(e) => {
            transform.counters.1.inc();
            crate::warn_limited!(
                transformation = %flow.origin,
                error = %e,
                "a transformation failed on a log-file row; the row is not sent"
            );
            false
        }
    };
    rows.truncate(start);
    if kept {
        rows.extend_from_slice(scratch);
    }
    kept
}

/// What one source reads.
pub struct Source {
    /// The `Custom-*` stream it feeds (with the patterns, its identity in the checkpoints).
    pub stream: String,
    pub patterns: Vec<String>,
    pub format: FileFormat,
    pub record_start: Option<crate::dcr::load::RecordStart>,
}

struct Tracked {
    path: String,
    pattern: usize,
    file: File,
    assembler: Assembler,
    /// The first bytes (up to [`FINGERPRINT_BYTES`]), as last read: they identify the
    /// content (checkpoint fingerprint, truncation, copies).
    head: Vec<u8>,
    last_growth: Instant,
    /// Matched a pattern in the latest scan.
    matched: bool,
    /// Rows before this offset may have been spooled before a restart.
    duplicates_until: u64,
    /// A copy of this file appeared (copytruncate's first step): reading waits for the
    /// truncation, so lines are not sent from both.
    frozen_since: Option<Instant>,
    /// This file is a copy that may still be being written: shorter than where it starts is
    /// not a truncation until this passes.
    copy_until: Option<Instant>,
}

/// Fewer first bytes than this are not enough to call one file a copy of another.
const MIN_COPY_FINGERPRINT: u32 = 64;

/// A truncated file's first bytes before truncation, to recognise its copy.
struct Truncated {
    head: Vec<u8>,
    committed: u64,
    at: Instant,
}

/// Whether one head is the start of the other over at least [`MIN_COPY_FINGERPRINT`] bytes:
/// a copy being written has a shorter head than its original.
fn same_start(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    n >= MIN_COPY_FINGERPRINT as usize && a.get(..n) == b.get(..n)
}

/// A new file this short (and this young) may be a copy still being written: wait.
const SETTLE: Duration = Duration::from_secs(2);

struct Pattern {
    folder: PathBuf,
    name: glob::Pattern,
    metrics: FileMetrics,
}

pub struct Tailer {
    source: Source,
    patterns: Vec<Pattern>,
    config: FilesConfig,
    computer: String,
    sink: Sink,
    checkpoints: Arc<Mutex<Checkpoints>>,
    tracked: HashMap<FileId, Tracked>,
    truncated: Vec<Truncated>,
    /// New files too short to identify yet, and when first seen.
    young: HashMap<FileId, Instant>,
    first_scan: bool,
    /// This source's name in the checkpoints.
    source_key: String,
    /// The source has never run before (not in the checkpoints): `start_at` applies.
    first_start: bool,
    /// Files no source may read.
    forbidden: Arc<Forbidden>,
    /// Files refused at the latest scan, by identity and name: not opened, warned about or
    /// counted again while they stay (a file moved or replaced is looked at afresh).
    refused: HashSet<(FileId, PathBuf)>,
}

/// Why a newly matched file is not tracked.
#[derive(Debug)]
enum Skip {
    /// Never read where it is: warned about and counted once.
    Refused(Refusal),
    /// Rotated and compressed (`app.log.2.gz`): not text to send.
    Compressed,
    /// Another file took the name between the listing and the open: looked at again at the
    /// next scan.
    Changed,
    Io(std::io::Error),
}

impl From<OpenError> for Skip {
    fn from(e: OpenError) -> Skip {
        match e {
            OpenError::Refused(refusal) => Skip::Refused(refusal),
            OpenError::Io(e) => Skip::Io(e),
        }
    }
}

/// Why the tailer stopped early.
#[derive(Debug)]
pub struct Stopped;

impl Tailer {
    pub fn new(
        source: Source,
        config: FilesConfig,
        computer: String,
        sink: Sink,
        checkpoints: Arc<Mutex<Checkpoints>>,
        metrics: &crate::metrics::Metrics,
        forbidden: Arc<Forbidden>,
    ) -> Result<Tailer, String> {
        let mut patterns = Vec::new();
        for pattern in &source.patterns {
            let path = Path::new(pattern);
            let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(format!("{pattern}: not a file path"));
            };
            guard::check_pattern(pattern, config.allowed_roots.as_deref(), &forbidden)?;
            let name = glob::Pattern::new(&name.to_string_lossy())
                .map_err(|e| format!("{pattern}: {e}"))?;
            patterns.push(Pattern {
                folder: folder.to_path_buf(),
                name,
                metrics: metrics.files(pattern),
            });
        }
        let source_key = super::checkpoint::source_key(&source.stream, &source.patterns);
        let first_start = checkpoints
            .lock()
            .map(|c| !c.sources.contains(&source_key))
            .unwrap_or(true);
        Ok(Tailer {
            source_key,
            first_start,
            source,
            patterns,
            config,
            computer,
            sink,
            checkpoints,
            tracked: HashMap::new(),
            truncated: Vec::new(),
            young: HashMap::new(),
            first_scan: true,
            forbidden,
            refused: HashSet::new(),
        })
    }

    /// Runs until `shutdown` (or the pipeline closes).
    pub fn run(mut self, shutdown: watch::Receiver<bool>) {
        let mut inotify = match Inotify::init() {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(error = %e, "inotify unavailable; polling the files every 200 ms");
                None
            }
        };
        let mut watched: Vec<bool> = vec![false; self.patterns.len()];
        let mut buffer = vec![0u8; 64 * 1024];
        let mut last_scan: Option<Instant> = None;
        let mut more = false;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Watch folders (again, for ones that appeared since).
            if let Some(inotify) = inotify.as_mut() {
                for (i, pattern) in self.patterns.iter().enumerate() {
                    if watched.get(i) == Some(&false)
                        && inotify
                            .watches()
                            .add(
                                &pattern.folder,
                                WatchMask::CREATE
                                    | WatchMask::MODIFY
                                    | WatchMask::MOVED_TO
                                    | WatchMask::MOVED_FROM
                                    | WatchMask::DELETE
                                    | WatchMask::CLOSE_WRITE,
                            )
                            .is_ok()
                    {
                        if let Some(w) = watched.get_mut(i) {
                            *w = true;
                        }
                    }
                }
            }
            let mut folder_changed = false;
            if let Some(inotify) = inotify.as_mut() {
                let mut fds = [nix::poll::PollFd::new(
                    inotify.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )];
                // With a backlog left from the last cycle, only look for events.
                let wait = if more { Duration::ZERO } else { TICK };
                let _ = nix::poll::poll(
                    &mut fds,
                    nix::poll::PollTimeout::try_from(wait).unwrap_or(nix::poll::PollTimeout::NONE),
                );
                if let Ok(events) = inotify.read_events(&mut buffer) {
                    for event in events {
                        if !event.mask.contains(inotify::EventMask::MODIFY) {
                            folder_changed = true;
                        }
                    }
                }
            } else if !more {
                std::thread::sleep(TICK);
            }
            if folder_changed || last_scan.is_none_or(|t| t.elapsed() >= RESCAN) {
                self.scan();
                last_scan = Some(Instant::now());
            }
            match self.read_all() {
                Ok(backlog) => more = backlog,
                Err(Stopped) => break,
            }
        }
    }

    /// Lists the pattern folders: starts reading new files, marks which tracked ones still
    /// match, and releases finished ones.
    fn scan(&mut self) {
        let mut found: Vec<(usize, PathBuf)> = Vec::new();
        let mut listed = vec![false; self.patterns.len()];
        for (index, pattern) in self.patterns.iter().enumerate() {
            let Ok(entries) = std::fs::read_dir(&pattern.folder) else {
                continue;
            };
            if let Some(l) = listed.get_mut(index) {
                *l = true;
            }
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if pattern.name.matches(&name) && !is_compressed_name(&name) {
                    found.push((index, entry.path()));
                }
            }
        }
        // A folder that could not be listed (EMFILE, a network file system's hiccup) says
        // nothing about its files: they keep their state rather than look rotated away.
        for tracked in self.tracked.values_mut() {
            if listed.get(tracked.pattern) == Some(&true) {
                tracked.matched = false;
            }
        }
        let mut refused = HashSet::new();
        for (pattern, path) in found {
            // lstat: a symlink is seen as itself, never followed. This only sorts the listing:
            // what is read is decided again on the opened descriptor (`open`), as the entry
            // may be swapped in between.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let id = (meta.dev(), meta.ino());
            let kind = meta.file_type();
            if kind.is_symlink() {
                self.refuse(pattern, (id, path), Refusal::Symlink, &mut refused);
                continue;
            }
            if kind.is_dir() {
                // A folder matching a wide pattern (`/var/log/*` has `journal`) is the usual
                // case, not a threat: skipped quietly, so healthy hosts count no errors.
                continue;
            }
            if !kind.is_file() {
                self.refuse(pattern, (id, path), Refusal::NotRegular, &mut refused);
                continue;
            }
            if let Some(tracked) = self.tracked.get_mut(&id) {
                tracked.matched = true;
                tracked.path = path.display().to_string();
                continue;
            }
            let key = (id, path);
            if self.refused.contains(&key) {
                refused.insert(key);
                continue;
            }
            let (id, path) = key;
            if !self.first_scan && meta.len() < u64::from(MIN_COPY_FINGERPRINT) {
                let seen = *self.young.entry(id).or_insert_with(Instant::now);
                if seen.elapsed() < SETTLE {
                    continue;
                }
            }
            self.young.remove(&id);
            match self.open(id, pattern, &path) {
                Ok((tracked, copy_of)) => {
                    if let Some(original) = copy_of.and_then(|o| self.tracked.get_mut(&o)) {
                        original.frozen_since = Some(Instant::now());
                    }
                    self.tracked.insert(id, tracked);
                }
                Err(Skip::Refused(refusal)) => {
                    self.refuse(pattern, (id, path), refusal, &mut refused);
                }
                Err(Skip::Compressed) => {
                    tracing::debug!(file = %path.display(), "compressed file skipped");
                }
                Err(Skip::Changed) => {
                    tracing::debug!(
                        file = %path.display(),
                        "replaced while being opened; looked at again at the next scan"
                    );
                }
                Err(Skip::Io(e)) => {
                    if let Some(p) = self.patterns.get(pattern) {
                        p.metrics.errors.inc();
                    }
                    crate::warn_limited!(file = %path.display(), error = %e, "cannot read a log file");
                }
            }
        }
        self.refused = refused;
        if self.first_scan {
            // This source's checkpoints of files that are gone (rotated away or deleted
            // while Tern was stopped) are dropped; other sources' entries are theirs.
            let live: Vec<FileId> = self.tracked.keys().copied().collect();
            let patterns = &self.patterns;
            let source_key = &self.source_key;
            if let Ok(mut checkpoints) = self.checkpoints.lock() {
                let stale: Vec<FileId> = checkpoints
                    .entries
                    .values()
                    .filter(|e| e.source == *source_key && !live.contains(&(e.dev, e.ino)))
                    .filter(|e| {
                        let path = Path::new(&e.path);
                        patterns.iter().enumerate().any(|(i, p)| {
                            listed.get(i) == Some(&true)
                                && path.parent() == Some(p.folder.as_path())
                                && path
                                    .file_name()
                                    .is_some_and(|n| p.name.matches(&n.to_string_lossy()))
                        })
                    })
                    .map(|e| (e.dev, e.ino))
                    .collect();
                for id in stale {
                    checkpoints.remove(source_key, id);
                }
                checkpoints.started(source_key);
            }
        }
        self.first_scan = false;
        self.truncated.retain(|t| t.at.elapsed() < COPY_WINDOW);
        self.young.retain(|_, seen| seen.elapsed() < COPY_WINDOW);
        for (index, pattern) in self.patterns.iter().enumerate() {
            let open = self.tracked.values().filter(|t| t.pattern == index).count();
            pattern
                .metrics
                .watched
                .set(i64::try_from(open).unwrap_or(i64::MAX));
        }
    }

    /// Warns about and counts a refused file, unless it was already refused where it is;
    /// records it in `seen` (the refusals of this scan).
    fn refuse(
        &self,
        pattern: usize,
        key: (FileId, PathBuf),
        refusal: Refusal,
        seen: &mut HashSet<(FileId, PathBuf)>,
    ) {
        if !self.refused.contains(&key) && !seen.contains(&key) {
            // `tern_file_errors_total` has no reason label: the reason is in the warning.
            if let Some(p) = self.patterns.get(pattern) {
                p.metrics.errors.inc();
            }
            crate::warn_limited!(
                file = %key.1.display(),
                reason = refusal.reason(),
                "not reading a file that matches a log file pattern"
            );
        }
        seen.insert(key);
    }

    /// Opens a newly matched file (`id` as listed) and decides where to start reading it; also
    /// returns the tracked file it is a copy of, if any.
    fn open(
        &self,
        id: FileId,
        pattern: usize,
        path: &Path,
    ) -> Result<(Tracked, Option<FileId>), Skip> {
        let (file, meta) =
            guard::open_log_file(path, &self.forbidden, self.config.allowed_roots.as_deref())?;
        if (meta.dev(), meta.ino()) != id {
            return Err(Skip::Changed);
        }
        let len = meta.len();
        let mut head = vec![0u8; FINGERPRINT_BYTES];
        let n = read_at_most(&file, &mut head, 0).map_err(Skip::Io)?;
        head.truncate(n);
        if is_compressed(&head) {
            return Err(Skip::Compressed);
        }
        let saved = self
            .checkpoints
            .lock()
            .ok()
            .and_then(|c| c.get(&self.source_key, id).cloned());
        let same_content = |fp: (u32, u32)| {
            let covered = usize::try_from(fp.1).unwrap_or(usize::MAX);
            head.len() >= covered && fingerprint(head.get(..covered).unwrap_or_default()) == fp
        };
        let mut duplicates_until = 0;
        let mut copy_of = None;
        let mut copy_until = None;
        let live_original = self
            .tracked
            .iter()
            .find(|(_, t)| same_start(&t.head, &head));
        let start = if let Some(entry) =
            saved.filter(|e| same_content((e.fingerprint, e.fingerprint_len)))
        {
            duplicates_until = entry.pending;
            entry.committed.min(len)
        } else if let Some(copy) = self.truncated.iter().find(|t| same_start(&t.head, &head)) {
            // The copy copytruncate made, found after the truncation: its first bytes are the
            // truncated file's; what that file sent is not sent again.
            copy_until = Some(Instant::now() + COPY_WINDOW);
            copy.committed
        } else if let Some((original_id, original)) = live_original {
            // The copy, found before the truncation: it takes over from what the original
            // has sent; the original waits for its truncation.
            copy_of = Some(*original_id);
            copy_until = Some(Instant::now() + COPY_WINDOW);
            original.assembler.committed()
        } else if self.first_scan && self.first_start && !self.config.start_at_beginning {
            // The source's very first start: only what is appended from now on.
            len
        } else {
            0
        };
        tracing::info!(file = %path.display(), offset = start, "reading log file");
        let tracked = Tracked {
            path: path.display().to_string(),
            pattern,
            file,
            assembler: Assembler::new(
                self.source.record_start,
                self.config.max_record_bytes,
                start,
            ),
            head,
            last_growth: Instant::now(),
            matched: true,
            duplicates_until,
            frozen_since: None,
            copy_until,
        };
        Ok((tracked, copy_of))
    }

    /// Reads what every tracked file has gained, ships the rows, then moves the checkpoints.
    /// `Ok(true)` when a file has more to read than this cycle took.
    fn read_all(&mut self) -> Result<bool, Stopped> {
        let mut cycle_budget = READ_PER_CYCLE_ALL;
        let mut more = false;
        let now = crate::pipeline::now();
        let mut rows: Vec<u8> = Vec::new();
        let mut outputs: Vec<u8> = Vec::new();
        let mut count: u64 = 0;
        // The transformed row, before it replaces the one written.
        let mut scratch: Vec<u8> = Vec::new();
        let mut buffer = vec![0u8; 256 * 1024];
        let mut release: Vec<FileId> = Vec::new();
        // (the checkpoint after this cycle, the committed offset before it)
        let mut commits: Vec<(Entry, u64)> = Vec::new();
        let ids: Vec<FileId> = self.tracked.keys().copied().collect();
        for id in ids {
            let Some(tracked) = self.tracked.get_mut(&id) else {
                continue;
            };
            let Some(pattern) = self.patterns.get(tracked.pattern) else {
                continue;
            };
            let metrics = pattern.metrics.clone();
            let meta = match tracked.file.metadata() {
                Ok(m) => m,
                Err(e) => {
                    metrics.errors.inc();
                    crate::warn_limited!(file = %tracked.path, error = %e, "cannot stat a log file");
                    continue;
                }
            };
            let len = meta.len();
            let mut shape = |emitted: Emitted<'_>, tracked_path: &str, duplicate: bool| {
                metrics.records.inc();
                if emitted.truncated {
                    metrics.truncated.inc();
                }
                if duplicate {
                    metrics.duplicates.inc();
                }
                let start = rows.len();
                match self.source.format {
                    FileFormat::Text => {
                        text_row(emitted.text, tracked_path, &self.computer, &now, &mut rows);
                    }
                    FileFormat::Json => {
                        if json_row(emitted.text, tracked_path, &self.computer, &now, &mut rows)
                            .is_err()
                        {
                            metrics.errors.inc();
                        }
                    }
                }
                if let Some(transform) = &self.sink.transform {
                    if !transform_row(transform, &mut rows, start, &now, &mut scratch) {
                        return;
                    }
                }
                // The same row for the local outputs, copied from the upload buffer.
                let row = rows.get(start..).unwrap_or_default();
                outputs.extend_from_slice(b"{\"table\":\"");
                outputs.extend_from_slice(self.sink.table.name().as_bytes());
                outputs.extend_from_slice(b"\",\"row\":");
                outputs.extend_from_slice(row);
                outputs.extend_from_slice(b"}\n");
                rows.push(b'\n');
                count += 1;
                metrics.rows.inc();
            };
            // Truncated in place (copytruncate): shorter than what was read, or different
            // first bytes (rewritten past the old length before this look).
            let covered = tracked.head.len();
            let rewritten = covered > 0 && len >= covered as u64 && {
                let mut head = vec![0u8; covered];
                read_at_most(&tracked.file, &mut head, 0)
                    .is_ok_and(|n| head.get(..n) != Some(tracked.head.as_slice()))
            };
            if len < tracked.assembler.read_to()
                && tracked
                    .copy_until
                    .is_some_and(|until| Instant::now() < until)
            {
                // A copy still being written, not yet as long as where it starts.
                continue;
            }
            if len >= tracked.assembler.read_to() {
                tracked.copy_until = None;
            }
            if len < tracked.assembler.read_to() || rewritten {
                if tracked.frozen_since.take().is_none() {
                    // No copy seen (yet): send what was held, and remember what the content
                    // was so a copy found later starts after it.
                    let path = tracked.path.clone();
                    tracked.assembler.flush(&mut |e| shape(e, &path, false));
                    self.truncated.push(Truncated {
                        head: std::mem::take(&mut tracked.head),
                        committed: tracked.assembler.committed(),
                        at: Instant::now(),
                    });
                }
                metrics.rotations.inc();
                tracked.assembler.reset(0);
                tracked.head.clear();
                tracked.duplicates_until = 0;
            }
            // What the checkpoint says now (after a truncation: the start of the new content).
            let committed_before = tracked.assembler.committed();
            if let Some(since) = tracked.frozen_since {
                if since.elapsed() < COPY_WINDOW {
                    // Waiting for the truncation that follows the copy.
                    continue;
                }
                // A plain copy, never truncated: carry on.
                tracked.frozen_since = None;
            }
            let mut budget = READ_PER_CYCLE.min(cycle_budget);
            while tracked.assembler.read_to() < len && budget > 0 {
                let offset = tracked.assembler.read_to();
                let n = match read_at_most(&tracked.file, &mut buffer, offset) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        metrics.errors.inc();
                        crate::warn_limited!(file = %tracked.path, error = %e, "read failed");
                        break;
                    }
                };
                metrics.bytes.inc_by(n as u64);
                budget = budget.saturating_sub(n);
                cycle_budget = cycle_budget.saturating_sub(n);
                tracked.last_growth = Instant::now();
                if offset < FINGERPRINT_BYTES as u64 {
                    let mut head = vec![0u8; FINGERPRINT_BYTES];
                    if let Ok(h) = read_at_most(&tracked.file, &mut head, 0) {
                        head.truncate(h);
                        tracked.head = head;
                    }
                }
                let path = tracked.path.clone();
                // Rows from before the last checkpoint's pending mark may have been spooled
                // by the Tern that stopped.
                let duplicate = tracked.assembler.committed() < tracked.duplicates_until;
                tracked
                    .assembler
                    .push(buffer.get(..n).unwrap_or_default(), &mut |e| {
                        shape(e, &path, duplicate);
                    });
            }
            if tracked.assembler.read_to() < len {
                more = true;
            }
            let idle = tracked.last_growth.elapsed();
            let gone = meta.nlink() == 0 || !tracked.matched;
            if tracked.assembler.holding() && idle >= self.config.partial_flush {
                let path = tracked.path.clone();
                tracked.assembler.flush(&mut |e| shape(e, &path, false));
            }
            if gone && tracked.assembler.read_to() >= len && idle >= RELEASE_AFTER {
                let path = tracked.path.clone();
                tracked.assembler.flush(&mut |e| shape(e, &path, false));
                release.push(id);
                metrics.rotations.inc();
            }
            let (crc, crc_len) = fingerprint(&tracked.head);
            commits.push((
                Entry {
                    source: self.source_key.clone(),
                    dev: id.0,
                    ino: id.1,
                    committed: tracked.assembler.committed(),
                    pending: tracked.assembler.committed(),
                    fingerprint: crc,
                    fingerprint_len: crc_len,
                    path: tracked.path.clone(),
                },
                committed_before,
            ));
        }
        if count > 0 {
            // Before handing rows over, mark them pending: if Tern dies before the final
            // save, the next start knows these rows may be in the spool already.
            if let Ok(mut checkpoints) = self.checkpoints.lock() {
                for (entry, before) in &commits {
                    checkpoints.set(Entry {
                        committed: *before,
                        ..entry.clone()
                    });
                }
                if let Err(e) = checkpoints.save() {
                    crate::warn_limited!(error = %e, "cannot save file checkpoints");
                }
            }
        }
        self.ship(&mut rows, &mut outputs, &mut count)?;
        if let Ok(mut checkpoints) = self.checkpoints.lock() {
            for (entry, _) in commits {
                checkpoints.set(entry);
            }
            for id in &release {
                checkpoints.remove(&self.source_key, *id);
            }
            if let Err(e) = checkpoints.save() {
                crate::warn_limited!(error = %e, "cannot save file checkpoints");
            }
        }
        for id in release {
            if let Some(t) = self.tracked.remove(&id) {
                tracing::info!(file = %t.path, "finished a rotated or deleted log file");
            }
        }
        Ok(more)
    }

    /// Hands the rows to every target and the outputs, and waits until the targets have them
    /// in their spools.
    fn ship(
        &mut self,
        rows: &mut Vec<u8>,
        outputs: &mut Vec<u8>,
        count: &mut u64,
    ) -> Result<(), Stopped> {
        if *count == 0 {
            return Ok(());
        }
        let mut waits = Vec::new();
        for (_, _, channel) in &self.sink.targets {
            let batch = RowBatch {
                rows: rows.clone(),
                count: *count,
                ..RowBatch::default()
            };
            channel
                .blocking_send(ToUploader::Rows(batch))
                .map_err(|_| Stopped)?;
            let (barrier, done) = tokio::sync::oneshot::channel();
            channel
                .blocking_send(ToUploader::Barrier(barrier))
                .map_err(|_| Stopped)?;
            waits.push(done);
        }
        self.sink
            .outputs
            .blocking_send(Batch {
                bytes: std::mem::take(outputs),
                rows: *count,
            })
            .map_err(|_| Stopped)?;
        for done in waits {
            done.blocking_recv().map_err(|_| Stopped)?;
        }
        rows.clear();
        *count = 0;
        Ok(())
    }
}

/// Names of rotated, compressed files.
fn is_compressed_name(name: &str) -> bool {
    [".gz", ".xz", ".bz2", ".zst", ".zip", ".lz4"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// gzip, xz, bzip2 and zstd magic numbers.
fn is_compressed(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

/// `pread` into `buffer` from `offset`; the bytes read (0 at the end).
fn read_at_most(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    loop {
        match file.read_at(buffer, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::symlink;

    use super::*;

    /// A tailer of `patterns` reading files from their beginning, its rows sent to the returned
    /// receiver (no upload target), its checkpoints in `dir`.
    fn start(
        dir: &Path,
        patterns: &[PathBuf],
        allowed_roots: Option<Vec<PathBuf>>,
        forbidden: Forbidden,
    ) -> Result<(Tailer, mpsc::Receiver<Batch>), String> {
        let config = FilesConfig {
            checkpoint_path: dir.join("checkpoints.json"),
            start_at_beginning: true,
            allowed_roots,
            ..FilesConfig::default()
        };
        let checkpoints = Arc::new(Mutex::new(Checkpoints::load(&config.checkpoint_path)));
        let (outputs, rows) = mpsc::channel(16);
        let tailer = Tailer::new(
            Source {
                stream: "Custom-App_CL".to_owned(),
                patterns: patterns.iter().map(|p| p.display().to_string()).collect(),
                format: FileFormat::Text,
                record_start: None,
            },
            config,
            "fwd".to_owned(),
            Sink {
                table: Table::Custom("App_CL"),
                targets: Vec::new(),
                outputs,
                transform: None,
            },
            checkpoints,
            &crate::metrics::Metrics::new(),
            Arc::new(forbidden),
        )?;
        Ok((tailer, rows))
    }

    /// Two listings (a refused file is counted at the first only) and a read.
    fn cycle(tailer: &mut Tailer) {
        tailer.scan();
        tailer.scan();
        tailer.read_all().unwrap();
    }

    /// The `RawData` of every row shipped so far, in order.
    fn raw_data(rows: &mut mpsc::Receiver<Batch>) -> Vec<String> {
        let mut raw = Vec::new();
        while let Ok(batch) = rows.try_recv() {
            for line in batch.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let output: serde_json::Value = serde_json::from_slice(line).unwrap();
                raw.push(output["row"]["RawData"].as_str().unwrap().to_owned());
            }
        }
        raw
    }

    /// `tern_file_errors_total` of the tailer's `pattern`-th pattern.
    fn errors(tailer: &Tailer, pattern: usize) -> u64 {
        tailer.patterns[pattern].metrics.errors.get()
    }

    fn listed_id(path: &Path) -> FileId {
        let meta = std::fs::symlink_metadata(path).unwrap();
        (meta.dev(), meta.ino())
    }

    #[test]
    fn a_regular_file_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let log = logs.join("app.log");
        std::fs::write(&log, "one\ntwo\n").unwrap();
        let (mut tailer, mut rows) = start(
            dir.path(),
            &[logs.join("*.log")],
            Some(vec![dir.path().to_path_buf()]),
            Forbidden::defaults(&FilesConfig::default()),
        )
        .unwrap();
        cycle(&mut tailer);
        assert_eq!(
            raw_data(&mut rows),
            vec!["one".to_owned(), "two".to_owned()]
        );
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        file.write_all(b"three\n").unwrap();
        tailer.read_all().unwrap();
        assert_eq!(raw_data(&mut rows), vec!["three".to_owned()]);
        assert_eq!(tailer.tracked.len(), 1);
        assert_eq!(errors(&tailer, 0), 0);
    }

    #[test]
    fn a_symlink_to_a_secret_in_a_watched_folder_is_never_read_and_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let secret = dir.path().join("client-secret");
        std::fs::write(&secret, "TOPSECRET\n").unwrap();
        std::fs::write(logs.join("app.log"), "hello\n").unwrap();
        let link = logs.join("secret.log");
        symlink(&secret, &link).unwrap();
        let (mut tailer, mut rows) = start(
            dir.path(),
            &[logs.join("*.log")],
            None,
            Forbidden::default(),
        )
        .unwrap();
        cycle(&mut tailer);
        assert_eq!(raw_data(&mut rows), vec!["hello".to_owned()]);
        assert_eq!(tailer.tracked.len(), 1);
        // Counted once, although listed twice.
        assert_eq!(errors(&tailer, 0), 1);
        // The open refuses it as well: a symlink swapped in after the listing (ELOOP).
        let opened = tailer.open(listed_id(&link), 0, &link);
        assert!(matches!(opened, Err(Skip::Refused(Refusal::Symlink))));
    }

    #[test]
    fn a_fifo_is_opened_without_blocking_refused_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(logs.join("app.log"), "hello\n").unwrap();
        let fifo = logs.join("pipe.log");
        nix::unistd::mkfifo(
            &fifo,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .unwrap();
        let root = dir.path().to_path_buf();
        let (done, result) = std::sync::mpsc::channel();
        // An open that waited for a writer would hang: the test fails on the timeout instead.
        std::thread::spawn(move || {
            let (mut tailer, mut rows) =
                start(&root, &[logs.join("*.log")], None, Forbidden::default()).unwrap();
            cycle(&mut tailer);
            // The open itself (a FIFO swapped in after the listing): O_NONBLOCK, then fstat.
            let opened = tailer.open(listed_id(&fifo), 0, &fifo);
            let refused = matches!(opened, Err(Skip::Refused(Refusal::NotRegular)));
            let _ = done.send((
                raw_data(&mut rows),
                tailer.tracked.len(),
                errors(&tailer, 0),
                refused,
            ));
        });
        let (raw, tracked, counted, refused) = result
            .recv_timeout(Duration::from_secs(30))
            .expect("the tailer blocked on a FIFO");
        assert_eq!(raw, vec!["hello".to_owned()]);
        assert_eq!(tracked, 1);
        assert_eq!(counted, 1);
        assert!(refused);
    }

    #[test]
    fn files_outside_the_allowed_roots_are_refused_at_load_and_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("allowed");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(allowed.join("app.log"), "kept\n").unwrap();
        std::fs::write(outside.join("stolen.log"), "stolen\n").unwrap();
        let roots = Some(vec![allowed.clone()]);
        // A pattern outside every root: the source does not start, and says why.
        let pattern = outside.join("*.log");
        let err = start(
            dir.path(),
            std::slice::from_ref(&pattern),
            roots.clone(),
            Forbidden::default(),
        )
        .err()
        .unwrap();
        assert!(err.contains(&format!("`{}`", pattern.display())), "{err}");
        assert!(err.contains("[files] allowed_roots"), "{err}");
        // Inside the root by name, outside by its real path: a symlinked folder.
        symlink(&outside, allowed.join("escape")).unwrap();
        let (mut tailer, mut rows) = start(
            dir.path(),
            &[allowed.join("escape/*.log"), allowed.join("*.log")],
            roots,
            Forbidden::default(),
        )
        .unwrap();
        cycle(&mut tailer);
        assert_eq!(raw_data(&mut rows), vec!["kept".to_owned()]);
        assert_eq!(tailer.tracked.len(), 1);
        assert_eq!(errors(&tailer, 0), 1);
        assert_eq!(errors(&tailer, 1), 0);
        let stolen = allowed.join("escape/stolen.log");
        let opened = tailer.open(listed_id(&stolen), 0, &stolen);
        assert!(matches!(opened, Err(Skip::Refused(Refusal::OutsideRoots))));
    }

    #[test]
    fn tern_own_files_are_refused_even_through_a_hard_link() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let etc = dir.path().join("etc");
        std::fs::create_dir(&logs).unwrap();
        std::fs::create_dir_all(etc.join("keys")).unwrap();
        // One listed as a file, one only inside a listed folder.
        let config = dir.path().join("tern.toml");
        std::fs::write(&config, "[azure]\n").unwrap();
        let secret = etc.join("keys/client-secret");
        std::fs::write(&secret, "TOPSECRET\n").unwrap();
        std::fs::hard_link(&config, logs.join("config.log")).unwrap();
        std::fs::hard_link(&secret, logs.join("secret.log")).unwrap();
        std::fs::write(logs.join("app.log"), "hello\n").unwrap();
        let mut forbidden = Forbidden::default();
        forbidden.file(&config);
        forbidden.dir(&etc);
        let err = start(dir.path(), &[etc.join("*")], None, forbidden.clone())
            .err()
            .unwrap();
        assert!(err.contains("Tern's own configuration or state"), "{err}");
        let (mut tailer, mut rows) =
            start(dir.path(), &[logs.join("*.log")], None, forbidden).unwrap();
        cycle(&mut tailer);
        assert_eq!(raw_data(&mut rows), vec!["hello".to_owned()]);
        assert_eq!(tailer.tracked.len(), 1);
        assert_eq!(errors(&tailer, 0), 2);
        let link = logs.join("secret.log");
        let opened = tailer.open(listed_id(&link), 0, &link);
        assert!(matches!(opened, Err(Skip::Refused(Refusal::Forbidden))));
    }
}
