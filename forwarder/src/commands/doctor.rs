//! `tern doctor`: what is wrong on this host and with each upload target.

use std::path::PathBuf;
use std::process::ExitCode;

use tern::doctor::Verdict;

use super::load::{load_all, runtime};

pub(crate) fn doctor(path: PathBuf, root: &std::path::Path) -> ExitCode {
    let ((config, compiled), runtime) =
        match load_all(Some(path)).and_then(|l| Ok((l, runtime(false)?))) {
            Ok(ready) => ready,
            Err(code) => return code,
        };
    let checks = runtime.block_on(tern::doctor::run(&config, &compiled, root));
    for c in &checks {
        let verdict = match c.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        println!("{verdict} {}: {}", c.what, c.detail);
        if let Some(fix) = &c.fix {
            println!("     fix: {fix}");
        }
    }
    if checks.iter().all(|c| c.verdict != Verdict::Fail) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
