//! One upload target's loop between its rows, its spool and its requests, sans-IO (issue 23):
//! which closed batches still wait for the spool, when a barrier may be answered, whether
//! rows are taken, how many batches may be put in flight, and when the loop is done. The
//! uploader in `forwarder/src/upload/stage.rs` performs the spool operations and requests it
//! asks for; the rules are tested here without a runtime, a disk or a clock.
//!
//! - Rows are taken only while nothing waits for the spool (a full disk holds them back, and
//!   the listeners feel it) and the spool has room.
//! - A barrier (RELP's acknowledgement, a tailer's checkpoint) is answered once every batch
//!   handed over before it is in the spool; never before.
//! - Batches are appended in the order they were cut; one the spool refuses is retried first.
//! - At most `concurrency` batches are in flight; a batch is in flight from the time it is
//!   handed to a request until that request ends (delivered, or failed and offered again).

use std::collections::VecDeque;

use crate::delivery::ClosedBatch;
use crate::marked::{Confirmations, Marks};

/// The loop's state for one target. `B` is a barrier's answer channel (the shell's type).
#[derive(Debug)]
pub struct Uploading<B> {
    concurrency: usize,
    /// Whether the rows channel is still open.
    open: bool,
    /// Closed batches the spool has not taken yet, in order, each with the confirmation of
    /// the `tern send-test` rows it holds.
    unwritten: VecDeque<(ClosedBatch, Option<u64>)>,
    /// Barriers waiting for every batch before them to be spooled.
    barriers: Vec<B>,
    /// Batches handed to requests that have not ended.
    in_flight: usize,
    confirmations: Confirmations,
}

impl<B> Uploading<B> {
    pub fn new(concurrency: usize) -> Uploading<B> {
        Uploading {
            concurrency: concurrency.max(1),
            open: true,
            unwritten: VecDeque::new(),
            barriers: Vec::new(),
            in_flight: 0,
            confirmations: Confirmations::default(),
        }
    }

    /// Whether there is something to spool, now or waiting in the channel (`rows_waiting`):
    /// only such a target makes room under `drop-oldest`, not one that merely shares the
    /// budget.
    pub fn has_work(&self, rows_waiting: bool) -> bool {
        !self.unwritten.is_empty() || rows_waiting
    }

    /// Whether rows may be taken from the channel now, if the spool has room (the shell asks
    /// the spool only then: each look is a hop to its thread).
    pub fn accepting(&self) -> bool {
        self.open && self.unwritten.is_empty()
    }

    /// Whether marked rows arriving now are followed: then their batch is cut at once.
    pub fn follows_marks(&self) -> bool {
        self.confirmations.has_room()
    }

    /// Batches the batcher closed, in order, holding the rows of `marks` (if any).
    pub fn closed(&mut self, batches: Vec<ClosedBatch>, marks: Marks) {
        let confirmation = self.confirmations.follow(marks, batches.len());
        self.unwritten
            .extend(batches.into_iter().map(|batch| (batch, confirmation)));
    }

    /// A barrier arrived, after every row before it was handed to the batcher (the caller
    /// closes the open batch and hands it to [`Uploading::closed`] before asking what is
    /// answerable).
    pub fn barrier(&mut self, barrier: B) {
        self.barriers.push(barrier);
    }

    /// The rows channel closed: no more rows; the spool is flushed from now on.
    pub fn input_closed(&mut self) {
        self.open = false;
    }

    /// The next batch to append to the spool; give the result to [`Uploading::spooled`].
    pub fn next_to_spool(&mut self) -> Option<(ClosedBatch, Pending)> {
        let (batch, confirmation) = self.unwritten.pop_front()?;
        Some((batch, Pending { confirmation }))
    }

    /// The spool took the batch as `seq`, or refused it (given back: retried first, later).
    /// Returns whether to go on appending.
    pub fn spooled(&mut self, result: Result<u64, ClosedBatch>, pending: Pending) -> bool {
        match result {
            Ok(seq) => {
                if let Some(id) = pending.confirmation {
                    self.confirmations.spooled(id, seq);
                }
                true
            }
            Err(batch) => {
                self.unwritten.push_front((batch, pending.confirmation));
                false
            }
        }
    }

    /// Barriers that may be answered now: all of them once nothing waits for the spool.
    pub fn answerable(&mut self) -> Vec<B> {
        if self.unwritten.is_empty() {
            std::mem::take(&mut self.barriers)
        } else {
            Vec::new()
        }
    }

    /// Whether the spool is flushed after this turn (the input closed: a stop is coming).
    pub fn flushing(&self) -> bool {
        !self.open
    }

    /// How many more batches to take from the spool for requests, given how many it holds
    /// (in flight included): none unless one waits that is not in flight.
    pub fn room(&self, spooled: usize) -> usize {
        if spooled > self.in_flight {
            self.concurrency.saturating_sub(self.in_flight)
        } else {
            0
        }
    }

