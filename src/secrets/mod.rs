//! Secrets: one credential per principal, generated with a CSPRNG, stored one file each under
//! `secrets/` (mode 0600, directory 0700), validated fail-closed before anything uses them.
//!
//! The values flow one way: store → [`SecretSet`] → renderer. A [`Secret`] never prints its value
//! through `Debug` or `Display`; code that needs the value asks for it with [`Secret::expose`].

mod forms;
mod generate;
mod git;
mod redact;
mod store;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::settings::Principal;

pub use forms::{Form, FormKind};
pub use generate::generate;
pub use git::{GitGuard, repository_marker, tracked_files};
pub use redact::{LineRedactor, Redactor};
pub use store::{FileStore, InitOutcome, InitReport, SECRETS_DIR};
pub use validate::{MIN_LENGTH, Problem, validate_value};

/// A secret value. Its `Debug`/`Display` are redacted so it cannot leak through logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The plaintext, for the few places that must write it into a file or a login.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Every principal's secret, validated. Built only by a [`SecretSource`].
#[derive(Debug, Clone)]
pub struct SecretSet {
    values: BTreeMap<String, Secret>,
}

impl SecretSet {
    pub fn from_map(values: BTreeMap<String, Secret>) -> SecretSet {
        SecretSet { values }
    }

    /// Valid, obviously fake secrets for unit tests: `<user>-fixture-…` for each principal.
    #[cfg(test)]
    pub(crate) fn fixture(principals: &[crate::settings::Principal]) -> SecretSet {
        SecretSet::from_map(
            principals
                .iter()
                .map(|p| {
                    let value = format!("{}-fixture-0123456789abcdefghijklmnop", p.user());
                    (p.id(), Secret::new(value))
                })
                .collect(),
        )
    }

    pub fn get(&self, principal: &Principal) -> Option<&Secret> {
        self.values.get(&principal.id())
    }

    /// The same set with `principal`'s secret replaced.
    pub fn with(&self, principal: &Principal, secret: Secret) -> SecretSet {
        let mut values = self.values.clone();
        values.insert(principal.id(), secret);
        SecretSet { values }
    }

    /// All values, for redaction of logs and output.
    pub fn values(&self) -> impl Iterator<Item = &Secret> {
        self.values.values()
    }

    /// Each principal's id with its secret.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.values.iter().map(|(id, s)| (id.as_str(), s))
    }

    /// Every form of every secret (raw, base64 at each alignment, escaped, digests), longest
    /// first: what leak checks scan for and redaction replaces. See [`forms`].
    pub fn forms(&self) -> Vec<Form> {
        forms::forms(self)
    }
}

/// Where secrets come from. Files today; SOPS or Vault later are another implementation.
pub trait SecretSource {
    /// Loads and validates every principal's secret, failing closed with the full list of problems.
    fn load(&self, principals: &[Principal]) -> Result<SecretSet, SecretError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{}", format_problems(.0))]
    Invalid(Vec<Problem>),
    #[error(
        "{path} is not ignored by git; secrets must never be committable. Add `/secrets/*` and `!/secrets/README.md` to .gitignore"
    )]
    NotIgnored { path: PathBuf },
    #[error(
        "git tracks files under secrets/: {files}. Remove them from the index (git rm --cached) and rotate those credentials"
    )]
    Tracked { files: String },
    #[error(
        "git cannot answer `git {command}` in {root} ({detail}), so what it tracks or ignores is unknown. Make git work there: for a checkout owned by another user, `git config --global --add safe.directory {root}` (or run as its owner); install git if it is missing",
        root = .root.display()
    )]
    Git {
        root: PathBuf,
        command: String,
        detail: String,
    },
    #[error("unknown principal `{0}`; known: {1}")]
    UnknownPrincipal(String, String),
    // The cause is the error source; anyhow prints it after this message.
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SecretError {
    /// `name` is not one of `principals`; the message lists the known ids.
    pub fn unknown_principal(name: &str, principals: &[Principal]) -> SecretError {
        let known: Vec<String> = principals.iter().map(Principal::id).collect();
        SecretError::UnknownPrincipal(name.to_string(), known.join(", "))
    }
}

fn format_problems(problems: &[Problem]) -> String {
    let mut out = format!(
        "{} secret problem{} (nothing was rendered or started):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}
