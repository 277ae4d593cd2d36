//! The stack settings (`configs/stack.yaml`): everything non-secret that templates and commands
//! read. Loaded once, validated, then passed down; nothing downstream re-reads the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod phase;
mod service;

pub use phase::{Capabilities, Phase, UnknownPhase};
pub use service::ServiceKind;

/// Where the settings live, relative to the project root.
pub const SETTINGS_FILE: &str = "configs/stack.yaml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the stack settings {path} (run stackctl from the project root or pass --root DIR)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid stack settings: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: setting `{setting}` {problem}")]
    Invalid {
        path: PathBuf,
        setting: String,
        problem: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub project: String,
    pub kafka: Kafka,
    pub schema_registry: SchemaRegistry,
    pub connect: Connect,
    pub clickhouse: ClickHouse,
    pub pipeline: Pipeline,
    pub replication_factor: u16,
    pub services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kafka {
    pub version: String,
    pub cluster_id: String,
    pub node_id: u32,
    pub brokers: u16,
    pub listeners: KafkaListeners,
    pub host_port: u16,
    pub principals: KafkaPrincipals,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaListeners {
    pub internal: u16,
    pub controller: u16,
    pub external: u16,
}

/// Kafka usernames per role. The roles are fixed by what the stack needs; the names are settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaPrincipals {
    pub admin: String,
    pub schema_registry: String,
    pub connect: String,
    pub app: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistry {
    pub version: String,
    pub port: u16,
    pub host_port: u16,
    pub topics: SchemaRegistryTopics,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRegistryTopics {
    pub journal: String,
    pub snapshots: String,
    pub events: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub port: u16,
    pub host_port: u16,
    pub group_id: String,
    pub topics: ConnectTopics,
    pub connector: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectTopics {
    pub configs: String,
    pub offsets: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouse {
    pub version: String,
    pub http_port: u16,
    pub native_port: u16,
    pub host_http_port: u16,
    /// Native protocol port published on the host's loopback (clickhouse-client).
    pub host_native_port: u16,
    pub database: String,
    pub users: ClickHouseUsers,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseUsers {
    pub admin: String,
    pub writer: String,
    pub readonly: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub topic: String,
    pub table: String,
    pub partitions: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub image: String,
    /// Build the image from its recipe under images/ (false: use `image` as published, e.g. an
    /// official upstream image honouring the mount contract).
    #[serde(default = "default_true")]
    pub build: bool,
    pub resources: Resources,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub cpus: f64,
    pub memory_mb: u64,
}

/// Which Kafka role a principal plays; decides which services hold its credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KafkaRole {
    Admin,
    SchemaRegistry,
    Connect,
    App,
}

impl KafkaRole {
    /// Every role, in the order principals are listed.
    pub const ALL: [KafkaRole; 4] = [
        KafkaRole::Admin,
        KafkaRole::SchemaRegistry,
        KafkaRole::Connect,
        KafkaRole::App,
    ];
}

/// Which ClickHouse role a user plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClickHouseRole {
    Admin,
    Writer,
    Readonly,
}

impl ClickHouseRole {
    /// Every role, in the order principals are listed.
    pub const ALL: [ClickHouseRole; 3] = [
        ClickHouseRole::Admin,
        ClickHouseRole::Writer,
        ClickHouseRole::Readonly,
    ];
}

/// A credential the stack needs: one per principal, one secret file each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "system", rename_all = "kebab-case")]
pub enum Principal {
    Kafka { role: KafkaRole, user: String },
    ClickHouse { role: ClickHouseRole, user: String },
}

impl Principal {
    /// Stable identifier used for the secret file and on the command line, e.g. `kafka-admin`.
    pub fn id(&self) -> String {
        match self {
            Principal::Kafka { user, .. } => format!("kafka-{user}"),
            Principal::ClickHouse { user, .. } => format!("clickhouse-{user}"),
        }
    }

    pub fn user(&self) -> &str {
        match self {
            Principal::Kafka { user, .. } | Principal::ClickHouse { user, .. } => user,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl Settings {
    /// Reads and validates `<root>/configs/stack.yaml`.
    pub fn load(root: &Path) -> Result<Settings, ConfigError> {
        let path = root.join(SETTINGS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses settings text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        // The error names where in the file the problem is (e.g. `kafka: unknown field …`).
        let settings: Settings = serde_path_to_error::deserialize(
            serde_norway::Deserializer::from_str(text),
        )
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("{}: {}", e.path(), e.inner()),
        })?;
        settings.validate(path)?;
        Ok(settings)
    }

    /// Every principal, Kafka first, in a stable order.
    pub fn principals(&self) -> Vec<Principal> {
        KafkaRole::ALL
            .into_iter()
            .map(|role| self.kafka_principal(role))
            .chain(
                ClickHouseRole::ALL
                    .into_iter()
                    .map(|role| self.clickhouse_principal(role)),
            )
            .collect()
    }

    /// The principal with this id (`kafka-admin`, `clickhouse-writer`, …).
    pub fn principal(&self, id: &str) -> Option<Principal> {
        self.principals().into_iter().find(|p| p.id() == id)
    }

    pub fn kafka_principal(&self, role: KafkaRole) -> Principal {
        let k = &self.kafka.principals;
        let user = match role {
            KafkaRole::Admin => &k.admin,
            KafkaRole::SchemaRegistry => &k.schema_registry,
            KafkaRole::Connect => &k.connect,
            KafkaRole::App => &k.app,
        };
        Principal::Kafka {
            role,
            user: user.clone(),
        }
    }

    pub fn clickhouse_principal(&self, role: ClickHouseRole) -> Principal {
        let c = &self.clickhouse.users;
        let user = match role {
            ClickHouseRole::Admin => &c.admin,
            ClickHouseRole::Writer => &c.writer,
            ClickHouseRole::Readonly => &c.readonly,
        };
        Principal::ClickHouse {
            role,
            user: user.clone(),
        }
    }

    /// Whether the ClickHouse server takes SQL-style `<grants>` in users XML (23.1 and later);
    /// older servers get the profile-based equivalent.
    pub fn clickhouse_supports_xml_grants(&self) -> bool {
        parse_major_minor(&self.clickhouse.version).is_some_and(|v| v >= (23, 1))
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |setting: &str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            setting: setting.to_string(),
            problem,
        };
        check_identifier(&self.project, "project").map_err(|p| invalid("project", p))?;
        let names = [
            ("kafka.principals.admin", &self.kafka.principals.admin),
            (
                "kafka.principals.schema_registry",
                &self.kafka.principals.schema_registry,
            ),
            ("kafka.principals.connect", &self.kafka.principals.connect),
            ("kafka.principals.app", &self.kafka.principals.app),
            ("clickhouse.users.admin", &self.clickhouse.users.admin),
            ("clickhouse.users.writer", &self.clickhouse.users.writer),
            ("clickhouse.users.readonly", &self.clickhouse.users.readonly),
            ("clickhouse.database", &self.clickhouse.database),
            ("pipeline.table", &self.pipeline.table),
        ];
        for (setting, value) in names {
            check_identifier(value, setting).map_err(|p| invalid(setting, p))?;
        }
        let ids: Vec<String> = self.principals().iter().map(Principal::id).collect();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(invalid(
                    "kafka.principals / clickhouse.users",
                    format!("names `{id}` twice; every principal needs its own name"),
                ));
            }
        }
        if self.clickhouse.users.admin == "default"
            || self.clickhouse.users.writer == "default"
            || self.clickhouse.users.readonly == "default"
        {
            return Err(invalid(
                "clickhouse.users",
                "must not use `default`: stackctl removes the default user from phase 2".into(),
            ));
        }
        if self.kafka.brokers == 0 {
            return Err(invalid("kafka.brokers", "must be at least 1".into()));
        }
        if self.replication_factor == 0 || self.replication_factor > self.kafka.brokers {
            return Err(invalid(
                "replication_factor",
                format!(
                    "is {}, but must be between 1 and kafka.brokers ({})",
                    self.replication_factor, self.kafka.brokers
                ),
            ));
        }
        if self.pipeline.partitions == 0 {
            return Err(invalid("pipeline.partitions", "must be at least 1".into()));
        }
        let cid = &self.kafka.cluster_id;
        if cid.len() != 22
            || !cid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "kafka.cluster_id",
                "must be a 22-character URL-safe base64 UUID (as `kafka-storage random-uuid` prints)"
                    .into(),
            ));
        }
        if parse_major_minor(&self.clickhouse.version).is_none() {
            return Err(invalid(
                "clickhouse.version",
                format!(
                    "is `{}`; write MAJOR.MINOR, e.g. \"18.16\"",
                    self.clickhouse.version
                ),
            ));
        }
        for name in ServiceKind::ALL.map(ServiceKind::name) {
            let Some(service) = self.services.get(name) else {
                return Err(invalid(
                    "services",
                    format!("has no entry for `{name}`; every service needs an image"),
                ));
            };
            if service.image.trim().is_empty() {
                return Err(invalid(
                    &format!("services.{name}.image"),
                    "is empty".into(),
                ));
            }
            if service.resources.cpus.is_nan()
                || service.resources.cpus <= 0.0
                || service.resources.memory_mb < 128
            {
                return Err(invalid(
                    &format!("services.{name}.resources"),
                    "needs cpus > 0 and memory_mb >= 128".into(),
                ));
            }
        }
        if let Some(extra) = self
            .services
            .keys()
            .find(|k| ServiceKind::from_name(k).is_none())
        {
            return Err(invalid(
                "services",
                format!(
                    "names an unknown service `{extra}`; known: {}",
                    ServiceKind::known()
                ),
            ));
        }
        Ok(())
    }
}

