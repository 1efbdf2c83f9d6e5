//! Shared helpers for the benchmarks: loading realistic inputs from the shared corpus.

pub mod walks;

use std::path::{Path, PathBuf};

/// `../shared/corpus` beside the checkout, or `TERN_CORPUS`.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("TERN_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
        PathBuf::from,
    )
}

/// The workload of the `profile_*` examples, from their arguments `FOLDER ROUNDS`: the lines
/// of that corpus folder (`default_folder` when none is named) and how many passes to make
/// over them (100 by default).
pub fn profile_workload(default_folder: &str) -> (Vec<String>, usize) {
    let args: Vec<String> = std::env::args().collect();
    let folder = args.get(1).map_or(default_folder, String::as_str);
    let rounds = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(100);
    (corpus_lines(folder), rounds)
}

/// Every non-empty line of the `*.log` files in one corpus folder that is valid UTF-8 (the
/// crates compared against take `&str`).
pub fn corpus_lines(folder: &str) -> Vec<String> {
    let dir = corpus_dir().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .filter_map(|p| std::fs::read(p).ok())
        .flat_map(|bytes| {
            bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .filter_map(|l| String::from_utf8(l.to_vec()).ok())
                .collect::<Vec<_>>()
        })
        .collect()
}
