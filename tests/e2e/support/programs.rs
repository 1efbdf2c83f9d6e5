//! The outside programs the end-to-end tests run, how to find them, and how to get them.
//!
//! A test that needs a missing one is skipped with its reason and counted (`main.rs`), unless
//! [`REQUIRE_ALL`] is set, when it fails: `.ci/run` sets it so that CI never passes by skipping.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Set to `1`, a test whose program is missing fails instead of being skipped.
pub const REQUIRE_ALL: &str = "TERN_TEST_REQUIRE_ALL";

/// How every program below gets installed at once, on Debian.
const INSTALL_ALL: &str = "`bash .ci/packages.sh` installs every one on Debian";

/// An outside program (or an rsyslog module) a test runs.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    pub name: &'static str,
    /// Where it comes from, for the skip line.
    package: &'static str,
}

impl Program {
    /// The program called `name` in a test's `needs` list; an unknown name is a typo in
    /// `main.rs`, so it panics at start.
    pub fn named(name: &'static str) -> Program {
        let package = match name {
            "logger" => "Debian package bsdutils (util-linux)",
            "rsyslogd" => "Debian package rsyslog",
            "omrelp" => "rsyslog's RELP module, Debian package rsyslog-relp",
            "gtls" => "rsyslog's TLS driver, Debian package rsyslog-gnutls",
            "syslog-ng" => {
                "Debian's syslog-ng-core unpacked into /opt/tern-ci/syslog-ng (or set \
                 TERN_SYSLOG_NG_ROOT), as .ci/packages.sh does"
            }
            "systemd-analyze"
            | "systemd-socket-activate"
            | "systemd-sysusers"
            | "systemd-tmpfiles" => "Debian package systemd",
            other => panic!("no such test program: {other}"),
        };
        Program { name, package }
    }

    /// Where it is on this machine, if anywhere.
    pub fn path(&self) -> Option<PathBuf> {
        match self.name {
            "syslog-ng" => syslog_ng_root().map(|root| root.join("usr/sbin/syslog-ng")),
            "omrelp" => rsyslog_module("omrelp.so"),
            "gtls" => rsyslog_module("lmnsd_gtls.so"),
            name => on_path(name),
        }
    }

    /// The line a skipped test shows.
    pub fn missing_reason(&self) -> String {
        format!(
            "needs {} (not found): {}; {INSTALL_ALL}",
            self.name, self.package
        )
    }
}

/// The program `name` in `PATH` or the sbin folders (not always in a user's `PATH`).
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|folder| folder.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// rsyslog's module `file` (Debian keeps them under the multiarch library folder).
fn rsyslog_module(file: &str) -> Option<PathBuf> {
    let folders = std::fs::read_dir("/usr/lib").ok()?;
    folders
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("rsyslog").join(file))
        .chain([PathBuf::from("/usr/lib/rsyslog").join(file)])
        .find(|candidate| candidate.is_file())
}

/// The root syslog-ng's files are under: `TERN_SYSLOG_NG_ROOT`, /opt/tern-ci/syslog-ng (where
/// `.ci/packages.sh` unpacks Debian's package: it conflicts with rsyslog as a package), or `/`.
pub fn syslog_ng_root() -> Option<PathBuf> {
    let configured = std::env::var_os("TERN_SYSLOG_NG_ROOT")
        .map_or_else(|| PathBuf::from("/opt/tern-ci/syslog-ng"), PathBuf::from);
    [configured, PathBuf::from("/")]
        .into_iter()
        .find(|root| is_executable(&root.join("usr/sbin/syslog-ng")))
}

/// The tests skipped in this run, for the summary after the harness's own.
#[derive(Clone, Default)]
pub struct Skips(Arc<Mutex<Vec<(&'static str, Program)>>>);

impl Skips {
    pub fn record(&self, test: &'static str, program: Program) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((test, program));
    }

    /// One line per missing program with the tests it held back, then how to run them all.
    pub fn print_summary(&self) {
        let skips = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if skips.is_empty() {
            return;
        }
        let mut programs: Vec<&'static str> = skips.iter().map(|(_, p)| p.name).collect();
        programs.sort_unstable();
        programs.dedup();
        println!(
            "skipped {} end-to-end tests: programs missing on this machine",
            skips.len()
        );
        for program in programs {
            let tests: Vec<&str> = skips
                .iter()
                .filter(|(_, p)| p.name == program)
                .map(|(test, _)| *test)
                .collect();
            println!("  {program} ({} tests): {}", tests.len(), tests.join(", "));
        }
        println!("{INSTALL_ALL}; {REQUIRE_ALL}=1 makes these tests fail instead of skipping.\n");
    }
}
