//! Events `tern send-test` marks, counted per run through the pipeline, so that send-test
//! reports on its own events and not on the host's traffic (issue 26, item 6).
//!
//! A marked event's header hostname is `tern-send-test-<run>`. Any other event costs one
//! prefix comparison of its hostname; a marked one a short lock. Bounded: the newest
//! [`RUNS`] runs are kept, so a sender that marks its events with ever new run ids cannot make
//! Tern hold more. Served as JSON at `/send-test/<run>` on the metrics endpoint.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The hostname prefix of a marked event.
pub const HOST_PREFIX: &str = "tern-send-test-";

/// Runs kept.
pub const RUNS: usize = 16;

/// The longest run id taken (send-test's are about 20 bytes).
const MAX_RUN_BYTES: usize = 64;

/// What became of one run's events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunCounts {
    /// Events parsed, by what they were parsed as.
    pub text: u64,
    pub cef: u64,
    pub asa: u64,
    /// Events the collection DCRs do not select.
    pub filtered: u64,
    pub syslog_rows: u64,
    pub common_security_log_rows: u64,
    /// Rows handed to an uploader (one per target).
    pub queued: u64,
    /// Rows in batches the service accepted.
    pub uploaded: u64,
    /// Rows that went to local outputs only.
    pub local: u64,
    /// Rows neither an uploader nor a local output took (`dropped{reason="no_uploader"}`).
    pub no_uploader: u64,
}

impl RunCounts {
    pub fn received(&self) -> u64 {
        self.text + self.cef + self.asa
    }
}

/// The runs seen, newest last.
#[derive(Default)]
pub struct Ledger {
    runs: Mutex<VecDeque<(Arc<str>, RunCounts)>>,
}

impl Ledger {
    /// The run a hostname marks, if it is a marked one.
    pub fn run_of(hostname: Option<&str>) -> Option<&str> {
        let run = hostname?.strip_prefix(HOST_PREFIX)?;
        (!run.is_empty() && run.len() <= MAX_RUN_BYTES).then_some(run)
    }

    /// Applies `change` to `run`'s counts (a new run pushes out the oldest beyond [`RUNS`]);
    /// returns the run's shared name, for rows that carry it on.
    pub fn update(&self, run: &str, change: impl FnOnce(&mut RunCounts)) -> Option<Arc<str>> {
        let mut runs = self.runs.lock().ok()?;
        if let Some((name, counts)) = runs.iter_mut().find(|(name, _)| &**name == run) {
            change(counts);
            return Some(Arc::clone(name));
        }
        if runs.len() >= RUNS {
            runs.pop_front();
        }
        let name: Arc<str> = Arc::from(run);
        let mut counts = RunCounts::default();
        change(&mut counts);
        runs.push_back((Arc::clone(&name), counts));
        Some(name)
    }

    /// A run's counts, if it was seen.
    pub fn get(&self, run: &str) -> Option<RunCounts> {
        let runs = self.runs.lock().ok()?;
        runs.iter()
            .find(|(name, _)| &**name == run)
            .map(|(_, counts)| *counts)
    }
}

/// Marked rows a batch carries to its uploader: per run, how many.
pub type Marks = Vec<(Arc<str>, u64)>;

/// Adds one row of `run` to `marks`.
pub fn add(marks: &mut Marks, run: &Arc<str>) {
    match marks.iter_mut().find(|(name, _)| Arc::ptr_eq(name, run)) {
        Some((_, n)) => *n += 1,
        None => marks.push((Arc::clone(run), 1)),
    }
}

/// Which spooled batches hold marked rows, so that the rows count as uploaded once every
/// batch holding them is acknowledged (a batch dropped by `drop-oldest` never is). At most
/// [`MAX_WAITING`] marked row batches are followed at a time: each is cut into batches of its
/// own, and a sender marking all its events must not make every request a small one.
#[derive(Debug, Default)]
pub struct Confirmations {
    next_id: u64,
    /// Marks and how many of their batches are not acknowledged yet, by confirmation id.
    waiting: std::collections::HashMap<u64, (Marks, usize)>,
    /// Confirmation ids by spool sequence number.
    by_seq: std::collections::HashMap<u64, u64>,
}

/// Marked row batches followed at once, per target.
pub const MAX_WAITING: usize = 64;

impl Confirmations {
    /// Whether marked rows arriving now are followed (their batch is cut at once).
    pub fn has_room(&self) -> bool {
        self.waiting.len() < MAX_WAITING
    }

    /// Follows `marks`, held in the next `batches` spooled batches; the id to tag them with.
    pub fn follow(&mut self, marks: Marks, batches: usize) -> Option<u64> {
        if marks.is_empty() || batches == 0 || !self.has_room() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.insert(id, (marks, batches));
        Some(id)
    }

    /// A batch tagged `id` was spooled as `seq`.
    pub fn spooled(&mut self, id: u64, seq: u64) {
        self.by_seq.insert(seq, id);
    }

    /// Batch `seq` was acknowledged: the marks whose batches are now all acknowledged.
    pub fn acknowledged(&mut self, seq: u64) -> Option<Marks> {
        let id = self.by_seq.remove(&seq)?;
        let (_, left) = self.waiting.get_mut(&id)?;
        *left = left.saturating_sub(1);
        if *left > 0 {
            return None;
        }
        self.waiting.remove(&id).map(|(marks, _)| marks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_hostnames_count_and_old_runs_make_room() {
        assert_eq!(Ledger::run_of(Some("tern-send-test-run-1")), Some("run-1"));
        assert_eq!(Ledger::run_of(Some("tern-send-test-")), None);
        assert_eq!(Ledger::run_of(Some("fw-01")), None);
        assert_eq!(Ledger::run_of(None), None);
        let long = format!("{HOST_PREFIX}{}", "x".repeat(65));
        assert_eq!(Ledger::run_of(Some(&long)), None);

        let ledger = Ledger::default();
        ledger.update("run-1", |c| c.cef += 1);
        ledger.update("run-1", |c| c.filtered += 1);
        assert_eq!(
            ledger.get("run-1"),
            Some(RunCounts {
                cef: 1,
                filtered: 1,
                ..RunCounts::default()
            })
        );
        for i in 0..RUNS {
            ledger.update(&format!("flood-{i}"), |c| c.text += 1);
        }
        assert_eq!(ledger.get("run-1"), None, "the oldest run made room");
        assert_eq!(ledger.get("flood-0").map(|c| c.received()), Some(1));
        assert_eq!(ledger.runs.lock().unwrap().len(), RUNS);
    }

    #[test]
    fn marks_are_confirmed_when_every_batch_holding_them_is_acknowledged() {
        let run: Arc<str> = Arc::from("run-1");
        let mut confirmations = Confirmations::default();
        let id = confirmations
            .follow(vec![(Arc::clone(&run), 3)], 2)
            .unwrap();
        confirmations.spooled(id, 7);
        confirmations.spooled(id, 8);
        assert_eq!(confirmations.acknowledged(9), None, "not one of them");
        assert_eq!(confirmations.acknowledged(8), None, "one of two");
        let marks = confirmations.acknowledged(7).unwrap();
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].1, 3);
        assert_eq!(confirmations.acknowledged(7), None, "once");
        // Bounded: a flood of marked batches is not followed past the limit.
        for _ in 0..MAX_WAITING {
            assert!(
                confirmations
                    .follow(vec![(Arc::clone(&run), 1)], 1)
                    .is_some()
            );
        }
        assert!(!confirmations.has_room());
        assert_eq!(confirmations.follow(vec![(run, 1)], 1), None);
    }
}
