//! `.stackctl/state.json`: the phase the last `up` from this checkout brought the stack to, and
//! whether it got there. The running containers carry their phase as a label too; this file adds
//! what a label cannot say: that an `up` started and did not finish.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{ensure_dir, write_atomic};
use crate::settings::Phase;

/// Where the state lives, relative to the project root.
pub const STATE_FILE: &str = ".stackctl/state.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a state file stackctl wrote ({message}); delete it and run `stackctl up`"
    )]
    Corrupt { path: PathBuf, message: String },
}

/// What `up` recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackState {
    pub phase: Phase,
    /// The last `up` finished.
    pub complete: bool,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    phase: u8,
    // Files written before `complete` existed were only written by a finished `up`.
    #[serde(default = "finished")]
    complete: bool,
}

fn finished() -> bool {
    true
}

/// The state file of one project root.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(root: &Path) -> StateFile {
        StateFile {
            path: root.join(STATE_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// None when no `up` ran from this checkout (or `down` removed the record).
    pub fn read(&self) -> Result<Option<StackState>, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io("read", source)),
        };
        let corrupt = |message: String| StateError::Corrupt {
            path: self.path.clone(),
            message,
        };
        let on_disk: OnDisk = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        let phase = Phase::from_number(on_disk.phase).map_err(|e| corrupt(e.to_string()))?;
        Ok(Some(StackState {
            phase,
            complete: on_disk.complete,
        }))
    }

    /// Records the phase `up` is bringing the stack to, and whether it got there (atomic, 0600).
    pub fn record(&self, state: StackState) -> Result<(), StateError> {
        if let Some(dir) = self.path.parent() {
            ensure_dir(dir, 0o700).map_err(|e| self.io("create the directory of", e))?;
        }
        let on_disk = OnDisk {
            phase: state.phase.number(),
            complete: state.complete,
        };
        let json = serde_json::to_string_pretty(&on_disk).map_err(|e| StateError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, json.as_bytes(), 0o600, false).map_err(|e| self.io("write", e))?;
        Ok(())
    }

    /// Forgets the state (after `down`); a missing file is fine.
    pub fn remove(&self) -> Result<(), StateError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(self.io("remove", source)),
        }
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> StateError {
        StateError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_a_corrupt_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(dir.path());
        assert_eq!(file.read().expect("read"), None);
        let state = StackState {
            phase: Phase::ClickHouseAuth,
            complete: false,
        };
        file.record(state).expect("record");
        assert_eq!(file.read().expect("read"), Some(state));
        std::fs::write(file.path(), r#"{"phase": 4}"#).expect("write");
        assert_eq!(
            file.read().expect("read"),
            Some(StackState {
                phase: Phase::Hardening,
                complete: true
            })
        );
        std::fs::write(file.path(), r#"{"phase": 9}"#).expect("write");
        let err = file.read().expect_err("phase 9").to_string();
        assert!(
            err.contains("state.json") && err.contains("phase 9"),
            "{err}"
        );
        file.remove().expect("remove");
        file.remove().expect("remove twice");
    }
}
