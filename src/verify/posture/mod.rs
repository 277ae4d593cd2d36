//! Posture: the stack as it is, not as stackctl meant to write it. Each check reads what the
//! running containers actually use (files copied out through the Engine API and parsed with real
//! parsers, the engine's inspect, what Kafka and ClickHouse report) and fails on anything MORE
//! than the settings declare, naming it — never printing a secret. The same observations make
//! the posture record (`verify --posture FILE`) and its comparison with a baseline.

mod checks;
pub(crate) mod parse;
mod record;
mod rest;

use std::collections::BTreeMap;

pub use checks::checks;
pub use record::{Posture, observe, widenings};

use super::Context;
use crate::engine::ContainerFacts;
use crate::engine::containers::ProjectContainer;
use crate::render::FileId;
use crate::settings::ServiceKind;

/// The running container of `kind` (for Kafka: the first node's; verify::cluster checks each).
async fn container(ctx: &Context, kind: ServiceKind) -> Result<ProjectContainer, String> {
    let first = ctx
        .stack
        .services_of(kind)
        .first()
        .map_or_else(|| kind.name().to_string(), |s| s.name.clone());
    ctx.engine
        .project_containers(&ctx.settings.project)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|c| c.service == first)
        .ok_or_else(|| format!("no {first} container in project {}", ctx.settings.project))
}

/// Every container of the project with the facts the engine holds about it, inspected
/// concurrently.
async fn containers_with_facts(
    ctx: &Context,
) -> Result<Vec<(ProjectContainer, ContainerFacts)>, String> {
    let containers = ctx
        .engine
        .project_containers(&ctx.settings.project)
        .await
        .map_err(|e| e.to_string())?;
    if containers.is_empty() {
        // Nothing to look at is not evidence of a good posture.
        return Err(format!(
            "no containers of project {}: run `stackctl up`",
            ctx.settings.project
        ));
    }
    let facts =
        futures_util::future::join_all(containers.iter().map(|c| ctx.engine.facts(&c.id))).await;
    containers
        .into_iter()
        .zip(facts)
        .map(|(c, f)| f.map(|f| (c, f)).map_err(|e| e.to_string()))
        .collect()
}

/// Where the compose model mounts the rendered file `file` in its service's container.
fn mount_target(ctx: &Context, kind: ServiceKind, file: FileId) -> Result<String, String> {
    ctx.stack
        .services_of(kind)
        .first()
        .and_then(|s| s.files.iter().find(|f| f.file == file))
        .map(|f| f.target.clone())
        .ok_or_else(|| {
            format!(
                "the compose file mounts no {} in {kind} at phase {}",
                file.spec().path,
                ctx.phase
            )
        })
}

/// The `.properties` file the container of `kind` really reads at the mount of `file`.
pub(crate) async fn properties_in(
    ctx: &Context,
    kind: ServiceKind,
    file: FileId,
) -> Result<(String, BTreeMap<String, String>), String> {
    let c = container(ctx, kind).await?;
    let path = mount_target(ctx, kind, file)?;
    let bytes = ctx
        .engine
        .read_file(&c.id, &path)
        .await
        .map_err(|e| format!("copying {path} out of {}: {e}", c.name))?;
    let props = parse::properties(&bytes).map_err(|e| format!("{path} in {}: {e}", c.name))?;
    Ok((format!("{path} in {}", c.name), props))
}
