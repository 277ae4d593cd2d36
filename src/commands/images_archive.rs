//! `images save DIR` / `images load DIR`: the recipes' images in Docker's archive format, named
//! by their identities, for a CI cache.
//!
//! DIR holds one archive, `images-<digest>.tar` (the recipes' images and the base they start
//! from, each layer once), and `stackctl-images.json`, which names it and lists what it holds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ExitStatus, Paint, Printer, Style, Table};
use crate::compose;
use crate::engine::Engine;
use crate::orchestrate::{self, Identity, Recipe};
use crate::progress::Progress;
use crate::settings::{Phase, Settings};

const INDEX: &str = "stackctl-images.json";

/// `stackctl-images.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    format: u32,
    /// The archive file in the same directory.
    archive: String,
    /// Images the recipes start from (the base), by name: their image IDs.
    bases: BTreeMap<String, String>,
    /// By service: the reference and the identity it was saved under.
    images: BTreeMap<String, Saved>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    reference: String,
    identity: String,
}

/// One service in the report of `save` or `load`.
#[derive(Serialize)]
struct Row {
    service: String,
    image: String,
    state: &'static str,
}

async fn resolve(root: &Path) -> Result<(Engine, Vec<Recipe>, BTreeMap<String, Identity>)> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    let engine = Engine::connect().await?;
    let (recipes, identities) = orchestrate::identities(&engine, &stack).await?;
    Ok((engine, recipes, identities))
}

fn bases_of(recipes: &[Recipe]) -> Vec<String> {
    let mut bases: Vec<String> = recipes
        .iter()
        .flat_map(|r| r.external_froms(recipes).map(str::to_string))
        .collect();
    bases.sort();
    bases.dedup();
    bases
}

/// What `save` writes: every recipe's image (present, of its identity) and their bases.
async fn index_of(
    engine: &Engine,
    recipes: &[Recipe],
    identities: &BTreeMap<String, Identity>,
) -> Result<Index> {
    let mut bases = BTreeMap::new();
    for base in bases_of(recipes) {
        let id = engine.image_id(&base).await.with_context(|| {
            format!("the base image {base} is missing: run `stackctl images build` first")
        })?;
        bases.insert(base, id);
    }
    let mut images = BTreeMap::new();
    for recipe in recipes {
        let identity = identities
            .get(&recipe.service)
            .with_context(|| format!("{}: its recipe has no identity yet", recipe.service))?;
        if engine.image_id(&identity.reference).await.is_none() {
            anyhow::bail!(
                "{}: image {} is missing: run `stackctl images build` first",
                recipe.service,
                identity.reference
            );
        }
        images.insert(
            recipe.service.clone(),
            Saved {
                reference: identity.reference.clone(),
                identity: identity.digest.clone(),
            },
        );
    }
    let mut hasher = Sha256::new();
    for (service, saved) in &images {
        hasher.update(format!("{service} {}\n", saved.identity));
    }
    for (base, id) in &bases {
        hasher.update(format!("{base} {id}\n"));
    }
    Ok(Index {
        format: 1,
        archive: format!("images-{}.tar", &hex::encode(hasher.finalize())[..16]),
        bases,
        images,
    })
}

pub async fn save(root: &Path, dir: &Path, printer: &Printer) -> Result<ExitStatus> {
    let (engine, recipes, identities) = resolve(root).await?;
    let index = index_of(&engine, &recipes, &identities).await?;
    let archive = index.archive.clone();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let previous = read_index(dir).ok();
    let path = dir.join(&archive);
    let state = if previous.as_ref().is_some_and(|p| p.archive == archive) && path.is_file() {
        "already saved"
    } else {
        let mut names: Vec<&str> = index
            .images
            .values()
            .map(|s| s.reference.as_str())
            .collect();
        names.extend(index.bases.keys().map(String::as_str));
        printer.line(
            "images",
            &format!("saving {} image(s) to {}", names.len(), path.display()),
        );
        engine.save_images(&names, &path).await?;
        write_index(dir, &index)?;
        if let Some(old) = previous.filter(|p| p.archive != archive) {
            // Only the archive this command wrote before, named by its own index.
            let _ = std::fs::remove_file(
                dir.join(Path::new(&old.archive).file_name().unwrap_or_default()),
            );
        }
        "saved"
    };
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let rows: Vec<Row> = index
        .images
        .iter()
        .map(|(service, saved)| Row {
            service: service.clone(),
            image: saved.reference.clone(),
            state,
        })
        .collect();
    let report = serde_json::json!({ "archive": path, "bytes": size, "images": rows });
    printer.report(&report, |style, out| {
        out.write_str(&table(&rows, style))?;
        writeln!(
            out,
            "{} {} ({:.0} MB)",
            style.bold(state),
            path.display(),
            size as f64 / 1e6
        )
    })?;
    Ok(ExitStatus::Success)
}

