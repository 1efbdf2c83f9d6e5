//! The heartbeat task: every `[heartbeat] interval` (and once at start), one
//! `TernHeartbeat_CL` row (`tern_core::heartbeat`) to each upload target of that table, so a
//! SOC's "forwarder silent" alerts see a Tern forwarder as they see an agent.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::HeartbeatConfig;
use crate::dcr::Compiled;
use crate::metrics::Metrics;
use crate::upload::stage::{RowBatch, ToUploader, UploadChannels};
use tern_core::heartbeat::{Heartbeat, Identity, Readings, TABLE};

/// This forwarder as its heartbeat rows name it (`/etc/os-release` read off the runtime's
/// workers, as every file).
pub async fn identity(hostname: &str) -> Identity {
    Identity {
        computer: hostname.to_owned(),
        computer_ip: None,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        os_type: "Linux".to_owned(),
        os_name: tokio::fs::read_to_string("/etc/os-release")
            .await
            .ok()
            .and_then(|text| tern_core::heartbeat::os_pretty_name(&text)),
    }
}

/// Beats until `shutdown`; the targets are looked up at each beat, so a DCR reload that adds
/// or removes one is followed.
pub async fn run(
    config: HeartbeatConfig,
    identity: Identity,
    routing: Arc<ArcSwap<Compiled>>,
    uploads: Arc<UploadChannels>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut heartbeat = Heartbeat::new();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let compiled = routing.load();
        let keys: Vec<&str> = compiled
            .bindings
            .targets
            .iter()
            .filter(|t| t.table.name() == TABLE)
            .filter_map(|t| t.key.as_deref())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let readings = Readings::from_exposition(&metrics.encode());
        let mut row = Vec::with_capacity(512);
        heartbeat.beat(readings, &identity, crate::pipeline::now(), &mut row);
        row.push(b'\n');
        let channels = uploads.snapshot();
        for key in keys {
            let Some(channel) = channels.get(key) else {
                continue;
            };
            let batch = RowBatch {
                rows: row.clone(),
                count: 1,
                marks: Default::default(),
            };
            // A full queue (an outage) skips this beat for that target rather than holding
            // the others back; "silent" alerts look at the time of the latest beat.
            if channel.try_send(ToUploader::Rows(batch)).is_err() {
                tracing::debug!(target = key, "heartbeat skipped: the upload queue is full");
            }
        }
    }
}
