//! Where templates come from: the project's `templates/` directory when it has one (so an edit
//! takes effect without rebuilding stackctl), otherwise the set built into the binary.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::RenderError;
use super::layout::template_names;

/// The templates directory, relative to the project root.
pub const TEMPLATES_DIR: &str = "templates";

/// `(name, source)` of each template, compiled into the binary from templates/.
macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// The set compiled into the binary, by template name.
const EMBEDDED: &[(&str, &str)] = embedded![
    "kafka/server.properties.j2",
    "kafka/client.properties.j2",
    "kafka/_sasl_client.j2",
    "schema-registry/application.properties.j2",
    "connect/worker.properties.j2",
    "connect/clickhouse-sink.json.j2",
    "connect/clickhouse-writer.properties.j2",
    "connect/rest-jaas.conf.j2",
    "connect/rest-credentials.properties.j2",
    "connect/healthcheck.headers.j2",
    "clickhouse/config.xml.j2",
    "clickhouse/users.xml.j2",
    "clickhouse/healthcheck.headers.j2",
    "clickhouse/schema.sql.j2",
    "clients/kcat.conf.j2",
    "clients/clickhouse-client.xml.j2",
];

/// Which template set a render used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "dir", rename_all = "kebab-case")]
pub enum TemplateOrigin {
    /// The project's own `templates/` directory.
    Project(PathBuf),
    /// Built into this stackctl binary.
    Embedded,
}

impl fmt::Display for TemplateOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateOrigin::Project(dir) => write!(f, "templates from {}", dir.display()),
            TemplateOrigin::Embedded => f.write_str("built-in templates"),
        }
    }
}

/// Every template the layout needs, by name.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    pub origin: TemplateOrigin,
    sources: BTreeMap<&'static str, String>,
}

impl TemplateSet {
    /// The set built into the binary.
    pub fn embedded() -> TemplateSet {
        TemplateSet {
            origin: TemplateOrigin::Embedded,
            sources: EMBEDDED
                .iter()
                .map(|(name, source)| (*name, (*source).to_string()))
                .collect(),
        }
    }

    /// `<root>/templates` when that directory exists (every template must then be there),
    /// otherwise the embedded set.
    pub fn load(root: &Path) -> Result<TemplateSet, RenderError> {
        let dir = root.join(TEMPLATES_DIR);
        if !dir.is_dir() {
            return Ok(TemplateSet::embedded());
        }
        let mut sources = BTreeMap::new();
        for name in template_names() {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    RenderError::MissingTemplate { path: path.clone() }
                } else {
                    RenderError::Io {
                        action: "read template",
                        path: path.clone(),
                        source,
                    }
                }
            })?;
            sources.insert(name, text);
        }
        Ok(TemplateSet {
            origin: TemplateOrigin::Project(dir),
            sources,
        })
    }

    pub(super) fn sources(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.sources.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_set_has_every_template_the_layout_names() {
        let set = TemplateSet::embedded();
        let names: Vec<&str> = set.sources().map(|(n, _)| n).collect();
        assert_eq!(names, template_names());
    }

    #[test]
    fn a_project_without_templates_uses_the_embedded_set_and_a_gap_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            TemplateSet::load(dir.path()).expect("embedded").origin,
            TemplateOrigin::Embedded
        );
        std::fs::create_dir(dir.path().join(TEMPLATES_DIR)).expect("mkdir");
        let err = TemplateSet::load(dir.path()).expect_err("incomplete set");
        assert!(err.to_string().contains("templates/"), "{err}");
    }
}