pub async fn load(root: &Path, dir: &Path, printer: &Printer) -> Result<ExitStatus> {
    let index = read_index(dir)?;
    let (engine, recipes, _) = resolve(root).await?;
    // A base here that differs from the saved one: no saved identity can match.
    for (base, saved_id) in &index.bases {
        if let Some(id) = engine.image_id(base).await
            && &id != saved_id
        {
            printer.warn(&format!(
                "not loading {}: it was saved on another {base} ({}) than the one here ({}); `stackctl images build` builds the images",
                index.archive,
                short(saved_id),
                short(&id)
            ));
            return Ok(ExitStatus::Success);
        }
    }
    // The identities the recipes here have on the saved base.
    let expected = orchestrate::recipe_identities(&recipes, &index.bases)?;
    let mut missing = false;
    for recipe in &recipes {
        let Some(id) = expected.get(&recipe.service) else {
            continue;
        };
        let saved = index.images.get(&recipe.service);
        if saved.is_some_and(|s| s.identity == id.digest)
            && engine.image_id(&id.reference).await.is_none()
        {
            missing = true;
        }
    }
    let path = dir.join(Path::new(&index.archive).file_name().unwrap_or_default());
    let started = std::time::Instant::now();
    if missing {
        printer.line("images", &format!("loading {}", path.display()));
        engine.load_images(&path).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut rows = Vec::new();
    for recipe in &recipes {
        let Some(id) = expected.get(&recipe.service) else {
            continue;
        };
        let matches = index
            .images
            .get(&recipe.service)
            .is_some_and(|s| s.identity == id.digest);
        let present = engine.image_id(&id.reference).await.is_some();
        rows.push(Row {
            service: recipe.service.clone(),
            image: id.reference.clone(),
            state: match (present, matches, missing) {
                (true, true, true) => "loaded",
                (true, _, _) => "present",
                (false, false, _) => "not saved (recipe changed): images build",
                (false, true, _) => "missing after load",
            },
        });
    }
    let report = serde_json::json!({ "archive": path, "seconds": seconds, "images": rows });
    printer.report(&report, |style, out| {
        out.write_str(&table(&rows, style))?;
        writeln!(out, "{} in {seconds:.1} s", style.bold("done:"))
    })?;
    if rows.iter().any(|r| r.state == "missing after load") {
        return Ok(ExitStatus::Error);
    }
    Ok(ExitStatus::Success)
}

fn table(rows: &[Row], style: Style) -> String {
    let mut table = Table::new();
    for row in rows {
        let paint = match row.state {
            "loaded" | "saved" | "present" | "already saved" => Paint::Good,
            _ => Paint::Warn,
        };
        table.painted(vec![
            (row.service.clone(), Paint::Plain),
            (row.image.clone(), Paint::Plain),
            (row.state.to_string(), paint),
        ]);
    }
    table.render(style)
}

fn short(id: &str) -> &str {
    let hex = id.trim_start_matches("sha256:");
    &hex[..12.min(hex.len())]
}

fn read_index(dir: &Path) -> Result<Index> {
    let path = dir.join(INDEX);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: not a directory written by `stackctl images save`",
            path.display()
        )
    })?;
    let index: Index = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an index written by `stackctl images save`",
            path.display()
        )
    })?;
    if index.format != 1 {
        anyhow::bail!(
            "{} has format {}; this stackctl reads format 1: save the images again",
            path.display(),
            index.format
        );
    }
    Ok(index)
}

fn write_index(dir: &Path, index: &Index) -> Result<()> {
    let path = dir.join(INDEX);
    let partial = dir.join(format!("{INDEX}.partial"));
    let text = serde_json::to_string_pretty(index)?;
    std::fs::write(&partial, text + "\n")
        .and_then(|()| std::fs::rename(&partial, &path))
        .with_context(|| format!("cannot write {}", path.display()))
}
