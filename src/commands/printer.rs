//! The one printer: results on stdout in the chosen format, progress on stderr; colour decided per
//! stream (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, and `--color`).
//!
//! A reader that stops early (`stackctl … | head`) closes the pipe: the printer then drops the
//! rest of the output quietly instead of failing, and the command ends with its own exit status.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{ColorChoice, Format};
use crate::progress::Progress;

/// Set once stdout's reader has gone away; everything after is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout. A closed pipe is not an error: the reader has what it wanted.
pub fn emit(text: &str) -> Result<()> {
    emit_bytes(text.as_bytes())
}

/// [`emit`] for raw bytes.
pub fn emit_bytes(bytes: &[u8]) -> Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(e).context("writing to stdout"),
    }
}

/// Whether stdout's reader has gone away (a follower can stop then).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Paints text for one stream, or leaves it plain.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

/// What a table cell is painted with (after padding, so colour codes never count as width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Good,
    Warn,
    Dim,
    Bold,
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

    /// Coloured, whatever the stream (tests).
    pub fn coloured() -> Style {
        Style { color: true }
    }

    fn paint_code(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn paint(&self, paint: Paint, text: &str) -> String {
        match paint {
            Paint::Plain => text.to_string(),
            Paint::Good => self.good(text),
            Paint::Warn => self.warn(text),
            Paint::Dim => self.dim(text),
            Paint::Bold => self.bold(text),
        }
    }

    pub fn good(&self, text: &str) -> String {
        self.paint_code("32", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint_code("2", text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint_code("33", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint_code("1", text)
    }
}

/// A table whose column widths come from the plain text of its cells: each cell is padded, then
/// painted, so colour never shifts a column and a long value widens its column instead of
/// overflowing into the next.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<(String, Paint)>>,
    right: Vec<usize>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    /// Right-aligns column `index` (numbers).
    pub fn right_align(mut self, index: usize) -> Table {
        self.right.push(index);
        self
    }

    /// Adds a row of plain cells.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| (c.into(), Paint::Plain))
                .collect(),
        );
    }

    /// Adds a row of painted cells.
    pub fn painted(&mut self, cells: Vec<(String, Paint)>) {
        self.rows.push(cells);
    }

    /// The table, each line indented by two spaces; the last column is not padded.
    pub fn render(&self, style: Style) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            out.push_str("  ");
            for (i, (text, paint)) in row.iter().enumerate() {
                let last = i + 1 == row.len();
                let pad = widths[i] - text.chars().count();
                let right = self.right.contains(&i);
                if right {
                    out.push_str(&" ".repeat(pad));
                }
                out.push_str(&style.paint(*paint, text));
                if !last {
                    if !right {
                        out.push_str(&" ".repeat(pad));
                    }
                    out.push_str("  ");
                }
            }
            // An empty last cell leaves padding behind.
            out.truncate(out.trim_end_matches(' ').len());
            out.push('\n');
        }
        out
    }
}

/// Knows the output format, the colour of each stream and whether progress is wanted.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    format: Format,
    quiet: bool,
    /// For results on stdout.
    pub out: Style,
    /// For progress on stderr.
    pub err: Style,
}

impl Printer {
    pub fn new(format: Format, color: ColorChoice, quiet: bool) -> Printer {
        Printer {
            format,
            quiet,
            out: Style::decide(color, std::io::stdout().is_terminal()),
            err: Style::decide(color, std::io::stderr().is_terminal()),
        }
    }

    pub fn json_wanted(&self) -> bool {
        self.format == Format::Json
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Prints `value` as pretty JSON on stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<()> {
        let mut text = serde_json::to_string_pretty(value).context("writing JSON output")?;
        text.push('\n');
        emit(&text)
    }

    /// Prints `value` as one line of JSON on stdout (streams such as `logs`).
    pub fn json_line<T: Serialize>(&self, value: &T) -> Result<()> {
        let mut text = serde_json::to_string(value).context("writing JSON output")?;
        text.push('\n');
        emit(&text)
    }

    /// The JSON form of `value` in JSON mode, else what `human` writes.
    pub fn report<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(Style, &mut String) -> std::fmt::Result,
    ) -> Result<()> {
        if self.json_wanted() {
            self.json(value)
        } else {
            let mut text = String::new();
            human(self.out, &mut text).context("formatting the output")?;
            emit(&text)
        }
    }

    /// A warning for people, on stderr (also when quiet).
    pub fn warn(&self, message: &str) {
        eprintln!("{} {message}", self.err.warn("warning:"));
    }
}

impl Progress for Printer {
    fn line(&self, subject: &str, message: &str) {
        if !self.quiet {
            eprintln!("{} {message}", self.err.dim(&format!("[{subject}]")));
        }
    }
}

/// The JSON form of an error, as printed on stdout with `--format json`.
pub fn error_json(message: &str, exit_code: u8) -> String {
    let mut text =
        serde_json::json!({"error": {"message": message, "exit_code": exit_code}}).to_string();
    let _ = writeln!(text);
    text
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

    #[test]
    fn coloured_cells_are_padded_by_their_plain_width() {
        let mut table = Table::new();
        table.painted(vec![
            ("kafka".into(), Paint::Plain),
            ("healthy".into(), Paint::Good),
            ("x".into(), Paint::Plain),
        ]);
        table.painted(vec![
            ("schema-registry".into(), Paint::Plain),
            ("-".into(), Paint::Dim),
            ("y".into(), Paint::Plain),
        ]);
        let plain = table.render(Style::plain());
        assert_eq!(
            plain,
            "  kafka            healthy  x\n  schema-registry  -        y\n"
        );
        // Coloured: the same columns once the escape codes are taken out.
        let coloured = table.render(Style::coloured());
        assert!(
            coloured.contains("\x1b[32mhealthy\x1b[0m  x"),
            "{coloured:?}"
        );
        let stripped = coloured.replace("\x1b[32m", "").replace("\x1b[2m", "");
        assert_eq!(stripped.replace("\x1b[0m", ""), plain);
    }

    #[test]
    fn a_long_value_widens_its_column_instead_of_overflowing() {
        let long = "registry.example.com/team/a-very-long-image-name:1.2.3-with-suffix";
        let mut table = Table::new().right_align(2);
        table.row(["kafka", long, "1.0"]);
        table.row(["clickhouse", "short:1", "12.5"]);
        let text = table.render(Style::plain());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("1.0").map(|i| i + 3), Some(lines[0].len()));
        assert_eq!(lines[0].len(), lines[1].len(), "{text}");
        assert!(lines[0].contains(&format!("{long}   1.0")), "{text}");
    }

    #[test]
    fn errors_have_one_json_shape() {
        let v: serde_json::Value = serde_json::from_str(&error_json("no \"x\"", 2)).expect("json");
        assert_eq!(v["error"]["message"], "no \"x\"");
        assert_eq!(v["error"]["exit_code"], 2);
    }
}
