//! Unix datagram socket (a path, `/dev/log` style) for local logs.

use std::path::PathBuf;

use tokio::net::UnixDatagram;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Address, Listen};
use crate::metrics::DropReason;
use crate::pipeline::{Pipeline, Shaper, now};

pub fn start(
    listen: &Listen,
    pipeline: &Pipeline,
    inherited: Option<std::os::unix::net::UnixDatagram>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let Address::Path(path) = &listen.address else {
        return Err("a unix listener needs a path".to_owned());
    };
    let shaper = Shaper::new(pipeline, listen, pipeline.metrics.listener(&listen.name()));
    if let Some(socket) = inherited {
        let socket = socket
            .set_nonblocking(true)
            .and_then(|()| UnixDatagram::from_std(socket))
            .map_err(|e| format!("inherited socket {}: {e}", path.display()))?;
        return Ok(vec![tokio::spawn(receive_loop(
            socket,
            path.clone(),
            listen.max_message_bytes,
            shaper,
            shutdown,
        ))]);
    }
    // A socket file left by an earlier run would make bind fail; anything else is not ours to
    // delete.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        } else {
            return Err(format!("{} exists and is not a socket", path.display()));
        }
    }
    let socket =
        UnixDatagram::bind(path).map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
    Ok(vec![tokio::spawn(receive_loop(
        socket,
        path.clone(),
        listen.max_message_bytes,
        shaper,
        shutdown,
    ))])
}

async fn receive_loop(
    socket: UnixDatagram,
    path: PathBuf,
    max_message_bytes: usize,
    mut shaper: Shaper,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = shaper.metrics().clone();
    let mut buffer = vec![0u8; max_message_bytes + 1];
    loop {
        let received = tokio::select! {
            received = socket.recv(&mut buffer) => received,
            _ = shutdown.changed() => break,
        };
        let len = match received {
            Ok(len) => len,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "receive failed");
                continue;
            }
        };
        metrics.received.inc();
        metrics.received_bytes.inc_by(len as u64);
        if len > max_message_bytes {
            metrics.drop(DropReason::Oversized, 1);
            continue;
        }
        shaper.handle(buffer.get(..len).unwrap_or_default(), None, now());
        if shaper.flush().await.is_err() {
            break;
        }
    }
    let _ = shaper.finish().await;
    let _ = std::fs::remove_file(&path);
}
