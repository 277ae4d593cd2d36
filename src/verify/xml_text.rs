//! Text for XML 1.0 documents (the JUnit report) built from arbitrary strings: check output,
//! error bodies, container logs.
//!
//! XML 1.0 allows only `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`,
//! and not even as a character reference (`&#x1b;` is not well-formed either). A report holding
//! an ANSI colour code or a NUL from a log would be rejected whole by a CI server, so such
//! characters are replaced by visible text instead.

/// Escapes `s` for XML 1.0 element content (also safe inside a double- or single-quoted
/// attribute, except that a parser turns tab and newline there into spaces).
///
/// - `&`, `<`, `>`, `"` and `'` become the predefined entities.
/// - Carriage return becomes `&#xD;`, so a parser keeps it instead of normalizing it to `\n`.
/// - Tab and newline are kept as they are.
/// - Every character XML 1.0 forbids becomes visible text naming it: a C0 control as `\xNN`
///   (ESC is `\x1b`, NUL `\x00`), U+FFFE and U+FFFF as `\u{fffe}` and `\u{ffff}`. A backslash in
///   the input is not escaped, so a literal `\x1b` reads the same; the output is for people.
pub fn escape_text(s: &str) -> String {
    use std::fmt::Write;

    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            // Writing to a String cannot fail.
            '\u{0}'..='\u{1f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    /// Whether XML 1.0 allows `c` in a document (the `Char` production).
    fn xml10_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    }

    /// Parses `xml` to the end and returns the text content of its elements (not the whitespace
    /// around the root).
    fn parse_text(xml: &str) -> String {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut text = String::new();
        let mut depth = 0;
        loop {
            match reader.read_event().expect("well-formed") {
                Event::Text(t) if depth > 0 => text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) if depth > 0 => {
                    match r.resolve_char_ref().expect("valid reference") {
                        Some(c) => text.push(c),
                        None => text.push_str(
                            quick_xml::escape::resolve_predefined_entity(&r)
                                .expect("a predefined entity"),
                        ),
                    }
                }
                Event::End(_) => depth -= 1,
                Event::Start(e) => {
                    depth += 1;
                    for attribute in e.attributes() {
                        attribute.expect("well-formed attribute");
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        text
    }

    #[test]
    fn every_c0_control_character_yields_well_formed_xml() {
        let mut input: String = (0u8..0x20).map(char::from).collect();
        input.push_str("\u{fffe}\u{ffff} & <b> \"q\" 'a' \u{7f} é ✓ 🦀 \\ end");
        let escaped = escape_text(&input);

        assert!(escaped.chars().all(xml10_char), "{escaped:?}");
        let doc =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r a=\"{escaped}\">{escaped}</r>");
        let text = parse_text(&doc);

        assert!(text.chars().all(xml10_char), "{text:?}");
        assert!(text.contains('\t') && text.contains('\n') && text.contains('\r'));
        assert!(text.starts_with("\\x00\\x01\\x02"), "{text:?}");
        assert!(text.contains("\\x08\t\n\\x0b\\x0c\r\\x0e"), "{text:?}");
        assert!(text.contains("\\x1b"), "{text:?}");
        let expected: String = input
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c.to_string(),
                '\u{0}'..='\u{1f}' => format!("\\x{:02x}", u32::from(c)),
                '\u{fffe}' => "\\u{fffe}".to_string(),
                '\u{ffff}' => "\\u{ffff}".to_string(),
                _ => c.to_string(),
            })
            .collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn markup_characters_are_entities_and_plain_text_is_unchanged() {
        assert_eq!(
            escape_text(r#"a&b<c>"d"'e'"#),
            "a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;"
        );
        assert_eq!(escape_text("plain é ✓\tx\ny"), "plain é ✓\tx\ny");
        assert_eq!(
            escape_text("\u{1b}[31mred\u{1b}[0m"),
            "\\x1b[31mred\\x1b[0m"
        );
        assert_eq!(escape_text(""), "");
    }
}
