//! `up`, `down` and `status` (alias `ps`): the stack as a whole.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use super::{ExitStatus, Paint, Printer, Table, cas, load};
use crate::cli::BuildOptions;
use crate::clients::Endpoints;
use crate::compose;
use crate::engine::Engine;
use crate::engine::containers::ProjectContainer;
use crate::orchestrate::{self, Action, BuildPolicy, DeployOptions, DownOptions, UpOptions};
use crate::render::{RENDER_DIR, TemplateSet, layout};
use crate::secrets::{FileStore, SecretSource};
use crate::settings::{Phase, Settings};
use crate::state::StateFile;

/// What `up` was asked for besides the phase.
pub struct UpRequest {
    pub services: Vec<String>,
    pub force_recreate: bool,
    pub no_build: bool,
}

pub async fn up(
    root: &Path,
    phase: Phase,
    request: &UpRequest,
    options: &BuildOptions,
    printer: &Printer,
) -> Result<ExitStatus> {
    let (settings, secrets) = load(root)?;
    // Named services are checked before anything is rendered, recorded or started.
    orchestrate::selected(
        &compose::load(root, &settings, phase)?,
        &request.services,
        true,
    )?;
    let templates = TemplateSet::load(root)?;
    let cas = cas(options);
    let deploy = DeployOptions {
        templates: &templates,
        cas: &cas,
        verbose: options.verbose,
        up: UpOptions {
            services: request.services.clone(),
            force_recreate: request.force_recreate,
            build: if request.no_build {
                BuildPolicy::Never
            } else {
                BuildPolicy::IfMissing
            },
            all_nodes_at_once: false,
        },
    };
    let (report, _) =
        orchestrate::deploy(root, &settings, &secrets, phase, &deploy, printer).await?;
    printer.report(&report, |style, out| {
        writeln!(
            out,
            "{} phase {} in {:.1} s (Docker API {})",
            style.bold("stack up:"),
            report.phase,
            report.seconds,
            report.api_version
        )?;
        let mut table = Table::new().right_align(3);
        for s in &report.services {
            let action = match s.action {
                Action::Created => ("created", Paint::Good),
                Action::Recreated => ("recreated", Paint::Warn),
                Action::Unchanged => ("unchanged", Paint::Dim),
            };
            table.painted(vec![
                (action.0.into(), action.1),
                (s.service.clone(), Paint::Plain),
                (s.health.clone(), Paint::Plain),
                (format!("{:.1} s", s.seconds), Paint::Plain),
            ]);
        }
        out.write_str(&table.render(style))?;
        for step in &report.steps {
            writeln!(out, "  {} {step}", style.dim("-"))?;
        }
        writeln!(out, "{}", style.bold("endpoints:"))?;
        let mut endpoints = Table::new();
        for (name, url) in &report.endpoints {
            endpoints.row([name.as_str(), url.as_str()]);
        }
        out.write_str(&endpoints.render(style))
    })?;
    Ok(ExitStatus::Success)
}

