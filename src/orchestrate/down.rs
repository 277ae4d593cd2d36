//! `down`: remove the project's containers (dependents first), networks, and volumes if asked.

use serde::Serialize;

use super::UpError;
use crate::compose::Stack;
use crate::engine::ContainerEngine;
use crate::engine::containers::ProjectContainer;

/// What `down` removed.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

/// Removes the project's containers and networks (found by label); volumes too when asked.
/// Dependents stop before what they depend on (Connect before the broker it would wait for),
/// each group concurrently; containers of unknown services go first.
pub async fn down<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    volumes: bool,
) -> Result<DownReport, UpError> {
    let project = stack.project.as_str();
    let containers = engine.project_containers(project).await?;
    let mut groups: Vec<Vec<&ProjectContainer>> = vec![
        containers
            .iter()
            .filter(|c| stack.service(&c.service).is_none())
            .collect(),
    ];
    for wave in stack.start_waves().into_iter().rev() {
        groups.push(
            containers
                .iter()
                .filter(|c| wave.iter().any(|s| s.name == c.service))
                .collect(),
        );
    }
    for group in groups {
        let removals = group.iter().map(|c| engine.remove(&c.id));
        for result in futures_util::future::join_all(removals).await {
            result?;
        }
    }
    let networks = engine.remove_project_networks(project).await?;
    let volumes = if volumes {
        engine.remove_project_volumes(project).await?
    } else {
        Vec::new()
    };
    Ok(DownReport {
        containers: containers.into_iter().map(|c| c.name).collect(),
        networks,
        volumes,
    })
}
