//! Escaping for the file formats secrets land in. Each function refuses CR/LF rather than guess:
//! a line break inside a credential cannot be represented safely in all of them.

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    #[error("a value contains a line break, which cannot be written into a {0} file")]
    LineBreak(&'static str),
    #[error(
        "a value cannot be written into a {0} file unchanged (trailing whitespace, a backslash before = or :, a NUL, or more than 400 bytes)"
    )]
    Unrepresentable(&'static str),
}

fn refuse_line_breaks(value: &str, format: &'static str) -> Result<(), EscapeError> {
    if value.contains(['\r', '\n']) {
        Err(EscapeError::LineBreak(format))
    } else {
        Ok(())
    }
}

/// Content of a JAAS double-quoted string (Kafka's JaasConfig tokenizer): `\` and `"` are escaped
/// with a backslash; every other character stands for itself.
pub fn jaas(value: &str) -> Result<String, EscapeError> {
    refuse_line_breaks(value, "JAAS")?;
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// A Java `.properties` value, valid whether the file is read as ISO-8859-1 (`load(InputStream)`,
/// as Kafka does) or UTF-8 (`load(Reader)`): output is ASCII, with `\uXXXX` for everything else.
/// Separators, comment markers and leading spaces are escaped so the value reads back unchanged
/// wherever it is placed on the line.
pub fn properties(value: &str) -> Result<String, EscapeError> {
    refuse_line_breaks(value, ".properties")?;
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ' ' => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    Ok(out)
}

/// A value in a librdkafka-style config file as `kcat -F` reads it: each line is trimmed of
/// whitespace at both ends, split at its first `=`, and every `\=` and `\:` anywhere on it
/// becomes `=` and `:` (a courtesy to Java files); lines are read in 512-byte pieces. There is no
/// escape syntax, so a value that would not read back unchanged is refused rather than altered
/// (templates ask [`librdkafka_safe`] first and say what to do instead).
pub fn librdkafka(value: &str) -> Result<String, EscapeError> {
    refuse_line_breaks(value, "librdkafka config")?;
    if !librdkafka_safe(value) {
        return Err(EscapeError::Unrepresentable("librdkafka config"));
    }
    Ok(value.to_string())
}

/// Whether `value` reads back unchanged from a `kcat -F` config line (see [`librdkafka`]).
pub fn librdkafka_safe(value: &str) -> bool {
    !(value.contains(['\r', '\n', '\0'])
        || value.ends_with(|c: char| c.is_ascii_whitespace() || c == '\u{b}')
        || value.contains("\\=")
        || value.contains("\\:")
        || value.len() > LIBRDKAFKA_MAX_VALUE)
}

/// Longest value that keeps `sasl.password=VALUE` within kcat's 512-byte line buffer.
const LIBRDKAFKA_MAX_VALUE: usize = 400;

/// XML text or attribute content.
pub fn xml(value: &str) -> Result<String, EscapeError> {
    refuse_line_breaks(value, "XML")?;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaas_escapes_quotes_and_backslashes() {
        assert_eq!(jaas(r#"a"b\c"#).expect("ok"), r#"a\"b\\c"#);
    }

    #[test]
    fn properties_escapes_separators_and_non_ascii() {
        assert_eq!(
            properties(" a=b:c#d!e\\é😀").expect("ok"),
            "\\ a\\=b\\:c\\#d\\!e\\\\\\u00e9\\ud83d\\ude00"
        );
    }

    #[test]
    fn xml_escapes_markup() {
        assert_eq!(xml(r#"<a&"'>"#).expect("ok"), "&lt;a&amp;&quot;&apos;&gt;");
    }

    #[test]
    fn librdkafka_values_pass_unchanged_or_are_refused() {
        for ok in [
            "abc",
            " lead",
            "a=b:c#d!e",
            "p@ss w\"o'rd",
            "é😀",
            "#start",
            "back\\slash",
        ] {
            assert_eq!(librdkafka(ok).as_deref(), Ok(ok));
        }
        for bad in ["trail ", "tab\t", "a\\=b", "a\\:b", "nul\0", "a\nb"] {
            assert!(librdkafka(bad).is_err(), "{bad:?}");
        }
        assert!(librdkafka(&"x".repeat(401)).is_err());
    }

    #[test]
    fn line_breaks_are_refused_everywhere() {
        assert!(jaas("a\nb").is_err());
        assert!(properties("a\rb").is_err());
        assert!(xml("a\nb").is_err());
    }
}
