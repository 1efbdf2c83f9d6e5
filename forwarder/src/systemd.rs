//! systemd's notification protocol (`Type=notify`): READY once every listener is bound,
//! STATUS with live counts, WATCHDOG pings while the pipeline is healthy (see `run`), and
//! STOPPING on shutdown. Outside systemd (no `NOTIFY_SOCKET`) these do nothing.
//!
//! The `sd-notify` crate speaks the protocol in pure Rust (one datagram to a unix socket);
//! the `systemd` crate would link libsystemd for the same few bytes (systemd/README.md).

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "systemd notification failed");
    }
}

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// How often to notify: every `status_every`, or a third of the watchdog's period when the
/// unit has one (systemd's advice: ping at half the period or more often).
pub fn notify_every(
    watchdog: Option<std::time::Duration>,
    status_every: std::time::Duration,
) -> std::time::Duration {
    watchdog.map_or(status_every, |period| {
        (period / 3).clamp(std::time::Duration::from_millis(1), status_every)
    })
}

/// A periodic status, with a watchdog ping when the unit has `WatchdogSec=`.
pub fn alive(status: &str, watchdog: bool) {
    if watchdog {
        send(&[NotifyState::Watchdog, NotifyState::Status(status)]);
    } else {
        send(&[NotifyState::Status(status)]);
    }
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("draining")]);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn the_watchdog_is_pinged_at_a_third_of_its_period_and_status_sent_regardless() {
        let every = Duration::from_secs(5);
        assert_eq!(super::notify_every(None, every), every);
        assert_eq!(
            super::notify_every(Some(Duration::from_millis(1500)), every),
            Duration::from_millis(500)
        );
        assert_eq!(
            super::notify_every(Some(Duration::from_secs(60)), every),
            every
        );
        assert_eq!(
            super::notify_every(Some(Duration::ZERO), every),
            Duration::from_millis(1)
        );
    }
}
