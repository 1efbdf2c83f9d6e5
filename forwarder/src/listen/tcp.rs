//! TCP syslog (RFC 6587): octet counting or LF framing, detected per connection. The accept
//! loop also serves TLS listeners (RFC 5425; the handshake is in the connection's task, see
//! [`super::tls`]) and RELP listeners, plain or over TLS (sessions in [`super::relp`]).
//!
//! Each connection has its own task, buffer and frame decoder; a slow or garbage-sending client
//! affects only itself. Limits: `max_message_bytes` per frame (oversized frames are skipped and
//! counted), `idle_timeout_seconds`, and `max_connections` served at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use tern_parsers::framing::{AtEof, Decoded, FrameDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::REASSEMBLY_CHECK;
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
    let permits = Arc::new(Semaphore::new(listen.max_connections));
    let listen = Arc::new(listen);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(listener = %name, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !super::allowed(&listen.allow, peer.ip()) {
            metrics.drop(DropReason::RejectedSender, 1);
            tracing::debug!(listener = %name, %peer, "sender not in allow list");
            continue;
        }
        metrics.connections.inc();
        let shaper = Shaper::new(&pipeline, &listen, metrics.clone());
        let listen = Arc::clone(&listen);
        let shutdown = shutdown.clone();
        let session = match listen.protocol {
            crate::config::Protocol::Relp => Session::Relp,
            _ => Session::Syslog,
        };
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => dispatch(session, stream, peer, &listen, shaper, shutdown).await,
                Some(tls) => {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await;
                    match handshake {
                        Ok(Ok(stream)) => {
                            tls.metrics.handshakes_ok.inc();
                            if tls.mutual {
                                let subject = stream
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .and_then(|chain| chain.first())
                                    .and_then(|leaf| super::tls::certificate_info(leaf).ok())
                                    .map_or_else(|| "unknown".to_owned(), |info| info.subject);
                                tracing::info!(listener = %listen.name(), %peer, %subject, "mutual-TLS client connected");
                                tls.metrics.peer(&subject);
                            }
                            dispatch(session, stream, peer, &listen, shaper, shutdown).await;
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
            drop(permit);
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    // Stop accepting; let open connections finish what they hold.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(
    session: Session,
    stream: S,
    peer: SocketAddr,
    listen: &Listen,
    shaper: Shaper,
    shutdown: watch::Receiver<bool>,
) {
    match session {
        Session::Syslog => serve(stream, peer, listen, shaper, shutdown).await,
        Session::Relp => super::relp::serve(stream, peer, listen, shaper, shutdown).await,
    }
}

/// Reads more bytes into `buffer`, first moving the unconsumed tail (from `start`) to the
/// front when room is short; reads into spare capacity without zeroing it. `None` when the
/// connection should end: end of stream, an error, the idle timeout, or shutdown.
pub(super) async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    start: &mut usize,
    idle_timeout: std::time::Duration,
    shutdown: &mut watch::Receiver<bool>,
    peer: SocketAddr,
) -> Option<usize> {
    if buffer.capacity() - buffer.len() < READ_BYTES {
        buffer.drain(..*start);
        *start = 0;
        buffer.reserve(READ_BYTES);
    }
    let read = tokio::select! {
        read = tokio::time::timeout(idle_timeout, stream.read_buf(buffer)) => read,
        _ = shutdown.changed() => return None,
    };
    match read {
        Ok(Ok(0)) => None,
        Ok(Ok(n)) => Some(n),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "read failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "idle timeout");
            None
        }
    }
}

async fn serve<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    listen: &Listen,
    mut shaper: Shaper,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = shaper.metrics().clone();
    metrics.connections_open.inc();
    let sender = Some(peer.ip().to_canonical());
    let mut decoder = FrameDecoder::new(listen.framing, listen.max_message_bytes);
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_BYTES * 2);
    let mut start = 0usize; // bytes before `start` are consumed
    if *shutdown.borrow() {
        metrics.connections_open.dec();
        return;
    }
    loop {
        let read = {
            let mut read = std::pin::pin!(read_more(
                &mut stream,
                &mut buffer,
                &mut start,
                listen.idle_timeout,
                &mut shutdown,
                peer,
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
        let Some(n) = read else {
            break;
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
