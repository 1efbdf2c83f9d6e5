//! `[[output]]`: local copies of the rows (stdout, a file).

use super::*;

/// Where rows go locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Stdout => f.write_str("stdout"),
            Output::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

impl Output {
    /// What `tern run` would fail on when it opens this output, so that `tern check` says so
    /// first: a file output whose folder does not exist.
    pub fn problem(&self) -> Option<String> {
        let Output::File(path) = self else {
            return None;
        };
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| std::path::Path::new("."));
        (!folder.is_dir()).then(|| {
            format!(
                "output file {}: the folder {} does not exist",
                path.display(),
                folder.display()
            )
        })
    }
}

/// `output[i]`, checked.
pub(super) fn output(
    i: usize,
    o: &RawOutput,
    at: &impl Fn(std::ops::Range<usize>, String) -> ConfigError,
) -> Result<Output, ConfigError> {
    Ok(match (o.kind.get_ref().as_str(), &o.path) {
        ("stdout", None) => Output::Stdout,
        ("stdout", Some(path)) => {
            return Err(at(
                path.span(),
                format!("output[{i}].path: a stdout output takes no path"),
            ));
        }
        ("file", Some(path)) => Output::File(PathBuf::from(path.get_ref())),
        ("file", None) => {
            return Err(at(
                o.kind.span(),
                format!("output[{i}]: a file output needs `path`"),
            ));
        }
        (other, _) => {
            return Err(at(
                o.kind.span(),
                format!("output[{i}].kind: unknown output `{other}`: use stdout or file"),
            ));
        }
    })
}
