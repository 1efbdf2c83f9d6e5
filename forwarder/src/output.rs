//! Local outputs: rows as JSON lines on stdout or in a file (`[[output]]`).
//!
//! Owns: writing batches in order to every output, and reopening files on SIGHUP so logrotate
//! can move them. One task; batches arrive through the bounded queue the listeners fill.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc};

use crate::config::Output;
use crate::metrics::Metrics;
use crate::pipeline::Batch;

enum Sink {
    Stdout(tokio::io::Stdout),
    File {
        path: PathBuf,
        file: tokio::io::BufWriter<tokio::fs::File>,
    },
}

struct Writer {
    name: String,
    sink: Sink,
    rows: Counter,
    errors: Counter,
}

/// Opens an output file for appending: never through a symlink or into a FIFO, created 0640
/// (operators read it through the group) and narrowed to that if found more open.
async fn open_append(path: &Path) -> std::io::Result<tokio::fs::File> {
    let path = path.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        crate::secure_file::open_append(&path, crate::secure_file::GROUP_READABLE)
    })
    .await
    .map_err(std::io::Error::other)?;
    Ok(tokio::fs::File::from_std(opened?))
}

/// Opens every output; an error names the file.
pub async fn open(outputs: &[Output], metrics: &Metrics) -> Result<Vec<WriterHandle>, String> {
    let mut writers = Vec::new();
    for output in outputs {
        let (name, sink) = match output {
            Output::Stdout => ("stdout".to_owned(), Sink::Stdout(tokio::io::stdout())),
            Output::File(path) => {
                let file = open_append(path)
                    .await
                    .map_err(|e| format!("output file {}: {e}", path.display()))?;
                (
                    format!("file:{}", path.display()),
                    Sink::File {
                        path: path.clone(),
                        file: tokio::io::BufWriter::with_capacity(1 << 20, file),
                    },
                )
            }
        };
        let (rows, errors) = metrics.output(&name);
        writers.push(WriterHandle(Writer {
            name,
            sink,
            rows,
            errors,
        }));
    }
    Ok(writers)
}

/// An opened output, ready for [`run`].
pub struct WriterHandle(Writer);

impl Writer {
    async fn write(&mut self, batch: &Batch) {
        let result = match &mut self.sink {
            Sink::Stdout(out) => out.write_all(&batch.bytes).await,
            Sink::File { file, .. } => file.write_all(&batch.bytes).await,
        };
        match result {
            Ok(()) => {
                self.rows.inc_by(batch.rows);
            }
            Err(e) => {
                self.errors.inc();
                tracing::error!(output = %self.name, error = %e, "writing rows failed");
            }
        }
    }

    async fn flush(&mut self) {
        let result = match &mut self.sink {
            Sink::Stdout(out) => out.flush().await,
            Sink::File { file, .. } => file.flush().await,
        };
        if let Err(e) = result {
            self.errors.inc();
            tracing::error!(output = %self.name, error = %e, "flushing rows failed");
        }
    }

    async fn reopen(&mut self) {
        self.flush().await;
        if let Sink::File { path, file } = &mut self.sink {
            match open_append(path).await {
                Ok(new) => {
                    *file = tokio::io::BufWriter::with_capacity(1 << 20, new);
                    tracing::info!(output = %self.name, "reopened");
                }
                Err(e) => {
                    self.errors.inc();
                    tracing::error!(output = %self.name, error = %e, "reopening failed; still writing to the old file");
                }
            }
        }
    }
}

/// Writes every batch to every output until all senders are gone, then flushes.
pub async fn run(
    writers: Vec<WriterHandle>,
    mut batches: mpsc::Receiver<Batch>,
    reopen: Arc<Notify>,
) {
    let mut writers: Vec<Writer> = writers.into_iter().map(|w| w.0).collect();
    loop {
        tokio::select! {
            batch = batches.recv() => {
                let Some(batch) = batch else { break };
                for writer in &mut writers {
                    writer.write(&batch).await;
                }
                // Idle queue: push what is buffered out now rather than at the next batch.
                if batches.is_empty() {
                    for writer in &mut writers {
                        writer.flush().await;
                    }
                }
            }
            () = reopen.notified() => {
                for writer in &mut writers {
                    writer.reopen().await;
                }
            }
        }
    }
    for writer in &mut writers {
        writer.flush().await;
    }
}
