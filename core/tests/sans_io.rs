//! tern-core stays free of I/O (issue 23): its sources (outside their test modules) name no
//! runtime, socket, file or clock, and its dependency tree holds no async runtime or HTTP
//! stack. Both are read from disk here, so a change that breaks the rule fails `cargo test`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the core's code must not use: it takes the time and the bytes as inputs.
const FORBIDDEN_IN_CODE: [&str; 10] = [
    "tokio",
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "reqwest",
    "hyper",
    "Instant::now",
    "SystemTime::now",
    "std::io::stdin",
];

/// Crates that would bring sockets or an async runtime into the core.
const FORBIDDEN_CRATES: [&str; 7] = [
    "tokio", "hyper", "reqwest", "mio", "socket2", "h2", "rustls",
];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_code_names_no_runtime_socket_file_or_clock() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() >= 5, "{files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Test modules may read fixtures; they come last in each file.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN_IN_CODE {
                if line.contains(word) {
                    offences.push(format!("{}:{}: {word}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn the_dependency_tree_holds_no_runtime_or_http_stack() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let lock: toml::Table = std::fs::read_to_string(lock).unwrap().parse().unwrap();
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock["package"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_owned();
        let dependencies: Vec<String> = package
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    // "name" or "name version" when several versions are locked.
                    .map(|v| v.as_str().unwrap().split(' ').next().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        graph.entry(name).or_default().extend(dependencies);
    }
    // Cargo.lock lists dev-dependencies too: stricter than the build needs.
    let mut seen = BTreeSet::new();
    let mut queue = vec!["tern-core".to_owned()];
    while let Some(name) = queue.pop() {
        if seen.insert(name.clone()) {
            queue.extend(graph.get(&name).into_iter().flatten().cloned());
        }
    }
    assert!(seen.contains("tern-parsers"), "{seen:?}");
    let found: Vec<&str> = FORBIDDEN_CRATES
        .iter()
        .copied()
        .filter(|c| seen.contains(*c))
        .collect();
    assert!(found.is_empty(), "tern-core depends on {found:?}");
}
