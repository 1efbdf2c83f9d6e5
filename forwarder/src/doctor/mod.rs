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

/// Each `logFiles` pattern: its folder readable, how many files match and can be read.
fn files(compiled: &Compiled, checks: &mut Vec<Check>) {
    for binding in &compiled.files {
        for pattern in &binding.source.patterns {
            let path = Path::new(pattern);
            let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            let what = format!("files {pattern}");
            let Ok(glob) = glob::Pattern::new(&name.to_string_lossy()) else {
                checks.push(
                    check(false, what, "not a valid pattern")
                        .fix("use * and ? in the file name only"),
                );
                continue;
            };
            let entries = match std::fs::read_dir(folder) {
                Ok(entries) => entries,
                Err(e) => {
                    checks.push(
                        check(false, what, format!("{}: {e}", folder.display())).fix(format!(
                            "create the folder or give the tern user access: setfacl -m u:tern:rx {}",
                            folder.display()
                        )),
                    );
                    continue;
                }
            };
            let matching: Vec<std::path::PathBuf> = entries
                .flatten()
                .filter(|e| glob.matches(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            let unreadable: Vec<String> = matching
                .iter()
                .filter(|p| std::fs::File::open(p).is_err())
                .map(|p| p.display().to_string())
                .collect();
            checks.push(if !unreadable.is_empty() {
                check(
                    false,
                    what,
                    format!("cannot read {}", unreadable.join(", ")),
                )
                .fix(format!(
                    "give the tern user read access: setfacl -m u:tern:r {}",
                    unreadable.join(" ")
                ))
            } else if matching.is_empty() {
                warn(
                    what,
                    "no file matches yet (files that appear later are picked up)",
                )
                .fix("check the path and the name pattern in the DCR's filePatterns")
            } else {
                check(
                    true,
                    what,
                    format!(
                        "{} file(s), readable → {}",
                        matching.len(),
                        binding.table.name()
                    ),
                )
            });
        }
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
    files(compiled, &mut checks);
    if !compiled.files.is_empty() && config.spool.is_none() && !compiled.bindings.targets.is_empty()
    {
        checks.push(
            warn(
                "files without a spool",
                "file positions move once rows are in memory: a crash loses what the uploaders held",
            )
            .fix("add a [spool] section so positions move only once rows are on disk"),
        );
    }
    relays::run(config, root, &mut checks);
    azure_dcrs(config, &mut checks).await;
    upload::run(config, compiled, &mut checks).await;
    checks
}

/// `[[dcr.azure]]`: one poll of Azure Resource Manager, each problem with its fix (a 403 names
/// the Monitoring Reader role).
async fn azure_dcrs(config: &Config, checks: &mut Vec<Check>) {
    let mut poller = match crate::arm::ArmPoller::new(config) {
        Ok(Some(poller)) => poller,
        Ok(None) => return,
        Err(e) => {
            checks.push(check(false, "DCRs from Azure", e));
            return;
        }
    };
    let polled = poller.poll().await;
    if polled.problems.is_empty() {
        checks.push(check(
            true,
            "DCRs from Azure",
            format!(
                "{} entr(ies) read from {}",
                config.dcr.azure.len(),
                config
                    .azure
                    .as_ref()
                    .map_or("", |a| a.resource_manager.as_str())
            ),
        ));
    }
    for problem in polled.problems {
        checks.push(check(false, "DCRs from Azure", problem));
    }
}