    /// `count` batches were handed to requests.
    pub fn sending(&mut self, count: usize) {
        self.in_flight += count;
    }

    /// The request for batch `seq` ended with the batch delivered (acknowledge it in the
    /// spool): the `tern send-test` marks whose batches are now all delivered.
    pub fn delivered(&mut self, seq: u64) -> Option<Marks> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.confirmations.acknowledged(seq)
    }

    /// A request ended without an answer for its batch (its task failed): the batch is
    /// offered again (requeue it in the spool).
    pub fn failed(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Whether the loop is over: the input closed, everything spooled, the spool empty and no
    /// request running.
    pub fn done(&self, spool_empty: bool) -> bool {
        !self.open && self.unwritten.is_empty() && spool_empty && self.in_flight == 0
    }
}

/// A batch on its way to the spool: what [`Uploading::spooled`] needs back.
#[derive(Debug)]
pub struct Pending {
    confirmation: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn batch(id: u64) -> ClosedBatch {
        ClosedBatch {
            body: Vec::new(),
            rows: id,
            uncompressed_bytes: 0,
        }
    }

    /// A spool that refuses appends while `full` and numbers what it takes.
    #[derive(Default)]
    struct FakeSpool {
        full: bool,
        next: u64,
        /// (seq, batch id) spooled and not delivered, and those handed to requests.
        held: Vec<(u64, u64)>,
        sending: BTreeSet<u64>,
    }

    impl FakeSpool {
        fn append(&mut self, batch: ClosedBatch) -> Result<u64, ClosedBatch> {
            if self.full {
                return Err(batch);
            }
            self.next += 1;
            self.held.push((self.next, batch.rows));
            Ok(self.next)
        }
    }

    /// One turn of the shell: append what waits, answer barriers, put batches in flight.
    fn turn(up: &mut Uploading<u64>, spool: &mut FakeSpool, answered: &mut Vec<u64>) {
        while let Some((batch, pending)) = up.next_to_spool() {
            if !up.spooled(spool.append(batch), pending) {
                break;
            }
        }
        answered.extend(up.answerable());
        let room = up.room(spool.held.len());
        let free: Vec<u64> = spool
            .held
            .iter()
            .map(|(seq, _)| *seq)
            .filter(|seq| !spool.sending.contains(seq))
            .take(room)
            .collect();
        up.sending(free.len());
        spool.sending.extend(free);
    }

    #[test]
    fn a_barrier_waits_for_a_batch_the_spool_refused() {
        let mut up = Uploading::new(2);
        let mut spool = FakeSpool {
            full: true,
            ..Default::default()
        };
        let mut answered = Vec::new();
        up.closed(vec![batch(1)], Marks::new());
        up.barrier(7);
        turn(&mut up, &mut spool, &mut answered);
        // The disk is full: nothing spooled, the barrier waits, no rows are taken.
        assert!(answered.is_empty());
        assert!(!up.accepting());
        assert!(up.has_work(false));
        spool.full = false;
        turn(&mut up, &mut spool, &mut answered);
        assert_eq!(answered, [7]);
        assert_eq!(spool.held, [(1, 1)]);
        assert!(up.accepting());
    }

    #[test]
    fn at_most_concurrency_batches_are_in_flight() {
        let mut up: Uploading<u64> = Uploading::new(3);
        let mut spool = FakeSpool::default();
        let mut answered = Vec::new();
        up.closed((1..=10).map(batch).collect(), Marks::new());
        turn(&mut up, &mut spool, &mut answered);
        assert_eq!(spool.sending.len(), 3);
        assert_eq!(up.room(spool.held.len()), 0);
        // One delivered (acknowledged and gone from the spool): one more goes out.
        spool.held.retain(|(seq, _)| *seq != 2);
        spool.sending.remove(&2);
        assert_eq!(up.delivered(2), None);
        assert_eq!(up.room(spool.held.len()), 1);
        // One failed: offered again, and room for it.
        spool.sending.remove(&1);
        up.failed();
        assert_eq!(up.room(spool.held.len()), 2);
        // Nothing waiting that is not in flight: no room asked for.
        assert_eq!(up.room(1), 0);
    }

    #[test]
    fn the_loop_ends_only_when_everything_is_delivered() {
        let mut up: Uploading<u64> = Uploading::new(1);
        let mut spool = FakeSpool::default();
        let mut answered = Vec::new();
        up.closed(vec![batch(1)], Marks::new());
        up.input_closed();
        assert!(up.flushing());
        assert!(!up.accepting());
        assert!(!up.done(true), "a batch still waits for the spool");
        turn(&mut up, &mut spool, &mut answered);
        assert!(!up.done(false));
        assert!(!up.done(true), "a request is running");
        spool.held.clear();
        up.delivered(1);
        assert!(up.done(true));
    }

