//! Runs a parsed command: loads settings, calls the core modules, prints the result.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{BuildOptions, Cli, Command, Format, ImagesCommand};
use crate::compose;
use crate::config::Settings;
use crate::engine::Engine;
use crate::engine::images::{CaCertificates, Progress};
use crate::orchestrate::{self, Action, UpInput};
use crate::output::StderrProgress;
use crate::output::Style;
use crate::render::{self, FileChange, RENDER_DIR};
use crate::secrets::{FileStore, GitGuard, InitOutcome, Redactor, SecretSource};

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when stackctl could not do what was asked.
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> Result<u8> {
    let style = Style::new(cli.color);
    match cli.command {
        Command::InitSecrets { force } => init_secrets(&cli.root, &force, cli.format, style),
        Command::Render { phase, out } => {
            let out = out.unwrap_or_else(|| cli.root.join(RENDER_DIR));
            render_files(&cli.root, phase, &out, cli.format, style)
        }
        Command::Images(ImagesCommand::Build { services, build }) => block_on(images_build(
            &cli.root, &services, &build, cli.format, style,
        )),
        Command::Images(ImagesCommand::List) => block_on(images_list(&cli.root, cli.format, style)),
        Command::Up { phase, build } => block_on(up(&cli.root, phase, &build, cli.format, style)),
        Command::Down { volumes } => block_on(down(&cli.root, volumes, cli.format, style)),
        Command::Status => block_on(status(&cli.root, cli.format, style)),
        Command::Logs {
            service,
            follow,
            tail,
        } => block_on(logs(&cli.root, &service, follow, tail)),
        Command::Verify {
            phase,
            only,
            skip,
            junit,
            list,
        } => {
            if list {
                return list_checks(cli.format);
            }
            block_on(verify(
                &cli.root,
                phase,
                &only,
                &skip,
                junit.as_deref(),
                cli.format,
                style,
            ))
        }
        Command::Rotate {
            principals,
            all,
            dry_run,
            build,
        } => block_on(rotate(
            &cli.root,
            &principals,
            all,
            dry_run,
            &build,
            cli.format,
            style,
        )),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "stackctl", &mut std::io::stdout());
            Ok(EXIT_OK)
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("writing JSON output")?;
    writeln!(out)?;
    Ok(())
}

fn init_secrets(root: &Path, force: &[String], format: Format, style: Style) -> Result<u8> {
    let settings = Settings::load(root)?;
    let store = FileStore::new(root);
    let report = store.init(&settings.principals(), force)?;
    match format {
        Format::Json => print_json(&report)?,
        Format::Human => {
            let git = match report.git {
                GitGuard::IgnoredAndUntracked => "git-ignored, none tracked",
                GitGuard::NotARepository => "not inside a git work tree",
            };
            println!(
                "{} {} (0700, {git})",
                style.bold("secrets in"),
                store.dir().display()
            );
            for entry in &report.entries {
                let label = match entry.outcome {
                    InitOutcome::Created => style.good("created    "),
                    InitOutcome::Kept => style.dim("kept       "),
                    InitOutcome::Regenerated => style.warn("regenerated"),
                };
                println!(
                    "  {label} {:<24} {} (0600)",
                    entry.principal,
                    entry.path.display()
                );
            }
            if report
                .entries
                .iter()
                .any(|e| e.outcome == InitOutcome::Regenerated)
            {
                println!(
                    "{}",
                    style.warn("regenerated secrets take effect after `stackctl render`/`up` restarts the services holding them")
                );
            }
        }
    }
    Ok(EXIT_OK)
}

