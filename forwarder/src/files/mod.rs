//! Log files named by DCR `logFiles` sources (`reference/azure.md` §3.3): tailed with
//! inotify through rotation ([`tail`]), split into records ([`record`]), shaped into rows for
//! their custom table ([`rows`]) and handed to the same uploaders and spool as syslog, with a
//! per-file position ([`checkpoint`]) that moves only once the rows are spooled.

pub mod checkpoint;
pub mod record;
pub mod rows;
pub mod tail;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

use crate::config::FilesConfig;
use crate::dcr::Compiled;
use crate::metrics::Metrics;
use crate::pipeline::Batch;
use crate::upload::stage::UploadChannels;

/// Starts a tailing thread per `logFiles` source of the compiled DCRs. Returns the threads.
pub fn start(
    compiled: &Compiled,
    config: &FilesConfig,
    computer: &str,
    uploads: &UploadChannels,
    outputs: &mpsc::Sender<Batch>,
    metrics: &Arc<Metrics>,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<std::thread::JoinHandle<()>>, String> {
    if compiled.files.is_empty() {
        return Ok(Vec::new());
    }
    let checkpoints = Arc::new(Mutex::new(checkpoint::Checkpoints::load(
        &config.checkpoint_path,
    )));
    let mut threads = Vec::new();
    for binding in &compiled.files {
        let targets = binding
            .targets
            .iter()
            .filter_map(|&i| compiled.bindings.targets.get(i))
            .filter_map(|t| {
                let channel = uploads.get(t.key.as_deref()?)?;
                Some((t.stream.clone(), t.workspace.clone(), channel))
            })
            .collect();
        let tailer = tail::Tailer::new(
            tail::Source {
                stream: binding.source.stream.clone(),
                patterns: binding.source.patterns.clone(),
                format: binding.source.format,
                record_start: binding.source.record_start,
            },
            config.clone(),
            computer.to_owned(),
            tail::Sink {
                table: binding.table,
                targets,
                outputs: outputs.clone(),
            },
            Arc::clone(&checkpoints),
            metrics,
        )
        .map_err(|e| format!("{}: {e}", binding.origin))?;
        let shutdown = shutdown.clone();
        let name = format!("tern-files-{}", threads.len());
        threads.push(
            std::thread::Builder::new()
                .name(name)
                .spawn(move || tailer.run(shutdown))
                .map_err(|e| e.to_string())?,
        );
        tracing::info!(
            patterns = %binding.source.patterns.join(" "),
            table = binding.table.name(),
            "collecting log files"
        );
    }
    Ok(threads)
}
