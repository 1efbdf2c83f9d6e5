//! The delivery rules of one batch, sans-IO: given each request's outcome, what to do next
//! and how long to wait (issue 23). [`super::sender`] performs the requests and the waits;
//! the rules are tested here with no clock and no network.
//!
//! - 2xx: delivered.
//! - 400 or 413: the batch is split in halves, each delivered on its own; a single row the
//!   service refuses is quarantined (dead-letter file), never retried for ever.
//! - 401: the token is dropped and a new one requested; the first retry is immediate, then
//!   the backoff.
//! - 403 or 404: only an operator fixes the role or the DCR: the batch waits
//!   `configuration_wait` and tries again (it is kept, never dropped).
//! - 429, 5xx, any other status, no answer, no token: retried after `Retry-After` if the
//!   service gave one (at most [`MAX_RETRY_AFTER`]), else after an exponential backoff from
//!   `base` doubled per failure up to `cap`, times a jitter factor in [0.5, 1).

use std::time::Duration;

/// Backoff bounds (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// For 403/404, which only an operator fixes.
    pub configuration_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            configuration_wait: Duration::from_secs(120),
        }
    }
}

/// The longest `Retry-After` honoured: a reply asking for days would hold the batch (and
/// with `block`, every sender) that long. Azure asks for seconds.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A closed batch: the gzip body of a JSON array of rows, ready to post (or to spool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedBatch {
    /// gzip-compressed JSON array.
    pub body: Vec<u8>,
    pub rows: u64,
    /// Size of the JSON array before compression (always ≤ the limit).
    pub uncompressed_bytes: usize,
}

/// What a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered this status, with the `Retry-After` it gave.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer (reset, timeout, refused) or no token.
    NoAnswer,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Delivered,
    /// Deliver the two halves of the batch instead.
    Split,
    /// Write the single refused row to the dead-letter file.
    Quarantine,
    /// Drop the cached token, wait, and send again.
    NewToken {
        wait: Duration,
    },
    /// Wait and send again.
    Retry {
        wait: Duration,
    },
    /// The target is misconfigured (403/404): wait long, and send again.
    HoldForOperator {
        wait: Duration,
    },
}

impl Action {
    /// Whether this action repeats the request (a retry, counted).
    pub fn is_retry(self) -> bool {
        matches!(
            self,
            Action::NewToken { .. } | Action::Retry { .. } | Action::HoldForOperator { .. }
        )
    }
}

/// One batch's delivery: the failures so far.
#[derive(Debug, Clone)]
pub struct Delivery {
    policy: RetryPolicy,
    failures: u32,
}

impl Delivery {
    pub fn new(policy: RetryPolicy) -> Delivery {
        Delivery {
            policy,
            failures: 0,
        }
    }

    /// The next action after `outcome`; `rows` is the number of rows the request carried,
    /// `jitter` a factor in [0.5, 1) (the caller's randomness, fixed in tests).
    pub fn next(&mut self, outcome: Outcome, rows: u64, jitter: f64) -> Action {
        let (status, retry_after) = match outcome {
            Outcome::Answered {
                status,
                retry_after,
            } => (Some(status), retry_after),
            Outcome::NoAnswer => (None, None),
        };
        let action = match status {
            Some(200..=299) => Action::Delivered,
            Some(400 | 413) if rows > 1 => Action::Split,
            Some(400 | 413) => Action::Quarantine,
            Some(401) => Action::NewToken {
                wait: if self.failures == 0 {
                    Duration::ZERO
                } else {
                    self.backoff(jitter)
                },
            },
            Some(403 | 404) => Action::HoldForOperator {
                wait: self.policy.configuration_wait,
            },
            _ => Action::Retry {
                wait: match retry_after {
                    Some(wait) if !wait.is_zero() => wait.min(MAX_RETRY_AFTER),
                    _ => self.backoff(jitter),
                },
            },
        };
        // A split starts each half afresh; a failure makes the next backoff longer.
        match action {
            Action::Delivered | Action::Split | Action::Quarantine => self.failures = 0,
            _ => self.failures = self.failures.saturating_add(1),
        }
        action
    }

    /// `base` doubled per failure so far, at most `cap`, times `jitter`.
    fn backoff(&self, jitter: f64) -> Duration {
        let exponential = self
            .policy
            .base
            .saturating_mul(1u32 << self.failures.min(16));
        exponential
            .min(self.policy.cap)
            .mul_f64(jitter.clamp(0.5, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            configuration_wait: Duration::from_secs(120),
        }
    }

    fn answered(status: u16) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn a_storm_of_503_backs_off_exponentially_to_the_cap_then_recovers() {
        let mut delivery = Delivery::new(policy());
        let waits: Vec<Duration> = (0..10)
            .map(|_| match delivery.next(answered(503), 100, 1.0) {
                Action::Retry { wait } => wait,
                other => panic!("{other:?}"),
            })
            .collect();
        let seconds: Vec<f64> = waits.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(
            seconds,
            [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
        );
        assert_eq!(delivery.next(answered(200), 100, 1.0), Action::Delivered);
        // After the recovery the next failure starts from the base again.
        assert_eq!(
            delivery.next(Outcome::NoAnswer, 100, 0.5),
            Action::Retry {
                wait: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let mut delivery = Delivery::new(policy());
        let with = |seconds| Outcome::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(seconds)),
        };
        assert_eq!(
            delivery.next(with(7), 10, 1.0),
            Action::Retry {
                wait: Duration::from_secs(7)
            }
        );
        assert_eq!(
            delivery.next(with(86_400), 10, 1.0),
            Action::Retry {
                wait: MAX_RETRY_AFTER
            }
        );
        // `Retry-After: 0` is no instruction: the backoff applies (the third failure).
        assert_eq!(
            delivery.next(with(0), 10, 1.0),
            Action::Retry {
                wait: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn an_expired_token_is_replaced_at_once_then_with_backoff() {
        let mut delivery = Delivery::new(policy());
        assert_eq!(
            delivery.next(answered(401), 10, 1.0),
            Action::NewToken {
                wait: Duration::ZERO
            }
        );
        assert_eq!(
            delivery.next(answered(401), 10, 1.0),
            Action::NewToken {
                wait: Duration::from_secs(1)
            }
        );
        assert_eq!(delivery.next(answered(204), 10, 1.0), Action::Delivered);
    }

    #[test]
    fn refused_rows_are_split_down_to_one_then_quarantined() {
        let mut delivery = Delivery::new(policy());
        assert_eq!(delivery.next(answered(413), 2, 1.0), Action::Split);
        assert_eq!(delivery.next(answered(400), 1, 1.0), Action::Quarantine);
        assert!(!Action::Quarantine.is_retry());
    }

    #[test]
    fn a_missing_role_or_stream_holds_the_batch_for_the_operator() {
        let mut delivery = Delivery::new(policy());
        for status in [403, 404] {
            let action = delivery.next(answered(status), 10, 1.0);
            assert_eq!(
                action,
                Action::HoldForOperator {
                    wait: Duration::from_secs(120)
                }
            );
            assert!(action.is_retry());
        }
    }
}
