//! Every byte form in which a secret can show up: the raw value and the encodings stackctl itself
//! writes (base64 inside `Basic base64(user:password)`, hex SHA-256 digests) or a user would
//! plausibly leak (JSON-, URL-, XML- and backslash-escaped). The leak checks scan for all of them
//! and the [`Redactor`](super::Redactor) replaces all of them.
//!
//! Base64 depends on where the value sits in the encoded input: `base64("user:" + value)` does not
//! contain `base64(value)`. So for each of the three alignments the form is the run of base64
//! characters that depend on the value's bytes alone; it occurs in the encoding of *any* input
//! that contains the value, whatever the user name or text around it. At most two characters on
//! each side, which mix the value with its neighbours, stay outside the form.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Secret, SecretSet};

/// How a form was derived from the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FormKind {
    Raw,
    /// Base64 (standard or URL-safe alphabet) at one of the three alignments.
    Base64,
    JsonEscaped,
    /// JSON with everything outside ASCII as `\uXXXX` (JavaScript, Jackson's ASCII mode).
    JsonAsciiEscaped,
    UrlEncoded,
    /// `application/x-www-form-urlencoded`: like URL-encoding, with a space as `+`.
    FormEncoded,
    XmlEscaped,
    /// `\` before `\` and `"` (JAAS, shell and C-style strings).
    BackslashEscaped,
    /// Hex SHA-256 of the value (ClickHouse's `password_sha256_hex`), lower and upper case.
    Sha256Hex,
}

/// One form of one principal's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Form {
    /// The principal whose secret it is (its id, e.g. `kafka-admin`).
    pub principal: String,
    pub kind: FormKind,
    bytes: String,
}

impl Form {
    /// The text to look for. As secret as the value itself.
    pub fn expose(&self) -> &str {
        &self.bytes
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Form({}, {:?}, ***)", self.principal, self.kind)
    }
}

/// Shortest derived form kept: a shorter one (from a very short value) would match ordinary text.
/// The raw value is always kept.
const MIN_FORM: usize = 8;

/// Every form of every secret in `set`, without repeats (a generated alphanumeric value is its own
/// JSON, URL and XML form), longest first so a replacement takes the whole of a longer match.
pub fn forms(set: &SecretSet) -> Vec<Form> {
    let mut all: Vec<Form> = Vec::new();
    for (principal, secret) in set.entries() {
        for (kind, bytes) in forms_of(secret) {
            let long_enough = bytes.len() >= MIN_FORM || kind == FormKind::Raw;
            if long_enough && !bytes.is_empty() && !all.iter().any(|f| f.bytes == bytes) {
                all.push(Form {
                    principal: principal.to_string(),
                    kind,
                    bytes,
                });
            }
        }
    }
    all.sort_by(|a, b| b.bytes.len().cmp(&a.bytes.len()).then(a.kind.cmp(&b.kind)));
    all
}

fn forms_of(secret: &Secret) -> Vec<(FormKind, String)> {
    let value = secret.expose();
    let digest = hex::encode(Sha256::digest(value.as_bytes()));
    let mut out = vec![
        (FormKind::Raw, value.to_string()),
        (FormKind::JsonEscaped, json(value, false)),
        (FormKind::JsonAsciiEscaped, json(value, true)),
        (FormKind::UrlEncoded, url(value, false)),
        (FormKind::FormEncoded, url(value, true)),
        (FormKind::XmlEscaped, xml(value)),
        (FormKind::BackslashEscaped, backslashed(value)),
        (FormKind::Sha256Hex, digest.to_uppercase()),
        (FormKind::Sha256Hex, digest),
    ];
    out.extend(base64_cores(value.as_bytes()).map(|core| (FormKind::Base64, core)));
    out
}

