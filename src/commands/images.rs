//! `images build` and `images list`: the images named by their recipes' identities.

use std::path::Path;

use std::fmt::Write;

use anyhow::Result;
use serde::Serialize;

use super::{ExitStatus, Paint, Printer, Table, board, cas};
use crate::cli::BuildOptions;
use crate::compose;
use crate::engine::Engine;
use crate::orchestrate::{self, BuildPolicy};
use crate::settings::{Phase, Settings};

pub async fn build(
    root: &Path,
    services: &[String],
    options: &BuildOptions,
    printer: &Printer,
) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    if let Some(unknown) = services.iter().find(|s| stack.service(s).is_none()) {
        anyhow::bail!(
            "unknown service `{unknown}`; known: {}",
            stack.service_names()
        );
    }
    let engine = Engine::connect().await?;
    let started = std::time::Instant::now();
    let images = orchestrate::ensure_images(
        &engine,
        &stack,
        &cas(options),
        BuildPolicy::IfMissing,
        services,
        options.verbose,
        // One line per service on a terminal (builds run side by side), every step otherwise.
        &board::Board::new(printer),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let rows: Vec<BuiltRow> = images
        .ids
        .iter()
        .map(|(service, id)| BuiltRow {
            service: service.clone(),
            image: images.references.get(service).cloned().unwrap_or_default(),
            id: id.clone(),
            built_seconds: images.built.get(service).copied(),
        })
        .collect();
    let report = serde_json::json!({ "images": rows, "seconds": seconds });
    printer.report(&report, |style, out| {
        let mut table = Table::new();
        for row in &rows {
            let (state, paint) = match row.built_seconds {
                Some(s) => (format!("built in {s:.1} s"), Paint::Good),
                None => ("present".to_string(), Paint::Plain),
            };
            table.painted(vec![
                (row.service.clone(), Paint::Plain),
                (row.image.clone(), Paint::Plain),
                (state, paint),
                (row.id.chars().take(19).collect(), Paint::Dim),
            ]);
        }
        out.write_str(&table.render(style))?;
        writeln!(
            out,
            "{} {} image(s), {} built, in {seconds:.1} s",
            style.bold("done:"),
            rows.len(),
            images.built.len()
        )
    })?;
    Ok(ExitStatus::Success)
}

/// One image of `images build`.
#[derive(Serialize)]
struct BuiltRow {
    service: String,
    image: String,
    id: String,
    /// Seconds its build took, when it was built now.
    built_seconds: Option<f64>,
}

/// One row of `images list`.
#[derive(Serialize)]
struct ImageRow {
    service: String,
    /// The image the service runs: for a recipe, the tag of its identity.
    image: String,
    /// The recipe's identity (sha256 hex), when the service has a recipe and its base is present.
    identity: Option<String>,
    present: bool,
    id: Option<String>,
    /// Size in bytes, as the engine's image inspect reports it.
    size_bytes: Option<i64>,
    recipe: Option<String>,
}

pub async fn list(root: &Path, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    let engine = Engine::connect().await?;
    let (_, identities) = orchestrate::identities(&engine, &stack).await?;
    let mut rows = Vec::new();
    for service in &stack.services {
        let identity = identities.get(&service.name);
        let image = identity.map_or(&service.image, |i| &i.reference);
        let summary = engine.image_summary(image).await;
        rows.push(ImageRow {
            service: service.name.clone(),
            image: image.clone(),
            identity: identity.map(|i| i.digest.clone()),
            present: summary.is_some(),
            size_bytes: summary.as_ref().and_then(|(_, size)| *size),
            id: summary.map(|(id, _)| id),
            recipe: service
                .build_context
                .as_ref()
                .map(|p| p.display().to_string()),
        });
    }
    printer.report(&rows, |style, out| {
        let mut table = Table::new().right_align(3);
        for row in &rows {
            let (state, paint) = match (row.present, &row.recipe, &row.identity) {
                (true, _, _) => ("present", Paint::Good),
                (false, Some(_), None) => (
                    "base image missing (stackctl images build or images load)",
                    Paint::Warn,
                ),
                _ => ("missing (stackctl images build)", Paint::Warn),
            };
            table.painted(vec![
                (row.service.clone(), Paint::Plain),
                (row.image.clone(), Paint::Plain),
                (state.into(), paint),
                (
                    row.size_bytes.map(human_size).unwrap_or_default(),
                    Paint::Plain,
                ),
                (
                    row.recipe.clone().unwrap_or_else(|| "(no recipe)".into()),
                    Paint::Dim,
                ),
            ]);
        }
        out.write_str(&table.render(style))
    })?;
    Ok(ExitStatus::Success)
}

/// Bytes as Docker prints them (decimal units): 406MB, 1.2GB.
fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    match b {
        b if b >= 1e9 => format!("{:.1}GB", b / 1e9),
        b if b >= 1e6 => format!("{:.0}MB", b / 1e6),
        b if b >= 1e3 => format!("{:.0}kB", b / 1e3),
        b => format!("{b:.0}B"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_docker_images() {
        assert_eq!(super::human_size(406_000_000), "406MB");
        assert_eq!(super::human_size(1_234_000_000), "1.2GB");
        assert_eq!(super::human_size(999), "999B");
    }
}
