//! Where each collected file is up to, kept across restarts: per file identity (device and
//! inode) the offset whose bytes are all delivered (`committed`), the offset of rows handed to
//! the uploaders but not yet confirmed spooled (`pending`, so rows read again after a crash
//! are counted as possible duplicates), and a fingerprint of the first bytes, so a reused
//! inode or a copy made by copytruncate is recognised.
//!
//! Saved as JSON by writing a temporary file, syncing it and renaming it over the old one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bytes at the start of a file that identify its content.
pub const FINGERPRINT_BYTES: usize = 1024;

/// A file's identity on disk.
pub type FileId = (u64, u64);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub dev: u64,
    pub ino: u64,
    /// Everything before this offset is in the spool (or the outputs).
    pub committed: u64,
    /// Rows up to this offset were handed over and may be in the spool.
    pub pending: u64,
    /// CRC32C of the first `fingerprint_len` bytes.
    pub fingerprint: u32,
    pub fingerprint_len: u32,
    /// The path it was last seen at (for people reading the file).
    pub path: String,
}

/// The fingerprint of a file's first bytes: (crc, length covered).
pub fn fingerprint(head: &[u8]) -> (u32, u32) {
    let head = head.get(..FINGERPRINT_BYTES).unwrap_or(head);
    (
        crc32c::crc32c(head),
        u32::try_from(head.len()).unwrap_or(u32::MAX),
    )
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    files: Vec<Entry>,
}

/// The checkpoints of one Tern.
pub struct Checkpoints {
    path: PathBuf,
    pub entries: HashMap<FileId, Entry>,
    dirty: bool,
}

impl Checkpoints {
    /// Reads the file; a missing file is an empty set, a damaged one is reported and treated
    /// as empty (files are then read as new: duplicates rather than loss).
    pub fn load(path: &Path) -> Checkpoints {
        let entries = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => saved
                    .files
                    .into_iter()
                    .map(|e| ((e.dev, e.ino), e))
                    .collect(),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "file checkpoints damaged; reading files as new");
                    HashMap::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot read file checkpoints; reading files as new");
                HashMap::new()
            }
        };
        Checkpoints {
            path: path.to_path_buf(),
            entries,
            dirty: false,
        }
    }

    pub fn set(&mut self, entry: Entry) {
        let id = (entry.dev, entry.ino);
        if self.entries.get(&id) != Some(&entry) {
            self.entries.insert(id, entry);
            self.dirty = true;
        }
    }

    pub fn remove(&mut self, id: FileId) {
        if self.entries.remove(&id).is_some() {
            self.dirty = true;
        }
    }

    /// Writes the checkpoints if they changed.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut files: Vec<Entry> = self.entries.values().cloned().collect();
        files.sort_by_key(|e| (e.dev, e.ino));
        let text = serde_json::to_vec_pretty(&Saved { files }).map_err(std::io::Error::other)?;
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        if let Some(parent) = self.path.parent() {
            if let Ok(dir) = std::fs::File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut c = Checkpoints::load(&path);
        assert!(c.entries.is_empty());
        let (fingerprint, fingerprint_len) = fingerprint(b"hello");
        c.set(Entry {
            dev: 1,
            ino: 2,
            committed: 10,
            pending: 12,
            fingerprint,
            fingerprint_len,
            path: "/x".to_owned(),
        });
        c.save().unwrap();
        let again = Checkpoints::load(&path);
        assert_eq!(again.entries[&(1, 2)].committed, 10);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Checkpoints::load(&path).entries.is_empty());
    }
}
