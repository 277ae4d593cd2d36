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
    /// With `--rmi local`: the images removed (tags of services built from a recipe).
    pub images: Vec<String>,
    /// Images that could not be removed, with the engine's reason (e.g. another container uses it).
    pub images_kept: Vec<KeptImage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptImage {
    pub image: String,
    pub reason: String,
}

/// What `down` removes besides the containers and networks.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    pub volumes: bool,
    /// The images of services built from a recipe (`--rmi local`).
    pub local_images: bool,
}

/// Removes the project's containers and networks (found by label); volumes and the images
/// stackctl builds too when asked.
/// Dependents stop before what they depend on (Connect before the broker it would wait for),
/// each group concurrently; containers of unknown services go first.
pub async fn down<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    options: DownOptions,
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
    let volumes = if options.volumes {
        engine.remove_project_volumes(project).await?
    } else {
        Vec::new()
    };
    let mut images = Vec::new();
    let mut images_kept = Vec::new();
    if options.local_images {
        // Dependents' images first: connect's image is built FROM kafka's.
        let mut built: Vec<&str> = stack
            .services
            .iter()
            .filter(|s| s.build_context.is_some())
            .map(|s| s.image.as_str())
            .collect();
        built.reverse();
        built.dedup();
        for image in built {
            match engine.remove_image(image).await {
                Ok(true) => images.push(image.to_string()),
                Ok(false) => {}
                Err(e) => images_kept.push(KeptImage {
                    image: image.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
    }
    Ok(DownReport {
        containers: containers.into_iter().map(|c| c.name).collect(),
        networks,
        volumes,
        images,
        images_kept,
    })
}