/// Names that end up in JAAS option keys, XML element names, SQL and file names: keep them plain.
fn check_identifier(value: &str, _setting: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "is `{value}`; use 1-64 characters of a-z, 0-9 and _, starting with a letter"
        ))
    }
}

fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_settings_text() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SETTINGS_FILE))
            .expect("repo settings readable")
    }

    #[test]
    fn repo_settings_are_valid() {
        let s = Settings::parse(&repo_settings_text(), Path::new("stack.yaml")).expect("valid");
        assert_eq!(s.principals().len(), 7);
        assert!(!s.clickhouse_supports_xml_grants());
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let text = repo_settings_text().replace("node_id: 1", "node_id: 1\n  nodeid: 2");
        let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
        assert!(
            err.to_string().contains("kafka: unknown field `nodeid`"),
            "{err}"
        );
    }

    #[test]
    fn replication_factor_above_broker_count_is_rejected() {
        let text = repo_settings_text().replace("replication_factor: 1", "replication_factor: 3");
        let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
        assert!(err.to_string().contains("replication_factor"), "{err}");
    }

    #[test]
    fn duplicate_principal_names_are_rejected() {
        let text = repo_settings_text().replace("app: app", "app: connect");
        let err = Settings::parse(&text, Path::new("stack.yaml")).unwrap_err();
        assert!(err.to_string().contains("kafka-connect"), "{err}");
    }

    #[test]
    fn version_gates_xml_grants() {
        let text = repo_settings_text().replace("version: \"18.16\"", "version: \"24.8\"");
        let s = Settings::parse(&text, Path::new("stack.yaml")).expect("valid");
        assert!(s.clickhouse_supports_xml_grants());
    }
}
