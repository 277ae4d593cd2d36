//! The file-backed secret store: `secrets/<principal-id>.password`, 0600, directory 0700.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::git::GitGuard;
use super::validate::{Problem, Reason, validate_value};
use super::{Secret, SecretError, SecretSet, SecretSource, generate};
use crate::fsutil::{DirLock, WriteOutcome, ensure_dir, write_atomic};
use crate::settings::Principal;

/// Maps an I/O error on `path` to a [`SecretError`] naming the action and the file.
fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SecretError {
    let path = path.to_path_buf();
    move |source| SecretError::Io {
        action,
        path,
        source,
    }
}

/// The secrets directory, relative to the project root.
pub const SECRETS_DIR: &str = "secrets";

/// What `init-secrets` did for one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitOutcome {
    Created,
    Kept,
    Regenerated,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitEntry {
    pub principal: String,
    pub path: PathBuf,
    pub outcome: InitOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub entries: Vec<InitEntry>,
    /// Whether git ignores the directory (None: not inside a git work tree).
    pub git: GitGuard,
}

/// Secrets as files under `<root>/secrets/`.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    dir: PathBuf,
}

impl FileStore {
    pub fn new(root: &Path) -> FileStore {
        FileStore {
            root: root.to_path_buf(),
            dir: root.join(SECRETS_DIR),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `principal`'s secret.
    pub fn path_for(&self, principal: &Principal) -> PathBuf {
        self.dir.join(format!("{}.password", principal.id()))
    }

    /// Creates a secret for every principal that has none; regenerates those named in `force`.
    /// Existing secrets are kept byte for byte. Safe against a concurrent run: an exclusive lock
    /// serialises writers, and creation never clobbers a file another process wrote first.
    pub fn init(
        &self,
        principals: &[Principal],
        force: &[String],
    ) -> Result<InitReport, SecretError> {
        if let Some(unknown) = force
            .iter()
            .find(|id| !principals.iter().any(|p| &p.id() == *id))
        {
            return Err(SecretError::unknown_principal(unknown, principals));
        }
        let git = GitGuard::check(&self.root)?;
        ensure_dir(&self.dir, 0o700).map_err(io_err("create", &self.dir))?;
        let lock_path = self.dir.join(".lock");
        let _lock = DirLock::acquire(&lock_path).map_err(io_err("lock", &lock_path))?;

        let mut entries = Vec::new();
        for principal in principals {
            let path = self.path_for(principal);
            let regenerate = force.contains(&principal.id());
            let value = generate();
            let mut contents = value.expose().as_bytes().to_vec();
            contents.push(b'\n');
            let outcome = write_atomic(&path, &contents, 0o600, !regenerate)
                .map_err(io_err("write", &path))?;
            let outcome = match (regenerate, outcome) {
                (true, _) => InitOutcome::Regenerated,
                (false, WriteOutcome::Written) => InitOutcome::Created,
                (false, WriteOutcome::AlreadyExists) => InitOutcome::Kept,
            };
            entries.push(InitEntry {
                principal: principal.id(),
                path,
                outcome,
            });
        }
        Ok(InitReport { entries, git })
    }

    /// Where a rotated-out secret waits until the rotation is proven.
    pub fn previous_path(&self, principal: &Principal) -> PathBuf {
        self.dir
            .join(".previous")
            .join(format!("{}.password", principal.id()))
    }

    /// Replaces the secrets of `rotations` (principal, new value). The old values are first kept
    /// aside in `secrets/.previous/` (0600); then each new value is written atomically. If any
    /// write fails, the values already replaced are put back, so a failed rotation changes
    /// nothing on disk.
    pub fn rotate(&self, rotations: &[(Principal, Secret)]) -> Result<(), SecretError> {
        let lock_path = self.dir.join(".lock");
        let _lock = DirLock::acquire(&lock_path).map_err(io_err("lock", &lock_path))?;
        let previous_dir = self.dir.join(".previous");
        ensure_dir(&previous_dir, 0o700).map_err(io_err("create", &previous_dir))?;
        let mut originals = Vec::new();
        for (principal, _) in rotations {
            let path = self.path_for(principal);
            let old = fs::read(&path).map_err(io_err("read", &path))?;
            let aside = self.previous_path(principal);
            write_atomic(&aside, &old, 0o600, false).map_err(io_err("write", &aside))?;
            originals.push((path, old));
        }
        for (i, (principal, value)) in rotations.iter().enumerate() {
            let path = self.path_for(principal);
            let mut contents = value.expose().as_bytes().to_vec();
            contents.push(b'\n');
            if let Err(source) = write_atomic(&path, &contents, 0o600, false) {
                for (orig_path, old) in &originals[..i] {
                    let _ = write_atomic(orig_path, old, 0o600, false);
                }
                return Err(SecretError::Io {
                    action: "write (nothing was rotated)",
                    path,
                    source,
                });
            }
        }
        Ok(())
    }

    /// The value a rotation put aside, if any.
    pub fn previous(&self, principal: &Principal) -> Option<Secret> {
        let text = fs::read_to_string(self.previous_path(principal)).ok()?;
        Some(Secret::new(
            text.strip_suffix('\n').unwrap_or(&text).to_string(),
        ))
    }

    /// Forgets the put-aside values once a rotation is proven.
    pub fn forget_previous(&self, principals: &[Principal]) -> Result<(), SecretError> {
        for principal in principals {
            let path = self.previous_path(principal);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SecretError::Io {
                        action: "remove",
                        path,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Every secret value that can be read at all, valid or not: for redaction only (logs of a
    /// stack whose secrets fail validation must still not show them).
    pub fn readable_values(&self, principals: &[Principal]) -> SecretSet {
        let values = principals
            .iter()
            .filter_map(|p| {
                let text = fs::read_to_string(self.path_for(p)).ok()?;
                let value = text.strip_suffix('\n').unwrap_or(&text);
                (!value.is_empty()).then(|| (p.id(), Secret::new(value.to_string())))
            })
            .collect();
        SecretSet::from_map(values)
    }

    fn load_one(&self, principal: &Principal) -> Result<Secret, Problem> {
        let path = self.path_for(principal);
        let problem = |reason| Problem {
            path: path.clone(),
            reason,
        };
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(problem(Reason::Missing)),
            Err(e) => return Err(problem(Reason::Unreadable(e.kind().to_string()))),
        };
        if !meta.is_file() {
            return Err(problem(Reason::NotAFile));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(problem(Reason::GroupOrWorldAccessible(mode)));
        }
        let text = fs::read_to_string(&path)
            .map_err(|e| problem(Reason::Unreadable(e.kind().to_string())))?;
        // One trailing newline is the file's, not the value's (editors add it).
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let header_safe = matches!(principal, Principal::ClickHouse { .. });
        match validate_value(value, header_safe).into_iter().next() {
            Some(reason) => Err(problem(reason)),
            None => Ok(Secret::new(value.to_string())),
        }
    }
}

impl SecretSource for FileStore {
    fn load(&self, principals: &[Principal]) -> Result<SecretSet, SecretError> {
        let mut problems = Vec::new();
        if let Ok(meta) = fs::metadata(&self.dir) {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                problems.push(Problem {
                    path: self.dir.clone(),
                    reason: Reason::DirectoryAccessible(mode),
                });
            }
        } else {
            problems.push(Problem {
                path: self.dir.clone(),
                reason: Reason::Missing,
            });
            return Err(SecretError::Invalid(problems));
        }
        let mut values = BTreeMap::new();
        for principal in principals {
            match self.load_one(principal) {
                Ok(secret) => {
                    values.insert(principal.id(), secret);
                }
                Err(p) => problems.push(p),
            }
        }
        if problems.is_empty() {
            Ok(SecretSet::from_map(values))
        } else {
            Err(SecretError::Invalid(problems))
        }
    }
}
