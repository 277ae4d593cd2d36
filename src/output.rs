//! Human output: coloured on a terminal, plain otherwise (and with NO_COLOR).

use std::io::IsTerminal;

use crate::cli::ColorChoice;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    pub fn new(choice: ColorChoice) -> Style {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
            }
        };
        Style { color }
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

/// Progress lines on stderr, `[subject] message`, while images build and services start.
pub struct StderrProgress {
    pub style: Style,
}

impl crate::engine::images::Progress for StderrProgress {
    fn line(&self, subject: &str, message: &str) {
        eprintln!("{} {message}", self.style.dim(&format!("[{subject}]")));
    }
}
