//! What a `logFiles` source may read. A DCR names the patterns, but the folders they match are
//! often writable by others (an application's own log folder): a symlink or hard link planted
//! there must not make Tern upload its client secret, and a FIFO must not block a tailer
//! forever. So:
//! - only regular files are read: never a symlink (`O_NOFOLLOW`), a FIFO, socket, device or
//!   folder;
//! - never Tern's own configuration, credentials or state ([`Forbidden`]);
//! - with `[files] allowed_roots`, only files whose real path is under one of those folders
//!   (a symlinked folder inside a root could otherwise lead out of it).
//!
//! The decision is made on the opened descriptor (`fstat`, and the path the kernel resolved
//! for it), never on a `stat` of the path before opening, which a swap could outrun.

use std::fs::{File, Metadata, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::config::{Config, FilesConfig};

/// Why a file matching a pattern is not read: named in the warning, counted in
/// `tern_file_errors_total` (which has no reason label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A symlink: read through, it could name any file Tern can read.
    Symlink,
    /// A FIFO, socket, device or folder: not a log, and a FIFO's read blocks.
    NotRegular,
    /// One of Tern's own files ([`Forbidden`]).
    Forbidden,
    /// Its real path is under none of `[files] allowed_roots`.
    OutsideRoots,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Symlink => "symlink",
            Refusal::NotRegular => "not_regular",
            Refusal::Forbidden => "forbidden",
            Refusal::OutsideRoots => "outside_allowed_roots",
        }
    }
}

/// Why [`open_log_file`] gives no file.
#[derive(Debug)]
pub enum OpenError {
    Refused(Refusal),
    Io(std::io::Error),
}

/// Tern's configuration and state folders in the packaged layout (`conf/tern.toml`,
/// `packaging/`): the client secret, certificates and TLS keys live in the first; the spool,
/// checkpoints and dead letters in the second. Refused whatever the configuration says.
pub const DEFAULT_DIRS: [&str; 2] = ["/etc/tern", "/var/lib/tern"];

/// Tern's own files, never read as logs whatever a DCR names.
#[derive(Debug, Clone, Default)]
pub struct Forbidden {
    /// Refused however they are reached: compared by device and inode with the opened file (a
    /// hard link in a watched folder is the same file under another name).
    files: Vec<PathBuf>,
    /// Everything under these folders: by the opened file's real path and, for a file with
    /// several links, by looking for it in them (a hard link made elsewhere).
    dirs: Vec<PathBuf>,
}

impl Forbidden {
    /// [`DEFAULT_DIRS`] and the file checkpoints (wherever `[files]` puts them).
    pub fn defaults(files: &FilesConfig) -> Forbidden {
        let mut forbidden = Forbidden::default();
        for dir in DEFAULT_DIRS {
            forbidden.dir(dir);
        }
        forbidden.file(&files.checkpoint_path);
        forbidden.file(files.checkpoint_path.with_extension("json.tmp"));
        forbidden
    }

    /// [`Forbidden::defaults`] plus the files `config` names: the configuration file itself,
    /// the spool folder, the dead-letter file, output files, listener TLS certificates and
    /// keys, the proxy CA, the workload-identity token and the Azure Arc key folder. (The
    /// client secret and certificate files are read at load and their paths not kept in
    /// [`Config`]: they are covered when they are in /etc/tern, as packaged.)
    pub fn for_config(config: &Config) -> Forbidden {
        use crate::upload::auth::Credential;
        let mut forbidden = Forbidden::defaults(&config.files);
        // `tern run --config tern.toml` gives a relative path: refused by where it is.
        if let Ok(source) = std::fs::canonicalize(Path::new(&config.source)) {
            forbidden.file(source);
        }
        if let Some(spool) = &config.spool {
            forbidden.dir(&spool.dir);
        }
        if let Some(azure) = &config.azure {
            forbidden.file(&azure.dead_letter);
            if let Some(ca) = &azure.http.ca_file {
                forbidden.file(ca);
            }
            match &azure.credential {
                Some(Credential::WorkloadIdentity(w)) => forbidden.file(&w.token_file),
                Some(Credential::AzureArc(a)) => forbidden.dir(&a.key_dir),
                _ => {}
            }
        }
        for output in &config.outputs {
            // Rows Tern wrote: read back, they would loop.
            if let crate::config::Output::File(path) = output {
                forbidden.file(path);
            }
        }
        for listen in &config.listen {
            if let Some(tls) = &listen.tls {
                forbidden.file(&tls.cert);
                forbidden.file(&tls.key);
                if let Some(ca) = &tls.client_ca {
                    forbidden.file(ca);
                }
            }
        }
        forbidden
    }

