//! Putting multi-part messages back together: Cisco ISE (and Secure ACS) split a long event
//! over several syslog messages (`CISE_<category> <id> <total> <index> <payload>`,
//! `tern_parsers::vendor::cisco_ise`). The segments of one event are held until all have
//! arrived, then forwarded as one message whose header is segment 0's and whose payload is the
//! segments' payloads in order, so it is parsed, routed and counted as one event.
//!
//! Only on listeners with `reassemble = true`: anything that can reach a port could otherwise
//! make Tern hold segments. Everything a sender can make it hold is bounded and counted
//! (`tern_reassembly_limit_total{limit}`): an announced part count above [`MAX_PARTS`] is not
//! reassembled at all (the segment passes as an event of its own), parts are stored sparsely
//! (a header announcing 64 parts costs nothing until they come), a group holds at most
//! [`MAX_GROUP_BYTES`] and waits at most [`WINDOW`], a task keeps at most [`MAX_GROUPS`] open,
//! and every byte held, with a per-part and per-group overhead, is charged to the listener's
//! [`Budget`] (all its connections together). A group that cannot complete is forwarded with
//! what it has, in order, and counted in `tern_reassembly_incomplete_total`: nothing is
//! dropped. Groups leave in arrival order, so expiry looks only at the oldest (O(1) each).
//!
//! Windows are checked whenever the task handles a message or flushes, and everything open is
//! forwarded when the task ends (connection closed, shutdown).

use core::net::IpAddr;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tern_parsers::vendor::cisco_ise::Segment;

/// How long the segments of one event may take to arrive; ISE sends them back to back.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Open groups per listener task (connection or UDP socket).
pub const MAX_GROUPS: usize = 1024;
/// Bytes held per group.
pub const MAX_GROUP_BYTES: usize = 256 << 10;
/// The largest part count reassembled. ISE splits at its message size (1 KiB to 8 KiB), so
/// real events come in a few parts; a larger count is an attack or garbage.
pub const MAX_PARTS: u16 = 64;
/// What holding a part or a group costs beyond its bytes (map nodes, vectors, the key).
const PART_OVERHEAD: usize = 64;
const GROUP_OVERHEAD: usize = 256;
/// The default of `[[listen]] reassembly_max_bytes`: bytes held per listener.
pub const DEFAULT_BUDGET_BYTES: usize = 16 << 20;

/// Why the reassembler let go of a group early or did not take a segment, as
/// `tern_reassembly_limit_total{limit}` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// More parts announced than [`MAX_PARTS`]: passed through unassembled.
    Parts,
    /// A group grew past [`MAX_GROUP_BYTES`].
    GroupBytes,
    /// The task had [`MAX_GROUPS`] open: its oldest was pushed out.
    Groups,
    /// The listener's byte budget was used up: this task's oldest groups were pushed out, or
    /// the segment passed through unassembled.
    Budget,
}

impl Limit {
    pub const ALL: [Limit; 4] = [
        Limit::Parts,
        Limit::GroupBytes,
        Limit::Groups,
        Limit::Budget,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Limit::Parts => "parts",
            Limit::GroupBytes => "group_bytes",
            Limit::Groups => "groups",
            Limit::Budget => "budget",
        }
    }
}

/// The bytes all reassemblers of one listener may hold together.
#[derive(Debug)]
pub struct Budget {
    max: usize,
    used: AtomicUsize,
}

impl Budget {
    pub fn new(max: usize) -> Arc<Budget> {
        Arc::new(Budget {
            max,
            used: AtomicUsize::new(0),
        })
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `bytes` if they fit.
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.max)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    sender: Option<IpAddr>,
    /// The TAG (`CISE_Passed_Authentications`) and the message id. Not the PRI or timestamp:
    /// ISE does not keep those equal across segments.
    tag: String,
    message_id: String,
}

