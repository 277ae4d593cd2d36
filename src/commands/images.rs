//! `images build` and `images list`.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::{ExitStatus, Printer, cas};
use crate::cli::BuildOptions;
use crate::compose;
use crate::engine::Engine;
use crate::orchestrate;
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
            stack
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let engine = Engine::connect().await?;
    let started = std::time::Instant::now();
    let ids = orchestrate::ensure_images(
        &engine,
        &stack,
        &cas(options),
        true,
        services,
        options.verbose,
        printer,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let report = serde_json::json!({ "images": ids, "seconds": seconds });
    printer.report(&report, |style| {
        for (service, id) in &ids {
            let image = stack.service(service).map_or("", |s| s.image.as_str());
            println!(
                "  {} {service:<16} {image:<36} {}",
                style.good("built"),
                &id[..id.len().min(19)]
            );
        }
        println!(
            "{} {} image(s) in {seconds:.1} s",
            style.bold("done:"),
            ids.len()
        );
    })?;
    Ok(ExitStatus::Success)
}

/// One row of `images list`.
#[derive(Serialize)]
struct ImageRow {
    service: String,
    image: String,
    present: bool,
    id: Option<String>,
    recipe: Option<String>,
}

pub async fn list(root: &Path, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    let engine = Engine::connect().await?;
    let mut rows = Vec::new();
    for service in &stack.services {
        let id = engine.image_id(&service.image).await;
        rows.push(ImageRow {
            service: service.name.clone(),
            image: service.image.clone(),
            present: id.is_some(),
            id,
            recipe: service
                .build_context
                .as_ref()
                .map(|p| p.display().to_string()),
        });
    }
    printer.report(&rows, |style| {
        for row in &rows {
            println!(
                "  {:<16} {:<36} {}",
                row.service,
                row.image,
                if row.present {
                    style.good("present")
                } else {
                    style.warn("missing (stackctl images build)")
                }
            );
        }
    })?;
    Ok(ExitStatus::Success)
}
