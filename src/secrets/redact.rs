//! Redaction of secret values from text that leaves stackctl (container logs, error bodies):
//! every form of each value ([`SecretSet::forms`]), not only the raw one.

use super::SecretSet;

/// Replaces every known secret value, in every form, with `***`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: &SecretSet) -> Redactor {
        // Longest first, so a value containing another is replaced whole.
        let values = secrets
            .forms()
            .iter()
            .map(|f| f.expose().to_string())
            .collect();
        Redactor { values }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            if !value.is_empty() && out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }

    /// Length in bytes of the longest value (0 when there is none).
    fn longest(&self) -> usize {
        self.values.iter().map(String::len).max().unwrap_or(0)
    }

    /// The earliest start of a value occurring in `text` that begins before `cut` and ends after
    /// it, if any.
    fn straddling_start(&self, text: &str, cut: usize) -> Option<usize> {
        let bytes = text.as_bytes();
        self.values
            .iter()
            .filter(|v| v.len() > 1)
            .filter_map(|v| {
                let first = cut.saturating_sub(v.len() - 1);
                (first..cut).find(|&s| bytes[s..].starts_with(v.as_bytes()))
            })
            .min()
    }
}

/// Redacts a stream (`stackctl logs -f`) that arrives in arbitrary chunks.
///
/// Redacting each chunk on its own would print a secret in clear whenever the chunk boundary
/// falls inside it. `LineRedactor` instead holds text back until a line is complete and redacts
/// whole lines; [`finish`](LineRedactor::finish) redacts and returns what is left at the end.
/// Secrets are validated to contain no line break, so no secret spans a `'\n'` and the
/// concatenated output equals [`Redactor::redact`] of the whole text.
///
/// A line longer than [`LineRedactor::MAX_PENDING`] bytes is not held back whole; see
/// [`push`](LineRedactor::push) for how it is cut and what that costs.
#[derive(Debug, Clone)]
pub struct LineRedactor {
    redactor: Redactor,
    pending: String,
}

impl LineRedactor {
    /// How much of an unfinished line is held back before part of it is emitted.
    pub const MAX_PENDING: usize = 64 * 1024;

    pub fn new(redactor: Redactor) -> LineRedactor {
        LineRedactor {
            redactor,
            pending: String::new(),
        }
    }

    /// Takes the next chunk; returns the redacted text that is now safe to print (possibly
    /// empty): everything up to and including the last `'\n'` seen so far.
    ///
    /// If the unfinished line then exceeds [`MAX_PENDING`](Self::MAX_PENDING) bytes, all of it
    /// but the last `longest secret - 1` bytes is redacted and emitted too, so memory stays
    /// bounded. Any secret that starts before that cut ends inside the buffer (the tail kept is
    /// long enough), so it is fully visible; if one straddles the cut, the cut moves back to its
    /// start, repeatedly, so that secret is redacted as a whole later. The trade-off: that search
    /// moves the cut back at most `MAX_PENDING / 2` bytes. Only a chain of overlapping secret
    /// occurrences that long (a periodic value such as `aaaa…` repeated in the log) exhausts it;
    /// then the cut stays where it was and a secret crossing it can print in clear in two
    /// pieces. Generated secrets are random, so this is accepted rather than let the buffer grow.
    pub fn push(&mut self, chunk: &str) -> String {
        self.pending.push_str(chunk);
        let mut out = match self.pending.rfind('\n') {
            Some(i) => {
                let rest = self.pending.split_off(i + 1);
                let lines = std::mem::replace(&mut self.pending, rest);
                self.redactor.redact(&lines)
            }
            None => String::new(),
        };
        if self.pending.len() > Self::MAX_PENDING {
            let cut = self.long_line_cut();
            if cut > 0 {
                let rest = self.pending.split_off(cut);
                let head = std::mem::replace(&mut self.pending, rest);
                out.push_str(&self.redactor.redact(&head));
            }
        }
        out
    }

