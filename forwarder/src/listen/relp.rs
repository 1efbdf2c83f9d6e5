//! RELP sessions (rsyslog's `omrelp`, librelp): `open` is answered with the offers, each
//! `syslog` frame's message goes through the pipeline like a TCP frame, and its `200 OK` is
//! sent only once the rows it produced are in the spool ([`Shaper::flush_durable`]), a read's
//! worth of frames at a time. A sender resends every frame it has no answer for, so a crash
//! between spooling and answering gives duplicates, never loss. `close` is answered and ends
//! the session; a malformed frame ends it too (RELP cannot resynchronise).

use std::net::SocketAddr;

use tern_parsers::relp::{RelpDecoded, decode_relp};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::metrics::DropReason;
use crate::pipeline::{Shaper, now};

use super::tcp::{Connection, Ended, PartialFrame};

/// How long writing the answers may take: a sender that stops reading them (its window full,
/// or on purpose) must not hold the connection's task forever.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The answer to `open`: the protocol version and the one command Tern serves.
const OFFERS: &str = "200 OK\nrelp_version=0\nrelp_software=tern\ncommands=syslog";

fn answer(out: &mut Vec<u8>, txnr: u64, data: &str) {
    if data.is_empty() {
        out.extend_from_slice(format!("{txnr} rsp 0\n").as_bytes());
    } else {
        out.extend_from_slice(format!("{txnr} rsp {} {data}\n", data.len()).as_bytes());
    }
}

pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    mut connection: Connection<'_>,
    mut shaper: Shaper,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = shaper.metrics().clone();
    metrics.connections_open.inc();
    let (peer, listen): (SocketAddr, _) = (connection.peer, connection.listen);
    let sender = Some(peer.ip().to_canonical());
    let mut buffer: Vec<u8> = Vec::new();
    let mut start = 0usize;
    let mut partial = PartialFrame::default();
    // Answers to syslog frames, held until their rows are spooled.
    let mut held: Vec<u64> = Vec::new();
    let mut replies: Vec<u8> = Vec::new();
    'session: loop {
        // On shutdown, frames read but not answered are resent by the sender after it
        // reconnects.
        let read = super::tcp::read_more(
            &mut stream,
            &mut buffer,
            &mut start,
            &mut connection,
            &partial,
            &mut shutdown,
        )
        .await;
        let n = match read {
            Ok(n) => n,
            Err(Ended::Closed) => break,
            Err(Ended::FrameTimeout) => {
                super::tcp::frame_timed_out(&metrics, &connection);
                break;
            }
        };
        metrics.received_bytes.inc_by(n as u64);
        let received_at = now();
        let mut closing = None;
        let start_of_read = start;
        loop {
            let rest = buffer.get(start..).unwrap_or_default();
            match decode_relp(rest, listen.max_message_bytes) {
                RelpDecoded::Frame { frame, consumed } => {
                    start += consumed;
                    match frame.command {
                        b"open" => answer(&mut replies, frame.txnr, OFFERS),
                        b"syslog" => {
                            metrics.received.inc();
                            shaper.handle(frame.data, sender, received_at);
                            held.push(frame.txnr);
                        }
                        b"close" => {
                            closing = Some(frame.txnr);
                            break;
                        }
                        _ => answer(&mut replies, frame.txnr, "500 command not supported"),
                    }
                }
                RelpDecoded::NeedMore => break,
                RelpDecoded::Invalid(why) => {
                    metrics.drop(DropReason::Truncated, 1);
                    crate::warn_limited!(%peer, why, "malformed RELP frame; closing the session");
                    break 'session;
                }
            }
            if shaper.batch_full() && shaper.flush().await.is_err() {
                break 'session;
            }
        }
        if !held.is_empty() {
            if shaper.flush_durable().await.is_err() {
                break;
            }
            for txnr in held.drain(..) {
                answer(&mut replies, txnr, "200 OK");
            }
        }
        if let Some(txnr) = closing {
            answer(&mut replies, txnr, "");
        }
        partial.update(start < buffer.len(), start > start_of_read);
        if !replies.is_empty() {
            let written = tokio::time::timeout(WRITE_TIMEOUT, async {
                stream.write_all(&replies).await?;
                stream.flush().await
            })
            .await;
            match written {
                Ok(Ok(())) => replies.clear(),
                Ok(Err(_)) => break,
                Err(_) => {
                    crate::warn_limited!(%peer, "RELP answers not taken within 30 s; closing the session");
                    break;
                }
            }
        }
        if closing.is_some() {
            break;
        }
    }
    // Frames read but not answered are resent by the sender; rows already handed on are
    // still delivered (at-least-once).
    let _ = shaper.finish().await;
    metrics.connections_open.dec();
}
