//! Live reload of the DCR set: on a change under `[dcr] paths` (inotify) or SIGHUP, load and
//! compile the DCRs again; if they are valid, start uploaders for targets new to the set
//! (decision 84), then swap the routing whole (listeners read one snapshot per message, so no
//! event is dropped or routed twice by the swap), then bring the log-file tailers in line with
//! the new `logFiles` sources (decision 86); if not, keep the routing in force, log every
//! error, and count the failure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use inotify::{Inotify, WatchMask};
use prometheus_client::metrics::counter::Counter;

use crate::config::{DcrConfig, Destination};
use crate::dcr::Compiled;
use crate::files::FileSources;
use crate::upload::stage::UploadChannels;

/// What a reload changes: the routing, the uploaders and the file tailers.
#[derive(Clone)]
pub struct Reloaded {
    pub routing: Arc<ArcSwap<Compiled>>,
    pub uploads: Arc<UploadChannels>,
    pub files: Arc<Mutex<FileSources>>,
    /// One reload at a time (SIGHUP and the watcher may ask at once): each reads the files
    /// after the one before it stored its set, so the newest files are the set in force.
    pub serial: Arc<tokio::sync::Mutex<()>>,
}

/// Changes closer together than this are one reload (editors write in several steps).
const SETTLE: Duration = Duration::from_millis(300);

/// Reloads the DCRs into `routing`. Returns whether the new set was taken in full: `false`
/// when it was refused (the routing in force is kept) or when a log-file source of it could
/// not start (the rest of it is in force).
pub async fn reload(
    config: &DcrConfig,
    destinations: &[Destination],
    reloaded: &Reloaded,
    ok: &Counter,
    failed: &Counter,
) -> bool {
    let _one_at_a_time = reloaded.serial.lock().await;
    let config = config.clone();
    let destinations = destinations.to_vec();
    let compiled =
        tokio::task::spawn_blocking(move || crate::dcr::compile(&config, &destinations)).await;
    match compiled {
        Ok(Ok(new)) => {
            for line in new.routing.describe() {
                tracing::info!(route = %line, "routing");
            }
            // Uploaders for new targets first: once the routing is in force, rows for them
            // must find a channel.
            reloaded.uploads.add_targets(&new.bindings.targets).await;
            let new = Arc::new(new);
            reloaded.routing.store(Arc::clone(&new));
            // Off the runtime: replacing a tailer waits for it to end.
            let (files, uploads) = (Arc::clone(&reloaded.files), Arc::clone(&reloaded.uploads));
            let errors = tokio::task::spawn_blocking(move || match files.lock() {
                Ok(mut files) => files.apply(&new, &uploads),
                Err(_) => vec!["file sources unavailable".to_owned()],
            })
            .await
            .unwrap_or_else(|e| vec![format!("file sources: {e}")]);
            for e in &errors {
                tracing::error!("log file source not started: {e}");
            }
            if errors.is_empty() {
                ok.inc();
                tracing::info!("DCRs reloaded");
            } else {
                failed.inc();
            }
            errors.is_empty()
        }
        Ok(Err(errors)) => {
            failed.inc();
            for e in errors {
                tracing::error!("dcr error: {e}");
            }
            tracing::error!("DCR reload failed: the routing in force is kept");
            false
        }
        Err(e) => {
            failed.inc();
            tracing::error!(error = %e, "DCR reload failed: the routing in force is kept");
            false
        }
    }
}

/// The folders to watch: each folder path, and the folder holding each file path (editors and
/// deployment tools replace files by renaming, which a watch on the file itself would miss).
fn watch_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Watches `[dcr] paths` and reloads on every settled change, until the task is dropped.
pub async fn watch(
    config: DcrConfig,
    destinations: Vec<Destination>,
    reloaded: Reloaded,
    ok: Counter,
    failed: Counter,
) {
    let inotify = match Inotify::init() {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch DCR paths; reload with SIGHUP");
            return;
        }
    };
    let mask = WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::CREATE
        | WatchMask::DELETE;
    for dir in watch_dirs(&config.paths) {
        if let Err(e) = inotify.watches().add(&dir, mask) {
            tracing::error!(path = %dir.display(), error = %e, "cannot watch; reload with SIGHUP");
        }
    }
    let Ok(mut events) = inotify.into_event_stream(vec![0u8; 4096]) else {
        return;
    };
    while events.next().await.is_some() {
        // Let a burst of changes settle, then reload once.
        loop {
            match tokio::time::timeout(SETTLE, events.next()).await {
                Ok(Some(_)) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        reload(&config, &destinations, &reloaded, &ok, &failed).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIGHUP and the watcher can ask at once: a reload waits for the one in progress, so the
    /// set stored last is read from the newest files (issue 23).
    #[tokio::test]
    async fn a_reload_waits_for_the_one_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("syslog.json"),
            serde_json::json!({"location": "westeurope", "kind": "Linux", "properties": {
                "dataSources": {"syslog": [{"name": "s", "streams": ["Microsoft-Syslog"],
                    "facilityNames": ["auth"], "logLevels": ["*"]}]},
                "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"}]},
                "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["la"]}]
            }})
            .to_string(),
        )
        .unwrap();
        let config = DcrConfig {
            paths: vec![dir.path().to_path_buf()],
            ..DcrConfig::default()
        };
        let metrics = crate::metrics::Metrics::new();
        let (outputs, _rows) = tokio::sync::mpsc::channel(1);
        let reloaded = Reloaded {
            routing: Arc::new(ArcSwap::from_pointee(Compiled::keep_all())),
            uploads: Arc::new(UploadChannels::none()),
            files: Arc::new(Mutex::new(FileSources::new(
                crate::config::FilesConfig::default(),
                "host",
                outputs,
                &metrics,
            ))),
            serial: Arc::default(),
        };
        let in_progress = reloaded.serial.lock().await;
        let task = tokio::spawn({
            let reloaded = reloaded.clone();
            async move {
                reload(
                    &config,
                    &[],
                    &reloaded,
                    &Counter::default(),
                    &Counter::default(),
                )
                .await
            }
        });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!task.is_finished(), "it waits for the reload in progress");
        assert!(reloaded.routing.load().routing.keeps_everything());
        drop(in_progress);
        assert!(task.await.unwrap());
        assert!(!reloaded.routing.load().routing.keeps_everything());
    }
}
