//! The `tern` forwarder: listeners, routing, row shaping, outputs and uploads around the
//! `tern-parsers` crate. The binary (`main.rs`) is the command line; everything it runs lives
//! here, one folder per stage an event passes through.

pub mod arm;
pub mod config;
pub mod dcr;
pub mod doctor;
pub mod files;
pub mod health;
pub mod heartbeat;
pub mod listen;
pub mod log_limit;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod preflight;
pub mod reload;
pub mod run;
pub mod secure_file;
pub mod send_test;
pub mod spool;
pub mod systemd;
pub mod timezone;
pub mod upload;

// The decisions without I/O live in tern-core; re-exported under the paths the daemon used.
pub use tern_core::{loss_report, marked, reassembly, tables};

/// The layering rule (issue 23): the top-level modules of `tern` and of `tern-core` import
/// each other without a cycle, so each can be read, tested and moved on its own. Read from
/// the sources (`crate::module` paths outside comments and test modules).
#[cfg(test)]
mod layering {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]

    use std::collections::BTreeMap;
    use std::path::Path;

    fn rust_files(path: &Path, found: &mut Vec<std::path::PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                rust_files(&entry.unwrap().path(), found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path.to_path_buf());
        }
    }

    /// Top-level module → the top-level modules it names.
    fn graph(src: &Path) -> BTreeMap<String, Vec<String>> {
        let mut modules: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
        for entry in std::fs::read_dir(src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "lib" || name == "main" {
                continue;
            }
            let mut files = Vec::new();
            rust_files(&path, &mut files);
            modules.entry(name).or_default().extend(files);
        }
        let names: Vec<String> = modules.keys().cloned().collect();
        modules
            .iter()
            .map(|(name, files)| {
                let mut uses = Vec::new();
                for file in files {
                    let text = std::fs::read_to_string(file).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for line in code.lines() {
                        let line = line.split("//").next().unwrap_or_default();
                        for (at, _) in line.match_indices("crate::") {
                            let rest = &line[at + "crate::".len()..];
                            let used: String = rest
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect();
                            if used != *name && names.contains(&used) && !uses.contains(&used) {
                                uses.push(used);
                            }
                        }
                    }
                }
                (name.clone(), uses)
            })
            .collect()
    }

    /// A cycle, as the modules along it, if there is one.
    fn cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            graph: &BTreeMap<String, Vec<String>>,
            path: &mut Vec<String>,
            done: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|n| n == node) {
                let mut found = path[at..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            if done.iter().any(|n| n == node) {
                return None;
            }
            path.push(node.to_owned());
            for next in graph.get(node).into_iter().flatten() {
                if let Some(found) = visit(next, graph, path, done) {
                    return Some(found);
                }
            }
            path.pop();
            done.push(node.to_owned());
            None
        }
        let mut done = Vec::new();
        graph
            .keys()
            .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
    }

    #[test]
    fn top_level_modules_import_each_other_without_a_cycle() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        for src in [manifest.join("src"), manifest.join("../core/src")] {
            let graph = graph(&src);
            assert!(graph.len() >= 5, "{}: {graph:?}", src.display());
            if let Some(found) = cycle(&graph) {
                panic!("{}: {}", src.display(), found.join(" → "));
            }
        }
        // The checker finds a cycle where there is one.
        let looped: BTreeMap<String, Vec<String>> = [
            ("a".to_owned(), vec!["b".to_owned()]),
            ("b".to_owned(), vec!["a".to_owned()]),
        ]
        .into();
        assert_eq!(cycle(&looped).unwrap(), ["a", "b", "a"]);
    }
}
