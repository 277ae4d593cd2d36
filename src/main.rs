use std::process::ExitCode;

use clap::Parser;
use stackctl::commands::{self, ExitStatus};

fn main() -> ExitCode {
    let cli = stackctl::cli::Cli::parse();
    let status = commands::run(cli).unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitStatus::Error
    });
    ExitCode::from(status.code())
}
