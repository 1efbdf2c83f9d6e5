//! The spool of one upload target: closed batches from the moment they are cut until the
//! service accepts them.
//!
//! Every batch gets a sequence number. With a disk, it is appended to the target's active
//! segment file before it is offered for sending (so a `kill -9` loses nothing that reached
//! the spool: the page cache survives the process), and fsynced per [`FsyncPolicy`] (so a power
//! cut loses at most the last interval). Its body also stays in memory while the memory tier
//! has room, so a healthy upstream never reads the disk back. When the service accepts a batch
//! it is acknowledged; the acknowledgement cursor (every batch up to it accepted) is stored
//! atomically (a temporary file renamed over `cursor`), and segments wholly below it are
//! deleted. Batches acknowledged out of order above the cursor (while an older one is still
//! being sent or retried) are listed in the same file, as ranges, so that a restart skips them:
//! after a crash only the batches that were in flight are sent again, the only duplicates.
//!
//! Without a disk (no `[spool]` section) the same queue lives in memory only, bounded by its
//! budget.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::record::{self, SEGMENT_MAGIC};
use super::{Budget, FsyncPolicy, SpoolMetrics};
use crate::secure_file;
use tern_core::delivery::ClosedBatch;
use tern_core::spool_cursor::Cursor;

/// At most this many `*.damaged` segments are kept per target folder, the newest: they are
/// outside the budget, and damage that keeps coming back (a failing disk) would otherwise
/// fill the disk with them.
const MAX_DAMAGED_SEGMENTS: usize = 16;

/// A new segment is started past this size, or an eighth of the budget if that is smaller
/// (so that `drop-oldest` has segments to drop before the budget is all one file).
const SEGMENT_BYTES: u64 = 32 << 20;
const MIN_SEGMENT_BYTES: u64 = 64 << 10;

/// Where a record lies.
#[derive(Debug, Clone, Copy)]
struct Location {
    segment: u64,
    offset: u64,
    framed: u32,
}

#[derive(Debug)]
struct Entry {
    rows: u64,
    uncompressed_bytes: u64,
    /// The gzip body while the memory tier holds it.
    body: Option<Arc<Vec<u8>>>,
    body_len: u64,
    location: Option<Location>,
    in_flight: bool,
    since: Instant,
}

#[derive(Debug, Default)]
struct Segment {
    size: u64,
    last_seq: u64,
}

struct Disk {
    dir: PathBuf,
    fsync: FsyncPolicy,
    segment_bytes: u64,
    /// The next segment's name: at least its first record's sequence number, and above every
    /// segment seen (salvaged records are written again under their old numbers).
    next_id: u64,
    /// Segment id (its first sequence number) → size and last sequence number.
    segments: BTreeMap<u64, Segment>,
    active: Option<(u64, File)>,
    /// Written since the last fsync.
    dirty: bool,
    last_sync: Instant,
}

/// What recovery found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub batches: u64,
    pub rows: u64,
    /// Damaged stretches skipped (each at least one record lost).
    pub damaged: u64,
    /// Segments moved aside as `*.damaged` (their intact records were kept).
    pub segments_set_aside: u64,
    /// The cursor file was missing or unreadable: everything on disk is sent again.
    pub cursor_lost: bool,
}

/// Why a batch could not be appended; it stays with the caller, to try again.
#[derive(Debug)]
pub struct AppendError {
    pub batch: ClosedBatch,
    pub error: std::io::Error,
}

pub struct TargetSpool {
    disk: Option<Disk>,
    entries: BTreeMap<u64, Entry>,
    next_seq: u64,
    /// Every batch up to here is acknowledged.
    acked_through: u64,
    memory_bytes: u64,
    /// Sum of `body_len` over `entries` (`tern_upload_queued_bytes`), kept as they come and go.
    queued_bytes: u64,
    memory_limit: u64,
    budget: Arc<Budget>,
    metrics: SpoolMetrics,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// Deletes all but the newest [`MAX_DAMAGED_SEGMENTS`] `*.damaged` files of a target folder.
fn prune_damaged(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut damaged: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "damaged"))
        .collect();
    // Named by their first sequence number, zero-padded: name order is age order.
    damaged.sort_unstable();
    let excess = damaged.len().saturating_sub(MAX_DAMAGED_SEGMENTS);
    for path in damaged.into_iter().take(excess) {
        let bytes = std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::warn!(path = %path.display(), bytes, "deleted an old damaged spool segment (the newest {MAX_DAMAGED_SEGMENTS} are kept)");
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete an old damaged spool segment");
            }
        }
    }
}

impl TargetSpool {
    /// A spool in memory only, within `budget`.
    pub fn in_memory(budget: Arc<Budget>, metrics: SpoolMetrics) -> TargetSpool {
        TargetSpool {
            disk: None,
            entries: BTreeMap::new(),
            queued_bytes: 0,
            next_seq: 1,
            acked_through: 0,
            memory_bytes: 0,
            memory_limit: u64::MAX,
            budget,
            metrics,
        }
    }

