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
    /// The `logFiles` source reading it ([`source_key`]): two sources may read one folder,
    /// or even one file, each at its own position.
    #[serde(default)]
    pub source: String,
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

/// A source's identity in the checkpoints: its stream and patterns.
pub use tern_core::dcr::binding::source_key;

/// An entry's key: (source, device, inode).
pub type Key = (String, u64, u64);

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    /// Sources that have started before: their files present at start are read from their
    /// checkpoint or, without one, whole (`start_at` applies to a source's first start only).
    #[serde(default)]
    sources: Vec<String>,
    files: Vec<Entry>,
}

/// The checkpoints of one Tern.
pub struct Checkpoints {
    path: PathBuf,
    pub entries: HashMap<Key, Entry>,
    pub sources: Vec<String>,
    dirty: bool,
}

impl Checkpoints {
    /// Reads the file; a missing file is an empty set, a damaged one is reported and treated
    /// as empty (files are then read as new: duplicates rather than loss).
    pub fn load(path: &Path) -> Checkpoints {
        let saved = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => saved,
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "file checkpoints damaged; reading files as new");
                    Saved::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot read file checkpoints; reading files as new");
                Saved::default()
            }
        };
        Checkpoints {
            path: path.to_path_buf(),
            entries: saved
                .files
                .into_iter()
                .map(|e| ((e.source.clone(), e.dev, e.ino), e))
                .collect(),
            sources: saved.sources,
            dirty: false,
        }
    }

    pub fn get(&self, source: &str, id: FileId) -> Option<&Entry> {
        self.entries.get(&(source.to_owned(), id.0, id.1))
    }

    pub fn set(&mut self, entry: Entry) {
        let key = (entry.source.clone(), entry.dev, entry.ino);
        if self.entries.get(&key) != Some(&entry) {
            self.entries.insert(key, entry);
            self.dirty = true;
        }
    }

    pub fn remove(&mut self, source: &str, id: FileId) {
        if self
            .entries
            .remove(&(source.to_owned(), id.0, id.1))
            .is_some()
        {
            self.dirty = true;
        }
    }

    /// Records that `source` has started (saved with the next change).
    pub fn started(&mut self, source: &str) {
        if !self.sources.iter().any(|s| s == source) {
            self.sources.push(source.to_owned());
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
        let text = serde_json::to_vec_pretty(&Saved {
            sources: self.sources.clone(),
            files,
        })
        .map_err(std::io::Error::other)?;
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
            source: "s".to_owned(),
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
        assert_eq!(again.get("s", (1, 2)).unwrap().committed, 10);
        assert!(again.get("other", (1, 2)).is_none());
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Checkpoints::load(&path).entries.is_empty());
    }
}
