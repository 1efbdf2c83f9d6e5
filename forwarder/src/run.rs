//! The daemon: wires listeners, the pipeline, outputs and metrics together, and handles
//! signals (SIGTERM/SIGINT: stop and drain; SIGHUP: reopen output files, reload the DCRs and
//! the TLS certificates).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::Config;
use crate::dcr::Compiled;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;

/// How long listeners get to finish what they hold after SIGTERM.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Batches queued between listeners and outputs; a full queue holds the listeners back.
const QUEUE_BATCHES: usize = 64;

/// How often the status line sent to systemd is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// The one-line status `systemctl status tern` shows.
fn status_line(text: &str) -> String {
    use crate::metrics::sum_in;
    format!(
        "{:.0} messages received, {:.0} rows uploaded, {:.0} dropped, spool {:.1} MiB",
        sum_in(text, "tern_received_total", ""),
        sum_in(text, "tern_upload_rows_total", ""),
        sum_in(text, "tern_dropped_total", ""),
        sum_in(text, "tern_spool_bytes", "") / 1_048_576.0
    )
}

/// Every TCP connection is a file descriptor: raise the soft limit to the hard one, as a
/// forwarder serving thousands of senders needs (systemd's default soft limit is 1024).
fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
            tracing::warn!(soft, hard, "could not raise the open-file limit");
        }
    }
}

