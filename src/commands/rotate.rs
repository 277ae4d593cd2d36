//! `rotate`: the command around [`crate::rotate::apply`].

use std::path::Path;

use std::fmt::Write;

use anyhow::{Context, Result};

use super::{ExitStatus, Printer, cas};
use crate::cli::BuildOptions;
use crate::compose;
use crate::orchestrate::{DeployOptions, UpOptions};
use crate::render::{RENDER_DIR, TemplateSet};
use crate::rotate::{self, RotateReport};
use crate::secrets::{FileStore, SecretError, SecretSource};
use crate::settings::{Principal, Settings};
use crate::state::StateFile;

/// What the user asked to rotate.
pub struct Request {
    pub names: Vec<String>,
    pub all: bool,
    pub dry_run: bool,
}

fn targets(settings: &Settings, request: &Request) -> Result<Vec<Principal>> {
    if request.all {
        return Ok(settings.principals());
    }
    if request.names.is_empty() {
        anyhow::bail!(
            "name the principals to rotate (e.g. `stackctl rotate kafka-app`) or pass --all"
        );
    }
    Ok(request
        .names
        .iter()
        .map(|n| {
            settings
                .principal(n)
                .ok_or_else(|| SecretError::unknown_principal(n, &settings.principals()))
        })
        .collect::<Result<Vec<_>, _>>()?)
}

pub async fn rotate(
    root: &Path,
    request: &Request,
    options: &BuildOptions,
    printer: &Printer,
) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let current = FileStore::new(root).load(&settings.principals())?;
    let targets = targets(&settings, request)?;
    let phase = StateFile::new(root).read()?.map(|s| s.phase).context(
        "the stack is not up from this checkout (no .stackctl/state.json): rotation restarts and proves a running stack. \
         To change secrets of a stopped stack, use `stackctl init-secrets --force PRINCIPAL`",
    )?;
    let templates = TemplateSet::load(root)?;
    if request.dry_run {
        let stack = compose::load(root, &settings, phase)?;
        let plan = rotate::plan(&settings, &current, &targets, &stack, &templates)?.plan;
        printer.report(&plan, |style, out| {
            writeln!(out, "{} (dry run, nothing changed)", style.bold("rotation plan"))?;
            writeln!(out, "  principals: {}", plan.principals.join(", "))?;
            writeln!(out, "  files re-rendered:")?;
            for f in &plan.files {
                writeln!(out, "    {}", root.join(RENDER_DIR).join(f).display())?;
            }
            writeln!(out,
                "  services restarted, in order: {}",
                plan.services.join(" → ")
            )?;
            writeln!(out,
                "  then: each new credential must be accepted, each old one refused, and the pipeline must deliver"
            )?;
            Ok(())
        })?;
        return Ok(ExitStatus::Success);
    }
    let cas = cas(options);
    let deploy = DeployOptions {
        templates: &templates,
        cas: &cas,
        verbose: options.verbose,
        up: UpOptions {
            // The admin principal is the nodes' own login to each other: a node with its new
            // password could not talk to one with the old, so they restart together.
            all_nodes_at_once: targets
                .contains(&settings.kafka_principal(crate::settings::KafkaRole::Admin)),
            ..UpOptions::default()
        },
    };
    let result = rotate::apply(root, &settings, &targets, phase, &deploy, printer).await?;
    printer.report(&result, |style, out| print_human(&result, style, out))?;
    if result.proven() {
        Ok(ExitStatus::Success)
    } else {
        eprintln!(
            "error: the rotation is not proven; {}",
            rotate::recovery_hint(root)
        );
        Ok(ExitStatus::CheckFailed)
    }
}

fn print_human(result: &RotateReport, style: super::Style, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "{} {} in {:.1} s; restarted: {}",
        style.bold(if result.proven() {
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
    )?;
    let mark = |ok: bool| {
        if ok {
            style.good("ok  ")
        } else {
            style.warn("FAIL")
        }
    };
    for p in &result.proofs {
        let word = if p.not_applicable.is_some() {
            style.warn("n/a ")
        } else {
            mark(p.ok())
        };
        writeln!(out, "  {} {:<24} {}", word, p.principal, p.detail)?;
    }
    writeln!(
        out,
        "  {} {:<24} {}",
        mark(result.pipeline_ok),
        "pipeline",
        result.pipeline
    )
}