    /// Refuses this file however it is reached.
    pub fn file(&mut self, path: impl Into<PathBuf>) {
        self.files.push(path.into());
    }

    /// Refuses everything under this folder.
    pub fn dir(&mut self, path: impl Into<PathBuf>) {
        self.dirs.push(path.into());
    }

    /// Whether the opened file (`meta`, real path `resolved`) is one of these. The listed paths
    /// are looked up now rather than when the set was made: a secret replaced since (a new
    /// inode) or a folder made later is still covered; this runs once per newly found file.
    fn covers(&self, resolved: &Path, meta: &Metadata) -> bool {
        let same_file = |path: &PathBuf| {
            std::fs::metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
        };
        self.files.iter().any(same_file)
            || self.dirs.iter().any(|dir| {
                let real_dir = real(dir);
                resolved.starts_with(dir)
                    || resolved.starts_with(&real_dir)
                    // A file with one link is only where its path says; with more, one may be
                    // in the folder (hard links stay on their file system).
                    || (meta.nlink() > 1
                        && std::fs::metadata(&real_dir).is_ok_and(|d| d.dev() == meta.dev())
                        && holds(&real_dir, meta, HARD_LINK_DEPTH))
            })
    }

    /// The forbidden folder a pattern's fixed part is in, if any: such a source is refused at
    /// load rather than file by file.
    fn folder_of(&self, prefix: &Path) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|dir| {
                let dir = dir.as_path();
                prefix.starts_with(lexical(dir)) || prefix.starts_with(real(dir))
            })
            .map(PathBuf::as_path)
    }
}

/// Folder levels below a forbidden folder searched for a hard link (the spool's segments are
/// two down).
const HARD_LINK_DEPTH: usize = 3;

/// Whether `dir`, or a folder below it down to `depth` levels, has a link to the file `meta`
/// describes. Symlinks are not followed.
fn holds(dir: &Path, meta: &Metadata, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        // `DirEntry::metadata` does not follow a symlink.
        let Ok(m) = entry.metadata() else {
            return false;
        };
        (m.dev() == meta.dev() && m.ino() == meta.ino())
            || (depth > 0 && m.is_dir() && holds(&entry.path(), meta, depth - 1))
    })
}

/// Checks a pattern when its source starts: its fixed part (the folders before any wildcard,
/// `..` resolved) must be under one of `roots` when they are set, and not in a forbidden
/// folder. Both are checked again on each opened file's real path, which symlinked folders
/// can make differ.
pub fn check_pattern(
    pattern: &str,
    roots: Option<&[PathBuf]>,
    forbidden: &Forbidden,
) -> Result<(), String> {
    let prefix = fixed_prefix(pattern);
    if let Some(dir) = forbidden.folder_of(&prefix) {
        return Err(format!(
            "`{pattern}`: in {}, Tern's own configuration or state: never collected",
            dir.display()
        ));
    }
    let Some(roots) = roots else {
        return Ok(());
    };
    if roots
        .iter()
        .any(|root| prefix.starts_with(lexical(root)) || prefix.starts_with(real(root)))
    {
        return Ok(());
    }
    let names: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
    Err(format!(
        "`{pattern}`: outside every folder of [files] allowed_roots ({}): not collected",
        names.join(", ")
    ))
}

