//! Writes a [`KubePlan`] as one YAML file per manifest: Secrets 0600 in a 0700 `secrets/`,
//! everything else 0644, each file atomically.
//!
//! The output directory may hold other files of the user's (a kustomization, their own
//! manifests): stackctl records the files it wrote in [`FILE_LIST`] and, on the next render,
//! removes only those it no longer writes (another phase, node count or no `--with-secrets`),
//! then directories left empty by that. The list is rewritten so that a crash at any point
//! leaves every file stackctl wrote listed: first old ∪ new, at the end new.

use std::collections::BTreeSet;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::KubePlan;
use crate::fsutil;

/// The files the last render wrote, one relative path a line; not `.yaml`/`.json`, so
/// `kubectl apply -R -f DIR` skips it.
pub const FILE_LIST: &str = ".stackctl-files";

const HEADER: &str = "# Files written by `stackctl render --target kubernetes`; a later render removes\n\
# those it no longer writes. Other files in this directory are never touched.\n";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot serialise {path} as YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error(
        "{path} line {line}: `{entry}` is not a file stackctl writes (a relative .yaml path inside the directory); \
         stackctl removes nothing on its word: fix or delete that line (or the whole file, then remove stale manifests yourself)"
    )]
    BadFileList {
        path: PathBuf,
        line: usize,
        entry: String,
    },
}

/// One written file, relative to the output directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub kind: String,
    pub name: String,
    pub mode: String,
}

/// What a render did to the output directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub files: Vec<WrittenFile>,
    /// Files an earlier render wrote that this one does not (relative paths), now removed.
    pub removed: Vec<PathBuf>,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

pub fn write(plan: &KubePlan, dir: &Path) -> Result<Written, WriteError> {
    fsutil::ensure_dir(dir, 0o755).map_err(io_err("create", dir))?;
    let previous = read_file_list(dir)?;
    let current: BTreeSet<PathBuf> = plan.manifests.iter().map(|m| m.path.clone()).collect();
    write_file_list(dir, previous.union(&current))?;
    let mut files = Vec::new();
    for m in &plan.manifests {
        let path = dir.join(&m.path);
        let (file_mode, dir_mode) = if m.is_secret() {
            (0o600, 0o700)
        } else {
            (0o644, 0o755)
        };
        if let Some(parent) = path.parent() {
            fsutil::ensure_dir(parent, dir_mode).map_err(io_err("create", parent))?;
        }
        let text = serde_norway::to_string(&m.doc).map_err(|e| WriteError::Yaml {
            path: path.clone(),
            message: e.to_string(),
        })?;
        fsutil::write_atomic(&path, text.as_bytes(), file_mode, false)
            .map_err(io_err("write", &path))?;
        files.push(WrittenFile {
            path: m.path.clone(),
            kind: m.kind().to_string(),
            name: m.name().to_string(),
            mode: format!("{file_mode:04o}"),
        });
    }
    let mut removed = Vec::new();
    for stale in previous.difference(&current) {
        let path = dir.join(stale);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(stale.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
        remove_empty_parents(dir, stale)?;
    }
    write_file_list(dir, current.iter())?;
    Ok(Written { files, removed })
}

/// The files an earlier render listed; none when there is no list. Every entry must be a
/// relative `.yaml` path without `..`, so a tampered list cannot make stackctl delete anything
/// outside its own manifests.
fn read_file_list(dir: &Path) -> Result<BTreeSet<PathBuf>, WriteError> {
    let path = dir.join(FILE_LIST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry = PathBuf::from(line);
        let inside = entry
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !inside || entry.extension().is_none_or(|e| e != "yaml") {
            return Err(WriteError::BadFileList {
                path,
                line: i + 1,
                entry: line.to_string(),
            });
        }
        out.insert(entry);
    }
    Ok(out)
}

fn write_file_list<'a>(
    dir: &Path,
    files: impl Iterator<Item = &'a PathBuf>,
) -> Result<(), WriteError> {
    let mut text = HEADER.to_string();
    for f in files {
        text.push_str(&f.display().to_string());
        text.push('\n');
    }
    let path = dir.join(FILE_LIST);
    fsutil::write_atomic(&path, text.as_bytes(), 0o644, false).map_err(io_err("write", &path))?;
    Ok(())
}

/// Removes the directories between `dir` and `file` that are now empty, deepest first.
fn remove_empty_parents(dir: &Path, file: &Path) -> Result<(), WriteError> {
    let mut parent = file.parent();
    while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
        let path = dir.join(p);
        match std::fs::remove_dir(&path) {
            Ok(()) => {}
            // Still holds something (of ours or the user's), or already gone.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::NotFound
                ) =>
            {
                return Ok(());
            }
            Err(e) => return Err(io_err("remove", &path)(e)),
        }
        parent = p.parent();
    }
    Ok(())
}