    /// Redacts and returns whatever is still held back (a last line without `'\n'`).
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.redactor.redact(&rest)
    }

    /// Where to cut an over-long unfinished line: see [`push`](Self::push).
    fn long_line_cut(&self) -> usize {
        let text = self.pending.as_str();
        let keep = self.redactor.longest().saturating_sub(1);
        let mut target = text.len().saturating_sub(keep);
        while !text.is_char_boundary(target) {
            target -= 1;
        }
        let floor = target.saturating_sub(Self::MAX_PENDING / 2);
        let mut cut = target;
        while let Some(start) = self.redactor.straddling_start(text, cut) {
            if start < floor {
                return target;
            }
            // A value is valid UTF-8, so where it occurs is a char boundary.
            cut = start;
        }
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;
    use std::collections::BTreeMap;

    #[test]
    fn redacts_derived_forms_too() {
        use base64::Engine as _;
        let set = SecretSet::from_map(BTreeMap::from([(
            "connect-rest".to_string(),
            Secret::new("p\"w/with-quote+slash-long-enough".into()),
        )]));
        let r = Redactor::new(&set);
        let basic = base64::engine::general_purpose::STANDARD
            .encode("connect:p\"w/with-quote+slash-long-enough");
        let header = format!("Authorization: Basic {basic}");
        let out = r.redact(&header);
        assert!(
            out.contains("***") && !out.contains(&basic[4..basic.len() - 4]),
            "{out}"
        );
        assert_eq!(
            r.redact(r#"{"password":"p\"w/with-quote+slash-long-enough"}"#),
            r#"{"password":"***"}"#
        );
        assert_eq!(
            r.redact("pw=p%22w%2Fwith-quote%2Bslash-long-enough&x=1"),
            "pw=***&x=1"
        );
    }

    #[test]
    fn replaces_every_occurrence() {
        let set = SecretSet::from_map(BTreeMap::from([
            ("a".to_string(), Secret::new("s3cr3t-value".into())),
            ("b".to_string(), Secret::new("s3cr3t".into())),
        ]));
        let r = Redactor::new(&set);
        assert_eq!(r.redact("x s3cr3t-value y s3cr3t z"), "x *** y *** z");
    }

    const SECRET: &str = "Zk8vQ2pLr7WmX4tN9bHs1cYe6uJd3fAg";

    fn redactor() -> Redactor {
        Redactor::new(&SecretSet::from_map(BTreeMap::from([
            ("kafka".to_string(), Secret::new(SECRET.into())),
            ("clickhouse".to_string(), Secret::new("short-one".into())),
        ])))
    }

    /// Feeds `chunks` through a fresh `LineRedactor` and returns everything it emitted.
    fn stream(chunks: &[&str]) -> String {
        let mut lr = LineRedactor::new(redactor());
        let mut out = String::new();
        for chunk in chunks {
            out.push_str(&lr.push(chunk));
        }
        out.push_str(&lr.finish());
        out
    }

    #[test]
    fn a_secret_split_between_two_chunks_is_still_redacted() {
        // Non-ASCII text around the secret, and a last line without '\n' that only finish() emits.
        let text = format!(
            "2024-05-01 INFO café connecting\nsasl password={SECRET} for user=kafka ✓\ntail {SECRET}"
        );
        let whole = redactor().redact(&text);
        assert!(!whole.contains(SECRET));
        let mut tried = 0;
        for at in (0..=text.len()).filter(|&at| text.is_char_boundary(at)) {
            let out = stream(&[&text[..at], &text[at..]]);
            assert!(
                !out.contains(SECRET),
                "secret printed when split at byte {at}"
            );
            assert_eq!(out, whole, "split at byte {at}");
            tried += 1;
        }
        // Every byte of the ASCII secret was a split point.
        assert!(tried > SECRET.len() * 2);
    }

    #[test]
    fn emits_complete_lines_and_holds_back_the_rest() {
        let mut lr = LineRedactor::new(redactor());
        assert_eq!(lr.push("a Zk8vQ2"), "");
        assert_eq!(lr.push("pLr7WmX4tN9bHs1cYe6uJd3fAg b\nnext"), "a *** b\n");
        assert_eq!(lr.push(" line"), "");
        assert_eq!(lr.finish(), "next line");
        assert_eq!(lr.finish(), "");
    }

    #[test]
    fn one_char_chunks_match_the_whole_text() {
        let text = format!("x={SECRET};y=short-one\n{SECRET}{SECRET}\n");
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let chunks: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(stream(&chunks), redactor().redact(&text));
    }

    #[test]
    fn a_long_line_without_newline_is_bounded_and_redacted() {
        let mut lr = LineRedactor::new(redactor());
        let piece = format!("{} {SECRET} ", "x".repeat(1000));
        let mut out = String::new();
        for _ in 0..300 {
            out.push_str(&lr.push(&piece));
            assert!(lr.pending.len() <= LineRedactor::MAX_PENDING);
        }
        assert!(!out.is_empty(), "part of the over-long line was emitted");
        out.push_str(&lr.finish());
        assert!(!out.contains(SECRET));
        assert_eq!(out, redactor().redact(&piece.repeat(300)));
    }

    #[test]
    fn the_long_line_cut_never_falls_inside_a_secret() {
        // Place the secret across the point where the buffer first exceeds MAX_PENDING, at every
        // offset, and push the line in chunks whose boundary is there.
        let limit = LineRedactor::MAX_PENDING;
        for offset in 0..=SECRET.len() + 1 {
            let pad = "y".repeat(limit + 1 - offset);
            let text = format!("{pad}{SECRET} and more text");
            for split in [limit, limit + 1, limit + 5] {
                let out = stream(&[&text[..split], &text[split..]]);
                assert!(!out.contains(SECRET), "offset {offset}, split {split}");
                assert_eq!(
                    out,
                    redactor().redact(&text),
                    "offset {offset}, split {split}"
                );
            }
            let out = stream(&[&text]);
            assert_eq!(out, redactor().redact(&text), "offset {offset}, one chunk");
        }
    }

    #[test]
    fn a_periodic_secret_in_a_periodic_line_still_bounds_the_buffer() {
        // The documented trade-off: overlapping occurrences chain back further than the search
        // goes, so the cut falls back to the plain one instead of holding everything.
        let periodic = "ab".repeat(16);
        let mut lr = LineRedactor::new(Redactor::new(&SecretSet::from_map(BTreeMap::from([(
            "p".to_string(),
            Secret::new(periodic.clone()),
        )]))));
        let chunk = "ab".repeat(4096);
        for _ in 0..64 {
            lr.push(&chunk);
            assert!(lr.pending.len() <= LineRedactor::MAX_PENDING);
        }
    }

    #[test]
    fn a_multibyte_long_line_is_cut_on_a_char_boundary() {
        let text = "é".repeat(LineRedactor::MAX_PENDING);
        let out = stream(&[&text, "ü", &text]);
        assert_eq!(out, format!("{text}ü{text}"));
    }
}
