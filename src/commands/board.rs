//! Progress of concurrent work as one line per subject. On a terminal the lines are redrawn in
//! place (each shows its subject's latest step); otherwise every step is printed as a line of
//! its own, prefixed by the subject, so a log stays readable when builds interleave.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use super::Printer;
use crate::progress::Progress;

pub struct Board<'a> {
    printer: &'a Printer,
    live: bool,
    width: usize,
    lines: Mutex<Vec<(String, String)>>,
}

impl<'a> Board<'a> {
    pub fn new(printer: &'a Printer) -> Board<'a> {
        let live = !printer.quiet()
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|w: &usize| *w >= 40)
            .unwrap_or(100);
        Board {
            printer,
            live,
            width,
            lines: Mutex::new(Vec::new()),
        }
    }
}

/// `[subject] message`, the subject padded so messages line up, cut to `width` characters.
fn render(subject: &str, message: &str, pad: usize, width: usize) -> String {
    let text = format!(
        "[{subject}]{:pad$} {message}",
        "",
        pad = pad - subject.len()
    );
    if text.chars().count() <= width {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

impl Progress for Board<'_> {
    fn line(&self, subject: &str, message: &str) {
        if !self.live {
            return self.printer.line(subject, message);
        }
        let Ok(mut lines) = self.lines.lock() else {
            return self.printer.line(subject, message);
        };
        let drawn = lines.len();
        match lines.iter_mut().find(|(s, _)| s == subject) {
            Some(line) => line.1 = message.to_string(),
            None => lines.push((subject.to_string(), message.to_string())),
        }
        let pad = lines.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
        let mut out = String::new();
        if drawn > 0 {
            // Back to the first line of the board.
            let _ = write!(out, "\x1b[{drawn}A");
        }
        for (s, m) in lines.iter() {
            out.push_str("\r\x1b[2K");
            out.push_str(&render(s, m, pad, self.width));
            out.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_is_padded_and_cut_to_the_width() {
        assert_eq!(
            super::render("kafka", "Step 1/3", 10, 80),
            "[kafka]      Step 1/3"
        );
        let long = super::render("kafka", &"x".repeat(200), 5, 40);
        assert_eq!(long.chars().count(), 40);
        assert!(long.ends_with('…'));
    }
}
