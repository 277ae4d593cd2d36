//! `up`, `down`, `status` and `logs`: the running stack.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::{ExitStatus, Printer, cas, load};
use crate::cli::BuildOptions;
use crate::clients::Endpoints;
use crate::compose;
use crate::engine::Engine;
use crate::engine::containers::ProjectContainer;
use crate::orchestrate::{self, Action, DeployOptions};
use crate::render::TemplateSet;
use crate::secrets::{FileStore, LineRedactor, Redactor, SecretSource};
use crate::settings::{Phase, Settings};
use crate::state::StateFile;

pub async fn up(
    root: &Path,
    phase: Phase,
    options: &BuildOptions,
    printer: &Printer,
) -> Result<ExitStatus> {
    let (settings, secrets) = load(root)?;
    let templates = TemplateSet::load(root)?;
    let cas = cas(options);
    let deploy = DeployOptions {
        templates: &templates,
        cas: &cas,
        verbose: options.verbose,
    };
    let (report, _) =
        orchestrate::deploy(root, &settings, &secrets, phase, &deploy, printer).await?;
    printer.report(&report, |style| {
        println!(
            "{} phase {} in {:.1} s (Docker API {})",
            style.bold("stack up:"),
            report.phase,
            report.seconds,
            report.api_version
        );
        for s in &report.services {
            let action = match s.action {
                Action::Created => style.good("created  "),
                Action::Recreated => style.warn("recreated"),
                Action::Unchanged => style.dim("unchanged"),
            };
            println!(
                "  {action} {:<16} {:<8} {:>6.1} s",
                s.service, s.health, s.seconds
            );
        }
        for step in &report.steps {
            println!("  {} {step}", style.dim("-"));
        }
        println!("{}", style.bold("endpoints:"));
        for (name, url) in &report.endpoints {
            println!("  {name:<24} {url}");
        }
    })?;
    Ok(ExitStatus::Success)
}

pub async fn down(root: &Path, volumes: bool, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, Phase::MAX)?;
    let engine = Engine::connect().await?;
    let report = orchestrate::down(&engine, &stack, volumes).await?;
    StateFile::new(root).remove()?;
    printer.report(&report, |style| {
        println!(
            "{} {} container(s), {} network(s), {} volume(s){}",
            style.bold("removed"),
            report.containers.len(),
            report.networks.len(),
            report.volumes.len(),
            if volumes {
                ""
            } else {
                " (volumes kept; --volumes removes them)"
            }
        );
    })?;
    Ok(ExitStatus::Success)
}

/// The phase the running containers were created for, when they all agree.
pub fn running_phase(containers: &[ProjectContainer]) -> Option<Phase> {
    let first = containers.first()?.phase?;
    containers
        .iter()
        .all(|c| c.phase == Some(first))
        .then_some(first)
}