fn render_files(root: &Path, phase: u8, out: &Path, format: Format, style: Style) -> Result<u8> {
    let settings = Settings::load(root)?;
    let secrets = FileStore::new(root).load(&settings.principals())?;
    let plan = render::plan(&settings, &secrets, phase)?;
    let report = render::write(&plan, out)?;
    match format {
        Format::Json => print_json(&report)?,
        Format::Human => {
            println!(
                "{} phase {phase} into {}",
                style.bold("rendered"),
                report.dir.display()
            );
            for file in &report.files {
                let label = match file.change {
                    FileChange::Created => style.good("created  "),
                    FileChange::Updated => style.warn("updated  "),
                    FileChange::Unchanged => style.dim("unchanged"),
                    FileChange::Removed => style.warn("removed  "),
                };
                println!("  {label} {:<48} {}", file.path.display(), file.mode);
            }
            let changed = report.changed_services();
            if !changed.is_empty() {
                let list: Vec<_> = changed.into_iter().collect();
                println!("changed services: {}", list.join(", "));
            }
        }
    }
    Ok(EXIT_OK)
}

/// Exit code when the user interrupted a command.
pub const EXIT_INTERRUPTED: u8 = 130;

fn block_on(fut: impl std::future::Future<Output = Result<u8>>) -> Result<u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(fut)
}

fn cas(options: &BuildOptions) -> CaCertificates {
    let mut cas = if options.no_host_ca {
        CaCertificates::none()
    } else {
        CaCertificates::from_host()
    };
    cas.files.extend(options.ca_cert.iter().cloned());
    cas
}

async fn images_build(
    root: &Path,
    services: &[String],
    options: &BuildOptions,
    format: Format,
    style: Style,
) -> Result<u8> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, crate::config::MAX_PHASE)?;
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
    let progress = StderrProgress { style };
    let started = std::time::Instant::now();
    let ids = orchestrate::ensure_images(
        &engine,
        &stack,
        &cas(options),
        true,
        services,
        options.verbose,
        &progress,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    match format {
        Format::Json => print_json(&serde_json::json!({ "images": ids, "seconds": seconds }))?,
        Format::Human => {
            for (service, id) in &ids {
                let image = stack
                    .service(service)
                    .map(|s| s.image.as_str())
                    .unwrap_or("");
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
        }
    }
    Ok(EXIT_OK)
}

async fn images_list(root: &Path, format: Format, style: Style) -> Result<u8> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, crate::config::MAX_PHASE)?;
    let engine = Engine::connect().await?;
    let mut rows = Vec::new();
    for service in &stack.services {
        let id = engine.image_id(&service.image).await;
        rows.push(serde_json::json!({
            "service": service.name,
            "image": service.image,
            "present": id.is_some(),
            "id": id,
            "recipe": service.build_context.as_ref().map(|p| p.display().to_string()),
        }));
    }
    match format {
        Format::Json => print_json(&rows)?,
        Format::Human => {
            for row in &rows {
                let present = row["present"].as_bool().unwrap_or(false);
                println!(
                    "  {:<16} {:<36} {}",
                    row["service"].as_str().unwrap_or(""),
                    row["image"].as_str().unwrap_or(""),
                    if present {
                        style.good("present")
                    } else {
                        style.warn("missing (stackctl images build)")
                    }
                );
            }
        }
    }
    Ok(EXIT_OK)
}

async fn up(
    root: &Path,
    phase: u8,
    options: &BuildOptions,
    format: Format,
    style: Style,
) -> Result<u8> {
    let settings = Settings::load(root)?;
    let secrets = FileStore::new(root).load(&settings.principals())?;
    let report = match bring_up(root, &settings, &secrets, phase, options, style).await? {
        Some(report) => report,
        None => return Ok(EXIT_INTERRUPTED),
    };
    match format {
        Format::Json => print_json(&report)?,
        Format::Human => {
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
        }
    }
    Ok(EXIT_OK)
}

async fn down(root: &Path, volumes: bool, format: Format, style: Style) -> Result<u8> {
    let settings = Settings::load(root)?;
    let stack = compose::load(root, &settings, crate::config::MAX_PHASE)?;
    let engine = Engine::connect().await?;
    let report = orchestrate::down(&engine, &stack, volumes).await?;
    let _ = std::fs::remove_file(orchestrate::state_file(root));
    match format {
        Format::Json => print_json(&report)?,
        Format::Human => {
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
        }
    }
    Ok(EXIT_OK)
}

