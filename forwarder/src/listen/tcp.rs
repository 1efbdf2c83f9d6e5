//! TCP syslog (RFC 6587): octet counting or LF framing, detected per connection. The accept
//! loop also serves TLS listeners (RFC 5425; the handshake is in the connection's task, see
//! [`super::tls`]) and RELP listeners, plain or over TLS (sessions in [`super::relp`]).
//!
//! Each connection has its own task, buffer and frame decoder; a slow or garbage-sending client
//! affects only itself. Limits: `max_message_bytes` per frame (oversized frames are skipped and
//! counted), `idle_timeout_seconds`, `frame_timeout_seconds` (a frame's first byte to its
//! last), `max_connections` served at once and `max_connections_per_source`, and the
//! listener's `buffer_budget` for all read buffers together ([`super::limits`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use tern_parsers::framing::{AtEof, Decoded, FrameDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::REASSEMBLY_CHECK;
use super::limits::{BufferBudget, BufferHold, Sources};
use crate::config::{Address, Listen};
use crate::metrics::DropReason;
use crate::pipeline::{Pipeline, Shaper, now};

use super::tls::{HANDSHAKE_TIMEOUT, Tls};

pub(super) const READ_BYTES: usize = 64 * 1024;

pub async fn start(
    listen: &Listen,
    pipeline: &Pipeline,
    inherited: Option<std::net::TcpListener>,
    reload: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let Address::Inet(address) = listen.address else {
        return Err("a TCP listener needs an address and port".to_owned());
    };
    let tls = match &listen.tls {
        Some(files) => Some(Tls::start(
            files,
            &listen.name(),
            pipeline.metrics.tls(&listen.name()),
            reload,
            shutdown.clone(),
        )?),
        None => None,
    };
    let listener = match inherited {
        Some(socket) => {
            socket.set_nonblocking(true).map_err(|e| e.to_string())?;
            TcpListener::from_std(socket).map_err(|e| e.to_string())?
        }
        None => bind(address)?,
    };
    let listen = listen.clone();
    let pipeline = pipeline.clone();
    Ok(vec![tokio::spawn(accept_loop(
        listener, listen, pipeline, tls, shutdown,
    ))])
}

fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(|e| e.to_string())?;
    socket.set_reuse_address(true).map_err(|e| e.to_string())?;
    if address.is_ipv6() {
        // `[::]` serves IPv4 too, as senders expect from one `address`.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    socket
        .bind(&address.into())
        .map_err(|e| format!("cannot bind {address}: {e}"))?;
    socket.listen(1024).map_err(|e| e.to_string())?;
    TcpListener::from_std(socket.into()).map_err(|e| e.to_string())
}

/// What a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// RFC 6587 syslog: frames, no answers.
    Syslog,
    /// RELP: frames answered once their rows are spooled.
    Relp,
}

