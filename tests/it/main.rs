//! The integration-test binary: black-box CLI tests on the built binary, snapshot tests of the
//! rendered files, and escaping round-trips through real parsers.

mod ci;
mod cli;
mod cluster;
mod e2e;
mod e2e_ci;
mod e2e_cluster;
mod e2e_crash;
mod e2e_fixture;
mod e2e_pipeline;
mod e2e_project;
mod e2e_stress;
mod e2e_tools;
mod e2e_truth;
mod escaping;
mod habits;
mod kubernetes;
mod log_scan_gb;
mod posture;
mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stackctl::render::{RenderError, RenderPlan, TemplateSet};
use stackctl::secrets::{Secret, SecretSet};
use stackctl::settings::{Phase, Settings};

/// The render plan of phase `number` with the built-in templates.
pub fn plan(
    settings: &Settings,
    secrets: &SecretSet,
    number: u8,
) -> Result<RenderPlan, RenderError> {
    let phase = Phase::from_number(number).expect("a phase number");
    stackctl::render::plan(settings, secrets, phase, &TemplateSet::embedded())
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn repo_settings() -> Settings {
    Settings::load(&repo_root()).expect("repo settings load")
}

/// Fixed, obviously-fake but valid secrets, so snapshots are stable.
pub fn fixed_secrets(settings: &Settings) -> SecretSet {
    let map: BTreeMap<String, Secret> = settings
        .principals()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let value = format!("{}-fixture-value-{i}-0123456789abcdefghij", p.user());
            (p.id(), Secret::new(value))
        })
        .collect();
    SecretSet::from_map(map)
}

/// Same secrets for every principal except `overrides`.
pub fn secrets_with(settings: &Settings, overrides: &[(&str, &str)]) -> SecretSet {
    let mut map = BTreeMap::new();
    for (i, p) in settings.principals().into_iter().enumerate() {
        let value = overrides.iter().find(|(id, _)| *id == p.id()).map_or_else(
            || format!("{}-fixture-value-{i}-0123456789abcdefghij", p.user()),
            |(_, v)| v.to_string(),
        );
        map.insert(p.id(), Secret::new(value));
    }
    SecretSet::from_map(map)
}

/// Asserts that the process `out` came from succeeded, with its stderr as the message.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway project: settings copied from the repo, inside a fresh git repository whose
/// .gitignore ignores secrets/ like the real one.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Default for Project {
    fn default() -> Project {
        Project::new()
    }
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("configs")).expect("mkdir");
        std::fs::copy(
            repo_root().join("configs/stack.yaml"),
            dir.path().join("configs/stack.yaml"),
        )
        .expect("copy settings");
        std::fs::copy(
            repo_root().join(".gitignore"),
            dir.path().join(".gitignore"),
        )
        .expect("copy gitignore");
        std::fs::create_dir_all(dir.path().join("compose")).expect("mkdir");
        std::fs::copy(
            repo_root().join("compose/docker-compose.yml"),
            dir.path().join("compose/docker-compose.yml"),
        )
        .expect("copy compose file");
        let status = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .expect("git init");
        assert!(status.success());
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies the repo's templates/ into the project (the binary falls back to its built-in set
    /// only where the project has none); returns the copy's path.
    pub fn copy_templates(&self) -> PathBuf {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(repo_root().join("templates"))
            .arg(self.path())
            .status()
            .expect("cp");
        assert!(status.success());
        self.path().join("templates")
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("stackctl").expect("binary built");
        cmd.current_dir(self.path()).env("NO_COLOR", "1");
        cmd
    }
}
