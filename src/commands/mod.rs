//! The command layer: one file per command family. Each loads what it needs, calls the library,
//! and prints through the one [`Printer`]; `main` maps the [`ExitStatus`] to the exit code.

mod images;
mod printer;
mod render;
mod rotate;
mod secrets;
mod stack;
mod verify;

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

pub use printer::{Printer, Style};

use crate::cli::{BuildOptions, Cli, Command, ImagesCommand};
use crate::engine::images::CaCertificates;
use crate::secrets::{FileStore, SecretSet, SecretSource};
use crate::settings::{Phase, Settings};

/// How a command ended, as CI sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done as asked.
    Success,
    /// A required check failed (also: `status` with a service down, `rotate` not proven).
    CheckFailed,
    /// stackctl could not do what was asked (bad settings or secrets, Docker unreachable, …).
    Error,
    /// The user interrupted it.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }

    fn from_success(ok: bool) -> ExitStatus {
        if ok {
            ExitStatus::Success
        } else {
            ExitStatus::CheckFailed
        }
    }
}

pub fn run(cli: Cli) -> Result<ExitStatus> {
    let printer = Printer::new(cli.format, cli.color);
    let root = cli.root.as_path();
    match cli.command {
        Command::InitSecrets { force } => secrets::init(root, &force, &printer),
        Command::Render { phase, out } => render::render(root, phase_of(phase)?, out, &printer),
        Command::Images(ImagesCommand::Build { services, build }) => {
            block_on(images::build(root, &services, &build, &printer))
        }
        Command::Images(ImagesCommand::List) => block_on(images::list(root, &printer)),
        Command::Up { phase, build } => {
            let phase = phase_of(phase)?;
            block_on(interruptible(stack::up(root, phase, &build, &printer)))
        }
        Command::Down { volumes } => block_on(stack::down(root, volumes, &printer)),
        Command::Status => block_on(stack::status(root, &printer)),
        Command::Logs {
            service,
            follow,
            tail,
        } => block_on(stack::logs(root, &service, follow, tail)),
        Command::Verify {
            phase,
            only,
            skip,
            junit,
            posture,
            baseline,
            list,
        } => {
            if list {
                return verify::list(&printer);
            }
            let phase = phase.map(phase_of).transpose()?;
            let selection = verify::Selection {
                only,
                skip,
                junit,
                posture,
                baseline,
            };
            block_on(verify::verify(root, phase, &selection, &printer))
        }
        Command::Rotate {
            principals,
            all,
            dry_run,
            build,
        } => {
            let request = rotate::Request {
                names: principals,
                all,
                dry_run,
            };
            block_on(interruptible(rotate::rotate(
                root, &request, &build, &printer,
            )))
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "stackctl", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
    }
}

/// The phase the CLI parsed (its range is checked there).
fn phase_of(number: u8) -> Result<Phase> {
    Ok(Phase::from_number(number)?)
}

fn block_on(fut: impl std::future::Future<Output = Result<ExitStatus>>) -> Result<ExitStatus> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(fut)
}

/// Runs `work` until it ends or the user presses Ctrl-C.
async fn interruptible(
    work: impl std::future::Future<Output = Result<ExitStatus>>,
) -> Result<ExitStatus> {
    tokio::select! {
        status = work => status,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: containers already started keep running; run `stackctl up` again to finish or `stackctl down` to remove them");
            Ok(ExitStatus::Interrupted)
        }
    }
}

/// The settings and every principal's validated secret.
fn load(root: &Path) -> Result<(Settings, SecretSet)> {
    let settings = Settings::load(root)?;
    let secrets = FileStore::new(root).load(&settings.principals())?;
    Ok((settings, secrets))
}

/// Extra CA certificates for image builds, as the options say.
fn cas(options: &BuildOptions) -> CaCertificates {
    let mut cas = if options.no_host_ca {
        CaCertificates::none()
    } else {
        CaCertificates::from_host()
    };
    cas.files.extend(options.ca_cert.iter().cloned());
    cas
}
