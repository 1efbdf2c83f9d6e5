//! Listeners: one module per transport. Each turns what arrives on its sockets into messages
//! for a [`crate::pipeline::Shaper`], and counts what it cannot pass on.
//!
//! Owns: sockets, framing, sender checks and per-connection limits. Never parses or shapes
//! itself, and never blocks one sender on another: every socket or connection has its own task.

pub mod relp;
pub mod tcp;
pub mod udp;
pub mod unix;

use std::net::IpAddr;

use ipnet::IpNet;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Listen, Protocol};
use crate::pipeline::Pipeline;

/// Whether a sender may send to a listener with this `allow` list (empty: everyone).
/// IPv4 senders reaching an IPv6 socket (`::ffff:a.b.c.d`) are matched as IPv4.
pub fn allowed(allow: &[IpNet], sender: IpAddr) -> bool {
    let sender = sender.to_canonical();
    allow.is_empty() || allow.iter().any(|net| net.contains(&sender))
}

/// Binds a listener's sockets and spawns its tasks. Errors name the listener and the cause.
pub async fn start(
    listen: &Listen,
    pipeline: &Pipeline,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let result = match listen.protocol {
        Protocol::Udp => udp::start(listen, pipeline, shutdown),
        Protocol::Tcp | Protocol::Relp => tcp::start(listen, pipeline, shutdown).await,
        Protocol::Unix => unix::start(listen, pipeline, shutdown),
    };
    result.map_err(|e| format!("listener {}: {e}", listen.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists() {
        let allow: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        assert!(allowed(&allow, "10.1.2.3".parse().unwrap()));
        assert!(allowed(&allow, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(allowed(&allow, "2001:db8::1".parse().unwrap()));
        assert!(!allowed(&allow, "192.0.2.1".parse().unwrap()));
        assert!(allowed(&[], "192.0.2.1".parse().unwrap()));
    }
}