    #[test]
    fn marked_rows_are_confirmed_when_all_their_batches_are_delivered() {
        let mut up: Uploading<u64> = Uploading::new(4);
        let mut spool = FakeSpool::default();
        let mut answered = Vec::new();
        let mut marks = Marks::new();
        crate::marked::add(&mut marks, &std::sync::Arc::from("run-1"));
        assert!(up.follows_marks());
        up.closed(vec![batch(1), batch(2)], marks);
        turn(&mut up, &mut spool, &mut answered);
        assert_eq!(up.delivered(2), None);
        let confirmed = up.delivered(1).unwrap_or_default();
        assert_eq!(confirmed.len(), 1);
    }

    /// One event of a target's life, for the property test below.
    #[derive(Debug, Clone)]
    enum Event {
        /// Rows cut into `n` batches.
        Batches(u8),
        Barrier,
        /// The disk fills or frees.
        Full(bool),
        /// The `n`-th request in flight ends: delivered or failed.
        Delivered(u8),
        Failed(u8),
    }

    fn event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1u8..4).prop_map(Event::Batches),
            2 => Just(Event::Barrier),
            1 => any::<bool>().prop_map(Event::Full),
            3 => any::<u8>().prop_map(Event::Delivered),
            1 => any::<u8>().prop_map(Event::Failed),
        ]
    }

    proptest::proptest! {
        /// Any interleaving of batches, barriers, a filling disk and requests ending: a
        /// barrier is never answered before every batch handed over before it is spooled;
        /// batches are spooled in the order they were cut, each once; never more than
        /// `concurrency` are in flight; and once the input closes and the disk frees,
        /// everything is delivered and the loop ends.
        #[test]
        fn barriers_order_and_concurrency_hold(events in proptest::collection::vec(event(), 1..120)) {
            let concurrency = 3;
            let mut up: Uploading<u64> = Uploading::new(concurrency);
            let mut spool = FakeSpool::default();
            let mut answered = Vec::new();
            let mut next_batch = 0u64;
            // Per barrier: the batches handed over before it.
            let mut barrier_needs: Vec<u64> = Vec::new();
            let mut delivered = BTreeSet::new();
            for event in events {
                match event {
                    Event::Batches(n) => {
                        let batches = (0..n).map(|_| { next_batch += 1; batch(next_batch) }).collect();
                        up.closed(batches, Marks::new());
                    }
                    Event::Barrier => {
                        barrier_needs.push(next_batch);
                        up.barrier((barrier_needs.len() - 1) as u64);
                    }
                    Event::Full(full) => spool.full = full,
                    Event::Delivered(n) | Event::Failed(n) => {
                        let sending: Vec<u64> = spool.sending.iter().copied().collect();
                        if let Some(seq) = sending.get(usize::from(n) % sending.len().max(1)).copied() {
                            spool.sending.remove(&seq);
                            if matches!(event, Event::Delivered(_)) {
                                let at = spool.held.iter().position(|(s, _)| *s == seq);
                                if let Some((_, id)) = at.map(|at| spool.held.remove(at)) {
                                    proptest::prop_assert!(delivered.insert(id), "batch {} twice", id);
                                }
                                up.delivered(seq);
                            } else {
                                up.failed();
                            }
                        }
                    }
                }
                let before = answered.len();
                turn(&mut up, &mut spool, &mut answered);
                proptest::prop_assert!(spool.sending.len() <= concurrency);
                let spooled_ids: Vec<u64> = spool.held.iter().map(|(_, id)| *id).collect();
                let spooled_upto = delivered.iter().chain(spooled_ids.iter()).copied().max().unwrap_or(0);
                for barrier in answered.get(before..).unwrap_or_default() {
                    let needs = barrier_needs.get(*barrier as usize).copied().unwrap_or(u64::MAX);
                    proptest::prop_assert!(spooled_upto >= needs, "barrier {} answered before batch {} was spooled", barrier, needs);
                }
                // Spooled in the order cut: the held ids ascend.
                proptest::prop_assert!(spooled_ids.windows(2).all(|w| w[0] < w[1]));
            }
            // The input closes and the disk frees: everything goes out and the loop ends.
            up.input_closed();
            spool.full = false;
            for _ in 0..10_000 {
                turn(&mut up, &mut spool, &mut answered);
                if up.done(spool.held.is_empty()) {
                    break;
                }
                if let Some(seq) = spool.sending.iter().next().copied() {
                    spool.sending.remove(&seq);
                    let at = spool.held.iter().position(|(s, _)| *s == seq);
                    if let Some((_, id)) = at.map(|at| spool.held.remove(at)) {
                        proptest::prop_assert!(delivered.insert(id));
                    }
                    up.delivered(seq);
                }
            }
            proptest::prop_assert!(up.done(spool.held.is_empty()));
            proptest::prop_assert_eq!(delivered.len() as u64, next_batch);
            proptest::prop_assert_eq!(answered.len(), barrier_needs.len());
        }
    }
}
