//! Log files named by DCR `logFiles` sources (`reference/azure.md` §3.3): tailed with
//! inotify through rotation ([`tail`]), split into records ([`record`]), shaped into rows for
//! their custom table ([`rows`]) and handed to the same uploaders and spool as syslog, with a
//! per-file position ([`checkpoint`]) that moves only once the rows are spooled. What may be
//! read at all (regular files only, never Tern's own, within `allowed_roots`) is [`guard`].

pub mod checkpoint;
pub mod guard;
pub mod record;
pub mod rows;
pub mod tail;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, watch};

use crate::config::FilesConfig;
use crate::dcr::Compiled;
use crate::dcr::binding::{FileBinding, Target};
use crate::metrics::Metrics;
use crate::pipeline::Batch;
use crate::upload::stage::UploadChannels;

/// The tailing threads, one per `logFiles` source of the DCRs in force, kept in step with
/// them: a DCR reload starts the sources it adds and stops the ones it removes (a source
/// whose table or targets changed is restarted), so that adding a log file to collect needs
/// no restart. A stopped tailer's checkpoint has not moved past what it had not shipped, so
/// its successor reads that again (at least once, as across a restart).
pub struct FileSources {
    config: FilesConfig,
    computer: String,
    /// `None` once stopped: the output stage ends when its last sender is dropped.
    outputs: Option<mpsc::Sender<Batch>>,
    metrics: Arc<Metrics>,
    /// Loaded with the first source, shared by all (one file on disk).
    checkpoints: Option<Arc<Mutex<checkpoint::Checkpoints>>>,
    running: Vec<Running>,
    /// Tailers a reload stopped, joined at shutdown.
    retired: Vec<JoinHandle<()>>,
    /// Tern's own files, refused to every source.
    forbidden: Arc<guard::Forbidden>,
}

/// One source's tailer.
struct Running {
    /// What it was started for: a source whose binding or targets differ is another source.
    binding: FileBinding,
    targets: Vec<Target>,
    stop: watch::Sender<bool>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Whether this tailer reads `binding`'s files for exactly `targets`.
    fn serves(&self, binding: &FileBinding, targets: &[Target]) -> bool {
        same_source(binding, &self.binding) && self.targets == targets
    }
}

