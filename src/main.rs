use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stackctl::cli::Cli::parse();
    match stackctl::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(stackctl::app::EXIT_ERROR)
        }
    }
}
