//! The command layer: one file per command family. Each loads what it needs, calls the library,
//! and prints through the one [`Printer`]; `main` maps the [`ExitStatus`] to the exit code.

mod bench;
mod board;
mod config;
mod images;
mod images_archive;
mod lifecycle;
mod logs;
pub mod printer;
mod render;
mod rotate;
mod secrets;
mod stack;
mod verify;

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

pub use printer::{Paint, Printer, Style, Table};

use crate::cli::{BuildOptions, Cli, Command, ImagesCommand, RemoveImages, RenderTarget};
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
    /// The exit code of a command `exec` ran in a container.
    Code(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::CheckFailed => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
            ExitStatus::Code(code) => code,
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

#[allow(
    clippy::too_many_lines,
    reason = "the command dispatch: one short match arm per subcommand; split up, it would only move the match"
)]
pub fn run(cli: Cli) -> Result<ExitStatus> {
    let printer = Printer::new(cli.format, cli.color, cli.quiet);
    let root = cli.root.as_path();
    match cli.command {
        Command::InitSecrets { force } => secrets::init(root, &force, printer),
        Command::Render {
            phase,
            out,
            target: RenderTarget::Docker,
            namespace,
            with_secrets,
        } => {
            if namespace.is_some() || with_secrets {
                anyhow::bail!("--namespace and --with-secrets apply to --target kubernetes only");
            }
            render::render(root, phase_of(phase)?, out, printer)
        }
        Command::Render {
            phase,
            out,
            target: RenderTarget::Kubernetes,
            namespace,
            with_secrets,
        } => {
            let options = render::KubeArgs {
                phase: phase_of(phase)?,
                out,
                namespace,
                with_secrets,
            };
            render::kubernetes(root, options, printer)
        }
        Command::Images(ImagesCommand::Build { services, build }) => {
            block_on(images::build(root, &services, &build, &printer))
        }
        Command::Images(ImagesCommand::List) => block_on(images::list(root, &printer)),
        Command::Images(ImagesCommand::Save { dir }) => {
            block_on(images_archive::save(root, &dir, &printer))
        }
        Command::Images(ImagesCommand::Load { dir }) => {
            block_on(images_archive::load(root, &dir, &printer))
        }
        Command::Up {
            services,
            phase,
            force_recreate,
            no_build,
            build,
        } => {
            let phase = phase_of(phase)?;
            let request = stack::UpRequest {
                services,
                force_recreate,
                no_build,
            };
            block_on(interruptible(stack::up(
                root, phase, &request, &build, &printer,
            )))
        }
        Command::Down { volumes, rmi } => {
            let options = crate::orchestrate::DownOptions {
                volumes,
                local_images: rmi == Some(RemoveImages::Local),
            };
            block_on(stack::down(root, options, &printer))
        }
        Command::Start { services } => block_on(interruptible(lifecycle::run(
            root,
            lifecycle::Verb::Start,
            &services,
            &printer,
        ))),
        Command::Stop { services } => block_on(lifecycle::run(
            root,
            lifecycle::Verb::Stop,
            &services,
            &printer,
        )),
        Command::Restart { services } => block_on(interruptible(lifecycle::run(
            root,
            lifecycle::Verb::Restart,
            &services,
            &printer,
        ))),
        Command::Status { clients } => block_on(stack::status(root, clients, &printer)),
        Command::Config { phase } => config::show(root, phase_of(phase)?, printer),
        Command::Logs {
            services,
            follow,
            tail,
            since,
            timestamps,
        } => {
            let request = logs::Request {
                services,
                follow,
                tail,
                since,
                timestamps,
            };
            block_on(logs::logs(root, &request, &printer))
        }
        Command::Exec { service, command } => {
            block_on(lifecycle::exec(root, &service, &command, &printer))
        }
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
                return verify::list(printer);
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
        Command::Bench {
            records,
            unbounded,
            size,
            rate,
            idle_timeout,
            wait_bound,
        } => {
            let options = crate::bench::BenchOptions {
                records: (!unbounded).then_some(records),
                size: usize::try_from(size).context("--size")?,
                rate,
                idle_timeout: std::time::Duration::from_secs(idle_timeout),
                wait_bound: std::time::Duration::from_secs(wait_bound),
            };
            block_on(bench::bench(root, &options, &printer))
        }
        Command::Completions { shell } => {
            if printer.json_wanted() {
                anyhow::bail!(
                    "completions prints a shell script; --format json does not apply (drop it, or unset STACKCTL_FORMAT)"
                );
            }
            let mut cmd = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "stackctl", &mut script);
            printer::emit_bytes(&script)?;
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
