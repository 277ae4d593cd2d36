//! The typed model of `compose/docker-compose.yml`: the subset of Compose that stackctl
//! implements, with `${VAR}` interpolation from the stack settings. Keys outside that subset are
//! refused with their path rather than silently ignored; `x-` extensions are allowed. Secrets name
//! rendered files by their layout path; which of them exist at a phase is the layout's call.

mod interpolate;
pub mod model;
mod nodes;
mod raw;
mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use interpolate::{RENDERED_VAR, interpolate, rendered_dir_from_compose, variables};
pub(crate) use resolve::nano_cpus;
pub use resolve::parse;

use crate::render::FileId;
use crate::settings::{Phase, RestartPolicy, Settings};

/// Where the compose file lives, relative to the project root.
pub const COMPOSE_FILE: &str = "compose/docker-compose.yml";

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A rendered file copied into a container before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    /// Secret name in the compose file.
    pub name: String,
    /// Which rendered file (its contents come from the render plan).
    pub file: FileId,
    /// Path inside the container.
    pub target: String,
    pub uid: u64,
    pub gid: u64,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// Volume name in the compose file (the engine name is prefixed with the project).
    pub volume: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval_ns: i64,
    pub timeout_ns: i64,
    pub retries: i64,
    pub start_period_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// In units of 1e-9 CPUs (Docker's NanoCPUs).
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

/// One service, resolved for a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// For a Kafka node: its index (selects its per-node rendered files). None for other services.
    pub node: Option<u16>,
    pub image: String,
    /// Build context directory, when the image has a recipe (and the settings did not turn it off).
    pub build_context: Option<PathBuf>,
    pub build_args: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub environment: BTreeMap<String, String>,
    pub files: Vec<FileMount>,
    pub volumes: Vec<VolumeMount>,
    pub ports: Vec<PortBinding>,
    pub healthcheck: Option<Healthcheck>,
    /// Services that must be healthy before this one starts.
    pub depends_on: Vec<String>,
    pub limits: Option<Limits>,
    /// None: Docker's default (`no`).
    pub restart: Option<RestartPolicy>,
    /// The log driver and its options (rotation); None: the engine's default (no rotation).
    pub logging: Option<LogConfig>,
    pub networks: Vec<String>,
}

/// A container's log driver and options, as the engine's HostConfig.LogConfig takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

/// The stack as the engine should run it at one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub project: String,
    pub phase: Phase,
    pub services: Vec<Service>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Stack {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The services that make up `kind` (every node for Kafka).
    pub fn services_of(&self, kind: crate::settings::ServiceKind) -> Vec<&Service> {
        nodes::services_of(self, kind)
    }

    /// The stack with the named services running these image references (the others as they are).
    pub fn with_images(&self, references: &BTreeMap<String, String>) -> Stack {
        let mut stack = self.clone();
        for service in &mut stack.services {
            if let Some(reference) = references.get(&service.name) {
                service.image = reference.clone();
            }
        }
        stack
    }

    /// The service names, comma-separated (for "unknown service" messages).
    pub fn service_names(&self) -> String {
        self.services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Services grouped in start order: each group depends only on earlier groups, so the
    /// members of a group can start concurrently.
    pub fn start_waves(&self) -> Vec<Vec<&Service>> {
        let mut done: Vec<&str> = Vec::new();
        let mut waves = Vec::new();
        while done.len() < self.services.len() {
            let wave: Vec<&Service> = self
                .services
                .iter()
                .filter(|s| !done.contains(&s.name.as_str()))
                .filter(|s| s.depends_on.iter().all(|d| done.contains(&d.as_str())))
                .collect();
            if wave.is_empty() {
                // Cycles are rejected at load time; this is unreachable for a loaded Stack.
                break;
            }
            done.extend(wave.iter().map(|s| s.name.as_str()));
            waves.push(wave);
        }
        waves
    }
}

/// Reads `<root>/compose/docker-compose.yml` and resolves it for `phase` with `settings`.
pub fn load(root: &Path, settings: &Settings, phase: Phase) -> Result<Stack, ComposeError> {
    let path = root.join(COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ComposeError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text, &path, settings, phase)
}

#[cfg(test)]
mod tests;
