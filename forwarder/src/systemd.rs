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
