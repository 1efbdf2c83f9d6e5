//! Creating and opening for write the files Tern owns: spool segments and cursors, output
//! files, the dead-letter file, `tern doctor`'s probe.
//!
//! Never through a symlink (whoever can write one of those folders could otherwise make Tern,
//! or root running `tern doctor`, write or truncate any file), never into a FIFO or device, and
//! with an explicit mode rather than what the umask leaves (a daemon started from a shell
//! would create world-readable files).

use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::libc;

/// Spool segments and cursors, the dead-letter file, probes: read by Tern only.
pub const PRIVATE: u32 = 0o600;
/// Output files, which operators read through the group.
pub const GROUP_READABLE: u32 = 0o640;

/// Creates `path`, which must not exist (not even as a dangling symlink), for writing, with
/// exactly `mode`.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    create(path, mode, false)
}

/// Opens `path` for appending, creating it with exactly `mode` if it is missing. An existing
/// file must be a regular file reached without a symlink; its mode is narrowed to `mode` when
/// it is more open (never widened: an operator's tighter choice stays).
pub fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    // Two opens, so a file made here gets exactly `mode` whatever the umask; tried again if the
    // file is moved away in between (logrotate).
    let mut tries = 0;
    loop {
        match create(path, mode, true) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            result => return result,
        }
        match open_existing_for_append(path, mode) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 2 => tries += 1,
            result => return result,
        }
    }
}

/// Replaces `path` with `bytes` at once: a temporary file beside it (`<path>.tmp`, created
/// afresh, with `mode`), forced to disk when `sync`, then renamed over `path` (which replaces
/// a symlink there rather than writing through it). One writer per path at a time.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let mut file = match create_new(&tmp, mode) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Left by a crash mid-write, or planted: unlinking a symlink leaves its target be.
            std::fs::remove_file(&tmp)?;
            create_new(&tmp, mode)?
        }
        result => result?,
    };
    let mut written = file.write_all(bytes);
    if sync && written.is_ok() {
        written = file.sync_data();
    }
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)
}

/// `path` with `suffix` added to its file name (`dead-letter.jsonl` → `dead-letter.jsonl.1`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn create(path: &Path, mode: u32, append: bool) -> io::Result<File> {
    // O_EXCL fails on any existing name, a symlink included; O_NOFOLLOW is belt and braces.
    // (std adds O_CLOEXEC itself; named for the reader.)
    let file = OpenOptions::new()
        .write(!append)
        .append(append)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // The umask may have taken bits `mode` asks for (0640 under umask 077).
    if let Err(e) = file.set_permissions(Permissions::from_mode(mode)) {
        // Ours (O_EXCL): removed, so that a retry under the same name can create it.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

fn open_existing_for_append(path: &Path, mode: u32) -> io::Result<File> {
    // O_NONBLOCK so that a FIFO planted there fails (no reader) or opens at once instead of
    // hanging; it means nothing to a regular file and is cleared below.
    let file = OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    // A hard link planted in the folder would have Tern append to (and narrow the mode of)
    // another file; O_NOFOLLOW stops only symlinks.
    if meta.nlink() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "has other hard links: refused",
        ));
    }
    let flags = fcntl(&file, FcntlArg::F_GETFL)?;
    let mut flags = OFlag::from_bits_retain(flags);
    flags.remove(OFlag::O_NONBLOCK);
    fcntl(&file, FcntlArg::F_SETFL(flags))?;
    narrow(&file, &meta, mode, path);
    Ok(file)
}

/// Takes away the permission bits `mode` does not grant. A failure (the file belongs to
/// another user) is logged, not fatal: the file was in use that way before.
fn narrow(file: &File, meta: &Metadata, mode: u32, path: &Path) {
    let current = meta.mode() & 0o7777;
    if current & !mode == 0 {
        return;
    }
    if let Err(e) = file.set_permissions(Permissions::from_mode(current & mode)) {
        tracing::warn!(path = %path.display(), error = %e, "the file is open to more users than mode {mode:o} allows (mode {current:o}) and cannot be narrowed; change its owner or mode");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode_of(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn open_append_refuses_a_file_with_other_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let planted = dir.path().join("out.jsonl");
        std::fs::hard_link(&victim, &planted).unwrap();
        let err = open_append(&planted, GROUP_READABLE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn create_new_refuses_an_existing_file_and_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        let dangling = dir.path().join("dangling");
        let nowhere = dir.path().join("nowhere");
        symlink(&nowhere, &dangling).unwrap();

        for path in [&target, &link, &dangling] {
            let e = create_new(path, PRIVATE).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{}", path.display());
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(
            !nowhere.exists(),
            "a dangling link's target must not be created"
        );

        let new = dir.path().join("new");
        let mut file = create_new(&new, PRIVATE).unwrap();
        file.write_all(b"x").unwrap();
        assert_eq!(std::fs::read(&new).unwrap(), b"x");
    }

    #[test]
    fn open_append_refuses_a_symlink_and_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        assert!(open_append(&link, PRIVATE).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No reader: the open itself fails (ENXIO) rather than waiting for one.
        assert!(open_append(&fifo, PRIVATE).is_err());
        // With a reader the open succeeds, and the file type check refuses it.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let e = open_append(&fifo, PRIVATE).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn open_append_appends_and_sets_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut file = open_append(&path, PRIVATE).unwrap();
        file.write_all(b"a\n").unwrap();
        // Exactly the mode asked for, whatever the umask: created with it, then fchmod.
        assert_eq!(mode_of(&path) & 0o777, 0o600);
        let mut file = open_append(&path, PRIVATE).unwrap();
        file.write_all(b"b\n").unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"a\nb\n");

        let shared = dir.path().join("shared");
        drop(open_append(&shared, GROUP_READABLE).unwrap());
        assert_eq!(mode_of(&shared), 0o640);

        // An existing file more open than asked is narrowed; a tighter one is left alone.
        std::fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        drop(open_append(&path, PRIVATE).unwrap());
        assert_eq!(mode_of(&path), 0o600);
        std::fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        let _ = open_append(&path, PRIVATE);
        assert_eq!(mode_of(&path), 0o400);
    }

    #[test]
    fn create_new_sets_the_mode_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        drop(create_new(&private, PRIVATE).unwrap());
        assert_eq!(mode_of(&private), 0o600);
        let shared = dir.path().join("shared");
        drop(create_new(&shared, GROUP_READABLE).unwrap());
        assert_eq!(mode_of(&shared), 0o640);
    }

    #[test]
    fn write_atomically_replaces_links_and_leftovers_without_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let path = dir.path().join("cursor");
        // A planted temporary name and destination, both links to the target.
        symlink(&target, with_suffix(&path, ".tmp")).unwrap();
        symlink(&target, &path).unwrap();
        write_atomically(&path, b"7\n", PRIVATE, true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_file()
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"7\n");
        assert_eq!(mode_of(&path), 0o600);
        assert!(!with_suffix(&path, ".tmp").exists());
        // A leftover regular temporary file (a crash mid-write) is no obstacle either.
        std::fs::write(with_suffix(&path, ".tmp"), "half").unwrap();
        write_atomically(&path, b"8\n", PRIVATE, false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"8\n");
    }
}
