//! Reading DCR files: every `*.json` of a folder, or a file, through [`tern_core::dcr::load`],
//! which reads the text (the file operations stay in the daemon).

use std::path::{Path, PathBuf};

pub use tern_core::dcr::load::*;

use super::DcrError;

/// Reads every DCR under `paths` (files, or folders whose `*.json` files are read in name
/// order). Returns the DCRs, or every error found.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Dcr>, Vec<DcrError>> {
    let mut dcrs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let files = match json_files(path) {
            Ok(f) => f,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for file in files {
            match load_file(&file) {
                Ok(found) => dcrs.extend(found),
                Err(e) => errors.extend(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(dcrs)
    } else {
        Err(errors)
    }
}

fn json_files(path: &Path) -> Result<Vec<PathBuf>, DcrError> {
    // The fix for the usual causes, decided by the error's kind.
    let io_error = |e: std::io::Error| DcrError {
        file: path.display().to_string(),
        path: "(file)".to_owned(),
        message: format!(
            "cannot read: {e}{}",
            match e.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    " (Tern's folders are for root and the tern group: run as root, or as the tern user)"
                }
                std::io::ErrorKind::NotFound => " (create it, or fix the path)",
                _ => "",
            }
        ),
    };
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io_error)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads one file.
pub fn load_file(path: &Path) -> Result<Vec<Dcr>, Vec<DcrError>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![DcrError {
            file: file.clone(),
            path: "(file)".to_owned(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    load_str(&file, &text)
}
