//! Listeners: one module per transport. Each turns what arrives on its sockets into messages
//! for a [`crate::pipeline::Shaper`], and counts what it cannot pass on.
//!
//! Owns: sockets, framing, sender checks and per-connection limits. Never parses or shapes
//! itself, and never blocks one sender on another: every socket or connection has its own task.

pub mod activation;
pub mod limits;
pub mod relp;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod unix;

/// On shutdown, connections and sockets are read until they have been quiet this long (or
/// end): what senders wrote before the signal sits in socket buffers and is taken, not lost.
/// The whole drain is bounded by the daemon's drain deadline.
const DRAIN_QUIET: std::time::Duration = std::time::Duration::from_millis(250);
/// The longest one connection or socket is drained: a sender that never pauses must not hold
/// the shutdown past its deadline (the daemon's drain grace is 10 s).
const DRAIN_MAX: std::time::Duration = std::time::Duration::from_secs(3);

/// How often a listener whose sender has gone quiet looks for multi-part groups whose window
/// has passed.
const REASSEMBLY_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

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

fn inherited_note(listen: &Listen, inherited: bool) {
    if inherited {
        tracing::info!(listener = %listen.name(), "using the socket passed by systemd (socket activation)");
    }
}

/// Binds a listener's sockets (or takes the ones systemd passed) and spawns its tasks.
/// `reload` ticks on SIGHUP (TLS listeners re-read their certificates). Errors name the
/// listener and the cause.
pub async fn start(
    listen: &Listen,
    pipeline: &Pipeline,
    inherited: &mut activation::Inherited,
    reload: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let result = match (listen.protocol, &listen.address) {
        (Protocol::Udp, address) => {
            let socket = match address {
                crate::config::Address::Inet(a) => inherited.take_datagram(*a),
                crate::config::Address::Path(_) => None,
            };
            inherited_note(listen, socket.is_some());
            udp::start(listen, pipeline, socket, shutdown)
        }
        (Protocol::Tcp | Protocol::Tls | Protocol::Relp, address) => {
            let socket = match address {
                crate::config::Address::Inet(a) => inherited.take_stream(*a),
                crate::config::Address::Path(_) => None,
            };
            inherited_note(listen, socket.is_some());
            tcp::start(listen, pipeline, socket, reload, shutdown).await
        }
        (Protocol::Unix, address) => {
            let socket = match address {
                crate::config::Address::Path(p) => inherited.take_unix(p),
                crate::config::Address::Inet(_) => None,
            };
            inherited_note(listen, socket.is_some());
            unix::start(listen, pipeline, socket, shutdown)
        }
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
