//! A recipe's identity: the image a recipe builds is named by what it is built from — the bytes of
//! its directory (Dockerfile included), its build arguments and the images its `FROM` lines start
//! from (the base's image ID; another recipe's identity). An unchanged recipe finds its image under
//! the same name and is never rebuilt; a changed one gets a new name and never reuses a stale image;
//! two checkouts building different recipes never overwrite each other's tag.
//!
//! The extra CA certificates sent with a build are not part of the identity: they only decide whom
//! the build trusts while downloading, and nothing of them reaches a runtime image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::UpError;
use crate::compose::{Service, Stack};
use crate::engine::images::{CaCertificates, build_context};

/// The image label holding a recipe's full identity (sha256 hex).
pub const RECIPE_LABEL: &str = "io.stackctl.recipe";

/// How many hex digits of the identity the tag carries.
const TAG_DIGITS: usize = 12;

/// One `FROM` line, its global `ARG`s substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLine {
    pub image: String,
    /// The stage name (`AS name`), when there is one.
    pub stage: Option<String>,
    /// `NAME` when the line reads exactly `FROM ${NAME}`: the build argument that chooses the image.
    pub arg: Option<String>,
}

/// A service's recipe as read once: the build context (without CA certificates) and its FROMs.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub service: String,
    /// The compose definition the service comes from: `kafka` for every Kafka node. Recipes built
    /// FROM it name it so, so their identity does not depend on the node count.
    pub definition: String,
    pub declared: String,
    pub context: PathBuf,
    pub build_args: BTreeMap<String, String>,
    /// The recipe directory as a deterministic tar (no CA certificates).
    pub context_tar: Vec<u8>,
    pub froms: Vec<FromLine>,
}

/// What a recipe builds, named by its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// sha256 hex of everything the image is built from.
    pub digest: String,
    /// `repo:tag-<first 12 digits>` of the declared `repo:tag`.
    pub reference: String,
    /// The build arguments of the build: the recipe's own, plus each `FROM ${NAME}` that names
    /// another service's image, set to that image's reference.
    pub build_args: BTreeMap<String, String>,
    /// The services whose images this one is built FROM.
    pub depends_on: Vec<String>,
    /// A named stage before the first FROM of another service's image: it can be built (and
    /// cached) while that image is still being built.
    pub early_stage: Option<String>,
}

impl Recipe {
    /// Reads `service`'s recipe; `None` when it has none.
    pub fn read(service: &Service) -> Result<Option<Recipe>, UpError> {
        let Some(context) = &service.build_context else {
            return Ok(None);
        };
        let path = context.join("Dockerfile");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            UpError::Step(format!(
                "cannot read the image recipe {} ({e}); restore it, or set services.{}.build: false to use a published image",
                path.display(),
                service.name
            ))
        })?;
        let context_tar = build_context(context, &CaCertificates::none())?;
        let definition = match service.node {
            Some(_) => crate::settings::ServiceKind::Kafka.name().to_string(),
            None => service.name.clone(),
        };
        Ok(Some(Recipe {
            service: service.name.clone(),
            definition,
            declared: service.image.clone(),
            context: context.clone(),
            build_args: service.build_args.clone(),
            context_tar,
            froms: parse_froms(&text, &service.build_args),
        }))
    }

    /// Images this recipe starts from that are neither its own stages nor another recipe's image.
    pub fn external_froms<'a>(&'a self, recipes: &'a [Recipe]) -> impl Iterator<Item = &'a str> {
        self.froms.iter().enumerate().filter_map(move |(i, f)| {
            let stage = self.froms[..i]
                .iter()
                .any(|s| s.stage.as_deref() == Some(f.image.as_str()));
            let recipe = recipes.iter().any(|r| r.declared == f.image);
            (!stage && !recipe).then_some(f.image.as_str())
        })
    }
}

/// Every recipe of `stack`, read once.
pub fn read_recipes(stack: &Stack) -> Result<Vec<Recipe>, UpError> {
    let mut out = Vec::new();
    for service in &stack.services {
        if let Some(recipe) = Recipe::read(service)? {
            out.push(recipe);
        }
    }
    Ok(out)
}

/// The `FROM` lines of a Dockerfile. Global `ARG NAME=default` lines (before the first FROM) and
/// `build_args` are substituted in the image names.
pub fn parse_froms(text: &str, build_args: &BTreeMap<String, String>) -> Vec<FromLine> {
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    let mut froms = Vec::new();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        let keyword = words.next().unwrap_or("").to_ascii_uppercase();
        if keyword == "ARG" && froms.is_empty() {
            if let Some((k, v)) = words.next().and_then(|a| a.split_once('=')) {
                args.insert(k.to_string(), v.trim_matches('"').to_string());
            }
        } else if keyword == "FROM" {
            let raw = words.next().unwrap_or("").to_string();
            let stage = match (words.next(), words.next()) {
                (Some(a), Some(name)) if a.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            let arg = raw
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .map(str::to_string);
            let mut image = raw;
            for (k, v) in args.iter().chain(build_args.iter()) {
                image = image.replace(&format!("${{{k}}}"), v);
            }
            froms.push(FromLine { image, stage, arg });
        }
    }
    froms
}

