//! Images for `up` and `images build`: present, else pulled, else built from the recipe, in an
//! order where a recipe that builds FROM another service's image comes after it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use super::UpError;
use crate::compose::{Service, Stack};
use crate::engine::ContainerEngine;
use crate::engine::images::{BuildRequest, CaCertificates};
use crate::progress::Progress;

/// When an image is built from its recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildPolicy {
    /// When it is neither present nor pullable (`up`).
    #[default]
    IfMissing,
    /// Every time, the layer cache reused (`images build`).
    Always,
    /// Never: a missing image that cannot be pulled is an error (`up --no-build`).
    Never,
}

/// Builds (or finds, or pulls) every image of the stack. Returns image IDs by service.
pub async fn ensure_images<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    cas: &CaCertificates,
    policy: BuildPolicy,
    only: &[String],
    verbose: bool,
    progress: &dyn Progress,
) -> Result<BTreeMap<String, String>, UpError> {
    let mut ids = BTreeMap::new();
    // First what is there (or pullable); only the rest needs a recipe, in FROM order.
    let mut to_build = Vec::new();
    for service in &stack.services {
        if !only.is_empty() && !only.contains(&service.name) {
            continue;
        }
        if policy != BuildPolicy::Always
            && let Some(id) = engine.image_id(&service.image).await
        {
            ids.insert(service.name.clone(), id);
            continue;
        }
        if service.build_context.is_none()
            && engine.try_pull(&service.image, progress).await
            && let Some(id) = engine.image_id(&service.image).await
        {
            ids.insert(service.name.clone(), id);
            continue;
        }
        if policy == BuildPolicy::Never {
            return Err(UpError::Service {
                service: service.name.clone(),
                message: format!(
                    "image {} is missing and --no-build forbids building it; run `stackctl images build {}` (or `up` without --no-build)",
                    service.image, service.name
                ),
            });
        }
        to_build.push(service);
    }
    let mut base_checked = false;
    // Services sharing an image (the Kafka nodes) build it once.
    let mut built: BTreeMap<String, String> = BTreeMap::new();
    for service in build_order(&to_build)? {
        if let Some(id) = built.get(&service.image) {
            ids.insert(service.name.clone(), id.clone());
            continue;
        }
        let Some(context) = &service.build_context else {
            return Err(UpError::Service {
                service: service.name.clone(),
                message: format!(
                    "image {} is not present and could not be pulled, and the service has no recipe; pull it or set services.{}.build: true",
                    service.image, service.name
                ),
            });
        };
        if !base_checked {
            engine.ensure_base(progress).await?;
            base_checked = true;
        }
        progress.line(
            &service.name,
            &format!("building {} from {}", service.image, context.display()),
        );
        let started = Instant::now();
        let args: HashMap<String, String> = service.build_args.clone().into_iter().collect();
        let request = BuildRequest {
            service: &service.name,
            context,
            tag: &service.image,
            build_args: &args,
            cas,
            verbose,
        };
        let id = engine.build(&request, progress).await?;
        progress.line(
            &service.name,
            &format!(
                "built {} in {:.1} s",
                service.image,
                started.elapsed().as_secs_f64()
            ),
        );
        built.insert(service.image.clone(), id.clone());
        ids.insert(service.name.clone(), id);
    }
    Ok(ids)
}

/// Recipes whose Dockerfile builds FROM another of `services`' images come after that service.
pub(super) fn build_order<'a>(services: &[&'a Service]) -> Result<Vec<&'a Service>, UpError> {
    let from_images = |s: &Service| -> Result<Vec<String>, UpError> {
        let Some(context) = &s.build_context else {
            return Ok(Vec::new());
        };
        let text = dockerfile(context)?;
        let mut args: BTreeMap<String, String> = BTreeMap::new();
        let mut froms = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(arg) = line.strip_prefix("ARG ")
                && let Some((k, v)) = arg.split_once('=')
            {
                args.insert(k.trim().to_string(), v.trim().to_string());
            }
            if let Some(from) = line.strip_prefix("FROM ") {
                let mut image = from.split_whitespace().next().unwrap_or("").to_string();
                for (k, v) in args.iter().chain(s.build_args.iter()) {
                    image = image.replace(&format!("${{{k}}}"), v);
                }
                froms.push(image);
            }
        }
        Ok(froms)
    };
    let mut froms: HashMap<&str, Vec<String>> = HashMap::new();
    for s in services {
        froms.insert(s.name.as_str(), from_images(s)?);
    }
    let mut ordered: Vec<&Service> = Vec::new();
    let mut pending: Vec<&Service> = services.to_vec();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|s| {
            let deps_done = froms[s.name.as_str()].iter().all(|img| {
                services
                    .iter()
                    .filter(|o| &o.image == img && o.name != s.name)
                    .all(|o| ordered.iter().any(|d| d.name == o.name))
            });
            if deps_done {
                ordered.push(s);
            }
            !deps_done
        });
        if pending.len() == before {
            ordered.append(&mut pending);
        }
    }
    Ok(ordered)
}

/// The recipe's Dockerfile; a recipe without one cannot be built, so say so now.
fn dockerfile(context: &Path) -> Result<String, UpError> {
    let path = context.join("Dockerfile");
    std::fs::read_to_string(&path).map_err(|e| {
        UpError::Step(format!(
            "cannot read the image recipe {} ({e}); restore it, or set services.<name>.build: false to use a published image",
            path.display()
        ))
    })
}
