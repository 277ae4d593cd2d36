//! Redaction of secret values from text that leaves stackctl (container logs, error bodies).

use super::SecretSet;

/// Replaces every known secret value with `***`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: &SecretSet) -> Redactor {
        let mut values: Vec<String> = secrets.values().map(|s| s.expose().to_string()).collect();
        // Longest first, so a value containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;
    use std::collections::BTreeMap;

    #[test]
    fn replaces_every_occurrence() {
        let set = SecretSet::from_map(BTreeMap::from([
            ("a".to_string(), Secret::new("s3cr3t-value".into())),
            ("b".to_string(), Secret::new("s3cr3t".into())),
        ]));
        let r = Redactor::new(&set);
        assert_eq!(r.redact("x s3cr3t-value y s3cr3t z"), "x *** y *** z");
    }
}
