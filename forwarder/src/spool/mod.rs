//! The durable spool between the batcher and the uploads (issue 6): closed batches per target
//! on disk until the service accepts them, within one byte budget for all targets.
//!
//! - [`record`]: the segment file format and recovery scan (checksums, resynchronisation);
//! - [`target`]: one target's spool: append, send order, acknowledgement cursor, segment
//!   deletion, `drop-oldest`, the memory tier.
//! - [`executor`]: runs a target's spool on a thread of its own, so that no file operation
//!   blocks a runtime worker.
//!
//! What survives what, by `fsync` policy (closed batches; rows still being batched, at most
//! the one-second linger, and what sits in socket buffers are in memory only):
//! - `always`: a batch is on disk before it is offered for upload; a power cut loses nothing
//!   spooled.
//! - `interval` (default, 1 s): `kill -9` loses nothing spooled (written data is in the page
//!   cache); a power cut loses at most the last second.
//! - `never`: like `interval` for `kill -9`; a power cut loses what the kernel had not
//!   written back (typically up to 30 s).

pub mod executor;
pub mod record;
pub mod target;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use crate::metrics::SpoolMetrics;
pub use target::{Recovered, TargetSpool};

/// When written batches are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    Interval(Duration),
    Never,
}

/// What to do when the budget is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Stop taking rows: TCP, TLS and unix senders are slowed; UDP overflow is counted by the
    /// kernel drop counter.
    Block,
    /// Delete the oldest segment of the target that needs room, counting its rows as dropped.
    DropOldest,
}

/// `[spool]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolConfig {
    pub dir: std::path::PathBuf,
    pub max_bytes: u64,
    pub when_full: WhenFull,
    pub fsync: FsyncPolicy,
}

/// Bytes in use against a limit, shared by the targets of one spool.
#[derive(Debug)]
pub struct Budget {
    used: AtomicU64,
    pub max: u64,
}

impl Budget {
    pub fn new(max: u64) -> Budget {
        Budget {
            used: AtomicU64::new(0),
            max,
        }
    }

    pub fn has_room(&self) -> bool {
        self.used.load(Ordering::Relaxed) < self.max
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: u64) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&self, bytes: u64) {
        // Saturating: a double subtraction would be a bug, not a reason to wrap.
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }
}