    /// Opens (or creates) the spool in `dir`, recovering what a previous run left.
    pub fn open(
        dir: &Path,
        fsync: FsyncPolicy,
        memory_limit: u64,
        budget: Arc<Budget>,
        metrics: SpoolMetrics,
    ) -> Result<(TargetSpool, Recovered), String> {
        off_the_runtime();
        // Only the tern user reads queued rows.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("spool {}: {e}", dir.display()))?;
        let mut recovered = Recovered::default();
        let cursor = std::fs::read_to_string(dir.join("cursor"))
            .ok()
            .and_then(|t| Cursor::parse(&t));
        let mut ids: Vec<u64> = std::fs::read_dir(dir)
            .map_err(|e| format!("spool {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        recovered.cursor_lost = cursor.is_none() && !ids.is_empty();
        let cursor = cursor.unwrap_or_default();
        let acked_through = cursor.through;
        let mut spool = TargetSpool {
            disk: Some(Disk {
                dir: dir.to_path_buf(),
                fsync,
                segment_bytes: (budget.max / 8).clamp(MIN_SEGMENT_BYTES, SEGMENT_BYTES),
                next_id: ids.last().map_or(1, |last| last.saturating_add(1)),
                segments: BTreeMap::new(),
                active: None,
                dirty: false,
                last_sync: Instant::now(),
            }),
            entries: BTreeMap::new(),
            queued_bytes: 0,
            next_seq: acked_through + 1,
            acked_through,
            memory_bytes: 0,
            memory_limit,
            budget,
            metrics,
        };
        let mut salvage = Vec::new();
        // Damaged segments, renamed only once their intact records are written again.
        let mut set_aside = Vec::new();
        for id in ids {
            let path = segment_path(dir, id);
            let mut bytes = Vec::new();
            if let Err(e) = File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
                tracing::error!(path = %path.display(), error = %e, "cannot read a spool segment; setting it aside");
                let _ = std::fs::rename(&path, path.with_extension("damaged"));
                recovered.segments_set_aside += 1;
                continue;
            }
            // A segment is named by the first sequence number written to it: never reuse one,
            // even if its records were lost.
            spool.next_seq = spool.next_seq.max(id.saturating_add(1));
            let scan = record::scan(&bytes);
            let only_header =
                bytes.len() <= SEGMENT_MAGIC.len() && SEGMENT_MAGIC.starts_with(&bytes);
            if only_header || (scan.records.is_empty() && scan.damaged == 0 && !scan.bad_header) {
                // Created but nothing (or only a torn first record) written: a crash right
                // after rotation. Nothing to keep; not damage.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let damaged = scan.damaged > 0 || scan.bad_header;
            recovered.damaged += scan.damaged;
            let mut last_seq = 0;
            for (offset, framed, r) in scan.records {
                last_seq = last_seq.max(r.seq);
                spool.next_seq = spool.next_seq.max(r.seq.saturating_add(1));
                if cursor.accepted(r.seq) {
                    continue;
                }
                recovered.batches += 1;
                recovered.rows += r.rows;
                if damaged {
                    // Kept in memory and written again below; the file is set aside after.
                    salvage.push(r);
                    continue;
                }
                spool.insert_entry(
                    r.seq,
                    Entry {
                        rows: r.rows,
                        uncompressed_bytes: r.uncompressed_bytes,
                        body: None,
                        body_len: r.body.len() as u64,
                        location: Some(Location {
                            segment: id,
                            offset,
                            framed,
                        }),
                        in_flight: false,
                        since: Instant::now(),
                    },
                );
            }
            if damaged {
                tracing::error!(path = %path.display(), damaged = scan.damaged, "spool segment damaged; its intact records are kept, the file is set aside");
                set_aside.push(path);
            } else if scan.torn_tail {
                // A write cut short: the records before it are intact; the next append
                // goes to a new segment, so the torn bytes are never followed by data.
                tracing::warn!(path = %path.display(), "spool segment ends in a torn record (a crash mid-write)");
                spool.add_segment(id, bytes.len() as u64, last_seq);
            } else {
                spool.add_segment(id, bytes.len() as u64, last_seq);
            }
        }
        for r in salvage {
            let seq = r.seq;
            let batch = ClosedBatch {
                body: r.body,
                rows: r.rows,
                uncompressed_bytes: usize::try_from(r.uncompressed_bytes).unwrap_or(usize::MAX),
            };
            if let Err(e) = spool.append_with_seq(seq, batch) {
                return Err(format!(
                    "spool {}: cannot rewrite salvaged records: {}",
                    dir.display(),
                    e.error
                ));
            }
        }
        if let Some(disk) = spool.disk.as_mut() {
            disk.dirty = true;
            disk.sync(&spool.metrics);
        }
        for path in set_aside {
            let _ = std::fs::rename(&path, path.with_extension("damaged"));
            recovered.segments_set_aside += 1;
        }
        prune_damaged(dir);
        // Never reuse the number of a batch the cursor file says was accepted, even if its
        // record is gone (damaged): a new batch under that number would be skipped as accepted
        // by a restart before the cursor file is next written.
        if let Some(&(_, last_acked)) = cursor.above.last() {
            spool.next_seq = spool.next_seq.max(last_acked.saturating_add(1));
        }
        // Segments a previous run had fully acknowledged.
        spool.delete_acknowledged_segments();
        spool.metrics.corrupt_records.inc_by(recovered.damaged);
        spool.publish();
        Ok((spool, recovered))
    }

    fn add_segment(&mut self, id: u64, size: u64, last_seq: u64) {
        if let Some(disk) = self.disk.as_mut() {
            disk.segments.insert(id, Segment { size, last_seq });
            self.budget.add(size);
        }
    }

    /// Whether the budget leaves room for another batch. When it does not, this target first
    /// gives back its active segment if everything in it is acknowledged (an idle target's
    /// last segment would otherwise hold budget for ever).
    pub fn has_room(&mut self) -> bool {
        if !self.budget.has_room() {
            self.release_acknowledged_active();
        }
        self.budget.has_room()
    }

    fn release_acknowledged_active(&mut self) {
        let Some(disk) = self.disk.as_mut() else {
            return;
        };
        let Some(id) = disk.active.as_ref().map(|(id, _)| *id) else {
            return;
        };
        if disk
            .segments
            .get(&id)
            .is_some_and(|s| s.last_seq <= self.acked_through)
        {
            disk.active = None;
            self.delete_acknowledged_segments();
        }
    }

    /// Unacknowledged batches.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Spools a closed batch. With a disk it is written (and fsynced under `always`) before
    /// this returns.
    /// Appends a batch; its sequence number, which `next_to_send` and `ack` name it by.
    pub fn append(&mut self, batch: ClosedBatch) -> Result<u64, AppendError> {
        let seq = self.next_seq;
        self.append_with_seq(seq, batch).map(|()| seq)
    }

    fn append_with_seq(&mut self, seq: u64, batch: ClosedBatch) -> Result<(), AppendError> {
        let location = match self.disk.as_mut() {
            None => {
                self.budget.add(batch.body.len() as u64);
                None
            }
            Some(disk) => match disk.write(seq, &batch, &self.metrics) {
                Ok((location, grown)) => {
                    self.budget.add(grown);
                    Some(location)
                }
                Err(error) => return Err(AppendError { batch, error }),
            },
        };
        self.next_seq = self.next_seq.max(seq + 1);
        let body_len = batch.body.len() as u64;
        let keep = location.is_none() || self.memory_bytes + body_len <= self.memory_limit;
        if keep {
            self.memory_bytes += body_len;
        }
        self.insert_entry(
            seq,
            Entry {
                rows: batch.rows,
                uncompressed_bytes: batch.uncompressed_bytes as u64,
                body: keep.then(|| Arc::new(batch.body)),
                body_len,
                location,
                in_flight: false,
                since: Instant::now(),
            },
        );
        self.publish();
        Ok(())
    }

    /// The oldest batch not yet in flight, marked in flight. A body no longer in memory is
    /// read back from its segment; a record that cannot be read is dropped and counted.
    pub fn next_to_send(&mut self) -> Option<(u64, ClosedBatch)> {
        loop {
            let (&seq, entry) = self.entries.iter_mut().find(|(_, e)| !e.in_flight)?;
            let body = match (&entry.body, entry.location, self.disk.as_ref()) {
                (Some(body), _, _) => Some(body.as_ref().clone()),
                (None, Some(location), Some(disk)) => match disk.read(location) {
                    Ok(body) => body,
                    Err(e) => {
                        // Not damage (descriptors, I/O): try again on a later call.
                        crate::warn_limited!(seq, error = %e, "cannot read a spooled batch back; retrying");
                        return None;
                    }
                },
                _ => None,
            };
            match body {
                Some(body) => {
                    entry.in_flight = true;
                    let batch = ClosedBatch {
                        body,
                        rows: entry.rows,
                        uncompressed_bytes: usize::try_from(entry.uncompressed_bytes)
                            .unwrap_or(usize::MAX),
                    };
                    return Some((seq, batch));
                }
                None => {
                    tracing::error!(
                        seq,
                        "a spooled batch cannot be read back; counted as corrupt"
                    );
                    self.metrics.corrupt_records.inc();
                    self.ack(seq);
                }
            }
        }
    }

    /// Batch `seq` was not delivered after all (its task failed): offer it again.
    pub fn requeue(&mut self, seq: u64) {
        if let Some(entry) = self.entries.get_mut(&seq) {
            entry.in_flight = false;
        }
    }

    /// The service accepted batch `seq`.
    pub fn ack(&mut self, seq: u64) {
        if let Some(entry) = self.remove_entry(seq) {
            if entry.body.is_some() {
                self.memory_bytes = self.memory_bytes.saturating_sub(entry.body_len);
            }
            if self.disk.is_none() {
                self.budget.sub(entry.body_len);
            }
        }
        self.advance_cursor();
        self.publish();
    }

    /// Moves the cursor up to just below the oldest batch still held, stores it with the
    /// batches acknowledged above it, and deletes the segments wholly below it.
    fn advance_cursor(&mut self) {
        let cursor = Cursor::of(
            self.acked_through,
            self.entries.keys().copied(),
            self.next_seq,
        );
        let advanced = cursor.through > self.acked_through;
        self.acked_through = cursor.through;
        self.persist_cursor(&cursor);
        if advanced {
            self.delete_acknowledged_segments();
        }
    }

    fn persist_cursor(&mut self, cursor: &Cursor) {
        let Some(disk) = self.disk.as_ref() else {
            return;
        };
        // Renamed (from `cursor.tmp`) on every acknowledgement (that survives kill -9); forced
        // to disk only under `always`: after a power cut an older cursor means batches sent
        // twice, never lost.
        off_the_runtime();
        let result = secure_file::write_atomically(
            &disk.dir.join("cursor"),
            cursor.text().as_bytes(),
            secure_file::PRIVATE,
            disk.fsync == FsyncPolicy::Always,
        );
        if let Err(e) = result {
            // Not fatal: an old cursor only means batches sent again after a restart.
            crate::warn_limited!(dir = %disk.dir.display(), error = %e, "cannot store the spool cursor");
        }
    }

    fn delete_acknowledged_segments(&mut self) {
        let Some(disk) = self.disk.as_mut() else {
            return;
        };
        off_the_runtime();
        let active = disk.active.as_ref().map(|(id, _)| *id);
        let done: Vec<u64> = disk
            .segments
            .iter()
            .filter(|(id, s)| Some(**id) != active && s.last_seq <= self.acked_through)
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(segment) = disk.segments.remove(&id) {
                let _ = std::fs::remove_file(segment_path(&disk.dir, id));
                self.budget.sub(segment.size);
            }
        }
    }

    /// `drop-oldest`: deletes the oldest segment that is not being written, with its batches
    /// not in flight. Returns the rows dropped (0 if there was nothing to drop).
    pub fn drop_oldest(&mut self) -> u64 {
        let Some(disk) = self.disk.as_mut() else {
            return 0;
        };
        off_the_runtime();
        let active = disk.active.as_ref().map(|(id, _)| *id);
        let in_flight: Vec<u64> = self
            .entries
            .values()
            .filter(|e| e.in_flight)
            .filter_map(|e| e.location.map(|l| l.segment))
            .collect();
        // Never a segment under a batch being sent: a crash would lose it uncounted.
        let Some(oldest) = disk
            .segments
            .keys()
            .copied()
            .find(|id| Some(*id) != active && !in_flight.contains(id))
        else {
            return 0;
        };
        let mut rows = 0;
        let doomed: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.location.is_some_and(|l| l.segment == oldest))
            .map(|(seq, _)| *seq)
            .collect();
        for seq in doomed {
            if let Some(entry) = self.remove_entry(seq) {
                rows += entry.rows;
                if entry.body.is_some() {
                    self.memory_bytes = self.memory_bytes.saturating_sub(entry.body_len);
                }
            }
        }
        if let Some(disk) = self.disk.as_mut() {
            if let Some(segment) = disk.segments.remove(&oldest) {
                let _ = std::fs::remove_file(segment_path(&disk.dir, oldest));
                self.budget.sub(segment.size);
            }
        }
        self.advance_cursor();
        self.metrics.dropped_rows.inc_by(rows);
        self.publish();
        rows
    }

