//! `[files]`: how the log files of DCR `logFiles` sources are read.

use super::*;

/// `[files]`: how the log files of DCR `logFiles` sources are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    /// Where each file's position is kept (default: beside the spool, else
    /// /var/lib/tern/file-checkpoints.json).
    pub checkpoint_path: PathBuf,
    /// Longer records are cut to this and counted.
    pub max_record_bytes: usize,
    /// Files present when Tern first sees them at start without a checkpoint: read from the
    /// beginning (`true`) or only what is appended (`false`, the default, as `tail -F`).
    pub start_at_beginning: bool,
    /// A last line without its newline (or an open multi-line record) is sent after this.
    pub partial_flush: std::time::Duration,
    /// `allowed_roots`: set, a pattern outside these folders is refused when its DCR is
    /// loaded, and a file whose real path (symlinked folders resolved) is outside them is not
    /// read. `None` (the default): any folder a DCR names.
    pub allowed_roots: Option<Vec<PathBuf>>,
}

impl Default for FilesConfig {
    fn default() -> FilesConfig {
        FilesConfig {
            checkpoint_path: PathBuf::from("/var/lib/tern/file-checkpoints.json"),
            max_record_bytes: 64 * 1024,
            start_at_beginning: false,
            partial_flush: std::time::Duration::from_secs(5),
            allowed_roots: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_allowed_roots_are_absolute_folders_or_unset() {
        let listen = "[[listen]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let with = |files: &str| Config::parse("t.toml", &format!("{listen}[files]\n{files}"));
        assert_eq!(with("").unwrap().files.allowed_roots, None);
        let set = with("allowed_roots = [\"/var/log\", \"/srv/app/logs/\"]\n").unwrap();
        assert_eq!(
            set.files.allowed_roots,
            Some(vec![
                PathBuf::from("/var/log"),
                PathBuf::from("/srv/app/logs")
            ])
        );
        for bad in ["[\"var/log\"]", "[\"/var/log/../../etc\"]", "[]"] {
            let err = with(&format!("allowed_roots = {bad}\n"))
                .unwrap_err()
                .into_first();
            assert_eq!(err.line, 5, "{bad}");
            assert!(
                err.message.starts_with("files.allowed_roots: "),
                "{}",
                err.message
            );
        }
    }
}
