//! `tern health`: a running Tern's health endpoint asked (the Docker image's HEALTHCHECK).

use std::process::ExitCode;

pub(crate) fn health(url: &str, timeout_seconds: u64) -> ExitCode {
    match tern::health::check(url, std::time::Duration::from_secs(timeout_seconds)) {
        Ok(status) => {
            println!("{url}: {status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tern: unhealthy: {e}");
            ExitCode::from(1)
        }
    }
}