async fn accept_loop(
    listener: TcpListener,
    listen: Listen,
    pipeline: Pipeline,
    tls: Option<Tls>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = listen.name();
    let metrics = pipeline.metrics.listener(&name);
    let permits = Arc::new(Semaphore::new(
        listen.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let sources = Arc::new(Sources::default());
    let buffers = BufferBudget::new(
        listen.buffer_budget_bytes,
        metrics.connection_buffer_bytes.clone(),
        metrics.connection_buffer_waits.clone(),
    );
    let listen = Arc::new(listen);
    let mut connections = tokio::task::JoinSet::new();
    // After shutdown, the connections the kernel had already completed are taken too (their
    // senders have sent), then the listener closes.
    let mut draining = *shutdown.borrow();
    loop {
        let permit = if draining {
            match Arc::clone(&permits).try_acquire_owned() {
                Ok(p) => p,
                Err(_) => break,
            }
        } else {
            tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = shutdown.changed() => {
                    draining = true;
                    continue;
                }
            }
        };
        let accepted = if draining {
            match accept_waiting(&listener) {
                Some(accepted) => accepted,
                None => break,
            }
        } else {
            tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => {
                    draining = true;
                    continue;
                }
            }
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                crate::warn_limited!(listener = %name, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !super::allowed(&listen.allow, peer.ip()) {
            metrics.drop(DropReason::RejectedSender, 1);
            tracing::debug!(listener = %name, %peer, "sender not in allow list");
            continue;
        }
        let Some(source_slot) = sources.take(peer.ip(), listen.max_connections_per_source) else {
            metrics.refused_per_source.inc();
            crate::warn_limited!(listener = %name, %peer, max = listen.max_connections_per_source, "connection refused: the sender has max_connections_per_source open");
            continue;
        };
        metrics.connections.inc();
        let shaper = Shaper::new(&pipeline, &listen, metrics.clone());
        let buffer = BufferHold::new(Arc::clone(&buffers));
        let listen = Arc::clone(&listen);
        let shutdown = shutdown.clone();
        let session = match listen.protocol {
            crate::config::Protocol::Relp => Session::Relp,
            _ => Session::Syslog,
        };
        let tls = tls.clone();
        connections.spawn(async move {
            let connection = Connection {
                peer,
                listen: &listen,
                buffer,
                drain_until: None,
            };
            match tls {
                None => dispatch(session, stream, connection, shaper, shutdown).await,
                Some(tls) => {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await;
                    match handshake {
                        Ok(Ok(stream)) => {
                            tls.metrics.handshakes_ok.inc();
                            if tls.mutual {
                                let info = stream
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .and_then(|chain| chain.first())
                                    .and_then(|leaf| super::tls::certificate_info(leaf).ok());
                                let allowed = listen.tls.as_ref().map_or(&[][..], |t| &t.allowed_names[..]);
                                let subject = info.as_ref().map_or("unknown", |i| i.subject.as_str());
                                if !info.as_ref().is_some_and(|i| super::tls::name_allowed(allowed, i)) {
                                    tls.metrics.refused_names.inc();
                                    crate::warn_limited!(listener = %listen.name(), %peer, %subject, "client certificate not in tls.allowed_names; connection closed");
                                    return;
                                }
                                tracing::info!(listener = %listen.name(), %peer, %subject, "mutual-TLS client connected");
                                tls.metrics.peer(subject);
                            }
                            dispatch(session, stream, connection, shaper, shutdown).await;
                        }
                        Ok(Err(e)) => {
                            tls.metrics.handshakes_failed.inc();
                            crate::warn_limited!(listener = %listen.name(), %peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            tls.metrics.handshakes_failed.inc();
                            crate::warn_limited!(listener = %listen.name(), %peer, "TLS handshake timed out");
                        }
                    }
                }
            }
            drop(source_slot);
            drop(permit);
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    // Stop accepting; let open connections finish what they hold.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A connection waiting in the listener's backlog, taken without waiting (a direct `accept`
/// call: the runtime's readiness may not have seen it yet); `None` when there is none.
fn accept_waiting(
    listener: &TcpListener,
) -> Option<std::io::Result<(tokio::net::TcpStream, SocketAddr)>> {
    let (socket, address) = match socket2::SockRef::from(listener).accept() {
        Ok(accepted) => accepted,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
        Err(e) => return Some(Err(e)),
    };
    let Some(peer) = address.as_socket() else {
        return Some(Err(std::io::Error::other("a TCP peer without an address")));
    };
    let stream = std::net::TcpStream::from(socket);
    Some(
        stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream))
            .map(|stream| (stream, peer)),
    )
}

/// One connection's peer, its listener's settings and its share of the buffer budget.
pub(super) struct Connection<'a> {
    pub peer: SocketAddr,
    pub listen: &'a Listen,
    pub buffer: BufferHold,
    /// Set at the first read after shutdown: reading stops by then at the latest.
    pub drain_until: Option<tokio::time::Instant>,
}

impl Connection<'_> {
    fn drain_deadline(&mut self) -> tokio::time::Instant {
        *self
            .drain_until
            .get_or_insert_with(|| tokio::time::Instant::now() + super::DRAIN_MAX)
    }
}

async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(
    session: Session,
    stream: S,
    connection: Connection<'_>,
    shaper: Shaper,
    shutdown: watch::Receiver<bool>,
) {
    match session {
        Session::Syslog => serve(stream, connection, shaper, shutdown).await,
        Session::Relp => super::relp::serve(stream, connection, shaper, shutdown).await,
    }
}

/// Why a connection's reading ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// End of stream, an error, the idle timeout or shutdown.
    Closed,
    /// A frame was not complete `frame_timeout` after its first byte.
    FrameTimeout,
}

/// Tracks the first byte of an incomplete frame, for `frame_timeout_seconds`.
#[derive(Default)]
pub(super) struct PartialFrame {
    since: Option<tokio::time::Instant>,
}

impl PartialFrame {
    /// After decoding a read: whether an incomplete frame is pending (bytes of it in the
    /// buffer, or the rest of a frame being skipped), and whether the read completed a frame
    /// (then the pending one is new: a busy sender's reads rarely end on a frame boundary).
    pub fn update(&mut self, pending: bool, completed_a_frame: bool) {
        if !pending {
            self.since = None;
        } else if completed_a_frame || self.since.is_none() {
            self.since = Some(tokio::time::Instant::now());
        }
    }

    fn deadline(&self, timeout: std::time::Duration) -> Option<tokio::time::Instant> {
        self.since.map(|since| since + timeout)
    }
}

/// The frame timeout's log line and count, the same for syslog and RELP connections.
pub(super) fn frame_timed_out(
    metrics: &crate::metrics::ListenerMetrics,
    connection: &Connection<'_>,
) {
    metrics.drop(DropReason::FrameTimeout, 1);
    crate::warn_limited!(
        peer = %connection.peer,
        seconds = connection.listen.frame_timeout.as_secs(),
        "a frame was not complete within frame_timeout_seconds; connection closed"
    );
}

/// Reads more bytes into `buffer`, first moving the unconsumed tail (from `start`) to the
/// front when room is short; reads into spare capacity without zeroing it. Growing the buffer
/// takes room from the listener's budget first (waiting for it if need be), and a buffer left
/// large by a long frame gives it back. Ends the connection ([`Ended`]) at the end of stream,
/// an error, the idle timeout, shutdown, or when the incomplete frame in the buffer has taken
/// longer than `frame_timeout`. After shutdown it reads on until the connection has been quiet
/// for [`super::DRAIN_QUIET`]: bytes already sent are taken, not lost.
pub(super) async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    start: &mut usize,
    connection: &mut Connection<'_>,
    partial: &PartialFrame,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<usize, Ended> {
    let idle = tokio::time::Instant::now() + connection.listen.idle_timeout;
    let frame = partial.deadline(connection.listen.frame_timeout);
    let until = frame.map_or(idle, |frame| frame.min(idle));
    let timed_out = || {
        if frame.is_some_and(|frame| frame <= idle) {
            Ended::FrameTimeout
        } else {
            Ended::Closed
        }
    };
    if buffer.capacity() - buffer.len() < READ_BYTES {
        buffer.drain(..*start);
        *start = 0;
        if buffer.capacity() > 4 * READ_BYTES && buffer.len() < READ_BYTES {
            buffer.shrink_to(2 * READ_BYTES);
            connection.buffer.release_to(buffer.capacity());
        }
        if buffer.capacity() - buffer.len() < READ_BYTES {
            // What `reserve` will allocate: double, or what is asked if that is more.
            let wanted = (2 * buffer.capacity()).max(buffer.len() + READ_BYTES);
            // Waiting for room is bounded like a read (idle and frame deadlines, the drain):
            // connections that all wait for each other must not wait forever.
            let limit = if *shutdown.borrow() {
                until.min(connection.drain_deadline())
            } else {
                until
            };
            tokio::select! {
                () = connection.buffer.hold(wanted) => {}
                () = tokio::time::sleep_until(limit) => return Err(timed_out()),
            }
            buffer.reserve(READ_BYTES);
        }
    }
    if *shutdown.borrow() {
        return drain_read(stream, buffer, connection).await;
    }
    let read = tokio::select! {
        read = tokio::time::timeout_at(until, stream.read_buf(buffer)) => read,
        // `read_buf` is cancel-safe: nothing read is lost by switching to draining.
        _ = shutdown.changed() => return drain_read(stream, buffer, connection).await,
    };
    let peer = connection.peer;
    match read {
        Ok(Ok(0)) => Err(Ended::Closed),
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "read failed");
            Err(Ended::Closed)
        }
        Err(_) => {
            tracing::debug!(%peer, "idle or frame timeout");
            Err(timed_out())
        }
    }
}

