//! systemd socket activation: sockets handed over in `LISTEN_FDS` (from `tern.socket`) are
//! used in place of binding, so Tern can serve ports 514 and 6514 without root or
//! `CAP_NET_BIND_SERVICE`.
//!
//! An inherited socket serves the `[[listen]]` entry with the same transport (stream or
//! datagram) and address; a wildcard address on either side (`0.0.0.0`, `[::]`) matches any
//! address with the same port, because the socket unit, not tern.toml, decides where systemd
//! binds. Several TCP-based listeners (tcp, tls, relp) can each take one stream socket.
//! Sockets no entry takes are reported and closed.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

/// The sockets systemd passed, not yet taken by a listener.
#[derive(Default)]
pub struct Inherited {
    stream: Vec<(SocketAddr, TcpListener)>,
    datagram: Vec<(SocketAddr, UdpSocket)>,
    unix: Vec<(PathBuf, UnixDatagram)>,
}

/// Whether a socket bound at `inherited` serves a listener configured for `configured`.
pub fn matches(configured: SocketAddr, inherited: SocketAddr) -> bool {
    configured == inherited
        || (configured.port() == inherited.port()
            && (configured.ip().is_unspecified() || inherited.ip().is_unspecified()))
}

impl Inherited {
    /// Takes the sockets from the environment (`LISTEN_PID` must be this process); none when
    /// Tern was not socket-activated. Descriptors of other kinds are reported and left alone.
    pub fn from_env() -> Inherited {
        let mut fds = listenfd::ListenFd::from_env();
        let mut inherited = Inherited::default();
        for index in 0..fds.len() {
            if let Ok(Some(socket)) = fds.take_tcp_listener(index) {
                match socket.local_addr() {
                    Ok(address) => inherited.stream.push((address, socket)),
                    Err(e) => {
                        tracing::warn!(index, error = %e, "inherited TCP socket has no address")
                    }
                }
            } else if let Ok(Some(socket)) = fds.take_udp_socket(index) {
                match socket.local_addr() {
                    Ok(address) => inherited.datagram.push((address, socket)),
                    Err(e) => {
                        tracing::warn!(index, error = %e, "inherited UDP socket has no address")
                    }
                }
            } else if let Ok(Some(socket)) = fds.take_unix_datagram(index) {
                let path = socket
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(Path::to_path_buf));
                match path {
                    Some(path) => inherited.unix.push((path, socket)),
                    None => tracing::warn!(index, "inherited unix socket has no path"),
                }
            } else {
                tracing::warn!(
                    fd = index + 3,
                    "inherited file descriptor is not a TCP listener, UDP socket or unix datagram socket; ignored"
                );
            }
        }
        inherited
    }

    pub fn is_empty(&self) -> bool {
        self.stream.is_empty() && self.datagram.is_empty() && self.unix.is_empty()
    }

    pub fn take_stream(&mut self, configured: SocketAddr) -> Option<TcpListener> {
        let index = self
            .stream
            .iter()
            .position(|(a, _)| matches(configured, *a))?;
        Some(self.stream.swap_remove(index).1)
    }

    pub fn take_datagram(&mut self, configured: SocketAddr) -> Option<UdpSocket> {
        let index = self
            .datagram
            .iter()
            .position(|(a, _)| matches(configured, *a))?;
        Some(self.datagram.swap_remove(index).1)
    }

    pub fn take_unix(&mut self, configured: &Path) -> Option<UnixDatagram> {
        let index = self.unix.iter().position(|(p, _)| p == configured)?;
        Some(self.unix.swap_remove(index).1)
    }

    /// Describes the sockets no listener took (they are closed when `self` drops).
    pub fn leftovers(&self) -> Vec<String> {
        self.stream
            .iter()
            .map(|(a, _)| format!("tcp {a}"))
            .chain(self.datagram.iter().map(|(a, _)| format!("udp {a}")))
            .chain(
                self.unix
                    .iter()
                    .map(|(p, _)| format!("unix {}", p.display())),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_by_port() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(matches(a("0.0.0.0:514"), a("0.0.0.0:514")));
        assert!(matches(a("127.0.0.1:514"), a("[::]:514")));
        assert!(matches(a("0.0.0.0:514"), a("10.0.0.5:514")));
        assert!(!matches(a("10.0.0.6:514"), a("10.0.0.5:514")));
        assert!(!matches(a("0.0.0.0:514"), a("0.0.0.0:6514")));
    }
}
