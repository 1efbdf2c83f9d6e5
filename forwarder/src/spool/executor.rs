//! A target's disk spool on a thread of its own: every file operation (open and recovery,
//! appends, fsyncs, reading a batch back, the cursor, deleting segments) runs there, never on
//! a runtime worker, where an `fsync = "always"` stall would hold up every task sharing the
//! worker (issue 23). A memory spool has no file work and runs in place.
//!
//! The uploader owns the one handle and awaits each operation in turn, so the operations of a
//! target run in order and the spool needs no lock. [`super::target`] asserts, in debug
//! builds, that its file operations never run inside a tokio task: the end-to-end suite runs
//! debug daemons, so a regression fails it.

use std::path::PathBuf;
use std::sync::Arc;

use super::target::{AppendError, Recovered, TargetSpool};
use super::{Budget, FsyncPolicy, SpoolMetrics};
use tern_core::delivery::ClosedBatch;

type Job = Box<dyn FnOnce(&mut TargetSpool) + Send>;

/// The uploader's handle on its spool.
pub struct SpoolExecutor {
    runs: Runs,
    budget: Arc<Budget>,
    /// Unacknowledged batches after the last operation (only this handle changes them).
    len: usize,
}

/// Where the operations run: a memory spool does no file work and runs them in place (a
/// thread hop per operation cost the load benchmark about a tenth of its CPU); a disk spool
/// on its thread.
enum Runs {
    InPlace(Box<TargetSpool>),
    OnThread(std::sync::mpsc::Sender<Job>),
}

/// Where a spool lives: in memory, or in a folder.
pub enum Place {
    Memory,
    Disk {
        dir: PathBuf,
        fsync: FsyncPolicy,
        memory_limit: u64,
    },
}

/// The spool thread ended (a panic in it): the uploader stops, the watchdog sees a stage
/// gone, and the next start recovers the spool from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the spool thread ended")]
pub struct SpoolGone;