    /// Periodic work: the `interval` fsync.
    pub fn tick(&mut self) {
        if let Some(disk) = self.disk.as_mut() {
            if let FsyncPolicy::Interval(every) = disk.fsync {
                if disk.last_sync.elapsed() >= every {
                    disk.sync(&self.metrics);
                }
            }
        }
    }

    /// Before exit: everything written reaches the disk.
    pub fn flush(&mut self) {
        if let Some(disk) = self.disk.as_mut() {
            if disk.fsync != FsyncPolicy::Never {
                disk.sync(&self.metrics);
            }
        }
    }

    fn insert_entry(&mut self, seq: u64, entry: Entry) {
        self.queued_bytes += entry.body_len;
        if let Some(replaced) = self.entries.insert(seq, entry) {
            self.queued_bytes = self.queued_bytes.saturating_sub(replaced.body_len);
        }
    }

    fn remove_entry(&mut self, seq: u64) -> Option<Entry> {
        let entry = self.entries.remove(&seq)?;
        self.queued_bytes = self.queued_bytes.saturating_sub(entry.body_len);
        Some(entry)
    }

    fn publish(&self) {
        let bytes = match &self.disk {
            Some(disk) => disk.segments.values().map(|s| s.size).sum::<u64>(),
            // In memory the budget is this target's own.
            None => self.budget.used(),
        };
        self.metrics
            .bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.metrics
            .queued_bytes
            .set(i64::try_from(self.queued_bytes).unwrap_or(i64::MAX));
        self.metrics
            .batches
            .set(i64::try_from(self.entries.len()).unwrap_or(i64::MAX));
        // Entries are in sequence order, which is append order.
        let oldest = self
            .entries
            .values()
            .next()
            .map_or(0, |e| e.since.elapsed().as_secs());
        self.metrics
            .oldest_seconds
            .set(i64::try_from(oldest).unwrap_or(i64::MAX));
    }