/// Runs until SIGTERM or SIGINT. `Err` is a runtime failure (exit code 1), with its message.
/// `inherited`: the sockets systemd passed (taken in `main` before the runtime started).
/// `arm`: the poller of DCRs from Azure, when `[[dcr.azure]]` is given (it has polled once).
pub async fn run(
    config: Config,
    compiled: Compiled,
    mut inherited: crate::listen::activation::Inherited,
    arm: Option<crate::arm::ArmPoller>,
) -> Result<(), String> {
    raise_open_file_limit();
    let metrics = Metrics::new();
    let _metrics_task = match config.metrics_address {
        Some(address) => {
            let listener = crate::metrics::bind(address)
                .await
                .map_err(|e| format!("metrics endpoint {address}: {e}"))?;
            tracing::info!(%address, "metrics on /metrics, /healthz, /readyz");
            Some(tokio::spawn(crate::metrics::serve(
                listener,
                Arc::clone(&metrics),
            )))
        }
        None => None,
    };
    let writers = crate::output::open(
        &config.outputs_for(!compiled.bindings.targets.is_empty()),
        &metrics,
    )
    .await?;
    let local_outputs = !writers.is_empty();
    let (batches_tx, batches_rx) = mpsc::channel(QUEUE_BATCHES);
    let reopen = Arc::new(Notify::new());
    let output_task = tokio::spawn(crate::output::run(writers, batches_rx, Arc::clone(&reopen)));

    for line in compiled.routing.describe() {
        tracing::info!(route = %line, "routing");
    }
    for note in compiled
        .routing
        .notes
        .iter()
        .chain(&compiled.bindings.notes)
    {
        tracing::warn!("{note}");
    }
    for gap in crate::preflight::upload_gaps(&config, &compiled) {
        tracing::error!("{gap}");
    }
    // Uploads, when there is a credential and a target to post to.
    let uploads = match config
        .azure
        .as_ref()
        .filter(|a| a.credential.is_some() || !a.credentials.is_empty())
    {
        // With a credential the stage starts even without targets: a DCR reload may add some.
        Some(azure) => {
            crate::upload::stage::start(
                &compiled.bindings.targets,
                crate::upload::stage::Credentials {
                    default: azure.credential.clone(),
                    named: azure.credentials.clone(),
                },
                &crate::upload::stage::UploadOptions {
                    concurrency: azure.concurrency,
                    max_queued_bytes: azure.max_queue_bytes,
                    dead_letter: azure.dead_letter.clone(),
                    spool: config.spool.clone(),
                    compression: azure.compression,
                    retry: azure.retry,
                },
                &azure.http,
                &metrics,
            )
            .await?
        }
        None => crate::upload::stage::UploadChannels::none(),
    };
    let uploads = Arc::new(uploads);
    let targets = uploads.snapshot().len();
    if targets > 0 {
        tracing::info!(targets, "uploading to Azure Monitor Logs Ingestion");
    }
    let routing = Arc::new(ArcSwap::from_pointee(compiled));
    let mut file_sources = crate::files::FileSources::new(
        config.files.clone(),
        &config.hostname,
        batches_tx.clone(),
        &metrics,
    );
    // Tern's own configuration, credentials, keys, spool and outputs are never tailed,
    // whatever a DCR's logFiles patterns say.
    file_sources.forbid(crate::files::guard::Forbidden::for_config(&config));
    let files = Arc::new(Mutex::new(file_sources));
    let reloaded = crate::reload::Reloaded {
        routing: Arc::clone(&routing),
        uploads: Arc::clone(&uploads),
        files: Arc::clone(&files),
        serial: Arc::default(),
    };
    let (reloads_ok, reloads_failed) = metrics.dcr_reloads();
    let watch_task = (config.dcr.watch && !config.dcr.paths.is_empty()).then(|| {
        tokio::spawn(crate::reload::watch(
            config.dcr.clone(),
            config.destinations.clone(),
            reloaded.clone(),
            reloads_ok.clone(),
            reloads_failed.clone(),
        ))
    });
    let pipeline = Pipeline {
        collector_hostname: Arc::from(config.hostname.as_str()),
        uploads: Arc::clone(&uploads),
        routing: Arc::clone(&routing),
        metrics: Arc::clone(&metrics),
        batches: batches_tx,
        local_outputs,
        reassembly_budgets: Arc::default(),
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let arm_task = arm.map(|poller| {
        tokio::spawn(crate::arm::run(
            poller,
            config.dcr.clone(),
            config.destinations.clone(),
            reloaded.clone(),
            reloads_ok.clone(),
            reloads_failed.clone(),
            shutdown_rx.clone(),
        ))
    });
    let heartbeat_task = tokio::spawn(crate::heartbeat::run(
        config.heartbeat.clone(),
        crate::heartbeat::identity(&config.hostname).await,
        Arc::clone(&routing),
        Arc::clone(&uploads),
        Arc::clone(&metrics),
        shutdown_rx.clone(),
    ));
    let (reload_tx, reload_rx) = watch::channel(0u64);
    let activated = !inherited.is_empty();
    let mut tasks = Vec::new();
    for listen in &config.listen {
        tasks.extend(
            crate::listen::start(
                listen,
                &pipeline,
                &mut inherited,
                reload_rx.clone(),
                shutdown_rx.clone(),
            )
            .await?,
        );
        tracing::info!(listener = %listen.name(), format = listen.format.name(), "listening");
    }
    {
        let mut sources = files
            .lock()
            .map_err(|_| "file sources poisoned".to_owned())?;
        let errors = sources.apply(&routing.load(), &pipeline.uploads);
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
    }
    if activated {
        for socket in inherited.leftovers() {
            tracing::warn!(%socket, "socket passed by systemd matches no [[listen]] entry; closed");
        }
    }
    drop(inherited);
    // Only listener tasks hold senders now: when they end, the outputs drain and stop.
    drop(pipeline);
    tracing::info!(config = %config.source, collector = %config.hostname, "ready");
    metrics.set_ready(true);
    crate::systemd::ready(&status_line(&metrics.encode()));
    let watchdog = sd_notify::watchdog_enabled();
    // Status for `systemctl status` every few seconds; watchdog pings at a third of its period.
    let mut tick = tokio::time::interval(crate::systemd::notify_every(watchdog, STATUS_EVERY));
    let mut reported_dead = false;
    let mut losses = crate::loss_report::LossReport::new();

    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // The pings come from the pipeline's health, not from the timer alone: a stage
                // that ended (a panic, a closed channel) stops them and systemd restarts Tern;
                // the spool keeps what was accepted. Backpressure (a full queue during an
                // outage) is not a failure and keeps the pings going, since a restart would
                // only lose what is held in memory.
                let dead = tasks.iter().filter(|t| t.is_finished()).count()
                    + usize::from(output_task.is_finished())
                    + uploads.stopped()
                    // Busy with a reload: looked at on the next tick.
                    + match files.try_lock() {
                        Ok(files) => files.ended(),
                        Err(std::sync::TryLockError::WouldBlock) => 0,
                        Err(std::sync::TryLockError::Poisoned(_)) => 1,
                    };
                let exposition = metrics.encode();
                for line in losses.observe(std::time::Instant::now(), &exposition) {
                    tracing::warn!("events not delivered: {line} (see tern_dropped_total and the README's metrics)");
                }
                if dead == 0 {
                    crate::systemd::alive(&status_line(&exposition), watchdog.is_some());
                } else if !reported_dead {
                    reported_dead = true;
                    tracing::error!(stages = dead, "pipeline stages stopped unexpectedly; withholding the systemd watchdog ping");
                    crate::systemd::status(&format!("unhealthy: {dead} pipeline stage(s) stopped"));
                }
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reopening output files, reloading DCRs and TLS certificates");
                reopen.notify_one();
                reload_tx.send_modify(|generation| *generation += 1);
                if !config.dcr.paths.is_empty() {
                    crate::reload::reload(&config.dcr, &config.destinations, &reloaded, &reloads_ok, &reloads_failed).await;
                }
            }
        }
    }
    tracing::info!("stopping: no new messages accepted; draining");
    metrics.set_ready(false);
    crate::systemd::stopping();
    let _ = shutdown_tx.send(true);
    // No reload from here on: the watcher holds the upload channels, which must close.
    if let Some(task) = watch_task {
        task.abort();
        let _ = task.await;
    }
    if let Some(task) = arm_task {
        task.abort();
        let _ = task.await;
    }
    // Tailers stop, and the output channel they share is let go of (the output stage ends
    // when its last sender does).
    let file_threads = files.lock().map(|mut f| f.stop_all()).unwrap_or_default();
    drop(reloaded);
    let drained = tokio::time::timeout(DRAIN_GRACE, async {
        for task in tasks {
            let _ = task.await;
        }
        // File tailers stop within a cycle; what they had not shipped is read again after the
        // next start (their checkpoints have not moved past it).
        let _ = tokio::task::spawn_blocking(move || {
            for thread in file_threads {
                let _ = thread.join();
            }
        })
        .await;
    })
    .await;
    // Exit 0 means nothing received was lost: each way the drain can fall short says so.
    let mut lost = Vec::new();
    if drained.is_err() {
        tracing::error!(
            "listeners did not finish within {DRAIN_GRACE:?}; stopping anyway: what they had not read or handed on is lost"
        );
        lost.push(format!(
            "listeners still reading after {DRAIN_GRACE:?} (a sender kept sending): their unread bytes were not taken"
        ));
    }
    let _ = tokio::time::timeout(DRAIN_GRACE, output_task).await;
    // The heartbeat task holds the channels too.
    let _ = heartbeat_task.await;
    // The listeners are done: dropping the last handle on the channels lets each uploader see
    // its input end, spool what it holds and finish.
    let upload_tasks = uploads.take_tasks();
    drop(uploads);
    let uploaded = tokio::time::timeout(DRAIN_GRACE, async {
        for task in upload_tasks {
            let _ = task.await;
        }
    })
    .await;
    if uploaded.is_err() {
        if config.spool.is_some() {
            tracing::info!(
                "uploads did not finish within {DRAIN_GRACE:?}; what is left stays in the spool and is sent after the next start"
            );
        } else {
            // The in-memory queues' own gauges say what they still held.
            let exposition = metrics.encode();
            let batches = crate::metrics::sum_in(&exposition, "tern_spool_batches", "");
            let bytes = crate::metrics::sum_in(&exposition, "tern_spool_bytes", "");
            tracing::error!(
                batches,
                bytes,
                "uploads did not finish within {DRAIN_GRACE:?}; rows still held are lost (no [spool] configured)"
            );
            lost.push(format!(
                "{batches} upload batches ({bytes} bytes of gzip) not delivered within {DRAIN_GRACE:?} and lost (no [spool] configured)"
            ));
        }
    }
    if !lost.is_empty() {
        return Err(format!("stopped with loss: {}", lost.join("; ")));
    }
    tracing::info!("stopped");
    Ok(())
}
