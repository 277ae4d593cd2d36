//! `render`.

use std::path::{Path, PathBuf};

use std::fmt::Write;

use anyhow::Result;

use super::{ExitStatus, Printer, load};
use crate::render::{self, FileChange, RENDER_DIR, TemplateSet};
use crate::settings::Phase;

pub fn render(
    root: &Path,
    phase: Phase,
    out: Option<PathBuf>,
    printer: &Printer,
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
