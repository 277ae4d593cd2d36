//! Crash-safe file writes shared by the secret store and the renderer.
//!
//! A temp file is created in the target directory with its final mode from the start (no umask
//! window), written, fsynced, renamed over the target, and the directory is fsynced. A crash leaves
//! the old file or the new one, never a torn one.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// How an atomic write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// `create_new` was asked and the target already existed: nothing was changed.
    AlreadyExists,
}

/// Creates `dir` (and parents) if missing and sets its mode exactly.
pub fn ensure_dir(dir: &Path, mode: u32) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(mode))
}

/// Atomically writes `contents` to `path` with `mode`. With `create_new`, an existing target is
/// left untouched (the rename is a no-clobber hard link), which makes concurrent creators safe.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    mode: u32,
    create_new: bool,
) -> io::Result<WriteOutcome> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".stackctl-tmp-")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    let outcome = if create_new {
        match tmp.persist_noclobber(path) {
            Ok(_) => WriteOutcome::Written,
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(WriteOutcome::AlreadyExists);
            }
            Err(e) => return Err(e.error),
        }
    } else {
        tmp.persist(path).map_err(|e| e.error)?;
        WriteOutcome::Written
    };
    sync_dir(dir)?;
    Ok(outcome)
}

/// fsync a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive advisory lock on `path` (created 0600 if missing), released on drop.
pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(path: &Path) -> io::Result<DirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)?;
        file.lock()?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_with_mode_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        assert_eq!(
            write_atomic(&p, b"one", 0o600, false).expect("write"),
            WriteOutcome::Written
        );
        assert_eq!(fs::metadata(&p).expect("meta").mode() & 0o777, 0o600);
        write_atomic(&p, b"two", 0o644, false).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        assert_eq!(fs::metadata(&p).expect("meta").mode() & 0o777, 0o644);
    }

    #[test]
    fn create_new_keeps_existing_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        write_atomic(&p, b"first", 0o600, true).expect("write");
        assert_eq!(
            write_atomic(&p, b"second", 0o600, true).expect("write"),
            WriteOutcome::AlreadyExists
        );
        assert_eq!(fs::read(&p).expect("read"), b"first");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
