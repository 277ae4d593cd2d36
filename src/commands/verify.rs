//! `verify` and `verify --list`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{ExitStatus, Printer, Style, Table, load};
use crate::engine::Engine;
use crate::settings::Phase;
use crate::state::StateFile;
use crate::verify::posture::{self, Posture};
use crate::verify::{self, CheckResult, Kind, Report, Verdict};

/// Which checks to run and where else the report goes.
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub junit: Option<PathBuf>,
    /// Write the observed posture here.
    pub posture: Option<PathBuf>,
    /// Compare the observed posture with this saved record.
    pub baseline: Option<PathBuf>,
}

pub fn list(printer: Printer) -> Result<ExitStatus> {
    let checks = verify::catalogue();
    let rows: Vec<_> = checks
        .iter()
        .map(|c| serde_json::json!({"id": c.id, "group": c.group, "kind": c.kind, "required_from": c.required_from, "bound_seconds": c.bound.as_secs(), "description": c.description}))
        .collect();
    printer.report(&rows, |style, out| {
        let mut table = Table::new().right_align(3);
        for c in &checks {
            table.row([
                c.id.to_string(),
                format!("{:?}", c.kind).to_lowercase(),
                format!("from phase {}", c.required_from),
                format!("{}s", c.bound.as_secs()),
                c.description.to_string(),
            ]);
        }
        out.write_str(&table.render(style))
    })?;
    Ok(ExitStatus::Success)
}

pub async fn verify(
    root: &Path,
    phase: Option<Phase>,
    selection: &Selection,
    printer: &Printer,
) -> Result<ExitStatus> {
    let (settings, secrets) = load(root)?;
    if let Some(bad) = verify::unknown_pattern(&selection.only, &selection.skip) {
        anyhow::bail!("`{bad}` names no check or group; `stackctl verify --list` shows them");
    }
    let engine = Engine::connect().await?;
    let containers = engine.project_containers(&settings.project).await?;
    if containers.is_empty() {
        anyhow::bail!(
            "the stack is not running (no containers of project {}): run `stackctl up` first",
            settings.project
        );
    }
    let not_running: Vec<_> = containers
        .iter()
        .filter(|c| c.state != "running")
        .map(|c| c.service.clone())
        .collect();
    if !not_running.is_empty() {
        anyhow::bail!(
            "not running: {}; run `stackctl up` (or `stackctl logs SERVICE` to see why)",
            not_running.join(", ")
        );
    }
    // The running containers say which phase they were made for; the state file covers
    // containers from before the label was read.
    let phase = match phase.or(super::stack::running_phase(&containers)) {
        Some(p) => p,
        None => StateFile::new(root).read()?.map(|s| s.phase).context(
            "the stack's phase is unknown (its containers disagree and it was not brought up from this checkout): pass --phase N",
        )?,
    };
    // Services with a recipe run the image of its identity (as `up` resolved it).
    let stack = crate::orchestrate::with_references(
        &engine,
        &crate::compose::load(root, &settings, phase)?,
    )
    .await?;
    let ctx = verify::Context::new(root, settings, secrets, phase, Box::new(engine), stack)?;
    // A baseline that cannot be read is a usage error: say so before running anything.
    let baseline = selection
        .baseline
        .as_deref()
        .map(read_baseline)
        .transpose()?;
    let mut report = verify::run(&ctx, &selection.only, &selection.skip).await;
    if selection.posture.is_some() || baseline.is_some() {
        let started = std::time::Instant::now();
        let observed = posture::observe(&ctx)
            .await
            .map_err(|e| anyhow::anyhow!("observing the stack's posture: {e}"))?;
        if let Some(path) = &selection.posture {
            let json = serde_json::to_string_pretty(&observed)?;
            crate::fsutil::write_atomic(path, format!("{json}\n").as_bytes(), 0o644, false)
                .with_context(|| format!("writing the posture record {}", path.display()))?;
        }
        if let Some((path, saved)) = &baseline {
            let widened = posture::widenings(saved, &observed);
            report.add(baseline_result(path, &widened, started));
        }
    }
    if let Some(path) = &selection.junit {
        std::fs::write(path, verify::report::junit(&report))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    printer.report(&report, |style, out| out.write_str(&table(&report, style)))?;
    Ok(ExitStatus::from_success(report.success()))
}

/// One line per check: id, result, time, reason; then a summary.
fn table(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(10);
    for c in report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Skipped)
    {
        let label = match c.verdict {
            Verdict::Pass => style.good("pass"),
            Verdict::Fail => style.warn("FAIL"),
            Verdict::Warn => style.dim("warn"),
            Verdict::Skipped => style.dim("skip"),
        };
        let _ = writeln!(
            out,
            "  {label}  {:<width$}  {:>5.1}s  {}",
            c.id, c.seconds, c.reason
        );
    }
    let _ = writeln!(
        out,
        "{} phase {}: {} passed, {} failed, {} warning(s), {} skipped in {:.1} s (run {})",
        style.bold("verify"),
        report.phase,
        report.passed,
        report.failed,
        report.warned,
        report.skipped,
        report.seconds,
        report.run_id
    );
    out
}

fn read_baseline(path: &Path) -> Result<(PathBuf, Posture)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the baseline {}", path.display()))?;
    let saved = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a posture record (write one with `stackctl verify --posture FILE`)",
            path.display()
        )
    })?;
    Ok((path.to_path_buf(), saved))
}

/// The result of comparing the live posture with a saved record.
fn baseline_result(path: &Path, widened: &[String], started: std::time::Instant) -> CheckResult {
    CheckResult {
        id: "posture.baseline".into(),
        group: "posture".into(),
        kind: Kind::Negative,
        required_from: Phase::KafkaAuth,
        required: true,
        verdict: if widened.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        seconds: started.elapsed().as_secs_f64(),
        reason: if widened.is_empty() {
            format!("nothing widened since {}", path.display())
        } else {
            format!(
                "{} widening(s) since {}: {}",
                widened.len(),
                path.display(),
                widened.join("; ")
            )
        },
    }
}