impl FileSources {
    pub fn new(
        config: FilesConfig,
        computer: &str,
        outputs: mpsc::Sender<Batch>,
        metrics: &Arc<Metrics>,
    ) -> FileSources {
        FileSources {
            forbidden: Arc::new(guard::Forbidden::defaults(&config)),
            config,
            computer: computer.to_owned(),
            outputs: Some(outputs),
            metrics: Arc::clone(metrics),
            checkpoints: None,
            running: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// Sets the files no source may read, in place of [`guard::Forbidden::defaults`] (Tern's
    /// packaged folders and the checkpoints): a caller holding the whole configuration passes
    /// [`guard::Forbidden::for_config`], which adds the files it names. Applies to the
    /// sources started from now on: call it before the first [`FileSources::apply`].
    pub fn forbid(&mut self, forbidden: guard::Forbidden) {
        self.forbidden = Arc::new(forbidden);
    }

    /// Makes the running tailers those of `compiled`'s `logFiles` sources: starts the new
    /// ones, stops the ones it no longer has, leaves the unchanged ones reading. Returns the
    /// errors of sources that could not start (the others run). May block for a poll cycle
    /// while a tailer being replaced ends: call it off the async runtime.
    pub fn apply(&mut self, compiled: &Compiled, uploads: &UploadChannels) -> Vec<String> {
        let wanted = wanted_sources(compiled);
        let is_wanted = |running: &Running| wanted.iter().any(|(b, t)| running.serves(b, t));
        let (keep, stop): (Vec<Running>, Vec<Running>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(is_wanted);
        self.running = keep;
        let mut restarting = Vec::new();
        for old in stop {
            tracing::info!(
                patterns = %old.binding.source.patterns.join(" "),
                "no longer collecting these log files as before (DCRs changed)"
            );
            let _ = old.stop.send(true);
            if wanted.iter().any(|(b, _)| same_source(b, &old.binding)) {
                restarting.push(old.thread);
            } else {
                self.retired.push(old.thread);
            }
        }
        // A source started again with other targets shares its checkpoint entry with the
        // tailer it replaces: that one ends first (within a poll cycle), so that a late
        // position of its own cannot overwrite its successor's. A source removed ends before
        // the reload counts as done, too: lines written after it must not be collected.
        for thread in restarting
            .into_iter()
            .chain(std::mem::take(&mut self.retired))
        {
            let _ = thread.join();
        }
        let mut errors = Vec::new();
        for (binding, targets) in wanted {
            if !self.running.iter().any(|r| r.serves(&binding, &targets)) {
                if let Err(e) = self.start(&binding, targets, uploads) {
                    errors.push(e);
                }
            }
        }
        errors
    }

    fn start(
        &mut self,
        binding: &FileBinding,
        targets: Vec<Target>,
        uploads: &UploadChannels,
    ) -> Result<(), String> {
        let Some(outputs) = self.outputs.clone() else {
            return Err(format!("{}: not started: shutting down", binding.origin));
        };
        let checkpoints = match &self.checkpoints {
            Some(c) => Arc::clone(c),
            None => {
                let loaded = Arc::new(Mutex::new(checkpoint::Checkpoints::load(
                    &self.config.checkpoint_path,
                )));
                self.checkpoints = Some(Arc::clone(&loaded));
                loaded
            }
        };
        let channels = targets
            .iter()
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
            self.config.clone(),
            self.computer.clone(),
            tail::Sink {
                table: binding.table,
                targets: channels,
                outputs,
                transform: binding.transform.as_ref().map(|flow| tail::SinkTransform {
                    flow: Arc::clone(flow),
                    counters: self.metrics.transform_counters(&flow.dcr, &flow.stream),
                }),
            },
            checkpoints,
            &self.metrics,
            Arc::clone(&self.forbidden),
        )
        .map_err(|e| format!("{}: {e}", binding.origin))?;
        let (stop, stopped) = watch::channel(false);
        let name = format!("tern-files-{}", self.running.len() + self.retired.len());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || tailer.run(stopped))
            .map_err(|e| format!("{}: {e}", binding.origin))?;
        tracing::info!(
            patterns = %binding.source.patterns.join(" "),
            table = binding.table.name(),
            "collecting log files"
        );
        self.running.push(Running {
            binding: binding.clone(),
            targets,
            stop,
            thread,
        });
        Ok(())
    }

    /// How many tailers in force have ended (they run until stopped: an end is a failure).
    pub fn ended(&self) -> usize {
        self.running
            .iter()
            .filter(|r| r.thread.is_finished())
            .count()
    }

    /// Stops every tailer and lets go of the output channel; returns the threads to join.
    pub fn stop_all(&mut self) -> Vec<JoinHandle<()>> {
        self.outputs = None;
        let mut threads = std::mem::take(&mut self.retired);
        for running in std::mem::take(&mut self.running) {
            let _ = running.stop.send(true);
            threads.push(running.thread);
        }
        threads
    }
}

/// The sources of `compiled`, each once with its targets. Bindings that read the same files
/// the same way (one source declared in two DCRs, each sending to its own workspace) become
/// one tailer sending to all their targets: two tailers on the same files would share one
/// checkpoint entry and overwrite each other's positions (rows lost or sent twice after a
/// restart), and would read every file twice.
fn wanted_sources(compiled: &Compiled) -> Vec<(FileBinding, Vec<Target>)> {
    let mut wanted: Vec<(FileBinding, Vec<Target>)> = Vec::new();
    for binding in &compiled.files {
        let targets = binding
            .targets
            .iter()
            .filter_map(|&i| compiled.bindings.targets.get(i));
        match wanted.iter_mut().find(|(b, _)| same_source(b, binding)) {
            Some((_, all)) => {
                for target in targets {
                    if !all.contains(target) {
                        all.push(target.clone());
                    }
                }
            }
            None => wanted.push((binding.clone(), targets.cloned().collect())),
        }
    }
    wanted
}

/// Whether two bindings read the same files the same way into the same table (the DCR file
/// that declares them may differ).
fn same_source(a: &FileBinding, b: &FileBinding) -> bool {
    a.table == b.table
        && a.source.stream == b.source.stream
        && a.source.patterns == b.source.patterns
        && a.source.format == b.source.format
        && a.source.record_start == b.source.record_start
        && a.transform == b.transform
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcr::binding::Bindings;
    use crate::dcr::load::{FileFormat, LogFileSource};
    use crate::tables::Table;

    fn binding(dcr: &str, pattern: &str, target: usize) -> FileBinding {
        FileBinding {
            source: LogFileSource {
                name: "files".to_owned(),
                stream: "Custom-App_CL".to_owned(),
                patterns: vec![pattern.to_owned()],
                format: FileFormat::Text,
                record_start: None,
                path: dcr.to_owned(),
            },
            origin: format!("file: {dcr}"),
            table: Table::Custom("App_CL"),
            targets: vec![target],
            transform: None,
        }
    }

    fn target(workspace: &str) -> Target {
        Target {
            origin: format!("[[destination]] {workspace}"),
            endpoint: Some("https://dce.example".to_owned()),
            immutable_id: Some(format!("dcr-{workspace}")),
            stream: "Custom-App_CL".to_owned(),
            table: Table::Custom("App_CL"),
            workspace: Some(workspace.to_owned()),
            undeclared: crate::tables::Undeclared::default(),
            key: Some(format!("https://dce.example/{workspace}")),
            auth: None,
        }
    }

    #[test]
    fn one_source_in_two_dcrs_is_one_tailer_sending_to_both_workspaces() {
        let compiled = Compiled {
            routing: crate::dcr::routing::Routing::keep_all(),
            bindings: Bindings {
                targets: vec![target("ws1"), target("ws2")],
                ..Bindings::default()
            },
            files: vec![
                binding("a.json", "/var/log/app/*.log", 0),
                binding("b.json", "/var/log/app/*.log", 1),
                binding("b.json", "/var/log/other.log", 1),
                binding("c.json", "/var/log/app/*.log", 1),
            ],
            scopes: Vec::new(),
        };
        let wanted = wanted_sources(&compiled);
        let summary: Vec<(String, Vec<String>)> = wanted
            .iter()
            .map(|(b, targets)| {
                (
                    b.source.patterns.join(" "),
                    targets.iter().filter_map(|t| t.workspace.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "/var/log/app/*.log".to_owned(),
                    vec!["ws1".to_owned(), "ws2".to_owned()]
                ),
                ("/var/log/other.log".to_owned(), vec!["ws2".to_owned()]),
            ]
        );
    }
}