pub async fn down(root: &Path, options: DownOptions, printer: &Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let engine = Engine::connect().await?;
    // `--rmi local` removes the images of the recipes' identities; a recipe whose identity
    // cannot be computed (its base is gone) keeps its image: the configured tag may be another
    // checkout's.
    let loaded = compose::load(root, &settings, Phase::MAX)?;
    let (_, identities) = orchestrate::identities(&engine, &loaded).await?;
    let mut stack = loaded.with_images(
        &identities
            .iter()
            .map(|(service, id)| (service.clone(), id.reference.clone()))
            .collect(),
    );
    for service in &mut stack.services {
        if !identities.contains_key(&service.name) {
            service.build_context = None;
        }
    }
    let report = orchestrate::down(&engine, &stack, options).await?;
    StateFile::new(root).remove()?;
    for kept in &report.images_kept {
        printer.warn(&format!("image {} kept: {}", kept.image, kept.reason));
    }
    printer.report(&report, |style, out| {
        writeln!(
            out,
            "{} {} container(s), {} network(s), {} volume(s){}",
            style.bold("removed"),
            report.containers.len(),
            report.networks.len(),
            report.volumes.len(),
            if options.volumes {
                ""
            } else {
                " (volumes kept; --volumes removes them)"
            }
        )?;
        if options.local_images {
            writeln!(
                out,
                "{} {} image(s){}",
                style.bold("removed"),
                report.images.len(),
                if report.images.is_empty() {
                    String::new()
                } else {
                    format!(": {}", report.images.join(", "))
                }
            )?;
        }
        Ok(())
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

pub async fn status(root: &Path, clients: bool, printer: &Printer) -> Result<ExitStatus> {
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
    let client_files = if clients {
        client_files(root, &settings, phase.unwrap_or(Phase::MAX))
    } else {
        Vec::new()
    };
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
    let metrics = match &pipeline {
        Some(Ok(_)) => task_metrics(&engine, &containers, &settings).await,
        _ => None,
    };
    let pipeline_json = pipeline_json(pipeline.as_ref(), metrics.as_ref());
    let mut json = serde_json::json!({ "phase": phase, "complete": complete, "healthy": all_well, "services": rows, "pipeline": pipeline_json });
    if clients {
        json["clients"] = serde_json::json!(client_files);
    }
    printer.report(&json, |style, out| {
        let stack = style.bold("stack:");
        match phase {
            _ if containers.is_empty() => writeln!(out, "{stack} not running (`stackctl up`)")?,
            Some(p) if complete => writeln!(out, "{stack} phase {p}")?,
            Some(p) => writeln!(
                out,
                "{stack} phase {p}, but the last `up` did not finish: run `stackctl up --phase {p}`"
            )?,
            None => writeln!(
                out,
                "{stack} phase unknown (no .stackctl/state.json in this checkout)"
            )?,
        }
        out.write_str(&services_table(&containers).render(style))?;
        match &pipeline {
            None => {}
            Some(Err(e)) => writeln!(out, "{} unknown: {e}", style.bold("pipeline:"))?,
            Some(Ok(p)) => {
                write_pipeline(out, p, style)?;
                write_metrics(out, metrics.as_ref(), style)?;
            }
        }
        if clients {
            writeln!(out, "{} (0600, git-ignored)", style.bold("client configs:"))?;
            out.write_str(&client_files_table(&client_files).render(style))?;
        }
        Ok(())
    })?;
    // CI can act on it: 1 when a service is missing, stopped or unhealthy, or the sink is not
    // RUNNING.
    Ok(ExitStatus::from_success(
        all_well && sink_running(pipeline.as_ref()),
    ))
}

/// The pipeline's part of `status --format json`.
fn pipeline_json(
    pipeline: Option<&Result<orchestrate::PipelineStatus, String>>,
    metrics: Option<&Result<Vec<orchestrate::TaskMetrics>, String>>,
) -> serde_json::Value {
    match pipeline {
        None => serde_json::Value::Null,
        Some(Ok(p)) => serde_json::json!({
            "connector": p.connector_name, "state": p.connector.as_ref().ok(), "tasks": p.tasks,
            "trace": p.trace, "error": p.connector.as_ref().err(),
            "dead_letter_topic": p.dead_letter_topic, "dead_letters": p.dead_letters.as_ref().ok(),
            "dead_letters_error": p.dead_letters.as_ref().err(),
            "metrics": metrics.and_then(|m| m.as_ref().ok()),
            "metrics_error": metrics.and_then(|m| m.as_ref().err()),
        }),
        Some(Err(e)) => serde_json::json!({ "error": e }),
    }
}

/// False only when the pipeline was asked and its sink (connector or a task) is not RUNNING.
fn sink_running(pipeline: Option<&Result<orchestrate::PipelineStatus, String>>) -> bool {
    match pipeline {
        Some(Ok(p)) => {
            p.connector.as_deref() == Ok("RUNNING")
                && !p.tasks.is_empty()
                && p.tasks.iter().all(|t| t == "RUNNING")
        }
        _ => true,
    }
}

/// One row per container: service, state, health (painted), ports.
fn services_table(containers: &[ProjectContainer]) -> Table {
    let mut table = Table::new();
    for c in containers {
        let health = c.health.clone().unwrap_or_else(|| "-".into());
        let paint = match health.as_str() {
            "healthy" => Paint::Good,
            "starting" | "-" => Paint::Dim,
            _ => Paint::Warn,
        };
        table.painted(vec![
            (c.service.clone(), Paint::Plain),
            (c.state.clone(), Paint::Plain),
            (health, paint),
            (c.ports.join(", "), Paint::Plain),
        ]);
    }
    table
}

/// One row per client configuration file, a missing one marked.
fn client_files_table(files: &[ClientFile]) -> Table {
    let mut table = Table::new();
    for f in files {
        let (state, paint) = if f.present {
            ("", Paint::Plain)
        } else {
            ("missing: `stackctl render`", Paint::Warn)
        };
        table.painted(vec![
            (f.principal.clone(), Paint::Plain),
            (f.path.clone(), Paint::Plain),
            (f.usage.clone(), Paint::Dim),
            (state.into(), paint),
        ]);
    }
    table
}

fn write_pipeline(
    out: &mut String,
    p: &orchestrate::PipelineStatus,
    style: super::Style,
) -> std::fmt::Result {
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
    writeln!(
        out,
        "{} connector {} {connector}, tasks [{}]",
        style.bold("pipeline:"),
        p.connector_name,
        tasks.join(", ")
    )?;
    if let Some(trace) = &p.trace {
        writeln!(out, "  task failed: {trace} (`stackctl logs connect`)")?;
    }
    match &p.dead_letters {
        Ok(0) => writeln!(out, "  dead letters: 0 in {}", p.dead_letter_topic),
        Ok(n) => writeln!(
            out,
            "  dead letters: {} in {} (records the sink could not write; the reason is in each record's __connect.errors.* headers)",
            style.warn(&n.to_string()),
            p.dead_letter_topic
        ),
        Err(e) => writeln!(out, "  dead letters: unknown ({e})"),
    }
}

/// The sink's plugin metrics, read inside the running Connect container (None: it is not running).
async fn task_metrics(
    engine: &Engine,
    containers: &[crate::engine::containers::ProjectContainer],
    settings: &Settings,
) -> Option<Result<Vec<orchestrate::TaskMetrics>, String>> {
    let connect = containers
        .iter()
        .find(|c| c.service == "connect" && c.state == "running")?;
    Some(
        orchestrate::sink_metrics(
            engine,
            &connect.id,
            &settings.connect.connector,
            std::time::Duration::from_secs(20),
        )
        .await,
    )
}

/// One line per sink task: its plugin metrics (or why they could not be read).
fn write_metrics(
    out: &mut String,
    metrics: Option<&Result<Vec<orchestrate::TaskMetrics>, String>>,
    style: super::Style,
) -> std::fmt::Result {
    match metrics {
        None => Ok(()),
        Some(Err(e)) => writeln!(out, "  sink metrics: unknown ({e})"),
        Some(Ok(tasks)) if tasks.is_empty() => {
            writeln!(out, "  sink metrics: none published (no task running)")
        }
        Some(Ok(tasks)) => {
            for t in tasks {
                let m = |name: &str| t.metrics.get(name).copied().unwrap_or(f64::NAN);
                let retrying = if m("retrying") >= 1.0 {
                    style.warn("retrying (ClickHouse not accepting rows)")
                } else {
                    style.good("writing")
                };
                let latency = |v: f64| {
                    if v.is_finite() {
                        format!("{v:.0} ms")
                    } else {
                        "-".into()
                    }
                };
                writeln!(
                    out,
                    "  sink task {}: {retrying}; {} rows written, {} dead-lettered, {} retries, {} re-delivered rows skipped; batch latency avg {} max {}",
                    t.task,
                    m("rows-written-total"),
                    m("records-dead-lettered-total"),
                    m("retries-total"),
                    m("rows-skipped-total"),
                    latency(m("batch-latency-avg-ms")),
                    latency(m("batch-latency-max-ms")),
                )?;
            }
            Ok(())
        }
    }
}

/// One rendered client config, for `status --clients`.
#[derive(serde::Serialize)]
struct ClientFile {
    principal: String,
    path: String,
    usage: String,
    present: bool,
}

/// The rendered files only people use (service `clients` in the layout) at `phase`, with how to use them.
fn client_files(root: &Path, settings: &Settings, phase: Phase) -> Vec<ClientFile> {
    layout::layout()
        .filter(|spec| spec.service == "clients" && spec.exists_at(phase))
        .map(|spec| {
            let path = root.join(RENDER_DIR).join(spec.path);
            let shown = path.display().to_string();
            let principal = match (spec.client, spec.clickhouse) {
                (Some(role), _) => settings.kafka_principal(role).id(),
                (None, Some(role)) => settings.clickhouse_principal(role).id(),
                (None, None) => String::new(),
            };
            let usage = if spec.path.ends_with(".kcat.conf") {
                format!("kcat -F {shown} -L")
            } else if spec.clickhouse.is_some() {
                format!("clickhouse-client --config-file {shown} -q 'SELECT 1'")
            } else {
                format!(
                    "kafka-topics.sh --bootstrap-server {} --command-config {shown} --list",
                    settings.kafka_external_bootstrap()
                )
            };
            ClientFile {
                principal,
                present: path.is_file(),
                path: shown,
                usage,
            }
        })
        .collect()
}