/// One read while draining: bytes if the sender has more within [`super::DRAIN_QUIET`] and
/// the connection's drain has time left ([`super::DRAIN_MAX`]), else the end.
async fn drain_read<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    connection: &mut Connection<'_>,
) -> Result<usize, Ended> {
    let quiet = tokio::time::Instant::now() + super::DRAIN_QUIET;
    let until = quiet.min(connection.drain_deadline());
    match tokio::time::timeout_at(until, stream.read_buf(buffer)).await {
        Ok(Ok(n)) if n > 0 => Ok(n),
        _ => Err(Ended::Closed),
    }
}

async fn serve<S: AsyncRead + Unpin>(
    mut stream: S,
    mut connection: Connection<'_>,
    mut shaper: Shaper,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = shaper.metrics().clone();
    metrics.connections_open.inc();
    let (peer, listen) = (connection.peer, connection.listen);
    let sender = Some(peer.ip().to_canonical());
    let mut decoder = FrameDecoder::new(listen.framing, listen.max_message_bytes);
    let mut buffer: Vec<u8> = Vec::new();
    let mut start = 0usize; // bytes before `start` are consumed
    let mut partial = PartialFrame::default();
    loop {
        let read = {
            let mut read = std::pin::pin!(read_more(
                &mut stream,
                &mut buffer,
                &mut start,
                &mut connection,
                &partial,
                &mut shutdown,
            ));
            // Rows are handed on when the sender pauses (no bytes waiting) or the batch is full,
            // not after every read: each hand-over wakes an uploader.
            match std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await {
                Poll::Ready(read) => read,
                Poll::Pending => {
                    if shaper.flush().await.is_err() {
                        return;
                    }
                    // Segments of a multi-part message (Cisco ISE) leave when their window
                    // passes, even if this sender then goes quiet and keeps the connection open.
                    loop {
                        if !shaper.has_waiting_segments() {
                            break read.as_mut().await;
                        }
                        match tokio::time::timeout(REASSEMBLY_CHECK, read.as_mut()).await {
                            Ok(read) => break read,
                            Err(_) => {
                                if shaper.flush().await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            }
        };
        let n = match read {
            Ok(n) => n,
            Err(Ended::Closed) => break,
            Err(Ended::FrameTimeout) => {
                frame_timed_out(&metrics, &connection);
                // The incomplete frame is dropped, counted; the connection ends.
                let _ = shaper.finish().await;
                metrics.connections_open.dec();
                return;
            }
        };
        metrics.received_bytes.inc_by(n as u64);
        let received_at = now();
        // Counted once per read: the counters are shared by every connection.
        let mut frames = 0u64;
        loop {
            let rest = buffer.get(start..).unwrap_or_default();
            match decoder.decode(rest) {
                Decoded::Frame { frame, consumed } => {
                    frames += 1;
                    shaper.handle(frame, sender, received_at);
                    start += consumed;
                }
                Decoded::Resynced { frame, consumed } => {
                    frames += 1;
                    metrics.framing_resyncs.inc();
                    shaper.handle(frame, sender, received_at);
                    start += consumed;
                }
                Decoded::Oversized { len, consumed } => {
                    frames += 1;
                    metrics.drop(DropReason::Oversized, 1);
                    crate::warn_limited!(%peer, len, max = listen.max_message_bytes, "oversized frame skipped");
                    start += consumed;
                }
                Decoded::Skipped { consumed } => start += consumed,
                Decoded::NeedMore => break,
            }
            if shaper.batch_full() && shaper.flush().await.is_err() {
                return;
            }
        }
        metrics.received.inc_by(frames);
        partial.update(
            start < buffer.len() || decoder.in_skipped_frame(),
            frames > 0,
        );
    }
    // The stream ended: an unterminated last frame is still a message.
    let rest = buffer.get(start..).unwrap_or_default();
    match decoder.finish(rest) {
        AtEof::Nothing => {}
        AtEof::Frame(frame) => {
            metrics.received.inc();
            shaper.handle(frame, sender, now());
        }
        AtEof::Truncated { expected, received } => {
            metrics.received.inc();
            metrics.drop(DropReason::Truncated, 1);
            crate::warn_limited!(%peer, expected, received, "connection closed inside a frame");
        }
        AtEof::Oversized { len } => {
            metrics.received.inc();
            metrics.drop(DropReason::Oversized, 1);
            crate::warn_limited!(%peer, len, max = listen.max_message_bytes, "oversized frame skipped");
        }
    }
    let _ = shaper.finish().await;
    metrics.connections_open.dec();
}

#[cfg(test)]
mod tests {
    use super::PartialFrame;

    #[test]
    fn a_partial_frame_is_timed_from_the_read_that_left_it() {
        let long_ago = tokio::time::Instant::now() - std::time::Duration::from_secs(3600);
        let mut partial = PartialFrame {
            since: Some(long_ago),
        };
        // More bytes of the same frame: its start stays.
        partial.update(true, false);
        assert_eq!(partial.since, Some(long_ago));
        // Frames completed and a new one begun: timed from now (a busy sender's reads rarely
        // end on a frame boundary, and must not be cut off).
        partial.update(true, true);
        assert!(partial.since.is_some_and(|since| since > long_ago));
        partial.update(false, true);
        assert!(partial.since.is_none());
        partial.update(true, false);
        assert!(partial.since.is_some());
    }
}