impl SpoolExecutor {
    /// Starts the spool thread and opens the spool there (recovering a folder's contents).
    pub async fn start(
        place: Place,
        budget: Arc<Budget>,
        metrics: SpoolMetrics,
    ) -> Result<(SpoolExecutor, Recovered), String> {
        let (dir, fsync, memory_limit) = match place {
            Place::Memory => {
                let spool = TargetSpool::in_memory(Arc::clone(&budget), metrics);
                let executor = SpoolExecutor {
                    runs: Runs::InPlace(Box::new(spool)),
                    budget,
                    len: 0,
                };
                return Ok((executor, Recovered::default()));
            }
            Place::Disk {
                dir,
                fsync,
                memory_limit,
            } => (dir, fsync, memory_limit),
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (opened, open_result) = tokio::sync::oneshot::channel();
        let thread_budget = Arc::clone(&budget);
        std::thread::Builder::new()
            .name("tern-spool".to_owned())
            .spawn(move || {
                let spool = TargetSpool::open(&dir, fsync, memory_limit, thread_budget, metrics);
                let mut spool = match spool {
                    Ok((spool, recovered)) => {
                        let len = spool.len();
                        if opened.send(Ok((recovered, len))).is_err() {
                            return;
                        }
                        spool
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                // Until the handle is dropped: the jobs, in order.
                while let Ok(job) = queue.recv() {
                    job(&mut spool);
                }
            })
            .map_err(|e| format!("cannot start a spool thread: {e}"))?;
        let (recovered, len) = open_result
            .await
            .map_err(|_| "the spool thread ended while opening".to_owned())??;
        Ok((
            SpoolExecutor {
                runs: Runs::OnThread(jobs),
                budget,
                len,
            },
            recovered,
        ))
    }

    /// Runs `job` on the spool (on its thread, for a disk spool) and waits for its answer.
    async fn run<R: Send + 'static>(
        &mut self,
        job: impl FnOnce(&mut TargetSpool) -> R + Send + 'static,
    ) -> Result<R, SpoolGone> {
        let jobs = match &mut self.runs {
            Runs::InPlace(spool) => {
                let result = job(spool);
                self.len = spool.len();
                return Ok(result);
            }
            Runs::OnThread(jobs) => jobs,
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        jobs.send(Box::new(move |spool: &mut TargetSpool| {
            let result = job(spool);
            let _ = answer.send((result, spool.len()));
        }))
        .map_err(|_| SpoolGone)?;
        let (result, len) = answered.await.map_err(|_| SpoolGone)?;
        self.len = len;
        Ok(result)
    }

    /// No unacknowledged batch.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Unacknowledged batches (those in flight included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the budget (shared with the other targets) has room; when it has not, the
    /// spool thread first gives back an acknowledged active segment.
    pub async fn has_room(&mut self) -> Result<bool, SpoolGone> {
        if self.budget.has_room() {
            return Ok(true);
        }
        self.run(TargetSpool::has_room).await
    }

    pub async fn append(
        &mut self,
        batch: ClosedBatch,
    ) -> Result<Result<u64, AppendError>, SpoolGone> {
        self.run(move |spool| spool.append(batch)).await
    }

    pub async fn ack(&mut self, seq: u64) -> Result<(), SpoolGone> {
        self.run(move |spool| spool.ack(seq)).await
    }

    pub async fn requeue(&mut self, seq: u64) -> Result<(), SpoolGone> {
        self.run(move |spool| spool.requeue(seq)).await
    }

    /// Up to `max` batches to send next, oldest first.
    pub async fn next_to_send(&mut self, max: usize) -> Result<Vec<(u64, ClosedBatch)>, SpoolGone> {
        if max == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        self.run(move |spool| {
            std::iter::from_fn(|| spool.next_to_send())
                .take(max)
                .collect()
        })
        .await
    }

    /// `drop-oldest`: the rows of the segment deleted.
    pub async fn drop_oldest(&mut self) -> Result<u64, SpoolGone> {
        self.run(TargetSpool::drop_oldest).await
    }

    /// The periodic work: the `interval` fsync and the metrics.
    pub async fn tick(&mut self) -> Result<(), SpoolGone> {
        self.run(|spool| {
            spool.tick();
            spool.refresh_metrics();
        })
        .await
    }

    /// Before exit: everything written reaches the disk.
    pub async fn flush(&mut self) -> Result<(), SpoolGone> {
        self.run(TargetSpool::flush).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: u64) -> ClosedBatch {
        ClosedBatch {
            body: format!("body-{n}").into_bytes(),
            rows: n,
            uncompressed_bytes: 100,
        }
    }

    /// The guard the end-to-end suite relies on: file work inside a task panics in debug.
    #[tokio::test]
    async fn file_work_inside_a_task_is_caught_in_debug_builds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let outcome = tokio::spawn(async move {
            TargetSpool::open(
                &path,
                FsyncPolicy::Never,
                1 << 20,
                Arc::new(Budget::new(1 << 20)),
                SpoolMetrics::default(),
            )
            .is_ok()
        })
        .await;
        assert_eq!(outcome.is_err(), cfg!(debug_assertions), "{outcome:?}");
    }

    #[tokio::test]
    async fn the_spool_works_on_its_own_thread_and_recovers_there() {
        let dir = tempfile::tempdir().unwrap();
        let place = || Place::Disk {
            dir: dir.path().to_path_buf(),
            fsync: FsyncPolicy::Always,
            memory_limit: 1 << 20,
        };
        let budget = Arc::new(Budget::new(1 << 30));
        let (mut spool, recovered) =
            SpoolExecutor::start(place(), Arc::clone(&budget), SpoolMetrics::default())
                .await
                .unwrap();
        assert_eq!(recovered, Recovered::default());
        let thread = spool
            .run(|_| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(thread.as_deref(), Some("tern-spool"));
        for n in 1..=3 {
            assert_eq!(spool.append(batch(n)).await.unwrap().ok(), Some(n));
        }
        assert!(!spool.is_empty());
        let sent = spool.next_to_send(2).await.unwrap();
        assert_eq!(sent.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [1, 2]);
        spool.ack(1).await.unwrap();
        spool.flush().await.unwrap();
        drop(spool);
        // Batches 2 and 3 were not acknowledged: a new start finds them.
        let (mut spool, recovered) = SpoolExecutor::start(place(), budget, SpoolMetrics::default())
            .await
            .unwrap();
        assert_eq!(recovered.batches, 2, "{recovered:?}");
        let again = spool.next_to_send(8).await.unwrap();
        assert_eq!(
            again.iter().map(|(_, b)| b.rows).collect::<Vec<_>>(),
            [2, 3]
        );
    }
}