struct Group {
    first_seen: Instant,
    /// Which entry of the arrival queue is this group's (a key reused after its group left
    /// gets a new one; the old entry is then stale and skipped).
    serial: u64,
    sender: Option<IpAddr>,
    /// A segment's message up to its segment header (PRI, timestamp, host, TAG): segment 0's
    /// once it has arrived, else the first one seen.
    head: Vec<u8>,
    has_first: bool,
    message_id: String,
    total: u16,
    /// Payloads by index: only those that came.
    parts: BTreeMap<u16, Vec<u8>>,
    /// Bytes charged to the budget for this group.
    charged: usize,
    /// Bytes of head and payloads (what the message will hold).
    bytes: usize,
}

impl Group {
    fn complete(&self) -> bool {
        self.has_first && self.parts.len() == usize::from(self.total)
    }

    /// The whole message: segment 0's head, a header saying "1 of 1", then every payload
    /// present, in order.
    fn into_message(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes + 32);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(self.message_id.as_bytes());
        out.extend_from_slice(b" 1 0 ");
        for part in self.parts.into_values() {
            out.extend_from_slice(&part);
        }
        out
    }
}

/// A message ready to be parsed, and whether segments were missing.
#[derive(Debug, PartialEq, Eq)]
pub struct Whole {
    pub message: Vec<u8>,
    pub complete: bool,
    /// Who sent the segments.
    pub sender: Option<IpAddr>,
    /// The limit that made it leave early, if one did.
    pub limit: Option<Limit>,
}

/// What [`Reassembler::add`] did with a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// Held (or completed, with the rest): `ready` are the messages to forward now (this
    /// group when complete, and any group it pushed out).
    Held { ready: Vec<Whole> },
    /// Not taken: the caller handles the segment as an event of its own. `ready` as above.
    PassThrough { limit: Limit, ready: Vec<Whole> },
}

/// Open groups of one listener task.
pub struct Reassembler {
    groups: HashMap<Key, Group>,
    /// Keys in the order their groups were opened, with the group's serial.
    arrivals: VecDeque<(Key, u64)>,
    next_serial: u64,
    budget: Arc<Budget>,
}

