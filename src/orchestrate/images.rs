//! Images for `up` and `images build`: a service with a recipe runs the image named by the
//! recipe's identity (`recipe.rs`), built when it is missing; any other image is present, else
//! pulled. Independent recipes build concurrently, at most [`parallel_builds`] at a time; a recipe
//! built FROM another service's image waits for it, while its earlier stage fills the layer cache.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::UpError;
use super::recipe::{self, Identity, RECIPE_LABEL, Recipe};
use crate::compose::{Service, Stack};
use crate::engine::images::{BASE_IMAGE, BuildRequest, CaCertificates, build_context};
use crate::engine::{ContainerEngine, LABEL_SERVICE};
use crate::progress::Progress;

/// When an image is built from its recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildPolicy {
    /// When the image of the recipe's identity is missing (`up`, `images build`).
    #[default]
    IfMissing,
    /// Never: a missing image is an error (`up --no-build`).
    Never,
}

/// The images a stack runs, resolved: by service, the reference and the image ID.
#[derive(Debug, Clone, Default)]
pub struct Images {
    pub references: BTreeMap<String, String>,
    pub ids: BTreeMap<String, String>,
    /// The services whose image was built now, with the seconds each took.
    pub built: BTreeMap<String, f64>,
}

/// Builds at once: `STACKCTL_BUILD_JOBS` when set (1 builds one after another), else two on a
/// two-core machine and never more than four.
pub fn parallel_builds() -> usize {
    if let Some(jobs) = std::env::var("STACKCTL_BUILD_JOBS")
        .ok()
        .and_then(|j| j.trim().parse::<usize>().ok())
        .filter(|j| *j > 0)
    {
        return jobs;
    }
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(2, 4)
}

/// Reads every recipe and computes its identity, with the IDs of the base images present now.
/// A recipe whose base image is missing has no identity (it is absent from the map).
pub async fn identities<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
) -> Result<(Vec<Recipe>, BTreeMap<String, Identity>), UpError> {
    let recipes = recipe::read_recipes(stack)?;
    let mut external = BTreeMap::new();
    for image in external_images(&recipes) {
        if let Some(id) = engine.image_id(&image).await {
            external.insert(image, id);
        }
    }
    let ids = recipe::identities(&recipes, &external)?;
    Ok((recipes, ids))
}

fn external_images(recipes: &[Recipe]) -> BTreeSet<String> {
    recipes
        .iter()
        .flat_map(|r| r.external_froms(recipes).map(str::to_string))
        .collect()
}

/// The stack with each recipe's service running its content-derived reference (where the
/// base images are present to compute it).
pub async fn with_references<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
) -> Result<Stack, UpError> {
    let (_, ids) = identities(engine, stack).await?;
    Ok(stack.with_images(
        &ids.into_iter()
            .map(|(service, id)| (service, id.reference))
            .collect(),
    ))
}

/// The id of a service's image without a recipe: present, or pulled now.
async fn present_or_pulled<E: ContainerEngine>(
    engine: &E,
    service: &Service,
    progress: &dyn Progress,
) -> Result<String, UpError> {
    let id = match engine.image_id(&service.image).await {
        Some(id) => Some(id),
        None if engine.try_pull(&service.image, progress).await => {
            engine.image_id(&service.image).await
        }
        None => None,
    };
    id.ok_or_else(|| UpError::Service {
        service: service.name.clone(),
        message: format!(
            "image {} is not present and could not be pulled, and the service has no recipe; pull it or set services.{}.build: true",
            service.image, service.name
        ),
    })
}

/// Services sharing an identity (the Kafka nodes) build it once: the first in stack order, which
/// is the one other recipes are built FROM. Returns the recipes to build and, for each service
/// left out, the service whose build it shares.
fn one_build_per_identity<'a>(
    mut to_build: Vec<&'a Recipe>,
    recipes: &[Recipe],
    identities: &BTreeMap<String, Identity>,
) -> (Vec<&'a Recipe>, Vec<(String, String)>) {
    to_build.sort_by_key(|r| recipes.iter().position(|x| x.service == r.service));
    let mut unique: Vec<&Recipe> = Vec::new();
    let mut sharing: Vec<(String, String)> = Vec::new();
    for r in to_build {
        let reference = &identities[&r.service].reference;
        match unique
            .iter()
            .find(|u| &identities[&u.service].reference == reference)
        {
            Some(u) => sharing.push((r.service.clone(), u.service.clone())),
            None => unique.push(r),
        }
    }
    (unique, sharing)
}

