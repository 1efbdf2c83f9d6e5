//! What one stream listener's senders may take together: connections per source, and the
//! bytes of all connections' read buffers. Both are shared by the listener's connection
//! tasks; a connection over its source's quota is closed at once, and one that needs buffer
//! room the listener does not have waits (is not read) until another gives some back, so a
//! flood of connections pauses rather than grows memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The unit a connection quota counts: an IPv4 address, or an IPv6 /64 (what one host or site
/// is usually given: per /128, one machine would have unlimited addresses).
pub fn source_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Open connections per source.
#[derive(Default)]
pub struct Sources {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its source's quota; given back when dropped.
pub struct SourceSlot {
    sources: Arc<Sources>,
    source: IpAddr,
}

impl Sources {
    /// A place for a connection from `address`, if its source has fewer than `max` open.
    pub fn take(self: &Arc<Self>, address: IpAddr, max: usize) -> Option<SourceSlot> {
        let source = source_of(address);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(source).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            sources: Arc::clone(self),
            source,
        })
    }

    #[cfg(test)]
    fn open(&self, address: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&source_of(address)).copied().unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self
            .sources
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                // Sources come and go: the map holds only those with connections open.
                open.remove(&self.source);
            }
        }
    }
}

/// The bytes all of a listener's connection buffers may take.
pub struct BufferBudget {
    bytes: Arc<Semaphore>,
    total: usize,
    in_use: Gauge,
    waits: Counter,
}

impl BufferBudget {
    pub fn new(total: usize, in_use: Gauge, waits: Counter) -> Arc<BufferBudget> {
        let total = total.min(Semaphore::MAX_PERMITS);
        Arc::new(BufferBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            in_use,
            waits,
        })
    }
}

/// The buffer bytes one connection holds.
pub struct BufferHold {
    budget: Arc<BufferBudget>,
    permit: Option<OwnedSemaphorePermit>,
    held: usize,
}

impl BufferHold {
    pub fn new(budget: Arc<BufferBudget>) -> BufferHold {
        BufferHold {
            budget,
            permit: None,
            held: 0,
        }
    }

    /// Makes sure the connection holds `capacity` bytes, waiting for room if the listener has
    /// none (the connection is paused meanwhile). A request beyond the whole budget (which
    /// configuration prevents) is capped at it, so it can never wait forever.
    pub async fn hold(&mut self, capacity: usize) {
        let capacity = capacity.min(self.budget.total);
        if capacity <= self.held {
            return;
        }
        let more = capacity - self.held;
        let Ok(more_u32) = u32::try_from(more) else {
            return;
        };
        let semaphore = Arc::clone(&self.budget.bytes);
        let permit = match Arc::clone(&semaphore).try_acquire_many_owned(more_u32) {
            Ok(permit) => permit,
            Err(_) => {
                self.budget.waits.inc();
                match semaphore.acquire_many_owned(more_u32).await {
                    Ok(permit) => permit,
                    // Closed: never happens (the semaphore is never closed).
                    Err(_) => return,
                }
            }
        };
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.held = capacity;
        self.budget
            .in_use
            .inc_by(i64::try_from(more).unwrap_or(i64::MAX));
    }

    /// Gives back what is above `capacity` (after a large frame, the buffer shrinks).
    pub fn release_to(&mut self, capacity: usize) {
        if capacity >= self.held {
            return;
        }
        let less = self.held - capacity;
        if let Some(permit) = &mut self.permit {
            if let Some(given_back) = permit.split(less) {
                drop(given_back);
                self.held = capacity;
                self.budget
                    .in_use
                    .dec_by(i64::try_from(less).unwrap_or(i64::MAX));
            }
        }
    }
}

impl Drop for BufferHold {
    fn drop(&mut self) {
        self.budget
            .in_use
            .dec_by(i64::try_from(self.held).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_quota_and_no_more_and_others_still_get_in() {
        let sources = Arc::new(Sources::default());
        let attacker: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let other: IpAddr = "192.0.2.8".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let slots: Vec<SourceSlot> = (0..3).filter_map(|_| sources.take(attacker, 3)).collect();
        assert_eq!(slots.len(), 3);
        assert!(sources.take(attacker, 3).is_none());
        assert!(sources.take(other, 3).is_some());
        drop(slots);
        assert_eq!(sources.open(attacker), 0);
        assert!(sources.take(attacker, 3).is_some());
    }

    #[test]
    fn ipv6_sources_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let sources = Arc::new(Sources::default());
        let a: IpAddr = "2001:db8:1:2::1"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let elsewhere: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let _first = sources.take(a, 1);
        assert!(sources.take(b, 1).is_none(), "the same /64");
        assert!(sources.take(elsewhere, 1).is_some());
        let mapped: IpAddr = "::ffff:192.0.2.1"
            .parse()
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(source_of(mapped), IpAddr::from([192, 0, 2, 1]));
    }

    #[tokio::test]
    async fn buffers_wait_for_room_and_get_it_when_another_gives_back() {
        let (gauge, waits) = (Gauge::default(), Counter::default());
        let budget = BufferBudget::new(100, gauge.clone(), waits.clone());
        let mut first = BufferHold::new(Arc::clone(&budget));
        first.hold(80).await;
        assert_eq!(gauge.get(), 80);
        let mut second = BufferHold::new(Arc::clone(&budget));
        let waiting = tokio::spawn(async move {
            second.hold(50).await;
            second
        });
        // The second cannot get 50 of the 20 left; it waits, counted.
        while waits.get() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished());
        first.release_to(30);
        let second = waiting.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gauge.get(), 80);
        drop(first);
        drop(second);
        assert_eq!(gauge.get(), 0);
        // A request beyond the whole budget is capped, never stuck.
        let mut greedy = BufferHold::new(budget);
        greedy.hold(1_000).await;
        assert_eq!(gauge.get(), 100);
    }
}
