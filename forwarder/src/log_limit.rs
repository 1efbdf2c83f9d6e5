//! Rate limiting for per-event log lines: a flood of bad messages must not turn into a flood
//! of logs. The counters in `/metrics` count every event; the log shows the first few per
//! interval and then how many were suppressed. Each call site of [`warn_limited!`] has its own
//! limiter, so a flood of one kind of warning cannot hide another.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `burst` log lines per `interval`; reports how many were held back.
pub struct LogLimit {
    burst: u32,
    interval: Duration,
    state: Mutex<(Instant, u32, u64)>,
}

impl LogLimit {
    pub fn new(burst: u32, interval: Duration) -> LogLimit {
        LogLimit {
            burst,
            interval,
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// `Some(suppressed_since_last)` when a line may be logged now, else `None`. Only called on
    /// the (rare) paths that want to log, never per good event.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    /// [`LogLimit::allow`] at `now` (tests pass the time in).
    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        let (start, count, suppressed) = &mut *state;
        if now.saturating_duration_since(*start) >= self.interval {
            *start = now;
            *count = 0;
        }
        if *count < self.burst {
            *count += 1;
            Some(std::mem::take(suppressed))
        } else {
            *suppressed += 1;
            None
        }
    }
}

/// Lines each kind of warning may log per [`WARNING_INTERVAL`].
pub const WARNING_BURST: u32 = 10;
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Logs a per-event warning, at most [`WARNING_BURST`] per [`WARNING_INTERVAL`] for this call
/// site (its own limiter: one kind of warning flooding cannot hide another).
#[macro_export]
macro_rules! warn_limited {
    ($($arg:tt)*) => {{
        static LIMIT: std::sync::LazyLock<$crate::log_limit::LogLimit> =
            std::sync::LazyLock::new(|| {
                $crate::log_limit::LogLimit::new(
                    $crate::log_limit::WARNING_BURST,
                    $crate::log_limit::WARNING_INTERVAL,
                )
            });
        if let Some(suppressed) = LIMIT.allow() {
            tracing::warn!(suppressed_since_last = suppressed, $($arg)*);
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_suppressed_then_reported() {
        let t0 = Instant::now();
        let limit = LogLimit::new(2, Duration::from_millis(50));
        assert_eq!(limit.allow_at(t0), Some(0));
        assert_eq!(limit.allow_at(t0), Some(0));
        assert_eq!(limit.allow_at(t0), None);
        assert_eq!(limit.allow_at(t0 + Duration::from_millis(49)), None);
        assert_eq!(limit.allow_at(t0 + Duration::from_millis(60)), Some(2));
    }

    #[test]
    fn each_call_site_has_its_own_limit() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..1000 {
                crate::warn_limited!("a flood of one kind");
            }
            crate::warn_limited!("another kind");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("a flood of one kind").count(),
            WARNING_BURST as usize
        );
        assert_eq!(text.matches("another kind").count(), 1);
    }
}