impl Reassembler {
    pub fn new(budget: Arc<Budget>) -> Reassembler {
        Reassembler {
            groups: HashMap::new(),
            arrivals: VecDeque::new(),
            next_serial: 0,
            budget,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Bytes the listener's reassemblers hold together.
    pub fn budget_used(&self) -> usize {
        self.budget.used()
    }

    /// Takes one segment: `message` is the whole syslog message, `header_at` where the segment
    /// header starts in it.
    pub fn add(
        &mut self,
        sender: Option<IpAddr>,
        tag: &str,
        segment: &Segment<'_>,
        message: &[u8],
        header_at: usize,
        now: Instant,
    ) -> Added {
        let mut ready = self.expire(Some(now));
        if segment.total > MAX_PARTS {
            return Added::PassThrough {
                limit: Limit::Parts,
                ready,
            };
        }
        let head = message.get(..header_at).unwrap_or_default();
        let payload = message
            .get(header_at + segment.header_len..)
            .unwrap_or_default();
        let key = Key {
            sender,
            tag: tag.to_owned(),
            message_id: segment.message_id.to_owned(),
        };
        // A repeated index or a different total: an unrelated event under a reused id.
        let clash = self
            .groups
            .get(&key)
            .is_some_and(|g| g.total != segment.total || g.parts.contains_key(&segment.index));
        if clash {
            if let Some(old) = self.remove(&key) {
                ready.push(incomplete(old, None));
            }
        }
        let opening = !self.groups.contains_key(&key);
        if opening && self.groups.len() >= MAX_GROUPS {
            if let Some(old) = self.pop_oldest() {
                ready.push(incomplete(old, Some(Limit::Groups)));
            }
        }
        let cost = payload.len()
            + PART_OVERHEAD
            + if opening {
                head.len() + GROUP_OVERHEAD + 2 * key.tag.len() + 2 * key.message_id.len()
            } else if segment.index == 0 {
                // Segment 0's head replaces the one kept: its growth is held too.
                self.groups
                    .get(&key)
                    .map_or(head.len(), |g| head.len().saturating_sub(g.head.len()))
            } else {
                0
            };
        // Room in the listener's budget: push out this task's own oldest groups (never
        // another connection's), else pass the segment through.
        while !self.budget.try_take(cost) {
            // (A stale front entry for a reused key is not this group.)
            let oldest_is_this = self.arrivals.front().is_some_and(|(k, serial)| {
                *k == key && self.groups.get(&key).is_some_and(|g| g.serial == *serial)
            });
            if oldest_is_this || self.groups.is_empty() {
                let limit = Limit::Budget;
                if let Some(old) = self.remove(&key) {
                    ready.push(incomplete(old, Some(limit)));
                }
                return Added::PassThrough { limit, ready };
            }
            match self.pop_oldest() {
                Some(old) => ready.push(incomplete(old, Some(Limit::Budget))),
                None => {
                    return Added::PassThrough {
                        limit: Limit::Budget,
                        ready,
                    };
                }
            }
        }
        if opening {
            let serial = self.next_serial;
            self.next_serial += 1;
            self.arrivals.push_back((key.clone(), serial));
            self.groups.insert(
                key.clone(),
                Group {
                    first_seen: now,
                    serial,
                    sender,
                    head: head.to_vec(),
                    has_first: false,
                    message_id: segment.message_id.to_owned(),
                    total: segment.total,
                    parts: BTreeMap::new(),
                    charged: 0,
                    bytes: head.len(),
                },
            );
        }
        let Some(group) = self.groups.get_mut(&key) else {
            // Inserted just above when missing.
            self.budget.give_back(cost);
            return Added::PassThrough {
                limit: Limit::Budget,
                ready,
            };
        };
        group.charged += cost;
        if segment.index == 0 {
            group.bytes = group.bytes - group.head.len() + head.len();
            group.head = head.to_vec();
            group.has_first = true;
        }
        group.parts.insert(segment.index, payload.to_vec());
        group.bytes += payload.len();
        let done = group.complete();
        let too_big = group.bytes > MAX_GROUP_BYTES;
        if done || too_big {
            if let Some(group) = self.remove(&key) {
                let limit = (!done).then_some(Limit::GroupBytes);
                ready.push(incomplete(group, limit));
            }
        }
        Added::Held { ready }
    }

    /// Forwards the groups whose window has passed (or all of them, with `now` = `None`), oldest
    /// first.
    pub fn expire(&mut self, now: Option<Instant>) -> Vec<Whole> {
        let mut out = Vec::new();
        while let Some((key, serial)) = self.arrivals.front() {
            let Some(group) = self.groups.get(key).filter(|g| g.serial == *serial) else {
                // Its group already left.
                self.arrivals.pop_front();
                continue;
            };
            if now.is_some_and(|now| now.duration_since(group.first_seen) < WINDOW) {
                break;
            }
            if let Some(old) = self.pop_oldest() {
                out.push(incomplete(old, None));
            }
        }
        out
    }

    /// Removes the oldest open group.
    fn pop_oldest(&mut self) -> Option<Group> {
        while let Some((key, serial)) = self.arrivals.pop_front() {
            if self.groups.get(&key).is_some_and(|g| g.serial == serial) {
                let group = self.groups.remove(&key)?;
                self.budget.give_back(group.charged);
                return Some(group);
            }
        }
        None
    }

    /// Removes a group (its arrival entry goes stale and is skipped later).
    fn remove(&mut self, key: &Key) -> Option<Group> {
        let group = self.groups.remove(key)?;
        self.budget.give_back(group.charged);
        // Groups completed behind an old one leave stale entries; a sender completing groups
        // fast behind one that waits out its window must not grow the queue without bound.
        if self.arrivals.len() > 2 * self.groups.len() + 64 {
            let groups = &self.groups;
            self.arrivals
                .retain(|(k, serial)| groups.get(k).is_some_and(|g| g.serial == *serial));
        }
        Some(group)
    }
}

impl Drop for Reassembler {
    fn drop(&mut self) {
        // What a task still held goes back to the listener (normally it flushed first).
        let held: usize = self.groups.values().map(|g| g.charged).sum();
        self.budget.give_back(held);
    }
}

/// A group forwarded, complete or not (without segment 0: under the header of the first
/// segment that came).
fn incomplete(group: Group, limit: Option<Limit>) -> Whole {
    Whole {
        complete: group.complete(),
        sender: group.sender,
        limit,
        message: group.into_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_parsers::vendor::cisco_ise::parse_segment;

    const TAG: &str = "CISE_Passed_Authentications";

    fn reassembler() -> Reassembler {
        Reassembler::new(Budget::new(DEFAULT_BUDGET_BYTES))
    }

    fn add(r: &mut Reassembler, line: &str, now: Instant) -> Vec<Whole> {
        match add_segment(r, line, now) {
            Added::Held { ready } => ready,
            Added::PassThrough { limit, .. } => panic!("passed through: {limit:?}"),
        }
    }

    fn add_segment(r: &mut Reassembler, line: &str, now: Instant) -> Added {
        let at = line.find(TAG).unwrap() + TAG.len() + 1;
        let segment = parse_segment(&line.as_bytes()[at..]).unwrap();
        r.add(None, TAG, &segment, line.as_bytes(), at, now)
    }

    #[test]
    fn segments_in_any_order_make_one_message() {
        let mut r = reassembler();
        let now = Instant::now();
        assert!(
            add(
                &mut r,
                "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000042 3 2  c=3,",
                now
            )
            .is_empty()
        );
        assert!(add(&mut r, "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000042 3 0 2019-04-24 15:00:48.610 +00:00 0042009748 5200 NOTICE Passed-Authentication: a=1,", now).is_empty());
        let out = add(
            &mut r,
            "<111>Apr 24 15:00:49 ise CISE_Passed_Authentications 0000000042 3 1  b=2,",
            now,
        );
        assert_eq!(
            out,
            vec![Whole {
                message: b"<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000042 1 0 2019-04-24 15:00:48.610 +00:00 0042009748 5200 NOTICE Passed-Authentication: a=1, b=2, c=3,".to_vec(),
                complete: true,
                sender: None,
                limit: None,
            }]
        );
        assert!(r.is_empty());
    }

    #[test]
    fn incomplete_groups_leave_after_the_window_or_at_the_end() {
        let mut r = reassembler();
        let t0 = Instant::now();
        add(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000043 3 0 head a=1,",
            t0,
        );
        add(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000043 3 1  b=2,",
            t0,
        );
        assert!(r.expire(Some(t0 + WINDOW / 2)).is_empty());
        let out = r.expire(Some(t0 + WINDOW));
        assert_eq!(out.len(), 1);
        assert!(!out[0].complete);
        assert_eq!(
            out[0].message,
            b"<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000043 1 0 head a=1, b=2,"
                .to_vec()
        );
        add(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000044 2 1  z=9,",
            t0,
        );
        let out = r.expire(None);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            b"<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000044 1 0  z=9,".to_vec()
        );
    }

    #[test]
    fn a_reused_id_pushes_the_old_group_out() {
        let mut r = reassembler();
        let t0 = Instant::now();
        add(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000001 2 0 first a=1,",
            t0,
        );
        let out = add(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000001 2 0 second a=1,",
            t0,
        );
        assert_eq!(out.len(), 1);
        assert!(!out[0].complete);
        assert!(String::from_utf8_lossy(&out[0].message).contains("first"));
        assert!(!r.is_empty());
    }

    #[test]
    fn a_huge_announced_part_count_passes_through_and_holds_nothing() {
        let budget = Budget::new(DEFAULT_BUDGET_BYTES);
        let mut r = Reassembler::new(Arc::clone(&budget));
        let out = add_segment(
            &mut r,
            "<165>Apr 24 15:00:48 ise CISE_Passed_Authentications 0000000045 9999 0 head a=1,",
            Instant::now(),
        );
        assert_eq!(
            out,
            Added::PassThrough {
                limit: Limit::Parts,
                ready: Vec::new()
            }
        );
        assert!(r.is_empty());
        assert_eq!(budget.used(), 0);
    }

    /// Two connections of one listener share its budget: neither can hold more than it, a
    /// connection over it gives up its own oldest groups (never the other's), and everything
    /// charged comes back when the groups leave.
    #[test]
    fn the_listener_budget_bounds_every_connection_together() {
        let max = 64 << 10;
        let budget = Budget::new(max);
        let mut first = Reassembler::new(Arc::clone(&budget));
        let mut second = Reassembler::new(Arc::clone(&budget));
        let t0 = Instant::now();
        let payload = "x".repeat(1000);
        let segment =
            |id: usize| format!("<165>Apr 24 15:00:48 ise {TAG} {id:010} 64 1  {payload}");
        // The second connection holds a few groups first.
        for id in 0..10 {
            add(&mut second, &segment(id), t0);
        }
        let second_holds = budget.used();
        let mut pushed_out = 0;
        let mut passed = 0;
        for id in 100..1100 {
            match add_segment(&mut first, &segment(id), t0) {
                Added::Held { ready } => {
                    assert!(ready.iter().all(|w| w.limit == Some(Limit::Budget)));
                    pushed_out += ready.len();
                }
                Added::PassThrough { limit, .. } => {
                    assert_eq!(limit, Limit::Budget);
                    passed += 1;
                }
            }
            assert!(budget.used() <= max, "{} > {max}", budget.used());
        }
        assert!(pushed_out > 900, "{pushed_out} pushed out, {passed} passed");
        assert_eq!(
            second.groups.len(),
            10,
            "the other connection's groups stay"
        );
        assert!(first.arrivals.len() <= 2 * first.groups.len() + 64);
        let held_by_first = budget.used() - second_holds;
        assert!(held_by_first > 0);
        let open = first.groups.len();
        assert_eq!(first.expire(None).len(), open);
        assert_eq!(budget.used(), second_holds);
        second.expire(None);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_full_task_pushes_out_its_oldest_group() {
        let mut r = reassembler();
        let t0 = Instant::now();
        for id in 0..MAX_GROUPS {
            let at = t0 + Duration::from_millis(id as u64);
            add(
                &mut r,
                &format!("<165>Apr 24 15:00:48 ise {TAG} {id:010} 2 1  p={id},"),
                at,
            );
        }
        let out = add(
            &mut r,
            &format!(
                "<165>Apr 24 15:00:48 ise {TAG} {:010} 2 1  last,",
                MAX_GROUPS
            ),
            t0 + Duration::from_secs(1),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].limit, Some(Limit::Groups));
        assert!(String::from_utf8_lossy(&out[0].message).contains(" p=0,"));
    }

    /// Groups completed behind one that waits out its window leave no queue behind them.
    #[test]
    fn completed_groups_do_not_pile_up_behind_a_waiting_one() {
        let mut r = reassembler();
        let t0 = Instant::now();
        add(
            &mut r,
            &format!("<165>Apr 24 15:00:48 ise {TAG} 0000000001 2 1  waits,"),
            t0,
        );
        for id in 2..10_000 {
            add(
                &mut r,
                &format!("<165>Apr 24 15:00:48 ise {TAG} {id:010} 2 0 h a,"),
                t0,
            );
            let out = add(
                &mut r,
                &format!("<165>Apr 24 15:00:48 ise {TAG} {id:010} 2 1  b,"),
                t0,
            );
            assert_eq!(out.len(), 1);
            assert!(out[0].complete);
        }
        assert_eq!(r.groups.len(), 1);
        assert!(r.arrivals.len() <= 2 * r.groups.len() + 64 + 1);
    }

    /// Segment 0's header, arriving after the group opened, is charged too: a large header
    /// cannot be held for free.
    #[test]
    fn a_late_large_first_segment_is_charged_to_the_budget() {
        let max = 16 << 10;
        let budget = Budget::new(max);
        let mut r = Reassembler::new(Arc::clone(&budget));
        let t0 = Instant::now();
        let big_head = "x".repeat(12 << 10);
        for id in 0..4u32 {
            add(
                &mut r,
                &format!("<165>Apr 24 15:00:48 ise {TAG} {id:010} 3 1  b,"),
                t0,
            );
            let _ = add_segment(
                &mut r,
                &format!("<165>Apr 24 15:00:48 {big_head} {TAG} {id:010} 3 0 h a,"),
                t0,
            );
            assert!(budget.used() <= max, "{} > {max}", budget.used());
        }
        let held: usize = r.groups.values().map(|g| g.head.len()).sum();
        assert!(held <= max, "{held} bytes of heads held");
    }
}
