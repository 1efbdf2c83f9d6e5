//! `tern check`: the configuration and DCRs checked, and what Tern would do with them.

use std::path::PathBuf;
use std::process::ExitCode;

use tern::dcr::Compiled;

use super::load::{check_tls, load_all};

pub(crate) fn check(path: PathBuf) -> ExitCode {
    let (config, compiled) = match load_all(Some(path)) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let tls_notes = match check_tls(&config, true) {
        Ok(notes) => notes,
        Err(code) => return code,
    };
    // What `run` would refuse when it opens its outputs, `check` refuses too.
    let output_problems: Vec<String> = config
        .outputs
        .iter()
        .filter_map(tern::config::Output::problem)
        .collect();
    let gaps = tern::preflight::upload_gaps(&config, &compiled);
    if !output_problems.is_empty() || !gaps.is_empty() {
        for problem in output_problems {
            eprintln!("tern: config error: {}: {problem}", config.source);
        }
        for gap in gaps {
            eprintln!("tern: dcr error: {gap}");
        }
        return ExitCode::from(2);
    }
    let Compiled {
        routing,
        bindings,
        files,
        scopes,
    } = compiled;
    println!("{}: ok", config.source);
    println!("collector host name: {}", config.hostname);
    for listen in &config.listen {
        println!(
            "listen {} (format {}, max message {} bytes{})",
            listen.name(),
            listen.format.name(),
            listen.max_message_bytes,
            if listen.allow.is_empty() {
                String::new()
            } else {
                format!(
                    ", allow {}",
                    listen
                        .allow
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        );
    }
    for output in &config.outputs_for(!bindings.targets.is_empty()) {
        println!("output {output}");
    }
    for path in &config.dcr.paths {
        println!("dcr path {}", path.display());
    }
    println!(
        "routing (duplicate_cef_to_syslog = {}):",
        config.dcr.duplicate_cef_to_syslog
    );
    for line in routing.describe() {
        println!("  {line}");
    }
    for scope in &scopes {
        println!(
            "routing of listeners and senders bound to {}:",
            scope.dcrs.join(", ")
        );
        for line in scope.routing.describe() {
            println!("  {line}");
        }
    }
    for file in &files {
        println!(
            "files {} ({:?}{}) → {} ({} target(s)) from {}",
            file.source.patterns.join(" "),
            file.source.format,
            file.source
                .record_start
                .map(|r| format!(", records start with {r:?}"))
                .unwrap_or_default(),
            file.table.name(),
            file.targets.len(),
            file.origin
        );
    }
    if !bindings.targets.is_empty() {
        println!("upload targets:");
        for line in bindings.describe(&routing) {
            println!("  {line}");
        }
    }
    for note in routing
        .notes
        .iter()
        .chain(&bindings.notes)
        .chain(&tls_notes)
    {
        println!("note: {note}");
    }
    ExitCode::SUCCESS
}
