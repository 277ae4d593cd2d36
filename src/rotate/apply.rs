//! The rotation workflow: persist the new secrets (old ones put aside), deploy with them so
//! exactly the holders restart, prove each principal and the pipeline, and only then forget the
//! old values.

use std::path::Path;
use std::time::Instant;

use super::{Planned, RotateReport, plan, prove, recovery_hint};
use crate::clients::Endpoints;
use crate::compose;
use crate::engine::Engine;
use crate::orchestrate::{Action, DeployOptions, deploy};
use crate::progress::Progress;
use crate::secrets::{FileStore, SecretSource};
use crate::settings::{Phase, Principal, Settings};
use crate::verify::{self, Verdict};

/// What a rotation step ran into.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Deploy(#[from] crate::orchestrate::DeployError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Clients(#[from] crate::clients::ClientSetupError),
    #[error("the put-aside secret of {0} vanished during rotation")]
    PreviousGone(Principal),
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Nothing was changed.
    #[error(transparent)]
    Before(StepError),
    /// The new secrets are written; the stack may be half restarted.
    #[error("rotation stopped while restarting services ({hint})")]
    Midway {
        #[source]
        cause: StepError,
        hint: String,
    },
}

/// Rotates `targets` on the stack running at `phase`. `Ok` carries the report whether or not the
/// rotation was proven (see [`RotateReport::proven`]).
pub async fn apply(
    root: &Path,
    settings: &Settings,
    targets: &[Principal],
    phase: Phase,
    options: &DeployOptions<'_>,
    progress: &dyn Progress,
) -> Result<RotateReport, RotateError> {
    let started = Instant::now();
    let before = RotateError::Before;
    let store = FileStore::new(root);
    let current = store
        .load(&settings.principals())
        .map_err(|e| before(e.into()))?;
    let stack = compose::load(root, settings, phase).map_err(|e| before(e.into()))?;
    let Planned {
        plan, rotations, ..
    } = plan(settings, &current, targets, &stack, options.templates)
        .map_err(|e| before(e.into()))?;
    // Persist first: a failed write leaves everything as it was.
    store.rotate(&rotations).map_err(|e| before(e.into()))?;
    let midway = |cause: StepError| RotateError::Midway {
        cause,
        hint: recovery_hint(root),
    };
    let secrets = store
        .load(&settings.principals())
        .map_err(|e| midway(e.into()))?;
    progress.line(
        "rotate",
        &format!(
            "new secrets written for {}; restarting {}",
            plan.principals.join(", "),
            plan.services.join(", ")
        ),
    );
    let (report, _) = deploy(root, settings, &secrets, phase, options, progress)
        .await
        .map_err(|e| midway(e.into()))?;
    let restarted = report
        .services
        .iter()
        .filter(|s| s.action != Action::Unchanged)
        .map(|s| s.service.clone())
        .collect();
    let endpoints = Endpoints::new(settings, &secrets).map_err(|e| midway(e.into()))?;
    let mut proofs = Vec::new();
    for (principal, new) in &rotations {
        let old = store
            .previous(principal)
            .ok_or_else(|| midway(StepError::PreviousGone(principal.clone())))?;
        proofs.push(prove(&endpoints, phase, principal, new, &old).await);
    }
    let engine = Engine::connect().await.map_err(|e| midway(e.into()))?;
    let ctx = verify::Context::new(
        root,
        settings.clone(),
        secrets,
        phase,
        Box::new(engine),
        stack,
    )
    .map_err(|e| midway(e.into()))?;
    let pipeline = verify::run(&ctx, &[verify::PIPELINE_CHECK.to_string()], &[]).await;
    let pipeline_result = pipeline
        .checks
        .iter()
        .find(|c| c.id == verify::PIPELINE_CHECK);
    let result = RotateReport {
        plan,
        restarted,
        proofs,
        pipeline_ok: pipeline_result.is_some_and(|c| c.verdict == Verdict::Pass),
        pipeline: pipeline_result.map_or_else(
            || "the pipeline check did not run".into(),
            |c| c.reason.clone(),
        ),
        seconds: started.elapsed().as_secs_f64(),
    };
    if result.proven() {
        store
            .forget_previous(targets)
            .map_err(|e| midway(e.into()))?;
    }
    Ok(result)
}
