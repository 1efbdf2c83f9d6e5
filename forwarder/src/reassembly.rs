//! Putting multi-part messages back together: Cisco ISE (and Secure ACS) split a long event
//! over several syslog messages (`CISE_<category> <id> <total> <index> <payload>`,
//! `tern_parsers::vendor::cisco_ise`). The segments of one event are held until all have
//! arrived, then forwarded as one message whose header is segment 0's and whose payload is the
//! segments' payloads in order, so it is parsed, routed and counted as one event.
//!
//! Bounded: a group waits at most [`WINDOW`] after its first segment, holds at most
//! [`MAX_GROUP_BYTES`], and a listener task keeps at most [`MAX_GROUPS`] open. A group that
//! cannot complete (window passed, connection closed, a bound hit, or a segment index seen twice,
//! which an ISE restart causes) is forwarded with what it has, in order, and counted in
//! `tern_reassembly_incomplete_total`: nothing is dropped.
//!
//! Windows are checked whenever the task handles a message or flushes, and everything open is
//! forwarded when the task ends (connection closed, shutdown).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tern_parsers::vendor::cisco_ise::Segment;

/// How long the segments of one event may take to arrive; ISE sends them back to back.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Open groups per listener task.
pub const MAX_GROUPS: usize = 4096;
/// Bytes held per group.
pub const MAX_GROUP_BYTES: usize = 1 << 20;

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
    sender: Option<IpAddr>,
    /// A segment's message up to its segment header (PRI, timestamp, host, TAG): segment 0's
    /// once it has arrived, else the first one seen.
    head: Vec<u8>,
    has_first: bool,
    message_id: String,
    /// Payloads by index.
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

impl Group {
    fn complete(&self) -> bool {
        self.has_first && self.parts.iter().all(Option::is_some)
    }

    /// The whole message: segment 0's head, a header saying "1 of 1", then every payload
    /// present, in order.
    fn into_message(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes + 32);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(self.message_id.as_bytes());
        out.extend_from_slice(b" 1 0 ");
        for part in self.parts.into_iter().flatten() {
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
}

/// Open groups of one listener task.
#[derive(Default)]
pub struct Reassembler {
    groups: HashMap<Key, Group>,
}

impl Reassembler {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Takes one segment: `message` is the whole syslog message, `payload_at` where the
    /// segment header starts in it. Returns the messages now ready (this group when complete,
    /// and any group it pushed out).
    pub fn add(
        &mut self,
        sender: Option<IpAddr>,
        tag: &str,
        segment: &Segment<'_>,
        message: &[u8],
        header_at: usize,
        now: Instant,
    ) -> Vec<Whole> {
        let mut ready = Vec::new();
        let head = message.get(..header_at).unwrap_or_default();
        let payload = message
            .get(header_at + segment.header_len..)
            .unwrap_or_default();
        let key = Key {
            sender,
            tag: tag.to_owned(),
            message_id: segment.message_id.to_owned(),
        };
        let index = usize::from(segment.index);
        // A repeated index or a different total: an unrelated event under a reused id.
        let clash = self.groups.get(&key).is_some_and(|g| {
            g.parts.len() != usize::from(segment.total)
                || g.parts.get(index).is_some_and(Option::is_some)
        });
        if clash {
            if let Some(old) = self.groups.remove(&key) {
                ready.push(incomplete(old));
            }
        }
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            if let Some(oldest) = self
                .groups
                .iter()
                .min_by_key(|(_, g)| g.first_seen)
                .map(|(k, _)| k.clone())
            {
                if let Some(old) = self.groups.remove(&oldest) {
                    ready.push(incomplete(old));
                }
            }
        }
        let group = self.groups.entry(key.clone()).or_insert_with(|| Group {
            first_seen: now,
            sender,
            head: head.to_vec(),
            has_first: false,
            message_id: segment.message_id.to_owned(),
            parts: vec![None; usize::from(segment.total)],
            bytes: head.len(),
        });
        if index == 0 {
            group.head = head.to_vec();
            group.has_first = true;
        }
        if let Some(slot) = group.parts.get_mut(index) {
            *slot = Some(payload.to_vec());
            group.bytes += payload.len();
        }
        let done = group.complete();
        let too_big = group.bytes > MAX_GROUP_BYTES;
        if done || too_big {
            if let Some(group) = self.groups.remove(&key) {
                ready.push(Whole {
                    complete: done,
                    sender: group.sender,
                    message: group.into_message(),
                });
            }
        }
        ready
    }

    /// Forwards the groups whose window has passed (or all of them, with `now` = `None`).
    pub fn expire(&mut self, now: Option<Instant>) -> Vec<Whole> {
        if self.groups.is_empty() {
            return Vec::new();
        }
        let expired: Vec<Key> = self
            .groups
            .iter()
            .filter(|(_, g)| now.is_none_or(|now| now.duration_since(g.first_seen) >= WINDOW))
            .map(|(k, _)| k.clone())
            .collect();
        let mut groups: Vec<Group> = expired
            .iter()
            .filter_map(|k| self.groups.remove(k))
            .collect();
        groups.sort_by_key(|g| g.first_seen);
        groups.into_iter().map(incomplete).collect()
    }
}

/// A group forwarded before it completed (without segment 0, under the header of the first
/// segment that came).
fn incomplete(group: Group) -> Whole {
    Whole {
        complete: group.complete(),
        sender: group.sender,
        message: group.into_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_parsers::vendor::cisco_ise::parse_segment;

    const TAG: &str = "CISE_Passed_Authentications";

    fn add(r: &mut Reassembler, line: &str, now: Instant) -> Vec<Whole> {
        let at = line.find(TAG).unwrap() + TAG.len() + 1;
        let segment = parse_segment(&line.as_bytes()[at..]).unwrap();
        r.add(None, TAG, &segment, line.as_bytes(), at, now)
    }

    #[test]
    fn segments_in_any_order_make_one_message() {
        let mut r = Reassembler::default();
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
            }]
        );
        assert!(r.is_empty());
    }

    #[test]
    fn incomplete_groups_leave_after_the_window_or_at_the_end() {
        let mut r = Reassembler::default();
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
        let mut r = Reassembler::default();
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
}
