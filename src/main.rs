use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use stackctl::cli::{Cli, Format};
use stackctl::commands::{self, ExitStatus, printer};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let format = cli.format;
    let status = commands::run(cli).unwrap_or_else(|err| {
        let status = ExitStatus::Error;
        eprintln!("error: {err:#}");
        if format == Format::Json {
            // Also as JSON on stdout, where a program reading the results looks; stdout may be
            // gone already, which `emit` tolerates.
            let _ = printer::emit(&printer::error_json(&format!("{err:#}"), status.code()));
        }
        status
    });
    ExitCode::from(status.code())
}

/// A command line clap refused (or `--help`/`--version`, which it prints as usual). With
/// `--format json` (or STACKCTL_FORMAT=json) the refusal is also a JSON error on stdout.
fn usage_error(err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || !json_requested()
    {
        err.exit();
    }
    let code = ExitStatus::Error.code();
    let detail = err.render().to_string();
    eprint!("{detail}");
    let text = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "no command given; `stackctl --help` lists them".to_string()
    } else {
        detail
            .lines()
            .next()
            .map(|l| l.trim_start_matches("error: ").to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| err.kind().to_string())
    };
    let _ = printer::emit(&printer::error_json(&text, code));
    ExitCode::from(code)
}

/// Whether the (unparsable) command line or the environment asks for JSON.
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    for (i, arg) in args.iter().enumerate() {
        if arg == "--" {
            break;
        }
        if arg == "--format=json"
            || (arg == "--format" && args.get(i + 1).is_some_and(|v| v == "json"))
        {
            return true;
        }
        if arg.starts_with("--format") {
            return false;
        }
    }
    std::env::var("STACKCTL_FORMAT").is_ok_and(|v| v == "json")
}
