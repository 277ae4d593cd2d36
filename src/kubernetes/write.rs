//! Writes a [`KubePlan`] as one YAML file per manifest: Secrets 0600 in a 0700 `secrets/`,
//! everything else 0644. A previous render's `secrets/` is removed when this one has none, so a
//! directory never keeps values the user did not ask for this time.

use std::path::{Path, PathBuf};

use super::KubePlan;
use crate::fsutil;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialise {path} as YAML: {message}")]
    Yaml { path: PathBuf, message: String },
}

/// One written file, relative to the output directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub kind: String,
    pub name: String,
    pub mode: String,
}

pub fn write(plan: &KubePlan, dir: &Path) -> Result<Vec<WrittenFile>, WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io { path, source }
    };
    fsutil::ensure_dir(dir, 0o755).map_err(io(dir))?;
    let secrets_dir = dir.join("secrets");
    if !plan.manifests.iter().any(|m| m.is_secret()) && secrets_dir.exists() {
        std::fs::remove_dir_all(&secrets_dir).map_err(io(&secrets_dir))?;
    }
    let mut out = Vec::new();
    for m in &plan.manifests {
        let path = dir.join(&m.path);
        let (file_mode, dir_mode) = if m.is_secret() {
            (0o600, 0o700)
        } else {
            (0o644, 0o755)
        };
        if let Some(parent) = path.parent() {
            fsutil::ensure_dir(parent, dir_mode).map_err(io(parent))?;
        }
        let text = serde_norway::to_string(&m.doc).map_err(|e| WriteError::Yaml {
            path: path.clone(),
            message: e.to_string(),
        })?;
        fsutil::write_atomic(&path, text.as_bytes(), file_mode, false).map_err(io(&path))?;
        out.push(WrittenFile {
            path: m.path.clone(),
            kind: m.kind().to_string(),
            name: m.name().to_string(),
            mode: format!("{file_mode:04o}"),
        });
    }
    Ok(out)
}