/// The content-derived reference of a declared `repo:tag`.
pub fn reference(declared: &str, digest: &str) -> String {
    let short = &digest[..TAG_DIGITS.min(digest.len())];
    match declared.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => format!("{repo}:{tag}-{short}"),
        _ => format!("{declared}:{short}"),
    }
}

/// The identity of every recipe, each after the recipes it builds FROM. `external` gives the
/// image ID of an image no recipe builds (the base); a recipe whose base is missing has no
/// identity yet and is left out, and so are the recipes built FROM it.
pub fn identities(
    recipes: &[Recipe],
    external: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Identity>, UpError> {
    let mut out: BTreeMap<String, Identity> = BTreeMap::new();
    let mut blocked: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<&Recipe> = recipes.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut i = 0;
        while i < pending.len() {
            match identity(pending[i], recipes, external, &out, &blocked)? {
                Step::Wait => i += 1,
                Step::Blocked => {
                    blocked.insert(pending.remove(i).service.clone());
                }
                Step::Done(id) => {
                    out.insert(pending.remove(i).service.clone(), id);
                }
            }
        }
        if pending.len() == before {
            let names: Vec<&str> = pending.iter().map(|r| r.service.as_str()).collect();
            return Err(UpError::Step(format!(
                "the recipes of {} build FROM each other's images; break the cycle in their Dockerfiles",
                names.join(", ")
            )));
        }
    }
    Ok(out)
}

enum Step {
    Wait,
    Blocked,
    Done(Identity),
}

fn identity(
    recipe: &Recipe,
    recipes: &[Recipe],
    external: &BTreeMap<String, String>,
    done: &BTreeMap<String, Identity>,
    blocked: &BTreeSet<String>,
) -> Result<Step, UpError> {
    let mut hasher = Sha256::new();
    hasher.update(b"stackctl image recipe v1\n");
    hasher.update(format!(
        "context {}\n",
        hex::encode(Sha256::digest(&recipe.context_tar))
    ));
    let mut build_args = recipe.build_args.clone();
    let mut depends_on = Vec::new();
    let mut early_stage = None;
    let mut stages: Vec<&str> = Vec::new();
    let externals: Vec<&str> = recipe.external_froms(recipes).collect();
    for from in &recipe.froms {
        if let Some(dep) = recipes
            .iter()
            .find(|r| r.declared == from.image && r.service != recipe.service)
        {
            if blocked.contains(&dep.service) {
                return Ok(Step::Blocked);
            }
            let Some(dep_id) = done.get(&dep.service) else {
                return Ok(Step::Wait);
            };
            let Some(arg) = &from.arg else {
                return Err(UpError::Step(format!(
                    "{}: `FROM {}` names the {} service's image by its tag; stackctl builds that image under a content-derived tag and passes it as a build argument: write `ARG {}_IMAGE={}` before the first FROM and `FROM ${{{}_IMAGE}}`",
                    recipe.context.join("Dockerfile").display(),
                    from.image,
                    dep.definition,
                    dep.definition.to_ascii_uppercase().replace('-', "_"),
                    from.image,
                    dep.definition.to_ascii_uppercase().replace('-', "_"),
                )));
            };
            build_args.insert(arg.clone(), dep_id.reference.clone());
            hasher.update(format!("from {} {}\n", dep.definition, dep_id.digest));
            if depends_on.is_empty() {
                early_stage = stages.last().map(std::string::ToString::to_string);
            }
            depends_on.push(dep.service.clone());
        } else if externals.contains(&from.image.as_str()) {
            let Some(id) = external.get(&from.image) else {
                return Ok(Step::Blocked);
            };
            hasher.update(format!("from {} {id}\n", from.image));
        }
        if let Some(stage) = &from.stage {
            stages.push(stage);
        }
    }
    for (k, v) in &build_args {
        hasher.update(format!("arg {k}={v}\n"));
    }
    let digest = hex::encode(hasher.finalize());
    Ok(Step::Done(Identity {
        reference: reference(&recipe.declared, &digest),
        digest,
        build_args,
        depends_on,
        early_stage,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use crate::settings::{Phase, Settings};

    #[test]
    fn kafka_nodes_share_one_identity_and_connect_keeps_its_own_at_three_nodes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let base = BTreeMap::from([(
            crate::engine::images::BASE_IMAGE.to_string(),
            "sha256:base".to_string(),
        )]);
        let ids_at = |brokers: u16| {
            let mut settings = Settings::load(root).expect("settings");
            settings.kafka.brokers = brokers;
            let stack = crate::compose::load(root, &settings, Phase::MAX).expect("compose");
            let recipes = super::read_recipes(&stack).expect("recipes");
            super::identities(&recipes, &base).expect("identities")
        };
        let (one, three) = (ids_at(1), ids_at(3));
        for node in ["kafka-1", "kafka-2", "kafka-3"] {
            assert_eq!(three[node].reference, one["kafka"].reference, "{node}");
        }
        assert_eq!(three["connect"].depends_on, vec!["kafka-1".to_string()]);
        assert_eq!(three["connect"].reference, one["connect"].reference);
    }
}
