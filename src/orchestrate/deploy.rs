//! The whole of `up` from settings and secrets, one way: render the plan → write it → resolve the
//! compose model → record the phase → bring the stack up with the plan in hand.

use std::path::Path;

use super::{UpError, UpInput, UpOptions, UpReport, up};
use crate::clients::{ClientSetupError, Endpoints};
use crate::compose::{self, ComposeError};
use crate::engine::images::CaCertificates;
use crate::engine::{Engine, EngineError};
use crate::progress::Progress;
use crate::render::{self, RENDER_DIR, RenderError, TemplateSet, WriteReport};
use crate::secrets::{Redactor, SecretSet};
use crate::settings::{Phase, Settings};
use crate::state::{StackState, StateError, StateFile};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Clients(#[from] ClientSetupError),
    #[error(transparent)]
    Up(#[from] UpError),
}

/// What deploying needs besides settings and secrets.
pub struct DeployOptions<'a> {
    pub templates: &'a TemplateSet,
    pub cas: &'a CaCertificates,
    pub verbose: bool,
    /// Which services, and whether to recreate or build.
    pub up: UpOptions,
}

/// Renders and writes the files of `phase` under `<root>/.stackctl/rendered`, then brings the
/// stack to `phase`. The state file says which phase is intended before anything changes (so
/// `status` knows an `up` that failed or was interrupted) and that it got there at the end.
pub async fn deploy(
    root: &Path,
    settings: &Settings,
    secrets: &SecretSet,
    phase: Phase,
    options: &DeployOptions<'_>,
    progress: &dyn Progress,
) -> Result<(UpReport, WriteReport), DeployError> {
    let plan = render::plan(settings, secrets, phase, options.templates)?;
    let written = render::write(&plan, &root.join(RENDER_DIR))?;
    let stack = compose::load(root, settings, phase)?;
    let endpoints = Endpoints::new(settings, secrets)?;
    let engine = Engine::connect().await?;
    let state = StateFile::new(root);
    state.record(StackState {
        phase,
        complete: false,
    })?;
    let redactor = Redactor::new(secrets);
    let input = UpInput {
        settings,
        secrets,
        stack: &stack,
        plan: &plan,
        endpoints: &endpoints,
        cas: options.cas,
        redactor: &redactor,
        verbose: options.verbose,
    };
    let report = up(&engine, &input, &options.up, progress).await?;
    state.record(StackState {
        phase,
        complete: true,
    })?;
    Ok((report, written))
}
