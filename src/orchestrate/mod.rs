//! Orchestration: `up`, `down` and `images build` from the compose model and the render plan
//! handed forward; provisioning after start (topics, schema, connector).

mod cluster;
mod deploy;
mod down;
mod hash;
mod health;
mod images;
mod lifecycle;
mod pipeline_status;
mod post;
mod recipe;
mod rolling;
mod sink_metrics;
mod up;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::clients::Endpoints;
use crate::compose::{Service, Stack};
use crate::engine::EngineError;
use crate::engine::containers::ProjectContainer;
use crate::engine::images::CaCertificates;
use crate::render::{RenderError, RenderPlan};
use crate::secrets::{Redactor, SecretSet};
use crate::settings::{Phase, Settings};

pub use deploy::{DeployError, DeployOptions, deploy};
pub use down::{DownOptions, DownReport, KeptImage, down};
pub use hash::config_hash;
pub use images::{
    BuildPolicy, Images, ensure_images, identities, parallel_builds, with_references,
};
pub use lifecycle::{LifecycleReport, Settler, restart, selected, start, stop};
pub use pipeline_status::{PipelineStatus, pipeline_status};
pub use post::{TopicPlan, topic_plan};
pub use recipe::{Identity, RECIPE_LABEL, Recipe, identities as recipe_identities};
pub use sink_metrics::{TaskMetrics, sink_metrics};
pub use up::{file_copies, recreate_service, up};

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{service}: {message}")]
    Service { service: String, message: String },
    #[error("{0}")]
    Step(String),
    /// `kafka.brokers` differs from the node count the running stack was made with.
    #[error("{0}")]
    NodeCountChange(String),
}

/// What `up` did to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Recreated,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub action: Action,
    pub health: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub phase: Phase,
    pub services: Vec<ServiceReport>,
    pub steps: Vec<String>,
    pub endpoints: BTreeMap<String, String>,
    pub seconds: f64,
    pub api_version: String,
}

/// How `up` goes about it (the command line's choices).
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these services and what they depend on (empty: all).
    pub services: Vec<String>,
    /// Recreate containers even when their hash is unchanged.
    pub force_recreate: bool,
    pub build: BuildPolicy,
    /// Recreate Kafka nodes together even when the cluster runs (the rotation of the principal
    /// the nodes use between themselves: old and new nodes could not talk).
    pub all_nodes_at_once: bool,
}

/// Everything `up` needs, computed upstream: nothing here is read back from disk.
pub struct UpInput<'a> {
    pub settings: &'a Settings,
    pub secrets: &'a SecretSet,
    pub stack: &'a Stack,
    /// The rendered files; containers get their contents from here.
    pub plan: &'a RenderPlan,
    pub endpoints: &'a Endpoints,
    pub cas: &'a CaCertificates,
    pub redactor: &'a Redactor,
    pub verbose: bool,
}

/// Bound for waiting on one service: its start period plus all its retries.
pub fn health_bound(service: &Service) -> Duration {
    let ns = service.healthcheck.as_ref().map_or(60_000_000_000, |h| {
        h.start_period_ns + h.interval_ns.saturating_mul(h.retries)
    });
    // Clamped to 10 s..=600 s: positive.
    Duration::from_nanos(ns.clamp(10_000_000_000, 600_000_000_000).cast_unsigned())
}

/// Keep a running container whose hash matches; recreate any other; create when there is none.
pub fn decide(current: Option<&ProjectContainer>, hash: &str) -> Action {
    match current {
        Some(c) if c.hash == hash && c.state == "running" => Action::Unchanged,
        Some(_) => Action::Recreated,
        None => Action::Created,
    }
}

#[cfg(test)]
mod tests;
