//! Runs a parsed command: loads settings, calls the core modules, prints the result.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Command, Format};
use crate::config::Settings;
use crate::output::Style;
use crate::render::{self, FileChange, RENDER_DIR};
use crate::secrets::{FileStore, GitGuard, InitOutcome, SecretSource};

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
