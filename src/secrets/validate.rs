//! Fail-closed validation of secret values and files. Messages name the file and the fix, never
//! the value.

use std::fmt;
use std::path::PathBuf;

/// Shortest secret accepted.
pub const MIN_LENGTH: usize = 32;

/// Values (or parts of values) that mark a placeholder rather than a real credential.
const PLACEHOLDERS: &[&str] = &[
    "change_me",
    "changeme",
    "change-me",
    "placeholder",
    "example",
    "password",
    "secret",
    "xxxxxxxx",
    "todo",
];

/// What is wrong with one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Missing,
    NotAFile,
    Unreadable(String),
    GroupOrWorldAccessible(u32),
    DirectoryAccessible(u32),
    Empty,
    LineBreak,
    ControlCharacter,
    TooShort(usize),
    Placeholder,
    /// ClickHouse credentials travel in HTTP headers, which trim whitespace and are ASCII.
    NotHeaderSafe,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Missing => write!(f, "is missing; run `stackctl init-secrets`"),
            Reason::NotAFile => write!(f, "is not a regular file; replace it with one"),
            Reason::Unreadable(e) => write!(f, "cannot be read ({e})"),
            Reason::GroupOrWorldAccessible(mode) => write!(
                f,
                "is accessible to group or others (mode {mode:04o}); run `chmod 600` on it"
            ),
            Reason::DirectoryAccessible(mode) => write!(
                f,
                "is a directory accessible to group or others (mode {mode:04o}); run `chmod 700` on it"
            ),
            Reason::Empty => write!(
                f,
                "is empty; run `stackctl init-secrets --force <principal>`"
            ),
            Reason::LineBreak => write!(
                f,
                "contains a line break inside the value, which cannot be written safely into JAAS, properties or headers"
            ),
            Reason::ControlCharacter => write!(f, "contains a control character"),
            Reason::TooShort(n) => write!(
                f,
                "is {n} characters long; at least {MIN_LENGTH} are required (`stackctl init-secrets --force <principal>`)"
            ),
            Reason::Placeholder => write!(
                f,
                "looks like a placeholder or default value; generate a real one with `stackctl init-secrets --force <principal>`"
            ),
            Reason::NotHeaderSafe => write!(
                f,
                "must be printable ASCII starting with a letter or digit, without trailing spaces (ClickHouse credentials are sent in HTTP headers, and Connect's InsertHeader would parse a leading [, {{ or quote)"
            ),
        }
    }
}

/// One problem: which file, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub reason: Reason,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Fixes name the principal, which is the file's stem (kafka-app.password → kafka-app).
        let principal = self
            .path
            .file_stem()
            .map_or_else(|| "<principal>".into(), |s| s.to_string_lossy().to_string());
        let reason = self.reason.to_string().replace("<principal>", &principal);
        write!(f, "{} {reason}", self.path.display())
    }
}

/// Checks a secret's value. `header_safe` adds the ASCII/no-surrounding-space rule for values that
/// travel in HTTP headers. Returns every reason found (empty = valid).
pub fn validate_value(value: &str, header_safe: bool) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if value.is_empty() {
        reasons.push(Reason::Empty);
        return reasons;
    }
    if value.contains(['\r', '\n']) {
        reasons.push(Reason::LineBreak);
    } else if value.chars().any(char::is_control) {
        reasons.push(Reason::ControlCharacter);
    }
    let chars = value.chars().count();
    if chars < MIN_LENGTH {
        reasons.push(Reason::TooShort(chars));
    }
    let lower = value.to_lowercase();
    let single_char_repeated = value.chars().all(|c| value.starts_with(c));
    if single_char_repeated || PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        reasons.push(Reason::Placeholder);
    }
    if header_safe
        && (!value.starts_with(|c: char| c.is_ascii_alphanumeric())
            || value.ends_with(' ')
            || !value.bytes().all(|b| (0x20..0x7f).contains(&b)))
    {
        reasons.push(Reason::NotHeaderSafe);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Zq8mW2rT5vLx9pKd3nBf7hJc1sGy4aEu";

    #[test]
    fn good_value_passes() {
        assert_eq!(validate_value(GOOD, true), vec![]);
    }

    #[test]
    fn each_weakness_is_named() {
        assert_eq!(validate_value("", false), vec![Reason::Empty]);
        assert_eq!(validate_value("short", false), vec![Reason::TooShort(5)]);
        assert_eq!(
            validate_value(&format!("{GOOD}\nmore"), false),
            vec![Reason::LineBreak]
        );
        assert_eq!(
            validate_value(&format!("change_me{GOOD}"), false),
            vec![Reason::Placeholder]
        );
        assert_eq!(
            validate_value(&"a".repeat(40), false),
            vec![Reason::Placeholder]
        );
        assert_eq!(
            validate_value(&format!(" {GOOD}"), true),
            vec![Reason::NotHeaderSafe]
        );
        assert_eq!(validate_value(&format!(" {GOOD}é"), false), vec![]);
    }

    #[test]
    fn messages_never_contain_the_value() {
        let value = format!("{GOOD}\r");
        for reason in validate_value(&value, true) {
            assert!(!reason.to_string().contains(GOOD));
        }
    }
}