async fn status(root: &Path, format: Format, style: Style) -> Result<u8> {
    let settings = Settings::load(root)?;
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    let state = read_state(root);
    let phase = state.map(|s| s.phase);
    let complete = state.is_some_and(|s| s.complete);
    let all_well = !containers.is_empty()
        && containers
            .iter()
            .all(|c| c.state == "running" && c.health.as_deref().is_none_or(|h| h == "healthy"));
    match format {
        Format::Json => {
            let rows: Vec<_> = containers
                .iter()
                .map(|c| serde_json::json!({"service": c.service, "container": c.name, "state": c.state, "health": c.health, "ports": c.ports}))
                .collect();
            print_json(
                &serde_json::json!({ "phase": phase, "complete": complete, "healthy": all_well, "services": rows }),
            )?
        }
        Format::Human => {
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
        }
    }
    // CI can act on it: 1 when a service is missing, stopped or unhealthy.
    Ok(if all_well { EXIT_OK } else { EXIT_CHECK_FAILED })
}

async fn logs(root: &Path, service: &str, follow: bool, tail: usize) -> Result<u8> {
    let settings = Settings::load(root)?;
    // Values to redact; a broken secret store still lets logs through, all the more redacted.
    let redactor = FileStore::new(root)
        .load(&settings.principals())
        .map(|s| Redactor::new(&s))
        .unwrap_or_default();
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
        let mut out = std::io::stdout();
        engine
            .follow_logs(&container.id, tail, |chunk| {
                let _ = out.write_all(redactor.redact(chunk).as_bytes());
                let _ = out.flush();
            })
            .await?;
    } else {
        let text = engine.logs(&container.id, Some(tail)).await?;
        print!("{}", redactor.redact(&text));
    }
    Ok(EXIT_OK)
}

/// Exit code when a required verification check failed.
pub const EXIT_CHECK_FAILED: u8 = 1;

fn list_checks(format: Format) -> Result<u8> {
    let checks = crate::verify::catalogue();
    match format {
        Format::Json => {
            let rows: Vec<_> = checks
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "group": c.group, "kind": c.kind, "required_from": c.required_from, "bound_seconds": c.bound.as_secs(), "description": c.description}))
                .collect();
            print_json(&rows)?;
        }
        Format::Human => {
            for c in &checks {
                println!(
                    "  {:<36} {:<8} from phase {}  {:>3}s  {}",
                    c.id,
                    format!("{:?}", c.kind).to_lowercase(),
                    c.required_from,
                    c.bound.as_secs(),
                    c.description
                );
            }
        }
    }
    Ok(EXIT_OK)
}