pub async fn status(root: &Path, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let engine = Engine::connect().await?;
    // The pipeline needs logins (Connect REST, Kafka admin): without valid secrets, say so there.
    let secrets = FileStore::new(root).load(&settings.principals());
    let containers = engine.project_containers(&settings.project).await?;
    let state = StateFile::new(root).read()?;
    let phase = running_phase(&containers).or(state.map(|s| s.phase));
    let complete = state.is_some_and(|s| s.complete);
    let all_well = !containers.is_empty()
        && containers
            .iter()
            .all(|c| c.state == "running" && c.health.as_deref().is_none_or(|h| h == "healthy"));
    let rows: Vec<_> = containers
        .iter()
        .map(|c| serde_json::json!({"service": c.service, "container": c.name, "state": c.state, "health": c.health, "ports": c.ports}))
        .collect();
    let pipeline = match (&secrets, containers.is_empty()) {
        (_, true) => None,
        (Ok(secrets), false) => {
            let endpoints = Endpoints::new(&settings, secrets)?;
            Some(Ok(orchestrate::pipeline_status(
                &settings, secrets, &endpoints,
            )
            .await))
        }
        (Err(e), false) => Some(Err(e.to_string())),
    };
    let pipeline_json = match &pipeline {
        None => serde_json::Value::Null,
        Some(Ok(p)) => serde_json::json!({
            "connector": p.connector_name, "state": p.connector.as_ref().ok(), "tasks": p.tasks,
            "trace": p.trace, "error": p.connector.as_ref().err(),
            "dead_letter_topic": p.dead_letter_topic, "dead_letters": p.dead_letters.as_ref().ok(),
            "dead_letters_error": p.dead_letters.as_ref().err(),
        }),
        Some(Err(e)) => serde_json::json!({ "error": e }),
    };
    let json = serde_json::json!({ "phase": phase, "complete": complete, "healthy": all_well, "services": rows, "pipeline": pipeline_json });
    printer.report(&json, |style| {
        match phase {
            _ if containers.is_empty() => {
                println!("{} not running (`stackctl up`)", style.bold("stack:"))
            }
            Some(p) if complete => println!("{} phase {p}", style.bold("stack:")),
            Some(p) => println!(
                "{} phase {p}, but the last `up` did not finish: run `stackctl up --phase {p}`",
                style.bold("stack:")
            ),
            None => println!(
                "{} phase unknown (no .stackctl/state.json in this checkout)",
                style.bold("stack:")
            ),
        }
        for c in &containers {
            let health = c.health.clone().unwrap_or_else(|| "-".into());
            let health = match health.as_str() {
                "healthy" => style.good(&health),
                "starting" | "-" => style.dim(&health),
                _ => style.warn(&health),
            };
            println!(
                "  {:<16} {:<8} {:<10} {}",
                c.service,
                c.state,
                health,
                c.ports.join(", ")
            );
        }
        match &pipeline {
            None => {}
            Some(Err(e)) => println!("{} unknown: {e}", style.bold("pipeline:")),
            Some(Ok(p)) => print_pipeline(p, &style),
        }
    })?;
    // CI can act on it: 1 when a service is missing, stopped or unhealthy, or the sink is not
    // RUNNING.
    let sink_running = match &pipeline {
        Some(Ok(p)) => {
            p.connector.as_deref() == Ok("RUNNING")
                && !p.tasks.is_empty()
                && p.tasks.iter().all(|t| t == "RUNNING")
        }
        _ => true,
    };
    Ok(ExitStatus::from_success(all_well && sink_running))
}

fn print_pipeline(p: &orchestrate::PipelineStatus, style: &super::Style) {
    let paint = |state: &str| match state {
        "RUNNING" => style.good(state),
        "FAILED" => style.warn(state),
        _ => style.dim(state),
    };
    let connector = match &p.connector {
        Ok(state) => paint(state),
        Err(e) => style.warn(e),
    };
    let tasks: Vec<String> = p.tasks.iter().map(|t| paint(t)).collect();
    println!(
        "{} connector {} {connector}, tasks [{}]",
        style.bold("pipeline:"),
        p.connector_name,
        tasks.join(", ")
    );
    if let Some(trace) = &p.trace {
        println!("  task failed: {trace} (`stackctl logs connect`)");
    }
    match &p.dead_letters {
        Ok(0) => println!("  dead letters: 0 in {}", p.dead_letter_topic),
        Ok(n) => println!(
            "  dead letters: {} in {} (records the sink could not write; the reason is in each record's __connect.errors.* headers)",
            style.warn(&n.to_string()),
            p.dead_letter_topic
        ),
        Err(e) => println!("  dead letters: unknown ({e})"),
    }
}

pub async fn logs(root: &Path, service: &str, follow: bool, tail: usize) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let store = FileStore::new(root);
    // Logs matter most when something is wrong, secrets included: with invalid secrets, every
    // value that can be read is still redacted.
    let redactor = match store.load(&settings.principals()) {
        Ok(secrets) => Redactor::new(&secrets),
        Err(e) => {
            eprintln!("warning: {e}\n(redacting every secret value that can be read)");
            Redactor::new(&store.readable_values(&settings.principals()))
        }
    };
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    let Some(container) = containers.iter().find(|c| c.service == service) else {
        if containers.is_empty() {
            anyhow::bail!(
                "the stack is not running (no containers of project {}): run `stackctl up`",
                settings.project
            );
        }
        anyhow::bail!(
            "no container for service `{service}` in project {}; there are: {}",
            settings.project,
            containers
                .iter()
                .map(|c| c.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if follow {
        // Redacted by whole lines: a secret split across two chunks is still found.
        let mut lines = LineRedactor::new(redactor);
        let mut out = std::io::stdout();
        engine
            .follow_logs(&container.id, tail, |chunk| {
                let _ = out.write_all(lines.push(chunk).as_bytes());
                let _ = out.flush();
            })
            .await?;
        let _ = out.write_all(lines.finish().as_bytes());
    } else {
        let text = engine.logs(&container.id, Some(tail)).await?;
        print!("{}", redactor.redact(&text));
    }
    Ok(ExitStatus::Success)
}