/// Opens a log file for reading, and checks what was opened: a regular file, not one of
/// Tern's own, under `roots` when they are set.
///
/// `O_NOFOLLOW` fails with `ELOOP` on a symlink (no window between a check and the open);
/// `O_NONBLOCK` makes opening a FIFO return at once rather than wait for a writer (and keeps a
/// device's open from waiting), `O_NOCTTY` keeps a terminal from becoming Tern's. The flag
/// stays set: regular files ignore it, and everything else is refused here.
pub fn open_log_file(
    path: &Path,
    forbidden: &Forbidden,
    roots: Option<&[PathBuf]>,
) -> Result<(File, Metadata), OpenError> {
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| match e.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ELOOP) => OpenError::Refused(Refusal::Symlink),
            // A socket cannot be opened (ENXIO): not a file either way.
            Some(Errno::ENXIO) => OpenError::Refused(Refusal::NotRegular),
            _ => OpenError::Io(e),
        })?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.file_type().is_file() {
        return Err(OpenError::Refused(Refusal::NotRegular));
    }
    let resolved = opened_path(&file, path, &meta).map_err(OpenError::Io)?;
    if forbidden.covers(&resolved, &meta) {
        return Err(OpenError::Refused(Refusal::Forbidden));
    }
    if roots.is_some_and(|roots| !roots.iter().any(|root| resolved.starts_with(real(root)))) {
        return Err(OpenError::Refused(Refusal::OutsideRoots));
    }
    Ok((file, meta))
}

/// The real path of the opened `file` (opened at `path`). `/proc/self/fd/N` is what the kernel
/// resolved when opening, every symlinked folder on the way followed, so a folder swapped for a
/// symlink after the listing is still seen for what it was. Without /proc: the parent folder
/// canonicalized, joined with the name, and accepted only if that names the same inode now (a
/// swap in between is then an error, not a wrong answer).
fn opened_path(file: &File, path: &Path, meta: &Metadata) -> std::io::Result<PathBuf> {
    let from_proc = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()));
    if let Some(resolved) = from_proc.ok().filter(|p| p.is_absolute()) {
        return Ok(resolved);
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other("not a file path"));
    };
    let candidate = std::fs::canonicalize(parent)?.join(name);
    let now = std::fs::symlink_metadata(&candidate)?;
    if now.dev() == meta.dev() && now.ino() == meta.ino() {
        Ok(candidate)
    } else {
        Err(std::io::Error::other("moved while being opened"))
    }
}

/// The folders of `pattern` before the first component with a wildcard (the whole path when
/// it has none), `..` resolved without looking at the disk: what the pattern can reach at
/// most, short of symlinks (which the check on the opened file catches).
pub fn fixed_prefix(pattern: &str) -> PathBuf {
    let fixed: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    lexical(&fixed)
}

/// `path` with `.` dropped and `..` taken off the folder before it, on the text alone.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` with its symlinks resolved, or as given while it does not exist (nothing can be
/// under it then).
fn real(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| lexical(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prefix_stops_at_the_first_wildcard_and_resolves_dots() {
        assert_eq!(
            fixed_prefix("/var/log/app/*.log"),
            Path::new("/var/log/app")
        );
        assert_eq!(
            fixed_prefix("/var/log/app.log"),
            Path::new("/var/log/app.log")
        );
        assert_eq!(
            fixed_prefix("/var/log/../../etc/tern/*"),
            Path::new("/etc/tern")
        );
        assert_eq!(fixed_prefix("/var/./log/a?c.log"), Path::new("/var/log"));
    }

    #[test]
    fn patterns_outside_the_roots_or_in_tern_folders_are_refused_at_load() {
        let roots = [PathBuf::from("/var/log"), PathBuf::from("/srv/app/logs")];
        let roots = Some(roots.as_slice());
        let none = Forbidden::default();
        assert_eq!(check_pattern("/var/log/app/*.log", roots, &none), Ok(()));
        assert_eq!(check_pattern("/srv/app/logs/*.log", roots, &none), Ok(()));
        assert_eq!(check_pattern("/etc/*.conf", None, &none), Ok(()));
        let err = check_pattern("/var/log/../../etc/*.conf", roots, &none).unwrap_err();
        assert!(err.contains("`/var/log/../../etc/*.conf`"), "{err}");
        assert!(
            err.contains("[files] allowed_roots (/var/log, /srv/app/logs)"),
            "{err}"
        );
        // A sibling whose name starts like a root is not in it (whole components compared).
        assert!(check_pattern("/var/logs/*.log", roots, &none).is_err());
        let err = check_pattern(
            "/etc/tern/*",
            None,
            &Forbidden::defaults(&FilesConfig::default()),
        )
        .unwrap_err();
        assert!(err.contains("in /etc/tern"), "{err}");
    }
}
