//! `tern doctor`: checks the whole path an event takes on this host and says, line by line,
//! what works, what does not and the one thing to do about it: the config and DCRs, each
//! listener (bindable or served, certificates valid and not expiring soon), the kernel's UDP
//! drops, the spool (writable, room left), the relays on this host (rsyslog and syslog-ng
//! forwarding to Tern, leftovers of the OMS agent), then each upload target end to end
//! (credential, endpoint, role, stream, clock).

mod local;
mod relays;
mod upload;

use std::path::Path;

use crate::config::Config;
use crate::dcr::Compiled;

/// How a check came out. `Fail` makes `tern doctor` exit 1; `Warn` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One verdict line, with the fix for anything not ok.
pub struct Check {
    pub verdict: Verdict,
    pub what: String,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

fn check(ok: bool, what: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        verdict: if ok { Verdict::Ok } else { Verdict::Fail },
        what: what.into(),
        detail: detail.into(),
        fix: None,
    }
}

fn warn(what: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        verdict: Verdict::Warn,
        ..check(true, what, detail)
    }
}

/// Runs every check; the caller prints them. `root` is where the host's files are read
/// from (`/`; a folder in tests or for a mounted image).
pub async fn run(config: &Config, compiled: &Compiled, root: &Path) -> Vec<Check> {
    let mut checks = vec![check(
        true,
        "config",
        format!(
            "{}: valid; {} listener(s), {} upload target(s)",
            config.source,
            config.listen.len(),
            compiled.bindings.targets.len()
        ),
    )];
    local::run(config, &mut checks);
    relays::run(config, root, &mut checks);
    upload::run(config, compiled, &mut checks).await;
    checks
}
