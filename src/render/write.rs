//! Putting a render plan on disk: atomically, only what changed, nothing left of another phase.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::layout::{all_node_paths, layout};
use super::{RenderError, RenderPlan, TemplateOrigin};
use crate::fsutil::{ensure_dir, write_atomic};
use crate::settings::Phase;

/// What happened to one file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileChange {
    Created,
    Updated,
    Unchanged,
    Removed,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub service: String,
    pub change: FileChange,
    pub mode: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WriteReport {
    pub dir: PathBuf,
    pub phase: Phase,
    pub templates: TemplateOrigin,
    pub files: Vec<WrittenFile>,
}

impl WriteReport {
    /// Services with at least one created, updated or removed file.
    pub fn changed_services(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .filter(|f| f.change != FileChange::Unchanged)
            .map(|f| f.service.clone())
            .collect()
    }
}

/// Writes `plan` under `dir` (created 0700). Files whose bytes and mode are already right are not
/// touched (mtime kept); files from another phase that the plan lacks are removed.
pub fn write(plan: &RenderPlan, dir: &Path) -> Result<WriteReport, RenderError> {
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io {
            action,
            path,
            source,
        }
    };
    ensure_dir(dir, 0o700).map_err(io_err("create", dir))?;
    let mut files = Vec::new();
    for file in &plan.files {
        let target = dir.join(&file.path);
        if let Some(parent) = target.parent() {
            ensure_dir(parent, 0o700).map_err(io_err("create", parent))?;
        }
        let change = match fs::read(&target) {
            Ok(existing) if existing == file.contents.as_bytes() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&target)
                    .map_err(io_err("inspect", &target))?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode == file.mode() {
                    FileChange::Unchanged
                } else {
                    fs::set_permissions(&target, fs::Permissions::from_mode(file.mode()))
                        .map_err(io_err("chmod", &target))?;
                    FileChange::Updated
                }
            }
            Ok(_) => FileChange::Updated,
            Err(e) if e.kind() == io::ErrorKind::NotFound => FileChange::Created,
            Err(e) => return Err(io_err("read", &target)(e)),
        };
        if matches!(change, FileChange::Created | FileChange::Updated) {
            write_atomic(&target, file.contents.as_bytes(), file.mode(), false)
                .map_err(io_err("write", &target))?;
        }
        files.push(WrittenFile {
            path: file.path.clone(),
            service: file.service.clone(),
            change,
            mode: format!("{:04o}", file.mode()),
        });
    }
    // Files of another phase (e.g. users.d after going back to phase 1) or of another node count
    // must not stay mounted.
    for spec in layout() {
        for rel in all_node_paths(&spec) {
            if plan.files.iter().any(|f| f.path == rel) {
                continue;
            }
            let target = dir.join(&rel);
            match fs::remove_file(&target) {
                Ok(()) => files.push(WrittenFile {
                    path: rel,
                    service: spec.service.to_string(),
                    change: FileChange::Removed,
                    mode: String::new(),
                }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &target)(e)),
            }
        }
    }
    Ok(WriteReport {
        dir: dir.to_path_buf(),
        phase: plan.phase,
        templates: plan.templates.clone(),
        files,
    })
}
