//! The one printer: results on stdout in the chosen format, progress on stderr; colour decided per
//! stream (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, and `--color`).

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{ColorChoice, Format};
use crate::progress::Progress;

/// Paints text for one stream, or leaves it plain.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// The colour decision for a stream that is (or is not) a terminal.
    fn decide(choice: ColorChoice, is_terminal: bool) -> Style {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if env("NO_COLOR").is_some() => false,
            ColorChoice::Auto if env("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        };
        Style { color }
    }

    /// Plain text, never coloured (tests, files).
    pub fn plain() -> Style {
        Style { color: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// Knows the output format and the colour of each stream.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    format: Format,
    /// For results on stdout.
    pub out: Style,
    /// For progress on stderr.
    pub err: Style,
}

impl Printer {
    pub fn new(format: Format, color: ColorChoice) -> Printer {
        Printer {
            format,
            out: Style::decide(color, std::io::stdout().is_terminal()),
            err: Style::decide(color, std::io::stderr().is_terminal()),
        }
    }

    pub fn json_wanted(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints `value` as pretty JSON on stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<()> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value).context("writing JSON output")?;
        writeln!(out).context("writing JSON output")?;
        Ok(())
    }

    /// The JSON form of `value` in JSON mode, else what `human` prints.
    pub fn report<T: Serialize>(&self, value: &T, human: impl FnOnce(Style)) -> Result<()> {
        if self.json_wanted() {
            self.json(value)
        } else {
            human(self.out);
            Ok(())
        }
    }
}

impl Progress for Printer {
    fn line(&self, subject: &str, message: &str) {
        eprintln!("{} {message}", self.err.dim(&format!("[{subject}]")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_and_always_win_over_the_terminal() {
        assert!(!Style::decide(ColorChoice::Never, true).color);
        assert!(Style::decide(ColorChoice::Always, false).color);
        assert_eq!(Style::plain().good("x"), "x");
    }
}