async fn verify(
    root: &Path,
    phase: Option<u8>,
    only: &[String],
    skip: &[String],
    junit: Option<&Path>,
    format: Format,
    style: Style,
) -> Result<u8> {
    let settings = Settings::load(root)?;
    let secrets = FileStore::new(root).load(&settings.principals())?;
    if let Some(bad) = crate::verify::unknown_pattern(only, skip) {
        anyhow::bail!("`{bad}` names no check or group; `stackctl verify --list` shows them");
    }
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    let not_running: Vec<_> = containers
        .iter()
        .filter(|c| c.state != "running")
        .map(|c| c.service.clone())
        .collect();
    if containers.is_empty() {
        anyhow::bail!(
            "the stack is not running (no containers of project {}): run `stackctl up` first",
            settings.project
        );
    }
    if !not_running.is_empty() {
        anyhow::bail!(
            "not running: {}; run `stackctl up` (or `stackctl logs SERVICE` to see why)",
            not_running.join(", ")
        );
    }
    let phase = match phase {
        Some(p) => p,
        None => read_state(root).map(|s| s.phase).context(
            "the stack's phase is unknown (it was not brought up from this checkout): pass --phase N",
        )?,
    };
    let ctx = crate::verify::Context {
        root: root.to_path_buf(),
        redactor: Redactor::new(&secrets),
        settings,
        secrets,
        phase,
        engine,
        run_id: new_run_id(),
    };
    let report = crate::verify::run(&ctx, only, skip).await;
    if let Some(path) = junit {
        std::fs::write(path, crate::verify::report::junit(&report))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    match format {
        Format::Json => print_json(&report)?,
        Format::Human => print!("{}", crate::verify::report::table(&report, style)),
    }
    Ok(if report.success() {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

/// Render, then bring the stack to `phase`; records the phase. None when interrupted.
async fn bring_up(
    root: &Path,
    settings: &Settings,
    secrets: &crate::secrets::SecretSet,
    phase: u8,
    options: &BuildOptions,
    style: Style,
) -> Result<Option<orchestrate::UpReport>> {
    let rendered_dir = root.join(RENDER_DIR);
    let plan = render::plan(settings, secrets, phase)?;
    render::write(&plan, &rendered_dir)?;
    let stack = compose::load(root, settings, phase)?;
    let engine = Engine::connect().await?;
    // Recorded before anything changes, so status/verify know the intended phase even when this
    // `up` fails or is interrupted.
    record_phase(root, phase, false)?;
    let progress = StderrProgress { style };
    let redactor = Redactor::new(secrets);
    let cas = cas(options);
    let input = UpInput {
        settings,
        secrets,
        stack: &stack,
        rendered_dir: &rendered_dir,
        cas: &cas,
        redactor: &redactor,
        verbose: options.verbose,
    };
    let report = tokio::select! {
        report = orchestrate::up(&engine, &input, &progress) => report?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: containers already started keep running; run `stackctl up` again to finish or `stackctl down` to remove them");
            return Ok(None);
        }
    };
    record_phase(root, phase, true)?;
    Ok(Some(report))
}

/// Records the phase `up` is bringing the stack to, and whether it got there.
fn record_phase(root: &Path, phase: u8, complete: bool) -> Result<()> {
    let state = orchestrate::state_file(root);
    if let Some(dir) = state.parent() {
        crate::fsutil::ensure_dir(dir, 0o700)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::json!({ "phase": phase, "complete": complete });
    crate::fsutil::write_atomic(
        &state,
        serde_json::to_string_pretty(&json)?.as_bytes(),
        0o600,
        false,
    )
    .with_context(|| format!("writing {}", state.display()))?;
    Ok(())
}

/// What `up` recorded: the phase it brings the stack to, and whether it got there.
#[derive(Debug, Clone, Copy)]
struct State {
    phase: u8,
    complete: bool,
}

/// The state file `up` writes (None: no `up` from this checkout, or unreadable).
fn read_state(root: &Path) -> Option<State> {
    let text = std::fs::read_to_string(orchestrate::state_file(root)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(State {
        phase: u8::try_from(v["phase"].as_u64()?).ok()?,
        // Files written before `complete` existed were only written by a finished `up`.
        complete: v["complete"] != false,
    })
}

fn new_run_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric
        .sample_string(&mut rand::rng(), 8)
        .to_lowercase()
}

async fn rotate(
    root: &Path,
    names: &[String],
    all: bool,
    dry_run: bool,
    options: &BuildOptions,
    format: Format,
    style: Style,
) -> Result<u8> {
    let started = std::time::Instant::now();
    let settings = Settings::load(root)?;
    let store = FileStore::new(root);
    let current = store.load(&settings.principals())?;
    let targets = if all {
        settings.principals()
    } else if names.is_empty() {
        anyhow::bail!(
            "name the principals to rotate (e.g. `stackctl rotate kafka-app`) or pass --all"
        );
    } else {
        names
            .iter()
            .map(|n| {
                settings.principal(n).ok_or_else(|| {
                    crate::secrets::SecretError::unknown_principal(n, &settings.principals())
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let phase = read_state(root).map(|s| s.phase).context(
        "the stack is not up from this checkout (no .stackctl/state.json): rotation restarts and proves a running stack. \
         To change secrets of a stopped stack, use `stackctl init-secrets --force PRINCIPAL`",
    )?;
    let stack = compose::load(root, &settings, phase)?;
    let crate::rotate::Planned {
        plan, rotations, ..
    } = crate::rotate::plan(&settings, &current, &targets, &stack)?;
    if dry_run {
        match format {
            Format::Json => print_json(&plan)?,
            Format::Human => {
                println!("{} (dry run, nothing changed)", style.bold("rotation plan"));
                println!("  principals: {}", plan.principals.join(", "));
                println!("  files re-rendered:");
                for f in &plan.files {
                    println!("    {}", root.join(RENDER_DIR).join(f).display());
                }
                println!(
                    "  services restarted, in order: {}",
                    plan.services.join(" → ")
                );
                println!(
                    "  then: each new credential must be accepted, each old one refused, and the pipeline must deliver"
                );
            }
        }
        return Ok(EXIT_OK);
    }
    // Persist first: a failed write leaves everything as it was.
    store.rotate(&rotations)?;
    let secrets = store.load(&settings.principals())?;
    let progress = StderrProgress { style };
    progress.line(
        "rotate",
        &format!(
            "new secrets written for {}; restarting {}",
            plan.principals.join(", "),
            plan.services.join(", ")
        ),
    );
    let report = match bring_up(root, &settings, &secrets, phase, options, style).await {
        Ok(Some(report)) => report,
        Ok(None) => return Ok(EXIT_INTERRUPTED),
        Err(e) => anyhow::bail!(
            "{e:#}\nrotation stopped while restarting services: {}",
            crate::rotate::recovery_hint(root)
        ),
    };
    let restarted: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.action != Action::Unchanged)
        .map(|s| s.service.clone())
        .collect();
    let mut proofs = Vec::new();
    for (principal, new) in &rotations {
        let old = store
            .previous(principal)
            .context("the put-aside secret vanished during rotation")?;
        proofs.push(crate::rotate::prove(&settings, phase, principal, new, &old).await);
    }
    let engine = Engine::connect().await?;
    let ctx = crate::verify::Context {
        root: root.to_path_buf(),
        redactor: Redactor::new(&secrets),
        settings: settings.clone(),
        secrets,
        phase,
        engine,
        run_id: new_run_id(),
    };
    let pipeline = crate::verify::run(&ctx, &["pipeline.e2e".to_string()], &[]).await;
    let pipeline_result = pipeline.checks.iter().find(|c| c.id == "pipeline.e2e");
    let pipeline_ok = pipeline_result.is_some_and(|c| c.verdict == crate::verify::Verdict::Pass);
    let pipeline_text = pipeline_result
        .map(|c| c.reason.clone())
        .unwrap_or_default();
    let proven = proofs.iter().all(crate::rotate::Proof::ok) && pipeline_ok;
    if proven {
        store.forget_previous(&targets)?;
    }
    let result = crate::rotate::RotateReport {
        plan,
        restarted,
        proofs,
        pipeline: pipeline_text,
        seconds: crate::rotate::elapsed(started),
    };
    match format {
        Format::Json => print_json(&result)?,
        Format::Human => {
            println!(
                "{} {} in {:.1} s; restarted: {}",
                style.bold(if proven {
                    "rotated"
                } else {
                    "rotation NOT proven:"
                }),
                result.plan.principals.join(", "),
                result.seconds,
                if result.restarted.is_empty() {
                    "none".to_string()
                } else {
                    result.restarted.join(", ")
                }
            );
            for p in &result.proofs {
                let mark = if p.ok() {
                    style.good("ok  ")
                } else {
                    style.warn("FAIL")
                };
                println!("  {mark} {:<24} {}", p.principal, p.detail);
            }
            let mark = if pipeline_ok {
                style.good("ok  ")
            } else {
                style.warn("FAIL")
            };
            println!("  {mark} {:<24} {}", "pipeline", result.pipeline);
        }
    }
    if proven {
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "error: the rotation is not proven; {}",
            crate::rotate::recovery_hint(root)
        );
        Ok(EXIT_CHECK_FAILED)
    }
}