/// Finds, pulls or builds every image of the stack (or of `only` and the images theirs are built
/// FROM).
pub async fn ensure_images<E: ContainerEngine>(
    engine: &E,
    stack: &Stack,
    cas: &CaCertificates,
    policy: BuildPolicy,
    only: &[String],
    verbose: bool,
    progress: &dyn Progress,
) -> Result<Images, UpError> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut images = Images::default();
    for service in stack.services.iter().filter(|s| wanted(&s.name)) {
        if service.build_context.is_none() {
            let id = present_or_pulled(engine, service, progress).await?;
            images
                .references
                .insert(service.name.clone(), service.image.clone());
            images.ids.insert(service.name.clone(), id);
        }
    }
    let recipes = recipe::read_recipes(stack)?;
    let external = ensure_external(engine, &recipes, policy, progress).await?;
    let identities = recipe::identities(&recipes, &external)?;
    let mut to_build: Vec<&Recipe> = Vec::new();
    let mut queue: Vec<&str> = recipes
        .iter()
        .map(|r| r.service.as_str())
        .filter(|s| wanted(s))
        .collect();
    while let Some(name) = queue.pop() {
        let Some(id) = identities.get(name) else {
            return Err(UpError::Step(format!(
                "{name}: no identity for its recipe (its base image is missing)"
            )));
        };
        let present = engine.image_id(&id.reference).await;
        if wanted(name) {
            images.references.insert(name.into(), id.reference.clone());
        }
        match present {
            Some(image_id) => {
                if wanted(name) {
                    images.ids.insert(name.into(), image_id);
                }
            }
            None if policy == BuildPolicy::Never => {
                return Err(UpError::Service {
                    service: name.into(),
                    message: format!(
                        "image {} (its recipe's identity) is missing and --no-build forbids building it; run `stackctl images load DIR` or `stackctl images build {name}` (or `up` without --no-build)",
                        id.reference
                    ),
                });
            }
            None => {
                if let Some(r) = recipes.iter().find(|r| r.service == name)
                    && !to_build.iter().any(|b| b.service == name)
                {
                    to_build.push(r);
                    queue.extend(id.depends_on.iter().map(String::as_str));
                }
            }
        }
    }
    let (unique, sharing) = one_build_per_identity(to_build, &recipes, &identities);
    let built = build_all(engine, &unique, &identities, cas, verbose, progress).await?;
    for (service, builder) in sharing {
        if let Some((id, _)) = built.get(&builder)
            && wanted(&service)
        {
            images.ids.insert(service, id.clone());
        }
    }
    for (service, (id, seconds)) in built {
        if wanted(&service) {
            images.ids.insert(service.clone(), id);
        }
        images.built.insert(service, seconds);
    }
    Ok(images)
}

/// The IDs of the images recipes start from, each made present (the base bootstrapped when it
/// cannot be pulled) unless `policy` forbids building.
async fn ensure_external<E: ContainerEngine>(
    engine: &E,
    recipes: &[Recipe],
    policy: BuildPolicy,
    progress: &dyn Progress,
) -> Result<BTreeMap<String, String>, UpError> {
    let mut out = BTreeMap::new();
    for image in external_images(recipes) {
        if engine.image_id(&image).await.is_none() {
            if policy == BuildPolicy::Never {
                return Err(UpError::Step(format!(
                    "the base image {image} is missing and --no-build forbids making it; run `stackctl images load DIR` (a directory written by `images save`) or `stackctl images build`"
                )));
            }
            if image == BASE_IMAGE {
                engine.ensure_base(progress).await?;
            } else if !engine.try_pull(&image, progress).await {
                return Err(UpError::Step(format!(
                    "the image {image} that a recipe builds FROM is neither present nor pullable; pull or load it"
                )));
            }
        }
        let id = engine.image_id(&image).await.ok_or_else(|| {
            UpError::Step(format!(
                "the image {image} is still missing after pulling it"
            ))
        })?;
        out.insert(image, id);
    }
    Ok(out)
}