    /// Refreshes the age gauge (called on the periodic tick).
    pub fn refresh_metrics(&self) {
        self.publish();
    }
}

/// File work belongs on the spool's own thread ([`super::executor`]), never in a tokio task,
/// where a blocking write or fsync would stall every task of the worker. Checked in debug
/// builds, which the end-to-end suite runs: a regression fails it.
#[inline]
fn off_the_runtime() {
    debug_assert!(
        tokio::task::try_id().is_none(),
        "spool file I/O inside a tokio task: go through spool::executor"
    );
}

impl Disk {
    /// Appends a record to the active segment (starting one if needed). Returns where it went
    /// and by how many bytes the spool grew.
    fn write(
        &mut self,
        seq: u64,
        batch: &ClosedBatch,
        metrics: &SpoolMetrics,
    ) -> std::io::Result<(Location, u64)> {
        off_the_runtime();
        let rotate = match &self.active {
            None => true,
            Some((id, _)) => self
                .segments
                .get(id)
                .is_none_or(|s| s.size >= self.segment_bytes),
        };
        let mut grown = 0;
        if rotate {
            if self.active.is_some() && self.fsync != FsyncPolicy::Never {
                self.sync(metrics);
            }
            let id = self.next_id.max(seq);
            let path = segment_path(&self.dir, id);
            // A new file written only through this descriptor: appending and writing from
            // the start are the same.
            let mut file = secure_file::create_new(&path, secure_file::PRIVATE)?;
            if let Err(e) = file.write_all(SEGMENT_MAGIC) {
                // A full disk: remove the half-made file so the retry can create it again.
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
            self.next_id = id.saturating_add(1);
            self.segments.insert(
                id,
                Segment {
                    size: SEGMENT_MAGIC.len() as u64,
                    last_seq: seq,
                },
            );
            grown += SEGMENT_MAGIC.len() as u64;
            self.active = Some((id, file));
            if self.fsync != FsyncPolicy::Never {
                // The new file's name must survive a power cut too.
                if let Ok(dir) = File::open(&self.dir) {
                    let _ = dir.sync_all();
                }
            }
        }
        let Some((id, file)) = self.active.as_mut() else {
            return Err(std::io::Error::other("no active segment"));
        };
        let mut framed = Vec::with_capacity(batch.body.len() + 40);
        let len = record::encode(
            seq,
            batch.rows,
            batch.uncompressed_bytes as u64,
            &batch.body,
            &mut framed,
        );
        let segment = self.segments.entry(*id).or_default();
        let offset = segment.size;
        if let Err(e) = file.write_all(&framed) {
            // A partial write leaves a torn record; start a new segment next time so that no
            // record follows it (what this one holds is synced first, as the policy asks).
            if self.fsync != FsyncPolicy::Never {
                let _ = file.sync_data();
            }
            self.active = None;
            return Err(e);
        }
        segment.size += len as u64;
        segment.last_seq = segment.last_seq.max(seq);
        grown += len as u64;
        let location = Location {
            segment: *id,
            offset,
            framed: u32::try_from(len).unwrap_or(u32::MAX),
        };
        self.dirty = true;
        if self.fsync == FsyncPolicy::Always {
            self.sync(metrics);
        }
        Ok((location, grown))
    }

    fn sync(&mut self, metrics: &SpoolMetrics) {
        off_the_runtime();
        if !self.dirty {
            return;
        }
        if let Some((_, file)) = self.active.as_ref() {
            let started = Instant::now();
            if let Err(e) = file.sync_data() {
                crate::warn_limited!(dir = %self.dir.display(), error = %e, "spool fsync failed");
            }
            metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    /// A record's body; `Ok(None)` when it is gone or damaged (counted by the caller), `Err`
    /// for an error worth retrying.
    fn read(&self, location: Location) -> std::io::Result<Option<Vec<u8>>> {
        off_the_runtime();
        let mut file = match File::open(segment_path(&self.dir, location.segment)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(location.offset))?;
        let mut bytes = vec![0; location.framed as usize];
        match file.read_exact(&mut bytes) {
            Ok(()) => Ok(record::decode_at(&bytes).map(|r| r.body)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn batch(n: u64) -> ClosedBatch {
        ClosedBatch {
            body: format!("body-{n}").into_bytes().repeat(100),
            rows: n,
            uncompressed_bytes: 1000,
        }
    }

    fn open(dir: &Path, budget: u64) -> (TargetSpool, Recovered) {
        TargetSpool::open(
            dir,
            FsyncPolicy::Always,
            1 << 20,
            Arc::new(Budget::new(budget)),
            SpoolMetrics::default(),
        )
        .unwrap()
    }

    /// Sends everything, acknowledging all but `keep` (in order); returns the rows sent.
    fn drain(spool: &mut TargetSpool) -> Vec<u64> {
        let mut sent = Vec::new();
        while let Some((seq, b)) = spool.next_to_send() {
            sent.push(b.rows);
            spool.ack(seq);
        }
        sent
    }

    #[test]
    fn unacknowledged_batches_survive_a_restart_and_acknowledged_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered, Recovered::default());
        for n in 1..=5 {
            spool.append(batch(n)).unwrap();
        }
        // 1 and 2 accepted, 3 in flight when the process dies, 4 and 5 never sent.
        for _ in 0..3 {
            let (seq, _) = spool.next_to_send().unwrap();
            if seq < 3 {
                spool.ack(seq);
            }
        }
        drop(spool);
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!((recovered.batches, recovered.rows), (3, 3 + 4 + 5));
        assert!(!recovered.cursor_lost);
        assert_eq!(drain(&mut spool), [3, 4, 5]);
        drop(spool);
        let (spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered.batches, 0);
        assert!(spool.is_empty());
    }

    #[test]
    fn out_of_order_acknowledgements_move_the_cursor_only_over_a_gapless_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        for n in 1..=3 {
            spool.append(batch(n)).unwrap();
        }
        let first = spool.next_to_send().unwrap().0;
        let second = spool.next_to_send().unwrap().0;
        spool.ack(second);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cursor")).unwrap(),
            "0\nacked 2\n"
        );
        drop(spool);
        // 2 was accepted but 1 was not: the cursor stays at 0, and 2 is skipped all the same.
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered.batches, 2);
        assert_eq!(drain(&mut spool), [1, 3]);
        assert_eq!(first, 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cursor")).unwrap(),
            "3\n"
        );
    }

    #[test]
    fn many_out_of_order_acknowledgements_are_all_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        for n in 1..=10 {
            spool.append(batch(n)).unwrap();
        }
        // Batch 1 is stuck in retries while 2..=9 are accepted, every other one first.
        let mut sent = Vec::new();
        while let Some((seq, _)) = spool.next_to_send() {
            sent.push(seq);
        }
        for seq in [3, 5, 7, 9, 2, 4, 6, 8] {
            spool.ack(seq);
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cursor")).unwrap(),
            "0\nacked 2-9\n"
        );
        drop(spool);
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered.batches, 2);
        assert_eq!(drain(&mut spool), [1, 10]);
        assert_eq!(sent, (1..=10).collect::<Vec<u64>>());
    }

    #[test]
    fn numbers_the_cursor_file_calls_accepted_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        for n in 1..=3 {
            spool.append(batch(n)).unwrap();
        }
        drop(spool);
        // As if batches 4 and 5 had been accepted and their records then lost to damage.
        std::fs::write(dir.path().join("cursor"), "0\nacked 4-5\n").unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        spool.append(batch(9)).unwrap();
        drop(spool); // a crash before any acknowledgement rewrites the cursor file
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered.batches, 4);
        assert_eq!(drain(&mut spool), [1, 2, 3, 9]);
    }

    #[test]
    fn damage_is_skipped_counted_and_set_aside_and_a_lost_cursor_resends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        for n in 1..=6 {
            spool.append(batch(n)).unwrap();
        }
        drop(spool);
        let segment = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "seg"))
            .unwrap();
        let mut bytes = std::fs::read(&segment).unwrap();
        let records = record::scan(&bytes).records;
        // Flip a byte inside batch 3's body, and cut batch 6 short.
        let third = records[2].0 as usize + 40;
        bytes[third] ^= 0x55;
        bytes.truncate(bytes.len() - 10);
        std::fs::write(&segment, &bytes).unwrap();
        std::fs::remove_file(dir.path().join("cursor")).ok();
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!(recovered.damaged, 1);
        assert_eq!(recovered.segments_set_aside, 1);
        assert!(recovered.cursor_lost);
        assert_eq!(drain(&mut spool), [1, 2, 4, 5]);
        assert!(segment.with_extension("damaged").exists());
        assert_eq!(spool.metrics.corrupt_records.get(), 1);
    }

    #[test]
    fn a_crash_right_after_rotation_leaves_nothing_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        spool.append(batch(1)).unwrap();
        drop(spool);
        // The next segment was created (named by the next sequence number, 2) and its first
        // record torn; another, empty.
        let mut torn = SEGMENT_MAGIC.to_vec();
        record::encode(2, 7, 70, b"lost", &mut torn);
        torn.truncate(torn.len() - 3);
        std::fs::write(segment_path(dir.path(), 2), torn).unwrap();
        std::fs::write(segment_path(dir.path(), 3), b"").unwrap();
        let (mut spool, recovered) = open(dir.path(), 1 << 30);
        assert_eq!((recovered.batches, recovered.damaged), (1, 0));
        // New batches get fresh numbers and files.
        spool.append(batch(4)).unwrap();
        assert_eq!(drain(&mut spool), [1, 4]);
        assert!(!segment_path(dir.path(), 3).exists());
    }

    #[test]
    fn spool_folders_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("target");
        let (mut spool, _) = open(&dir, 1 << 30);
        spool.append(batch(1)).unwrap();
        spool.append(batch(2)).unwrap();
        let (seq, _) = spool.next_to_send().unwrap();
        spool.ack(seq);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("cursor")), 0o600);
        assert_eq!(mode(&segment_path(&dir, 1)), 0o600);
    }

    #[test]
    fn a_planted_cursor_link_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let spool_dir = dir.path().join("target");
        std::fs::create_dir(&spool_dir).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, spool_dir.join("cursor.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, spool_dir.join("cursor")).unwrap();
        let (mut spool, _) = open(&spool_dir, 1 << 30);
        spool.append(batch(1)).unwrap();
        let (seq, _) = spool.next_to_send().unwrap();
        spool.ack(seq);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(spool_dir.join("cursor")).unwrap(),
            "1\n"
        );
        assert!(
            std::fs::symlink_metadata(spool_dir.join("cursor"))
                .unwrap()
                .file_type()
                .is_file()
        );
    }

    #[test]
    fn only_the_newest_damaged_segments_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for id in 1..=20u64 {
            std::fs::write(dir.path().join(format!("{id:020}.damaged")), b"x").unwrap();
        }
        std::fs::write(segment_path(dir.path(), 30), b"").unwrap();
        prune_damaged(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected: Vec<String> = (5..=20u64).map(|id| format!("{id:020}.damaged")).collect();
        expected.push(format!("{:020}.seg", 30));
        assert_eq!(left, expected);
    }

    #[test]
    fn drop_oldest_deletes_whole_segments_and_counts_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        // Budget 512 KiB: 64 KiB segments; each batch is 600 bytes of body.
        let (mut spool, _) = open(dir.path(), 512 << 10);
        let mut n = 0;
        while spool.has_room() {
            n += 1;
            spool.append(batch(1)).unwrap();
        }
        let before = spool.len() as u64;
        let dropped = spool.drop_oldest();
        assert!(dropped > 0 && dropped < before, "{dropped} of {before}");
        assert_eq!(spool.len() as u64, before - dropped);
        assert!(spool.has_room());
        assert_eq!(spool.metrics.dropped_rows.get(), dropped);
        assert_eq!(drain(&mut spool).len() as u64, n - dropped);
    }

    #[test]
    fn an_idle_targets_acknowledged_segment_gives_its_budget_back() {
        let dir = tempfile::tempdir().unwrap();
        let budget = Arc::new(Budget::new(512 << 10));
        let (mut spool, _) = TargetSpool::open(
            dir.path(),
            FsyncPolicy::Never,
            1 << 20,
            Arc::clone(&budget),
            SpoolMetrics::default(),
        )
        .unwrap();
        while budget.has_room() {
            spool.append(batch(1)).unwrap();
        }
        drain(&mut spool);
        // Everything is acknowledged; only the active segment still counts, and other
        // targets (simulated) fill the rest of the shared budget.
        let active = budget.used();
        assert!(active > 0);
        budget.add(512 << 10);
        assert!(!budget.has_room());
        assert!(!spool.has_room(), "the others' share is still there");
        assert_eq!(
            budget.used(),
            512 << 10,
            "but this target's acknowledged segment is gone"
        );
        budget.sub(512 << 10);
        // A batch whose task failed is offered again.
        spool.append(batch(7)).unwrap();
        let (seq, _) = spool.next_to_send().unwrap();
        assert!(spool.next_to_send().is_none());
        spool.requeue(seq);
        assert_eq!(drain(&mut spool), [7]);
    }

    /// One step of a spool's life, for the property test below.
    #[derive(Debug, Clone)]
    enum Step {
        /// A batch handed over (the sender has its answer: it must not be lost).
        Append,
        /// The oldest unsent batch taken for upload.
        Send,
        /// The service accepted the `n`-th batch in flight.
        Accept(usize),
        /// The request of the `n`-th batch in flight failed: offered again.
        Fail(usize),
        /// `kill -9` (nothing flushed) and a new start.
        Crash,
        /// A clean stop (flushed) and a new start.
        Restart,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => Just(Step::Append),
            3 => Just(Step::Send),
            3 => (0usize..4).prop_map(Step::Accept),
            1 => (0usize..4).prop_map(Step::Fail),
            1 => Just(Step::Crash),
            1 => Just(Step::Restart),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any sequence of appends, sends, acceptances, failures, crashes and restarts (issue
        /// 23): no batch handed over is ever lost, and none the service accepted is sent again
        /// after a start (small segments, so rotation and segment deletion happen too).
        #[test]
        fn nothing_handed_over_is_lost_and_nothing_accepted_is_resent(
            steps in proptest::collection::vec(step(), 1..80),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let open = || {
                let (mut spool, _) = open(dir.path(), 1 << 30);
                if let Some(disk) = spool.disk.as_mut() {
                    disk.segment_bytes = 2_000;
                }
                spool
            };
            let mut spool = open();
            let mut next = 1u64;
            // Handed over and not accepted (by their rows, which number them), and accepted.
            let mut pending: std::collections::BTreeSet<u64> = Default::default();
            let mut accepted: std::collections::BTreeSet<u64> = Default::default();
            let mut in_flight: Vec<(u64, u64)> = Vec::new();
            for step in steps {
                match step {
                    Step::Append => {
                        spool.append(batch(next)).unwrap();
                        pending.insert(next);
                        next += 1;
                    }
                    Step::Send => {
                        if let Some((seq, b)) = spool.next_to_send() {
                            proptest::prop_assert!(
                                !accepted.contains(&b.rows),
                                "batch {} sent again after it was accepted", b.rows
                            );
                            proptest::prop_assert!(pending.contains(&b.rows));
                            in_flight.push((seq, b.rows));
                        }
                    }
                    Step::Accept(n) => {
                        if !in_flight.is_empty() {
                            let (seq, rows) = in_flight.remove(n % in_flight.len());
                            spool.ack(seq);
                            pending.remove(&rows);
                            accepted.insert(rows);
                        }
                    }
                    Step::Fail(n) => {
                        if !in_flight.is_empty() {
                            let (seq, _) = in_flight.remove(n % in_flight.len());
                            spool.requeue(seq);
                        }
                    }
                    Step::Crash | Step::Restart => {
                        if matches!(step, Step::Restart) {
                            spool.flush();
                        }
                        drop(spool);
                        spool = open();
                        in_flight.clear();
                    }
                }
            }
            // Everything still pending comes out (once each), nothing accepted does.
            let mut rest = Vec::new();
            while let Some((seq, b)) = spool.next_to_send() {
                rest.push(b.rows);
                spool.ack(seq);
            }
            for (_, rows) in &in_flight {
                rest.push(*rows);
            }
            rest.sort_unstable();
            rest.dedup();
            let pending: Vec<u64> = pending.into_iter().collect();
            proptest::prop_assert_eq!(rest, pending);
        }
    }

    #[test]
    fn in_memory_spool_is_bounded_by_its_budget() {
        let budget = Arc::new(Budget::new(1200));
        let metrics = SpoolMetrics::default();
        let mut spool = TargetSpool::in_memory(Arc::clone(&budget), metrics.clone());
        spool.append(batch(1)).unwrap();
        assert!(spool.has_room());
        spool.append(batch(2)).unwrap();
        assert!(!spool.has_room());
        // `tern_upload_queued_bytes`: both bodies wait (600 bytes each).
        assert_eq!(metrics.queued_bytes.get(), 1200);
        assert_eq!(drain(&mut spool), [1, 2]);
        assert_eq!(budget.used(), 0);
        assert_eq!(metrics.queued_bytes.get(), 0);
    }

    #[test]
    fn queued_bytes_count_what_waits_on_disk_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = open(dir.path(), 1 << 30);
        for n in 1..=3 {
            spool.append(batch(n)).unwrap();
        }
        let (seq, _) = spool.next_to_send().unwrap();
        spool.ack(seq);
        drop(spool);
        let metrics = SpoolMetrics::default();
        let (spool, _) = TargetSpool::open(
            dir.path(),
            FsyncPolicy::Always,
            1 << 20,
            Arc::new(Budget::new(1 << 30)),
            metrics.clone(),
        )
        .unwrap();
        // Batches 2 and 3 wait: 600 bytes each.
        assert_eq!(metrics.queued_bytes.get(), 1200);
        drop(spool);
    }
}
