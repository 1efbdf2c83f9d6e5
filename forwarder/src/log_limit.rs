//! Rate limiting for per-event log lines: a flood of bad messages must not turn into a flood
//! of logs. The counters in `/metrics` count every event; the log shows the first few per
//! interval and then how many were suppressed.

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
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        let (start, count, suppressed) = &mut *state;
        if start.elapsed() >= self.interval {
            *start = Instant::now();
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

/// One limiter for each kind of per-event warning, shared by all listeners.
pub static WARNINGS: std::sync::LazyLock<LogLimit> =
    std::sync::LazyLock::new(|| LogLimit::new(10, Duration::from_secs(10)));

/// Logs a per-event warning through [`WARNINGS`].
#[macro_export]
macro_rules! warn_limited {
    ($($arg:tt)*) => {
        if let Some(suppressed) = $crate::log_limit::WARNINGS.allow() {
            tracing::warn!(suppressed_since_last = suppressed, $($arg)*);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_suppressed_then_reported() {
        let limit = LogLimit::new(2, Duration::from_millis(50));
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), Some(0));
        assert_eq!(limit.allow(), None);
        assert_eq!(limit.allow(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(limit.allow(), Some(2));
    }
}