type BuildFuture<'a> =
    Pin<Box<dyn Future<Output = (Job<'a>, Result<(String, f64), UpError>)> + 'a>>;

/// One unit of build work: a recipe's image, or only its early stage (to fill the layer cache).
#[derive(Clone, Copy)]
struct Job<'a> {
    recipe: &'a Recipe,
    stage: Option<&'a str>,
}

/// Builds `recipes`, each after the images it is built FROM, at most [`parallel_builds`] at a
/// time. Returns by service its image ID and the seconds its build took.
async fn build_all<E: ContainerEngine>(
    engine: &E,
    recipes: &[&Recipe],
    identities: &BTreeMap<String, Identity>,
    cas: &CaCertificates,
    verbose: bool,
    progress: &dyn Progress,
) -> Result<BTreeMap<String, (String, f64)>, UpError> {
    let limit = parallel_builds();
    let mut pending: Vec<Job> = recipes
        .iter()
        .map(|r| Job {
            recipe: r,
            stage: None,
        })
        .collect();
    // Early stages last: they only shorten the wait for a dependency, when builds run side by side.
    for r in recipes.iter().filter(|_| limit > 1) {
        let id = &identities[&r.service];
        if let Some(stage) = &id.early_stage
            && id
                .depends_on
                .iter()
                .any(|d| recipes.iter().any(|b| &b.service == d))
        {
            pending.push(Job {
                recipe: r,
                stage: Some(stage),
            });
        }
    }
    if !recipes.is_empty() {
        let names: Vec<&str> = recipes.iter().map(|r| r.service.as_str()).collect();
        progress.line(
            "images",
            &format!("building {} ({limit} at a time)", names.join(", ")),
        );
    }
    let mut done: BTreeMap<String, (String, f64)> = BTreeMap::new();
    let mut running: FuturesUnordered<BuildFuture> = FuturesUnordered::new();
    loop {
        let deps_built = |r: &Recipe| {
            identities[&r.service]
                .depends_on
                .iter()
                .all(|d| done.contains_key(d) || !recipes.iter().any(|b| &b.service == d))
        };
        // An early stage is pointless once the whole recipe can be built.
        pending.retain(|job| job.stage.is_none() || !deps_built(job.recipe));
        while running.len() < limit {
            let ready = pending
                .iter()
                .position(|job| job.stage.is_some() || deps_built(job.recipe));
            let Some(index) = ready else { break };
            let job = pending.remove(index);
            let identity = &identities[&job.recipe.service];
            running.push(Box::pin(async move {
                let result = build_one(engine, job, identity, cas, verbose, progress).await;
                (job, result)
            }));
        }
        let Some((job, result)) = running.next().await else {
            break;
        };
        let built = result?;
        if job.stage.is_none() {
            done.insert(job.recipe.service.clone(), built);
        }
    }
    if let Some(job) = pending.first() {
        return Err(UpError::Step(format!(
            "{}: the image it is built FROM was not built",
            job.recipe.service
        )));
    }
    Ok(done)
}

async fn build_one<E: ContainerEngine>(
    engine: &E,
    job: Job<'_>,
    identity: &Identity,
    cas: &CaCertificates,
    verbose: bool,
    progress: &dyn Progress,
) -> Result<(String, f64), UpError> {
    let recipe = job.recipe;
    let started = Instant::now();
    match job.stage {
        Some(stage) => progress.line(&recipe.service, &format!("building stage {stage} early")),
        None => progress.line(
            &recipe.service,
            &format!(
                "building {} from {}",
                identity.reference,
                recipe.context.display()
            ),
        ),
    }
    let tar = build_context(&recipe.context, cas)?;
    let args: HashMap<String, String> = identity.build_args.clone().into_iter().collect();
    let labels = HashMap::from([
        (LABEL_SERVICE.to_string(), recipe.service.clone()),
        (RECIPE_LABEL.to_string(), identity.digest.clone()),
    ]);
    let request = BuildRequest {
        service: &recipe.service,
        context: &recipe.context,
        context_tar: &tar,
        tag: job.stage.is_none().then_some(identity.reference.as_str()),
        target: job.stage,
        build_args: &args,
        labels: &labels,
        verbose,
    };
    let id = engine.build(&request, progress).await?;
    let what = job
        .stage
        .map_or_else(|| identity.reference.clone(), |s| format!("stage {s}"));
    let seconds = started.elapsed().as_secs_f64();
    progress.line(&recipe.service, &format!("built {what} in {seconds:.1} s"));
    Ok((id, seconds))
}
