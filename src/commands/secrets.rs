//! `init-secrets`.

use std::path::Path;

use std::fmt::Write;

use anyhow::Result;

use super::{ExitStatus, Printer};
use crate::secrets::{FileStore, GitGuard, InitOutcome};
use crate::settings::Settings;

pub fn init(root: &Path, force: &[String], printer: Printer) -> Result<ExitStatus> {
    let settings = Settings::load(root)?;
    let store = FileStore::new(root);
    let report = store.init(&settings.principals(), force)?;
    printer.report(&report, |style, out| {
        let git = match report.git {
            GitGuard::IgnoredAndUntracked => "git-ignored, none tracked",
            GitGuard::NotARepository => "not inside a git work tree",
        };
        writeln!(out,
            "{} {} (0700, {git})",
            style.bold("secrets in"),
            store.dir().display()
        )?;
        for entry in &report.entries {
            let label = match entry.outcome {
                InitOutcome::Created => style.good("created    "),
                InitOutcome::Kept => style.dim("kept       "),
                InitOutcome::Regenerated => style.warn("regenerated"),
            };
            writeln!(out,
                "  {label} {:<24} {} (0600)",
                entry.principal,
                entry.path.display()
            )?;
        }
        if report
            .entries
            .iter()
            .any(|e| e.outcome == InitOutcome::Regenerated)
        {
            writeln!(out,
                "{}",
                style.warn("regenerated secrets take effect after `stackctl render`/`up` restarts the services holding them")
            )?;
        }
        Ok(())
    })?;
    Ok(ExitStatus::Success)
}
