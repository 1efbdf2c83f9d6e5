//! `tern run` (the default): the daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use super::load::{check_tls, load_all, runtime};

pub(crate) fn run_daemon(path: Option<PathBuf>) -> ExitCode {
    let (config, compiled) = match load_all(path) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // The same messages as `tern check`, before anything binds; the listener logs the notes.
    if let Err(code) = check_tls(&config, false) {
        return code;
    }
    // Before the runtime's threads exist: taking the sockets unsets LISTEN_FDS, and changing
    // the environment while other threads may read it is not safe.
    let inherited = tern::listen::activation::Inherited::from_env();
    let runtime = match runtime(true) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    // DCRs from Azure: asked for once before starting (the cached copies otherwise).
    let mut compiled = compiled;
    let poller = match tern::arm::ArmPoller::new(&config) {
        Ok(poller) => poller,
        Err(e) => {
            eprintln!("tern: config error: {}: {e}", config.source);
            return ExitCode::from(2);
        }
    };
    let poller = poller.map(|mut poller| {
        let first = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(30), poller.poll()).await
        });
        match first {
            Ok(polled) => {
                for problem in &polled.problems {
                    tracing::warn!(%problem, "DCRs from Azure: starting from the cached copy");
                }
                if polled.changed {
                    match tern::dcr::compile(&config.dcr, &config.destinations) {
                        Ok(fresh) => compiled = fresh,
                        Err(errors) => {
                            for e in errors {
                                tracing::error!(
                                    "DCRs from Azure do not compile (keeping the cached set): {e}"
                                );
                            }
                        }
                    }
                }
            }
            Err(_) => tracing::warn!(
                "DCRs from Azure: no answer within 30 s: starting from the cached copies"
            ),
        }
        poller
    });
    match runtime.block_on(tern::run::run(config, compiled, inherited, poller)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern: {e}");
            ExitCode::from(1)
        }
    }
}
