//! `render`.

use std::path::{Path, PathBuf};

use std::fmt::Write;

use anyhow::Result;

use super::{ExitStatus, Printer, load};
use crate::kubernetes;
use crate::render::{self, FileChange, RENDER_DIR, TemplateSet};
use crate::secrets::{FileStore, SecretSource};
use crate::settings::{Phase, Settings};

pub fn render(
    root: &Path,
    phase: Phase,
    out: Option<PathBuf>,
    printer: Printer,
) -> Result<ExitStatus> {
    let out = out.unwrap_or_else(|| root.join(RENDER_DIR));
    let (settings, secrets) = load(root)?;
    let templates = TemplateSet::load(root)?;
    let plan = render::plan(&settings, &secrets, phase, &templates)?;
    let report = render::write(&plan, &out)?;
    printer.report(&report, |style, out| {
        writeln!(
            out,
            "{} phase {phase} into {} ({})",
            style.bold("rendered"),
            report.dir.display(),
            report.templates
        )?;
        for file in &report.files {
            let label = match file.change {
                FileChange::Created => style.good("created  "),
                FileChange::Updated => style.warn("updated  "),
                FileChange::Unchanged => style.dim("unchanged"),
                FileChange::Removed => style.warn("removed  "),
            };
            writeln!(out, "  {label} {:<48} {}", file.path.display(), file.mode)?;
        }
        let changed = report.changed_services();
        if !changed.is_empty() {
            let list: Vec<_> = changed.into_iter().collect();
            writeln!(out, "changed services: {}", list.join(", "))?;
        }
        Ok(())
    })?;
    Ok(ExitStatus::Success)
}

/// `render --target kubernetes`.
pub struct KubeArgs {
    pub phase: Phase,
    pub out: Option<PathBuf>,
    pub namespace: Option<String>,
    pub with_secrets: bool,
}

/// Where `render --target kubernetes` writes by default.
pub const KUBE_DIR: &str = ".stackctl/kubernetes";

#[derive(serde::Serialize)]
struct KubeReport {
    phase: u8,
    namespace: String,
    dir: PathBuf,
    files: Vec<kubernetes::WrittenFile>,
    /// Files an earlier render wrote that this one does not, now removed.
    removed: Vec<PathBuf>,
    /// Secrets referenced but not written (no --with-secrets): name, keys, how to create.
    secrets_to_create: Vec<SecretToCreate>,
    /// Kafka principal → KafkaUser name where the DNS-1123 rule changed it.
    renamed_users: Vec<(String, String)>,
}

#[derive(serde::Serialize)]
struct SecretToCreate {
    name: String,
    keys: Vec<String>,
    holds: String,
    create: String,
}

pub fn kubernetes(root: &Path, args: KubeArgs, printer: Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let secrets = if args.with_secrets {
        Some(FileStore::new(root).load(&settings.principals())?)
    } else {
        None
    };
    let namespace = args.namespace.unwrap_or_else(|| settings.project.clone());
    let templates = TemplateSet::load(root)?;
    let options = kubernetes::Options {
        phase: args.phase,
        namespace,
        schema_sql: render::schema_sql(&settings, args.phase, &templates)?,
    };
    let plan = kubernetes::plan(&settings, &options, secrets.as_ref())?;
    let dir = args.out.unwrap_or_else(|| root.join(KUBE_DIR));
    let written = kubernetes::write(&plan, &dir)?;
    let secrets_to_create = if args.with_secrets {
        Vec::new()
    } else {
        plan.secrets
            .iter()
            .map(|s| SecretToCreate {
                name: s.name.clone(),
                keys: s.keys.clone(),
                holds: s.holds.clone(),
                create: s.create.clone(),
            })
            .collect()
    };
    let report = KubeReport {
        phase: plan.phase.number(),
        namespace: plan.namespace.clone(),
        dir,
        files: written.files,
        removed: written.removed,
        secrets_to_create,
        renamed_users: plan.renamed_users.clone(),
    };
    printer.report(&report, |style, out| human_kube(&report, style, out))?;
    Ok(ExitStatus::Success)
}

fn human_kube(
    report: &KubeReport,
    style: crate::commands::Style,
    out: &mut String,
) -> std::fmt::Result {
    writeln!(
        out,
        "{} phase {} for Kubernetes (namespace {}) into {}",
        style.bold("rendered"),
        report.phase,
        report.namespace,
        report.dir.display()
    )?;
    for f in &report.files {
        writeln!(out, "  {:<44} {:<24} {}", f.path.display(), f.kind, f.mode)?;
    }
    for f in &report.removed {
        writeln!(
            out,
            "  {:<44} {}",
            f.display(),
            style.warn("removed (an earlier render's)")
        )?;
    }
    for (from, to) in &report.renamed_users {
        writeln!(
            out,
            "{} Kafka principal `{from}` is KafkaUser `{to}` (DNS-1123 names): every ACL and login uses `{to}`",
            style.warn("note:")
        )?;
    }
    if !report.secrets_to_create.is_empty() {
        writeln!(
            out,
            "Secrets referenced, not written (pass --with-secrets to write them 0600):"
        )?;
        for s in &report.secrets_to_create {
            writeln!(out, "  {} [{}] for {}", s.name, s.keys.join(", "), s.holds)?;
            writeln!(out, "    {}", style.dim(&s.create))?;
        }
    }
    writeln!(
        out,
        "apply: kubectl apply -R -f {} (the Strimzi and Altinity operators must be installed)",
        report.dir.display()
    )
}