/// The base64 characters fixed by `value` alone, at each alignment and in both alphabets.
fn base64_cores(value: &[u8]) -> impl Iterator<Item = String> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    engines.into_iter().flat_map(move |engine| {
        (0..3usize).map(move |shift| {
            let mut input = vec![0u8; shift];
            input.extend_from_slice(value);
            input.extend_from_slice(&[0, 0]);
            let encoded = engine.encode(&input);
            // Character j carries bits [6j, 6j + 6) of the input; keep those inside the value.
            let first = (8 * shift).div_ceil(6);
            let end = (8 * (shift + value.len())) / 6;
            encoded.get(first..end).unwrap_or_default().to_string()
        })
    })
}

fn json(value: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn url(value: &str, form: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char);
            }
            b' ' if form => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn xml(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn backslashed(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const VALUE: &str = "Zk8vQ2pLr7WmX4tN9bHs1cYe6uJd3fAg";

    fn set(value: &str) -> SecretSet {
        SecretSet::from_map(BTreeMap::from([(
            "connect-rest".to_string(),
            Secret::new(value.into()),
        )]))
    }

    fn found(forms: &[Form], text: &str) -> bool {
        forms.iter().any(|f| text.contains(f.expose()))
    }

    #[test]
    fn base64_of_any_user_and_password_contains_a_form() {
        let forms = forms(&set(VALUE));
        for user in ["", "a", "ab", "connect", "schema-registry", "ü"] {
            for engine in [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let header = engine.encode(format!("{user}:{VALUE}"));
                assert!(found(&forms, &header), "user {user:?}");
                let trailing = engine.encode(format!("{user}:{VALUE}\nmore"));
                assert!(found(&forms, &trailing), "user {user:?} with text after");
            }
        }
        assert!(found(
            &forms,
            &base64::engine::general_purpose::STANDARD.encode(VALUE)
        ));
    }

    #[test]
    fn escaped_forms_of_a_user_supplied_value_are_found() {
        let value = "p\"a\\ss w/rd&<é>+=%:;x-long-enough";
        let forms = forms(&set(value));
        let json_text =
            serde_json::to_string(&serde_json::json!({ "password": value })).expect("json");
        assert!(!json_text.contains(value));
        assert!(found(&forms, &json_text), "{json_text}");
        assert!(found(
            &forms,
            "pw=p%22a%5Css%20w%2Frd%26%3C%C3%A9%3E%2B%3D%25%3A%3Bx-long-enough"
        ));
        assert!(found(
            &forms,
            "pw=p%22a%5Css+w%2Frd%26%3C%C3%A9%3E%2B%3D%25%3A%3Bx-long-enough"
        ));
        assert!(found(
            &forms,
            r#"{"p":"p\"a\\ss w/rd&<\u00e9>+=%:;x-long-enough"}"#
        ));
        assert!(found(
            &forms,
            "<password>p&quot;a\\ss w/rd&amp;&lt;é&gt;+=%:;x-long-enough</password>"
        ));
        assert!(found(
            &forms,
            r#"password="p\"a\\ss w/rd&<é>+=%:;x-long-enough";"#
        ));
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        assert!(found(&forms, &digest));
        assert!(found(&forms, &digest.to_uppercase()));
    }

    #[test]
    fn forms_are_unique_longest_first_and_never_debug_printed() {
        let forms = forms(&set(VALUE));
        // Raw (= JSON, URL, XML, backslash forms) + 2 digests + 3 alignments (both alphabets
        // agree for this value).
        assert_eq!(forms.len(), 1 + 2 + 3);
        assert!(
            forms
                .windows(2)
                .all(|w| w[0].bytes.len() >= w[1].bytes.len())
        );
        assert!(!format!("{forms:?}").contains(VALUE));
        assert!(forms.iter().all(|f| f.principal == "connect-rest"));
    }

    #[test]
    fn ordinary_text_matches_no_form() {
        let forms = forms(&set(VALUE));
        assert!(!found(
            &forms,
            "Authorization: Basic Y29ubmVjdDpvdGhlci1wYXNzd29yZA=="
        ));
        assert!(!found(&forms, "INFO started in 3 s, user=connect"));
    }
}
