//! What git says about the project: whether it is a repository at all, whether `secrets/` is
//! ignored and untracked, which files are tracked. "Not a repository" is decided from evidence
//! (no `.git` in the root or above it); git that is missing or refuses to answer (a checkout
//! owned by another uid: "dubious ownership") is an error with git's message and the fix, never
//! "not a repository" and never an empty list.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Serialize;

use super::{SECRETS_DIR, SecretError};

/// Files under `secrets/` that are meant to be tracked.
const TRACKABLE: &[&str] = &["README.md", ".gitignore", ".gitkeep"];

/// Result of the git check on the secrets directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitGuard {
    IgnoredAndUntracked,
    NotARepository,
}

/// The `.git` (directory or file) of the repository `root` is in, if any: `root` or an ancestor.
pub fn repository_marker(root: &Path) -> Option<PathBuf> {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    root.ancestors()
        .map(|dir| dir.join(".git"))
        .find(|marker| marker.exists())
}

/// Runs `git -C root ARGS`; a git that cannot run is an error, its exit status is the caller's.
fn git(root: &Path, args: &[&str]) -> Result<Output, SecretError> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| SecretError::Git {
            root: root.to_path_buf(),
            command: args.join(" "),
            detail: format!("git cannot run: {e}"),
        })
}

/// The error for a git command that exited with a failure.
fn refused(root: &Path, args: &[&str], out: &Output) -> SecretError {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    SecretError::Git {
        root: root.to_path_buf(),
        command: args.join(" "),
        detail: format!("git exited with {}: {}", out.status, first.trim()),
    }
}

/// Runs a git command that must succeed; its stdout.
fn answer(root: &Path, args: &[&str]) -> Result<Vec<u8>, SecretError> {
    let out = git(root, args)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(refused(root, args, &out))
    }
}

/// Every file git tracks in `root` (absolute paths); `None` when `root` is in no repository.
pub fn tracked_files(root: &Path) -> Result<Option<Vec<PathBuf>>, SecretError> {
    if repository_marker(root).is_none() {
        return Ok(None);
    }
    let listed = answer(root, &["ls-files", "-z"])?;
    Ok(Some(
        listed
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| root.join(String::from_utf8_lossy(f).as_ref()))
            .collect(),
    ))
}

impl GitGuard {
    /// Refuses when `secrets/` is inside a git work tree but not ignored, when git tracks a file
    /// in it, or when git cannot say (missing, or refusing the repository). Outside a repository
    /// (no `.git` in the root or above) nothing can be committed, so that passes.
    pub fn check(root: &Path) -> Result<GitGuard, SecretError> {
        if repository_marker(root).is_none() {
            return Ok(GitGuard::NotARepository);
        }
        let inside = answer(root, &["rev-parse", "--is-inside-work-tree"])?;
        if String::from_utf8_lossy(&inside).trim() != "true" {
            return Ok(GitGuard::NotARepository);
        }
        let probe = format!("{SECRETS_DIR}/probe.password");
        let args = ["check-ignore", "-q", "--no-index", probe.as_str()];
        let ignored = git(root, &args)?;
        // check-ignore: 0 ignored, 1 not ignored, anything else an error.
        match ignored.status.code() {
            Some(0) => {}
            Some(1) => {
                return Err(SecretError::NotIgnored {
                    path: root.join(SECRETS_DIR),
                });
            }
            _ => return Err(refused(root, &args, &ignored)),
        }
        let listed = answer(root, &["ls-files", "--", SECRETS_DIR])?;
        let tracked: Vec<String> = String::from_utf8_lossy(&listed)
            .lines()
            .filter(|f| {
                let name = Path::new(f).file_name().and_then(|n| n.to_str());
                !name.is_some_and(|n| TRACKABLE.contains(&n))
            })
            .map(str::to_string)
            .collect();
        if !tracked.is_empty() {
            return Err(SecretError::Tracked {
                files: tracked.join(", "),
            });
        }
        Ok(GitGuard::IgnoredAndUntracked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_git_metadata_is_not_a_repository() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A temporary directory may sit inside a checkout; only judge when it does not.
        if repository_marker(dir.path()).is_none() {
            assert_eq!(tracked_files(dir.path()).expect("no git needed"), None);
            assert_eq!(
                GitGuard::check(dir.path()).expect("no git needed"),
                GitGuard::NotARepository
            );
        }
    }

    #[test]
    fn a_repository_git_refuses_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A `.git` that is no repository: git refuses it like any repository it cannot read.
        std::fs::write(
            dir.path().join(".git"),
            "gitdir: /nonexistent/stackctl-test\n",
        )
        .expect("write");
        let err = tracked_files(dir.path()).expect_err("git must refuse");
        let text = err.to_string();
        assert!(text.contains("git ls-files -z"), "{text}");
        assert!(text.contains("safe.directory"), "{text}");
        let err = GitGuard::check(dir.path()).expect_err("git must refuse");
        assert!(matches!(err, SecretError::Git { .. }), "{err}");
    }
}
